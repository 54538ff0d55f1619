//! Feature `tracing`: commands and replies are logged, AUTH payloads never are.
#![cfg(feature = "tracing")]

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use smtp_blocking::{Builder, Credentials, Mechanism, TlsPolicy};
use smtp_testkit::scenario::{all_transcripts, replay, Outcome, Scenario};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};

/// Collects every event's message; with a switch, only while it is on.
#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<String>>>, Option<&'static AtomicBool>);

struct Message<'a>(&'a mut String);
impl Visit for Message<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
}

impl Subscriber for Collect {
    /// Debug and up: content lines are trace-level events, shown only on request.
    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        *meta.level() <= tracing::Level::DEBUG && self.1.is_none_or(|on| on.load(Ordering::SeqCst))
    }
    /// Asked at every callsite every time, as a filter that may change.
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut s = String::new();
        event.record(&mut Message(&mut s));
        self.0.lock().unwrap().push(s);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn logged_session(name: &str) -> String {
    let t = all_transcripts()
        .into_iter()
        .find(|t| t.name == name)
        .expect("transcript");
    let s = Scenario::from_transcript(t).unwrap();
    let collect = Collect::default();
    tracing::subscriber::with_default(collect.clone(), || {
        replay(&s, &mut |s, target| {
            let mut b = Builder::new(target.host)
                .port(target.addr.port())
                .tls_config(target.tls_config.clone());
            *b.config_mut() = s.config();
            let mut conn = b.connect().unwrap();
            let reports = conn.send_many(s.messages()).unwrap();
            let outcome = Outcome {
                reports,
                encrypted: conn.is_encrypted(),
                auth_mechanism: conn.auth_mechanism().map(|m| m.to_string()),
                ..Outcome::default()
            };
            conn.quit().unwrap();
            outcome
        })
        .unwrap();
    });
    let log = collect.0.lock().unwrap().join("\n");
    log
}

/// The transcripts' password (`auth=password:alice:secret`) in every form it could leak
/// in: raw, in base64 (LOGIN's answer), and PLAIN's `\0alice\0secret` in base64.
fn assert_no_password(log: &str) {
    for secret in ["secret", "c2VjcmV0", "AGFsaWNlAHNlY3JldA"] {
        assert!(!log.contains(secret), "{secret} logged:\n{log}");
    }
}

#[test]
fn auth_plain_initial_response_is_redacted() {
    let log = logged_session("starttls-auth-plain.txt");
    assert!(log.contains("C: EHLO client.example"), "{log}");
    assert!(log.contains("S: 250-mx.example"), "{log}");
    assert!(log.contains("C: AUTH PLAIN <redacted>"), "{log}");
    assert_no_password(&log);
    // Content is a length, not the text.
    assert!(!log.contains("Hello."), "{log}");
    assert!(log.contains("C: <message data: "), "{log}");
}

#[test]
fn auth_login_responses_are_redacted() {
    let log = logged_session("starttls-login-bdat-chunks-dot-body.txt");
    assert!(log.contains("C: AUTH LOGIN"), "{log}");
    assert!(!log.contains("YWxpY2U="), "{log}");
    assert_no_password(&log);
    assert_eq!(log.matches("C: <redacted>").count(), 2, "{log}");
    // After AUTH, commands are logged again.
    assert!(log.contains("C: MAIL FROM:<alice@example.org>"), "{log}");
}

/// Reads a line the client wrote and checks it.
fn expect(from: &mut BufReader<TcpStream>, line: &str) {
    let mut got = String::new();
    from.read_line(&mut got).unwrap();
    assert_eq!(got, line);
}

/// A subscriber switched on mid-session (as a reloaded filter is) between the AUTH
/// command and its 235: the session never logged the AUTH line, yet the LOGIN responses
/// are redacted (RFC 4954 §4), and what follows 235 is logged.
#[test]
fn a_log_switched_on_mid_auth_logs_the_rest_with_the_responses_redacted() {
    static ON: AtomicBool = AtomicBool::new(false);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut to, _) = listener.accept().unwrap();
        let from = &mut BufReader::new(to.try_clone().unwrap());
        to.write_all(b"220 mx.example\r\n").unwrap();
        expect(from, "EHLO localhost\r\n");
        to.write_all(b"250-mx.example\r\n250 AUTH LOGIN\r\n")
            .unwrap();
        expect(from, "AUTH LOGIN\r\n");
        ON.store(true, Ordering::SeqCst);
        for (challenge, response) in [("VXNlcm5hbWU6", "YWxpY2U="), ("UGFzc3dvcmQ6", "c2VjcmV0")] {
            to.write_all(format!("334 {challenge}\r\n").as_bytes())
                .unwrap();
            expect(from, &format!("{response}\r\n"));
        }
        to.write_all(b"235 2.7.0 ok\r\n").unwrap();
        expect(from, "NOOP\r\n");
        to.write_all(b"250 2.0.0 ok\r\n").unwrap();
        expect(from, "QUIT\r\n");
        to.write_all(b"221 2.0.0 bye\r\n").unwrap();
    });
    let collect = Collect(Arc::default(), Some(&ON));
    tracing::subscriber::with_default(collect.clone(), || {
        let mut b = Builder::new("127.0.0.1")
            .port(port)
            .starttls(TlsPolicy::Disabled)
            .allow_plaintext_auth(true)
            .credentials(Credentials::password("alice", "secret").unwrap());
        b.config_mut().auth_preference = vec![Mechanism::new("LOGIN").unwrap()];
        let mut conn = b.connect().unwrap();
        conn.noop().unwrap();
        conn.quit().unwrap();
    });
    server.join().unwrap();
    let log = collect.0.lock().unwrap().join("\n");
    assert_no_password(&log);
    assert!(!log.contains("YWxpY2U="), "{log}");
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        [
            "message=S: 334 VXNlcm5hbWU6 ",
            "message=C: <redacted> ",
            "message=S: 334 UGFzc3dvcmQ6 ",
            "message=C: <redacted> ",
            "message=S: 235 2.7.0 ok ",
            "message=C: NOOP ",
            "message=S: 250 2.0.0 ok ",
            "message=C: QUIT ",
            "message=S: 221 2.0.0 bye ",
        ],
        "{log}"
    );
}
