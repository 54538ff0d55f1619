//! The client state machine with canned replies: CPU time per pipelined transaction
//! (3 recipients, 2 KiB body), client flights per transaction, and the size of an idle
//! session.
//!
//! `cargo bench -p smtp-proto --bench client`
#![allow(missing_docs)] // criterion's macros generate undocumented public items

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use smtp_proto::command::{EhloName, ForwardPath, ReversePath};
use smtp_proto::{Client, Config, Envelope, Instant, Output, TlsMode, TlsPolicy};

const TXNS: usize = 1000;

/// A minimal server for recording: answers every command the client wrote, in order.
#[derive(Default)]
struct Responder {
    in_data: bool,
    bdat_left: usize,
    bdat_last: bool,
    buf: Vec<u8>,
}

impl Responder {
    fn answer(&mut self, client_bytes: &[u8], replies: &mut Vec<u8>) {
        self.buf.extend_from_slice(client_bytes);
        let mut pos = 0;
        loop {
            let rest = &self.buf[pos..];
            if self.bdat_left > 0 {
                let n = self.bdat_left.min(rest.len());
                self.bdat_left -= n;
                pos += n;
                if self.bdat_left > 0 {
                    break;
                }
                replies.extend_from_slice(if self.bdat_last {
                    b"250 2.0.0 Ok: queued as 4XYZ\r\n"
                } else {
                    b"250 2.0.0 Ok: chunk\r\n"
                });
                continue;
            }
            if self.in_data {
                // The content ends at a line that is just ".".
                let mut line_start = 0;
                let mut found = None;
                while let Some(i) = memchr_nl(&rest[line_start..]) {
                    let line = &rest[line_start..line_start + i + 1];
                    if line == b".\r\n" {
                        found = Some(line_start + i + 1);
                        break;
                    }
                    line_start += i + 1;
                }
                match found {
                    Some(end) => {
                        pos += end;
                        self.in_data = false;
                        replies.extend_from_slice(b"250 2.0.0 Ok: queued as 4XYZ\r\n");
                        continue;
                    }
                    None => break,
                }
            }
            let Some(i) = memchr_nl(rest) else { break };
            let line = &rest[..i + 1];
            pos += i + 1;
            match &line[..4] {
                b"MAIL" => replies.extend_from_slice(b"250 2.1.0 Ok\r\n"),
                b"RCPT" => replies.extend_from_slice(b"250 2.1.5 Ok\r\n"),
                b"RSET" => replies.extend_from_slice(b"250 2.0.0 Ok\r\n"),
                b"DATA" => {
                    self.in_data = true;
                    replies.extend_from_slice(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                }
                b"BDAT" => {
                    let text = std::str::from_utf8(&line[5..line.len() - 2]).unwrap();
                    let mut words = text.split(' ');
                    self.bdat_left = words.next().unwrap().parse().unwrap();
                    self.bdat_last = words.next() == Some("LAST");
                    if self.bdat_left == 0 {
                        replies.extend_from_slice(b"250 2.0.0 Ok: queued as 4XYZ\r\n");
                    }
                }
                b"QUIT" => replies.extend_from_slice(b"221 2.0.0 Bye\r\n"),
                other => panic!("unexpected command {:?}", String::from_utf8_lossy(other)),
            }
        }
        self.buf.drain(..pos);
    }
}

fn memchr_nl(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

fn ehlo(chunking: bool) -> Vec<u8> {
    let mut r = b"250-postfix.harness.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n\
250-ETRN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n"
        .to_vec();
    r.extend_from_slice(if chunking {
        b"250 CHUNKING\r\n"
    } else {
        b"250 X-NOTHING\r\n"
    });
    r
}

fn body() -> Vec<u8> {
    let mut b = b"From: a@example.org\r\nTo: b@example.net\r\nSubject: bench\r\n\r\n".to_vec();
    while b.len() < 2048 - 72 {
        b.extend_from_slice(
            b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n",
        );
    }
    b
}

fn client(chunking: bool) -> Client {
    let mut config = Config::new(EhloName::new("client.example").unwrap());
    config.tls = TlsMode::StartTls(TlsPolicy::Disabled);
    config.chunking = chunking;
    Client::new(config, Instant::ZERO)
}

fn envelope(size: usize) -> Envelope {
    let rcpts =
        ["b@example.net", "c@example.net", "d@example.net"].map(|r| ForwardPath::new(r).unwrap());
    Envelope::new(ReversePath::new("a@example.org").unwrap(), rcpts).size(size as u64)
}

/// Runs TXNS transactions; `replies` is either recorded (Some responder) or replayed.
/// Returns the client's flights (non-empty writes) and the replies per flight.
fn run(chunking: bool, body: &[u8], script: Option<&[Vec<u8>]>) -> (usize, Vec<Vec<u8>>) {
    let now = Instant::ZERO;
    let mut c = client(chunking);
    for _ in 0..TXNS {
        c.send(now, envelope(body.len())).unwrap();
    }
    c.quit(now).unwrap();
    let mut out = Vec::with_capacity(256 * 1024);
    let mut responder = Responder::default();
    let mut recorded = Vec::new();
    let mut script = script.map(|s| s.iter());
    let mut flights = 0;
    c.handle_input(now, b"220 postfix.harness.test ESMTP\r\n");
    let mut first_wait = true;
    loop {
        match c.poll_output(&mut out) {
            Output::Event(e) => {
                black_box(e);
            }
            Output::SendBody { txn, .. } => c.send_body(now, txn, body, true, &mut out).unwrap(),
            Output::Wait { .. } => {
                if !out.is_empty() {
                    flights += 1;
                }
                let replies = match script.as_mut() {
                    Some(s) => s.next().expect("script long enough").clone(),
                    None => {
                        let mut r = Vec::new();
                        if first_wait {
                            r = ehlo(chunking);
                        } else {
                            responder.answer(&out, &mut r);
                        }
                        recorded.push(r.clone());
                        r
                    }
                };
                first_wait = false;
                out.clear();
                c.handle_input(now, &replies);
            }
            Output::Closed(e) => {
                assert!(e.is_none(), "{e:?}");
                break;
            }
            Output::StartTls(_) => unreachable!(),
        }
    }
    (flights, recorded)
}

fn bench(c: &mut Criterion) {
    let body = body();
    println!(
        "size_of::<Client>() = {} bytes",
        std::mem::size_of::<Client>()
    );
    for (name, chunking) in [("pipelining+DATA", false), ("pipelining+CHUNKING", true)] {
        let (flights, script) = run(chunking, &body, None);
        println!(
            "{name}: {flights} client flights for {TXNS} transactions = {:.3} per transaction",
            flights as f64 / TXNS as f64
        );
        let mut g = c.benchmark_group(format!("client/{name}"));
        g.throughput(Throughput::Elements(TXNS as u64));
        g.bench_function("1000 txns, 3 rcpts, 2 KiB", |b| {
            b.iter(|| run(chunking, &body, Some(&script)))
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
