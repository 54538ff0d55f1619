//! The core's part of a pool's message, with no I/O: a [`Pool`] handing 100 callers'
//! messages (3 recipients, 2 KiB, CHUNKING) to one connection's [`Session`] stream, a
//! canned server answering each flight whole. Each message's envelope is its caller's
//! (a copy made at submit): the attempt takes it, and the session gives it back with
//! the report. CPU time per message of the pool's
//! decisions, the session's bookkeeping and the client's commands and replies: what
//! smtp-bench's `pool` costs the client thread besides the runtime and the sockets.
//!
//! `cargo bench -p smtp-proto --bench pool`
#![allow(missing_docs)] // criterion's macros generate undocumented public items

use std::collections::VecDeque;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use smtp_proto::command::{EhloName, ForwardPath, ReversePath};
use smtp_proto::pool::{Action, Pool, PoolConfig};
use smtp_proto::session::{Io, Session, SessionError};
use smtp_proto::{Config, Envelope, Error, Instant, TlsMode, TlsPolicy, UsageError};

#[path = "../tests/sink_support/mod.rs"]
mod sink_support;

const MESSAGES: usize = 2000;
const CALLERS: usize = 100;

#[derive(Debug)]
struct E;
impl SessionError for E {
    fn from_core(_: Error) -> Self {
        E
    }
    fn from_usage(_: UsageError) -> Self {
        E
    }
    fn cancelled() -> Self {
        E
    }
    fn duplicate(&self) -> Self {
        E
    }
}

const EHLO: &[u8] = b"250-sink.example\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-8BITMIME\r\n\
250-SIZE 10240000\r\n250 ENHANCEDSTATUSCODES\r\n";

fn session(now: Instant) -> Session<E> {
    let mut config = Config::new(EhloName::new("client.example").unwrap());
    config.tls = TlsMode::StartTls(TlsPolicy::Disabled);
    let mut s = Session::new(config, now);
    for input in [&b"220 sink.example ESMTP\r\n"[..], EHLO] {
        loop {
            match s.poll_io() {
                Io::Write { .. } => s.handle_written(),
                Io::Read { .. } => break,
                other => panic!("{other:?}"),
            }
        }
        s.handle_input(now, input);
    }
    assert!(matches!(s.poll_io(), Io::Done));
    s.finish_connect().unwrap();
    s
}

/// Sends MESSAGES messages from CALLERS callers, each submitting its next message once
/// its last one is done. Returns how many were accepted.
fn run(envelope: &Envelope, body: &[u8]) -> usize {
    let now = Instant::ZERO;
    let mut pool = Pool::new(PoolConfig::default());
    let mut s = None;
    let mut submitted = 0;
    let mut accepted = 0;
    let mut by_index = VecDeque::new();
    let mut first_index = 0;
    let mut replies = Vec::new();
    // Each message's envelope, as its caller built it (a copy of `envelope`): the
    // attempt takes it, and it comes back with the report.
    let mut envelopes = std::collections::HashMap::new();
    while submitted < CALLERS {
        envelopes.insert(pool.submit(now).unwrap(), envelope.clone());
        submitted += 1;
    }
    while accepted < MESSAGES {
        while let Some(action) = pool.poll_action(now) {
            match action {
                Action::Open(conn) => {
                    let mut session = session(now);
                    session.stream(now, 100).unwrap();
                    s = Some((conn, session));
                    pool.handle_opened(now, conn);
                }
                Action::Send { msg, .. } => {
                    let (_, session) = s.as_mut().unwrap();
                    let env = envelopes.remove(&msg).unwrap();
                    session.stream_send(now, env).unwrap();
                    by_index.push_back(msg);
                }
                Action::Done { .. } => {
                    accepted += 1;
                    if submitted < MESSAGES {
                        envelopes.insert(pool.submit(now).unwrap(), envelope.clone());
                        submitted += 1;
                    }
                }
                other => panic!("{other:?}"),
            }
            black_box(pool.poll_timeout());
        }
        let (conn, session) = s.as_mut().unwrap();
        loop {
            match session.poll_io() {
                Io::ReadBody { .. } => session.handle_body(now, body, true),
                Io::Write { .. } => {
                    sink_support::answer(session.output(), body.len(), &mut replies);
                    session.handle_written();
                }
                Io::Read { .. } => break,
                other => panic!("{other:?}"),
            }
        }
        session.handle_input(now, &replies);
        replies.clear();
        while let Some((index, report, env)) = session.poll_report_and_envelope() {
            assert_eq!(index, first_index);
            first_index += 1;
            let msg = by_index.pop_front().unwrap();
            assert!(report.all_delivered(), "{report:?}");
            black_box(pool.handle_report_of(now, *conn, msg, report, 0));
            // Kept for a retry until the message's Done (none here).
            black_box(env);
        }
    }
    accepted
}

fn bench(c: &mut Criterion) {
    let body: Vec<u8> = b"Subject: x\r\n\r\n"
        .iter()
        .copied()
        .chain(std::iter::repeat_n(b'x', 2030))
        .chain(*b"\r\n")
        .collect();
    let rcpts = ["r1@example.com", "r2@example.com", "r3@example.com"]
        .map(|r| ForwardPath::new(r).unwrap());
    let from = ReversePath::new("bench@example.org").unwrap();
    let envelope = Envelope::new(from, rcpts).size(body.len() as u64);
    assert_eq!(run(&envelope, &body), MESSAGES);
    let mut g = c.benchmark_group("pool");
    g.throughput(Throughput::Elements(MESSAGES as u64));
    g.bench_function("100 callers, 1 connection, 3 rcpts, 2 KiB", |b| {
        b.iter(|| run(&envelope, &body))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
