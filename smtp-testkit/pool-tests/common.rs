// Included by every adapter's tests/pool.rs (blocking, Tokio, smol): `adapter` is the
// adapter crate. The messages, the pool against smtp-sink, and the judgement of a run:
// what the sink stored against what the pool reported.

use std::collections::HashMap;

use adapter::{
    Builder, Envelope, ForwardPath, MessageOutcome, Pool, PoolConfig, PoolReport, ReversePath,
    TlsPolicy,
};
use smtp_sink::{Sink, SinkBuilder};

/// Message `i`: its number is in its Message-ID.
fn message(i: usize) -> (Envelope, Vec<u8>) {
    let envelope = Envelope::new(
        ReversePath::new("app@example.org").unwrap(),
        [ForwardPath::new("user@example.net").unwrap()],
    );
    let body = format!("Message-ID: <{i}@pool.test>\r\nSubject: {i}\r\n\r\nbody {i}\r\n");
    (envelope, body.into_bytes())
}

fn pool(sink: &Sink, config: PoolConfig) -> Pool {
    let builder = Builder::new("127.0.0.1")
        .port(sink.port())
        .starttls(TlsPolicy::Disabled)
        .timeouts({
            // A sink that withholds a reply fails the test instead of hanging it.
            let s = std::time::Duration::from_secs(10);
            let mut t = adapter::Timeouts::default();
            (t.greeting, t.mail, t.rcpt, t.data_init) = (s, s, s, s);
            (t.data_block, t.data_end, t.command) = (s, s, s);
            t
        });
    Pool::new(builder, config)
}

/// How many times the sink stored each Message-ID, by whether it accepted it.
fn stored(sink: &Sink) -> (HashMap<String, usize>, HashMap<String, usize>) {
    let (mut accepted, mut any) = (HashMap::new(), HashMap::new());
    for m in sink.messages() {
        let id = m.header("Message-ID").unwrap_or_default();
        *any.entry(id.clone()).or_default() += 1;
        if m.accepted() {
            *accepted.entry(id).or_default() += 1;
        }
    }
    (accepted, any)
}

const MAX_ATTEMPTS: u32 = 6;

/// The pool the fault tests run: 4 connections, spread at once, quick backoffs,
/// `MAX_ATTEMPTS`.
fn fault_pool(faults: SinkBuilder) -> (Sink, Pool) {
    let sink = faults.start().unwrap();
    let pool = pool(&sink, {
        let mut pool_config = PoolConfig::default();
        pool_config.max_connections = 4;
        pool_config.max_attempts = MAX_ATTEMPTS;
        pool_config.backoff_base = std::time::Duration::from_millis(5);
        pool_config.backoff_max = std::time::Duration::from_millis(50);
        // Spread at once: the faults act per connection (every other greeting refused,
        // say), so every test must see several connections open whatever the machine's
        // load. With the default fill a loaded machine's callers, arriving one by one,
        // could all be served by the first connection.
        pool_config.fill = 0;
        pool_config.spread_after = std::time::Duration::ZERO;
        pool_config
    });
    (sink, pool)
}

/// The checks every fault test makes; returns how many ended unknown.
fn check(sink: &Sink, results: &[Result<PoolReport, adapter::Error>]) -> usize {
    let (accepted, any) = stored(sink);
    let mut unknown = 0;
    for (i, r) in results.iter().enumerate() {
        let id = format!("<{i}@pool.test>");
        let seen = any.get(&id).copied().unwrap_or(0);
        assert!(seen <= 1, "{id} stored {seen} times");
        match r {
            Ok(p) if p.report.all_delivered() => {
                assert_eq!(
                    accepted.get(&id),
                    Some(&1),
                    "{id} reported accepted, not stored"
                );
            }
            Ok(p) if p.report.outcome == Some(MessageOutcome::Unknown) => {
                // Either way: a close right after the 250 can lose it to a reset.
                unknown += 1;
            }
            // Never delivered, sent again until the attempts ran out.
            Ok(p) if adapter::smtp_proto::pool::may_resend(&p.report) => {
                assert_eq!(p.attempts, MAX_ATTEMPTS, "{p:?}");
                assert_eq!(
                    accepted.get(&id),
                    None,
                    "{id} reported failed, yet accepted"
                );
            }
            // Never delivered (the session was over before it was written), and the
            // attempts ran out.
            Err(e) if e.is_transient() || matches!(e, adapter::Error::Smtp(_)) => {
                assert_eq!(accepted.get(&id), None, "{id} failed, yet accepted");
            }
            other => panic!("{id}: {other:?}"),
        }
    }
    unknown
}

/// How many messages were delivered after more than one attempt: sent again on
/// another connection after their first one died before their end of data (or a 421).
fn delivered_after_a_retry(results: &[Result<PoolReport, adapter::Error>]) -> usize {
    results
        .iter()
        .filter(|r| {
            r.as_ref()
                .is_ok_and(|p| p.attempts > 1 && p.report.all_delivered())
        })
        .count()
}
