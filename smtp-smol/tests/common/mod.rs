//! Shared by this crate's tests.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

/// Runs a future on smol's executor (async-io's reactor).
pub(crate) fn block_on<F: Future>(f: F) -> F::Output {
    smol::block_on(f)
}

/// `f`, or `None` if `d` runs out first (`f` is then dropped).
pub(crate) async fn timeout<F: Future>(d: Duration, f: F) -> Option<F::Output> {
    let timer = async {
        async_io::Timer::after(d).await;
        None
    };
    futures_lite::future::or(async { Some(f.await) }, timer).await
}

/// A TCP connection to `addr`, as the caller's own stream.
pub(crate) async fn connect_tcp(
    addr: std::net::SocketAddr,
) -> async_io::Async<std::net::TcpStream> {
    async_io::Async::<std::net::TcpStream>::connect(addr)
        .await
        .expect("connect")
}
