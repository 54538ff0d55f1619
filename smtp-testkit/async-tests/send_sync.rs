// Shared by the Send/Sync tests of smtp-tokio and smtp-smol, whose APIs are the same:
// each includes this file after `use <adapter crate> as adapter;` and
// `use <its I/O traits>::{AsyncRead, AsyncWrite};`. Included, so no inner attributes or
// doc comments here.
//
// Compile-time checks: the functions below are never called, but they only type-check
// if every public future of the adapter is `Send` (so that `tokio::spawn`, `smol::spawn`
// and multi-threaded web frameworks accept it) and if `Connection` and `Builder` are
// `Send + Sync`. A failing check is a build error. smtp-proto's tests/send_sync.rs
// checks the core's types.

use adapter::{Builder, Connection, Envelope, Error, ForwardPath, Proxy, ProxyError, ReversePath};

fn assert_send<T: Send>(_: &T) {}

fn assert_send_sync<T: Send + Sync>() {}

/// The types a caller keeps across tasks or shares between threads.
fn types_are_send_and_sync() {
    assert_send_sync::<Builder>();
    assert_send_sync::<Connection>();
    assert_send_sync::<Error>();
    assert_send_sync::<Proxy>();
    assert_send_sync::<ProxyError>();
}

/// Over the caller's own stream, `Connection` is as thread-safe as the stream.
fn connection_over_any_stream_is_send_and_sync<S>()
where
    S: AsyncRead + AsyncWrite + Unpin + Send + Sync,
{
    assert_send_sync::<Connection<S>>();
}

/// Connecting over TCP.
fn connect_is_send(b: Builder) {
    assert_send(&b.connect());
}

/// Connecting through a SOCKS5 proxy (its handshake runs inside `connect`'s future).
fn connect_through_a_proxy_is_send(b: Builder, proxy: Proxy) {
    assert_send(&b.proxy(proxy).connect());
}

/// Every other future, over any `Send` stream (TCP's, which `connect` returns, is one;
/// `types_are_send_and_sync` checks that).
fn futures_over_any_send_stream_are_send<S>(
    b: Builder,
    stream: S,
    mut c: Connection<S>,
    envelope: Envelope,
    from: ReversePath,
    to: ForwardPath,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    assert_send(&b.connect_stream(stream));
    assert_send(&c.send(envelope.clone(), &b"Hi\r\n"[..]));
    assert_send(&c.send_bytes(envelope.clone(), b"Hi\r\n"));
    assert_send(&c.send_message(from, [to], b"Hi\r\n"));
    assert_send(&c.send_mail(&b"From: a@x.test\r\nTo: b@x.test\r\n\r\nHi\r\n"[..]));
    assert_send(&c.send_mail(String::from("From: a@x.test\r\nTo: b@x.test\r\n\r\n")));
    assert_send(&c.send_many([(envelope, &b"Hi\r\n"[..])]));
    assert_send(&c.noop());
    assert_send(&c.rset());
    assert_send(&c.quit());
}

/// A pool's `send_mail` futures, whatever the message input, so that a task can send
/// a mail-builder or lettre message through a shared pool.
#[cfg(all(feature = "mail-builder", feature = "lettre"))]
fn pool_send_mail_is_send(
    pool: adapter::Pool,
    built: adapter::mail_builder::MessageBuilder<'static>,
    lettre: adapter::lettre::Message,
) {
    assert_send(&pool.send_mail(built));
    assert_send(&pool.send_mail(lettre));
    assert_send(&pool.send_mail(b"From: a@x.test\r\nTo: b@x.test\r\n\r\n"));
}

/// `mx::deliver` may run in a spawned task (feature `mx`), with any resolver.
#[cfg(feature = "mx")]
fn mx_deliver_is_send<R: smtp_mx::dns::AsyncResolve>(
    job: adapter::mx::MxJob<'_>,
    resolver: R,
    dyn_resolver: &dyn smtp_mx::dns::AsyncResolve,
    roots: smtp_mx::tls::Roots,
) {
    let dialer = adapter::mx::tcp_dialer();
    assert_send(&adapter::mx::deliver(&job, &resolver, &dialer, &roots));
    assert_send(&adapter::mx::deliver(&job, dyn_resolver, &dialer, &roots));
    assert_send_sync::<adapter::mx::Delivered>();
}
