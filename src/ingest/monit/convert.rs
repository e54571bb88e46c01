//! A [`Report`] → metric points and log records. The metric names and units are listed in this
//! module's README (`src/ingest/monit/README.md`); that table and [`metrics`] change together.

use super::model::{
    Counter, Event, Io, LinkDirection, Report, Service, action_name, event_name, state_name,
};
use crate::model::{LogRecord, MetricPoint};

/// Bytes in one of Monit's kilobytes.
const KB: f64 = 1024.0;
/// Bytes in one of Monit's megabytes (filesystem block usage).
const MB: f64 = 1024.0 * 1024.0;
/// Severities of event records (RFC 5424 numbering).
const SEVERITY_ERROR: u8 = 3;
const SEVERITY_INFO: u8 = 6;

/// One Graphite path node from a name Monit gave (host, service, port host): dots and spaces
/// become `_` (a dot would split the node), other bytes outside `[A-Za-z0-9_-]` are dropped,
/// and an empty result is `_`. Every path node telltale derives from Monit goes through here,
/// so one name always maps to one node.
pub fn sanitize(node: &str) -> String {
    let mut out = String::with_capacity(node.len());
    for c in node.chars() {
        match c {
            '.' | ' ' => out.push('_'),
            c if c.is_ascii_alphanumeric() || c == '_' || c == '-' => out.push(c),
            _ => {}
        }
    }
    if out.is_empty() {
        out.push('_');
    }
    out
}

/// Collects points under one service's prefix.
struct Points<'a> {
    prefix: String,
    timestamp: i64,
    out: &'a mut Vec<MetricPoint>,
}

impl Points<'_> {
    /// `field` is a constant dotted suffix chosen by this module (already a valid path).
    fn add(&mut self, field: &str, value: Option<f64>) {
        if let Some(v) = value.filter(|v| v.is_finite()) {
            self.out.push(MetricPoint {
                name: format!("{}.{field}", self.prefix),
                value: v,
                timestamp: self.timestamp,
            });
        }
    }

    fn add_u(&mut self, field: &str, value: Option<u64>) {
        self.add(field, value.map(|v| v as f64));
    }

    fn add_i(&mut self, field: &str, value: Option<i64>) {
        self.add(field, value.map(|v| v as f64));
    }

    fn counter(&mut self, field: &str, c: Option<Counter>, scale: f64) {
        if let Some(c) = c {
            self.add(field, c.count.map(|v| v * scale));
            self.add(&format!("{field}_total"), c.total.map(|v| v * scale));
        }
    }

    fn io(&mut self, dir: &str, io: Option<&Io>) {
        if let Some(io) = io {
            self.counter(&format!("io.{dir}.bytes"), io.bytes, 1.0);
            self.counter(&format!("io.{dir}.bytes_generic"), io.bytes_generic, 1.0);
            self.counter(&format!("io.{dir}.operations"), io.operations, 1.0);
        }
    }

    fn link(&mut self, dir: &str, d: &LinkDirection) {
        self.counter(&format!("link.{dir}.bytes"), d.bytes, 1.0);
        self.counter(&format!("link.{dir}.packets"), d.packets, 1.0);
        self.counter(&format!("link.{dir}.errors"), d.errors, 1.0);
    }

    /// Monit sends -1 for a check that got no answer: that is a failure, not a time.
    fn response_ms(&mut self, field: &str, seconds: Option<f64>) {
        self.add(field, seconds.filter(|s| *s >= 0.0).map(|s| s * 1000.0));
    }
}

/// The metric points of one report: every service's fields plus its `status` (0 ok, 1 failing)
/// and `monitor` state. `received_secs` stands in for a service never collected yet.
pub fn metrics(report: &Report, received_secs: i64) -> Vec<MetricPoint> {
    let host = sanitize(&report.server.localhostname);
    let mut out = Vec::new();
    for s in &report.services {
        let timestamp = if s.collected_sec > 0 {
            s.collected_sec
        } else {
            received_secs
        };
        let mut p = Points {
            prefix: format!("monit.{host}.{}", sanitize(&s.name)),
            timestamp,
            out: &mut out,
        };
        service_metrics(&mut p, s);
    }
    out
}

fn service_metrics(p: &mut Points<'_>, s: &Service) {
    p.add("status", Some(if s.failing() { 1.0 } else { 0.0 }));
    p.add("monitor", Some(f64::from(s.monitor)));
    if let Some(sys) = &s.system {
        p.add("load.avg01", sys.load1);
        p.add("load.avg05", sys.load5);
        p.add("load.avg15", sys.load15);
        for (name, v) in &sys.cpu {
            p.add(&format!("cpu.{}", sanitize(name)), Some(*v));
        }
        p.add("memory.percent", sys.memory_percent);
        p.add("memory.bytes", sys.memory_kb.map(|k| k as f64 * KB));
        p.add("swap.percent", sys.swap_percent);
        p.add("swap.bytes", sys.swap_kb.map(|k| k as f64 * KB));
        p.add_u("filedescriptors.allocated", sys.fd_allocated);
        p.add_u("filedescriptors.unused", sys.fd_unused);
        p.add_u("filedescriptors.maximum", sys.fd_maximum);
    }
    if let Some(pr) = &s.process {
        p.add("cpu.percent", pr.cpu_percent);
        p.add("cpu.percent_total", pr.cpu_percent_total);
        p.add("memory.percent", pr.memory_percent);
        p.add("memory.percent_total", pr.memory_percent_total);
        p.add("memory.bytes", pr.memory_kb.map(|k| k as f64 * KB));
        p.add(
            "memory.bytes_total",
            pr.memory_kb_total.map(|k| k as f64 * KB),
        );
        p.add_u("children", pr.children);
        p.add_u("threads", pr.threads);
        p.add_i("uptime", pr.uptime);
        p.add_u("filedescriptors.open", pr.fd_open);
        p.add_u("filedescriptors.open_total", pr.fd_open_total);
        p.add_u("filedescriptors.limit_soft", pr.fd_limit_soft);
        p.add_u("filedescriptors.limit_hard", pr.fd_limit_hard);
    }
    if let Some(fs) = &s.filesystem {
        p.add("space.percent", fs.block_percent);
        p.add("space.used_bytes", fs.block_usage_mb.map(|m| m * MB));
        p.add("space.total_bytes", fs.block_total_mb.map(|m| m * MB));
        p.add("inodes.percent", fs.inode_percent);
        p.add_u("inodes.used", fs.inode_usage);
        p.add_u("inodes.total", fs.inode_total);
        p.add("servicetime.read_ms", fs.servicetime_read_ms);
        p.add("servicetime.write_ms", fs.servicetime_write_ms);
    }
    p.io("read", s.read.as_ref());
    p.io("write", s.write.as_ref());
    p.add_u("size_bytes", s.size);
    if let Some(t) = &s.timestamps {
        p.add_i("timestamps.access", t.access);
        p.add_i("timestamps.change", t.change);
        p.add_i("timestamps.modify", t.modify);
    }
    if let Some(pg) = &s.program {
        p.add_i("program.status", pg.status);
        p.add_i("program.started", pg.started);
    }
    if let Some(l) = &s.link {
        p.add_i("link.state", l.state);
        p.add_i("link.speed_bps", l.speed.filter(|v| *v >= 0));
        p.add_i("link.duplex", l.duplex.filter(|v| *v >= 0));
        p.link("download", &l.download);
        p.link("upload", &l.upload);
    }
    for i in &s.icmp {
        p.response_ms(
            &format!("icmp.{}.response_ms", sanitize(&i.kind)),
            i.responsetime,
        );
    }
    for pc in &s.ports {
        let node = sanitize(&format!(
            "{}_{}",
            pc.hostname,
            pc.port.map(|n| n.to_string()).unwrap_or_default()
        ));
        p.response_ms(&format!("port.{node}.response_ms"), pc.responsetime);
    }
    for u in &s.unix {
        p.response_ms(
            &format!("unix.{}.response_ms", sanitize(&u.path)),
            u.responsetime,
        );
    }
}

/// The report's event as a log record (`app = monit`), or `None` when it carries none.
pub fn event_record(report: &Report, received_ns: i64) -> Option<LogRecord> {
    report
        .event
        .as_ref()
        .map(|e| record_of(report, e, received_ns))
}

fn record_of(report: &Report, e: &Event, received_ns: i64) -> LogRecord {
    let timestamp_ns = if e.collected_sec > 0 {
        e.collected_sec
            .saturating_mul(1_000_000_000)
            .saturating_add(e.collected_usec.clamp(0, 999_999) * 1000)
    } else {
        received_ns
    };
    let failed = e.state == 1;
    LogRecord {
        timestamp_ns,
        received_ns,
        host: report.server.localhostname.clone(),
        app: "monit".into(),
        pid: String::new(),
        severity: Some(if failed {
            SEVERITY_ERROR
        } else {
            SEVERITY_INFO
        }),
        facility: None,
        msgid: event_name(e.id).into(),
        message: e.message.clone(),
        fields: vec![
            ("service".into(), e.service.clone()),
            ("service_type".into(), e.kind.as_str().into()),
            ("state".into(), state_name(e.state).into()),
            ("action".into(), action_name(e.action).into()),
            ("event".into(), event_name(e.id).into()),
            ("event_id".into(), e.id.to_string()),
            ("monit_id".into(), report.id.clone()),
        ],
        raw: e.raw.clone(),
    }
}
