// Included by smtp-tokio's and smtp-blocking's tests/lettre_interop.rs (feature
// `interop` and `lettre`): `adapter` is the adapter crate, `TAG` names it, `run` runs a
// future on the adapter's executor, `theirs(s)` is lettre's own SMTP transport to
// Postfix (no TLS) and `send!(transport, message)` sends a lettre `Message` through a
// transport (lettre's trait, awaited where it is async). One lettre program, sent
// through lettre's transport and through ours: Postfix must store the same message.

use std::time::{Duration, SystemTime};

use adapter::lettre::message::Mailbox;
use adapter::lettre::Message;
use adapter::{
    Builder, LettrePool, PoolConfig, RecipientStatus, Timeouts, TlsPolicy, TransportError,
};
use smtp_testkit::interop::{strip_postfix_headers, unique, Listener, TestServers};

fn mailbox(tag: &str) -> Mailbox {
    format!("{}@example.com", unique(&format!("{TAG}-lettre-{tag}")))
        .parse()
        .unwrap()
}

/// Ours to Postfix, cleartext as lettre's `builder_dangerous` is.
fn ours(s: &TestServers) -> Builder {
    Builder::new(s.host())
        .port(s.port(Listener::Postfix))
        .starttls(TlsPolicy::Disabled)
        .timeouts(Timeouts::all(Duration::from_secs(30)))
}

/// The program's message: a fixed Date and Message-ID, so that both copies are equal.
fn program(to: &[&Mailbox], cc: &Mailbox, bcc: &Mailbox) -> Message {
    let mut b = Message::builder()
        .from("Sender <sender@example.org>".parse().unwrap())
        .cc(cc.clone())
        .bcc(bcc.clone())
        .subject("the same lettre program")
        .date(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .message_id(Some(format!("<{}@lettre.test>", unique(TAG))));
    for m in to {
        b = b.to((*m).clone());
    }
    // No line end at the end: lettre's own transport writes CRLF.CRLF after the content
    // whatever it ends with, so content ending in CRLF is stored with an empty line more
    // than was written (ours ends the data after it, RFC 5321 §4.1.1.4).
    b.body(String::from(
        "Hello from lettre.\r\n.a line that starts with a dot",
    ))
    .unwrap()
}

fn email(m: &Mailbox) -> String {
    m.email.to_string()
}

#[test]
fn postfix_stores_a_lettre_message_alike_through_lettres_transport_and_ours() {
    let s = TestServers::get();
    let (to, cc, bcc) = (mailbox("to"), mailbox("cc"), mailbox("bcc"));
    let message = program(&[&to], &cc, &bcc);
    run(async {
        let theirs = theirs(&s);
        send!(theirs, message).expect("lettre's transport");
        let pool = LettrePool::new(ours(&s), PoolConfig::default());
        let sent = send!(pool, message).expect("ours");
        assert!(sent.report.all_delivered(), "{sent:?}");
        aw!(pool.close());
    });
    for rcpt in [&to, &cc, &bcc] {
        let copies = s.postfix_copies(&email(rcpt), 2);
        let (a, b) = (
            strip_postfix_headers(&copies[0]),
            strip_postfix_headers(&copies[1]),
        );
        assert_eq!(
            String::from_utf8_lossy(a),
            String::from_utf8_lossy(b),
            "{rcpt}"
        );
        let text = String::from_utf8_lossy(a).to_ascii_lowercase();
        assert!(
            !text.contains("bcc:") && !text.contains(&email(&bcc)),
            "{text}"
        );
        assert!(text.contains("subject: the same lettre program"), "{text}");
    }
}

#[test]
fn a_partial_delivery_is_ok_with_the_refusal_reported_and_nobody_is_a_refused_err() {
    let s = TestServers::get();
    let (to, cc, bcc) = (
        mailbox("partial-to"),
        mailbox("partial-cc"),
        mailbox("partial-bcc"),
    );
    let refused: Mailbox = format!("{}@example.com", unique("reject-lettre"))
        .parse()
        .unwrap();
    let partly = program(&[&to, &refused], &cc, &bcc);
    let nobody: Message = Message::builder()
        .from("Sender <sender@example.org>".parse().unwrap())
        .to(refused.clone())
        .subject("nobody")
        .body(String::from("x\r\n"))
        .unwrap();
    run(async {
        // lettre's own transport gives up on the first refused recipient: nobody gets it.
        assert!(send!(theirs(&s), partly).is_err());
        let pool = LettrePool::new(ours(&s), PoolConfig::default());
        let sent = send!(pool, partly).expect("delivered to three of four");
        assert!(!sent.report.all_delivered());
        let refusals: Vec<bool> = sent
            .report
            .recipients
            .iter()
            .map(|r| matches!(r, RecipientStatus::Rejected(_)))
            .collect();
        assert_eq!(refusals, [false, true, false, false], "{sent:?}");
        match send!(pool, nobody) {
            Err(e @ TransportError::Refused(_)) => {
                assert!(e.is_permanent() && !e.is_transient(), "{e}");
                let report = &e.report().expect("the server's answers").report;
                assert!(matches!(
                    report.recipients[..],
                    [RecipientStatus::Rejected(_)]
                ));
            }
            other => panic!("{other:?}"),
        }
        aw!(pool.close());
    });
    // Ours delivered to the others: each has the one copy ours sent.
    for rcpt in [&to, &cc, &bcc] {
        assert_eq!(s.postfix_copies(&email(rcpt), 1).len(), 1);
    }
}
