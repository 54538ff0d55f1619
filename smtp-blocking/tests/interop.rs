//! Interop tests (written below).
