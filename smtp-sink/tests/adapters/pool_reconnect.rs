// A pool reconnects as cheaply as a `Builder` does, because it connects through one:
// its connections share the rustls configuration (TLS sessions resume), ask the
// credentials provider each time and open their streams with the connector. Included
// by blocking.rs, tokio.rs and smol.rs after reconnect.rs (the pools have one API;
// calls go through `aw!`, which awaits only for the async ones). Included, so no inner
// attributes or doc comments here.

use adapter::{Pool, PoolConfig};

/// One connection at a time, retired after one message: each message after the first
/// goes out on a replacement connection.
fn a_connection_per_message() -> PoolConfig {
    let mut pool_config = PoolConfig::default();
    pool_config.max_connections = 1;
    pool_config.max_messages = 1;
    pool_config
}

/// Sends `$n` messages through `$pool`, one after the other. A macro, so that `aw!`
/// works the same for an async pool and a blocking one.
macro_rules! send_in_turn {
    ($pool:expr, $n:expr) => {
        for i in 0..$n {
            let msg = send_one(&format!("pooled {i}"));
            let sent = aw!($pool.send_message(from(), [to("a@x.test")], &msg));
            let report = sent.unwrap_or_else(|e| panic!("message {i}: {e}")).report;
            assert!(report.all_delivered(), "{report:?}");
        }
    };
}

#[test]
fn a_pools_replacement_connections_resume_tls_and_ask_the_provider_again() {
    let sink = token_sink(3);
    let calls = Arc::new(AtomicUsize::new(0));
    let b = builder(&sink).credentials_provider(counting_tokens(calls.clone()));
    block_on(async {
        let pool = Pool::new(b, a_connection_per_message());
        send_in_turn!(pool, 3);
        aw!(pool.close());
    });
    assert_eq!(calls.load(Ordering::SeqCst), 3, "once per connection");
    assert!(sink.wait_for_idle(WAIT));
    let conns = sink.connections();
    let seen: Vec<(bool, usize)> = conns
        .iter()
        .map(|c| {
            let resumed = c.tls.as_ref().expect("TLS").resumed;
            (resumed, c.auth.as_ref().expect("AUTH").credentials)
        })
        .collect();
    assert_eq!(seen, [(false, 0), (true, 1), (true, 2)]);
}

#[test]
fn a_pool_opens_every_connection_through_the_connector() {
    let sink = Sink::start().unwrap();
    let path = smtp_testkit::forward::unix_forwarder(sink.addr());
    let calls = Arc::new(AtomicUsize::new(0));
    // Port 1: nothing listens there; only the connector reaches the sink.
    let b = unix_connector(builder(&sink).port(1), path, calls.clone());
    block_on(async {
        let pool = Pool::new(b, a_connection_per_message());
        send_in_turn!(pool, 3);
        aw!(pool.close());
    });
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert!(sink.wait_for_idle(WAIT));
    assert_eq!(sink.messages().len(), 3);
    assert_eq!(sink.connections().len(), 3);
}

#[test]
fn a_provider_error_is_a_pool_open_failure_and_the_message_gets_it() {
    let sink = Sink::builder().user("alice", "secret").start().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let b = builder(&sink).credentials_provider(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        Err(CredentialsError::permanent("grant revoked"))
    });
    let sent = block_on(async {
        let pool = Pool::new(b, a_connection_per_message());
        let msg = send_one("refused");
        let sent = aw!(pool.send_message(from(), [to("a@x.test")], &msg));
        aw!(pool.close());
        sent
    });
    let e = sent.unwrap_err();
    assert!(matches!(&e, Error::Credentials(_)), "{e:?}");
    assert!(calls.load(Ordering::SeqCst) >= 1);
    assert!(sink.connections().is_empty(), "nothing was opened");
}

#[test]
fn a_transient_provider_error_is_retried_by_the_pool() {
    let sink = token_sink(1);
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let b =
        builder(&sink).credentials_provider(move || match counter.fetch_add(1, Ordering::SeqCst) {
            0 => Err(CredentialsError::transient("token service unreachable")),
            _ => Credentials::oauth2("alice", "token-1").map_err(CredentialsError::permanent),
        });
    block_on(async {
        let pool = Pool::new(b, a_connection_per_message());
        send_in_turn!(pool, 1);
        aw!(pool.close());
    });
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(sink.wait_for_idle(WAIT));
    assert_eq!(sink.messages().len(), 1);
}
