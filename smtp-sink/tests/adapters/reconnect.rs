// What makes reconnecting cheap, through every adapter's `Builder` against the sink: one
// rustls configuration (TLS sessions resume), credentials asked of a provider per
// connect, streams opened by the caller's connector. Included by blocking.rs, tokio.rs
// and smol.rs after send_paths.rs (its `builder`, `from`, `to`, `WAIT`) and their
// `connect_unix!`. Included, so no inner attributes or doc comments here.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use adapter::{CredentialsError, Error};

/// A provider that counts its calls and hands out `token-1`, `token-2` ... for alice.
fn counting_tokens(calls: Arc<AtomicUsize>) -> impl Fn() -> Result<Credentials, CredentialsError> {
    move || {
        let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
        Credentials::oauth2("alice", format!("token-{n}")).map_err(CredentialsError::permanent)
    }
}

/// A sink accepting alice's tokens 1 to `n` (XOAUTH2), recording which was used.
fn token_sink(n: usize) -> Sink {
    (1..=n)
        .fold(Sink::builder(), |b, i| {
            b.user("alice", format!("token-{i}"))
        })
        .start()
        .unwrap()
}

fn send_one(conn_tag: &str) -> Vec<u8> {
    format!("Subject: {TAG} {conn_tag}\r\n\r\nreconnect\r\n").into_bytes()
}

fn assert_resumes_from_the_second_connection(sink: Sink, tls: fn(Builder) -> Builder) {
    let b = tls(builder(&sink));
    block_on(async {
        for (i, resumed) in [false, true, true].into_iter().enumerate() {
            let mut conn = aw!(b.clone().connect()).unwrap();
            assert_eq!(conn.tls_resumed(), Some(resumed), "connection {i}");
            let msg = send_one(&i.to_string());
            let report = aw!(conn.send_message(from(), [to("a@x.test")], &msg)).unwrap();
            assert!(report.all_delivered(), "{report:?}");
            aw!(conn.quit()).unwrap();
        }
        // Another builder has another configuration (the sink makes one per call), so
        // none of the sessions above: a full handshake.
        let conn = aw!(tls(builder(&sink)).connect()).unwrap();
        assert_eq!(conn.tls_resumed(), Some(false));
        aw!(conn.quit()).unwrap();
    });
    assert!(sink.wait_for_idle(WAIT));
    let seen: Vec<bool> = sink
        .connections()
        .iter()
        .map(|c| c.tls.as_ref().expect("TLS").resumed)
        .collect();
    assert_eq!(seen, [false, true, true, false], "as the sink saw them");
}

/// Connects through the Unix socket at `path`, counting the calls; checks the target.
fn unix_connector(b: Builder, path: std::path::PathBuf, calls: Arc<AtomicUsize>) -> Builder {
    b.connector(move |target: &adapter::Target| {
        calls.fetch_add(1, Ordering::SeqCst);
        assert_eq!(target.host, "127.0.0.1");
        connect_unix!(path)
    })
}

#[test]
fn starttls_sessions_of_one_builder_resume_from_the_second_connection() {
    assert_resumes_from_the_second_connection(Sink::start().unwrap(), |b| b);
}

#[test]
fn implicit_tls_sessions_of_one_builder_resume_from_the_second_connection() {
    let sink = Sink::builder().implicit_tls().start().unwrap();
    assert_resumes_from_the_second_connection(sink, Builder::implicit_tls);
}

#[test]
fn a_cleartext_session_has_no_tls_to_resume() {
    let sink = Sink::start().unwrap();
    block_on(async {
        let b = builder(&sink).starttls(TlsPolicy::Disabled);
        let conn = aw!(b.connect()).unwrap();
        assert_eq!((conn.tls_version(), conn.tls_resumed()), (None, None));
        aw!(conn.quit()).unwrap();
    });
}

#[test]
fn each_connection_authenticates_with_a_token_the_provider_gave_for_it() {
    let sink = token_sink(2);
    let calls = Arc::new(AtomicUsize::new(0));
    let b = builder(&sink).credentials_provider(counting_tokens(calls.clone()));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "asked only when connecting"
    );
    block_on(async {
        for _ in 0..2 {
            let conn = aw!(b.clone().connect()).unwrap();
            assert_eq!(conn.auth_mechanism(), Some(Mechanism::XOAUTH2));
            aw!(conn.quit()).unwrap();
        }
    });
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(sink.wait_for_idle(WAIT));
    let used: Vec<(String, usize)> = sink
        .connections()
        .iter()
        .map(|c| {
            let auth = c.auth.as_ref().expect("AUTH");
            (auth.mechanism.clone(), auth.credentials)
        })
        .collect();
    assert_eq!(used, [("XOAUTH2".into(), 0), ("XOAUTH2".into(), 1)]);
    assert!(
        sink.connections()
            .iter()
            .flat_map(|c| &c.commands)
            .all(|l| !l.contains("token-")),
        "the sink records no token"
    );
}

/// A provider whose future is pending once before it gives its token, as one that
/// fetches the token would be.
struct Fetching(Arc<AtomicUsize>);

impl adapter::CredentialsProvider for Fetching {
    fn credentials(&self) -> adapter::CredentialsFuture<'_> {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        let mut pending_once = true;
        let fetched = std::future::poll_fn(move |cx| {
            if std::mem::take(&mut pending_once) {
                cx.waker().wake_by_ref();
                return std::task::Poll::Pending;
            }
            std::task::Poll::Ready(())
        });
        Box::pin(async move {
            fetched.await;
            Credentials::oauth2("alice", format!("token-{n}")).map_err(CredentialsError::permanent)
        })
    }
}

#[test]
fn a_provider_that_must_wait_is_awaited_on_every_runtime() {
    let sink = token_sink(2);
    let calls = Arc::new(AtomicUsize::new(0));
    let b = builder(&sink).credentials_provider(Fetching(calls.clone()));
    block_on(async {
        for _ in 0..2 {
            let conn = aw!(b.clone().connect()).unwrap();
            aw!(conn.quit()).unwrap();
        }
    });
    assert!(sink.wait_for_idle(WAIT));
    let used: Vec<usize> = sink
        .connections()
        .iter()
        .map(|c| c.auth.as_ref().expect("AUTH").credentials)
        .collect();
    assert_eq!(used, [0, 1]);
}

#[test]
fn a_provider_error_fails_the_connect_before_anything_is_opened() {
    let sink = Sink::builder().user("alice", "secret").start().unwrap();
    let b =
        builder(&sink).credentials_provider(|| Err(CredentialsError::permanent("grant revoked")));
    let e = block_on(async { aw!(b.connect()).map(|_| ()) }).unwrap_err();
    assert!(
        matches!(&e, Error::Credentials(c) if !c.is_transient()),
        "{e:?}"
    );
    assert!(e.is_permanent());
    assert_eq!(e.to_string(), "no credentials: grant revoked");
    assert!(sink.connections().is_empty(), "nothing was opened");
}

#[test]
fn a_builders_debug_shows_neither_a_password_nor_a_provider_token() {
    let sink = token_sink(1);
    let calls = Arc::new(AtomicUsize::new(0));
    let fixed = builder(&sink).credentials(Credentials::password("alice", "hunter2").unwrap());
    let provided = builder(&sink).credentials_provider(counting_tokens(calls.clone()));
    let debug = format!("{fixed:?} {provided:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("CredentialsProvider"), "{debug}");
}

#[test]
fn a_connector_opens_every_stream_and_tls_and_auth_run_over_it() {
    let sink = token_sink(2);
    let path = smtp_testkit::forward::unix_forwarder(sink.addr());
    let calls = Arc::new(AtomicUsize::new(0));
    let provided = Arc::new(AtomicUsize::new(0));
    // Port 1: nothing listens there; only the connector reaches the sink.
    let b = unix_connector(builder(&sink).port(1), path, calls.clone())
        .credentials_provider(counting_tokens(provided.clone()));
    block_on(async {
        for i in 0..2 {
            let mut conn = aw!(b.clone().connect()).unwrap();
            assert_eq!(conn.tls_resumed(), Some(i > 0), "connection {i}");
            let msg = send_one(&format!("unix {i}"));
            let report = aw!(conn.send_message(from(), [to("a@x.test")], &msg)).unwrap();
            assert!(report.all_delivered(), "{report:?}");
            aw!(conn.quit()).unwrap();
        }
    });
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(provided.load(Ordering::SeqCst), 2);
    assert!(sink.wait_for_idle(WAIT));
    assert_eq!(sink.messages().len(), 2);
    assert!(sink.connections().iter().all(|c| c.tls.is_some()));
}

#[test]
fn a_connectors_error_is_the_connects_io_error() {
    let sink = Sink::start().unwrap();
    let missing = std::env::temp_dir().join(format!("smtp-no-such-{}.sock", std::process::id()));
    let calls = Arc::new(AtomicUsize::new(0));
    let b = unix_connector(builder(&sink), missing, calls.clone());
    let e = block_on(async { aw!(b.connect()).map(|_| ()) }).unwrap_err();
    assert!(
        matches!(&e, Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound),
        "{e:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(sink.connections().is_empty());
}
