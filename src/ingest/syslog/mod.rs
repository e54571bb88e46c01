//! Syslog: TCP framing, RFC 3164 and RFC 5424 parsing, and the UDP/TCP listeners.
pub mod framing;
pub mod listener;

use crate::model::{LogRecord, RawMessage};

/// TEMPORARY stub replaced by the real parser from the syslog branch.
pub fn parse(msg: &RawMessage) -> LogRecord {
    LogRecord {
        timestamp_ns: msg.received_ns,
        received_ns: msg.received_ns,
        host: msg.peer.map(|p| p.to_string()).unwrap_or_default(),
        message: String::from_utf8_lossy(&msg.bytes).into_owned(),
        raw: msg.bytes.clone(),
        severity: Some(5),
        facility: Some(1),
        ..LogRecord::default()
    }
}
