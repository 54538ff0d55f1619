// Shared by the interop tests of smtp-tokio and smtp-smol, whose APIs are the same: each
// includes this file after `use <adapter crate> as adapter;`, `const TAG: &str` (the
// adapter's name, put in every address so the runs do not mix), `mod common;` with
// `block_on` and `connect_tcp`. Included, so no inner attributes or doc comments here.

use std::time::Duration;

use adapter::smtp_proto::TxnFailure;
use adapter::{
    Builder, Credentials, Envelope, ForwardPath, Mechanism, MessageOutcome, RecipientStatus,
    Report, ReversePath, Timeouts, TlsPolicy,
};
use common::{block_on, connect_tcp};
use smtp_testkit::interop::{
    assert_aiosmtpd_stored, assert_bcc_not_written, assert_postfix_stored, unique, ClientTap,
    Listener, TestServers,
};

const FROM: &str = "sender@example.org";

fn builder(s: &TestServers, l: Listener) -> Builder {
    Builder::new(s.host())
        .port(s.port(l))
        .tls_config(s.tls_config())
        .timeouts(Timeouts::all(Duration::from_secs(30)))
}

/// To Postfix through `tap`, cleartext so that the tap sees what is written.
fn cleartext_through(s: &TestServers, tap: &ClientTap) -> Builder {
    builder(s, Listener::Postfix)
        .port(tap.addr().port())
        .starttls(TlsPolicy::Disabled)
}

fn with_auth(s: &TestServers, b: Builder, mechanism: &str) -> Builder {
    let mut b = b.credentials(Credentials::password(s.user(), s.password()).unwrap());
    b.config_mut().auth_preference = vec![Mechanism::new(mechanism).unwrap()];
    b
}

fn address(tag: &str) -> String {
    format!("{}@example.com", unique(tag))
}

fn to(a: &str) -> ForwardPath {
    ForwardPath::new(a).unwrap()
}

fn from() -> ReversePath {
    ReversePath::new(FROM).unwrap()
}

/// A small message with a dot-led line (dot-stuffing under DATA) and `extra` lines.
fn message(rcpt: &str, subject: &str, extra: &str) -> Vec<u8> {
    format!(
        "From: {FROM}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n\r\nHello from smtp-{TAG}.\r\n\
         .a line that starts with a dot\r\n{extra}"
    )
    .into_bytes()
}

fn assert_delivered(report: &Report) {
    assert!(report.all_delivered(), "{report:?}");
}

/// STARTTLS, AUTH with `mechanism`, one message; the stored copy is the message sent.
fn starttls_auth(l: Listener, mechanism: &str) {
    let s = TestServers::get();
    let rcpt = address(&format!("{TAG}-auth-{}", mechanism.to_lowercase()));
    let msg = message(&rcpt, "STARTTLS and AUTH", "");
    block_on(async {
        let b = builder(&s, l).starttls(TlsPolicy::Required);
        let mut conn = with_auth(&s, b, mechanism)
            .connect()
            .await
            .expect("connect");
        assert!(conn.is_encrypted());
        assert_eq!(conn.auth_mechanism().unwrap().as_str(), mechanism);
        let report = conn.send_message(from(), [to(&rcpt)], &msg).await.unwrap();
        assert_delivered(&report);
        conn.quit().await.expect("quit");
    });
    match l {
        Listener::Postfix => assert_postfix_stored(&s.postfix_message(&rcpt), &msg),
        _ => assert_aiosmtpd_stored(&s.aiosmtpd_message(&rcpt), &msg),
    }
}

#[test]
fn postfix_starttls_auth_plain() {
    starttls_auth(Listener::Postfix, "PLAIN");
}

#[test]
fn postfix_starttls_auth_login() {
    starttls_auth(Listener::Postfix, "LOGIN");
}

#[test]
fn aiosmtpd_starttls_auth_plain() {
    starttls_auth(Listener::Aiosmtpd, "PLAIN");
}

#[test]
fn aiosmtpd_starttls_auth_login() {
    starttls_auth(Listener::Aiosmtpd, "LOGIN");
}

fn implicit_tls(l: Listener) {
    let s = TestServers::get();
    let rcpt = address(&format!("{TAG}-implicit"));
    let msg = message(&rcpt, "implicit TLS", "");
    block_on(async {
        let b = builder(&s, l).implicit_tls();
        let mut conn = with_auth(&s, b, "PLAIN").connect().await.expect("connect");
        assert!(conn.is_encrypted());
        let report = conn.send_message(from(), [to(&rcpt)], &msg).await.unwrap();
        assert_delivered(&report);
        conn.quit().await.expect("quit");
    });
    match l {
        Listener::PostfixTls => assert_postfix_stored(&s.postfix_message(&rcpt), &msg),
        _ => assert_aiosmtpd_stored(&s.aiosmtpd_message(&rcpt), &msg),
    }
}

#[test]
fn postfix_implicit_tls() {
    implicit_tls(Listener::PostfixTls);
}

#[test]
fn aiosmtpd_implicit_tls() {
    implicit_tls(Listener::AiosmtpdTls);
}

/// One of three recipients refused at RCPT: the message still goes to the other two.
#[test]
fn three_recipients_one_rejected() {
    let s = TestServers::get();
    let (a, r, c) = (
        address(&format!("{TAG}-3a")),
        address(&format!("reject-{TAG}")),
        address(&format!("{TAG}-3c")),
    );
    let msg = message(&a, "three recipients", "");
    let report = block_on(async {
        let mut conn = builder(&s, Listener::Postfix)
            .connect()
            .await
            .expect("connect");
        let report = conn
            .send_message(from(), [to(&a), to(&r), to(&c)], &msg)
            .await
            .unwrap();
        conn.quit().await.expect("quit");
        report
    });
    assert!(
        report
            .outcome
            .as_ref()
            .is_some_and(MessageOutcome::is_accepted),
        "{report:?}"
    );
    assert!(matches!(
        &report.recipients[0],
        RecipientStatus::Accepted(_)
    ));
    match &report.recipients[1] {
        RecipientStatus::Rejected(reply) => assert_eq!(reply.code().get(), 550),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        &report.recipients[2],
        RecipientStatus::Accepted(_)
    ));
    assert_postfix_stored(&s.postfix_message(&a), &msg);
    assert_postfix_stored(&s.postfix_message(&c), &msg);
    assert!(!s.postfix_has(&r));
}

/// Postfix offers CHUNKING: the body goes out in several BDAT chunks (over 64 KiB, seen
/// on the wire through a tap, no DATA), dot lines kept.
#[test]
fn postfix_bdat() {
    let s = TestServers::get();
    let rcpt = address(&format!("{TAG}-bdat"));
    let lines: String = (0..6000)
        .map(|i| format!(".line {i} of a chunked body\r\n"))
        .collect();
    let msg = message(&rcpt, "BDAT", &lines);
    assert!(msg.len() > 2 * 64 * 1024);
    let tap = ClientTap::start(s.addr(Listener::Postfix));
    block_on(async {
        let mut conn = cleartext_through(&s, &tap)
            .connect()
            .await
            .expect("connect");
        assert!(conn.capabilities().chunking());
        let report = conn.send_message(from(), [to(&rcpt)], &msg).await.unwrap();
        assert_delivered(&report);
        conn.quit().await.expect("quit");
    });
    let sent = tap.sent();
    let commands = sent.windows(5).filter(|w| w.starts_with(b"BDAT ")).count();
    assert!(
        commands >= 2,
        "{commands} BDAT commands for {} octets",
        msg.len()
    );
    assert!(!sent.windows(6).any(|w| w == b"DATA\r\n"), "DATA was used");
    assert_postfix_stored(&s.postfix_message(&rcpt), &msg);
}

/// A UTF-8 address (RFC 6531) and a UTF-8 header: SMTPUTF8 goes out, Postfix takes it.
#[test]
fn postfix_smtputf8_address() {
    let s = TestServers::get();
    let rcpt = format!("{}@example.com", unique(&format!("{TAG}-üñí")));
    let msg = message(&rcpt, "Grüße, ünïcödé", "Körper.\r\n");
    block_on(async {
        let mut conn = builder(&s, Listener::Postfix)
            .connect()
            .await
            .expect("connect");
        assert!(conn.capabilities().smtputf8());
        let report = conn.send_message(from(), [to(&rcpt)], &msg).await.unwrap();
        assert_delivered(&report);
        conn.quit().await.expect("quit");
    });
    assert_postfix_stored(&s.postfix_message(&rcpt), &msg);
}

/// 8-bit content: BODY=8BITMIME declared and the octets stored unchanged.
#[test]
fn aiosmtpd_eight_bit_body() {
    let s = TestServers::get();
    let rcpt = address(&format!("{TAG}-8bit"));
    let msg = message(
        &rcpt,
        "8-bit",
        "Gr\u{fc}\u{df}e aus K\u{f6}ln \u{2014} \u{20ac}5\r\n",
    );
    block_on(async {
        let b = builder(&s, Listener::Aiosmtpd);
        let mut conn = with_auth(&s, b, "PLAIN").connect().await.expect("connect");
        let report = conn.send_message(from(), [to(&rcpt)], &msg).await.unwrap();
        assert_delivered(&report);
        conn.quit().await.expect("quit");
    });
    let stored = s.aiosmtpd_message(&rcpt);
    assert!(
        stored.envelope.contains("BODY=8BITMIME"),
        "{}",
        stored.envelope
    );
    assert_aiosmtpd_stored(&stored, &msg);
}

#[test]
fn postfix_eight_bit_body() {
    let s = TestServers::get();
    let rcpt = address(&format!("{TAG}-8bit"));
    let msg = message(&rcpt, "8-bit", "\u{fc}\u{df}\u{e9}\u{ff}\r\n");
    block_on(async {
        let mut conn = builder(&s, Listener::Postfix)
            .connect()
            .await
            .expect("connect");
        let report = conn.send_message(from(), [to(&rcpt)], &msg).await.unwrap();
        assert_delivered(&report);
        conn.quit().await.expect("quit");
    });
    assert_postfix_stored(&s.postfix_message(&rcpt), &msg);
}

/// 5 MiB, read from an `AsyncRead` in chunks: every octet arrives.
#[test]
fn postfix_five_mib_body() {
    let s = TestServers::get();
    let rcpt = address(&format!("{TAG}-5mib"));
    let line = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-+*/.,;:!?\r\n";
    let lines = line.repeat(5 * 1024 * 1024 / line.len() + 1);
    let msg = message(&rcpt, "5 MiB", &lines);
    assert!(msg.len() >= 5 * 1024 * 1024);
    block_on(async {
        let mut conn = builder(&s, Listener::Postfix)
            .connect()
            .await
            .expect("connect");
        let envelope = Envelope::new(from(), [to(&rcpt)]).size(msg.len() as u64);
        let report = conn.send(envelope, &msg[..]).await.unwrap();
        assert_delivered(&report);
        conn.quit().await.expect("quit");
    });
    assert_postfix_stored(&s.postfix_message(&rcpt), &msg);
}

/// 50 messages pipelined on one connection, each to its own recipient.
#[test]
fn postfix_fifty_messages_on_one_connection() {
    let s = TestServers::get();
    let tag = unique(&format!("{TAG}-50"));
    let rcpts: Vec<String> = (0..50).map(|i| format!("{tag}-{i}@example.com")).collect();
    let msgs: Vec<Vec<u8>> = rcpts
        .iter()
        .map(|r| message(r, "one of fifty", ""))
        .collect();
    let reports = block_on(async {
        let mut conn = builder(&s, Listener::Postfix)
            .connect()
            .await
            .expect("connect");
        assert!(conn.capabilities().pipelining());
        let batch = rcpts
            .iter()
            .zip(&msgs)
            .map(|(r, m)| (Envelope::new(from(), [to(r)]), &m[..]));
        let reports = conn.send_many(batch).await.unwrap();
        conn.quit().await.expect("quit");
        reports
    });
    assert_eq!(reports.len(), 50);
    for (i, report) in reports.iter().enumerate() {
        assert_eq!(report.txn.get(), i as u64);
        assert_delivered(report);
    }
    for (r, m) in rcpts.iter().zip(&msgs) {
        assert_postfix_stored(&s.postfix_message(r), m);
    }
}

/// LMTP over a caller's stream: one final reply per recipient after the data, the
/// refused one (local part `reject...`) failing alone.
#[test]
fn lmtp_per_recipient_replies() {
    let s = TestServers::get();
    let (a, r, c) = (
        address(&format!("{TAG}-lmtp-a")),
        address(&format!("reject-{TAG}-lmtp")),
        address(&format!("{TAG}-lmtp-c")),
    );
    let msg = message(&a, "LMTP", "");
    let report = block_on(async {
        let stream = connect_tcp(s.addr(Listener::Lmtp)).await;
        let mut conn = builder(&s, Listener::Lmtp)
            .lmtp(true)
            .starttls(TlsPolicy::Disabled)
            .connect_stream(stream)
            .await
            .expect("connect");
        let report = conn
            .send_message(from(), [to(&a), to(&r), to(&c)], &msg)
            .await
            .unwrap();
        conn.quit().await.expect("quit");
        report
    });
    assert!(report.is_complete(), "{report:?}");
    assert!(report
        .recipients
        .iter()
        .all(|s| matches!(s, RecipientStatus::Accepted(_))));
    assert!(
        matches!(report.deliveries[0], Some(MessageOutcome::Accepted(_))),
        "{report:?}"
    );
    match &report.deliveries[1] {
        Some(MessageOutcome::Failed(TxnFailure::Rejected { reply, .. })) => {
            assert_eq!(reply.code().get(), 550)
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(report.deliveries[2], Some(MessageOutcome::Accepted(_))),
        "{report:?}"
    );
    // One stored message for the transaction; the server delivered it to a and c only.
    let stored = s.aiosmtpd_message(&a);
    assert_aiosmtpd_stored(&stored, &msg);
    let delivered = stored
        .envelope
        .split("\"delivered_to\"")
        .nth(1)
        .unwrap_or("");
    assert!(
        delivered.contains(&a) && delivered.contains(&c),
        "{}",
        stored.envelope
    );
    assert!(!delivered.contains(&r), "{}", stored.envelope);
}

/// Two connections from one builder (so one rustls configuration and session cache) to
/// Postfix, which keeps TLS sessions (session tickets, tlsmgr): the first handshake is
/// full, the second resumes. Both tell the certificate Postfix presented.
fn postfix_resumes(l: Listener, tls: fn(Builder) -> Builder) {
    let s = TestServers::get();
    let b = tls(builder(&s, l));
    block_on(async {
        for (i, resumed) in [false, true].into_iter().enumerate() {
            let conn = b.clone().connect().await.expect("connect");
            assert_eq!(conn.tls_resumed(), Some(resumed), "connection {i}");
            let chain = conn.peer_certificates().expect("a TLS session");
            assert_eq!(chain.first(), Some(&s.certificate()), "connection {i}");
            conn.quit().await.expect("quit");
        }
    });
}

#[test]
fn postfix_starttls_sessions_of_one_builder_resume() {
    postfix_resumes(Listener::Postfix, |b| b.starttls(TlsPolicy::Required));
}

#[test]
fn postfix_implicit_tls_sessions_of_one_builder_resume() {
    postfix_resumes(Listener::PostfixTls, Builder::implicit_tls);
}

/// `send_mail`: the envelope from the header (To, and a folded Bcc naming two more), and
/// no Bcc field in what went to Postfix (Postfix's cleanup would strip one itself, so
/// the bytes written are read from a tap) nor in what it stored.
#[test]
fn postfix_send_mail_delivers_to_the_header_recipients_and_no_bcc_is_sent() {
    let s = TestServers::get();
    let (rcpt, hidden, hidden2) = (
        address(&format!("{TAG}-mail-to")),
        address(&format!("{TAG}-mail-bcc")),
        address(&format!("{TAG}-mail-bcc2")),
    );
    let bcc = format!("Bcc: {hidden},\r\n Second <{hidden2}>\r\n");
    let head = format!("From: {FROM}\r\nTo: {rcpt}\r\n");
    let rest = "Subject: send_mail\r\n\r\nHello.\r\n";
    let msg = format!("{head}{bcc}{rest}");
    let tap = ClientTap::start(s.addr(Listener::Postfix));
    block_on(async {
        let mut conn = cleartext_through(&s, &tap)
            .connect()
            .await
            .expect("connect");
        let report = conn.send_mail(msg.as_bytes()).await.unwrap();
        assert_delivered(&report);
        assert_eq!(report.recipients.len(), 3);
        conn.quit().await.expect("quit");
    });
    assert_bcc_not_written(&tap.sent(), &[&hidden, &hidden2]);
    let sent = format!("{head}{rest}");
    for stored in s.postfix_messages(&[&rcpt, &hidden, &hidden2]) {
        assert_postfix_stored(&stored, sent.as_bytes());
    }
}
