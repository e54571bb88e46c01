//! The disk floor: when free space on the data directory's filesystem falls below
//! `disk_floor` (retention/logs.toml), ingestion pauses so the stores never fill the disk:
//! syslog, Graphite plaintext and statsd TCP readers stop reading (senders buffer, nothing is
//! lost), their UDP datagrams are dropped and counted, and the Monit collector answers 503
//! (Monit queues its events and sends them again). statsd flushes go on: they write a bounded
//! number of points per interval, for series statsd already has. Ingestion resumes with
//! hysteresis, once free space is back above the floor plus 5% of it, so a disk hovering at the
//! floor does not flap.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::metrics::Counters;
use crate::model::LogRecord;
use crate::store::logs::archive::retention::SharedRetention;

/// How often free space is probed: a statvfs is cheap, and a second of ingest at full speed
/// is a few hundred MB at most, far below any sensible floor.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);

/// Free and total bytes of a filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    /// Bytes an unprivileged writer may still use (statvfs `f_bavail`).
    pub free: u64,
    pub total: u64,
}

/// Free space of the filesystem holding `path`.
pub fn probe(path: &Path) -> std::io::Result<Space> {
    let s = rustix::fs::statvfs(path).map_err(std::io::Error::from)?;
    Ok(Space {
        free: s.f_bavail.saturating_mul(s.f_frsize),
        total: s.f_blocks.saturating_mul(s.f_frsize),
    })
}

/// Whether ingestion should be paused, given whether it is now: pause below `floor`, resume
/// only at `floor` + 5%. A floor of 0 never pauses.
pub fn should_pause(paused: bool, free: u64, floor: u64) -> bool {
    if floor == 0 {
        return false;
    }
    if paused {
        free < floor.saturating_add(floor / 20)
    } else {
        free < floor
    }
}

/// The pause state shared with the listeners (through [`crate::ingest::net::Pause`]) and
/// `/health`.
#[derive(Debug)]
pub struct DiskFloorState {
    paused: watch::Sender<bool>,
    /// What `/health` says while paused.
    reason: Mutex<String>,
}

impl Default for DiskFloorState {
    fn default() -> Self {
        DiskFloorState {
            paused: watch::channel(false).0,
            reason: Mutex::new(String::new()),
        }
    }
}

impl DiskFloorState {
    /// What a listener watches.
    pub fn pause(&self) -> crate::ingest::net::Pause {
        crate::ingest::net::Pause::new(self.paused.subscribe())
    }

    pub fn is_paused(&self) -> bool {
        *self.paused.borrow()
    }

    /// Why ingestion is paused (empty when it is not).
    pub fn reason(&self) -> String {
        match self.reason.lock() {
            Ok(r) => r.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Pauses or resumes, with what `/health` says (the monitor's call; tests use it too).
    pub(crate) fn set(&self, paused: bool, reason: String) {
        match self.reason.lock() {
            Ok(mut r) => *r = reason,
            Err(p) => *p.into_inner() = reason,
        }
        self.paused.send_replace(paused);
    }
}

/// Probes free space every [`PROBE_EVERY`] until `stop` flips, pausing and resuming ingestion
/// by the floor of the policy in force (so a reloaded floor applies at the next probe). Each
/// change is logged at warn and stored as a log record of app `telltale` through `records`.
pub async fn monitor(
    dir: PathBuf,
    retention: SharedRetention,
    state: Arc<DiskFloorState>,
    counters: Arc<Counters>,
    records: std::sync::mpsc::SyncSender<crate::store::logs::writer::RecordBatch>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(PROBE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => {}
        }
        // a statvfs can block on a sick filesystem: not on the executor
        let d = dir.clone();
        let Ok(probed) = tokio::task::spawn_blocking(move || probe(&d)).await else {
            continue;
        };
        let space = match probed {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!("cannot probe free space of {}: {e}", dir.display());
                continue;
            }
        };
        let floor = retention.get().disk_floor.bytes(space.total);
        let was = state.is_paused();
        let now = should_pause(was, space.free, floor);
        if now == was {
            continue;
        }
        let message = if now {
            counters.disk_floor_pauses.fetch_add(1, Ordering::Relaxed);
            format!(
                "ingestion paused: {} bytes free on {}, below the disk floor of {floor} bytes",
                space.free,
                dir.display()
            )
        } else {
            format!(
                "ingestion resumed: {} bytes free on {}, above the disk floor of {floor} bytes",
                space.free,
                dir.display()
            )
        };
        tracing::warn!("{message}");
        state.set(now, if now { message.clone() } else { String::new() });
        let t = crate::model::time::now_ns();
        let record = LogRecord {
            timestamp_ns: t,
            received_ns: t,
            host: "telltale".into(),
            app: "telltale".into(),
            severity: Some(4),
            raw: message.clone().into_bytes(),
            message,
            ..LogRecord::default()
        };
        // a full pipeline must not stall the monitor; the warning is in the server log anyway
        let _ = records.try_send(vec![record].into());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn pauses_below_the_floor_and_resumes_only_above_floor_plus_five_percent() {
        let floor = 1000;
        assert!(!should_pause(false, 1000, floor));
        assert!(should_pause(false, 999, floor));
        // paused: back at the floor is not enough
        assert!(should_pause(true, 1000, floor));
        assert!(should_pause(true, 1049, floor));
        assert!(!should_pause(true, 1050, floor));
        // no floor: never
        assert!(!should_pause(false, 0, 0));
        assert!(!should_pause(true, 0, 0));
    }

    #[test]
    fn probes_a_real_filesystem() {
        let tmp = tempfile::tempdir().unwrap();
        let s = probe(tmp.path()).unwrap();
        assert!(s.total > 0 && s.free <= s.total, "{s:?}");
        assert!(probe(&tmp.path().join("missing")).is_err());
    }
}
