#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::LogStore;
use crate::model::LogRecord;

fn rec(ts_ns: i64, host: &str, app: &str, msg: &str) -> LogRecord {
    LogRecord {
        timestamp_ns: ts_ns,
        received_ns: ts_ns + 1_000,
        host: host.into(),
        app: app.into(),
        pid: "42".into(),
        severity: Some(4),
        facility: Some(4),
        msgid: "ID1".into(),
        message: msg.into(),
        fields: vec![("zoo@123.tiger".into(), "hungry".into())],
        raw: format!("<36>{msg}").into_bytes(),
    }
}

/// A record with no pid, msgid, severity, facility or fields, whose frame is not UTF-8.
fn bare(ts_ns: i64, host: &str, msg: &str) -> LogRecord {
    let mut r = rec(ts_ns, host, "", msg);
    r.pid.clear();
    r.msgid.clear();
    r.severity = None;
    r.facility = None;
    r.fields.clear();
    r.raw = vec![0xff, 0, b'\n'];
    r
}

fn write(dir: &Path, records: Vec<LogRecord>) -> Arc<LogStore> {
    crate::testutil::write_logs(dir, records)
}

const DAY1: i64 = 1_795_536_000_000_000_000; // 2026-11-24T16:00:00Z

fn all(store: &LogStore, q: &str, from: i64, until: i64) -> Vec<LogRecord> {
    crate::query::logs::build_query(q, store.fields(), store.schema()).unwrap();
    let compile = |f: &super::schema::LogFields| {
        crate::query::logs::build_query(q, f, store.schema()).unwrap()
    };
    store.search(&compile, from, until, 100).unwrap().hits
}

/// Each record keeps the stamp of the normalizer whose batch it came in (none for records
/// made elsewhere), so sealing can trust the fields those rules gave it.
#[test]
fn records_keep_the_stamp_of_their_normalizer() {
    use crate::store::logs::writer::RecordBatch;
    let tmp = tempfile::tempdir().unwrap();
    let store = crate::testutil::write_batches(
        tmp.path(),
        vec![
            RecordBatch {
                records: vec![rec(DAY1, "a", "x", "stamped one")],
                rules: Some(0xdead_beef_0123_4567),
            },
            vec![rec(DAY1 + 1, "b", "y", "made elsewhere")].into(),
            RecordBatch {
                records: vec![rec(DAY1 + 2, "c", "z", "stamped two")],
                rules: Some(7),
            },
        ],
    );
    let (records, stamps) = store.day_records_stamped(20_781).unwrap();
    let mut got: Vec<(String, Option<u64>)> =
        records.into_iter().map(|r| r.host).zip(stamps).collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("a".into(), Some(0xdead_beef_0123_4567)),
            ("b".into(), None),
            ("c".into(), Some(7)),
        ]
    );
}

/// Sealing reads a day straight from the doc store; it must give exactly the records a
/// search returns (which go through tantivy's own documents).
#[test]
fn a_day_read_for_sealing_is_what_search_returns() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare(DAY1 + 5_000, "h2", "no pid no msgid");
    let mut many = rec(DAY1 + 6_000, "h3", "app", "many fields");
    many.fields = vec![
        ("origin@1.ip".into(), "10.0.0.1".into()),
        ("status".into(), "503".into()),
        ("a.b.c".into(), "deep".into()),
        ("took_ms".into(), "1.5".into()),
    ];
    let records = vec![rec(DAY1, "h1", "sshd", "hello one"), bare, many];
    let store = write(tmp.path(), records.clone());
    let mut read = store.day_records(20_781).unwrap();
    let mut searched = all(&store, "*", i64::MIN, i64::MAX);
    read.sort_by_key(|r| r.timestamp_ns);
    searched.sort_by_key(|r| r.timestamp_ns);
    assert_eq!(read, searched);
    assert_eq!(read, records);
}

#[test]
fn records_round_trip_partitioned_by_utc_day_newest_first() {
    let tmp = tempfile::tempdir().unwrap();
    let day = 86_400 * 1_000_000_000i64;
    let store = write(
        tmp.path(),
        vec![
            rec(DAY1, "web1", "sshd", "first day"),
            rec(DAY1 + day, "web2", "nginx", "second day"),
            rec(DAY1 + 60_000_000_000, "web1", "sshd", "first day later"),
        ],
    );
    let dirs: Vec<String> = std::fs::read_dir(tmp.path().join("logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(dirs.len(), 2, "{dirs:?}");
    let hits = all(&store, "day", i64::MIN, i64::MAX);
    let msgs: Vec<&str> = hits.iter().map(|r| r.message.as_str()).collect();
    assert_eq!(msgs, ["second day", "first day later", "first day"]);
    assert_eq!(hits[2], rec(DAY1, "web1", "sshd", "first day"));
    // a window inside day one only
    let hits = all(&store, "*", DAY1 + 1, DAY1 + 120_000_000_000);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].message, "first day later");
    // reopening finds the same
    drop(store);
    let store = LogStore::open(tmp.path()).unwrap();
    assert_eq!(all(&store, "host:web1", i64::MIN, i64::MAX).len(), 2);
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ingest-tests/fixtures/logs-v1")
}

/// A data directory holding a copy of the fixture `src`'s day 2026-11-24: tests work on a
/// copy, because opening may create lock files.
fn copy_fixture_day(src: &Path) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let day_dst = tmp.path().join("logs/2026-11-24");
    std::fs::create_dir_all(&day_dst).unwrap();
    for e in std::fs::read_dir(src.join("logs/2026-11-24")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, day_dst.join(p.file_name().unwrap())).unwrap();
    }
    tmp
}

/// Format version 1 (no `typed`, no `rules`) must stay readable by every later version. The
/// writer now makes the current schema, so it can no longer be written: never regenerate it.
#[test]
fn frozen_fixture_v1_stays_readable() {
    let tmp = copy_fixture_day(&fixture_dir());
    let day_dst = tmp.path().join("logs/2026-11-24");
    let store = LogStore::open(tmp.path()).unwrap();
    let hits = all(&store, "hello", i64::MIN, i64::MAX);
    assert_eq!(hits.len(), 2);
    assert_eq!(
        hits[0],
        rec(DAY1 + 1_000_000_000, "vm", "root", "hello fixture two")
    );
    assert_eq!(hits[1].host, "myhost");
    assert_eq!(
        all(
            &store,
            "zoo@123.tiger:hungry AND host:vm",
            i64::MIN,
            i64::MAX
        )
        .len(),
        1
    );
    // a partition from before normalizer stamps has none: sealing checks its records
    let (_, stamps) = store.day_records_stamped(20_781).unwrap();
    assert!(stamps.iter().all(Option::is_none), "{stamps:?}");
    let meta = super::day::DayMeta::load(&day_dst, 20_781).unwrap();
    assert_eq!(meta.count, 2);
    assert_eq!(meta.min_ts_ns, DAY1);
    assert!(meta.hosts.contains("vm"));
}

/// The schema as of 2026-11-25: `typed` and the normalizer stamp `rules`
/// (docs/format/logs.md). Must stay readable by every later version; regenerate only under a
/// new directory when the format deliberately changes:
/// `TELLTALE_WRITE_FIXTURE=1 cargo test --lib store::logs::tests::frozen_fixture_v2`.
#[test]
fn frozen_fixture_v2_stays_readable() {
    use crate::store::logs::writer::RecordBatch;
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("ingest-tests/fixtures/logs-v2");
    let mut stamped = rec(DAY1, "web1", "nginx", "GET /x took 12 ms");
    stamped.fields = vec![
        ("status".into(), "503".into()),
        ("client_ip".into(), "10.1.2.3".into()),
    ];
    let plain = rec(DAY1 + 1_000_000_000, "vm", "monit", "check failed");
    if std::env::var_os("TELLTALE_WRITE_FIXTURE").is_some() {
        let _ = std::fs::remove_dir_all(&src);
        crate::testutil::write_batches(
            &src,
            vec![
                RecordBatch {
                    records: vec![stamped.clone()],
                    rules: Some(0x0123_4567_89ab_cdef),
                },
                vec![plain.clone()].into(),
            ],
        );
        for e in std::fs::read_dir(src.join("logs/2026-11-24")).unwrap() {
            let p = e.unwrap().path();
            if p.file_name().unwrap().to_string_lossy().ends_with(".lock") {
                std::fs::remove_file(p).unwrap();
            }
        }
    }
    let tmp = copy_fixture_day(&src);
    let store = LogStore::open(tmp.path()).unwrap();
    let (records, stamps) = store.day_records_stamped(20_781).unwrap();
    let mut got: Vec<(LogRecord, Option<u64>)> = records.into_iter().zip(stamps).collect();
    got.sort_by_key(|(r, _)| r.timestamp_ns);
    assert_eq!(
        got,
        vec![(stamped, Some(0x0123_4567_89ab_cdef)), (plain, None)]
    );
    assert_eq!(all(&store, "status:>=500", i64::MIN, i64::MAX).len(), 1);
    assert_eq!(
        all(&store, "client_ip:10.0.0.0/8", i64::MIN, i64::MAX).len(),
        1
    );
}

#[test]
fn issue3_typed_fields_answer_ranges_and_cidr_blocks() {
    let tmp = tempfile::tempdir().unwrap();
    let mut recs = Vec::new();
    for (i, (status, bytes, ip, dur)) in [
        ("503", "1234", "10.1.2.3", "12.5"),
        ("200", "99", "192.168.1.9", "0.4"),
        ("404", "5000", "10.200.0.1", "7"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut r = rec(DAY1 + i as i64, "web1", "nginx", &format!("request {i}"));
        r.fields = vec![
            ("status".into(), status.into()),
            ("bytes".into(), bytes.into()),
            ("client_ip".into(), ip.into()),
            ("duration_ms".into(), dur.into()),
            ("user".into(), "alice".into()),
        ];
        recs.push(r);
    }
    let store = write(tmp.path(), recs);
    let n = |q: &str| all(&store, q, i64::MIN, i64::MAX).len();
    assert_eq!(n("status:>=500"), 1);
    assert_eq!(n("status:>=400"), 2);
    assert_eq!(n("status:<400"), 1);
    assert_eq!(n("status:[400 TO 503]"), 2);
    assert_eq!(n("status:{400 TO 503}"), 1);
    assert_eq!(n("bytes:[1000 TO *]"), 2);
    assert_eq!(n("client_ip:10.0.0.0/8"), 2);
    assert_eq!(n("client_ip:10.1.0.0/16"), 1);
    assert_eq!(n("client_ip:172.16.0.0/12"), 0);
    assert_eq!(n("duration_ms:>10"), 1);
    assert_eq!(n("duration_ms:[0.1 TO 7]"), 2);
    // exact values still match as before, and typed and exact combine
    assert_eq!(n("status:404"), 1);
    assert_eq!(n("client_ip:10.1.2.3"), 1);
    assert_eq!(n("user:alice AND status:>=500 AND client_ip:10.0.0.0/8"), 1);
    // the stored fields come back as the strings that were sent
    let hit = &all(&store, "status:503", i64::MIN, i64::MAX)[0];
    assert!(hit.fields.contains(&("duration_ms".into(), "12.5".into())));
}

#[test]
fn typed_queries_on_a_format_v1_day_find_nothing_rather_than_failing() {
    let tmp = copy_fixture_day(&fixture_dir());
    let store = LogStore::open(tmp.path()).unwrap();
    assert_eq!(all(&store, "status:>=500", i64::MIN, i64::MAX).len(), 0);
    // and new records for that old day still index (without the typed column)
    drop(store);
    let mut r = rec(DAY1 + 5, "late", "nginx", "late line");
    r.fields = vec![("status".into(), "500".into())];
    let store = write(tmp.path(), vec![r]);
    assert_eq!(all(&store, "late", i64::MIN, i64::MAX).len(), 1);
    assert_eq!(all(&store, "status:500", i64::MIN, i64::MAX).len(), 1);
}

/// The members a seal reads in place from the doc store (without tantivy's deserializer) are
/// exactly what tantivy's reader gives, on records of every shape: non-UTF-8 frames, empty
/// members, no severity, nested and many fields, non-ASCII text.
#[test]
fn a_doc_view_reads_what_tantivy_reads() {
    use super::archive::RecordRef;
    use crate::store::logs::writer::RecordBatch;
    const STAMP: u64 = 0x5eed_0000_0000_0001;
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare(DAY1 + 5_000, "", "");
    let mut many = rec(DAY1 + 6_000, "h3", "app", "many fields: é ✓ 日本");
    many.fields = (0..40)
        .map(|i| (format!("k{i}.sub.{i}"), "v".repeat(i)))
        .collect();
    let long = rec(DAY1 + 7_000, "h4", "app", &"x".repeat(70_000));
    let mut records = vec![rec(DAY1, "h1", "sshd", "hello one"), bare, many, long];
    // enough records for several doc-store blocks
    for i in 0..3000 {
        records.push(rec(DAY1 + 10_000 + i, "web", "nginx", &format!("line {i}")));
    }
    let other = rec(DAY1 + 8_000, "h5", "x", "made by other rules");
    let store = crate::testutil::write_batches(
        tmp.path(),
        vec![
            RecordBatch {
                records: records.clone(),
                rules: Some(STAMP),
            },
            RecordBatch {
                records: vec![other.clone()],
                rules: Some(STAMP + 1),
            },
        ],
    );
    let (whole, stamps) = store.day_records_stamped(20_781).unwrap();
    // (debug form of the members, fields read, stamp) per record, in doc-store order
    let mut scanned: Vec<(String, bool, Option<u64>)> = Vec::new();
    store
        .scan_day(20_781, Some(STAMP), |r, s| {
            let members = RecordRef { fields: None, ..r };
            scanned.push((format!("{members:?}"), r.fields.is_some(), s));
            Ok::<(), super::StoreError>(())
        })
        .unwrap();
    assert_eq!(scanned.len(), whole.len());
    let mut views = 0;
    for ((got, has_fields, s), (w, ws)) in scanned.iter().zip(whole.iter().zip(&stamps)) {
        let members = RecordRef {
            fields: None,
            ..RecordRef::from(w)
        };
        assert_eq!(*got, format!("{members:?}"));
        assert_eq!(s, ws);
        if *has_fields {
            assert_eq!(
                *s,
                Some(STAMP + 1),
                "only records other rules made are read whole"
            );
        } else {
            views += 1;
            assert_eq!(*s, Some(STAMP));
        }
    }
    assert_eq!(
        views,
        records.len(),
        "every record the trusted rules made is read in place"
    );
}

/// Partitions written before the stamp existed (format v1) and records without one are read
/// whole, with their fields; a stamped one of the v2 fixture is read in place.
#[test]
fn frozen_fixtures_read_for_sealing_whole_or_in_place() {
    for (name, stamp, views) in [("logs-v1", 7, 0), ("logs-v2", 0x0123_4567_89ab_cdef, 1)] {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("ingest-tests/fixtures")
            .join(name);
        let tmp = copy_fixture_day(&src);
        let store = LogStore::open(tmp.path()).unwrap();
        let (whole, _) = store.day_records_stamped(20_781).unwrap();
        let mut scanned: Vec<(LogRecord, bool)> = Vec::new();
        store
            .scan_day(20_781, Some(stamp), |r, _| {
                let mut rec = LogRecord {
                    timestamp_ns: r.timestamp_ns,
                    received_ns: r.received_ns,
                    host: r.host.into(),
                    app: r.app.into(),
                    pid: r.pid.into(),
                    severity: r.severity,
                    facility: r.facility,
                    msgid: r.msgid.into(),
                    message: r.message.into(),
                    fields: Vec::new(),
                    raw: r.raw.to_vec(),
                };
                if let Some(f) = r.fields {
                    rec.fields = f.to_vec();
                }
                scanned.push((rec, r.fields.is_none()));
                Ok::<(), super::StoreError>(())
            })
            .unwrap();
        assert_eq!(scanned.len(), whole.len(), "{name}");
        let mut seen = 0;
        for ((got, in_place), w) in scanned.iter_mut().zip(&whole) {
            if *in_place {
                seen += 1;
                got.fields.clone_from(&w.fields);
            }
            assert_eq!(got, w, "{name}");
        }
        assert_eq!(seen, views, "{name}");
    }
}
