//! Shared by this crate's tests.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use smtp_smol::{Envelope, Error, ForwardPath, ReversePath};
use smtp_testkit::scenario::EndError;

/// Runs a future on smol's executor (async-io's reactor).
pub fn block_on<F: Future>(f: F) -> F::Output {
    smol::block_on(f)
}

/// `f`, or `None` if `d` runs out first (`f` is then dropped).
pub async fn timeout<F: Future>(d: Duration, f: F) -> Option<F::Output> {
    let timer = async {
        async_io::Timer::after(d).await;
        None
    };
    futures_lite::future::or(async { Some(f.await) }, timer).await
}

/// The adapter's error in the testkit's terms: the core's errors compare with transcripts.
pub fn end_error(e: Error) -> EndError {
    match e {
        Error::Smtp(e) => EndError::Smtp(e),
        Error::Timeout { stage } => EndError::Smtp(smtp_smol::smtp_proto::Error::Timeout { stage }),
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
pub async fn connect_tcp(addr: std::net::SocketAddr) -> async_io::Async<std::net::TcpStream> {
    async_io::Async::<std::net::TcpStream>::connect(addr)
        .await
        .expect("connect")
}
