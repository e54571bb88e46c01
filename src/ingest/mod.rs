//! Listeners and wire protocols, one module per protocol.
pub mod syslog;
