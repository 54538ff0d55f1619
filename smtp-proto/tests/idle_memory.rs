//! An idle session is small: after the greeting and an 11-line EHLO reply, the client
//! holds at most 1 KiB of heap (lettre holds about 8 KiB, most of it a `BufReader`), and
//! still does once back to idle after a large pipelined transaction.

use smtp_proto::command::EhloName;
use smtp_proto::{Client, Config, Instant, Output, TlsMode};

const POSTFIX_EHLO: &[u8] = b"250-postfix.harness.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n\
250-VRFY\r\n250-ETRN\r\n250-AUTH PLAIN LOGIN CRAM-MD5 DIGEST-MD5\r\n250-ENHANCEDSTATUSCODES\r\n\
250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n";

/// A client that got the greeting and sent EHLO.
fn greeted_client() -> Client {
    let mut config = Config::new(EhloName::new("client.harness.test").unwrap());
    config.tls = TlsMode::Implicit;
    let now = Instant::ZERO;
    let mut c = Client::new(config, now);
    // Implicit TLS (RFC 8314 §3.3): the handshake is the client's first instruction.
    let Output::StartTls(up) = c.poll_output(&mut Vec::new()) else {
        panic!("implicit TLS starts with the handshake");
    };
    c.handle_tls_established(now, up);
    let mut out = Vec::new();
    c.handle_input(now, b"220 postfix.harness.test ESMTP Postfix (harness)\r\n");
    while !matches!(c.poll_output(&mut out), Output::Wait { .. }) {}
    c
}

fn idle_client() -> Client {
    let now = Instant::ZERO;
    let mut c = greeted_client();
    let mut out = Vec::new();
    c.handle_input(now, POSTFIX_EHLO);
    while !matches!(c.poll_output(&mut out), Output::Wait { .. }) {}
    assert!(c.is_idle(), "the session is set up and idle");
    c
}

#[test]
fn idle_session_heap_is_at_most_one_kib() {
    let mut kept = None;
    let info = allocation_counter::measure(|| kept = Some(idle_client()));
    let client = kept.unwrap();
    println!(
        "size_of::<Client>() = {} bytes; heap held after EHLO = {} bytes in {} allocations (peak {} bytes)",
        std::mem::size_of::<Client>(),
        info.bytes_current,
        info.count_current,
        info.bytes_max
    );
    assert!(client.capabilities().chunking(), "the EHLO reply was read");
    assert!(
        info.bytes_current <= 1024,
        "idle session holds {} bytes of heap",
        info.bytes_current
    );
}

/// A session back to idle after a pipelined transaction of 40 recipients is as small as
/// one that just started (at most 1 KiB of heap): the queues of owed replies and of
/// events give back what the flight needed, since an idle session may sit in a pool for
/// hours.
#[test]
fn idle_again_after_a_large_transaction_is_as_small_as_new() {
    use smtp_proto::command::{ForwardPath, ReversePath};
    use smtp_proto::{Envelope, Recipient};

    /// Polls to the next Wait, giving the content when asked.
    fn drive(client: &mut Client, out: &mut Vec<u8>) {
        loop {
            match client.poll_output(out) {
                Output::SendBody { txn, .. } => {
                    let now = Instant::ZERO;
                    client.send_body(now, txn, b"Hi\r\n", true, out).unwrap();
                }
                Output::Wait { .. } => return,
                Output::Closed(e) => panic!("closed: {e:?}"),
                _ => {}
            }
        }
    }

    const RCPTS: usize = 40;
    let now = Instant::ZERO;
    let mut kept = None;
    // Everything is made and dropped inside: what is left is the client's.
    let info = allocation_counter::measure(|| {
        let from = ReversePath::new("a@example.com").unwrap();
        let to: Vec<Recipient> = (0..RCPTS)
            .map(|i| Recipient::new(ForwardPath::new(&format!("r{i}@example.org")).unwrap()))
            .collect();
        let env = Envelope::new(from, to);
        // MAIL, each RCPT and BDAT LAST (the server offers CHUNKING), in one flight.
        let replies = b"250 ok\r\n".repeat(RCPTS + 2);
        let mut client = idle_client();
        let mut out = Vec::new();
        client.send(now, env).unwrap();
        drive(&mut client, &mut out);
        client.handle_input(now, &replies);
        drive(&mut client, &mut out);
        kept = Some(client);
    });
    assert!(kept.unwrap().is_idle(), "the transaction is over");
    assert!(
        info.bytes_current <= 1024,
        "the idle session holds {} bytes of heap after the transaction",
        info.bytes_current
    );
}

/// Reading the EHLO reply costs a few small allocations: the reply, then one per piece
/// of text the capabilities keep (the domain, VRFY and ETRN, four AUTH mechanisms) and
/// the two lists holding them (`tests/ehlo_alloc.rs` counts them reply by reply).
#[test]
fn the_ehlo_reply_costs_a_few_small_allocations() {
    let now = Instant::ZERO;
    let mut c = greeted_client();
    let info = allocation_counter::measure(|| c.handle_input(now, POSTFIX_EHLO));
    assert!(c.capabilities().chunking(), "the EHLO reply was read");
    assert!(
        info.count_total <= 10 && info.bytes_total <= 1024,
        "reading the EHLO reply made {} allocations ({} bytes)",
        info.count_total,
        info.bytes_total
    );
}
