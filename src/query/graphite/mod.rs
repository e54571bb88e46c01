//! Graphite's render language: the target grammar, the series model, an evaluator and the
//! function library (one file per function under `functions/`).
pub mod eval;
pub mod functions;
pub mod parser;
pub mod series;
