//! telltale's counters about itself: what each listener received, dropped and rejected, and
//! what the store committed. Plain atomics shared by `Arc`, cheap on the hot path, rendered
//! at `GET /metrics` in the Prometheus text format under the `telltale_` prefix.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($($(#[doc = $doc:literal])* $name:ident),* $(,)?) => {
        /// Process-wide counters; see each field.
        #[derive(Debug, Default)]
        pub struct Counters {
            $($(#[doc = $doc])* pub $name: AtomicU64,)*
        }

        impl Counters {
            /// (name, help, value) of every counter, in declaration order.
            pub fn snapshot(&self) -> Vec<(&'static str, &'static str, u64)> {
                vec![$((stringify!($name), concat!($($doc),*), self.$name.load(Ordering::Relaxed)),)*]
            }
        }
    };
}

counters! {
    /// syslog datagrams received over UDP
    syslog_udp_received,
    /// syslog datagrams dropped because the pipeline was full (UDP has no back-pressure)
    syslog_udp_dropped,
    /// syslog datagrams dropped because free disk space was below the disk floor
    syslog_udp_dropped_disk_floor,
    /// times ingestion paused because free disk space fell below the disk floor
    disk_floor_pauses,
    /// syslog frames received over TCP
    syslog_tcp_received,
    /// syslog TCP connections accepted
    syslog_tcp_connections,
    /// syslog TCP connections refused because the connection limit was reached
    syslog_tcp_refused,
    /// syslog TCP connections closed on a framing error
    syslog_tcp_framing_errors,
    /// syslog messages cut to the maximum message size
    syslog_truncated,
    /// Graphite plaintext points accepted (TCP and UDP)
    carbon_received,
    /// Graphite plaintext lines rejected as malformed
    carbon_rejected,
    /// Graphite plaintext points with a NaN value, dropped as carbon drops them
    carbon_nan_dropped,
    /// Graphite plaintext points dropped because the pipeline was full (UDP)
    carbon_udp_dropped,
    /// Graphite plaintext points (UDP) dropped because free disk space was below the disk floor
    carbon_udp_dropped_disk_floor,
    /// metric points written to the metrics store (and so queryable)
    metric_points_written,
    /// metric points the metrics store failed to write (see the log)
    metric_write_errors,
    /// Monit reports (status documents) accepted at /collector
    monit_reports,
    /// Monit posts refused as malformed (400)
    monit_rejected,
    /// Monit posts refused for wrong or missing credentials (401)
    monit_unauthorized,
    /// Monit posts refused with 503 because free disk space was below the disk floor (Monit
    /// queues its events and sends them again)
    monit_refused_disk_floor,
    /// metric points converted from Monit reports and handed to the metrics pipeline
    monit_points,
    /// Monit metric points dropped because the metrics pipeline was full
    monit_points_dropped,
    /// log records from Monit (events, stale and resumed hosts)
    monit_events,
    /// statsd datagrams received over UDP
    statsd_udp_received,
    /// statsd datagrams dropped because the aggregator's queue was full (UDP has no back-pressure)
    statsd_udp_dropped,
    /// statsd datagrams dropped because free disk space was below the disk floor
    statsd_udp_dropped_disk_floor,
    /// statsd packets (reads up to a newline) received over TCP
    statsd_tcp_received,
    /// statsd TCP connections accepted
    statsd_tcp_connections,
    /// statsd TCP connections refused because the connection limit was reached
    statsd_tcp_refused,
    /// statsd TCP connections closed on a line over the maximum length
    statsd_tcp_overlong,
    /// statsd values rejected as malformed (etsy's bad_lines_seen)
    statsd_bad_lines,
    /// points produced by statsd flushes
    statsd_points_flushed,
    /// log records parsed by the normalizer
    logs_normalized,
    /// log records committed to the store
    logs_committed,
    /// log store commits
    log_commits,
    /// search requests answered
    searches,
    /// searches whose archive scan stopped early because the client went away
    search_cancelled,
}

impl Counters {
    /// Renders the Prometheus text exposition format.
    pub fn render_prometheus(&self) -> String {
        let mut out = String::new();
        for (name, help, value) in self.snapshot() {
            let _ = writeln!(out, "# HELP telltale_{name}_total {}", help.trim());
            let _ = writeln!(out, "# TYPE telltale_{name}_total counter");
            let _ = writeln!(out, "telltale_{name}_total {value}");
        }
        out
    }
}
