//! Shared by this crate's tests.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use smtp_testkit::scenario::EndError;
use smtp_tokio::{Envelope, Error, ForwardPath, ReversePath};

/// Runs a future on a fresh current-thread runtime.
pub fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// `f`, or `None` if `d` runs out first (`f` is then dropped).
pub async fn timeout<F: Future>(d: Duration, f: F) -> Option<F::Output> {
    tokio::time::timeout(d, f).await.ok()
}

/// The adapter's error in the testkit's terms: the core's errors compare with transcripts.
pub fn end_error(e: Error) -> EndError {
    match e {
        Error::Smtp(e) => EndError::Smtp(e),
        Error::Timeout { stage } => {
            EndError::Smtp(smtp_tokio::smtp_proto::Error::Timeout { stage })
        }
        other => EndError::Other(other.to_string()),
    }
}

/// A 7-bit envelope from `sender@example.org`.
pub fn envelope(to: &str) -> Envelope {
    Envelope::new(
        ReversePath::new("sender@example.org").unwrap(),
        [ForwardPath::new(to).unwrap()],
    )
}

/// A TCP connection to `addr`, as the caller's own stream.
pub async fn connect_tcp(addr: std::net::SocketAddr) -> tokio::net::TcpStream {
    tokio::net::TcpStream::connect(addr).await.expect("connect")
}
