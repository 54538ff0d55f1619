//! What a message costs in heap allocations once a session is set up: a pool's
//! connection pays it for every caller's message, and at 0 ms the allocator was a
//! quarter of the client's time. Copying an envelope allocates its recipient list alone
//! (the addresses are shared), and the client keeps a copy only of the replies someone
//! sees (each RCPT's, the final one), not of MAIL's 250 or DATA's 354, and allocates no
//! queue per message. Counted with `allocation-counter`, per thread.

use smtp_proto::command::{EhloName, ForwardPath, ReversePath};
use smtp_proto::{Client, Config, Envelope, Event, Instant, Output, TlsMode, TlsPolicy};

const NOW: Instant = Instant::ZERO;

const MESSAGES: u64 = 50;

/// A client set up with a server offering PIPELINING, without CHUNKING: DATA.
fn ready_client() -> Client {
    let mut config = Config::new(EhloName::new("client.example").unwrap());
    config.tls = TlsMode::StartTls(TlsPolicy::Disabled);
    let mut c = Client::new(config, NOW);
    let mut out = Vec::new();
    c.handle_input(NOW, b"220 mx.example ESMTP\r\n");
    to_wait(&mut c, &mut out);
    c.handle_input(NOW, b"250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
    to_wait(&mut c, &mut out);
    assert!(c.is_idle(), "set up");
    c
}

fn to_wait(c: &mut Client, out: &mut Vec<u8>) {
    loop {
        match c.poll_output(out) {
            Output::Wait { .. } => return,
            Output::Closed(e) => panic!("closed: {e:?}"),
            _ => {}
        }
    }
}

fn envelope() -> Envelope {
    let from = ReversePath::new("sender@example.org").unwrap();
    let to = ["a@example.net", "b@example.net", "c@example.net"];
    Envelope::new(from, to.map(|r| ForwardPath::new(r).unwrap()))
}

#[test]
fn copying_an_envelope_allocates_its_recipient_list_only() {
    let template = envelope();
    let mut copies = Vec::with_capacity(MESSAGES as usize);
    let info = allocation_counter::measure(|| {
        for _ in 0..MESSAGES {
            copies.push(template.clone());
        }
    });
    assert_eq!(copies[0], template);
    assert_eq!(info.count_total, MESSAGES, "one allocation per copy");
}

/// Each message: MAIL, three RCPTs and DATA in one flight, the content after 354. Its
/// allocations: the transaction's state, three RCPT replies and the final reply.
#[test]
fn a_message_allocates_its_transaction_and_the_replies_it_reports_only() {
    let mut c = ready_client();
    let mut envelopes: Vec<Envelope> = (0..MESSAGES).map(|_| envelope()).collect();
    let mut out = Vec::with_capacity(4096);
    let first = b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n\
354 End data with <CR><LF>.<CR><LF>\r\n";
    let last = b"250 2.0.0 Ok: queued as 4ZK1Xm2kQbz9\r\n";
    let mut delivered = 0;
    let mut send = |c: &mut Client, envelope| {
        c.send(NOW, envelope).unwrap();
        let mut flights = [&first[..], &last[..]].into_iter();
        loop {
            match c.poll_output(&mut out) {
                Output::SendBody { txn, .. } => c
                    .send_body(NOW, txn, b"Subject: x\r\n\r\nHi.\r\n", true, &mut out)
                    .unwrap(),
                Output::Event(Event::MessageAccepted { .. }) => delivered += 1,
                Output::Event(_) => {}
                Output::Wait { .. } => match flights.next() {
                    Some(replies) => {
                        out.clear();
                        c.handle_input(NOW, replies);
                    }
                    None => break,
                },
                other => panic!("{other:?}"),
            }
        }
    };
    // The queues grow to what a message needs once, and keep it while idle.
    send(&mut c, envelope());
    let info = allocation_counter::measure(|| {
        while let Some(envelope) = envelopes.pop() {
            send(&mut c, envelope);
        }
    });
    assert_eq!(delivered, MESSAGES + 1);
    assert!(c.is_idle());
    assert_eq!(
        info.count_total,
        5 * MESSAGES,
        "allocations for {MESSAGES} messages"
    );
}
