//! Drives the [`smtp_proto`] client over tokio I/O.
//!
//! The adapter is built in a later step; for now this crate only re-exports the core.

pub use smtp_proto;
