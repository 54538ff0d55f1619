//! Shared by this crate's tests.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

/// Runs a future on a fresh current-thread runtime.
pub(crate) fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// `f`, or `None` if `d` runs out first (`f` is then dropped).
pub(crate) async fn timeout<F: Future>(d: Duration, f: F) -> Option<F::Output> {
    tokio::time::timeout(d, f).await.ok()
}

/// A TCP connection to `addr`, as the caller's own stream.
pub(crate) async fn connect_tcp(addr: std::net::SocketAddr) -> tokio::net::TcpStream {
    tokio::net::TcpStream::connect(addr).await.expect("connect")
}
