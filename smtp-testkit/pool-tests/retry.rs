// Included by every adapter's tests/pool_retry.rs (blocking, Tokio, smol): `adapter`
// is the adapter crate, `block_on` runs a test and `aw!` awaits only for the async
// pools. A pool against smtp-sink: recipients retried after a transient refusal, and
// the helpers the adapters' withdrawal tests share.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use adapter::smtp_proto::{MessageOutcome, RecipientStatus};
use adapter::{
    Builder, Envelope, ForwardPath, Pool, PoolConfig, PoolReport, ReversePath, TlsPolicy,
};
use smtp_sink::{Action, Match, Sink, SinkBuilder};

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

/// Every command the sink was sent, over all connections.
fn commands(sink: &Sink) -> Vec<String> {
    sink.connections()
        .into_iter()
        .flat_map(|c| c.commands)
        .collect()
}

/// A sink that takes its time (40 ms a reply), a builder for it whose connections
/// send one command at a time, and a pool of one connection taking up to 20 messages:
/// a connection handed ten messages has at most one on the wire, the others unwritten.
fn one_command_at_a_time() -> (Sink, Builder, PoolConfig) {
    let sink = SinkBuilder::new()
        .reply_delay(Duration::from_millis(40))
        .start()
        .unwrap();
    let mut b = builder(&sink);
    // A window of one octet: one command (or chunk) unanswered at a time.
    b.config_mut().window = 1;
    let mut config = PoolConfig::default();
    config.max_connections = 1;
    config.max_in_flight = 20;
    (sink, b, config)
}

/// Which of messages `msgs` had any command reach the sink.
fn reached(sink: &Sink, msgs: impl IntoIterator<Item = usize>) -> Vec<usize> {
    let commands = commands(sink);
    msgs.into_iter()
        .filter(|i| commands.iter().any(|c| c.contains(&format!("app{i}@"))))
        .collect()
}

/// The Message-IDs of what the sink stored, in order, against those of messages
/// `msgs`.
fn stored(sink: &Sink, msgs: &[usize]) -> (Vec<String>, Vec<String>) {
    let ids = sink
        .messages()
        .iter()
        .map(|m| m.header("Message-ID").unwrap_or_default())
        .collect();
    let expected = msgs.iter().map(|i| format!("<{i}@retry.test>")).collect();
    (ids, expected)
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
    let mut pool_config = PoolConfig::default();
    pool_config.retry_transient_recipients = true;
    pool_config.max_attempts = max_attempts;
    pool_config.backoff_base = Duration::from_millis(10);
    pool_config.backoff_max = Duration::from_millis(40);
    pool_config
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
        let r = aw!(pool.send(envelope, body));
        aw!(pool.close());
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
