//! A driver may hand `poll_output` a buffer that still holds bytes it has not written
//! out yet (a partial write on a non-blocking socket). Those bytes are the driver's: the
//! core counts only what it wrote itself against the pipelining window (RFC 2920 §3.1),
//! so a session goes the same whether or not the buffer is emptied between polls.

use smtp_proto::command::{EhloName, ForwardPath, ReversePath};
use smtp_proto::{Client, Config, Envelope, Event, Instant, Output, Recipient, TlsMode, TlsPolicy};

/// A session: the window, one message "Hi" per recipient, and per read of the server's
/// replies what the client writes after it.
struct Script {
    window: usize,
    to: &'static [&'static str],
    steps: &'static [(&'static [u8], &'static [u8])],
}

/// DATA. With window=64, after the 354 to a DATA with no recipient accepted the 3-octet
/// end-of-data marker leaves room for RSET (9), MAIL (36), RCPT (61) and DATA (67) in the
/// same flight; after a content and its end marker (7 octets), for the next MAIL (34),
/// RCPT (59) and DATA (65).
const DATA: Script = Script {
    window: 64,
    to: &["b@example.org", "c@example.org", "d@example.org"],
    steps: &[
        (b"220 mx.example.org\r\n", b"EHLO client.example\r\n"),
        (
            b"250-mx.example.org\r\n250 PIPELINING\r\n",
            b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n",
        ),
        (
            b"250 ok\r\n550 5.1.1 unknown\r\n354 go\r\n",
            b".\r\nRSET\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<c@example.org>\r\nDATA\r\n",
        ),
        (
            b"554 5.5.1 no valid recipients\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n",
            b"Hi\r\n.\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<d@example.org>\r\nDATA\r\n",
        ),
        (b"250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n", b"Hi\r\n.\r\n"),
        (b"250 ok\r\n", b""),
    ],
};

/// BDAT. With window=100, MAIL and RCPT (52 octets), BDAT 4 LAST with its content (69)
/// and the RSET put in front of a MAIL pipelined behind an open transaction (75) leave
/// room for the next MAIL (102), and no more.
const BDAT: Script = Script {
    window: 100,
    to: &["b@example.org", "c@example.org"],
    steps: &[
        (b"220 mx.example.org\r\n", b"EHLO client.example\r\n"),
        (
            b"250-mx.example.org\r\n250-PIPELINING\r\n250 CHUNKING\r\n",
            b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nBDAT 4 LAST\r\nHi\r\n\
RSET\r\nMAIL FROM:<a@example.com>\r\n",
        ),
        (
            b"250 ok\r\n250 ok\r\n250 queued\r\n250 ok\r\n250 ok\r\n",
            b"RCPT TO:<c@example.org>\r\nBDAT 4 LAST\r\nHi\r\n",
        ),
        (b"250 ok\r\n250 queued\r\n", b""),
    ],
};

/// Runs `script`; returns what the client wrote after each read, and the events. With
/// `keep_unflushed` the buffer is never emptied, as if the driver had written none of it.
fn run(script: &Script, keep_unflushed: bool) -> (Vec<Vec<u8>>, Vec<Event>) {
    let now = Instant::ZERO;
    let mut config = Config::new(EhloName::new("client.example").unwrap());
    config.tls = TlsMode::StartTls(TlsPolicy::Disabled);
    config.window = script.window;
    let mut client = Client::new(config, now);
    let from = ReversePath::new("a@example.com").unwrap();
    for to in script.to {
        let rcpt = Recipient::new(ForwardPath::new(to).unwrap());
        client
            .send(now, Envelope::new(from.clone(), [rcpt]))
            .unwrap();
    }
    let (mut buf, mut flushed) = (Vec::new(), 0);
    let (mut flights, mut events) = (Vec::new(), Vec::new());
    for (input, _) in script.steps {
        client.handle_input(now, input);
        loop {
            match client.poll_output(&mut buf) {
                Output::Event(e) => events.push(e),
                Output::SendBody { txn, .. } => {
                    client
                        .send_body(now, txn, b"Hi\r\n", true, &mut buf)
                        .unwrap();
                }
                Output::Wait { .. } => break,
                other => panic!("unexpected {other:?}"),
            }
        }
        flights.push(buf[flushed..].to_vec());
        if keep_unflushed {
            flushed = buf.len();
        } else {
            buf.clear();
        }
    }
    (flights, events)
}

fn same_session_either_way(script: &Script) {
    let (flights, events) = run(script, false);
    let want: Vec<Vec<u8>> = script.steps.iter().map(|(_, w)| w.to_vec()).collect();
    assert_eq!(flights, want, "emptied between polls");
    assert_eq!(run(script, true), (want, events), "never emptied");
}

#[test]
fn unflushed_driver_bytes_do_not_count_against_the_window_with_data() {
    same_session_either_way(&DATA);
}

#[test]
fn unflushed_driver_bytes_do_not_count_against_the_window_with_bdat() {
    same_session_either_way(&BDAT);
}
