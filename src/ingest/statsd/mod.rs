//! statsd ingest: the line protocol ([`parser`]) and etsy statsd 0.9.0's aggregation and
//! Graphite naming ([`aggregate`]).

pub mod aggregate;
mod js;
pub mod parser;

pub use aggregate::{Aggregator, StatsdSettings};
pub use parser::{Line, MetricKind, ParseError, Sample};
