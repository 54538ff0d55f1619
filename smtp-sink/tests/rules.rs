//! Each rule: the reply codes and texts it gives, and what is recorded.

mod common;

use common::{codes, only_message, Raw};
use smtp_sink::{Action, Match, Rule, Sink};

/// MAIL, the RCPTs, DATA with `body`; the codes of RCPTs and of the end of data.
fn transaction(c: &mut Raw, rcpts: &[&str], body: &str) -> (Vec<u16>, u16) {
    assert_eq!(c.cmd("MAIL FROM:<s@x.test>"), 250);
    let rcpt_codes: Vec<u16> = rcpts
        .iter()
        .map(|r| c.cmd(&format!("RCPT TO:<{r}>")))
        .collect();
    if !rcpt_codes.contains(&250) {
        return (rcpt_codes, 0);
    }
    assert_eq!(c.cmd("DATA"), 354);
    c.send(&format!("{body}.\r\n"));
    (rcpt_codes, c.code())
}

#[test]
fn recipient_rules_accept_or_refuse_with_the_chosen_reply() {
    let sink = Sink::builder()
        .recipient(Match::Address("Busy@X.test".into()), Action::transient())
        .recipient(Match::LocalPrefix("gone".into()), Action::permanent())
        .recipient(
            Match::Domain("moved.test".into()),
            Action::reply(551, "5.1.6 User has moved"),
        )
        .recipient(
            Match::Custom(std::sync::Arc::new(|a: &str| a.len() > 20)),
            Action::reply(553, "5.1.3 Too long"),
        )
        .recipient(Match::Any, Action::Accept)
        .start()
        .unwrap();
    let mut c = Raw::connect(&sink);
    c.hello();
    c.send("MAIL FROM:<s@x.test>\r\nRCPT TO:<busy@x.test>\r\nRCPT TO:<gone1@x.test>\r\n");
    assert_eq!(c.code(), 250);
    assert_eq!(
        c.reply(),
        (450, vec!["4.2.0 Mailbox temporarily unavailable".into()])
    );
    assert_eq!(c.reply(), (550, vec!["5.1.1 Mailbox unavailable".into()]));
    c.send(
        "RCPT TO:<a@moved.test>\r\nRCPT TO:<a-very-long-name@x.test>\r\nRCPT TO:<ok@x.test>\r\n",
    );
    assert_eq!(c.reply(), (551, vec!["5.1.6 User has moved".into()]));
    assert_eq!(c.reply(), (553, vec!["5.1.3 Too long".into()]));
    assert_eq!(c.code(), 250);
    assert_eq!(c.cmd("DATA"), 354);
    c.send("hi\r\n.\r\n");
    assert_eq!(c.code(), 250);
    let m = only_message(&sink);
    assert_eq!(
        codes(m.recipients.iter().map(|r| &r.reply)),
        [450, 550, 551, 553, 250]
    );
    let accepted: Vec<&str> = m.accepted_recipients().map(|r| r.as_str()).collect();
    assert_eq!(accepted, ["ok@x.test"]);
    assert_eq!(sink.counts().recipients, 1);
}

#[test]
fn sender_rule_refuses_mail_and_opens_no_transaction() {
    let sink = Sink::builder()
        .rule(Rule::sender(
            Match::Domain("spam.test".into()),
            Action::reply(553, "5.7.1 Sender refused"),
        ))
        .start()
        .unwrap();
    let mut c = Raw::connect(&sink);
    c.hello();
    assert_eq!(c.cmd("MAIL FROM:<a@spam.test>"), 553);
    assert_eq!(c.cmd("RCPT TO:<b@x.test>"), 503);
    assert_eq!(c.cmd("MAIL FROM:<a@ham.test>"), 250);
}

#[test]
fn size_rule_answers_after_the_end_of_data() {
    let sink = Sink::builder()
        .rule(Rule::larger_than(
            10,
            Action::reply(552, "5.3.4 Too big for this box"),
        ))
        .start()
        .unwrap();
    let mut c = Raw::connect(&sink);
    c.hello();
    assert_eq!(
        transaction(&mut c, &["a@x.test"], "12345678\r\n"),
        (vec![250], 250)
    );
    assert_eq!(
        transaction(&mut c, &["a@x.test"], "123456789\r\n"),
        (vec![250], 552)
    );
    let m = sink.messages();
    assert_eq!((m[0].accepted(), m[1].accepted()), (true, false));
    assert_eq!(sink.counts().accepted, 1);
}

#[test]
fn content_rule_answers_after_the_end_of_data_also_when_discarding() {
    for discard in [false, true] {
        let b = Sink::builder().rule(Rule::content_contains(
            "X-Virus: yes",
            Action::reply(554, "5.7.1 Infected"),
        ));
        let sink = if discard { b.discard() } else { b }.start().unwrap();
        let mut c = Raw::connect(&sink);
        c.hello();
        let clean = "Subject: a\r\n\r\nclean\r\n";
        let bad = "Subject: b\r\nX-Virus: yes\r\n\r\nbad\r\n";
        assert_eq!(transaction(&mut c, &["a@x.test"], clean).1, 250);
        assert_eq!(transaction(&mut c, &["a@x.test"], bad).1, 554);
        let counts = sink.counts();
        assert_eq!(
            (counts.messages, counts.accepted),
            (2, 1),
            "discard {discard}"
        );
    }
}

#[test]
fn delivery_rule_decides_the_message_reply_under_esmtp_and_the_recipients_under_lmtp() {
    let rule = || {
        Rule::delivery(
            Match::LocalPrefix("full".into()),
            Action::reply(452, "4.2.2 Mailbox full"),
        )
    };
    let sink = Sink::builder().rule(rule()).start().unwrap();
    let mut c = Raw::connect(&sink);
    c.hello();
    assert_eq!(transaction(&mut c, &["ok@x.test"], "a\r\n").1, 250);
    assert_eq!(
        transaction(&mut c, &["ok@x.test", "full@x.test"], "a\r\n").1,
        452
    );

    let sink = Sink::builder().lmtp().rule(rule()).start().unwrap();
    let mut c = Raw::connect(&sink);
    assert_eq!(c.code(), 220);
    c.send("LHLO c.test\r\n");
    c.reply();
    let first = transaction(&mut c, &["ok@x.test", "full@x.test", "ok2@x.test"], "a\r\n").1;
    assert_eq!([first, c.code(), c.code()], [250, 452, 250]);
    let m = only_message(&sink);
    assert_eq!(codes(&m.replies), [250, 452, 250]);
    assert!(m.accepted());
}

#[test]
fn the_first_matching_rule_wins() {
    let sink = Sink::builder()
        .recipient(Match::Address("a@x.test".into()), Action::Accept)
        .recipient(Match::Domain("x.test".into()), Action::permanent())
        .start()
        .unwrap();
    let mut c = Raw::connect(&sink);
    c.hello();
    assert_eq!(c.cmd("MAIL FROM:<s@x.test>"), 250);
    assert_eq!(c.cmd("RCPT TO:<a@x.test>"), 250);
    assert_eq!(c.cmd("RCPT TO:<b@x.test>"), 550);
}
