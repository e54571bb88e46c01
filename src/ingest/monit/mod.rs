//! Monit's M/Monit protocol: each Monit posts its full status every cycle, and an extra one
//! carrying an `<event>` on every state change, to `POST /collector` (see `http/monit.rs`).
//!
//! - [`xml`]: body bytes → [`model::Report`], bounded against hostile input
//! - [`convert`]: report → metric points (`monit.<host>.<service>.<field>`) and event records
//! - [`inventory`]: the live host list behind `GET /api/hosts`, with the stale check
//!
//! Metric names, units and the path-node rule are documented in `README.md` beside this file.

pub mod convert;
pub mod inventory;
pub mod model;
pub mod xml;

#[cfg(test)]
mod tests;

use crate::model::{LogRecord, MetricPoint};

/// What one POST turns into.
#[derive(Debug, Default)]
pub struct Converted {
    pub points: Vec<MetricPoint>,
    pub records: Vec<LogRecord>,
}

/// Parses a body and converts it, updating the inventory. `received_ns` is the receive time.
pub fn ingest(
    body: &[u8],
    gzip: bool,
    inventory: &inventory::Inventory,
    received_ns: i64,
) -> Result<Converted, xml::MonitXmlError> {
    let report = xml::parse(body, gzip)?;
    let points = convert::metrics(&report, received_ns.div_euclid(1_000_000_000));
    let mut records: Vec<LogRecord> = inventory.update(&report, received_ns).into_iter().collect();
    records.extend(convert::event_record(&report, received_ns));
    Ok(Converted { points, records })
}
