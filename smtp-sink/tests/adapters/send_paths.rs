// Every adapter's send paths against the sink, comparing what the sink recorded with what
// was sent. Included by blocking.rs, tokio.rs and smol.rs after `use <adapter> as
// adapter;`, `const TAG: &str`, `mod common;`, a `block_on` and a macro `aw!` (`.await`
// for the async adapters, nothing for the blocking one). Included, so no inner
// attributes or doc comments here.

use std::time::Duration;

use adapter::{
    Builder, Credentials, Envelope, ForwardPath, Mechanism, MessageOutcome, RecipientStatus,
    ReversePath, Timeouts, TlsPolicy,
};
use common::{dotted_message, only_message, recipients, verbs};
use smtp_sink::{param, Action, Extension, Match, Rule, Sink, Transfer};

const WAIT: Duration = Duration::from_secs(10);

/// Short reply deadlines: a sink that fails to answer fails the test, not hangs it.
fn builder(sink: &Sink) -> Builder {
    Builder::new("127.0.0.1")
        .port(sink.port())
        .tls_config(sink.client_config())
        .timeouts(Timeouts::all(WAIT))
}

fn with_auth(b: Builder, mechanism: &str) -> Builder {
    let mut b = b.credentials(Credentials::password("alice", "secret").unwrap());
    b.config_mut().auth_preference = vec![Mechanism::new(mechanism).unwrap()];
    b
}

fn from() -> ReversePath {
    ReversePath::new("sender@example.org").unwrap()
}

fn to(a: &str) -> ForwardPath {
    ForwardPath::new(a).unwrap()
}

fn param_value(params: &[smtp_sink::Param], keyword: &str) -> Option<String> {
    param(params, keyword).map(|p| p.value.clone().unwrap_or_default())
}

#[test]
fn starttls_auth_plain_and_data_unstuffed_with_mail_rcpt_data_in_one_flight() {
    let sink = Sink::builder()
        .user("alice", "secret")
        .auth_requires_tls(true)
        .start()
        .unwrap();
    let msg = dotted_message(TAG);
    block_on(async {
        let b = with_auth(builder(&sink), "PLAIN").chunking(false);
        let mut conn = aw!(b.connect()).unwrap();
        let report =
            aw!(conn.send_message(from(), [to("a@x.test"), to("b@x.test")], &msg)).unwrap();
        assert!(report.all_delivered(), "{report:?}");
        aw!(conn.quit()).unwrap();
    });
    assert!(sink.wait_for_idle(WAIT));
    let m = only_message(&sink);
    assert_eq!(m.content, msg, "DATA un-stuffed to the bytes sent");
    assert_eq!(m.transfer, Transfer::Data);
    assert_eq!(m.from.as_str(), "sender@example.org");
    assert_eq!(recipients(&m), ["a@x.test", "b@x.test"]);
    assert!(m.tls);
    assert_eq!(m.auth_user.as_deref(), Some("alice"));
    assert!(m.accepted());
    let c = &sink.connections()[0];
    let tls = c.tls.as_ref().expect("TLS recorded");
    assert!(!tls.implicit);
    let auth = c.auth.as_ref().expect("AUTH recorded");
    assert_eq!(
        (auth.mechanism.as_str(), auth.user.as_str()),
        ("PLAIN", "alice")
    );
    assert!(!c
        .commands
        .iter()
        .any(|l| l.contains(&b64("\0alice\0secret"))));
    assert_eq!(
        verbs(c),
        ["EHLO", "STARTTLS", "EHLO", "AUTH", "MAIL", "RCPT", "RCPT", "DATA", "QUIT"]
    );
    // EHLO, STARTTLS, EHLO, AUTH, MAIL+RCPT+RCPT+DATA (PIPELINING), content, QUIT.
    assert_eq!(c.client_flights, 7, "{c:#?}");
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn implicit_tls_auth_login_and_bdat_byte_exact() {
    let sink = Sink::builder()
        .implicit_tls()
        .user("alice", "secret")
        .start()
        .unwrap();
    // 8-bit body and a lone dot: BDAT carries both as they are.
    let msg = "Subject: bdat\r\n\r\nGrüße aus dem Test.\r\n.\r\n..\r\nend\r\n".as_bytes();
    block_on(async {
        let b = with_auth(builder(&sink).implicit_tls(), "LOGIN");
        let mut conn = aw!(b.connect()).unwrap();
        let report = aw!(conn.send_message(from(), [to("a@x.test")], msg)).unwrap();
        assert!(report.all_delivered(), "{report:?}");
        aw!(conn.quit()).unwrap();
    });
    let m = only_message(&sink);
    assert_eq!(m.content, msg);
    assert!(
        matches!(m.transfer, Transfer::Bdat { .. }),
        "{:?}",
        m.transfer
    );
    assert_eq!(
        param_value(&m.mail_params, "BODY").as_deref(),
        Some("8BITMIME")
    );
    assert_eq!(
        param_value(&m.mail_params, "SIZE"),
        Some(msg.len().to_string())
    );
    let c = &sink.connections()[0];
    assert!(c.tls.as_ref().is_some_and(|t| t.implicit));
    let auth = c.auth.as_ref().unwrap();
    assert_eq!(
        (auth.mechanism.as_str(), auth.user.as_str()),
        ("LOGIN", "alice")
    );
    assert_eq!(m.auth_user.as_deref(), Some("alice"));
}

#[test]
fn wrong_password_is_refused_and_nothing_is_sent() {
    let sink = Sink::builder().user("alice", "other").start().unwrap();
    block_on(async {
        let b = with_auth(builder(&sink), "PLAIN");
        assert!(aw!(b.connect()).is_err());
    });
    assert!(sink.wait_for_idle(WAIT));
    let c = &sink.connections()[0];
    assert!(c.auth.is_none());
    assert!(c.replies.iter().any(|r| r.code().get() == 535), "{c:#?}");
    assert!(sink.messages().is_empty());
}

#[test]
fn lmtp_gives_one_reply_per_accepted_recipient() {
    let sink = Sink::builder()
        .lmtp()
        .recipient(Match::LocalPrefix("nobody".into()), Action::permanent())
        .rule(Rule::delivery(
            Match::LocalPrefix("full".into()),
            Action::reply(452, "4.2.2 Mailbox full"),
        ))
        .start()
        .unwrap();
    let msg = dotted_message(TAG);
    let report = block_on(async {
        let b = builder(&sink).lmtp(true).starttls(TlsPolicy::Disabled);
        let mut conn = aw!(b.connect()).unwrap();
        let rcpts = [to("ok@x.test"), to("full@x.test"), to("nobody@x.test")];
        let report = aw!(conn.send_message(from(), rcpts, &msg)).unwrap();
        aw!(conn.quit()).unwrap();
        report
    });
    assert!(matches!(&report.recipients[2], RecipientStatus::Rejected(r) if r.code().get() == 550));
    assert!(
        matches!(&report.deliveries[0], Some(MessageOutcome::Accepted(_))),
        "{report:?}"
    );
    assert!(
        matches!(&report.deliveries[1], Some(MessageOutcome::Failed(_))),
        "{report:?}"
    );
    assert_eq!(report.deliveries[2], None);
    let m = only_message(&sink);
    assert_eq!(m.content, msg);
    assert_eq!(common::codes(&m.replies), [250, 452]);
    assert_eq!(
        common::codes(m.recipients.iter().map(|r| &r.reply)),
        [250, 250, 550]
    );
    assert_eq!(verbs(&sink.connections()[0])[0], "LHLO");
}

#[test]
fn smtputf8_addresses_and_header_are_declared_and_kept() {
    let sink = Sink::start().unwrap();
    let msg = "From: <jörg@bücher.example>\r\nSubject: Grüße\r\n\r\nHallo.\r\n".as_bytes();
    block_on(async {
        let mut conn = aw!(builder(&sink).connect()).unwrap();
        let from = ReversePath::new("jörg@bücher.example").unwrap();
        let report = aw!(conn.send_message(from, [to("用户@例子.测试")], msg)).unwrap();
        assert!(report.all_delivered(), "{report:?}");
        aw!(conn.quit()).unwrap();
    });
    let m = only_message(&sink);
    assert!(
        param(&m.mail_params, "SMTPUTF8").is_some(),
        "{:?}",
        m.mail_params
    );
    assert_eq!(m.from.as_str(), "jörg@bücher.example");
    assert_eq!(recipients(&m), ["用户@例子.测试"]);
    assert_eq!(m.content, msg);
}

#[test]
fn pipelined_messages_on_one_connection_arrive_in_order_and_exact() {
    let sink = Sink::start().unwrap();
    let bodies: Vec<Vec<u8>> = (0..3)
        .map(|i| dotted_message(&format!("{TAG}-{i}")))
        .collect();
    block_on(async {
        let b = builder(&sink).starttls(TlsPolicy::Disabled);
        let mut conn = aw!(b.connect()).unwrap();
        let batch = bodies
            .iter()
            .map(|b| (Envelope::new(from(), [to("a@x.test")]), b.as_slice()));
        let reports = aw!(conn.send_many(batch)).unwrap();
        assert!(reports.iter().all(|r| r.all_delivered()), "{reports:?}");
        aw!(conn.quit()).unwrap();
    });
    assert!(sink.wait_for_idle(WAIT));
    let got: Vec<Vec<u8>> = sink.messages().into_iter().map(|m| m.content).collect();
    assert_eq!(got, bodies);
    let c = &sink.connections()[0];
    let commands = verbs(c).len() as u64;
    assert!(
        c.client_flights < commands,
        "PIPELINING: fewer flights ({}) than commands ({commands})",
        c.client_flights
    );
}

#[test]
fn without_pipelining_every_command_is_its_own_flight() {
    let sink = Sink::builder()
        .disable(Extension::Pipelining)
        .disable(Extension::Chunking)
        .start()
        .unwrap();
    block_on(async {
        let b = builder(&sink).starttls(TlsPolicy::Disabled);
        let mut conn = aw!(b.connect()).unwrap();
        let msg = dotted_message(TAG);
        let report = aw!(conn.send_message(from(), [to("a@x.test"), to("b@x.test")], &msg));
        assert!(report.unwrap().all_delivered());
        aw!(conn.quit()).unwrap();
    });
    assert!(sink.wait_for_idle(WAIT));
    let c = &sink.connections()[0];
    // Every command, and the content after 354, waited for the reply before it.
    assert_eq!(c.client_flights, verbs(c).len() as u64 + 1, "{c:#?}");
}
