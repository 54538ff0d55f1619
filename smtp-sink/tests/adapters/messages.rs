// Messages as callers have them (`send_mail`): the envelope derived from the header, and
// the Bcc field never sent, through a Connection and through a Pool, from bytes and
// from mail-builder. Included by blocking.rs, tokio.rs and smol.rs after send_paths.rs
// (for `builder`, `WAIT`) and pool_reconnect.rs (for `Pool`, `PoolConfig`). Included,
// so no inner attributes or doc comments here.

/// Bytes with To, Cc and a folded Bcc naming two more recipients.
fn with_bcc() -> String {
    format!(
        "From: Sender <sender@example.org>\r\nTo: to-{TAG}@x.test\r\n\
         Cc: \"Cc, Person\" <cc-{TAG}@x.test>\r\nBcc: hidden-{TAG}@x.test,\r\n \
         Other <hidden2-{TAG}@x.test>\r\nSubject: blind copies\r\n\r\nHello.\r\n"
    )
}

#[test]
fn send_mail_derives_the_envelope_and_no_bcc_field_reaches_the_server() {
    let sink = Sink::start().unwrap();
    let raw = with_bcc();
    let cc = format!("cc-{TAG}@x.test");
    let built = adapter::mail_builder::MessageBuilder::new()
        .from(("Sender", "sender@example.org"))
        .to(format!("to-{TAG}@x.test"))
        .cc(("Cc, Person", cc.as_str()))
        .bcc(vec![
            format!("hidden-{TAG}@x.test"),
            format!("hidden2-{TAG}@x.test"),
        ])
        .subject("built")
        .text_body("Hello.");
    block_on(async {
        let mut conn = aw!(builder(&sink).connect()).unwrap();
        let report = aw!(conn.send_mail(raw.as_bytes())).unwrap();
        assert!(report.all_delivered(), "{report:?}");
        let report = aw!(conn.send_mail(built)).unwrap();
        assert!(report.all_delivered(), "{report:?}");
        aw!(conn.quit()).unwrap();
        let pool = Pool::new(builder(&sink), PoolConfig::default());
        let sent = aw!(pool.send_mail(raw.clone().into_bytes())).unwrap();
        assert!(sent.report.all_delivered(), "{sent:?}");
        aw!(pool.close());
    });
    assert!(sink.wait_for_idle(WAIT));
    let messages = sink.messages();
    assert_eq!(messages.len(), 3);
    let everyone = [
        format!("to-{TAG}@x.test"),
        format!("cc-{TAG}@x.test"),
        format!("hidden-{TAG}@x.test"),
        format!("hidden2-{TAG}@x.test"),
    ];
    for m in &messages {
        assert_eq!(m.from.as_str(), "sender@example.org");
        assert_eq!(recipients(m), everyone);
        let text = String::from_utf8_lossy(&m.content);
        assert!(!text.to_ascii_lowercase().contains("bcc:"), "{text}");
        assert!(!text.contains("hidden"), "{text}");
    }
    let without_bcc = raw.replace(
        &format!("Bcc: hidden-{TAG}@x.test,\r\n Other <hidden2-{TAG}@x.test>\r\n"),
        "",
    );
    assert_eq!(messages[0].content, without_bcc.as_bytes());
    assert_eq!(messages[2].content, without_bcc.as_bytes());
}

#[test]
fn a_message_naming_no_recipient_is_refused_before_anything_is_sent() {
    let sink = Sink::start().unwrap();
    let message = b"From: sender@example.org\r\nTo: undisclosed-recipients:;\r\n\r\nx\r\n";
    block_on(async {
        let mut conn = aw!(builder(&sink).connect()).unwrap();
        let e = aw!(conn.send_mail(message)).unwrap_err();
        assert!(
            matches!(
                e,
                adapter::Error::Message(adapter::MessageError::NoRecipients)
            ),
            "{e:?}"
        );
        aw!(conn.quit()).unwrap();
        let pool = Pool::new(builder(&sink), PoolConfig::default());
        let e = aw!(pool.send_mail(message)).unwrap_err();
        assert!(
            matches!(
                e,
                adapter::Error::Message(adapter::MessageError::NoRecipients)
            ),
            "{e:?}"
        );
        aw!(pool.close());
    });
    assert!(sink.wait_for_idle(WAIT));
    assert!(sink.messages().is_empty());
    assert!(!verbs(&sink.connections()[0]).contains(&"MAIL".to_string()));
}

#[test]
fn a_lettre_message_goes_to_lettres_envelope_with_lettres_bytes() {
    let sink = Sink::start().unwrap();
    let message = adapter::lettre::Message::builder()
        .from("Sender <sender@example.org>".parse().unwrap())
        .to(format!("to-{TAG}@x.test").parse().unwrap())
        .bcc(format!("Hidden <hidden-{TAG}@x.test>").parse().unwrap())
        .subject("from lettre")
        .body(String::from("Hello.\r\n"))
        .unwrap();
    block_on(async {
        let mut conn = aw!(builder(&sink).connect()).unwrap();
        let report = aw!(conn.send_mail(&message)).unwrap();
        assert!(report.all_delivered(), "{report:?}");
        aw!(conn.quit()).unwrap();
    });
    assert!(sink.wait_for_idle(WAIT));
    let m = only_message(&sink);
    assert_eq!(m.from.as_str(), "sender@example.org");
    assert_eq!(
        recipients(&m),
        [format!("to-{TAG}@x.test"), format!("hidden-{TAG}@x.test")]
    );
    assert_eq!(m.content, message.formatted());
}
