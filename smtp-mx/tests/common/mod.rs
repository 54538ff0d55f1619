//! Helpers shared by the test suites (each suite uses some).
#![allow(dead_code)]

pub(crate) mod dns;
pub(crate) mod tls;
