//! Any bytes a statsd client sends must parse and aggregate without panicking, and every flush
//! must report statsd's own packet counter at the flush time.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telltale::ingest::statsd::parser::{Line, lines};
use telltale::ingest::statsd::{Aggregator, StatsdSettings};

fuzz_target!(|data: &[u8]| {
    for raw in lines(data) {
        let line = Line::parse(raw);
        assert!(raw.starts_with(line.name));
        let _ = line.samples().count();
        let _ = line.tags().count();
    }
    let settings = StatsdSettings {
        percent_threshold: vec![90.0, -10.0, 50.0],
        ..StatsdSettings::default()
    };
    let mut agg = Aggregator::new(settings, 1);
    // the first byte splits the input into two packets
    let at = data.first().map_or(0, |&b| usize::from(b) * data.len() / 256);
    agg.ingest(&data[..at]);
    agg.ingest(&data[at..]);
    for ts in [2, 3] {
        let points = agg.flush(ts, 1000);
        assert!(points.iter().all(|p| p.timestamp == ts));
        assert!(points.iter().any(|p| p.name == "stats_counts.statsd.packets_received"));
    }
});
