//! Normalizer speed (issue 3): every shipped rule loaded, LogHub lines through the whole
//! normalize step (syslog header parse + rules) and through the rules alone, on one core.
//! Run: `cargo bench --bench normalize`. Prints ns/line; no pass/fail.

use std::hint::black_box;
use std::time::Instant;

use telltale::model::{LogRecord, RawMessage, Transport};
use telltale::normalize::Normalizer;

fn lines(text: &str) -> Vec<Vec<u8>> {
    text.lines()
        .map(|l| format!("<13>{}", l.trim_end_matches('\r')).into_bytes())
        .collect()
}

/// This thread's CPU time in ns (Linux schedstat), so a busy shared machine inflates the
/// numbers much less than wall time would; falls back to wall time elsewhere.
fn cpu_ns(wall: Instant) -> u128 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or_else(|| wall.elapsed().as_nanos())
}

/// Median of five timed passes over `n` items, in CPU ns per item.
fn time(n: usize, mut pass: impl FnMut()) -> f64 {
    pass(); // warm caches and the allocator
    let origin = Instant::now();
    let mut runs: Vec<f64> = (0..5)
        .map(|_| {
            let t = cpu_ns(origin);
            pass();
            (cpu_ns(origin) - t) as f64 / n as f64
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[2]
}

fn main() {
    let normalizer = Normalizer::load(Some(std::path::Path::new("parsers")));
    let mut raw = lines(include_str!("../ingest-tests/data/loghub/OpenSSH_2k.log"));
    raw.extend(lines(include_str!(
        "../ingest-tests/data/loghub/Linux_2k.log"
    )));
    let msgs: Vec<RawMessage> = raw
        .iter()
        .map(|b| RawMessage {
            received_ns: 1_795_536_000_000_000_000,
            peer: None,
            transport: Transport::Tcp,
            bytes: b.clone(),
            truncated: false,
        })
        .collect();
    let parsed: Vec<LogRecord> = msgs.iter().map(telltale::ingest::syslog::parse).collect();
    let reps = 25;
    let n = msgs.len() * reps;

    let header = time(n, || {
        for _ in 0..reps {
            for m in &msgs {
                black_box(telltale::ingest::syslog::parse(m));
            }
        }
    });
    let full = time(n, || {
        for _ in 0..reps {
            for m in &msgs {
                black_box(telltale::normalize::normalize(m, &normalizer));
            }
        }
    });
    let mut fields = Vec::with_capacity(16);
    let mut matched = 0usize;
    let rules_only = time(n, || {
        matched = 0;
        for _ in 0..reps {
            for r in &parsed {
                fields.clear();
                if normalizer
                    .rules()
                    .apply(&r.app, &r.message, &mut fields)
                    .is_some()
                {
                    matched += 1;
                }
            }
        }
    });
    let no_rule = time(n, || {
        for _ in 0..reps {
            for r in &parsed {
                fields.clear();
                black_box(normalizer.rules().apply("someapp", &r.message, &mut fields));
            }
        }
    });
    println!(
        "normalize lines={} matched={:.1}% header_parse_ns={header:.0} header_plus_rules_ns={full:.0} rules_only_ns={rules_only:.0} app_without_rules_ns={no_rule:.0}",
        msgs.len(),
        100.0 * matched as f64 / n as f64
    );
}
