//! Listeners and wire protocols, one module per protocol.
pub mod statsd;
pub mod syslog;
