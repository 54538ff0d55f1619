// lettre's transport on the pools (`LettrePool`) against the sink: how a report maps
// onto lettre's Ok and Err where Postfix cannot show it (LMTP, a connection lost after
// the data). Included by blocking.rs and tokio.rs (lettre has no smol executor) after
// send_paths.rs and pool_reconnect.rs, with `transport_send(&LettrePool, &Message)`
// (lettre's trait method, awaited through `aw!` where it is async). Included, so no
// inner attributes or doc comments here.

use adapter::{LettrePool, TransportError};

fn lettre_message(to: &[&str]) -> adapter::lettre::Message {
    let mut b = adapter::lettre::Message::builder()
        .from("sender@example.org".parse().unwrap())
        .subject("lettre");
    for t in to {
        b = b.to(t.parse().unwrap());
    }
    b.body(String::from("Hello.\r\n")).unwrap()
}

#[test]
fn under_lmtp_one_delivery_is_ok_and_none_is_a_refused_err() {
    let sink = Sink::builder()
        .lmtp()
        .rule(Rule::delivery(
            Match::LocalPrefix("full".into()),
            Action::reply(452, "4.2.2 Mailbox full"),
        ))
        .start()
        .unwrap();
    let one = lettre_message(&["ok@x.test", "full@x.test"]);
    let none = lettre_message(&["full1@x.test", "full2@x.test"]);
    block_on(async {
        let b = builder(&sink).lmtp(true).starttls(TlsPolicy::Disabled);
        let pool = LettrePool::new(b, PoolConfig::default());
        let sent = aw!(transport_send(&pool, &one)).expect("one delivery");
        assert!(
            matches!(
                sent.report.deliveries[..],
                [
                    Some(MessageOutcome::Accepted(_)),
                    Some(MessageOutcome::Failed(_))
                ]
            ),
            "{sent:?}"
        );
        match aw!(transport_send(&pool, &none)) {
            Err(e @ TransportError::Refused(_)) => {
                assert!(e.is_transient() && !e.is_permanent(), "{e}");
            }
            other => panic!("{other:?}"),
        }
        aw!(pool.close());
    });
}

#[test]
fn a_connection_lost_after_the_data_is_an_unknown_err() {
    let sink = Sink::builder().reset_after_data_every(1).start().unwrap();
    let message = lettre_message(&["a@x.test"]);
    block_on(async {
        let pool = LettrePool::new(builder(&sink), PoolConfig::default());
        match aw!(transport_send(&pool, &message)) {
            Err(e @ TransportError::Unknown(_)) => {
                assert!(!e.is_transient() && !e.is_permanent(), "{e}");
                assert_eq!(e.report().map(|r| r.attempts), Some(1), "not sent again");
            }
            other => panic!("{other:?}"),
        }
        aw!(pool.close());
    });
    assert!(sink.wait_for_idle(WAIT));
    assert_eq!(sink.messages().len(), 1);
}
