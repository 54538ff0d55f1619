//! Heap allocations per message: a [`Session`] streams N messages, one at a time, to a
//! canned server (PIPELINING, ENHANCEDSTATUSCODES, CHUNKING when asked), as a pool's
//! connection does for its callers. Counts, per message, the caller's copy of a template
//! envelope (what a pool's `send` takes) and the session's work from `stream_send` to
//! the report (`allocation-counter`, this thread only). Not a timing tool.
//!
//! `cargo run --release -p smtp-proto --example alloc_probe [messages]`

use smtp_proto::command::{EhloName, ForwardPath, ReversePath};
use smtp_proto::session::{Io, Session, SessionError};
use smtp_proto::{Config, Envelope, Error, Instant, TlsMode, TlsPolicy, UsageError};

#[derive(Debug)]
struct ProbeError;

impl SessionError for ProbeError {
    fn from_core(e: Error) -> Self {
        panic!("session failed: {e}")
    }
    fn from_usage(e: UsageError) -> Self {
        panic!("usage: {e}")
    }
    fn cancelled() -> Self {
        panic!("cancelled")
    }
    fn duplicate(&self) -> Self {
        ProbeError
    }
}

const NOW: Instant = Instant::ZERO;

/// Runs the operation under way to its end, answering each read with the next flight.
fn run(s: &mut Session<ProbeError>, flights: &mut Vec<Vec<u8>>, body: &[u8]) {
    loop {
        match s.poll_io() {
            Io::Write { .. } => s.handle_written(),
            Io::Read { .. } => s.handle_input(NOW, &flights.remove(0)),
            Io::ReadBody { .. } => s.handle_body(NOW, body, true),
            other => return assert!(matches!(other, Io::Done), "{other:?}"),
        }
    }
}

/// The server's replies to one message, one entry per flight of the client's.
fn replies(rcpts: usize, chunking: bool) -> Vec<Vec<u8>> {
    let mut first = b"250 2.1.0 Ok\r\n".to_vec();
    for _ in 0..rcpts {
        first.extend_from_slice(b"250 2.1.5 Ok\r\n");
    }
    let queued = b"250 2.0.0 Ok: queued as 4ZK1Xm2kQbz9\r\n";
    if chunking {
        first.extend_from_slice(queued);
        vec![first]
    } else {
        first.extend_from_slice(b"354 End data with <CR><LF>.<CR><LF>\r\n");
        vec![first, queued.to_vec()]
    }
}

/// A session set up with a streaming operation open.
fn session(chunking: bool) -> Session<ProbeError> {
    let mut config = Config::new(EhloName::new("client.example").unwrap());
    config.tls = TlsMode::StartTls(TlsPolicy::Disabled);
    config.chunking = chunking;
    let mut s = Session::new(config, NOW);
    let mut ehlo = b"250-mx.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n\
250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
        .to_vec();
    ehlo.extend_from_slice(if chunking {
        b"250 CHUNKING\r\n"
    } else {
        b"250 DSN\r\n"
    });
    run(
        &mut s,
        &mut vec![b"220 mx.example ESMTP\r\n".to_vec(), ehlo],
        b"",
    );
    s.finish_connect().unwrap();
    s.stream(NOW, 16).unwrap();
    s
}

/// Sends `n` messages; returns allocations per message for the envelope copies and for
/// the session.
fn probe(n: usize, rcpts: usize, chunking: bool) -> (f64, f64) {
    let body = b"From: a@example.org\r\nSubject: probe\r\n\r\nHello.\r\n";
    let to = (0..rcpts).map(|i| ForwardPath::new(&format!("rcpt{i}@example.net")).unwrap());
    let template =
        Envelope::new(ReversePath::new("sender@example.org").unwrap(), to).size(body.len() as u64);
    let mut s = session(chunking);
    // The replies are made before counting: the server's allocations are not ours.
    let mut flights: Vec<Vec<u8>> = (0..n).flat_map(|_| replies(rcpts, chunking)).collect();
    flights.reverse();
    let mut envelopes = Vec::with_capacity(n);
    let copies = allocation_counter::measure(|| {
        for _ in 0..n {
            envelopes.push(template.clone());
        }
    });
    envelopes.reverse();
    let mut delivered = 0;
    let work = allocation_counter::measure(|| {
        while let Some(envelope) = envelopes.pop() {
            s.stream_send(NOW, envelope).unwrap();
            loop {
                match s.poll_io() {
                    Io::Write { .. } => s.handle_written(),
                    Io::ReadBody { .. } => s.handle_body(NOW, body, true),
                    Io::Read { .. } => match s.poll_report() {
                        Some((_, report)) => {
                            delivered += usize::from(report.all_delivered());
                            break;
                        }
                        None => s.handle_input(NOW, &flights.pop().unwrap()),
                    },
                    other => panic!("{other:?}"),
                }
            }
        }
    });
    assert_eq!(delivered, n, "every message delivered");
    let per = |count: u64| count as f64 / n as f64;
    (per(copies.count_total), per(work.count_total))
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    println!("allocations per message over {n} messages, one at a time on one session:");
    for chunking in [false, true] {
        for rcpts in [1, 3] {
            let (copy, session) = probe(n, rcpts, chunking);
            let framing = if chunking { "BDAT" } else { "DATA" };
            println!(
                "  {framing}, {rcpts} rcpt: envelope copy {copy:.2}, session {session:.2}, total {:.2}",
                copy + session
            );
        }
    }
}
