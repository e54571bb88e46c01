//! Per-day metadata kept beside each partition (`day.json`): lets a search skip a day without
//! opening its index, and lets retention and archiving reason about a day as a unit.
//! Written tmp + fsync + rename after every commit, so it is never torn.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::model::time::format_day;

/// Above this many distinct hosts (or apps) a day stops listing them and says so; pruning by
/// host then simply does not apply to that day.
pub const MAX_LISTED: usize = 10_000;

/// What a day partition holds, as of its last commit.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DayMeta {
    /// `YYYY-MM-DD`, for a human reading the file.
    pub day: String,
    /// Smallest and largest committed event timestamp (ns); meaningless while `count` is 0.
    pub min_ts_ns: i64,
    pub max_ts_ns: i64,
    /// Committed records.
    pub count: u64,
    /// Distinct hosts and apps, lowercased, unless `overflow`.
    pub hosts: BTreeSet<String>,
    pub apps: BTreeSet<String>,
    /// Too many distinct hosts or apps to list.
    pub overflow: bool,
}

pub const FILE: &str = "day.json";

impl DayMeta {
    pub fn empty(day: i64) -> DayMeta {
        DayMeta {
            day: format_day(day),
            min_ts_ns: i64::MAX,
            max_ts_ns: i64::MIN,
            ..DayMeta::default()
        }
    }

    /// Loads `day.json` from a partition directory; a missing file is an empty day.
    pub fn load(dir: &Path, day: i64) -> Result<DayMeta, StoreError> {
        let path = dir.join(FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StoreError::Meta {
                path,
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(DayMeta::empty(day)),
            Err(e) => Err(StoreError::io(&path, e)),
        }
    }

    /// Folds one record's facts in.
    pub fn add(&mut self, ts_ns: i64, host: &str, app: &str) {
        self.count += 1;
        self.min_ts_ns = self.min_ts_ns.min(ts_ns);
        self.max_ts_ns = self.max_ts_ns.max(ts_ns);
        if self.overflow {
            return;
        }
        for (set, v) in [(&mut self.hosts, host), (&mut self.apps, app)] {
            // fast path: most names arrive lowercase and already listed
            if !set.contains(v) {
                let lower = v.to_ascii_lowercase();
                if !set.contains(&lower) {
                    set.insert(lower);
                }
            }
        }
        if self.hosts.len() > MAX_LISTED || self.apps.len() > MAX_LISTED {
            self.overflow = true;
            self.hosts.clear();
            self.apps.clear();
        }
    }

    /// Merges counts committed by the writer into this (the searchable) view.
    pub fn merge(&mut self, other: &DayMeta) {
        self.count += other.count;
        self.min_ts_ns = self.min_ts_ns.min(other.min_ts_ns);
        self.max_ts_ns = self.max_ts_ns.max(other.max_ts_ns);
        self.overflow |= other.overflow;
        if self.overflow {
            self.hosts.clear();
            self.apps.clear();
        } else {
            self.hosts.extend(other.hosts.iter().cloned());
            self.apps.extend(other.apps.iter().cloned());
        }
    }

    /// Atomically replaces `day.json`: write a temp file, fsync, rename, fsync the directory.
    pub fn save(&self, dir: &Path) -> Result<(), StoreError> {
        let path = dir.join(FILE);
        let tmp = dir.join(".day.json.tmp");
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| StoreError::Meta {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let mut f = std::fs::File::create(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
        f.write_all(&bytes).map_err(|e| StoreError::io(&tmp, e))?;
        f.sync_all().map_err(|e| StoreError::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| StoreError::io(&path, e))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}
