//! The high-level API's own decisions, over scripted loopback servers.

use std::io::{self, Read};

use smtp_blocking::smtp_proto::{self, body::BodyError, Reply, ReplyCode, TxnError};
use smtp_blocking::{
    Builder, Connection, Envelope, Error, ForwardPath, MessageOutcome, ReversePath, Stage,
    TlsPolicy,
};
use smtp_testkit::server::ScriptedServer;
use smtp_testkit::transcript::Transcript;

const SETUP: &str = "\
S: 220 mx.example ESMTP\\r\\n
C: EHLO client.example\\r\\n
S: 250-mx.example\\r\\n250-PIPELINING\\r\\n250-8BITMIME\\r\\n250-SMTPUTF8\\r\\n250 SIZE 100000\\r\\n
";

fn session(script: &str) -> (ScriptedServer, Connection) {
    let t = Transcript::parse("api.txt", &format!("{SETUP}{script}"));
    let server = ScriptedServer::start(&t);
    let mut b = Builder::new("127.0.0.1")
        .port(server.addr().port())
        .starttls(TlsPolicy::Disabled);
    b.config_mut().ehlo_name = smtp_proto::command::EhloName::new("client.example").unwrap();
    let conn = b.connect().unwrap();
    (server, conn)
}

fn env() -> Envelope {
    Envelope::new(
        ReversePath::new("a@example.org").unwrap(),
        [ForwardPath::new("b@example.net").unwrap()],
    )
}

#[test]
fn send_message_declares_8bitmime_size_and_smtputf8_from_the_bytes() {
    let msg = "Subject: Grüße\r\n\r\nÜ\r\n";
    let (server, mut conn) = session(&format!(
        "C: MAIL FROM:<a@example.org> SIZE={} BODY=8BITMIME SMTPUTF8\\r\\nRCPT TO:<b@example.net>\\r\\nDATA\\r\\n
S: 250 Ok\\r\\n250 Ok\\r\\n354 Go\\r\\n
C: Subject: Gr\\xc3\\xbc\\xc3\\x9fe\\r\\n\\r\\n\\xc3\\x9c\\r\\n.\\r\\n
S: 250 Queued\\r\\n
C: QUIT\\r\\n
S: 221 Bye\\r\\n
",
        msg.len()
    ));
    let report = conn
        .send_message(
            ReversePath::new("a@example.org").unwrap(),
            [ForwardPath::new("b@example.net").unwrap()],
            msg.as_bytes(),
        )
        .unwrap();
    assert!(report.all_delivered());
    conn.quit().unwrap();
    server.finish().unwrap();
}

#[test]
fn send_message_refuses_a_nul_before_sending_anything() {
    let (server, mut conn) = session("C: QUIT\\r\\n\nS: 221 Bye\\r\\n\n");
    let r = conn.send_message(
        ReversePath::new("a@example.org").unwrap(),
        [ForwardPath::new("b@example.net").unwrap()],
        b"Subject: x\r\n\r\na\0b\r\n",
    );
    match r {
        Err(Error::Refused(TxnError::Body(BodyError::Nul { offset: 15 }))) => {}
        other => panic!("{other:?}"),
    }
    // The session is unharmed.
    conn.quit().unwrap();
    server.finish().unwrap();
}

#[test]
fn a_rejected_message_is_a_report_not_an_error_and_noop_rset_work() {
    let (server, mut conn) = session(
        "\
C: MAIL FROM:<a@example.org>\\r\\nRCPT TO:<b@example.net>\\r\\nDATA\\r\\n
S: 250 Ok\\r\\n250 Ok\\r\\n354 Go\\r\\n
C: x\\r\\n.\\r\\n
S: 554 5.7.1 Spam\\r\\n
C: NOOP\\r\\n
S: 250 Still here\\r\\n
C: RSET\\r\\n
S: 250 Reset again\\r\\n
C: QUIT\\r\\n
S: 221 Bye\\r\\n
",
    );
    let report = conn.send_bytes(env(), b"x\r\n").unwrap();
    match &report.outcome {
        Some(MessageOutcome::Failed(f)) => assert!(!f.is_transient()),
        other => panic!("{other:?}"),
    }
    assert_eq!(conn.noop().unwrap().code().get(), 250);
    assert_eq!(conn.rset().unwrap().first_line(), b"Reset again");
    conn.quit().unwrap();
    server.finish().unwrap();
}

struct FailingReader(usize);
impl Read for FailingReader {
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        if self.0 == 0 {
            return Err(io::Error::other("disk on fire"));
        }
        self.0 -= 1;
        b[0] = b'x';
        Ok(1)
    }
}

#[test]
fn a_body_that_cannot_be_read_drops_the_connection_without_the_end_marker() {
    let (server, mut conn) = session(
        "\
C: MAIL FROM:<a@example.org>\\r\\nRCPT TO:<b@example.net>\\r\\nDATA\\r\\n
S: 250 Ok\\r\\n250 Ok\\r\\n354 Go\\r\\n
",
    );
    match conn.send(env(), FailingReader(3)) {
        Err(Error::Io(e)) => assert_eq!(e.to_string(), "disk on fire"),
        other => panic!("{other:?}"),
    }
    // Later calls report the same death.
    assert!(matches!(conn.noop(), Err(Error::Io(_))));
    assert!(matches!(conn.quit(), Err(Error::Io(_))));
    server.finish().unwrap();
}

/// A body reader that panics once DATA is open, the panic caught by the caller: the
/// message is half-sent, so the connection is poisoned and later calls say so
/// (`Error::Cancelled`, as the error's docs promise for the blocking adapter too).
#[test]
fn a_panic_caught_from_a_body_reader_poisons_the_connection() {
    struct PanickingReader;
    impl Read for PanickingReader {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            panic!("reader bug");
        }
    }
    let (server, mut conn) = session(
        "\
C: MAIL FROM:<a@example.org>\\r\\nRCPT TO:<b@example.net>\\r\\nDATA\\r\\n
S: 250 Ok\\r\\n250 Ok\\r\\n354 Go\\r\\n
",
    );
    let sent = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        conn.send(env(), PanickingReader)
    }));
    assert!(sent.is_err(), "the reader's panic reaches the caller");
    assert!(matches!(conn.noop(), Err(Error::Cancelled)));
    assert!(matches!(conn.quit(), Err(Error::Cancelled)));
    server.finish().unwrap();
}

#[test]
fn an_envelope_without_recipients_is_misuse() {
    let (server, mut conn) = session("C: QUIT\\r\\n\nS: 221 Bye\\r\\n\n");
    let env = Envelope::new(
        ReversePath::new("a@example.org").unwrap(),
        Vec::<ForwardPath>::new(),
    );
    assert!(matches!(
        conn.send_bytes(env, b"x"),
        Err(Error::Usage(smtp_blocking::UsageError::NoRecipients))
    ));
    conn.quit().unwrap();
    server.finish().unwrap();
}

#[test]
fn error_classes() {
    let reply = |code| Reply::new(ReplyCode::new(code).unwrap(), &[b"x"]).unwrap();
    let e421 = Error::Smtp(smtp_proto::Error::ServiceUnavailable(reply(421)));
    let e554 = Error::Smtp(smtp_proto::Error::ServiceUnavailable(reply(554)));
    assert!(e421.is_transient() && !e421.is_permanent());
    assert!(e554.is_permanent() && !e554.is_transient());
    let t = Error::Timeout { stage: Stage::Mail };
    assert!(t.is_transient() && !t.is_permanent());
    let io = Error::Io(io::Error::other("x"));
    assert!(io.is_transient() && !io.is_permanent());
    let tls = Error::Smtp(smtp_proto::Error::TlsRequired(
        smtp_proto::TlsRequiredError::NotOffered,
    ));
    assert!(tls.is_permanent() && !tls.is_transient());
    let malformed = Error::Smtp(smtp_proto::Error::ResponseInjection);
    assert!(!malformed.is_permanent() && !malformed.is_transient());
}

/// LMTP over a Unix socket the caller opened (`connect_stream`); the server side is a
/// fixed script on the other end of a socket pair.
#[cfg(unix)]
#[test]
fn lmtp_over_a_unix_socket() {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::net::UnixStream;

    let (client, server) = UnixStream::pair().unwrap();
    let peer = std::thread::spawn(move || {
        let mut w = server.try_clone().unwrap();
        let mut r = BufReader::new(server);
        let mut got = Vec::new();
        let mut line = String::new();
        let say = |w: &mut UnixStream, s: &str| w.write_all(s.as_bytes()).unwrap();
        say(&mut w, "220 lmtp.example LMTP\r\n");
        for reply in [
            "250 lmtp.example\r\n",
            "250 Ok\r\n",
            "250 Ok\r\n",
            "250 Ok\r\n",
            "354 Go\r\n",
        ] {
            line.clear();
            r.read_line(&mut line).unwrap();
            got.push(line.clone());
            say(&mut w, reply);
        }
        loop {
            line.clear();
            r.read_line(&mut line).unwrap();
            got.push(line.clone());
            if line == ".\r\n" {
                break;
            }
        }
        say(
            &mut w,
            "250 2.0.0 to one\r\n452 4.2.2 two is over quota\r\n",
        );
        line.clear();
        r.read_line(&mut line).unwrap();
        got.push(line.clone());
        say(&mut w, "221 Bye\r\n");
        got.concat()
    });
    let mut b = Builder::new("localhost")
        .lmtp(true)
        .starttls(TlsPolicy::Disabled);
    b.config_mut().ehlo_name = smtp_proto::command::EhloName::new("client.example").unwrap();
    let mut conn = b.connect_stream(client).unwrap();
    let env = Envelope::new(
        ReversePath::new("a@example.org").unwrap(),
        [
            ForwardPath::new("one@example.net").unwrap(),
            ForwardPath::new("two@example.net").unwrap(),
        ],
    );
    let report = conn.send_bytes(env, b"Subject: x\r\n\r\nhi\r\n").unwrap();
    assert!(matches!(
        report.deliveries[0],
        Some(MessageOutcome::Accepted(_))
    ));
    match &report.deliveries[1] {
        Some(MessageOutcome::Failed(f)) => assert!(f.is_transient()),
        other => panic!("{other:?}"),
    }
    conn.quit().unwrap();
    assert_eq!(
        peer.join().unwrap(),
        "LHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<one@example.net>\r\n\
         RCPT TO:<two@example.net>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n"
    );
}

#[cfg(feature = "rustls")]
fn implicit_tls_server() -> ScriptedServer {
    ScriptedServer::start(&Transcript::parse(
        "tls.txt",
        "config: tls=implicit\nS: 220 mx.example ESMTP\\r\\n\n",
    ))
}

#[cfg(feature = "rustls")]
#[test]
fn an_untrusted_certificate_fails_the_handshake() {
    // Default trust anchors (webpki-roots) do not include the test certificate.
    let server = implicit_tls_server();
    let r = Builder::new("127.0.0.1")
        .port(server.addr().port())
        .implicit_tls()
        .connect();
    match r {
        Err(e @ Error::Tls(rustls::Error::InvalidCertificate(_))) => assert!(e.is_permanent()),
        other => panic!("{other:?}"),
    }
    assert!(
        server.finish().is_err(),
        "the server saw no handshake complete"
    );
}

#[cfg(feature = "rustls")]
#[test]
fn a_certificate_for_another_name_fails_the_handshake() {
    let server = implicit_tls_server();
    let tcp = std::net::TcpStream::connect(server.addr()).unwrap();
    let r = Builder::new("mx.example.org")
        .implicit_tls()
        .tls_config(smtp_testkit::tls::TestCert::get().client_config())
        .connect_stream(tcp);
    match r {
        Err(Error::Tls(rustls::Error::InvalidCertificate(c))) => {
            assert!(format!("{c:?}").contains("NotValidForName"), "{c:?}")
        }
        other => panic!("{other:?}"),
    }
    let _ = server.finish();
}

/// A window of 0 would leave a pipelining session with nothing to write and nothing to
/// wait for (smtp_proto::Config::validate). `connect` refuses it before it connects:
/// the error is the configuration's, not the refused TCP connection's.
#[test]
fn a_config_that_would_hang_is_refused_before_connecting() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut builder = smtp_blocking::Builder::new("127.0.0.1")
        .port(port)
        .starttls(smtp_blocking::TlsPolicy::Disabled);
    builder.config_mut().window = 0;
    let refused = builder.connect();
    assert!(
        matches!(
            refused,
            Err(smtp_blocking::Error::Usage(
                smtp_blocking::UsageError::InvalidConfig(_)
            ))
        ),
        "{refused:?}"
    );
}
