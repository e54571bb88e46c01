//! `retention/logs.toml`: how long logs stay hot, what happens to them afterwards, per-app and
//! per-host overrides, and the disk floor. Parsed strictly (unknown keys are errors) because a
//! typo here would silently keep or drop years of logs. Errors say `file:line: reason`, so a
//! reload that keeps the old policy tells the operator exactly what to fix.
//!
//! Overrides: a rule naming a record's app (`[apps.NAME]`) or host (`[hosts.NAME]`) replaces
//! the default for that record; when both an app rule and a host rule name it, the longer
//! window wins (a record never leaves earlier than some rule asks). Names compare
//! case-insensitively, like `host:` and `app:` in queries.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde::Deserialize;

/// The shipped defaults, documented in place.
pub const SHIPPED: &str = include_str!("../../../../retention/logs.toml");

/// Why a retention file was rejected.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// How many years of archives to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepYears {
    Forever,
    Years(u32),
}

impl KeepYears {
    /// Years kept, `Forever` as the largest: what "the longer wins" compares.
    pub fn as_years(self) -> u32 {
        match self {
            KeepYears::Forever => u32::MAX,
            KeepYears::Years(n) => n,
        }
    }
}

impl<'de> Deserialize<'de> for KeepYears {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<KeepYears, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(i64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) if n < 1 => Err(serde::de::Error::custom(
                "keep_years must be at least 1 (or \"forever\")",
            )),
            Raw::N(n) => Ok(KeepYears::Years(u32::try_from(n).unwrap_or(u32::MAX))),
            Raw::S(s) if s == "forever" => Ok(KeepYears::Forever),
            Raw::S(s) => Err(serde::de::Error::custom(format!(
                "keep_years is \"forever\" or a number of years, not \"{s}\""
            ))),
        }
    }
}

fn hot_days<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = i64::deserialize(d)?;
    if n < 1 {
        return Err(serde::de::Error::custom("hot_days must be at least 1"));
    }
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

fn opt_hot_days<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    hot_days(d).map(Some)
}

/// Free space on the data directory's filesystem below which ingestion pauses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskFloor {
    Off,
    Bytes(u64),
    /// Hundredths of a percent of the filesystem's size (`"2.5%"` is 250).
    Basis(u32),
}

impl DiskFloor {
    /// The floor in bytes for a filesystem of `total` bytes.
    pub fn bytes(self, total: u64) -> u64 {
        match self {
            DiskFloor::Off => 0,
            DiskFloor::Bytes(b) => b,
            DiskFloor::Basis(bp) => {
                u64::try_from(u128::from(total) * u128::from(bp) / 10_000).unwrap_or(u64::MAX)
            }
        }
    }

    /// Parses `"2GiB"`, `"500MB"`, `"5%"`, `"off"`, or a byte count.
    pub fn parse(s: &str) -> Result<DiskFloor, String> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("off") || t == "0" {
            return Ok(DiskFloor::Off);
        }
        if let Some(p) = t.strip_suffix('%') {
            let v: f64 = p
                .trim()
                .parse()
                .map_err(|_| format!("disk_floor '{s}': the percentage is not a number"))?;
            if !(0.0..=100.0).contains(&v) {
                return Err(format!("disk_floor '{s}': a percentage is 0 to 100"));
            }
            return Ok(DiskFloor::Basis((v * 100.0).round() as u32));
        }
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let v: f64 = num.parse().map_err(|_| {
            format!("disk_floor '{s}': write a size such as \"2GiB\", \"500MB\" or \"5%\"")
        })?;
        let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1.0,
            "k" | "kb" => 1e3,
            "m" | "mb" => 1e6,
            "g" | "gb" => 1e9,
            "t" | "tb" => 1e12,
            "kib" => 1024.0,
            "mib" => 1024.0 * 1024.0,
            "gib" => 1024.0 * 1024.0 * 1024.0,
            "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
            u => {
                return Err(format!(
                    "disk_floor '{s}': unknown unit '{u}' (use B, MB, GiB, %...)"
                ));
            }
        };
        Ok(DiskFloor::Bytes((v * mult) as u64))
    }
}

impl<'de> Deserialize<'de> for DiskFloor {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<DiskFloor, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(i64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) if n < 0 => Err(serde::de::Error::custom("disk_floor cannot be negative")),
            Raw::N(0) => Ok(DiskFloor::Off),
            Raw::N(n) => Ok(DiskFloor::Bytes(n.unsigned_abs())),
            Raw::S(s) => DiskFloor::parse(&s).map_err(serde::de::Error::custom),
        }
    }
}

/// What an `[apps.NAME]` or `[hosts.NAME]` table may change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    #[serde(default, deserialize_with = "opt_hot_days")]
    pub hot_days: Option<u32>,
    #[serde(default)]
    pub keep_years: Option<KeepYears>,
}

/// The parsed retention file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogRetention {
    /// Days kept hot, today included (at least 1).
    #[serde(deserialize_with = "hot_days")]
    pub hot_days: u32,
    /// Seal old days into the archive (else delete them).
    pub archive: bool,
    pub keep_years: KeepYears,
    /// Below this much free space ingestion pauses (see `crate::disk`).
    pub disk_floor: DiskFloor,
    /// Per-app rules, keyed by lowercased app name.
    pub apps: BTreeMap<String, Override>,
    /// Per-host rules, keyed by lowercased host name.
    pub hosts: BTreeMap<String, Override>,
}

impl Default for LogRetention {
    fn default() -> Self {
        LogRetention {
            hot_days: 30,
            archive: true,
            keep_years: KeepYears::Forever,
            disk_floor: DiskFloor::Bytes(1 << 30),
            apps: BTreeMap::new(),
            hosts: BTreeMap::new(),
        }
    }
}

impl LogRetention {
    /// Parses retention TOML; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<LogRetention, RetentionError> {
        let mut r: LogRetention = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| {
                text[..s.start.min(text.len())].matches('\n').count() + 1
            });
            RetentionError::Parse {
                path: path.to_path_buf(),
                line,
                message: e.message().trim_end().to_string(),
            }
        })?;
        let lower = |m: BTreeMap<String, Override>| {
            m.into_iter()
                .map(|(k, v)| (k.to_lowercase(), v))
                .collect::<BTreeMap<_, _>>()
        };
        r.apps = lower(std::mem::take(&mut r.apps));
        r.hosts = lower(std::mem::take(&mut r.hosts));
        Ok(r)
    }

    /// Loads a retention file; a missing file means the defaults.
    pub fn load(path: &Path) -> Result<LogRetention, RetentionError> {
        match std::fs::read_to_string(path) {
            Ok(text) => LogRetention::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(LogRetention::default()),
            Err(source) => Err(RetentionError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// The rules naming this host or app (names compared lowercased).
    fn rules(&self, host: &str, app: &str) -> [Option<&Override>; 2] {
        fn get<'a>(m: &'a BTreeMap<String, Override>, k: &str) -> Option<&'a Override> {
            if m.is_empty() {
                return None;
            }
            m.get(k).or_else(|| m.get(&k.to_lowercase()))
        }
        [get(&self.hosts, host), get(&self.apps, app)]
    }

    /// Hot days of a record: the default, unless a rule names its host or app (then the
    /// longest such rule).
    pub fn hot_days_for(&self, host: &str, app: &str) -> u32 {
        self.rules(host, app)
            .into_iter()
            .flatten()
            .filter_map(|o| o.hot_days)
            .max()
            .unwrap_or(self.hot_days)
    }

    /// Archive years kept for a record: same precedence as [`Self::hot_days_for`].
    pub fn keep_years_for(&self, host: &str, app: &str) -> KeepYears {
        self.rules(host, app)
            .into_iter()
            .flatten()
            .filter_map(|o| o.keep_years)
            .max_by_key(|k| k.as_years())
            .unwrap_or(self.keep_years)
    }

    /// The shortest hot window any record can have: days younger than it need no look.
    pub fn min_hot_days(&self) -> u32 {
        self.apps
            .values()
            .chain(self.hosts.values())
            .filter_map(|o| o.hot_days)
            .fold(self.hot_days, u32::min)
    }

    /// The longest keep of any record: years older than it can go without a look.
    pub fn max_keep_years(&self) -> KeepYears {
        self.apps
            .values()
            .chain(self.hosts.values())
            .filter_map(|o| o.keep_years)
            .chain([self.keep_years])
            .max_by_key(|k| k.as_years())
            .unwrap_or(self.keep_years)
    }

    /// Whether any app or host rule exists.
    pub fn has_overrides(&self) -> bool {
        !(self.apps.is_empty() && self.hosts.is_empty())
    }
}

/// The policy in force, shared by the server's writer (which seals by it), the disk floor
/// monitor and the reloader (which swaps it on SIGHUP or when the file changes).
#[derive(Debug, Clone)]
pub struct SharedRetention {
    inner: Arc<(RwLock<Arc<LogRetention>>, AtomicU64)>,
}

impl SharedRetention {
    pub fn new(policy: LogRetention) -> SharedRetention {
        SharedRetention {
            inner: Arc::new((RwLock::new(Arc::new(policy)), AtomicU64::new(0))),
        }
    }

    /// The policy now.
    pub fn get(&self) -> Arc<LogRetention> {
        match self.inner.0.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the policy and bumps the generation (so the writer seals by it at once).
    pub fn set(&self, policy: LogRetention) {
        match self.inner.0.write() {
            Ok(mut p) => *p = Arc::new(policy),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(policy),
        }
        self.inner.1.fetch_add(1, Ordering::Release);
    }

    /// Counts [`Self::set`] calls: a change tells the writer to apply the policy now.
    pub fn generation(&self) -> u64 {
        self.inner.1.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(s: &str) -> Result<LogRetention, RetentionError> {
        LogRetention::parse(s, Path::new("logs.toml"))
    }

    #[test]
    fn the_shipped_file_is_the_defaults() {
        assert_eq!(parse(SHIPPED).unwrap(), LogRetention::default());
        assert_eq!(parse("").unwrap(), LogRetention::default());
    }

    #[test]
    fn parses_values_and_rejects_typos_and_nonsense_with_their_line() {
        let r =
            parse("hot_days = 7\narchive = false\nkeep_years = 3\ndisk_floor = \"5%\"\n").unwrap();
        assert_eq!(
            r,
            LogRetention {
                hot_days: 7,
                archive: false,
                keep_years: KeepYears::Years(3),
                disk_floor: DiskFloor::Basis(500),
                ..LogRetention::default()
            }
        );
        for (bad, line) in [
            ("hot_dayz = 7", 1),
            ("archive = true\nhot_days = 0", 2),
            ("hot_days = -1", 1),
            ("\n\nkeep_years = 0", 3),
            ("keep_years = \"always\"", 1),
            ("disk_floor = \"2 parsecs\"", 1),
            ("disk_floor = \"120%\"", 1),
            ("[apps.sshd]\nhot_dys = 3", 2),
            ("[hosts.db1]\nhot_days = 0", 2),
        ] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(e.starts_with(&format!("logs.toml:{line}: ")), "{bad}: {e}");
        }
    }

    #[test]
    fn disk_floor_sizes() {
        let f = |s: &str| DiskFloor::parse(s).unwrap();
        assert_eq!(f("2GiB"), DiskFloor::Bytes(2 << 30));
        assert_eq!(f("500MB"), DiskFloor::Bytes(500_000_000));
        assert_eq!(f("1.5 KiB"), DiskFloor::Bytes(1536));
        assert_eq!(f("off"), DiskFloor::Off);
        assert_eq!(f("100%").bytes(1000), 1000);
        assert_eq!(f("2.5%").bytes(1000), 25);
        assert_eq!(
            parse("disk_floor = 4096").unwrap().disk_floor,
            DiskFloor::Bytes(4096)
        );
        assert_eq!(parse("disk_floor = 0").unwrap().disk_floor, DiskFloor::Off);
    }

    #[test]
    fn a_rule_naming_the_app_or_host_replaces_the_default_and_the_longer_wins() {
        let r = parse(
            "hot_days = 30\nkeep_years = 2\n\
             [apps.CRON]\nhot_days = 3\n\
             [apps.sshd]\nhot_days = 90\nkeep_years = \"forever\"\n\
             [hosts.db1]\nhot_days = 60\nkeep_years = 7\n",
        )
        .unwrap();
        assert_eq!(r.hot_days_for("web1", "nginx"), 30);
        assert_eq!(
            r.hot_days_for("web1", "cron"),
            3,
            "shorter than the default"
        );
        assert_eq!(
            r.hot_days_for("WEB1", "Cron"),
            3,
            "names are case-insensitive"
        );
        assert_eq!(r.hot_days_for("db1", "nginx"), 60);
        assert_eq!(
            r.hot_days_for("db1", "cron"),
            60,
            "host and app: the longer"
        );
        assert_eq!(r.hot_days_for("db1", "sshd"), 90);
        assert_eq!(r.keep_years_for("web1", "nginx"), KeepYears::Years(2));
        assert_eq!(r.keep_years_for("web1", "cron"), KeepYears::Years(2));
        assert_eq!(r.keep_years_for("db1", "cron"), KeepYears::Years(7));
        assert_eq!(r.keep_years_for("db1", "sshd"), KeepYears::Forever);
        assert_eq!(r.min_hot_days(), 3);
        assert_eq!(r.max_keep_years(), KeepYears::Forever);
    }

    proptest::proptest! {
        /// Any text is a policy or an error naming a line inside the text; never a panic.
        #[test]
        fn any_text_parses_or_names_a_line_in_it(text in "[ -~\n]{0,80}") {
            match parse(&text) {
                Ok(_) => {}
                Err(RetentionError::Parse { line, .. }) => {
                    proptest::prop_assert!(line >= 1 && line <= text.lines().count().max(1) + 1);
                }
                Err(e) => proptest::prop_assert!(false, "{e}"),
            }
        }

        /// Sizes with a unit are never negative or a panic, and a bigger number is no
        /// smaller a floor.
        #[test]
        fn disk_floor_sizes_are_monotonic(a in 0u32..100_000, b in 0u32..100_000,
                                          unit in "(|B|KB|MiB|GiB|TB|%)") {
            let (lo, hi) = (a.min(b), a.max(b));
            let f = |n: u32| DiskFloor::parse(&format!("{}{unit}", if unit == "%" { n % 101 } else { n }));
            if unit != "%" {
                let (x, y) = (f(lo).unwrap().bytes(1 << 40), f(hi).unwrap().bytes(1 << 40));
                proptest::prop_assert!(x <= y);
            } else {
                proptest::prop_assert!(f(lo).unwrap().bytes(1 << 40) <= 1 << 40);
            }
            let _ = DiskFloor::parse(&format!("{a}.{b}{unit}x"));
        }
    }
}
