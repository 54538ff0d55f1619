//! A sans-IO SMTP and LMTP client.
//!
//! `smtp-proto` consumes the bytes a server sends and produces the bytes a client must
//! write. It owns no socket, no clock, no async runtime and no TLS library: time comes in
//! as an argument, deadlines go out as values, and "start TLS now" goes out as an
//! instruction. The adapters `smtp-blocking`, `smtp-tokio` and `smtp-smol` drive it.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod body;
pub mod command;
pub mod ehlo;
pub(crate) mod escape;
pub mod line;
pub mod reply;
