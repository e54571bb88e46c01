//! Log archive size and speed (issue 7): a replay of the LogHub samples with realistic
//! timestamps sealed into a year file, against stock `zstd` of the same raw lines; sealing
//! speed per core; archive search over one synthesized day.
//!
//! Run: `cargo bench --bench archive -- size [LINES]`, `... -- grid [LINES]`, `... -- sealday [LINES]`,
//! `... -- search [LINES]` (see `benches/archive.sh`, which runs them for BENCHMARKS.md).
//! Prints numbers only; no pass/fail.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use telltale::model::time::{NS_PER_DAY, day_of_ns, days_from_civil};
use telltale::model::{LogRecord, RawMessage, Transport};
use telltale::normalize::Normalizer;
use telltale::store::logs::archive::{WriteOptions, YearArchive, record, search};

/// The server's allocator (src/main.rs), so reading and dropping a day's records costs here
/// what it costs there.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// splitmix64: a reproducible stream without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Exponentially distributed with the given mean.
    fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }
}

/// One LogHub source: (host, "tag[pid]: message") per line, its PRI and the hosts a larger
/// replay spreads it over.
struct Source {
    lines: Vec<(String, String)>,
    pri: u8,
    hosts: Vec<String>,
}

fn loghub(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("ingest-tests/data/loghub")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn sources(rng: &mut Rng) -> Vec<Source> {
    let bsd = |text: &str| -> Vec<(String, String)> {
        text.lines()
            .filter_map(|l| {
                // "Mmm dd hh:mm:ss host rest": skip three tokens, then the host
                let mut rest = l.trim_end_matches('\r');
                for _ in 0..3 {
                    rest = rest.trim_start().split_once(' ')?.1;
                }
                let (host, msg) = rest.trim_start().split_once(' ')?;
                Some((host.to_string(), msg.to_string()))
            })
            .collect()
    };
    let hosts = |first: &str, prefix: &str, n: usize| -> Vec<String> {
        std::iter::once(first.to_string())
            .chain((1..n).map(|i| format!("{prefix}{i:02}")))
            .collect()
    };
    let apache: Vec<(String, String)> = loghub("Apache_2k.log")
        .lines()
        .filter_map(|l| {
            let (_, msg) = l.trim_end_matches('\r').split_once("] ")?;
            let pid = [1020, 1021, 1022, 2231][rng.below(4) as usize];
            Some(("www".to_string(), format!("httpd[{pid}]: {msg}")))
        })
        .collect();
    vec![
        Source {
            lines: bsd(&loghub("Linux_2k.log")),
            pri: 38,
            hosts: hosts("combo", "db", 8),
        },
        Source {
            lines: bsd(&loghub("OpenSSH_2k.log")),
            pri: 38,
            hosts: hosts("LabSZ", "gw", 6),
        },
        Source {
            lines: apache,
            pri: 187,
            hosts: hosts("www", "web", 12),
        },
    ]
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The replayed day: 2026-03-10 (UTC).
fn replay_day() -> i64 {
    days_from_civil(2026, 3, 10)
}

/// A replay of `n` lines over one day, in time order, produced in chunks of `chunk` messages:
/// the three LogHub sources interleaved at random, each in its own order (cycled when `n` >
/// 6000, then spread over several hosts), every line re-stamped with its new time
/// (`Mmm dd hh:mm:ss`, as RFC 3164 senders write), received 0..~10 ms later (µs precision).
/// With `rare`, ten lines carrying the word `zorglub` are mixed in.
struct Replay {
    rng: Rng,
    srcs: Vec<Source>,
    cursor: Vec<usize>,
    n: usize,
    done: usize,
    t_ns: f64,
    gap_ns: f64,
    rare: bool,
}

impl Replay {
    fn new(n: usize, rare: bool) -> Replay {
        let mut rng = Rng(7);
        let srcs = sources(&mut rng);
        Replay {
            rng,
            cursor: vec![0; srcs.len()],
            srcs,
            n,
            done: 0,
            t_ns: (replay_day() * NS_PER_DAY) as f64,
            gap_ns: NS_PER_DAY as f64 / (n as f64 + 1.0),
            rare,
        }
    }

    fn chunk(&mut self, max: usize) -> Vec<RawMessage> {
        let mut out = Vec::with_capacity(max);
        while out.len() < max && self.done < self.n {
            self.t_ns += self.rng.exp(self.gap_ns);
            let t = (self.t_ns as i64).min((replay_day() + 1) * NS_PER_DAY - 1);
            let s = self.rng.below(self.srcs.len() as u64) as usize;
            let src = &self.srcs[s];
            let (host, rest) = &src.lines[self.cursor[s] % src.lines.len()];
            self.cursor[s] += 1;
            let host = if self.n > 6000 {
                src.hosts[self.rng.below(src.hosts.len() as u64) as usize].as_str()
            } else {
                host.as_str()
            };
            let secs = t.div_euclid(1_000_000_000).rem_euclid(86_400);
            let rare = self.rare && self.done % (self.n / 10).max(1) == 17;
            let rest = if rare {
                "kernel: CPU3 temperature above threshold, zorglub throttled"
            } else {
                rest.as_str()
            };
            let line = format!(
                "<{}>{} {:2} {:02}:{:02}:{:02} {host} {rest}",
                src.pri,
                MONTHS[2],
                10,
                secs / 3600,
                secs / 60 % 60,
                secs % 60
            );
            let latency_us = self.rng.exp(2_000.0) as i64;
            out.push(RawMessage {
                received_ns: (t / 1000 + latency_us) * 1000,
                peer: Some(std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1))),
                transport: Transport::Tcp,
                bytes: line.into_bytes(),
                truncated: false,
            });
            self.done += 1;
        }
        out
    }
}

/// This thread's CPU time in ns (Linux schedstat), falling back to wall time.
fn cpu_ns(wall: Instant) -> u128 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or_else(|| wall.elapsed().as_nanos())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn normalizer() -> Normalizer {
    Normalizer::with_errors(Some(&Path::new(env!("CARGO_MANIFEST_DIR")).join("parsers"))).0
}

fn records(msgs: &[RawMessage], n: &Normalizer) -> Vec<LogRecord> {
    let mut out: Vec<LogRecord> = msgs
        .iter()
        .map(|m| telltale::normalize::normalize(m, n))
        .collect();
    out.sort_by_key(|r| r.timestamp_ns);
    out
}

fn zstd_cli(args: &[&str], file: &Path) -> u64 {
    let out = std::process::Command::new("zstd")
        .args(args)
        .args(["-T1", "-q", "-c"])
        .arg(file)
        .output()
        .expect("zstd on PATH");
    out.stdout.len() as u64
}

/// Seals `recs` as one day into a fresh year file three times; returns (archive bytes,
/// median CPU ns of the sealing thread).
fn seal(
    recs: &[LogRecord],
    level: i32,
    o: WriteOptions,
    rules: Option<&Arc<Normalizer>>,
    checked: bool,
) -> (u64, f64) {
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..3 {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut a = YearArchive::open(tmp.path(), 2026).expect("open");
        a.options = o;
        a.rules = rules.cloned();
        // as from the hot store: every record stamped by the rules that normalized it (the
        // seal then trusts their fields), unless `checked` asks for the slow path
        let stamps: Vec<Option<u64>> = match rules {
            Some(n) if !checked => vec![Some(n.stamp()); recs.len()],
            _ => Vec::new(),
        };
        let refs: Vec<&LogRecord> = recs.iter().collect();
        let origin = Instant::now();
        let t = cpu_ns(origin);
        let e = a
            .append_day_stamped(day_of_ns(recs[0].timestamp_ns), &refs, &stamps, level, None)
            .expect("append");
        times.push((cpu_ns(origin) - t) as f64);
        bytes = e.iter().map(|e| e.len).sum();
        // the shipped format's frames (format 3, stamped), decompressed, for offline study
        if let Some(path) =
            std::env::var_os("ARCHIVE_BENCH_DUMP").filter(|_| rules.is_some() && !checked)
        {
            let mut lines = Vec::new();
            for e in &e {
                lines.extend(a.read_raw(e).expect("read"));
            }
            std::fs::write(path, lines).expect("dump");
        }
    }
    (bytes, median(times))
}

fn raw_file(dir: &Path, recs: &[LogRecord]) -> (std::path::PathBuf, u64) {
    let p = dir.join("raw.txt");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&p).expect("raw.txt"));
    let mut n = 0;
    for r in recs {
        f.write_all(&r.raw).expect("write");
        f.write_all(b"\n").expect("write");
        n += r.raw.len() as u64 + 1;
    }
    f.flush().expect("flush");
    (p, n)
}

/// `size`: the shipped settings against stock zstd; `grid`: levels, windows, units.
fn size(lines: usize, grid: bool) {
    let norm = normalizer();
    let recs = records(&Replay::new(lines, false).chunk(lines), &norm);
    let tmp = tempfile::tempdir().expect("tempdir");
    let (raw, raw_bytes) = raw_file(tmp.path(), &recs);
    let z19l = zstd_cli(&["-19", "--long=27"], &raw);
    let z19 = zstd_cli(&["-19"], &raw);
    let z3 = zstd_cli(&["-3"], &raw);
    println!(
        "replay lines={lines} raw_bytes={raw_bytes} zstd19_long27={z19l} zstd19={z19} zstd3={z3}"
    );
    let v1 = {
        let mut json = Vec::new();
        for r in &recs {
            record::encode(r, &mut json);
        }
        zstd::bulk::compress(&json, 9).expect("zstd").len()
    };
    println!(
        "format1 level=9 bytes={v1} vs_zstd19_long27={:.3}",
        v1 as f64 / z19l as f64
    );
    // format 3 (the rules' fields left out) at the shipped level and its neighbours, and
    // format 2 (no rule snapshot) at the shipped level
    let rules = Arc::new(norm);
    let shipped = telltale::store::logs::archive::DEFAULT_LEVEL;
    let mut levels = vec![shipped];
    if std::env::var_os("ARCHIVE_BENCH_LEVELS").is_some() {
        levels = vec![5, 6, 7, 8, 9];
    }
    for level in levels {
        for checked in [false, true] {
            let (bytes, cpu) = seal(&recs, level, WriteOptions::default(), Some(&rules), checked);
            println!(
                "format3{} level={level} bytes={bytes} vs_zstd19_long27={:.3} vs_zstd19={:.3} seal_mb_per_s_per_core={:.1}",
                if checked { "_unstamped" } else { "" },
                bytes as f64 / z19l as f64,
                bytes as f64 / z19 as f64,
                raw_bytes as f64 / 1e6 / (cpu / 1e9),
            );
        }
    }
    let mut configs = vec![(shipped, WriteOptions::default())];
    if grid {
        for level in [3, 6, 9, 12, 19] {
            for (wl, long) in [(24, false), (27, true)] {
                for unit in [1_000, 1_000_000, 1_000_000_000] {
                    for max_bytes in [16usize << 20, 64 << 20] {
                        if (wl == 24 && max_bytes > 16 << 20) || (level == 19 && lines > 100_000) {
                            continue;
                        }
                        configs.push((
                            level,
                            WriteOptions {
                                frame_max_records: if max_bytes > 16 << 20 {
                                    1_000_000
                                } else {
                                    100_000
                                },
                                frame_max_bytes: max_bytes,
                                window_log: wl,
                                long,
                                recv_unit_ns: unit,
                            },
                        ));
                    }
                }
            }
        }
    }
    for (level, o) in configs {
        let (bytes, cpu) = seal(&recs, level, o, None, false);
        println!(
            "format2 level={level} window_log={} long={} frame_max_bytes={} recv_unit_ns={} bytes={bytes} vs_zstd19_long27={:.3} vs_zstd19={:.3} seal_mb_per_s_per_core={:.1}",
            o.window_log,
            o.long,
            o.frame_max_bytes,
            o.recv_unit_ns,
            bytes as f64 / z19l as f64,
            bytes as f64 / z19 as f64,
            raw_bytes as f64 / 1e6 / (cpu / 1e9),
        );
    }
}

/// `search`: seals a day of `lines` lines (in groups of 500 000, as a day sealed in several
/// runs would be), then times archive searches (wall time, median of 3).
fn search_bench(lines: usize) {
    let norm = normalizer();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("archive");
    let mut replay = Replay::new(lines, true);
    let mut a = YearArchive::open(&dir, 2026).expect("open");
    a.rules = Some(Arc::new(normalizer()));
    let (mut raw_bytes, mut bytes, mut cpu) = (0u64, 0u64, 0f64);
    loop {
        let msgs = replay.chunk(500_000);
        if msgs.is_empty() {
            break;
        }
        let recs = records(&msgs, &norm);
        raw_bytes += recs.iter().map(|r| r.raw.len() as u64 + 1).sum::<u64>();
        let origin = Instant::now();
        let t = cpu_ns(origin);
        let e = a
            .append_day(
                replay_day(),
                &recs,
                telltale::store::logs::archive::DEFAULT_LEVEL,
                None,
            )
            .expect("append");
        cpu += (cpu_ns(origin) - t) as f64;
        bytes += e.iter().map(|e| e.len).sum::<u64>();
    }
    println!(
        "search_day lines={lines} raw_bytes={raw_bytes} archive_bytes={bytes} frames={} seal_mb_per_s_per_core={:.1}",
        a.entries().len(),
        raw_bytes as f64 / 1e6 / (cpu / 1e9)
    );
    let (from, until) = (
        replay_day() * NS_PER_DAY,
        (replay_day() + 1) * NS_PER_DAY - 1,
    );
    for q in [
        "zorglub",
        "host:gw03",
        "failure",
        "host:web07 AND \"Directory index forbidden\"",
    ] {
        let mut times = Vec::new();
        let mut total = 0;
        let mut read = 0;
        for _ in 0..3 {
            let ast = telltale::query::logs::parse(q).expect("query");
            let mut m = telltale::query::logs::Matcher::new(&ast).expect("matcher");
            let t = Instant::now();
            let r = search::search_archive(&dir, &mut m, from, until, 100, &|_| false, &mut |_| {})
                .expect("search");
            times.push(t.elapsed().as_secs_f64());
            total = r.total;
            read = r.frames_read;
        }
        println!(
            "search q={q:?} matches={total} frames_read={read} wall_s={:.2}",
            median(times)
        );
    }
}

/// `parts`: where sealing time goes: encoding lines (format 2 and 3) and compressing them at
/// each level, CPU ns of this thread, median of 3.
fn parts(lines: usize) {
    let norm = normalizer();
    let recs = records(&Replay::new(lines, false).chunk(lines), &norm);
    let raw_bytes: u64 = recs.iter().map(|r| r.raw.len() as u64 + 1).sum();
    let ctx = record::Context {
        day: day_of_ns(recs[0].timestamp_ns),
        recv_unit_ns: 1_000_000_000,
    };
    let mb = |ns: f64| raw_bytes as f64 / 1e6 / (ns / 1e9);
    let mut out = Vec::new();
    for (name, rules, trusted) in [
        ("format2", None, false),
        ("format3_unstamped", Some(&norm), false),
        ("format3", Some(&norm), true),
    ] {
        let mut times = Vec::new();
        for _ in 0..3 {
            out.clear();
            let origin = Instant::now();
            let t = cpu_ns(origin);
            for r in &recs {
                record::encode_with(r.into(), ctx, rules, trusted, &mut out)
                    .expect("whole records");
            }
            times.push((cpu_ns(origin) - t) as f64);
        }
        println!(
            "encode {name} lines_bytes={} mb_per_s_per_core={:.1}",
            out.len(),
            mb(median(times))
        );
    }
    for level in [5, 6, 7, 8, 9] {
        let mut times = Vec::new();
        let mut len = 0;
        for _ in 0..3 {
            let origin = Instant::now();
            let t = cpu_ns(origin);
            len = zstd::bulk::compress(&out, level).expect("zstd").len();
            times.push((cpu_ns(origin) - t) as f64);
        }
        println!(
            "compress format3 level={level} bytes={len} mb_per_s_per_core={:.1}",
            mb(median(times))
        );
    }
}

/// `sealday`: the whole seal as the server runs it, from the hot store to the archive: the
/// day's records (stamped by the normalizer, as ingested) read back from the tantivy index,
/// encoded, compressed, written, fsynced, read back and verified, then the partition deleted.
/// CPU time of the sealing thread, median of 3 (each on a freshly written store).
fn seal_day_bench(lines: usize) {
    let parsers = Path::new(env!("CARGO_MANIFEST_DIR")).join("parsers");
    let shared = Arc::new(telltale::normalize::SharedNormalizer::load(Some(&parsers)));
    let norm = shared.get();
    let recs = records(&Replay::new(lines, false).chunk(lines), &norm);
    let raw_bytes: u64 = recs.iter().map(|r| r.raw.len() as u64 + 1).sum();
    let day = day_of_ns(recs[0].timestamp_ns);
    let mut times = Vec::new();
    let mut report = None;
    for _ in 0..3 {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = write_stamped(tmp.path(), &recs, &norm);
        store.set_archive_rules(shared.clone());
        let origin = Instant::now();
        let t = cpu_ns(origin);
        let r = telltale::store::logs::archive::seal::seal_day(&store, day).expect("seal");
        times.push((cpu_ns(origin) - t) as f64);
        assert_eq!(r.records, lines as u64);
        report = Some(r);
    }
    let cpu = median(times);
    let r = report.expect("ran");
    println!(
        "sealday lines={lines} raw_bytes={raw_bytes} frames={} archive_bytes={} seal_cpu_s={:.2} seal_mb_per_s_per_core={:.1}",
        r.frames,
        r.compressed_bytes,
        cpu / 1e9,
        raw_bytes as f64 / 1e6 / (cpu / 1e9),
    );
}

/// A store in `dir` holding `recs` as the writer thread stores them, stamped by `norm`.
fn write_stamped(
    dir: &Path,
    recs: &[LogRecord],
    norm: &Normalizer,
) -> Arc<telltale::store::logs::LogStore> {
    use telltale::store::logs::writer::{self, RecordBatch, WriterConfig};
    let store = Arc::new(telltale::store::logs::LogStore::open(dir).expect("store"));
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    tx.send(RecordBatch {
        records: recs.to_vec(),
        rules: Some(norm.stamp()),
    })
    .expect("send");
    drop(tx);
    writer::run(
        store.clone(),
        rx,
        WriterConfig::default(),
        Arc::new(telltale::metrics::Counters::default()),
    )
    .expect("write");
    store
}

/// `sealprep LINES DIR`: writes a store of one stamped replay day into DIR, for profiling
/// the seal alone (`cp -r DIR COPY; perf record ... sealonly COPY`).
fn seal_prep(lines: usize, dir: Option<&String>) {
    let dir = Path::new(dir.expect("sealprep LINES DIR"));
    let parsers = Path::new(env!("CARGO_MANIFEST_DIR")).join("parsers");
    let norm = telltale::normalize::SharedNormalizer::load(Some(&parsers)).get();
    let recs = records(&Replay::new(lines, false).chunk(lines), &norm);
    write_stamped(dir, &recs, &norm);
    println!("day={}", day_of_ns(recs[0].timestamp_ns));
}

/// `sealonly DIR`: seals every day of the store in DIR (made by `sealprep`), once.
fn seal_only(dir: Option<&String>) {
    use telltale::store::logs::LogStore;
    let dir = Path::new(dir.expect("sealonly DIR"));
    let parsers = Path::new(env!("CARGO_MANIFEST_DIR")).join("parsers");
    let shared = Arc::new(telltale::normalize::SharedNormalizer::load(Some(&parsers)));
    let store = Arc::new(LogStore::open(dir).expect("store"));
    store.set_archive_rules(shared);
    let days: Vec<i64> = store
        .partitions()
        .expect("partitions")
        .iter()
        .map(|p| p.day)
        .collect();
    for day in days {
        let origin = Instant::now();
        let t = cpu_ns(origin);
        let r = telltale::store::logs::archive::seal::seal_day(&store, day).expect("seal");
        let cpu = (cpu_ns(origin) - t) as f64;
        println!(
            "sealonly day={day} records={} archive_bytes={} seal_cpu_s={:.2}",
            r.records,
            r.compressed_bytes,
            cpu / 1e9
        );
    }
}

/// `zgrid BIG SMALL`: zstd match-finder settings on dumped frame contents (ARCHIVE_BENCH_DUMP
/// of `size 600000` and `size 6000`): bytes and CPU, the big one cut into 100 000-line frames.
fn zgrid(files: &[String]) {
    use zstd::zstd_safe::{CParameter, Strategy};
    let big = std::fs::read(&files[0]).expect("big dump");
    let small = std::fs::read(&files[1]).expect("small dump");
    let mut frames = Vec::new();
    let mut start = 0;
    let mut n = 0;
    for (i, &c) in big.iter().enumerate() {
        if c == b'\n' {
            n += 1;
            if n % 100_000 == 0 {
                frames.push(&big[start..=i]);
                start = i + 1;
            }
        }
    }
    if start < big.len() {
        frames.push(&big[start..]);
    }
    let strat = |s: u32| match s {
        3 => Strategy::ZSTD_greedy,
        4 => Strategy::ZSTD_lazy,
        5 => Strategy::ZSTD_lazy2,
        _ => Strategy::ZSTD_btlazy2,
    };
    for (s, slog, mml, hlog, tlen, wlog) in [
        (5, 1, 6, 14, 16, 14),
        (5, 1, 6, 15, 16, 14),
        (5, 1, 6, 16, 16, 14),
        (5, 2, 6, 14, 16, 14),
        (5, 1, 6, 13, 16, 13),
        (5, 1, 6, 12, 16, 12),
        (5, 1, 6, 14, 16, 15),
    ] {
        let mut c = zstd::bulk::Compressor::new(8).expect("ctx");
        for p in [
            CParameter::WindowLog(wlog),
            CParameter::Strategy(strat(s)),
            CParameter::SearchLog(slog),
            CParameter::MinMatch(mml),
            CParameter::HashLog(hlog),
            CParameter::ChainLog(16),
            CParameter::TargetLength(tlen),
        ] {
            c.set_parameter(p).expect("param");
        }
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..3 {
            let origin = Instant::now();
            let t = cpu_ns(origin);
            bytes = frames
                .iter()
                .map(|f| c.compress(f).expect("z").len())
                .sum::<usize>();
            times.push((cpu_ns(origin) - t) as f64);
        }
        let sm = c.compress(&small).expect("z").len();
        println!(
            "strat={s} slog={slog} mml={mml} hlog={hlog} tlen={tlen} wlog={wlog} big={bytes} ({:.3}) small={sm} ({:.3}) cpu_s={:.3}",
            bytes as f64 / 3_331_459.0,
            sm as f64 / 49_281.0,
            median(times) / 1e9
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let what = args.first().map_or("size", String::as_str);
    let n = |default: usize| args.get(1).and_then(|s| s.parse().ok()).unwrap_or(default);
    match what {
        "size" => size(n(6000), false),
        "grid" => size(n(6000), true),
        "search" => search_bench(n(5_000_000)),
        "parts" => parts(n(6000)),
        "sealday" => seal_day_bench(n(600_000)),
        "sealprep" => seal_prep(n(600_000), args.get(2)),
        "sealonly" => seal_only(args.get(1)),
        "zgrid" => zgrid(&args[1..]),
        other => eprintln!("unknown mode {other}: size | grid | search | parts | sealday"),
    }
}
