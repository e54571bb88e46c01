//! Types that cross stage boundaries, named by their state: bytes as they arrived
//! ([`RawMessage`]) and the normalized record every later stage works on ([`LogRecord`]).

pub mod time;

use std::net::IpAddr;

/// How a message reached us; kept on the record so an operator can tell UDP loss from TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
    Http,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::Http => "http",
        }
    }
}

/// One syslog message exactly as framed off the wire, before any parsing.
#[derive(Debug, Clone)]
pub struct RawMessage {
    /// Receive time in nanoseconds since the Unix epoch: resolves RFC 3164's missing year
    /// and stands in for a timestamp the sender did not give.
    pub received_ns: i64,
    /// The sender's address, used as the host when the message names none.
    pub peer: Option<IpAddr>,
    /// Which listener took it.
    pub transport: Transport,
    /// The frame's bytes without framing (no octet count, no trailing LF/CRLF/NUL).
    pub bytes: Vec<u8>,
    /// The frame was longer than the configured maximum and was cut.
    pub truncated: bool,
}

/// Syslog severities (RFC 5424 §6.2.1), 0 = emergency … 7 = debug.
pub const SEVERITY_NAMES: [&str; 8] = [
    "emergency",
    "alert",
    "critical",
    "error",
    "warning",
    "notice",
    "info",
    "debug",
];

/// Syslog facilities (RFC 5424 §6.2.1) by code, with the names rsyslog uses.
pub const FACILITY_NAMES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];

/// Looks up a severity by name (and the common aliases `warn`, `err`, `crit`, `emerg`, `panic`)
/// or by number.
pub fn severity_from_str(s: &str) -> Option<u8> {
    let l = s.to_ascii_lowercase();
    if let Ok(n) = l.parse::<u8>() {
        return (n < 8).then_some(n);
    }
    let n = match l.as_str() {
        "emergency" | "emerg" | "panic" => 0,
        "alert" => 1,
        "critical" | "crit" => 2,
        "error" | "err" => 3,
        "warning" | "warn" => 4,
        "notice" => 5,
        "info" | "informational" => 6,
        "debug" => 7,
        _ => return None,
    };
    Some(n)
}

/// Looks up a facility by name (also `security`/`auth` variants) or by number.
pub fn facility_from_str(s: &str) -> Option<u8> {
    let l = s.to_ascii_lowercase();
    if let Ok(n) = l.parse::<u8>() {
        return (n < 24).then_some(n);
    }
    FACILITY_NAMES.iter().position(|f| *f == l).map(|p| p as u8)
}

/// The normalized log record: what the store indexes and the search API returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogRecord {
    /// Event time in ns since the epoch: the message's own timestamp when it had one
    /// (converted to UTC), otherwise the receive time.
    pub timestamp_ns: i64,
    /// When telltale received it (ns since the epoch); lets an operator spot clock skew.
    pub received_ns: i64,
    /// Sending host as the message names it, or the peer address when it names none.
    pub host: String,
    /// Program name (RFC 3164 TAG / RFC 5424 APP-NAME), empty when unknown.
    pub app: String,
    /// Process id as sent (RFC 5424 PROCID may be any token), empty when absent.
    pub pid: String,
    /// 0-7 (RFC 5424 numbering); None only for records that carried no PRI and no default applies.
    pub severity: Option<u8>,
    /// 0-23; None like severity.
    pub facility: Option<u8>,
    /// RFC 5424 MSGID, empty when absent or NILVALUE.
    pub msgid: String,
    /// The free-text message (UTF-8, lossy where the sender sent invalid bytes).
    pub message: String,
    /// Extracted fields: RFC 5424 structured data as `sdid.param`, later normalizer fields.
    pub fields: Vec<(String, String)>,
    /// The original frame, byte for byte; what `raw` search hits and archives keep.
    pub raw: Vec<u8>,
}

/// One metric sample as every metrics ingest path produces it (statsd flush, carbon plaintext,
/// Monit): a Graphite path, a value and a timestamp in whole seconds (Graphite's resolution).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    /// The series name as carbon stores it: a dotted path, with tags (if any) normalized to
    /// `name;k1=v1;k2=v2`, keys sorted.
    pub name: String,
    pub value: f64,
    /// Seconds since the Unix epoch.
    pub timestamp: i64,
}
