//! The configuration file (TOML). Every key has a default, so `telltale serve` runs with no
//! file at all; unknown keys are an error (a typo must not silently fall back to a default).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

/// Errors of loading or validating the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid {what}: {message}")]
    Invalid { what: String, message: String },
}

/// A listener address, or `off` to disable that listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    Off,
    On(SocketAddr),
}

impl FromStr for Listen {
    type Err = String;
    fn from_str(s: &str) -> Result<Listen, String> {
        if s.eq_ignore_ascii_case("off") {
            return Ok(Listen::Off);
        }
        if let Ok(a) = s.parse::<SocketAddr>() {
            return Ok(Listen::On(a));
        }
        // a bare port means every interface, as syslog daemons treat it
        if let Ok(port) = s.parse::<u16>() {
            return Ok(Listen::On(SocketAddr::from(([0, 0, 0, 0], port))));
        }
        Err(format!(
            "'{s}' is not an address: use IP:PORT (e.g. 0.0.0.0:5514, [::1]:5514), a port, or off"
        ))
    }
}

impl<'de> Deserialize<'de> for Listen {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Listen, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Listen {
    pub fn addr(self) -> Option<SocketAddr> {
        match self {
            Listen::Off => None,
            Listen::On(a) => Some(a),
        }
    }
}

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where every store keeps its files.
    pub data_dir: PathBuf,
    pub http: HttpConfig,
    pub syslog: SyslogConfig,
    /// statsd listeners and etsy's aggregation options (see `StatsdSettings`).
    pub statsd: crate::ingest::statsd::aggregate::StatsdSettings,
    pub carbon: ListenerOnly,
    pub logs: LogsConfig,
    pub monit: MonitConfig,
    pub metrics: MetricsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./data"),
            http: HttpConfig::default(),
            syslog: SyslogConfig::default(),
            statsd: crate::ingest::statsd::aggregate::StatsdSettings::default(),
            carbon: ListenerOnly {
                listen: Listen::On(SocketAddr::from(([0, 0, 0, 0], 2003))),
            },
            logs: LogsConfig::default(),
            metrics: MetricsConfig::default(),
            monit: MonitConfig::default(),
        }
    }
}

/// `[http]`: the UI, the search API and the Graphite API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Loopback by default: the API has no login yet.
    pub listen: Listen,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: Listen::On(SocketAddr::from(([127, 0, 0, 1], 8080))),
            max_body_bytes: 1 << 20,
        }
    }
}

/// `[syslog]`: one address serves UDP and TCP (as rsyslog's imudp/imtcp usually share one).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyslogConfig {
    pub listen: Listen,
    /// Serve UDP on `listen`.
    pub udp: bool,
    /// Serve TCP on `listen`.
    pub tcp: bool,
    /// Longer messages are truncated to this many bytes and counted.
    pub max_message_size: usize,
    /// Concurrent TCP connections.
    pub max_connections: usize,
    /// SO_RCVBUF for the UDP socket; the kernel caps it at net.core.rmem_max.
    pub udp_recv_buffer: usize,
}

impl Default for SyslogConfig {
    fn default() -> Self {
        SyslogConfig {
            listen: Listen::On(SocketAddr::from(([0, 0, 0, 0], 5514))),
            udp: true,
            tcp: true,
            max_message_size: 64 * 1024,
            max_connections: 4096,
            udp_recv_buffer: 4 << 20,
        }
    }
}

/// `[statsd]` and `[carbon]`: listeners of the metrics pipeline.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerOnly {
    pub listen: Listen,
}

/// `[metrics]`: the metric store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Graphite's storage-schemas.conf; when unset, `retention/storage-schemas.conf` if it
    /// exists, else the shipped defaults built into the binary.
    pub schemas: Option<PathBuf>,
    /// Graphite's storage-aggregation.conf; same fallback as `schemas`.
    pub aggregations: Option<PathBuf>,
    /// How often the write-ahead log is fsynced: a kill -9 loses at most this much.
    pub wal_sync_ms: u64,
    /// How often telltale stores its own counters as `telltale.<counter>` metrics (0 = never).
    pub self_interval_ms: u64,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            schemas: None,
            aggregations: None,
            wal_sync_ms: 1000,
            self_interval_ms: 10_000,
        }
    }
}

/// `[logs]`: the log store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogsConfig {
    /// How often new lines are committed and become searchable, in milliseconds.
    pub commit_interval_ms: u64,
    /// Indexing memory per open day, in MiB.
    pub writer_memory_mb: usize,
    /// Indexing threads per open day.
    pub writer_threads: usize,
    /// Batches buffered between stages; bounds memory and sets when back-pressure starts.
    pub channel_batches: usize,
    /// The retention policy file (hot days, archive, years kept); when unset,
    /// `retention/logs.toml` if it exists, else the defaults (30 hot days, archive forever).
    pub retention: Option<PathBuf>,
    /// How often days past the hot window are sealed into the archive, in seconds (also at
    /// start-up).
    pub seal_interval_s: u64,
    /// Directory of normalizer rule files overlaying the shipped ones; `None` uses
    /// `./parsers` when it exists.
    pub parsers_dir: Option<PathBuf>,
}

impl Default for LogsConfig {
    fn default() -> Self {
        LogsConfig {
            commit_interval_ms: 1000,
            writer_memory_mb: 128,
            writer_threads: 1,
            channel_batches: 256,
            retention: None,
            seal_interval_s: 3600,
            parsers_dir: None,
        }
    }
}

/// `[monit]`: the M/Monit collector at `POST /collector` on the HTTP listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitConfig {
    /// Who may post (Monit's `set mmonit http://user:password@host:port/collector`). Defaults
    /// to `monit:monit`, M/Monit's own default, so a stock Monit setup works at once; start-up
    /// warns while that default is in use.
    pub users: Vec<MonitUser>,
}

impl Default for MonitConfig {
    fn default() -> Self {
        MonitConfig {
            users: vec![MonitUser::default_user()],
        }
    }
}

impl MonitConfig {
    /// True while the well-known default credentials are accepted.
    pub fn uses_default_user(&self) -> bool {
        self.users.contains(&MonitUser::default_user())
    }
}

/// One user Monit may authenticate as.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitUser {
    pub user: String,
    pub password: String,
}

impl MonitUser {
    fn default_user() -> MonitUser {
        MonitUser {
            user: "monit".into(),
            password: "monit".into(),
        }
    }
}

/// Never prints the password (configs end up in logs and bug reports).
impl std::fmt::Debug for MonitUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitUser")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Reads a config file; `None` gives the defaults.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text).map_err(|message| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses TOML text (errors carry toml's line/column report).
    pub fn parse(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |what: &str, message: &str| {
            Err(ConfigError::Invalid {
                what: what.into(),
                message: message.into(),
            })
        };
        if !(1..=16 * 1024 * 1024).contains(&self.syslog.max_message_size) {
            return invalid(
                "syslog.max_message_size",
                "must be between 1 byte and 16 MiB",
            );
        }
        if self.logs.commit_interval_ms == 0 || self.logs.commit_interval_ms > 60_000 {
            return invalid(
                "logs.commit_interval_ms",
                "must be between 1 and 60000 (lines become searchable after one interval)",
            );
        }
        if self.logs.writer_memory_mb < 16 * self.logs.writer_threads.max(1) {
            return invalid(
                "logs.writer_memory_mb",
                "must be at least 16 MiB per writer thread (tantivy's minimum)",
            );
        }
        if self
            .monit
            .users
            .iter()
            .any(|u| u.user.is_empty() || u.user.contains(':'))
        {
            return invalid(
                "monit.users",
                "each user needs a non-empty name without ':' (basic auth splits on it)",
            );
        }
        if self.logs.writer_threads == 0 || self.logs.channel_batches == 0 {
            return invalid(
                "logs",
                "writer_threads and channel_batches must be at least 1",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults_and_unknown_keys_are_rejected() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.syslog.listen, "0.0.0.0:5514".parse().unwrap());
        assert_eq!(c.http.listen, "127.0.0.1:8080".parse().unwrap());
        let err = Config::parse("[syslog]\nlisten = \"1.2.3.4:1\"\nmax_msg = 3\n").unwrap_err();
        assert!(err.contains("max_msg"), "{err}");
    }

    #[test]
    fn listen_accepts_off_ports_and_addresses() {
        assert_eq!("off".parse::<Listen>(), Ok(Listen::Off));
        assert_eq!(
            "5514".parse::<Listen>().unwrap().addr().unwrap().port(),
            5514
        );
        assert!("nonsense".parse::<Listen>().is_err());
        let c = Config::parse("[http]\nlisten = \"off\"\n").unwrap();
        assert_eq!(c.http.listen, Listen::Off);
    }

    #[test]
    fn parsers_dir_is_optional() {
        assert_eq!(Config::parse("").unwrap().logs.parsers_dir, None);
        let c = Config::parse("[logs]\nparsers_dir = \"/etc/telltale/parsers\"\n").unwrap();
        assert_eq!(
            c.logs.parsers_dir.as_deref(),
            Some(Path::new("/etc/telltale/parsers"))
        );
    }

    #[test]
    fn monit_users_default_to_monit_monit_and_can_be_replaced() {
        let c = Config::parse("").unwrap();
        assert!(c.monit.uses_default_user());
        let c = Config::parse("[monit]\nusers = [{ user = \"fleet\", password = \"s3cret\" }]\n")
            .unwrap();
        assert!(!c.monit.uses_default_user());
        assert_eq!(c.monit.users[0].user, "fleet");
        assert!(!format!("{:?}", c.monit).contains("s3cret"));
        let mut c = Config::default();
        c.monit.users[0].user = "a:b".into();
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("monit.users")
        );
    }

    #[test]
    fn validation_names_the_bad_key() {
        let mut c = Config::default();
        c.logs.commit_interval_ms = 0;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("logs.commit_interval_ms"), "{e}");
    }
}
