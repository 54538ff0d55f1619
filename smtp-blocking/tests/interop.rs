//! Interop with real servers (Postfix, aiosmtpd) started by `scripts/test-servers start`.
//! Feature `interop`; the tests panic (never skip) when the servers are not running.
//!
//! Every test compares the bytes each server stored with what was sent: nothing lost,
//! nothing altered (after the headers Postfix adds; Postfix stores LF line ends).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use smtp_blocking::smtp_proto::command::BodyType;
use smtp_blocking::smtp_proto::TxnFailure;
use smtp_blocking::{
    Builder, Connection, Credentials, Envelope, ForwardPath, Mechanism, MessageOutcome,
    RecipientStatus, Report, ReversePath, Socket, Timeouts, TlsPolicy,
};
use smtp_testkit::interop::{
    assert_aiosmtpd_stored, assert_bcc_not_written, assert_postfix_stored, unique, ClientTap,
    Listener, TestServers,
};

const DOMAIN: &str = "interop.test";

fn servers() -> TestServers {
    TestServers::get()
}

fn addr(local: &str) -> String {
    format!("{local}@{DOMAIN}")
}

/// A message with every header Postfix would otherwise add, so it is stored unchanged.
fn message(from: &str, to: &str, subject: &str, body: &str) -> Vec<u8> {
    message_bytes(from, to, subject, body.as_bytes())
}

fn message_bytes(from: &str, to: &str, subject: &str, body: &[u8]) -> Vec<u8> {
    let mut m = format!(
        "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <{}@{DOMAIN}>\r\nFrom: <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n\r\n",
        unique("id")
    )
    .into_bytes();
    m.extend_from_slice(body);
    m
}

fn builder(s: &TestServers, l: Listener) -> Builder {
    // The certificate is for `localhost`; connect_stream below connects to 127.0.0.1.
    Builder::new(s.tls_name())
        .tls_config(s.tls_config())
        .timeouts(Timeouts::all(Duration::from_secs(30)))
        .port(s.port(l))
}

fn connect(s: &TestServers, l: Listener, b: Builder) -> Connection<TcpStream> {
    let tcp = TcpStream::connect(s.addr(l)).expect("connect");
    tcp.set_nodelay(true).unwrap();
    b.connect_stream(tcp).expect("session set-up")
}

fn with_auth(s: &TestServers, b: Builder, mechanism: &str) -> Builder {
    let mut b = b.credentials(Credentials::password(s.user(), s.password()).unwrap());
    b.config_mut().auth_preference = vec![Mechanism::new(mechanism).unwrap()];
    b
}

fn from() -> ReversePath {
    ReversePath::new(&addr("sender")).unwrap()
}

fn to(a: &str) -> ForwardPath {
    ForwardPath::new(a).unwrap()
}

fn assert_accepted(r: &Report) {
    assert!(
        matches!(r.outcome, Some(MessageOutcome::Accepted(_))),
        "not accepted: {r:?}"
    );
}

fn send_one_and_check(l: Listener, mechanism: Option<&str>, implicit: bool) {
    let s = servers();
    let rcpt = addr(&unique("one"));
    let mut b = builder(&s, l);
    if implicit {
        b = b.implicit_tls();
    }
    if let Some(m) = mechanism {
        b = with_auth(&s, b, m);
    }
    let mut conn = connect(&s, l, b);
    assert!(conn.is_encrypted());
    assert_eq!(
        conn.auth_mechanism().as_ref().map(Mechanism::as_str),
        mechanism
    );
    let msg = message(
        &addr("sender"),
        &rcpt,
        "one",
        "Hello.\r\n.A line starting with a dot\r\n..two dots\r\n",
    );
    let report = conn.send_message(from(), [to(&rcpt)], &msg).unwrap();
    assert_accepted(&report);
    conn.quit().unwrap();
    check_stored(&s, l, &rcpt, &msg);
}

fn check_stored(s: &TestServers, l: Listener, rcpt: &str, sent: &[u8]) {
    match l {
        Listener::Postfix | Listener::PostfixTls => {
            assert_postfix_stored(&s.postfix_message(rcpt), sent)
        }
        _ => assert_aiosmtpd_stored(&s.aiosmtpd_message(rcpt), sent),
    }
}

#[test]
fn postfix_starttls_auth_plain() {
    send_one_and_check(Listener::Postfix, Some("PLAIN"), false);
}

#[test]
fn postfix_starttls_auth_login() {
    send_one_and_check(Listener::Postfix, Some("LOGIN"), false);
}

#[test]
fn aiosmtpd_starttls_auth_plain() {
    send_one_and_check(Listener::Aiosmtpd, Some("PLAIN"), false);
}

#[test]
fn aiosmtpd_starttls_auth_login() {
    send_one_and_check(Listener::Aiosmtpd, Some("LOGIN"), false);
}

#[test]
fn postfix_implicit_tls_with_auth() {
    send_one_and_check(Listener::PostfixTls, Some("PLAIN"), true);
}

#[test]
fn aiosmtpd_implicit_tls_without_auth() {
    send_one_and_check(Listener::AiosmtpdTls, None, true);
}

#[test]
fn connect_by_ip_address_verifies_the_ip_name() {
    // Builder::connect with the IP address as host: the certificate's IP name is checked.
    let s = servers();
    let rcpt = addr(&unique("resolve"));
    let b = Builder::new(s.host())
        .tls_config(s.tls_config())
        .port(s.port(Listener::Postfix));
    let b = with_auth(&s, b, "PLAIN");
    let mut conn = b.connect().expect("connect via name resolution");
    let msg = message(&addr("sender"), &rcpt, "resolve", "Hi.\r\n");
    assert_accepted(&conn.send_message(from(), [to(&rcpt)], &msg).unwrap());
    conn.quit().unwrap();
    check_stored(&s, Listener::Postfix, &rcpt, &msg);
}

#[test]
fn three_recipients_one_rejected() {
    let s = servers();
    let tag = unique("three");
    let (a, bad, c) = (
        addr(&format!("{tag}-a")),
        addr(&format!("reject-{tag}")),
        addr(&format!("{tag}-c")),
    );
    for l in [Listener::Postfix, Listener::Aiosmtpd] {
        let mut conn = connect(&s, l, with_auth(&s, builder(&s, l), "PLAIN"));
        let msg = message(&addr("sender"), &a, "three", "To three, one refused.\r\n");
        let report = conn
            .send_message(from(), [to(&a), to(&bad), to(&c)], &msg)
            .unwrap();
        assert!(matches!(report.recipients[0], RecipientStatus::Accepted(_)));
        match &report.recipients[1] {
            RecipientStatus::Rejected(r) => assert_eq!(r.code().get(), 550, "{l:?}"),
            other => panic!("{l:?}: {other:?}"),
        }
        assert!(matches!(report.recipients[2], RecipientStatus::Accepted(_)));
        assert_accepted(&report);
        conn.quit().unwrap();
        match l {
            Listener::Postfix => {
                check_stored(&s, l, &a, &msg);
                check_stored(&s, l, &c, &msg);
                assert!(
                    !s.postfix_has(&bad),
                    "the refused recipient got the message"
                );
            }
            _ => {
                // aiosmtpd stores one file for the transaction, with both recipients.
                let stored = s.aiosmtpd_message(&a);
                assert!(stored.envelope.contains(&c) && !stored.envelope.contains(&bad));
                assert_aiosmtpd_stored(&stored, &msg);
            }
        }
    }
}

/// Records what the client writes in cleartext (no TLS, no AUTH on this session).
struct Recording {
    tcp: TcpStream,
    written: Arc<Mutex<Vec<u8>>>,
}

impl Read for Recording {
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        self.tcp.read(b)
    }
}
impl Write for Recording {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let n = self.tcp.write(b)?;
        self.written.lock().unwrap().extend_from_slice(&b[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}
impl Socket for Recording {
    fn set_timeout(&mut self, t: Option<Duration>) -> io::Result<()> {
        self.tcp.set_timeout(t)
    }
}

#[test]
fn postfix_gets_bdat_and_a_5_mib_body_intact() {
    let s = servers();
    let rcpt = addr(&unique("bdat"));
    let written = Arc::new(Mutex::new(Vec::new()));
    let stream = Recording {
        tcp: TcpStream::connect(s.addr(Listener::Postfix)).unwrap(),
        written: written.clone(),
    };
    let mut conn = builder(&s, Listener::Postfix)
        .starttls(TlsPolicy::Disabled)
        .connect_stream(stream)
        .unwrap();
    assert!(conn.capabilities().chunking(), "Postfix offers CHUNKING");
    let mut body = String::new();
    let mut i = 0;
    while body.len() < 5 * 1024 * 1024 {
        // Lines starting with a dot, long lines, and 8-bit text.
        body.push_str(&format!(".{i:08} Grüße, {} end\r\n", "x".repeat(i % 900)));
        i += 1;
    }
    let msg = message(&addr("sender"), &rcpt, "bdat 5 MiB", &body);
    let report = conn.send_message(from(), [to(&rcpt)], &msg).unwrap();
    assert_accepted(&report);
    conn.quit().unwrap();
    let w = written.lock().unwrap();
    assert!(w.windows(5).any(|x| x == b"BDAT "), "BDAT was not used");
    assert!(!w.windows(6).any(|x| x == b"DATA\r\n"), "DATA was used");
    assert!(
        w.windows(13).any(|x| x == b"BODY=8BITMIME"),
        "8-bit body undeclared"
    );
    drop(w);
    check_stored(&s, Listener::Postfix, &rcpt, &msg);
}

#[test]
fn aiosmtpd_gets_a_5_mib_body_over_data_intact() {
    let s = servers();
    let rcpt = addr(&unique("data5m"));
    let mut conn = connect(
        &s,
        Listener::Aiosmtpd,
        with_auth(&s, builder(&s, Listener::Aiosmtpd), "PLAIN"),
    );
    let mut body = String::new();
    let mut i = 0;
    while body.len() < 5 * 1024 * 1024 {
        body.push_str(&format!(".{i:08} {}\r\n", "y".repeat(i % 980)));
        i += 1;
    }
    let msg = message(&addr("sender"), &rcpt, "data 5 MiB", &body);
    // Through `send` and a reader: the content is streamed, not taken whole.
    let env = Envelope::new(from(), [to(&rcpt)]);
    assert_accepted(&conn.send(env, &msg[..]).unwrap());
    conn.quit().unwrap();
    check_stored(&s, Listener::Aiosmtpd, &rcpt, &msg);
}

#[test]
fn eight_bit_body_to_both_servers() {
    let s = servers();
    for l in [Listener::Postfix, Listener::Aiosmtpd] {
        let rcpt = addr(&unique("8bit"));
        let mut conn = connect(&s, l, with_auth(&s, builder(&s, l), "PLAIN"));
        let msg = message_bytes(
            &addr("sender"),
            &rcpt,
            "8bit",
            &[
                "Grüße aus Köln — ½ € ✓\r\n".as_bytes(),
                b"\xff is not UTF-8 but 8-bit\r\n",
            ]
            .concat(),
        );
        let env = Envelope::new(from(), [to(&rcpt)]).body(BodyType::EightBitMime);
        assert_accepted(&conn.send_bytes(env, &msg).unwrap());
        conn.quit().unwrap();
        check_stored(&s, l, &rcpt, &msg);
    }
}

#[test]
fn smtputf8_address_to_postfix() {
    let s = servers();
    let local = format!("jürgen-{}", unique("utf8"));
    let rcpt = addr(&local);
    let mut conn = connect(
        &s,
        Listener::Postfix,
        with_auth(&s, builder(&s, Listener::Postfix), "PLAIN"),
    );
    assert!(conn.capabilities().smtputf8());
    let msg = message(
        &addr("sender"),
        &rcpt,
        "Grüße an Jürgen",
        "UTF-8 everywhere.\r\n",
    );
    let report = conn.send_message(from(), [to(&rcpt)], &msg).unwrap();
    assert_accepted(&report);
    conn.quit().unwrap();
    check_stored(&s, Listener::Postfix, &rcpt, &msg);
}

#[test]
fn fifty_messages_on_one_connection() {
    let s = servers();
    for l in [Listener::Postfix, Listener::Aiosmtpd] {
        let tag = unique("fifty");
        let rcpts: Vec<String> = (0..50).map(|i| addr(&format!("{tag}-{i}"))).collect();
        let msgs: Vec<Vec<u8>> = rcpts
            .iter()
            .enumerate()
            .map(|(i, r)| {
                message(
                    &addr("sender"),
                    r,
                    &format!("{i} of 50"),
                    &format!("Message {i}.\r\n"),
                )
            })
            .collect();
        let mut conn = connect(&s, l, with_auth(&s, builder(&s, l), "PLAIN"));
        let reports = conn
            .send_many(
                rcpts
                    .iter()
                    .zip(&msgs)
                    .map(|(r, m)| (Envelope::new(from(), [to(r)]), &m[..])),
            )
            .unwrap();
        assert_eq!(reports.len(), 50);
        for r in &reports {
            assert_accepted(r);
        }
        conn.quit().unwrap();
        if l == Listener::Postfix {
            let names: Vec<&str> = rcpts.iter().map(String::as_str).collect();
            for (stored, m) in s.postfix_messages(&names).iter().zip(&msgs) {
                assert_postfix_stored(stored, m);
            }
        } else {
            for (r, m) in rcpts.iter().zip(&msgs) {
                check_stored(&s, l, r, m);
            }
        }
    }
}

#[test]
fn lmtp_reports_each_recipient() {
    let s = servers();
    let tag = unique("lmtp");
    let (a, bad, c) = (
        addr(&format!("{tag}-a")),
        addr(&format!("reject-{tag}")),
        addr(&format!("{tag}-c")),
    );
    let b = builder(&s, Listener::Lmtp)
        .lmtp(true)
        .starttls(TlsPolicy::Disabled);
    let mut conn = connect(&s, Listener::Lmtp, b);
    let msg = message(&addr("sender"), &a, "lmtp", "Per-recipient replies.\r\n");
    let report = conn
        .send_message(from(), [to(&a), to(&bad), to(&c)], &msg)
        .unwrap();
    // Every RCPT is accepted; the verdicts come after the data, one per recipient.
    assert!(report
        .recipients
        .iter()
        .all(|r| matches!(r, RecipientStatus::Accepted(_))));
    assert!(matches!(
        report.deliveries[0],
        Some(MessageOutcome::Accepted(_))
    ));
    match &report.deliveries[1] {
        Some(MessageOutcome::Failed(TxnFailure::Rejected { reply, .. })) => {
            assert_eq!(reply.code().get(), 550)
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        report.deliveries[2],
        Some(MessageOutcome::Accepted(_))
    ));
    assert!(!report.all_delivered());
    conn.quit().unwrap();
    let stored = s.aiosmtpd_message(&a);
    // The envelope line is Python's json.dumps: `"key": value`, list items joined by ", ".
    // It was the LMTP listener that stored it, for the accepted recipients only.
    let env = &stored.envelope;
    assert!(env.contains(r#""listener": "lmtp""#), "{env}");
    assert!(
        env.contains(&format!(r#""delivered_to": ["{a}", "{c}"]"#)),
        "{env}"
    );
    assert_aiosmtpd_stored(&stored, &msg);
}

/// Two connections from one builder (so one rustls configuration and session cache) to
/// Postfix, which keeps TLS sessions (session tickets, tlsmgr): the first handshake is
/// full, the second resumes. The builder verifies the certificate's name (`localhost`)
/// and its connector reaches the listener's address (as `connect` above does by hand).
fn postfix_resumes(l: Listener, tls: fn(Builder) -> Builder) {
    let s = servers();
    let addr = s.addr(l);
    let b = tls(builder(&s, l)).connector(move |_: &smtp_blocking::Target| {
        let tcp = TcpStream::connect(addr)?;
        tcp.set_nodelay(true)?;
        Ok(tcp)
    });
    for (i, resumed) in [false, true].into_iter().enumerate() {
        let conn = b.clone().connect().expect("connect");
        assert_eq!(conn.tls_resumed(), Some(resumed), "connection {i}");
        let chain = conn.peer_certificates().expect("a TLS session");
        assert_eq!(chain.first(), Some(&s.certificate()), "connection {i}");
        conn.quit().expect("quit");
    }
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
    let s = servers();
    let (rcpt, hidden, hidden2) = (
        addr(&unique("blocking-mail-to")),
        addr(&unique("blocking-mail-bcc")),
        addr(&unique("blocking-mail-bcc2")),
    );
    let bcc = format!("Bcc: {hidden},\r\n Second <{hidden2}>\r\n");
    let head = format!(
        "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <{}@{DOMAIN}>\r\nFrom: <a@{DOMAIN}>\r\nTo: <{rcpt}>\r\n",
        unique("id")
    );
    let rest = "Subject: send_mail\r\n\r\nHello.\r\n";
    let msg = format!("{head}{bcc}{rest}");
    let tap = ClientTap::start(s.addr(Listener::Postfix));
    // Cleartext, so that the tap sees the content.
    let mut conn = Builder::new(s.host())
        .port(tap.addr().port())
        .starttls(TlsPolicy::Disabled)
        .timeouts(Timeouts::all(Duration::from_secs(30)))
        .connect()
        .expect("connect");
    let report = conn.send_mail(msg.as_bytes()).unwrap();
    assert!(report.all_delivered(), "{report:?}");
    assert_eq!(report.recipients.len(), 3);
    conn.quit().unwrap();
    assert_bcc_not_written(&tap.sent(), &[&hidden, &hidden2]);
    let sent = format!("{head}{rest}");
    for stored in s.postfix_messages(&[&rcpt, &hidden, &hidden2]) {
        assert_postfix_stored(&stored, sent.as_bytes());
    }
}
