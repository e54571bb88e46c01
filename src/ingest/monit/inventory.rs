//! The live inventory of Monit-reporting hosts, keyed by Monit's `id` (a renamed host stays one
//! entry; two hosts that share a name stay two). In memory: it rebuilds within one poll cycle of
//! a restart, which is what a live view needs.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Serialize;

use super::model::{Report, action_name};
use crate::model::LogRecord;
use crate::model::time::format_rfc3339;

/// Cycles a host may miss before it counts as stale.
pub const STALE_CYCLES: i64 = 3;
/// Poll interval assumed when a report does not say (Monit's own default is 30 s).
const DEFAULT_POLL_SECS: i64 = 30;
/// Most hosts kept: bounds memory against a client inventing ids (a fleet is at most hundreds).
pub const MAX_HOSTS: usize = 10_000;
/// Most services kept per host (a real host has tens): with [`MAX_HOSTS`], bounds the whole.
pub const MAX_SERVICES: usize = 1_000;
const SEVERITY_WARNING: u8 = 4;
const SEVERITY_INFO: u8 = 6;

/// One host as `/api/hosts` shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Host {
    /// Monit's stable id.
    pub id: String,
    pub hostname: String,
    pub monit_version: String,
    /// When this Monit started (epoch seconds).
    pub incarnation: i64,
    /// Monit's uptime in seconds at the last report.
    pub uptime: Option<i64>,
    /// Seconds between Monit's cycles.
    pub poll: Option<u32>,
    pub platform: PlatformInfo,
    /// Last report, RFC 3339 (`last_report_ns` in ns for arithmetic).
    pub last_report: String,
    #[serde(skip)]
    pub last_report_ns: i64,
    /// No report for [`STALE_CYCLES`] poll intervals.
    pub stale: bool,
    pub services: Vec<ServiceStatus>,
}

/// `<platform>` as the inventory shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct PlatformInfo {
    pub name: String,
    pub release: String,
    pub version: String,
    pub machine: String,
    pub cpu: Option<u32>,
    /// Bytes (Monit sends kilobytes).
    pub memory_bytes: Option<u64>,
    pub swap_bytes: Option<u64>,
}

/// One service's state at the last report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServiceStatus {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Monit's failure bitmask; 0 = ok.
    pub status: u64,
    pub failing: bool,
    /// 0 not monitored, 1 monitored, 2 initializing, 4 waiting.
    pub monitor: u32,
    /// When Monit last checked it (epoch seconds).
    pub collected: i64,
}

/// Shared by the collector handler (updates) and the stale check (sweeps).
#[derive(Debug, Default)]
pub struct Inventory {
    hosts: Mutex<HashMap<String, Host>>,
}

impl Inventory {
    pub fn new() -> Inventory {
        Inventory::default()
    }

    /// Records a report received at `now_ns`. Returns a record when a stale host came back,
    /// so the log shows both ends of the gap.
    pub fn update(&self, r: &Report, now_ns: i64) -> Option<LogRecord> {
        let host = Host {
            id: r.id.clone(),
            hostname: r.server.localhostname.clone(),
            monit_version: r.version.clone(),
            incarnation: r.incarnation,
            uptime: r.server.uptime,
            poll: r.server.poll,
            platform: PlatformInfo {
                name: r.platform.name.clone(),
                release: r.platform.release.clone(),
                version: r.platform.version.clone(),
                machine: r.platform.machine.clone(),
                cpu: r.platform.cpu,
                memory_bytes: r.platform.memory_kb.map(|k| k.saturating_mul(1024)),
                swap_bytes: r.platform.swap_kb.map(|k| k.saturating_mul(1024)),
            },
            last_report: format_rfc3339(now_ns),
            last_report_ns: now_ns,
            stale: false,
            services: r
                .services
                .iter()
                .take(MAX_SERVICES)
                .map(|s| ServiceStatus {
                    name: s.name.clone(),
                    kind: s.kind.as_str(),
                    status: s.status,
                    failing: s.failing(),
                    monitor: s.monitor,
                    collected: s.collected_sec,
                })
                .collect(),
        };
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        if hosts.len() >= MAX_HOSTS && !hosts.contains_key(&r.id) {
            tracing::warn!(
                "monit inventory full ({MAX_HOSTS} hosts): ignoring new id {}",
                r.id
            );
            return None;
        }
        let was_stale = hosts.insert(r.id.clone(), host).is_some_and(|h| h.stale);
        drop(hosts);
        was_stale.then(|| {
            notice(
                r.id.clone(),
                r.server.localhostname.clone(),
                now_ns,
                SEVERITY_INFO,
                "resumed",
                format!(
                    "monit on {} reports again after being stale",
                    r.server.localhostname
                ),
            )
        })
    }

    /// Marks hosts silent for [`STALE_CYCLES`] poll intervals as stale; returns one record per
    /// host that became stale in this sweep (a host already stale is not reported again).
    pub fn sweep(&self, now_ns: i64) -> Vec<LogRecord> {
        let mut out = Vec::new();
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        for h in hosts.values_mut() {
            let poll = h.poll.map_or(DEFAULT_POLL_SECS, |p| i64::from(p.max(1)));
            let limit_ns = STALE_CYCLES * poll * 1_000_000_000;
            let silent_ns = now_ns.saturating_sub(h.last_report_ns);
            if !h.stale && silent_ns > limit_ns {
                h.stale = true;
                out.push(notice(
                    h.id.clone(),
                    h.hostname.clone(),
                    now_ns,
                    SEVERITY_WARNING,
                    "stale",
                    format!(
                        "monit on {} silent for {} s ({STALE_CYCLES} poll cycles of {poll} s): marked stale",
                        h.hostname,
                        silent_ns / 1_000_000_000
                    ),
                ));
            }
        }
        out
    }

    /// Every host, sorted by hostname then id.
    pub fn list(&self) -> Vec<Host> {
        let hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<Host> = hosts.values().cloned().collect();
        drop(hosts);
        v.sort_by(|a, b| a.hostname.cmp(&b.hostname).then_with(|| a.id.cmp(&b.id)));
        v
    }
}

fn notice(
    id: String,
    hostname: String,
    now_ns: i64,
    severity: u8,
    state: &str,
    message: String,
) -> LogRecord {
    LogRecord {
        timestamp_ns: now_ns,
        received_ns: now_ns,
        host: hostname,
        app: "monit".into(),
        severity: Some(severity),
        msgid: state.into(),
        raw: message.as_bytes().to_vec(),
        message,
        fields: vec![
            ("service".into(), "Monit".into()),
            ("state".into(), state.into()),
            ("action".into(), action_name(1).into()),
            ("monit_id".into(), id),
        ],
        ..LogRecord::default()
    }
}
