#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use super::seal::{self, Step};
use super::*;
use crate::model::time::{NS_PER_DAY, day_of_ns};
use crate::store::logs::LogStore;

/// 2026-11-24T16:00:00Z
const T0: i64 = 1_795_536_000_000_000_000;

fn rec(ts_ns: i64, i: usize) -> LogRecord {
    LogRecord {
        timestamp_ns: ts_ns,
        received_ns: ts_ns + 1_000,
        host: format!("web{}", i % 3),
        app: if i.is_multiple_of(2) { "nginx" } else { "sshd" }.into(),
        pid: "42".into(),
        severity: Some((i % 8) as u8),
        facility: Some(4),
        msgid: "ID1".into(),
        message: format!("request {i} served"),
        fields: vec![("zoo@123.tiger".into(), "hungry".into())],
        raw: format!("<36>request {i} served").into_bytes(),
    }
}

fn day_records(day_start: i64, n: usize) -> Vec<LogRecord> {
    (0..n)
        .map(|i| rec(day_start + (i as i64) * 1_000_000_000, i))
        .collect()
}

fn write(dir: &Path, records: Vec<LogRecord>) -> Arc<LogStore> {
    crate::testutil::write_logs(dir, records)
}

#[test]
fn frames_round_trip_and_are_listed_in_the_index() {
    let tmp = tempfile::tempdir().unwrap();
    let day = day_of_ns(T0);
    let records = day_records(T0, 25);
    let mut a = YearArchive::open(tmp.path(), 2026).unwrap();
    a.options.frame_max_records = 10;
    // receive times exact (the default keeps them to the second)
    a.options.recv_unit_ns = 1;
    let entries = a.append_day(day, &records, 3, None).unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries.iter().map(|e| e.count).sum::<u64>(), 25);
    assert_eq!(entries[0].hosts, ["web0", "web1", "web2"]);
    assert_eq!(entries[0].apps, ["nginx", "sshd"]);
    assert_eq!(entries[2].parts, 3);
    let b = YearArchive::open(tmp.path(), 2026).unwrap();
    assert_eq!(b.entries(), &entries[..]);
    assert_eq!(b.recovery, Recovery::default());
    let mut back = Vec::new();
    for e in b.entries() {
        back.extend(b.read_frame(e).unwrap());
    }
    assert_eq!(back, records);
    assert_eq!(b.verify().unwrap(), 25);
    assert_eq!(years(tmp.path()).unwrap(), [2026]);
}

#[test]
fn a_flipped_byte_is_caught_by_the_frame_crc() {
    let tmp = tempfile::tempdir().unwrap();
    let mut a = YearArchive::open(tmp.path(), 2026).unwrap();
    a.append_day(day_of_ns(T0), &day_records(T0, 5), 3, None)
        .unwrap();
    let (zst, _) = year_paths(tmp.path(), 2026);
    let mut bytes = std::fs::read(&zst).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&zst, bytes).unwrap();
    let b = YearArchive::open(tmp.path(), 2026).unwrap();
    let err = b.verify().unwrap_err().to_string();
    assert!(err.contains("crc32 mismatch"), "{err}");
}

/// Cuts the index at every byte of the second day's lines and the year file at every frame
/// boundary past it: each cut must open as exactly day 1, or days 1 and 2, never in between.
#[test]
fn every_cut_of_the_files_opens_as_the_old_or_the_new_state() {
    let tmp = tempfile::tempdir().unwrap();
    let d1 = day_of_ns(T0);
    let mut a = YearArchive::open(tmp.path(), 2026).unwrap();
    a.options.frame_max_records = 4;
    a.append_day(d1, &day_records(T0, 6), 1, None).unwrap();
    let (zst, idx) = year_paths(tmp.path(), 2026);
    let (zst1, idx1) = (
        std::fs::read(&zst).unwrap().len(),
        std::fs::read(&idx).unwrap().len(),
    );
    a.append_day(d1 + 1, &day_records(T0 + NS_PER_DAY, 9), 1, None)
        .unwrap();
    let (zst_full, idx_full) = (std::fs::read(&zst).unwrap(), std::fs::read(&idx).unwrap());
    let old: BTreeMap<i64, u64> = [(d1, 6)].into();
    let new: BTreeMap<i64, u64> = [(d1, 6), (d1 + 1, 9)].into();
    for cut in idx1..=idx_full.len() {
        for zcut in [zst1, zst1 + 1, zst_full.len()] {
            let t = tempfile::tempdir().unwrap();
            let (z, i) = year_paths(t.path(), 2026);
            std::fs::write(&z, &zst_full[..zcut]).unwrap();
            std::fs::write(&i, &idx_full[..cut]).unwrap();
            let Ok(b) = YearArchive::open(t.path(), 2026) else {
                // only when the index names frames the cut year file lacks
                assert!(zcut < zst_full.len() && cut == idx_full.len());
                continue;
            };
            let counts = b.day_counts();
            if cut == idx_full.len() {
                assert_eq!(counts, new);
            } else {
                assert_eq!(counts, old, "cut {cut}");
                assert_eq!(std::fs::read(&i).unwrap().len(), idx1);
                assert_eq!(std::fs::read(&z).unwrap().len(), zst1);
            }
            b.verify().unwrap();
        }
    }
}

#[test]
fn a_corrupt_line_in_the_middle_of_the_index_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let mut a = YearArchive::open(tmp.path(), 2026).unwrap();
    a.append_day(day_of_ns(T0), &day_records(T0, 3), 1, None)
        .unwrap();
    a.append_day(day_of_ns(T0) + 1, &day_records(T0 + NS_PER_DAY, 3), 1, None)
        .unwrap();
    let (_, idx) = year_paths(tmp.path(), 2026);
    let mut bytes = std::fs::read(&idx).unwrap();
    bytes[5] ^= 1;
    std::fs::write(&idx, bytes).unwrap();
    let err = YearArchive::open(tmp.path(), 2026).unwrap_err().to_string();
    assert!(err.contains("line 1"), "{err}");
}

/// Records as the archive gives them back: in time order, fields sorted, receive times to the
/// second ([`RECV_UNIT_NS`]).
fn sorted(mut v: Vec<LogRecord>) -> Vec<LogRecord> {
    v.sort_by(|a, b| (a.timestamp_ns, &a.message).cmp(&(b.timestamp_ns, &b.message)));
    for r in &mut v {
        r.fields.sort();
        r.received_ns = seal::round_received(r, RECV_UNIT_NS);
    }
    v
}

#[test]
fn receive_times_are_kept_to_the_second_and_event_times_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let mut records = day_records(T0 + 123_456_000, 3);
    records[1].received_ns = records[1].timestamp_ns + 2_999_999_000;
    // a sender clock ahead of ours: received before the event
    records[2].received_ns = records[2].timestamp_ns - 1_000;
    let mut a = YearArchive::open(tmp.path(), 2026).unwrap();
    a.append_day(day_of_ns(T0), &records, 3, None).unwrap();
    let back = archived(tmp.path(), day_of_ns(T0));
    let ts: Vec<i64> = back.iter().map(|r| r.timestamp_ns).collect();
    assert_eq!(
        ts,
        records.iter().map(|r| r.timestamp_ns).collect::<Vec<_>>()
    );
    let delays: Vec<i64> = back
        .iter()
        .map(|r| r.received_ns - r.timestamp_ns)
        .collect();
    assert_eq!(delays, [0, 2_000_000_000, -1_000_000_000]);
}

fn archived(dir: &Path, day: i64) -> Vec<LogRecord> {
    let a = YearArchive::open(dir, year_of_day(day)).unwrap();
    let name = crate::model::time::format_day(day);
    let mut out = Vec::new();
    for e in a.entries().iter().filter(|e| e.day == name) {
        out.extend(a.read_frame(e).unwrap());
    }
    out
}

#[test]
fn sealing_moves_a_day_into_the_archive_and_deletes_its_partition() {
    let tmp = tempfile::tempdir().unwrap();
    let d1 = day_of_ns(T0);
    let mut all = day_records(T0, 20);
    all.extend(day_records(T0 + NS_PER_DAY, 5));
    let store = write(tmp.path(), all.clone());
    let expected = sorted(store.day_records(d1).unwrap());
    assert_eq!(expected.len(), 20);
    let report = seal::seal_day_with(&store, d1, 1, None).unwrap();
    assert_eq!((report.records, report.frames), (20, 1));
    assert!(!store.has_day(d1).unwrap());
    assert!(!store.day_dir(d1).exists());
    assert!(store.has_day(d1 + 1).unwrap());
    assert_eq!(sorted(archived(&store.archive_dir(), d1)), expected);
    // timestamps come out sorted
    let back = archived(&store.archive_dir(), d1);
    assert!(
        back.windows(2)
            .all(|w| w[0].timestamp_ns <= w[1].timestamp_ns)
    );
    // sealing again is a no-op
    let again = seal::seal_day_with(&store, d1, 1, None).unwrap();
    assert_eq!(again.records, 0);
    assert_eq!(archived(&store.archive_dir(), d1).len(), 20);
}

/// A crash after each step of sealing, then a restart (store reopened, recovery run): the day
/// ends up archived exactly once and its partition gone, never lost or duplicated.
#[test]
fn a_crash_at_each_step_leaves_no_gap_and_no_duplicate() {
    for step in [Step::FramesWritten, Step::IndexTorn, Step::Indexed] {
        let tmp = tempfile::tempdir().unwrap();
        let d1 = day_of_ns(T0);
        let store = write(tmp.path(), day_records(T0, 30));
        let expected = sorted(store.day_records(d1).unwrap());
        let err = seal::seal_day_with(&store, d1, 1, Some(step)).unwrap_err();
        assert!(matches!(err, ArchiveError::Injected(s) if s == step));
        drop(store);
        // the state right after the crash: old (partition) or new (archive), both complete
        let store = LogStore::open(tmp.path()).unwrap();
        let in_archive = {
            let a = YearArchive::open(&store.archive_dir(), 2026).unwrap();
            a.day_counts().get(&d1).copied().unwrap_or(0)
        };
        if step == Step::Indexed {
            assert_eq!(in_archive, 30, "{step:?}");
        } else {
            assert_eq!(in_archive, 0, "{step:?}");
            assert_eq!(sorted(store.day_records(d1).unwrap()), expected);
        }
        let reports = seal::seal_due(&store, T0 + 40 * NS_PER_DAY, 30).unwrap();
        assert_eq!(reports.len(), 1, "{step:?}: {reports:?}");
        assert_eq!(reports[0].resumed, step == Step::Indexed);
        assert!(!store.has_day(d1).unwrap());
        assert_eq!(
            sorted(archived(&store.archive_dir(), d1)),
            expected,
            "{step:?}"
        );
        let (zst, _) = year_paths(&store.archive_dir(), 2026);
        let a = YearArchive::open(&store.archive_dir(), 2026).unwrap();
        assert_eq!(
            std::fs::metadata(zst).unwrap().len(),
            a.entries().iter().map(|e| e.len).sum::<u64>()
        );
    }
}

#[test]
fn seal_due_keeps_the_hot_window() {
    let tmp = tempfile::tempdir().unwrap();
    let d1 = day_of_ns(T0);
    let mut all = day_records(T0, 3);
    all.extend(day_records(T0 + NS_PER_DAY, 3));
    let store = write(tmp.path(), all);
    // now = day 2: with 2 hot days both stay, with 1 day 1 is sealed
    assert!(
        seal::seal_due(&store, T0 + NS_PER_DAY, 2)
            .unwrap()
            .is_empty()
    );
    let r = seal::seal_due(&store, T0 + NS_PER_DAY, 1).unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].day, "2026-11-24");
    assert!(!store.has_day(d1).unwrap() && store.has_day(d1 + 1).unwrap());
}

/// Stock zstd reads the year file: every frame, concatenated, is the JSON lines.
#[test]
fn stock_zstd_decodes_the_year_file_to_json_lines() {
    let Ok(out) = std::process::Command::new("zstd").arg("--version").output() else {
        eprintln!("zstd not installed: skipped");
        return;
    };
    assert!(out.status.success());
    let tmp = tempfile::tempdir().unwrap();
    let mut a = YearArchive::open(tmp.path(), 2026).unwrap();
    a.options.frame_max_records = 7;
    let records = day_records(T0, 20);
    a.append_day(day_of_ns(T0), &records, 19, None).unwrap();
    let out = std::process::Command::new("zstd")
        .arg("-dc")
        .arg(a.zst_path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut expected = Vec::new();
    for e in a.entries() {
        expected.extend(a.read_raw(e).unwrap());
    }
    assert_eq!(out.stdout, expected);
    // one JSON object per record, each with its original line
    let text = String::from_utf8(out.stdout).unwrap();
    let mut originals: Vec<String> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["r"].as_str().unwrap().to_string()
        })
        .collect();
    originals.sort();
    let mut want: Vec<String> = records
        .iter()
        .map(|r| String::from_utf8(r.raw.clone()).unwrap())
        .collect();
    want.sort();
    assert_eq!(originals, want);
}

fn search(dir: &Path, q: &str, from: i64, until: i64, limit: usize) -> search::ArchiveSearchResult {
    let mut m = crate::query::logs::Matcher::new(&crate::query::logs::parse(q).unwrap()).unwrap();
    search::search_archive(dir, &mut m, from, until, limit, &|_| false, &mut |_| {}).unwrap()
}

#[test]
fn archive_search_reads_only_matching_frames_newest_first() {
    let tmp = tempfile::tempdir().unwrap();
    let d1 = day_of_ns(T0);
    let mut a = YearArchive::open(tmp.path(), 2026).unwrap();
    a.options.frame_max_records = 10;
    a.append_day(d1, &day_records(T0, 30), 1, None).unwrap();
    let mut other = day_records(T0 + NS_PER_DAY, 10);
    for r in &mut other {
        r.host = "db1".into();
    }
    a.append_day(d1 + 1, &other, 1, None).unwrap();
    let all = search(tmp.path(), "", T0 - NS_PER_DAY, T0 + 3 * NS_PER_DAY, 5);
    assert_eq!((all.total, all.frames_read, all.frames_skipped), (40, 4, 0));
    assert_eq!(all.hits.len(), 5);
    assert_eq!(all.hits[0].timestamp_ns, T0 + NS_PER_DAY + 9_000_000_000);
    assert!(
        all.hits
            .windows(2)
            .all(|w| w[0].timestamp_ns > w[1].timestamp_ns)
    );
    // host pruning: day 2 is all db1
    let web = search(
        tmp.path(),
        "host:WEB1",
        T0 - NS_PER_DAY,
        T0 + 3 * NS_PER_DAY,
        100,
    );
    assert_eq!((web.total, web.frames_read, web.frames_skipped), (10, 3, 1));
    assert!(web.hits.iter().all(|r| r.host == "web1"));
    // time pruning: only the second frame of day 1 (records 10..19)
    let t = search(
        tmp.path(),
        "served",
        T0 + 12_000_000_000,
        T0 + 14_000_000_000,
        100,
    );
    assert_eq!((t.total, t.frames_read, t.frames_skipped), (3, 1, 3));
    let q = search(
        tmp.path(),
        r#""request 13" severity:<=warning"#,
        T0,
        T0 + NS_PER_DAY,
        10,
    );
    assert_eq!(q.total, 0, "record 13 has severity 5");
    let q = search(
        tmp.path(),
        r#""request 12" severity:<=warning"#,
        T0,
        T0 + NS_PER_DAY,
        10,
    );
    assert_eq!(q.total, 1);
    let none = search(tmp.path(), "", T0 + 5 * NS_PER_DAY, T0 + 6 * NS_PER_DAY, 10);
    assert_eq!((none.total, none.frames_read), (0, 0));
}

/// The same queries over the same day give the same records before sealing (tantivy) and
/// after (archive frames + matcher).
#[test]
fn a_sealed_day_answers_queries_as_the_hot_store_did() {
    let tmp = tempfile::tempdir().unwrap();
    let d1 = day_of_ns(T0);
    let mut recs = day_records(T0, 40);
    recs[7].fields.push(("status".into(), "503".into()));
    recs[8].raw = vec![0xfe, 0xff];
    // case and non-ASCII text: the search's literal prefilter must not lose these
    recs[10].raw = "<36>REQUEST 10 SERVED café".into();
    recs[10].message = "REQUEST 10 SERVED café".into();
    recs[11].host = "WEB1".into();
    recs[12].message = "Überweisung angenommen".into();
    // not UTF-8, so archived as base64: its host comes from parsing the line
    recs[13].raw = b"<13>Nov 24 16:00:13 dbx app: \xff".to_vec();
    recs[13].host = "dbx".into();
    let store = write(tmp.path(), recs);
    let (from, until) = (T0 - NS_PER_DAY, T0 + NS_PER_DAY);
    let queries = [
        "",
        "served",
        "host:web1 -app:sshd",
        "severity:>=warning OR request",
        r#""request 17""#,
        "req*",
        "zoo@123.tiger:HUNGRY",
        "status:>500",
        "host:web? AND NOT severity:[2 TO 5]",
        "SERVED",
        "cafe OR café",
        "überweisung",
        "request OR nope",
        "host:web1 OR app:nginx",
        "-served",
        "host:web1 AND NOT 17",
        "host:dbx",
    ];
    let mut before = Vec::new();
    for q in queries {
        let compile = |f: &crate::store::logs::schema::LogFields| {
            crate::query::logs::build_query(q, f, store.schema()).unwrap()
        };
        let r = store.search(&compile, from, until, 100).unwrap();
        before.push((r.total, sorted(r.hits)));
    }
    seal::seal_day_with(&store, d1, 1, None).unwrap();
    for (q, (total, hits)) in queries.iter().zip(before) {
        let r = search(&store.archive_dir(), q, from, until, 100);
        assert_eq!(r.total, total, "{q}");
        assert_eq!(sorted(r.hits), hits, "{q}");
    }
}

fn archive_fixture_dir(version: u32) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("ingest-tests/fixtures/archive-v{version}"))
}

/// The fixture's content: two days, the first over three frames, with a non-UTF-8 frame, a
/// record without severity or facility and nested field keys.
fn fixture_days() -> Vec<(i64, Vec<LogRecord>)> {
    let mut d1 = day_records(T0, 12);
    d1[3].raw = vec![b'<', b'1', b'3', b'>', 0xff, 0xfe, b'\n'];
    d1[4].severity = None;
    d1[4].facility = None;
    d1[5].fields = vec![
        ("exampleSDID@32473.iut".into(), "3".into()),
        ("status".into(), "503".into()),
    ];
    d1[6].message = "ünïcödé \"quoted\" \t tab".into();
    let d2 = day_records(T0 + NS_PER_DAY, 4);
    vec![(day_of_ns(T0), d1), (day_of_ns(T0) + 1, d2)]
}

/// Format 2 adds a third day of records as telltale makes them from real lines (parsed and
/// normalized with the shipped rules): these re-derive from their line, so the archive keeps
/// little more than the line itself.
fn fixture_days_v2() -> Vec<(i64, Vec<LogRecord>)> {
    fixture_days_normalized(&crate::normalize::Normalizer::with_errors(None).0)
}

/// [`fixture_days_v2`] with the third day normalized by `normalizer`.
fn fixture_days_normalized(
    normalizer: &crate::normalize::Normalizer,
) -> Vec<(i64, Vec<LogRecord>)> {
    let mut days = fixture_days();
    let received = T0 + 2 * NS_PER_DAY + 3_600_123_456_000;
    let lines: [&[u8]; 5] = [
        b"<38>Nov 26 17:00:00 gw01 sshd[24200]: Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2",
        b"<165>1 2026-11-26T17:00:00.5+01:00 web1 nginx 8710 ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\"] request served",
        b"a line with no header at all",
        b"<13>Nov 26 17:00:01 combo kernel: Linux agpgart interface v0.100 (c) Dave Jones",
        b"<187>Nov 26 17:00:02 www httpd[1020]: [error] mod_jk child workerEnv in error state 6",
    ];
    let records = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let msg = crate::model::RawMessage {
                received_ns: received + i as i64 * 1_000_000,
                peer: Some(std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 7))),
                transport: crate::model::Transport::Tcp,
                bytes: l.to_vec(),
                truncated: false,
            };
            crate::normalize::normalize(&msg, normalizer)
        })
        .collect::<Vec<_>>();
    let mut records = records;
    records.sort_by_key(|r| r.timestamp_ns);
    days.push((day_of_ns(T0) + 2, records));
    days
}

/// Checks a frozen fixture directory: opens clean, `frames` frames, the records as written
/// (through `expected`), and a search that prunes by time.
fn check_fixture(
    version: u32,
    days: Vec<(i64, Vec<LogRecord>)>,
    frames: usize,
    expected: impl Fn(Vec<LogRecord>) -> Vec<LogRecord>,
) {
    let src = archive_fixture_dir(version);
    let tmp = tempfile::tempdir().unwrap();
    for f in ["2026.zst", "2026.idx"] {
        std::fs::copy(src.join(f), tmp.path().join(f)).unwrap();
    }
    if let Ok(snapshots) = std::fs::read_dir(src.join("rules")) {
        std::fs::create_dir_all(tmp.path().join("rules")).unwrap();
        for f in snapshots {
            let f = f.unwrap();
            std::fs::copy(f.path(), tmp.path().join("rules").join(f.file_name())).unwrap();
        }
    }
    let a = YearArchive::open(tmp.path(), 2026).unwrap();
    assert_eq!(a.recovery, Recovery::default());
    assert_eq!(a.entries().len(), frames);
    assert!(a.entries().iter().all(|e| e.format == version));
    let n: usize = days.iter().map(|(_, r)| r.len()).sum();
    assert_eq!(a.verify().unwrap(), n as u64);
    for (day, records) in days {
        let back = archived(tmp.path(), day);
        assert_eq!(back, expected(records));
    }
    let r = search(
        tmp.path(),
        "status:>500 host:web2",
        T0,
        T0 + NS_PER_DAY - 1,
        10,
    );
    assert_eq!(r.total, 1);
    // later days are out of range; web2 is in every frame of day 1
    assert_eq!((r.frames_read, r.frames_skipped), (3, frames as u64 - 3));
}

/// Format version 1 of the archive (year file and index) must stay readable by every later
/// version. It can no longer be written: never regenerate it.
#[test]
fn frozen_fixture_v1_stays_readable() {
    check_fixture(1, fixture_days(), 4, |r| r);
}

/// Format version 2 must stay readable by every later version. Regenerate only when the
/// format deliberately changes, under a new directory:
/// `TELLTALE_WRITE_FIXTURE=1 cargo test --lib store::logs::archive::tests::frozen_fixture_v2`.
#[test]
fn frozen_fixture_v2_stays_readable() {
    if std::env::var_os("TELLTALE_WRITE_FIXTURE").is_some() {
        let src = archive_fixture_dir(2);
        let _ = std::fs::remove_file(src.join("2026.zst"));
        let _ = std::fs::remove_file(src.join("2026.idx"));
        let mut a = YearArchive::open(&src, 2026).unwrap();
        a.options.frame_max_records = 5;
        for (day, records) in fixture_days_v2() {
            a.append_day(day, &records, DEFAULT_LEVEL, None).unwrap();
        }
    }
    // format 2 keeps receive times to the second; everything else exactly
    check_fixture(2, fixture_days_v2(), 5, |mut v| {
        for r in &mut v {
            r.received_ns = seal::round_received(r, RECV_UNIT_NS);
        }
        v
    });
}

/// Format version 3 (format 2 lines naming a rule snapshot) must stay readable by every later
/// version, whatever the shipped rules become: the expected records are normalized with the
/// fixture's own snapshot. Regenerate only under a new directory:
/// `TELLTALE_WRITE_FIXTURE=1 cargo test --lib store::logs::archive::tests::frozen_fixture_v3`.
#[test]
fn frozen_fixture_v3_stays_readable() {
    let src = archive_fixture_dir(3);
    if std::env::var_os("TELLTALE_WRITE_FIXTURE").is_some() {
        let _ = std::fs::remove_dir_all(src.join("rules"));
        let _ = std::fs::remove_file(src.join("2026.zst"));
        let _ = std::fs::remove_file(src.join("2026.idx"));
        let mut a = YearArchive::open(&src, 2026).unwrap();
        a.options.frame_max_records = 5;
        a.rules = Some(Arc::new(crate::normalize::Normalizer::with_errors(None).0));
        for (day, records) in fixture_days_v2() {
            a.append_day(day, &records, DEFAULT_LEVEL, None).unwrap();
        }
    }
    let a = YearArchive::open_read_only(&src, 2026).unwrap();
    let id = a.entries()[0].rules.clone().unwrap();
    assert!(a.entries().iter().all(|e| e.rules.as_ref() == Some(&id)));
    let rules = super::rules::load(&src, &id).unwrap();
    let days = fixture_days_normalized(&rules);
    // the rules re-derive the fields of the normalized day: its lines carry no `x` or `s`
    let third = a
        .entries()
        .iter()
        .find(|e| e.day_number() == Some(days[2].0));
    let raw = a.read_raw(third.unwrap()).unwrap();
    let text = String::from_utf8(raw).unwrap();
    assert!(
        text.contains("webmaster") && !text.contains(r#""x":"#),
        "{text}"
    );
    assert!(days[2].1.iter().any(|r| r.fields.len() > 3));
    check_fixture(3, days, 5, |mut v| {
        for r in &mut v {
            r.received_ns = seal::round_received(r, RECV_UNIT_NS);
        }
        v
    });
}

/// A seal with the server's rules writes format 3 with a snapshot beside the year; the records
/// and a search by an extracted field come back as they were in the hot store.
#[test]
fn sealing_with_rules_snapshots_them_and_re_derives_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let (day, records) = fixture_days_v2().pop().unwrap();
    let store = write(tmp.path(), records.clone());
    let live = Arc::new(crate::normalize::SharedNormalizer::load(None));
    store.set_archive_rules(live.clone());
    let stats = live.get().stats();
    seal::seal_day_with(&store, day, 3, None).unwrap();
    // the seal runs the snapshot's rules, not the live ones: ingestion's counters stay put
    assert_eq!(live.get().stats(), stats);
    let dir = store.archive_dir();
    let a = YearArchive::open(&dir, 2026).unwrap();
    let e = &a.entries()[0];
    assert_eq!(e.format, 3);
    let id = e.rules.clone().unwrap();
    assert!(super::rules::path_of(&dir, &id).is_file());
    let mut want = records;
    for r in &mut want {
        r.received_ns = seal::round_received(r, RECV_UNIT_NS);
    }
    assert_eq!(archived(&dir, day), want);
    let r = search(&dir, "user:webmaster", 0, i64::MAX, 10);
    assert_eq!(r.total, 1);
    // without its snapshot a format-3 frame is an error, not records without their fields
    std::fs::remove_file(super::rules::path_of(&dir, &id)).unwrap();
    let fresh = tempfile::tempdir().unwrap();
    for f in ["2026.zst", "2026.idx"] {
        std::fs::copy(dir.join(f), fresh.path().join(f)).unwrap();
    }
    let b = YearArchive::open(fresh.path(), 2026).unwrap();
    assert!(matches!(b.verify(), Err(ArchiveError::Corrupt { .. })));
}

/// Lines arriving for a day after it was sealed recreate its partition; the next seal adds
/// only them, as a second group of the day.
#[test]
fn late_lines_for_a_sealed_day_are_sealed_as_one_more_group() {
    let tmp = tempfile::tempdir().unwrap();
    let d1 = day_of_ns(T0);
    let store = write(tmp.path(), day_records(T0, 10));
    seal::seal_day_with(&store, d1, 1, None).unwrap();
    drop(store);
    let mut late = day_records(T0 + 3_600_000_000_000, 4);
    for r in &mut late {
        r.message = format!("late {}", r.message);
    }
    let store = write(tmp.path(), late);
    let r = seal::seal_due(&store, T0 + 40 * NS_PER_DAY, 30).unwrap();
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!((r[0].records, r[0].resumed), (4, true));
    assert!(!store.has_day(d1).unwrap());
    let a = YearArchive::open(&store.archive_dir(), 2026).unwrap();
    assert_eq!(a.entries().len(), 2);
    assert_eq!(a.day_counts()[&d1], 14);
    let back = archived(&store.archive_dir(), d1);
    assert_eq!(
        back.iter()
            .filter(|r| r.message.starts_with("late"))
            .count(),
        4
    );
}

#[test]
fn prune_years_keeps_the_newest_years_only() {
    let tmp = tempfile::tempdir().unwrap();
    for y in [2023, 2024, 2025, 2026] {
        let mut a = YearArchive::open(tmp.path(), y).unwrap();
        let day = crate::model::time::days_from_civil(y, 6, 1);
        a.append_day(day, &day_records(day * NS_PER_DAY, 2), 1, None)
            .unwrap();
    }
    // an orphan year file, as a crash between the two deletions leaves
    std::fs::write(tmp.path().join("2022.zst"), b"x").unwrap();
    assert_eq!(
        seal::prune_years(tmp.path(), 2026, 2).unwrap(),
        [2022, 2023, 2024]
    );
    assert_eq!(years(tmp.path()).unwrap(), [2025, 2026]);
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 4);
    assert!(seal::prune_years(tmp.path(), 2026, 2).unwrap().is_empty());
}

/// An archive written before format 2 keeps growing: new days go after its format-1 frames,
/// and a search reads both kinds alike.
#[test]
fn a_year_of_format_1_frames_takes_format_2_frames_after_them() {
    let tmp = tempfile::tempdir().unwrap();
    for f in ["2026.zst", "2026.idx"] {
        std::fs::copy(archive_fixture_dir(1).join(f), tmp.path().join(f)).unwrap();
    }
    let d = day_of_ns(T0) + 5;
    let mut a = YearArchive::open(tmp.path(), 2026).unwrap();
    a.append_day(d, &day_records(T0 + 5 * NS_PER_DAY, 6), 3, None)
        .unwrap();
    let b = YearArchive::open(tmp.path(), 2026).unwrap();
    let formats: Vec<u32> = b.entries().iter().map(|e| e.format).collect();
    assert_eq!(formats, [1, 1, 1, 1, 2]);
    assert_eq!(b.verify().unwrap(), 22);
    let old: usize = fixture_days()
        .iter()
        .flat_map(|(_, r)| r)
        .filter(|r| r.message.ends_with("served"))
        .count();
    let r = search(tmp.path(), "served", T0, T0 + 6 * NS_PER_DAY, 100);
    assert_eq!(r.total as usize, old + 6);
    assert_eq!(r.frames_read, 5);
}

/// A progress callback that breaks stops the scan there: the frames not yet reported are not
/// merged, and the result says it is partial.
#[test]
fn archive_search_stops_when_progress_breaks() {
    let tmp = tempfile::tempdir().unwrap();
    let mut a = YearArchive::open(tmp.path(), 2026).unwrap();
    a.options.frame_max_records = 1;
    a.append_day(day_of_ns(T0), &day_records(T0, 40), 1, None)
        .unwrap();
    let mut m = crate::query::logs::Matcher::new(&crate::query::logs::parse("").unwrap()).unwrap();
    let mut seen = Vec::new();
    let r = search::search_archive_until(
        tmp.path(),
        &mut m,
        T0 - NS_PER_DAY,
        T0 + NS_PER_DAY,
        100,
        &|_| false,
        &mut |p| {
            seen.push(p.frames_done);
            if p.frames_done == 3 {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        },
    )
    .unwrap();
    assert_eq!(seen, [1, 2, 3]);
    assert!(r.cancelled);
    assert_eq!((r.frames_read, r.total, r.hits.len()), (3, 3, 3));
    // without a break the same search reads every frame
    let all = search(tmp.path(), "", T0 - NS_PER_DAY, T0 + NS_PER_DAY, 100);
    assert!(!all.cancelled);
    assert_eq!((all.frames_read, all.total), (40, 40));
}

/// A seal that reads the records its rules made in place, without their fields, writes the
/// very lines a seal of the same records read whole writes: byte for byte, frame for frame.
/// (The records are real lines normalized with the shipped rules, a non-UTF-8 one among them,
/// plus one record the rules did not make.)
#[test]
fn a_seal_reading_in_place_writes_what_a_whole_read_does() {
    use crate::store::logs::writer::RecordBatch;
    let live = Arc::new(crate::normalize::SharedNormalizer::load(None));
    let (day, mut records) = fixture_days_normalized(&live.get()).pop().unwrap();
    // a line that is not UTF-8, made into a record as ingestion makes it
    let odd = crate::model::RawMessage {
        received_ns: records[0].received_ns,
        peer: None,
        transport: crate::model::Transport::Udp,
        bytes: b"<13>Nov 26 17:00:03 gw01 sshd[1]: caf\xe9 \xff".to_vec(),
        truncated: false,
    };
    records.push(crate::normalize::normalize(&odd, &live.get()));
    let other = records[1].clone();
    let mut lines = Vec::new();
    for stamped in [true, false] {
        let tmp = tempfile::tempdir().unwrap();
        let store = crate::testutil::write_batches(
            tmp.path(),
            vec![
                RecordBatch {
                    records: records.clone(),
                    rules: stamped.then(|| live.get().stamp()),
                },
                // made by other rules: read whole, its fields checked, in both seals
                RecordBatch {
                    records: vec![other.clone()],
                    rules: Some(7),
                },
            ],
        );
        store.set_archive_rules(live.clone());
        let report = seal::seal_day_with(&store, day, DEFAULT_LEVEL, None).unwrap();
        assert_eq!(report.records, records.len() as u64 + 1);
        let a = YearArchive::open(&store.archive_dir(), 2026).unwrap();
        let raw: Vec<Vec<u8>> = a.entries().iter().map(|e| a.read_raw(e).unwrap()).collect();
        lines.push(raw);
    }
    assert_eq!(lines[0], lines[1]);
    assert!(!lines[0].is_empty());
}
