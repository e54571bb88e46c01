//! statsd ingest: the line protocol ([`parser`]), etsy statsd 0.9.0's aggregation and Graphite
//! naming ([`aggregate`]), and the UDP/TCP listeners feeding one aggregator task ([`listener`]).
//! See `README.md` here for what differs from etsy and why.

pub mod aggregate;
mod js;
pub mod listener;
pub mod parser;

pub use aggregate::{Aggregator, StatsdSettings};
pub use parser::{Line, MetricKind, ParseError, Sample};
