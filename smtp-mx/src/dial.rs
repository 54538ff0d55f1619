//! Dial.
