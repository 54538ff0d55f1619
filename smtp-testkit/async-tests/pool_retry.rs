// Included by the async adapters' tests/pool_retry.rs: `adapter` is the adapter crate,
// `common` its test helpers (block_on, timeout). A pool against smtp-sink: callers
// that give up, and recipients retried after a transient refusal.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use adapter::smtp_proto::{MessageOutcome, RecipientStatus};
use adapter::{
    Builder, Envelope, ForwardPath, Pool, PoolConfig, PoolReport, ReversePath, TlsPolicy,
};
use smtp_sink::{Action, Match, Sink, SinkBuilder};

use common::{block_on, timeout};

type Sending = Pin<Box<dyn Future<Output = Result<PoolReport, adapter::Error>>>>;

/// Message `i`: from `app{i}@example.org` to `to`, so that the sink's command log
/// tells each message's commands apart.
fn message(i: usize, to: &[&str]) -> (Envelope, Vec<u8>) {
    let envelope = Envelope::new(
        ReversePath::new(&format!("app{i}@example.org")).unwrap(),
        to.iter().map(|t| ForwardPath::new(t).unwrap()),
    );
    let body = format!("Message-ID: <{i}@retry.test>\r\nSubject: {i}\r\n\r\nbody {i}\r\n");
    (envelope, body.into_bytes())
}

fn builder(sink: &Sink) -> Builder {
    Builder::new("127.0.0.1")
        .port(sink.port())
        .starttls(TlsPolicy::Disabled)
}

async fn sleep(d: Duration) {
    let _ = timeout(d, std::future::pending::<()>()).await;
}

/// Every command the sink was sent, over all connections.
fn commands(sink: &Sink) -> Vec<String> {
    sink.connections()
        .into_iter()
        .flat_map(|c| c.commands)
        .collect()
}

/// Ten callers on one connection that sends one command at a time while the server
/// takes its time: the first message is on the wire, the other nine wait in the
/// session, unwritten. The callers of five of those give up: their messages never
/// reach the server (not even their MAIL), the others are delivered, each once, and
/// the connection goes on for the next caller.
#[test]
fn callers_that_give_up_before_their_message_is_written_withdraw_it_and_others_arrive() {
    let sink = SinkBuilder::new()
        .reply_delay(Duration::from_millis(40))
        .start()
        .unwrap();
    let mut b = builder(&sink);
    // A window of one octet: one command (or chunk) unanswered at a time.
    b.config_mut().window = 1;
    let (results, after) = block_on(async {
        let config = PoolConfig {
            max_connections: 1,
            max_in_flight: 20,
            ..PoolConfig::default()
        };
        let pool = Pool::new(b, config);
        let mut sending: Vec<Option<Sending>> = (0..10)
            .map(|i| {
                let pool = pool.clone();
                let fut: Sending = Box::pin(async move {
                    let (envelope, body) = message(i, &[&format!("user{i}@example.net")]);
                    pool.send(envelope, body).await
                });
                Some(fut)
            })
            .collect();
        // One poll each queues every message; wait until the connection has them all.
        poll_fn(|cx| {
            for f in sending.iter_mut().flatten() {
                assert!(f.as_mut().poll(cx).is_pending());
            }
            Poll::Ready(())
        })
        .await;
        for _ in 0..500 {
            if pool.status().in_flight == 10 {
                break;
            }
            sleep(Duration::from_millis(2)).await;
        }
        assert_eq!(pool.status().in_flight, 10, "{:?}", pool.status());
        for i in (1..10).step_by(2) {
            sending[i] = None;
        }
        let mut results = Vec::new();
        for f in sending.into_iter().flatten() {
            results.push(f.await);
        }
        assert_eq!(pool.status().in_flight, 0, "the withdrawn left the count");
        let (envelope, body) = message(10, &["user10@example.net"]);
        let after = pool.send(envelope, body).await;
        pool.close().await;
        (results, after)
    });
    for r in results.iter().chain([&after]) {
        let r = r.as_ref().expect("delivered");
        assert!(r.report.all_delivered(), "{r:?}");
        assert_eq!(r.attempts, 1);
    }
    let commands = commands(&sink);
    for i in (1..10).step_by(2) {
        let mine = commands.iter().find(|c| c.contains(&format!("app{i}@")));
        assert_eq!(
            mine, None,
            "message {i} was withdrawn, yet reached the server"
        );
    }
    let ids: Vec<_> = sink
        .messages()
        .iter()
        .map(|m| m.header("Message-ID").unwrap_or_default())
        .collect();
    let expected: Vec<_> = [0, 2, 4, 6, 8, 10]
        .iter()
        .map(|i| format!("<{i}@retry.test>"))
        .collect();
    assert_eq!(ids, expected, "each delivered once, in order");
    assert_eq!(
        sink.connections().len(),
        1,
        "one connection served them all"
    );
}

/// A sink that refuses `later@example.net` for now (450) its first `n` times, and
/// `never@example.net` for good.
fn refusing(n: u64) -> Sink {
    let seen = Arc::new(AtomicU64::new(0));
    let later = move |addr: &str| {
        addr.eq_ignore_ascii_case("later@example.net") && seen.fetch_add(1, Ordering::SeqCst) < n
    };
    SinkBuilder::new()
        .recipient(
            Match::Address("never@example.net".into()),
            Action::permanent(),
        )
        .recipient(Match::Custom(Arc::new(later)), Action::transient())
        .start()
        .unwrap()
}

fn retrying(max_attempts: u32) -> PoolConfig {
    PoolConfig {
        retry_transient_recipients: true,
        max_attempts,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(40),
        ..PoolConfig::default()
    }
}

const TO: [&str; 3] = ["now@example.net", "later@example.net", "never@example.net"];

/// How many copies each of `TO` got (accepted transactions that carried it), and how
/// many times each was asked for (RCPT).
fn copies(sink: &Sink) -> ([usize; 3], [usize; 3]) {
    let mut copies = [0; 3];
    for m in sink.messages().iter().filter(|m| m.accepted()) {
        for to in m.accepted_recipients() {
            let i = TO.iter().position(|t| to.as_str() == *t).unwrap();
            copies[i] += 1;
        }
    }
    let commands = commands(sink);
    let asked = TO.map(|t| {
        let rcpt = format!("RCPT TO:<{t}>");
        commands.iter().filter(|c| c.starts_with(&rcpt)).count()
    });
    (copies, asked)
}

fn send_one(sink: &Sink, config: PoolConfig) -> PoolReport {
    let pool = block_on(async {
        let pool = Pool::new(builder(sink), config);
        let (envelope, body) = message(0, &TO);
        let r = pool.send(envelope, body).await;
        pool.close().await;
        r
    });
    pool.expect("a report")
}

/// The recipient refused for now goes again, alone, in a new transaction: the one
/// accepted gets one copy, the one refused for good is not asked again, and the report
/// merges both attempts.
#[test]
fn a_recipient_refused_for_now_is_retried_alone_and_nobody_gets_two_copies() {
    let sink = refusing(1);
    let r = send_one(&sink, retrying(3));
    assert_eq!(r.attempts, 2, "{r:?}");
    let report = &r.report;
    assert!(matches!(report.recipients[0], RecipientStatus::Accepted(_)));
    assert!(matches!(report.recipients[1], RecipientStatus::Accepted(_)));
    assert!(matches!(&report.recipients[2], RecipientStatus::Rejected(x) if x.code().get() == 550));
    assert!(matches!(report.outcome, Some(MessageOutcome::Accepted(_))));
    let (copies, asked) = copies(&sink);
    assert_eq!(copies, [1, 1, 0]);
    assert_eq!(asked, [1, 2, 1]);
}

/// Off by default: the 450 is the caller's to act on. And with it on, the retries stop
/// at `max_attempts`, the last 450 in the report.
#[test]
fn transient_recipients_are_retried_only_when_asked_and_within_max_attempts() {
    let sink = refusing(1);
    let r = send_one(&sink, PoolConfig::default());
    assert_eq!(r.attempts, 1);
    assert!(
        matches!(&r.report.recipients[1], RecipientStatus::Rejected(x) if x.code().get() == 450)
    );
    assert_eq!(copies(&sink), ([1, 0, 0], [1, 1, 1]), "one transaction");

    let sink = refusing(u64::MAX);
    let r = send_one(&sink, retrying(3));
    assert_eq!(r.attempts, 3);
    assert!(
        matches!(&r.report.recipients[1], RecipientStatus::Rejected(x) if x.code().get() == 450)
    );
    assert!(matches!(
        r.report.recipients[0],
        RecipientStatus::Accepted(_)
    ));
    assert_eq!(copies(&sink), ([1, 0, 0], [1, 3, 1]));
}
