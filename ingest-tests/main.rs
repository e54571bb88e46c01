//! The one integration-test binary: drives the real `telltale` binary over real sockets with
//! real senders (`logger`, rsyslogd). Regression tests are named after their issue.

mod archive_e2e;
mod durability;
mod grafana_e2e;
mod graphite_golden;
mod graphite_tags_e2e;
mod harness;
mod loghub;
mod metrics_e2e;
mod monit_e2e;
mod normalizer;
mod retention_e2e;
mod syslog_e2e;
