// Shared by the tracing tests of smtp-tokio and smtp-smol, whose APIs are the same: each
// includes this file after `use <adapter crate> as adapter;` and `mod common;` (for
// `block_on`). Included, so no inner attributes or doc comments here.

use std::fmt::{Debug, Write as _};
use std::sync::{Arc, Mutex};

use adapter::{Builder, Credentials, Mechanism, TlsPolicy};
use common::block_on;
use smtp_testkit::server::{Step, StepServer};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Collects every event's message.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<String>>>);

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        }
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut m = Message(String::new());
        event.record(&mut m);
        self.0.lock().unwrap().push(m.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn line(s: &str) -> Step {
    Step::Send(s.as_bytes().to_vec())
}

/// A cleartext session (plaintext AUTH allowed) that authenticates with `mechanism`
/// and sends a NOOP; returns the log lines.
fn session(mechanism: &str, auth: Vec<Step>) -> Vec<String> {
    let mut steps = vec![
        // An escape sequence in the greeting must not reach a terminal raw.
        line("220 mx.example \x1b[2J ESMTP\r\n"),
        Step::expect("EHLO localhost\r\n"),
        line("250-mx.example\r\n250 AUTH PLAIN LOGIN\r\n"),
    ];
    steps.extend(auth);
    steps.extend([
        Step::expect("NOOP\r\n"),
        line("250 2.0.0 Ok\r\n"),
        Step::Hold,
    ]);
    let server = StepServer::start(steps);
    let capture = Capture::default();
    tracing::subscriber::with_default(capture.clone(), || {
        block_on(async {
            let mut b = Builder::new("127.0.0.1")
                .port(server.addr().port())
                .starttls(TlsPolicy::Disabled)
                .allow_plaintext_auth(true)
                .credentials(Credentials::password("alice", "s3cret-pw").unwrap());
            b.config_mut().auth_preference = vec![Mechanism::new(mechanism).unwrap()];
            let mut conn = b.connect().await.expect("connect");
            conn.noop().await.expect("noop");
        })
    });
    server
        .finish()
        .expect("the server saw what the session sends");
    let lines = capture.0.lock().unwrap().clone();
    lines
}

fn assert_no_secret(log: &[String]) {
    let all = log.join("\n");
    // The raw password, then alice, s3cret-pw, and PLAIN's \0alice\0s3cret-pw in base64.
    for secret in [
        "s3cret-pw",
        "YWxpY2U=",
        "czNjcmV0LXB3",
        "AGFsaWNlAHMzY3JldC1wdw==",
    ] {
        assert!(!all.contains(secret), "{secret} logged:\n{all}");
    }
    assert!(!all.contains('\x1b'), "raw escape logged:\n{all}");
    assert!(all.contains("\\x1b[2J"), "escaped greeting missing:\n{all}");
    assert!(
        all.contains("C: NOOP"),
        "logging stopped after AUTH:\n{all}"
    );
}

#[test]
fn auth_plain_initial_response_is_redacted() {
    let log = session(
        "PLAIN",
        vec![
            Step::expect("AUTH PLAIN AGFsaWNlAHMzY3JldC1wdw==\r\n"),
            line("235 2.7.0 Ok\r\n"),
        ],
    );
    assert_no_secret(&log);
    assert!(
        log.iter().any(|l| l == "C: AUTH PLAIN <redacted>"),
        "{log:#?}"
    );
    // One event per reply line, the CRLF dropped.
    let ehlo = ["S: 250-mx.example", "S: 250 AUTH PLAIN LOGIN"];
    assert!(log.windows(2).any(|w| w == ehlo), "{log:#?}");
    assert!(log.iter().any(|l| l == "C: NOOP"), "{log:#?}");
}

#[test]
fn auth_login_answers_are_redacted() {
    let log = session(
        "LOGIN",
        vec![
            Step::expect("AUTH LOGIN\r\n"),
            line("334 VXNlcm5hbWU6\r\n"),
            Step::expect("YWxpY2U=\r\n"),
            line("334 UGFzc3dvcmQ6\r\n"),
            Step::expect("czNjcmV0LXB3\r\n"),
            line("235 2.7.0 Ok\r\n"),
        ],
    );
    assert_no_secret(&log);
    assert!(log.iter().any(|l| l == "C: AUTH LOGIN"), "{log:#?}");
    assert_eq!(
        log.iter().filter(|l| *l == "C: <redacted>").count(),
        2,
        "{log:#?}"
    );
}

/// [`Capture`] at debug level and up, only while `ON` is set: a subscriber switched on
/// mid-session, as a reloaded filter is.
struct Switched(Capture, &'static std::sync::atomic::AtomicBool);

impl Subscriber for Switched {
    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        *meta.level() <= tracing::Level::DEBUG && self.1.load(std::sync::atomic::Ordering::SeqCst)
    }
    /// Asked at every callsite every time, as a filter that may change.
    fn register_callsite(&self, _: &'static Metadata<'static>) -> tracing::subscriber::Interest {
        tracing::subscriber::Interest::sometimes()
    }
    fn new_span(&self, a: &Attributes<'_>) -> Id {
        self.0.new_span(a)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        self.0.event(event)
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Switched on between the AUTH command and its 235: the session never logged the AUTH
/// line, yet the LOGIN responses are redacted (RFC 4954 §4), and what follows is logged.
#[test]
fn a_log_switched_on_mid_auth_logs_the_rest_with_the_responses_redacted() {
    use std::io::{BufRead, BufReader, Write};
    use std::sync::atomic::{AtomicBool, Ordering};
    static ON: AtomicBool = AtomicBool::new(false);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut to, _) = listener.accept().unwrap();
        let mut from = BufReader::new(to.try_clone().unwrap());
        let mut expect = |line: &str| {
            let mut got = String::new();
            from.read_line(&mut got).unwrap();
            assert_eq!(got, line);
        };
        to.write_all(b"220 mx.example\r\n").unwrap();
        expect("EHLO localhost\r\n");
        to.write_all(b"250-mx.example\r\n250 AUTH LOGIN\r\n")
            .unwrap();
        expect("AUTH LOGIN\r\n");
        ON.store(true, Ordering::SeqCst);
        for (challenge, response) in [("VXNlcm5hbWU6", "YWxpY2U="), ("UGFzc3dvcmQ6", "c2VjcmV0")] {
            to.write_all(format!("334 {challenge}\r\n").as_bytes())
                .unwrap();
            expect(&format!("{response}\r\n"));
        }
        to.write_all(b"235 2.7.0 ok\r\n").unwrap();
        expect("NOOP\r\n");
        to.write_all(b"250 2.0.0 ok\r\n").unwrap();
    });
    let capture = Capture::default();
    tracing::subscriber::with_default(Switched(capture.clone(), &ON), || {
        block_on(async {
            let mut b = Builder::new("127.0.0.1")
                .port(port)
                .starttls(TlsPolicy::Disabled)
                .allow_plaintext_auth(true)
                .credentials(Credentials::password("alice", "secret").unwrap());
            b.config_mut().auth_preference = vec![Mechanism::new("LOGIN").unwrap()];
            let mut conn = b.connect().await.expect("connect");
            conn.noop().await.expect("noop");
        })
    });
    server.join().unwrap();
    let log = capture.0.lock().unwrap().clone();
    assert_eq!(
        log,
        [
            "S: 334 VXNlcm5hbWU6",
            "C: <redacted>",
            "S: 334 UGFzc3dvcmQ6",
            "C: <redacted>",
            "S: 235 2.7.0 ok",
            "C: NOOP",
            "S: 250 2.0.0 ok",
        ],
        "{log:#?}"
    );
}
