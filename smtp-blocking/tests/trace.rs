//! Feature `tracing`: commands and replies are logged, AUTH payloads never are.
#![cfg(feature = "tracing")]

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use smtp_blocking::Builder;
use smtp_testkit::scenario::{all_transcripts, replay, Outcome, Scenario};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Collects every event's message.
#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<String>>>);

struct Message<'a>(&'a mut String);
impl Visit for Message<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
}

impl Subscriber for Collect {
    /// Debug and up: content lines are trace-level events, shown only on request.
    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        *meta.level() <= tracing::Level::DEBUG
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
