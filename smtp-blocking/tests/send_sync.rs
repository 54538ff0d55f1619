//! `Connection` and `Builder` are `Send + Sync`, so a connection can move to another
//! thread or sit behind a `Mutex` shared by several, and `Pool` is `Clone + Send +
//! Sync`, so every thread can hold one: checked at compile time (this test fails by not
//! building). smtp-proto's tests/send_sync.rs checks the core's types.

// The checks are type-checked, never called.
#![allow(dead_code)]

use smtp_blocking::{Builder, Connection, Error, Pool, PoolReport, Proxy, ProxyError, Socket};

fn assert_send_sync<T: Send + Sync>() {}
fn assert_shared<T: Clone + Send + Sync>() {}

fn types_are_send_and_sync() {
    assert_send_sync::<Builder>();
    assert_send_sync::<Connection>();
    assert_send_sync::<Error>();
    assert_shared::<Pool>();
    assert_send_sync::<PoolReport>();
    assert_send_sync::<Proxy>();
    assert_send_sync::<ProxyError>();
}

/// Over the caller's own stream (a Unix socket for LMTP ...), `Connection` is as
/// thread-safe as the stream.
fn connection_over_any_stream_is_send_and_sync<S: Socket + Send + Sync>() {
    assert_send_sync::<Connection<S>>();
}
