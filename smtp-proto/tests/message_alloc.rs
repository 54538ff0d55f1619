//! What a message costs in heap allocations once a session is set up: a pool's
//! connection pays it for every caller's message, and at 0 ms the allocator was a
//! quarter of the client's time. Copying an envelope allocates its recipient list alone
//! (the addresses are shared), and the client keeps a copy only of the replies someone
//! sees (each RCPT's, the final one), not of MAIL's 250 or DATA's 354, and allocates no
//! queue per message. Replies alike share one copy. Counted with `allocation-counter`, per thread.

use smtp_proto::command::{EhloName, ForwardPath, ReversePath};
use smtp_proto::{Client, Config, Envelope, Event, Instant, Output, TlsMode, TlsPolicy};

mod sink_support;

const NOW: Instant = Instant::ZERO;

const MESSAGES: u64 = 50;

const BODY: &[u8] = b"Subject: x\r\n\r\nHi.\r\n";

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
/// allocations: the transaction's state, the first RCPT reply and the final reply; the
/// other RCPT replies, alike, share the first one's copy. (An idle session keeps no
/// reply, so each message, sent from idle here, copies its first RCPT reply again.)
#[test]
fn a_message_allocates_its_transaction_and_the_distinct_replies_it_reports_only() {
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
                Output::SendBody { txn, .. } => {
                    c.send_body(NOW, txn, BODY, true, &mut out).unwrap()
                }
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
        3 * MESSAGES,
        "allocations for {MESSAGES} messages"
    );
}

/// A busy connection's messages (a pool's): each one's flight goes out while the one
/// before is unanswered, so an RSET leads each MAIL (RFC 5321 §4.1.4). What a message
/// allocates then is its transaction's state alone: the 250 to RSET and MAIL are read
/// by their code, and the RCPT replies and final replies, alike message after message,
/// share one copy each.
#[test]
fn a_streamed_message_allocates_its_transaction_only() {
    let mut config = Config::new(EhloName::new("client.example").unwrap());
    config.tls = TlsMode::StartTls(TlsPolicy::Disabled);
    let mut c = Client::new(config, NOW);
    let mut out = Vec::with_capacity(4096);
    c.handle_input(NOW, b"220 mx.example ESMTP\r\n");
    to_wait(&mut c, &mut out);
    c.handle_input(NOW, b"250-mx.example\r\n250-PIPELINING\r\n250 CHUNKING\r\n");
    to_wait(&mut c, &mut out);
    out.clear();
    let mut envelopes: Vec<Envelope> = (0..MESSAGES + 8).map(|_| envelope()).collect();
    let (mut owed, mut next) = (Vec::with_capacity(4096), Vec::with_capacity(4096));
    let mut delivered = 0;
    let mut rsets = 0;
    // One round: the next message's flight out, then the replies to the one before.
    let mut round = |c: &mut Client, envelope: Option<Envelope>| {
        if let Some(envelope) = envelope {
            c.send(NOW, envelope).unwrap();
        }
        for input in [None, Some(())] {
            if input.is_some() {
                c.handle_input(NOW, &owed);
                owed.clear();
            }
            loop {
                match c.poll_output(&mut out) {
                    Output::SendBody { txn, .. } => {
                        c.send_body(NOW, txn, BODY, true, &mut out).unwrap()
                    }
                    Output::Event(Event::MessageAccepted { .. }) => delivered += 1,
                    Output::Event(e) => assert!(matches!(e, Event::RecipientAccepted { .. })),
                    Output::Wait { .. } => break,
                    other => panic!("{other:?}"),
                }
            }
            rsets += out.windows(4).filter(|w| w == b"RSET").count();
            sink_support::answer(&out, BODY.len(), &mut next);
            out.clear();
        }
        std::mem::swap(&mut owed, &mut next);
    };
    // The queues grow to what a busy connection needs once.
    for _ in 0..8 {
        round(&mut c, envelopes.pop());
    }
    let info = allocation_counter::measure(|| {
        for _ in 0..MESSAGES {
            round(&mut c, envelopes.pop());
        }
    });
    round(&mut c, None);
    round(&mut c, None);
    assert_eq!(delivered, MESSAGES + 8);
    assert!(rsets as u64 >= MESSAGES, "an RSET before each MAIL");
    assert!(c.is_idle());
    assert_eq!(
        info.count_total, MESSAGES,
        "allocations for {MESSAGES} messages"
    );
}

#[derive(Debug)]
struct SessionFailed;

impl smtp_proto::session::SessionError for SessionFailed {
    fn from_core(_: smtp_proto::Error) -> Self {
        SessionFailed
    }
    fn from_usage(_: smtp_proto::UsageError) -> Self {
        SessionFailed
    }
    fn cancelled() -> Self {
        SessionFailed
    }
    fn duplicate(&self) -> Self {
        SessionFailed
    }
}

/// A pool's messages on one connection's stream, as the adapters run them: each
/// attempt takes its message's envelope (built by its caller, before the count); the
/// session would give it back with the report for a retry, but these are accepted by
/// every recipient: it is dropped in the client. The pool's decisions and the
/// session's bookkeeping allocate no copy of the envelope. A copy per attempt (`Pool::attempt_envelope`, as before) cost one more
/// allocation per message.
#[test]
fn a_pooled_message_allocates_no_copy_of_its_envelope() {
    use smtp_proto::pool::{Action, Pool, PoolConfig};
    use smtp_proto::session::{Io, Session};
    use std::collections::{HashMap, VecDeque};

    const CALLERS: usize = 10;
    let mut config = Config::new(EhloName::new("client.example").unwrap());
    config.tls = TlsMode::StartTls(TlsPolicy::Disabled);
    let mut s = Session::<SessionFailed>::new(config, NOW);
    let ehlo = b"250-mx.example\r\n250-PIPELINING\r\n250 CHUNKING\r\n";
    for input in [&b"220 mx.example ESMTP\r\n"[..], ehlo] {
        while let Io::Write { .. } = s.poll_io() {
            s.handle_written();
        }
        s.handle_input(NOW, input);
    }
    assert!(matches!(s.poll_io(), Io::Done));
    s.finish_connect().unwrap();
    s.stream(NOW, 100).unwrap();
    let mut pool = Pool::new(PoolConfig::default());
    let total = 4 * MESSAGES as usize;
    let mut made: Vec<Envelope> = (0..total).map(|_| envelope()).collect();
    let mut envelopes = HashMap::with_capacity(total);
    let mut on_wire = VecDeque::with_capacity(total);
    let (mut replies, mut kept) = (Vec::with_capacity(4096), Vec::with_capacity(total));
    for _ in 0..CALLERS {
        envelopes.insert(pool.submit(NOW).unwrap(), made.pop().unwrap());
    }
    // One round: the pool's actions, the flight written, the replies read. Returns
    // how many messages ended.
    let mut round = |s: &mut Session<SessionFailed>, pool: &mut Pool| {
        let mut done = 0;
        while let Some(action) = pool.poll_action(NOW) {
            match action {
                Action::Open(conn) => pool.handle_opened(NOW, conn),
                Action::Send { conn, msg } => {
                    s.stream_send(NOW, envelopes.remove(&msg).unwrap()).unwrap();
                    on_wire.push_back((conn, msg));
                }
                Action::Done { .. } => {
                    done += 1;
                    if let Some(envelope) = made.pop() {
                        envelopes.insert(pool.submit(NOW).unwrap(), envelope);
                    }
                }
                other => panic!("{other:?}"),
            }
        }
        loop {
            match s.poll_io() {
                Io::ReadBody { .. } => s.handle_body(NOW, BODY, true),
                Io::Write { .. } => {
                    sink_support::answer(s.output(), BODY.len(), &mut replies);
                    s.handle_written();
                }
                Io::Read { .. } => break,
                other => panic!("{other:?}"),
            }
        }
        s.handle_input(NOW, &replies);
        replies.clear();
        // Takes the replies' events (what it says next is asked again next round).
        let _next = s.poll_io();
        while let Some((_, report, envelope)) = s.poll_report_and_envelope() {
            let (conn, msg) = on_wire.pop_front().unwrap();
            assert!(report.all_delivered(), "{report:?}");
            assert!(pool.handle_report_of(NOW, conn, msg, report, 0).is_some());
            // Every recipient accepted: nothing to send again, and no envelope back.
            assert!(envelope.is_none());
            kept.push(envelope);
        }
        done
    };
    // The queues grow to what a busy connection needs once.
    let mut done = 0;
    while done < total - 2 * MESSAGES as usize {
        done += round(&mut s, &mut pool);
    }
    let mut messages = 0;
    let mut rounds = 0;
    let info = allocation_counter::measure(|| {
        while messages < MESSAGES {
            messages += round(&mut s, &mut pool) as u64;
            rounds += 1;
        }
    });

    assert!(messages >= MESSAGES);
    // Measured: 2 per message (the transaction's state and its report's recipient list)
    // and 2 per round (each round ends idle, which forgets the replies kept). The
    // queues keep their room while the stream is open (the pool trims it after idling,
    // `PoolConfig::trim_after`); when they gave it back at each idle moment: 3 per
    // message and 4 per round. With a copy of the envelope per attempt: 1 more per
    // message.
    assert_eq!(
        info.count_total,
        2 * messages + 2 * rounds,
        "allocations for {messages} messages in {rounds} rounds"
    );
}
