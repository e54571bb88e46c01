//! The metric store (work in progress).
pub mod chunk;
pub mod retention;
