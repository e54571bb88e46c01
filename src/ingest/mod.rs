//! Listeners and wire protocols, one module per protocol.
pub mod carbon;
pub mod monit;
pub mod net;
pub mod statsd;
pub mod syslog;
