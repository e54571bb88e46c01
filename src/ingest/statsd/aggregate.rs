//! etsy statsd 0.9.0's aggregation (`stats.js`, `lib/process_metrics.js`) and its Graphite
//! backend's names (`backends/graphite.js`), reproduced so that dashboards built on etsy's
//! output read the same series with the same values from telltale.
//!
//! Deterministic by construction: the caller gives the flush time, so the differential tests
//! replay etsy's captured flushes exactly. The values that measure etsy's own wall-clock work
//! (`graphiteStats.calculationtime`, `processing_time`, `graphiteStats.flush_time`) are 0, and
//! `graphiteStats.last_exception` is 0 (there is no connection that could fail here).

use std::collections::{HashMap, HashSet};

/// Keys come from the network, so the hasher is seeded per process (foldhash's fast, seeded
/// hasher: several times cheaper than SipHash on short keys, still not precomputable).
type Map<V> = HashMap<String, V, foldhash::fast::RandomState>;
type Set = HashSet<String, foldhash::fast::RandomState>;

use super::js;
use super::parser::{self, Line, MetricKind};
use crate::model::MetricPoint;

/// etsy's options that change names or values, with etsy's defaults, plus the listeners'.
/// This is also the config file's `[statsd]` table (same names in snake_case).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatsdSettings {
    /// Address for UDP (and TCP when `tcp`), or `off`.
    pub listen: crate::config::Listen,
    /// Also accept newline-delimited statsd over TCP on the same port.
    pub tcp: bool,
    /// `flushInterval`: how often the aggregator flushes; rates are per second of it.
    pub flush_interval_ms: u64,
    /// `percentThreshold`: one set of `*_<pct>` timer stats per entry; negative entries give
    /// the top percent (`*_top<pct>`, with `lower_` instead of `upper_`).
    pub percent_threshold: Vec<f64>,
    /// `graphite.legacyNamespace`: `stats.<k>` + `stats_counts.<k>` instead of
    /// `stats.counters.<k>.rate|count`; ignores the prefixes below.
    pub legacy_namespace: bool,
    /// `graphite.globalPrefix` (non-legacy only); empty means none.
    pub global_prefix: String,
    /// `graphite.prefixCounter` (non-legacy only).
    pub prefix_counter: String,
    /// `graphite.prefixTimer` (non-legacy only).
    pub prefix_timer: String,
    /// `graphite.prefixGauge` (non-legacy only).
    pub prefix_gauge: String,
    /// `graphite.prefixSet` (non-legacy only).
    pub prefix_set: String,
    /// `graphite.globalSuffix`: appended (after a `.`) to every name, before any tags.
    pub global_suffix: Option<String>,
    /// `prefixStats`: the namespace of statsd's own metrics.
    pub prefix_stats: String,
    /// `flush_counts`: also send the raw count beside each counter's rate.
    pub flush_counts: bool,
    /// `keyNameSanitize`: clean names on receipt (spaces to `_`, `/` to `-`, drop the rest).
    pub key_name_sanitize: bool,
    /// `deleteIdleStats`: the default for the four `delete_*` options below.
    pub delete_idle_stats: bool,
    /// `deleteCounters`: drop idle counters instead of sending 0.
    pub delete_counters: Option<bool>,
    /// `deleteTimers`: drop idle timers instead of sending count 0.
    pub delete_timers: Option<bool>,
    /// `deleteGauges`: drop gauges not updated for `gauges_max_ttl` flushes instead of repeating.
    pub delete_gauges: Option<bool>,
    /// `deleteSets`: drop idle sets instead of sending count 0.
    pub delete_sets: Option<bool>,
    /// `gaugesMaxTTL`: flushes a gauge survives without updates when gauges are deleted.
    pub gauges_max_ttl: u32,
    /// `calculatedTimerMetrics`: when non-empty, only these timer stats are sent (`*_percent`
    /// stands for every percentile variant).
    pub calculated_timer_metrics: Vec<String>,
    /// SO_RCVBUF asked for the UDP socket (the kernel caps it at net.core.rmem_max).
    pub udp_recv_buffer: usize,
    /// Concurrent TCP connections; further ones are refused and counted.
    pub max_connections: usize,
    /// A TCP line longer than this closes its connection (etsy would buffer without bound).
    pub max_line_length: usize,
    /// Packet batches queued for the aggregator; beyond it UDP is dropped and counted.
    pub queue_capacity: usize,
}

impl Default for StatsdSettings {
    fn default() -> Self {
        StatsdSettings {
            listen: crate::config::Listen::On(std::net::SocketAddr::from(([0, 0, 0, 0], 8125))),
            tcp: true,
            flush_interval_ms: 10_000,
            percent_threshold: vec![90.0],
            legacy_namespace: true,
            global_prefix: "stats".into(),
            prefix_counter: "counters".into(),
            prefix_timer: "timers".into(),
            prefix_gauge: "gauges".into(),
            prefix_set: "sets".into(),
            global_suffix: None,
            prefix_stats: "statsd".into(),
            flush_counts: true,
            key_name_sanitize: true,
            delete_idle_stats: false,
            delete_counters: None,
            delete_timers: None,
            delete_gauges: None,
            delete_sets: None,
            gauges_max_ttl: 1,
            calculated_timer_metrics: Vec::new(),
            udp_recv_buffer: 8 * 1024 * 1024,
            max_connections: 1024,
            max_line_length: 64 * 1024,
            queue_capacity: 1024,
        }
    }
}

/// One timer's values since the last flush and its sample-rate-scaled count.
#[derive(Debug, Default)]
struct Timer {
    values: Vec<f64>,
    count: f64,
}

/// The graphite backend's own state, reported one flush late as etsy does.
#[derive(Debug)]
struct GraphiteStats {
    last_flush: i64,
    flush_length: usize,
}

/// The statsd state between flushes. One task owns it; packets go in through [`ingest`],
/// points come out of [`flush`].
///
/// [`ingest`]: Aggregator::ingest
/// [`flush`]: Aggregator::flush
#[derive(Debug)]
pub struct Aggregator {
    settings: StatsdSettings,
    /// Resolved `delete_*` options (etsy resolves them once at start).
    delete: [bool; 4],
    /// `<prefixStats>.bad_lines_seen` etc.: live in the counter map, as in etsy, so they get
    /// the same rate/count treatment and names.
    bad_lines_key: String,
    packets_key: String,
    metrics_key: String,
    lag_key: String,
    counters: Map<f64>,
    timers: Map<Timer>,
    gauges: Map<f64>,
    /// Flushes left for each gauge when gauges are deleted.
    gauges_ttl: Map<u32>,
    sets: Map<Set>,
    /// Packets, lines and bad values since the last flush, added to statsd's own counters at
    /// flush time (the same sums as etsy's per-packet increments, without three map lookups
    /// per packet).
    pending: [f64; 3],
    /// Time of the previous flush, for `timestamp_lag` (0: none yet).
    old_timestamp: i64,
    graphite: GraphiteStats,
    /// Reused per line so a known key costs no allocation.
    key: String,
    scratch: String,
}

const COUNTERS: usize = 0;
const TIMERS: usize = 1;
const GAUGES: usize = 2;
const SETS: usize = 3;

impl Aggregator {
    /// `started_secs` is reported as `graphiteStats.last_flush` until the first flush, as etsy
    /// reports its start time.
    pub fn new(settings: StatsdSettings, started_secs: i64) -> Self {
        let d = settings.delete_idle_stats;
        let delete = [
            settings.delete_counters.unwrap_or(d),
            settings.delete_timers.unwrap_or(d),
            settings.delete_gauges.unwrap_or(d),
            settings.delete_sets.unwrap_or(d),
        ];
        let p = &settings.prefix_stats;
        let mut agg = Aggregator {
            bad_lines_key: format!("{p}.bad_lines_seen"),
            packets_key: format!("{p}.packets_received"),
            metrics_key: format!("{p}.metrics_received"),
            lag_key: format!("{p}.timestamp_lag"),
            delete,
            settings,
            counters: Map::default(),
            timers: Map::default(),
            gauges: Map::default(),
            gauges_ttl: Map::default(),
            sets: Map::default(),
            pending: [0.0; 3],
            old_timestamp: 0,
            graphite: GraphiteStats {
                last_flush: started_secs,
                flush_length: 0,
            },
            key: String::new(),
            scratch: String::new(),
        };
        for k in [&agg.bad_lines_key, &agg.packets_key, &agg.metrics_key] {
            agg.counters.insert(k.clone(), 0.0);
        }
        agg
    }

    /// The settings this aggregator was built with.
    pub fn settings(&self) -> &StatsdSettings {
        &self.settings
    }

    /// Takes one packet (a UDP datagram, or what one TCP read delivered up to its last
    /// newline). Returns how many values were rejected (also counted in `bad_lines_seen`).
    pub fn ingest(&mut self, packet: &[u8]) -> u64 {
        self.pending[0] += 1.0;
        let mut bad = 0u64;
        for raw in parser::lines(packet) {
            self.pending[1] += 1.0;
            let line = Line::parse(raw);
            build_key(
                &line,
                self.settings.key_name_sanitize,
                &mut self.scratch,
                &mut self.key,
            );
            for sample in line.samples() {
                let Ok(s) = sample else {
                    bad += 1;
                    continue;
                };
                let key = self.key.as_str();
                match s.kind {
                    MetricKind::Counter => update(&mut self.counters, key, |c| {
                        *c += s.value * (1.0 / s.sample_rate)
                    }),
                    MetricKind::Timer => update(&mut self.timers, key, |t| {
                        t.values.push(s.value);
                        t.count += 1.0 / s.sample_rate;
                    }),
                    MetricKind::Gauge => {
                        if self.delete[GAUGES] {
                            let ttl = self.settings.gauges_max_ttl.max(1);
                            update(&mut self.gauges_ttl, key, |t| *t = ttl);
                        }
                        // etsy: `if (gauges[key] && sign)`, so a gauge at 0 (or NaN) is set,
                        // not moved, by a delta; the sum is the same except for NaN
                        update(&mut self.gauges, key, |g| {
                            if *g != 0.0 && !g.is_nan() && s.has_sign() {
                                *g += s.value;
                            } else {
                                *g = s.value;
                            }
                        });
                    }
                    MetricKind::Set => {
                        let member =
                            String::from_utf8_lossy(if s.raw.is_empty() { b"0" } else { s.raw });
                        // etsy's set is a plain object: `store["__proto__"] = true` adds nothing
                        if member != "__proto__" {
                            update(&mut self.sets, key, |set| {
                                if !set.contains(member.as_ref()) {
                                    set.insert(member.into_owned());
                                }
                            });
                        }
                    }
                }
            }
        }
        self.pending[2] += bad as f64;
        bad
    }

    /// Computes the points of one flush at `ts_secs`, as etsy's graphite backend would send
    /// them, then resets the state as etsy does (idle counters 0, timers emptied, sets
    /// emptied, gauges kept, or deleted per the `delete_*` options).
    pub fn flush(&mut self, ts_secs: i64, flush_interval_ms: u64) -> Vec<MetricPoint> {
        let interval_s = flush_interval_ms as f64 / 1000.0;
        let pending = std::mem::take(&mut self.pending);
        for (key, n) in [&self.packets_key, &self.metrics_key, &self.bad_lines_key]
            .into_iter()
            .zip(pending)
        {
            if n != 0.0 {
                update(&mut self.counters, key, |c| *c += n);
            }
        }
        if self.old_timestamp > 0 {
            let lag = (ts_secs - self.old_timestamp) as f64 - interval_s;
            self.gauges.insert(self.lag_key.clone(), lag);
        }
        self.old_timestamp = ts_secs;

        let st = &self.settings;
        let ns = Namespaces::new(st);
        let mut out = Vec::with_capacity(self.counters.len() * 2 + self.timers.len() * 16 + 16);
        let mut push = |name: String, value: f64| {
            out.push(MetricPoint {
                name,
                value,
                timestamp: ts_secs,
            })
        };
        let mut num_stats = 0u64;

        for key in sorted_keys(&self.counters) {
            let value = self.counters[key];
            let rate = value / interval_s;
            if st.legacy_namespace {
                push(ns.format(&ns.counter, key, &[]), rate);
                if st.flush_counts {
                    push(ns.format(&["stats_counts".to_string()], key, &[]), value);
                }
            } else {
                push(ns.format(&ns.counter, key, &["rate"]), rate);
                if st.flush_counts {
                    push(ns.format(&ns.counter, key, &["count"]), value);
                }
            }
            num_stats += 1;
        }
        for t in self.timers.values_mut() {
            // JS sort with `a - b`: stable, equal when the difference is NaN or 0
            t.values
                .sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        }
        for key in sorted_keys(&self.timers) {
            let t = &self.timers[key];
            for (stat, value) in timer_stats(t, &st.percent_threshold, interval_s) {
                if keep_timer_stat(&st.calculated_timer_metrics, &stat) {
                    push(ns.format(&ns.timer, key, &[&stat]), value);
                }
            }
            num_stats += 1;
        }
        for key in sorted_keys(&self.gauges) {
            push(ns.format(&ns.gauge, key, &[]), self.gauges[key]);
            num_stats += 1;
        }
        for key in sorted_keys(&self.sets) {
            push(
                ns.format(&ns.set, key, &["count"]),
                self.sets[key].len() as f64,
            );
            num_stats += 1;
        }
        let sfx = ns.suffix.as_str();
        let p = st.prefix_stats.as_str();
        if st.legacy_namespace {
            push(format!("{p}.numStats{sfx}"), num_stats as f64);
            push(format!("stats.{p}.graphiteStats.calculationtime{sfx}"), 0.0);
            push(format!("stats.{p}.processing_time{sfx}"), 0.0);
        } else {
            push(ns.format(&ns.global, p, &["numStats"]), num_stats as f64);
            push(
                ns.format(&ns.global, p, &["graphiteStats", "calculationtime"]),
                0.0,
            );
            push(ns.format(&ns.global, p, &["processing_time"]), 0.0);
        }
        let mut gs = ns.global.clone();
        gs.push(p.to_string());
        let gs = gs.join(".");
        push(format!("{gs}.graphiteStats.last_exception{sfx}"), 0.0);
        push(
            format!("{gs}.graphiteStats.last_flush{sfx}"),
            self.graphite.last_flush as f64,
        );
        push(format!("{gs}.graphiteStats.flush_time{sfx}"), 0.0);
        push(
            format!("{gs}.graphiteStats.flush_length{sfx}"),
            self.graphite.flush_length as f64,
        );

        // what etsy's text payload would measure, reported at the next flush
        let ts_len = ts_secs.to_string().len();
        self.graphite.flush_length = out
            .iter()
            .map(|p| p.name.len() + js::number_len(p.value) + ts_len + 3)
            .sum();
        self.graphite.last_flush = ts_secs;
        self.reset();
        out
    }

    /// etsy's `clear_metrics`, run after every flush.
    fn reset(&mut self) {
        if self.delete[COUNTERS] {
            let internal = ["packets_received", "metrics_received", "bad_lines_seen"];
            self.counters
                .retain(|k, _| internal.iter().any(|i| k.contains(i)));
        }
        self.counters.values_mut().for_each(|v| *v = 0.0);
        if self.delete[TIMERS] {
            self.timers.clear();
        } else {
            for t in self.timers.values_mut() {
                t.values.clear();
                t.count = 0.0;
            }
        }
        if self.delete[SETS] {
            self.sets.clear();
        } else {
            self.sets.values_mut().for_each(Set::clear);
        }
        if self.delete[GAUGES] {
            let gauges = &mut self.gauges;
            self.gauges_ttl.retain(|k, ttl| {
                *ttl = ttl.saturating_sub(1);
                if *ttl < 1 {
                    gauges.remove(k);
                }
                *ttl >= 1
            });
        }
    }
}

/// Applies `f` to `map[key]`, created with the default on first sight: one hash lookup for a
/// known key, an allocation only for a new one.
fn update<V: Default>(map: &mut Map<V>, key: &str, f: impl FnOnce(&mut V)) {
    match map.get_mut(key) {
        Some(v) => f(v),
        None => {
            let mut v = V::default();
            f(&mut v);
            map.insert(key.to_string(), v);
        }
    }
}

fn sorted_keys<V>(map: &Map<V>) -> Vec<&str> {
    let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

/// The key etsy builds (`name;tag;tag`, each tag's first `;` made `_` and first `:` made
/// `=`), sanitized as etsy does, then with the `;` segments after the name sorted by tag key
/// as carbon orders tagged series (etsy keeps the sender's order; sorting makes `a;x=1;y=2`
/// and `a;y=2;x=1` one series, which is what carbon would store anyway).
fn build_key(line: &Line<'_>, sanitize: bool, raw: &mut String, out: &mut String) {
    // the common case: an untagged name that sanitizing leaves as it is
    if line.tags.is_empty()
        && line
            .name
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && let Ok(name) = std::str::from_utf8(line.name)
    {
        out.clear();
        out.push_str(name);
        return;
    }
    raw.clear();
    raw.push_str(&String::from_utf8_lossy(line.name));
    for tag in line.tags() {
        raw.push(';');
        let tag = String::from_utf8_lossy(tag);
        let (mut semi, mut colon) = (false, false);
        for c in tag.chars() {
            match c {
                ';' if !semi => {
                    semi = true;
                    raw.push('_');
                }
                ':' if !colon => {
                    colon = true;
                    raw.push('=');
                }
                c => raw.push(c),
            }
        }
    }
    out.clear();
    if sanitize {
        sanitize_into(raw, out, true);
    } else {
        out.push_str(raw);
    }
    if let Some(i) = out.find(';') {
        let mut segs: Vec<&str> = out[i + 1..].split(';').collect();
        if segs.len() > 1 {
            segs.sort_by(|a, b| a.split('=').next().cmp(&b.split('=').next()));
            let sorted = segs.join(";");
            out.truncate(i + 1);
            out.push_str(&sorted);
        }
    }
}

/// etsy's `sanitizeKeyName`: whitespace runs to `_`, `/` to `-`, then drop every character
/// outside `[a-zA-Z0-9_.;=-]` (`;` and `=` survive only where tags are allowed).
fn sanitize_into(s: &str, out: &mut String, keep_tags: bool) {
    let mut in_space = false;
    for c in s.chars() {
        if js::is_js_space(c) {
            if !in_space {
                out.push('_');
            }
            in_space = true;
            continue;
        }
        in_space = false;
        match c {
            '/' => out.push('-'),
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '-' | '.' => out.push(c),
            ';' | '=' if keep_tags => out.push(c),
            _ => {}
        }
    }
}

/// The graphite backend's namespaces, built once per flush from the settings.
struct Namespaces {
    global: Vec<String>,
    counter: Vec<String>,
    timer: Vec<String>,
    gauge: Vec<String>,
    set: Vec<String>,
    suffix: String,
    /// `keyNameSanitize: false` makes the backend sanitize the name part itself.
    sanitize_in_backend: bool,
}

impl Namespaces {
    fn new(st: &StatsdSettings) -> Self {
        let suffix = st
            .global_suffix
            .as_ref()
            .map(|s| format!(".{s}"))
            .unwrap_or_default();
        let v = |parts: &[&str]| parts.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        if st.legacy_namespace {
            return Namespaces {
                global: v(&["stats"]),
                counter: v(&["stats"]),
                timer: v(&["stats", "timers"]),
                gauge: v(&["stats", "gauges"]),
                set: v(&["stats", "sets"]),
                suffix,
                sanitize_in_backend: !st.key_name_sanitize,
            };
        }
        let base: Vec<String> = if st.global_prefix.is_empty() {
            Vec::new()
        } else {
            vec![st.global_prefix.clone()]
        };
        let with = |p: &str| {
            let mut n = base.clone();
            if !p.is_empty() {
                n.push(p.to_string());
            }
            n
        };
        Namespaces {
            counter: with(&st.prefix_counter),
            timer: with(&st.prefix_timer),
            gauge: with(&st.prefix_gauge),
            set: with(&st.prefix_set),
            global: base,
            suffix,
            sanitize_in_backend: !st.key_name_sanitize,
        }
    }

    /// graphite.js `format`: namespace, name, suffix parts joined by `.`, the global suffix,
    /// then the key's tags (`;k=v...`) last, where carbon expects them.
    fn format(&self, ns: &[String], key: &str, parts: &[&str]) -> String {
        let (name, tags) = match key.find(';') {
            Some(i) => key.split_at(i),
            None => (key, ""),
        };
        let mut out = String::with_capacity(key.len() + 32);
        for n in ns {
            out.push_str(n);
            out.push('.');
        }
        if self.sanitize_in_backend {
            sanitize_into(name, &mut out, true);
        } else {
            out.push_str(name);
        }
        for p in parts {
            out.push('.');
            out.push_str(p);
        }
        out.push_str(&self.suffix);
        out.push_str(tags);
        out
    }
}

/// `process_metrics` for one timer: (stat name, value) in etsy's order.
fn timer_stats(t: &Timer, pcts: &[f64], interval_s: f64) -> Vec<(String, f64)> {
    let mut stats: Vec<(String, f64)> = Vec::with_capacity(9 + 5 * pcts.len());
    let mut set = |name: String, v: f64| match stats.iter_mut().find(|(n, _)| *n == name) {
        Some(slot) => slot.1 = v,
        None => stats.push((name, v)),
    };
    if t.values.is_empty() {
        set("count".into(), 0.0);
        set("count_ps".into(), 0.0);
        return stats;
    }
    // sorted by the caller
    let values = &t.values;
    let count = values.len();
    let (min, max) = (values[0], values[count - 1]);
    let mut cumul = Vec::with_capacity(count);
    let mut cumul_sq = Vec::with_capacity(count);
    cumul.push(min);
    cumul_sq.push(min * min);
    for i in 1..count {
        cumul.push(values[i] + cumul[i - 1]);
        cumul_sq.push(values[i] * values[i] + cumul_sq[i - 1]);
    }
    let (mut sum, mut sum_sq, mut mean, mut boundary) = (min, min * min, min, max);
    for &pct in pcts {
        let mut n = count;
        if count > 1 {
            // Math.round on a non-negative number: half away from zero equals half up
            n = (pct.abs() / 100.0 * count as f64).round() as usize;
            if n == 0 {
                continue;
            }
            let n = n.min(count);
            if pct > 0.0 {
                boundary = values[n - 1];
                sum = cumul[n - 1];
                sum_sq = cumul_sq[n - 1];
            } else {
                boundary = values[count - n];
                // etsy reads cumul[-1] (undefined, so NaN) when the threshold takes all values
                let before = |c: &Vec<f64>| {
                    if count > n {
                        c[count - n - 1]
                    } else {
                        f64::NAN
                    }
                };
                sum = cumul[count - 1] - before(&cumul);
                sum_sq = cumul_sq[count - 1] - before(&cumul_sq);
            }
            mean = sum / n as f64;
        }
        let mut clean = String::new();
        js::push_number(&mut clean, pct);
        let clean = clean.replacen('.', "_", 1).replacen('-', "top", 1);
        set(format!("count_{clean}"), n as f64);
        set(format!("mean_{clean}"), mean);
        let bound = if pct > 0.0 { "upper" } else { "lower" };
        set(format!("{bound}_{clean}"), boundary);
        set(format!("sum_{clean}"), sum);
        set(format!("sum_squares_{clean}"), sum_sq);
    }
    let sum = cumul[count - 1];
    let sum_sq = cumul_sq[count - 1];
    let mean = sum / count as f64;
    let mut diffs = 0.0;
    for v in values {
        diffs += (v - mean) * (v - mean);
    }
    let mid = count / 2;
    let median = if count % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    };
    set("std".into(), (diffs / count as f64).sqrt());
    set("upper".into(), max);
    set("lower".into(), min);
    set("count".into(), t.count);
    set("count_ps".into(), t.count / interval_s);
    set("sum".into(), sum);
    set("sum_squares".into(), sum_sq);
    set("mean".into(), mean);
    set("median".into(), median);
    stats
}

/// `filter_timer_metrics`: everything when the list is empty, else the names listed, with
/// a trailing `_<digits>` or `_top<digits>` read as `_percent`.
fn keep_timer_stat(allowed: &[String], stat: &str) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let trimmed = stat.trim_end_matches(|c: char| c.is_ascii_digit());
    let cleaned = if trimmed.len() < stat.len() {
        let base = trimmed.strip_suffix("top").unwrap_or(trimmed);
        match base.strip_suffix('_') {
            Some(b) => format!("{b}_percent"),
            None => stat.to_string(),
        }
    } else {
        stat.to_string()
    };
    allowed.contains(&cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn flush_map(agg: &mut Aggregator, ts: i64) -> BTreeMap<String, f64> {
        agg.flush(ts, 1000)
            .into_iter()
            .map(|p| (p.name, p.value))
            .collect()
    }

    fn agg_with(f: impl FnOnce(&mut StatsdSettings)) -> Aggregator {
        let mut s = StatsdSettings::default();
        f(&mut s);
        Aggregator::new(s, 100)
    }

    #[test]
    fn counters_rates_and_sample_rates() {
        let mut a = agg_with(|_| {});
        a.ingest(b"c:3|c");
        a.ingest(b"c:2|c|@0.5\nc:1|c:1|c");
        let m = a.flush(1000, 10_000);
        let get = |n: &str| m.iter().find(|p| p.name == n).map(|p| p.value);
        assert_eq!(get("stats_counts.c"), Some(9.0));
        assert_eq!(get("stats.c"), Some(0.9));
        assert_eq!(get("stats_counts.statsd.packets_received"), Some(2.0));
        assert_eq!(get("stats_counts.statsd.metrics_received"), Some(3.0));
        assert_eq!(get("statsd.numStats"), Some(4.0));
        assert!(m.iter().all(|p| p.timestamp == 1000));
    }

    #[test]
    fn idle_flush_keeps_series_at_zero_and_gauges() {
        let mut a = agg_with(|_| {});
        a.ingest(b"c:1|c\nt:5|ms\ng:3|g\ns:x|s");
        flush_map(&mut a, 1000);
        let m = flush_map(&mut a, 1001);
        assert_eq!(m["stats.c"], 0.0);
        assert_eq!(m["stats.timers.t.count"], 0.0);
        assert_eq!(m["stats.timers.t.count_ps"], 0.0);
        assert!(!m.contains_key("stats.timers.t.mean"));
        assert_eq!(m["stats.gauges.g"], 3.0);
        assert_eq!(m["stats.sets.s.count"], 0.0);
        assert_eq!(m["stats.gauges.statsd.timestamp_lag"], 0.0);
    }

    #[test]
    fn delete_idle_stats_drops_idle_series_but_not_statsd_counters() {
        let mut a = agg_with(|s| s.delete_idle_stats = true);
        a.ingest(b"c:1|c\nt:5|ms\ng:3|g\ns:x|s");
        let first = flush_map(&mut a, 1000);
        assert_eq!(first["stats.gauges.g"], 3.0);
        let m = flush_map(&mut a, 1001);
        for gone in [
            "stats.c",
            "stats.timers.t.count",
            "stats.gauges.g",
            "stats.sets.s.count",
        ] {
            assert!(!m.contains_key(gone), "{gone}");
        }
        assert_eq!(m["stats.statsd.packets_received"], 0.0);
        assert_eq!(m["statsd.numStats"], 4.0); // 3 statsd counters + timestamp_lag
    }

    #[test]
    fn gauge_deltas_only_move_existing_gauges() {
        let mut a = agg_with(|_| {});
        a.ingest(b"g:+5|g\ng:-2|g\nh:-4|g\nz:0|g\nz:+1|g");
        let m = flush_map(&mut a, 1000);
        assert_eq!(m["stats.gauges.g"], 3.0);
        assert_eq!(m["stats.gauges.h"], -4.0);
        assert_eq!(m["stats.gauges.z"], 1.0);
    }

    #[test]
    fn sets_count_distinct_members() {
        let mut a = agg_with(|_| {});
        a.ingest(b"s:a|s\ns:b|s\ns:a|s\ns:1|s:1.0|s\ns:__proto__|s");
        assert_eq!(flush_map(&mut a, 1000)["stats.sets.s.count"], 4.0);
    }

    #[test]
    fn timer_statistics() {
        let mut a = agg_with(|s| s.percent_threshold = vec![90.0, 50.0, -10.0]);
        a.ingest(b"t:100|ms\nt:200|ms\nt:300|ms|@0.5\nh:4|h");
        let m = flush_map(&mut a, 1000);
        assert_eq!(m["stats.timers.t.count"], 4.0);
        assert_eq!(m["stats.timers.t.mean"], 200.0);
        assert_eq!(m["stats.timers.t.std"], 81.64965809277261);
        assert_eq!(m["stats.timers.t.median"], 200.0);
        assert_eq!(m["stats.timers.t.sum_squares"], 140_000.0);
        assert_eq!(m["stats.timers.t.count_90"], 3.0);
        assert_eq!(m["stats.timers.t.upper_50"], 200.0);
        assert_eq!(m["stats.timers.t.count_50"], 2.0);
        assert!(!m.contains_key("stats.timers.t.count_top10")); // round(0.3) = 0
        assert_eq!(m["stats.timers.h.upper"], 4.0);
        assert_eq!(m["stats.timers.h.lower_top10"], 4.0);
    }

    #[test]
    fn top_percentile_of_many_values() {
        let mut a = agg_with(|s| s.percent_threshold = vec![-10.0, 99.9]);
        for i in 1..=20 {
            a.ingest(format!("t:{i}|ms").as_bytes());
        }
        let m = flush_map(&mut a, 1000);
        assert_eq!(m["stats.timers.t.count_top10"], 2.0);
        assert_eq!(m["stats.timers.t.lower_top10"], 19.0);
        assert_eq!(m["stats.timers.t.sum_top10"], 39.0);
        assert_eq!(m["stats.timers.t.count_99_9"], 20.0);
    }

    #[test]
    fn keys_are_sanitized_and_tags_sorted() {
        let mut a = agg_with(|_| {});
        a.ingest(b"a b/c$:1|c\nr:1|c|#role:web,env:prod\nr:1|c|#env:prod,role:web");
        let m = flush_map(&mut a, 1000);
        assert_eq!(m["stats_counts.a_b-c"], 1.0);
        assert_eq!(m["stats_counts.r;env=prod;role=web"], 2.0);
    }

    #[test]
    fn value_less_tags_and_tag_escapes_follow_etsy() {
        let mut a = agg_with(|_| {});
        a.ingest(b"r:1|c|#zone:a:b,canary,x;y:1");
        let m = flush_map(&mut a, 1000);
        // first `:` becomes `=`, the second is dropped by sanitizing; first `;` becomes `_`
        assert_eq!(m["stats_counts.r;canary;x_y=1;zone=ab"], 1.0);
    }

    #[test]
    fn unsanitized_keys_are_cleaned_by_the_backend_name_only() {
        let mut a = agg_with(|s| s.key_name_sanitize = false);
        a.ingest(b"a b$:1|c");
        let m = flush_map(&mut a, 1000);
        assert_eq!(m["stats_counts.a_b"], 1.0);
    }

    #[test]
    fn non_legacy_names() {
        let mut a = agg_with(|s| {
            s.legacy_namespace = false;
            s.global_suffix = Some("x".into());
        });
        a.ingest(b"c:1|c|#k:v\ns:a|s");
        let m = flush_map(&mut a, 1000);
        assert_eq!(m["stats.counters.c.rate.x;k=v"], 1.0);
        assert_eq!(m["stats.counters.c.count.x;k=v"], 1.0);
        assert_eq!(m["stats.sets.s.count.x"], 1.0);
        assert!(m.contains_key("stats.statsd.numStats.x"));
    }

    #[test]
    fn calculated_timer_metrics_filter() {
        let mut a =
            agg_with(|s| s.calculated_timer_metrics = vec!["count".into(), "upper_percent".into()]);
        a.ingest(b"t:1|ms");
        let m = flush_map(&mut a, 1000);
        let timer: Vec<_> = m
            .keys()
            .filter(|k| k.starts_with("stats.timers."))
            .collect();
        assert_eq!(timer, ["stats.timers.t.count", "stats.timers.t.upper_90"]);
    }

    #[test]
    fn bad_lines_are_counted() {
        let mut a = agg_with(|_| {});
        assert_eq!(a.ingest(b"x\ny:1|c:z|c\n\n"), 2);
        let m = flush_map(&mut a, 1000);
        assert_eq!(m["stats_counts.statsd.bad_lines_seen"], 2.0);
        assert_eq!(m["stats_counts.y"], 1.0);
    }

    /// Micro-benchmark, not a check: `cargo test --release --lib statsd_ingest_throughput --
    /// --ignored --nocapture`. Single-metric and 10-metric packets over 1,000 keys.
    #[test]
    #[ignore]
    fn statsd_ingest_throughput() {
        let kinds = ["c", "ms", "g", "c|@0.5", "s"];
        let lines: Vec<String> = (0..1000)
            .map(|i| {
                format!(
                    "app{}.host{}.req_{i}:{}|{}",
                    i % 7,
                    i % 13,
                    i % 97,
                    kinds[i % 5]
                )
            })
            .collect();
        let singles: Vec<Vec<u8>> = lines.iter().map(|l| l.clone().into_bytes()).collect();
        let tens: Vec<Vec<u8>> = lines
            .chunks(10)
            .map(|c| c.join("\n").into_bytes())
            .collect();
        for (what, packets, per) in [("1-metric", &singles, 1), ("10-metric", &tens, 10)] {
            let mut a = agg_with(|_| {});
            let start = std::time::Instant::now();
            let mut n = 0u64;
            while start.elapsed().as_secs_f64() < 1.0 {
                for p in packets.iter() {
                    a.ingest(p);
                }
                n += packets.len() as u64;
                if n % 100_000 < packets.len() as u64 {
                    a.flush(1000, 10_000);
                }
            }
            let secs = start.elapsed().as_secs_f64();
            println!(
                "{what} packets: {:.0} packets/s, {:.0} metrics/s",
                n as f64 / secs,
                (n * per) as f64 / secs
            );
        }
    }

    // ---- differential: etsy statsd 0.9.0's captured output (ingest-tests/golden/statsd) ----

    /// Values that measure etsy's own wall clock or its TCP connection; 0 here, not compared.
    const TIMING_ONLY: [&str; 5] = [
        ".graphiteStats.calculationtime",
        ".processing_time",
        ".graphiteStats.flush_time",
        ".graphiteStats.last_flush",
        ".graphiteStats.last_exception",
    ];

    fn golden_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ingest-tests/golden/statsd")
    }

    /// A Graphite plaintext dump split into flushes (each ends with `flush_length`).
    fn etsy_flushes(text: &str) -> Vec<Vec<(String, f64, i64)>> {
        let mut out = vec![];
        let mut cur = vec![];
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let mut f = line.rsplitn(3, ' ');
            let ts: i64 = f.next().unwrap().parse().unwrap();
            let v = match f.next().unwrap() {
                "Infinity" => f64::INFINITY,
                "-Infinity" => f64::NEG_INFINITY,
                "NaN" => f64::NAN,
                v => v.parse().unwrap(),
            };
            let name = f.next().unwrap().to_string();
            let end = name.contains(".graphiteStats.flush_length");
            cur.push((name, v, ts));
            if end {
                out.push(std::mem::take(&mut cur));
            }
        }
        out
    }

    fn same(a: f64, b: f64) -> bool {
        a == b || (a.is_nan() && b.is_nan()) || ((a - b).abs() <= 1e-9 * a.abs().max(b.abs()))
    }

    /// Compares one flush; `skip_length` for a flush whose predecessor is not in the capture.
    fn compare(what: &str, ours: &[MetricPoint], etsy: &[(String, f64, i64)], skip_length: bool) {
        let skip = |n: &str| {
            TIMING_ONLY.iter().any(|t| n.contains(t))
                || (skip_length && n.ends_with(".graphiteStats.flush_length"))
        };
        let ours: BTreeMap<&str, f64> = ours
            .iter()
            .filter(|p| !skip(&p.name))
            .map(|p| (p.name.as_str(), p.value))
            .collect();
        let theirs: BTreeMap<&str, f64> = etsy
            .iter()
            .filter(|(n, ..)| !skip(n))
            .map(|(n, v, _)| (n.as_str(), *v))
            .collect();
        let on: Vec<_> = ours.keys().collect();
        let tn: Vec<_> = theirs.keys().collect();
        assert_eq!(on, tn, "{what}: series names differ");
        for (n, v) in &theirs {
            assert!(
                same(ours[n], *v),
                "{what}: {n}: telltale {} etsy {v}",
                ours[n]
            );
        }
    }

    fn settings_from(cfg: &serde_json::Value) -> StatsdSettings {
        // record.py's default flush interval
        let mut s = StatsdSettings {
            flush_interval_ms: 1000,
            ..StatsdSettings::default()
        };
        let Some(obj) = cfg.as_object() else { return s };
        for (k, v) in obj {
            let text = || v.as_str().unwrap().to_string();
            match k.as_str() {
                "flushInterval" => s.flush_interval_ms = v.as_u64().unwrap(),
                "percentThreshold" => {
                    s.percent_threshold = v
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_f64().unwrap())
                        .collect()
                }
                "legacyNamespace" => s.legacy_namespace = v.as_bool().unwrap(),
                "globalPrefix" => s.global_prefix = text(),
                "prefixCounter" => s.prefix_counter = text(),
                "prefixTimer" => s.prefix_timer = text(),
                "prefixGauge" => s.prefix_gauge = text(),
                "prefixSet" => s.prefix_set = text(),
                "globalSuffix" => s.global_suffix = Some(text()),
                "prefixStats" => s.prefix_stats = text(),
                "flush_counts" => s.flush_counts = v.as_bool().unwrap(),
                "deleteIdleStats" => s.delete_idle_stats = v.as_bool().unwrap(),
                "deleteCounters" => s.delete_counters = v.as_bool(),
                "deleteTimers" => s.delete_timers = v.as_bool(),
                "deleteGauges" => s.delete_gauges = v.as_bool(),
                "deleteSets" => s.delete_sets = v.as_bool(),
                other => panic!("fixture option {other} not mapped"),
            }
        }
        s
    }

    #[test]
    fn differential_against_etsy_scenarios() {
        let mut n = 0;
        for entry in std::fs::read_dir(golden_dir()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            let sc: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let text = std::fs::read_to_string(path.with_extension("graphite.txt")).unwrap();
            let flushes = etsy_flushes(&text);
            let settings = settings_from(&sc["config"]);
            let interval = settings.flush_interval_ms;
            let steps = sc["steps"].as_array().unwrap();
            assert_eq!(flushes.len(), steps.len() + 1, "{name}: flush count");
            // started a moment before the first flush (only the length of last_flush matters)
            let mut agg = Aggregator::new(settings, flushes[0][0].2 - 1);
            for (k, etsy) in flushes.iter().enumerate() {
                if k > 0 {
                    for p in steps[k - 1].as_array().unwrap() {
                        agg.ingest(p.as_str().unwrap().as_bytes());
                    }
                }
                let ours = agg.flush(etsy[0].2, interval);
                compare(&format!("{name} flush {k}"), &ours, etsy, false);
            }
            n += 1;
        }
        assert!(n >= 8, "only {n} scenarios found");
    }

    #[test]
    fn differential_against_shared_captures() {
        let packets = [
            "peer.counter:3|c",
            "peer.counter:2|c|@0.5",
            "peer.timer:100|ms",
            "peer.timer:200|ms",
            "peer.timer:300|ms",
            "peer.gauge:10|g",
            "peer.gauge:+5|g",
            "peer.set:alice|s",
            "peer.set:bob|s",
            "peer.set:alice|s",
        ];
        for (file, legacy) in [
            ("statsd-graphite-flush-legacy.txt", true),
            ("statsd-graphite-flush-nonlegacy.txt", false),
        ] {
            let text = std::fs::read_to_string(golden_dir().join(file)).unwrap();
            let flushes = etsy_flushes(&text);
            assert_eq!(flushes.len(), 2);
            let mut agg = agg_with(|s| s.legacy_namespace = legacy);
            // the capture starts after an unseen flush one second earlier
            agg.flush(flushes[0][0].2 - 1, 1000);
            for p in packets {
                agg.ingest(p.as_bytes());
            }
            for (k, etsy) in flushes.iter().enumerate() {
                let ours = agg.flush(etsy[0].2, 1000);
                compare(&format!("{file} flush {k}"), &ours, etsy, k == 0);
            }
        }
    }

    use proptest::prelude::*;

    fn near_statsd() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop::sample::select(vec![
                "k",
                "a b",
                "x/y",
                ".",
                ":",
                "|",
                "c",
                "ms",
                "h",
                "g",
                "s",
                "@",
                "@0.5",
                "@0",
                "-",
                "+",
                "1",
                "2.5",
                "e9",
                "Infinity",
                "#",
                "|#",
                ",",
                ";",
                "=",
                "\n",
                "0x1f",
                "\u{a0}",
                "\u{fffd}",
                "__proto__",
                "statsd.packets_received",
            ]),
            0..30,
        )
        .prop_map(|p| p.concat().into_bytes())
    }

    proptest! {
        #[test]
        fn ingest_and_flush_never_panic(
            packets in proptest::collection::vec(
                prop_oneof![near_statsd(), proptest::collection::vec(any::<u8>(), 0..120)], 0..12),
            pcts in proptest::collection::vec(
                prop_oneof![Just(90.0), Just(-10.0), Just(0.0), Just(100.0), Just(-100.0), Just(150.0),
                    Just(f64::NAN), -200.0..200.0f64], 0..4),
            legacy in any::<bool>(),
            delete in any::<bool>(),
            flushes in 1usize..4,
        ) {
            let mut a = agg_with(|s| {
                s.percent_threshold = pcts;
                s.legacy_namespace = legacy;
                s.delete_idle_stats = delete;
            });
            for p in &packets {
                a.ingest(p);
            }
            let packets_key = if legacy {
                "stats_counts.statsd.packets_received"
            } else {
                "stats.counters.statsd.packets_received.count"
            };
            for f in 0..flushes {
                let points = a.flush(1000 + f as i64, 1000);
                prop_assert!(points.iter().all(|p| p.timestamp == 1000 + f as i64));
                let received = points.iter().find(|p| p.name == packets_key).map(|p| p.value);
                // statsd's own counters are always sent (a sender may add to them, so no value check)
                prop_assert!(received.is_some());
            }
        }
    }
}
