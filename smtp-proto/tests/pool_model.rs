//! The pool's decisions against a simulated world: connections that open or fail to,
//! replies of every kind (recipients accepted, refused for now or for good), cuts,
//! callers that give up (before their message was written, or after), time passing.
//! Whatever happens, every submitted message ends with exactly one `Done` (or is
//! withdrawn by its caller), nothing that may have reached the server is handed to a
//! connection again (with transient recipients retried: only to recipients that never
//! got it and were not refused for good, so none gets two copies), reports promise
//! no more than happened, and the limits hold. Each attempt takes the message's
//! envelope by move, as the adapters do; it comes back with the attempt's report
//! ([`Pool::retry_envelope`] narrowing it) and is what every later attempt carries:
//! the very envelope a copy ([`Pool::attempt_envelope`]) would make.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use proptest::prelude::*;
use smtp_proto::command::{EhloName, ForwardPath, ReversePath};
use smtp_proto::pool::{Action, ConnId, End, MessageId, Pool, PoolConfig, SubmitError};
use smtp_proto::{
    Client, Config, Envelope, Event, Instant, MessageOutcome, RecipientStatus, Reply, ReplyCode,
    Report, Stage, TxnFailure, TxnId,
};

/// What the world does next.
#[derive(Clone, Debug)]
enum Step {
    Submit,
    /// The caller of the `n`th submitted message gives up.
    Cancel(usize),
    /// The oldest open attempt succeeds, or fails (`permanent` or not).
    Open(Option<bool>),
    /// A connection (`n` mod open ones) answers its oldest message; the recipients'
    /// replies are drawn from the bits.
    Reply(usize, Answer, u16),
    /// A connection (`n` mod open ones) writes out every message it has.
    Write(usize),
    /// A connection is cut: each message in flight ends unknown if its data was out
    /// (`data_out`), else never delivered.
    Cut(usize, bool),
    /// A check (NOOP) is answered: alive or not.
    Check(bool),
    Advance(u64),
}

#[derive(Clone, Copy, Debug)]
enum Answer {
    Accepted,
    Rejected,
    Unknown,
    /// 421 or a cut before the end of data: certainly not delivered.
    NeverReached,
}

fn step() -> impl Strategy<Value = Step> {
    let reply = prop_oneof![
        Just(Answer::Accepted),
        Just(Answer::Rejected),
        Just(Answer::Unknown),
        Just(Answer::NeverReached),
    ];
    prop_oneof![
        4 => Just(Step::Submit),
        1 => (0usize..64).prop_map(Step::Cancel),
        3 => prop_oneof![Just(None), Just(Some(false)), Just(Some(true))].prop_map(Step::Open),
        6 => (0usize..8, reply, any::<u16>()).prop_map(|(n, r, b)| Step::Reply(n, r, b)),
        2 => (0usize..8).prop_map(Step::Write),
        1 => (0usize..8, any::<bool>()).prop_map(|(n, d)| Step::Cut(n, d)),
        1 => any::<bool>().prop_map(Step::Check),
        2 => (0u64..3000).prop_map(Step::Advance),
    ]
}

fn config() -> impl Strategy<Value = PoolConfig> {
    (
        1usize..4,
        (1usize..5, 0usize..6),
        1usize..12,
        1u32..4,
        1u64..20,
        (any::<bool>(), 0u64..3),
    )
        .prop_map(
            |(conns, (in_flight, fill), queued, attempts, max_messages, (retry, spread))| {
                let mut pool_config = PoolConfig::default();
                pool_config.max_connections = conns;
                pool_config.max_in_flight = in_flight;
                pool_config.fill = fill;
                // Every connection slow, the default (10 ms), or prompt for the steps'
                // time spans (up to 3 s each).
                pool_config.spread_after = Duration::from_millis([0, 10, 10_000][spread as usize]);
                pool_config.max_idle = Duration::from_secs(5);
                pool_config.max_age = Duration::from_secs(20);
                pool_config.max_messages = max_messages;
                pool_config.check_after = Duration::from_secs(2);
                pool_config.trim_after = Duration::from_secs(1);
                pool_config.max_queued = queued;
                pool_config.max_wait = Duration::from_secs(15);
                pool_config.max_attempts = attempts;
                pool_config.backoff_base = Duration::from_millis(100);
                pool_config.backoff_max = Duration::from_secs(1);
                pool_config.retry_transient_recipients = retry;
                pool_config
            },
        )
}

/// A message on a connection, with its attempt's recipients (positions in its
/// envelope) and the envelope the attempt took.
type OnWire = (MessageId, Vec<usize>, Envelope);

/// An open connection: its messages, oldest first, and how many of them (from the
/// front) are written.
#[derive(Default)]
struct Line {
    msgs: VecDeque<OnWire>,
    written: usize,
}

/// The world: what the adapter knows, and what the checks need.
#[derive(Default)]
struct World {
    now: Duration,
    random: u64,
    opening: VecDeque<ConnId>,
    checking: VecDeque<ConnId>,
    /// Open connections and the messages on them.
    conns: BTreeMap<ConnId, Line>,
    submitted: Vec<MessageId>,
    withdrawn: BTreeSet<MessageId>,
    /// Given up by their callers once written: they complete there, and no `Done`
    /// comes.
    abandoned: BTreeSet<MessageId>,
    done: BTreeMap<MessageId, End>,
    /// Messages that may have reached the server (accepted, rejected, unknown).
    reached: BTreeSet<MessageId>,
    /// Messages never to be sent again: an outcome unknown, or the whole transaction
    /// refused.
    over: BTreeSet<MessageId>,
    /// Recipients settled for good: accepted (they may have a copy) or refused 5xx.
    settled: BTreeSet<(MessageId, usize)>,
    /// Copies each recipient may have got.
    copies: BTreeMap<(MessageId, usize), u32>,
    /// Recipients whose copy is only maybe there (the outcome was unknown).
    maybe: BTreeSet<(MessageId, usize)>,
    /// The last report the pool gave back for each message.
    last: BTreeMap<MessageId, Report>,
    /// The envelope of each message's next attempt, while no attempt has it.
    envelopes: BTreeMap<MessageId, Envelope>,
    sends: BTreeMap<MessageId, u32>,
    /// Connections told to give their buffers back since they last took a message.
    trimmed: BTreeSet<ConnId>,
}

/// A message's recipients: 1 to 3 of them.
fn recipients(m: MessageId) -> usize {
    1 + (m.get() % 3) as usize
}

fn envelope(m: MessageId) -> Envelope {
    let to = (0..recipients(m)).map(|i| ForwardPath::new(&format!("r{i}@example.net")).unwrap());
    Envelope::new(ReversePath::new("a@example.org").unwrap(), to)
}

/// A transaction id for the reports (any will do: one report per attempt).
fn txn() -> TxnId {
    let config = Config::new(EhloName::new("client.example").unwrap());
    let mut client = Client::new(config, Instant::ZERO);
    let to = [ForwardPath::new("r@example.net").unwrap()];
    let envelope = Envelope::new(ReversePath::new("a@example.org").unwrap(), to);
    client.send(Instant::ZERO, envelope).unwrap()
}

fn reply(code: u16) -> Reply {
    Reply::new(ReplyCode::new(code).unwrap(), &[b"x"]).unwrap()
}

impl World {
    fn now(&self) -> Instant {
        Instant::from_duration(self.now)
    }

    fn random(&mut self) -> u64 {
        self.random = self
            .random
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.random >> 11
    }

    /// Performs every action the pool hands out, checking each.
    fn drain(&mut self, pool: &mut Pool, config: &PoolConfig) -> Result<(), TestCaseError> {
        while let Some(action) = pool.poll_action(self.now()) {
            match action {
                Action::Open(c) => self.opening.push_back(c),
                Action::Send { conn, msg } => {
                    let env = self.envelopes.remove(&msg);
                    prop_assert!(env.is_some(), "{msg:?}: its envelope is not back");
                    let env = env.unwrap();
                    prop_assert_eq!(
                        &env,
                        &pool.attempt_envelope(msg, &envelope(msg)),
                        "{:?}: the envelope handed back is not this attempt's",
                        msg
                    );
                    let rcpts: Vec<usize> = env
                        .recipients
                        .iter()
                        .map(|r| r.path.as_str()[1..2].parse().unwrap())
                        .collect();
                    prop_assert!(!rcpts.is_empty());
                    prop_assert!(
                        !self.over.contains(&msg),
                        "{msg:?}: its outcome is unknown or it was refused, yet sent again"
                    );
                    if self.reached.contains(&msg) {
                        prop_assert!(
                            config.retry_transient_recipients,
                            "{msg:?} may have reached the server and was sent again"
                        );
                        for &i in &rcpts {
                            prop_assert!(
                                !self.settled.contains(&(msg, i)),
                                "{msg:?} sent again to recipient {i}, settled already"
                            );
                        }
                    }
                    prop_assert!(!self.done.contains_key(&msg), "{msg:?} sent after its end");
                    prop_assert!(
                        !self.withdrawn.contains(&msg),
                        "{msg:?} sent after withdrawn"
                    );
                    let q = self.conns.get_mut(&conn);
                    prop_assert!(q.is_some(), "sent on {conn:?}, which is not open");
                    let q = q.unwrap();
                    q.msgs.push_back((msg, rcpts, env));
                    self.trimmed.remove(&conn);
                    prop_assert!(q.msgs.len() <= config.max_in_flight);
                    let n = self.sends.entry(msg).or_default();
                    *n += 1;
                    prop_assert!(*n <= config.max_attempts, "{msg:?} tried {n} times");
                }
                Action::Check(c) => {
                    prop_assert!(self.conns.get(&c).is_some_and(|l| l.msgs.is_empty()));
                    self.checking.push_back(c);
                }
                Action::Trim(c) => {
                    prop_assert!(
                        self.conns.get(&c).is_some_and(|l| l.msgs.is_empty()),
                        "trimmed {c:?}, not open or with messages on it"
                    );
                    prop_assert!(!self.checking.contains(&c), "trimmed {c:?} while checked");
                    prop_assert!(self.trimmed.insert(c), "{c:?} trimmed twice while idle");
                }
                Action::Close(c) => {
                    let q = self.conns.remove(&c);
                    prop_assert!(
                        q.is_some_and(|q| q.msgs.is_empty()),
                        "closed {c:?} with messages on it"
                    );
                    pool.handle_closed(self.now(), c);
                }
                Action::Done { msg, end, attempts } => {
                    prop_assert!(self.done.insert(msg, end).is_none(), "{msg:?} ended twice");
                    self.envelopes.remove(&msg);
                    prop_assert!(
                        !self.withdrawn.contains(&msg),
                        "{msg:?} ended after it was withdrawn"
                    );
                    prop_assert!(
                        !self.abandoned.contains(&msg),
                        "{msg:?} ended after its caller gave up"
                    );
                    prop_assert_eq!(attempts, self.sends.get(&msg).copied().unwrap_or(0));
                    prop_assert!(self
                        .conns
                        .values()
                        .all(|q| q.msgs.iter().all(|o| o.0 != msg)));
                    let kept = pool.take_report(msg);
                    let last = self.last.remove(&msg);
                    if end == End::Report {
                        if let Some(report) = kept.or(last) {
                            self.check_report(msg, &report)?;
                        }
                    }
                }
            }
            // Messages sent again rejoin the queue: beyond its bound by at most what
            // the connections held.
            let bound = config.max_queued + config.max_connections * config.max_in_flight;
            prop_assert!(pool.status().queued <= bound);
            let open = self.conns.len() + self.opening.len();
            prop_assert!(open <= config.max_connections, "{open} connections");
        }
        Ok(())
    }

    /// A connection answers its oldest message with `answer`, its recipients as
    /// `bits` say (two bits each: 250, 250, 450, 550).
    fn reply(&mut self, pool: &mut Pool, conn: ConnId, answer: Answer, bits: u16) {
        let Some(line) = self.conns.get_mut(&conn) else {
            return;
        };
        let Some((msg, rcpts, mut env)) = line.msgs.pop_front() else {
            return;
        };
        line.written = line.written.saturating_sub(1);
        let txn = txn();
        let mut report = Report::new(txn, rcpts.len(), false);
        let never = matches!(answer, Answer::NeverReached);
        let mut any_accepted = false;
        for (rcpt, &i) in rcpts.iter().enumerate() {
            if never {
                break;
            }
            let code = [250, 250, 450, 550][usize::from((bits >> (2 * (rcpt % 8))) & 3)];
            let reply = reply(code);
            report.apply(&if code == 250 {
                any_accepted = true;
                Event::RecipientAccepted { txn, rcpt, reply }
            } else {
                Event::RecipientRejected { txn, rcpt, reply }
            });
            if code == 550 {
                self.settled.insert((msg, i));
            }
        }
        let outcome = match answer {
            Answer::NeverReached => MessageOutcome::Failed(TxnFailure::SessionClosed),
            _ if !any_accepted => MessageOutcome::Failed(TxnFailure::NoRecipients),
            Answer::Accepted => MessageOutcome::Accepted(reply(250)),
            Answer::Unknown => MessageOutcome::Unknown,
            Answer::Rejected => MessageOutcome::Failed(TxnFailure::Rejected {
                stage: Stage::DataEnd,
                reply: reply(554),
            }),
        };
        if !never {
            self.reached.insert(msg);
        }
        if matches!(answer, Answer::Unknown | Answer::Rejected) && any_accepted {
            self.over.insert(msg);
        }
        if matches!(answer, Answer::Accepted | Answer::Unknown) && any_accepted {
            for (rcpt, &i) in rcpts.iter().enumerate() {
                if matches!(report.recipients[rcpt], RecipientStatus::Accepted(_)) {
                    self.settled.insert((msg, i));
                    *self.copies.entry((msg, i)).or_default() += 1;
                    if matches!(answer, Answer::Unknown) {
                        self.maybe.insert((msg, i));
                    }
                }
            }
        }
        report.apply(&match outcome {
            MessageOutcome::Accepted(reply) => Event::MessageAccepted {
                txn,
                rcpt: None,
                reply,
            },
            MessageOutcome::Failed(failure) => Event::TransactionFailed {
                txn,
                rcpt: None,
                failure,
            },
            MessageOutcome::Unknown => Event::OutcomeUnknown { txn, rcpt: None },
        });
        let random = self.random();
        if let Some(kept) = pool.handle_report_of(self.now(), conn, msg, report, random) {
            self.last.insert(msg, kept);
        }
        // The envelope comes back with the report, for a later attempt.
        pool.retry_envelope(msg, &mut env);
        if !self.done.contains_key(&msg) {
            self.envelopes.insert(msg, env);
        }
    }

    /// What a message's report says against what happened: a recipient reported
    /// accepted may have its copy, and one that may have a copy is reported accepted,
    /// with the message accepted or unknown.
    fn check_report(&self, msg: MessageId, report: &Report) -> Result<(), TestCaseError> {
        prop_assert_eq!(report.recipients.len(), recipients(msg));
        for (i, status) in report.recipients.iter().enumerate() {
            let copies = self.copies.get(&(msg, i)).copied().unwrap_or(0);
            prop_assert!(copies <= 1, "{msg:?}: recipient {i} got {copies} copies");
            let accepted = matches!(status, RecipientStatus::Accepted(_));
            let delivered = matches!(
                report.outcome,
                Some(MessageOutcome::Accepted(_) | MessageOutcome::Unknown)
            );
            if self.maybe.contains(&(msg, i)) {
                let unknown = Some(MessageOutcome::Unknown);
                prop_assert_eq!(&report.outcome, &unknown, "{:?}: {} may have it", msg, i);
            }
            if copies == 1 {
                prop_assert!(accepted && delivered, "{msg:?}: {i} has it: {report:?}");
            } else if accepted {
                // Accepted at RCPT in the last attempt that carried it, which then
                // failed as a whole: only then may the message's outcome say failed.
                prop_assert!(!delivered, "{msg:?}: {i} said delivered: {report:?}");
            }
        }
        Ok(())
    }

    fn cut(&mut self, pool: &mut Pool, conn: ConnId, data_out: bool) {
        // Written messages end unknown if their data was out; the others were never
        // sent.
        while let Some(line) = self.conns.get(&conn).filter(|l| !l.msgs.is_empty()) {
            let answer = if data_out && line.written > 0 {
                Answer::Unknown
            } else {
                Answer::NeverReached
            };
            self.reply(pool, conn, answer, 0);
        }
        self.conns.remove(&conn);
        self.checking.retain(|&c| c != conn);
        pool.handle_closed(self.now(), conn);
    }

    fn nth_conn(&self, n: usize) -> Option<ConnId> {
        let keys: Vec<_> = self.conns.keys().copied().collect();
        (!keys.is_empty()).then(|| keys[n % keys.len()])
    }

    fn apply(
        &mut self,
        pool: &mut Pool,
        step: &Step,
        config: &PoolConfig,
    ) -> Result<(), TestCaseError> {
        match *step {
            Step::Submit => match pool.submit(self.now()) {
                Ok(m) => {
                    self.submitted.push(m);
                    self.envelopes.insert(m, envelope(m));
                    // Callers wait beyond this bound (backpressure).
                    prop_assert!(pool.status().queued <= config.max_queued);
                }
                Err(SubmitError::Full) => {
                    prop_assert!(pool.status().queued >= config.max_queued);
                }
                Err(SubmitError::Closed) => prop_assert!(false, "not closed"),
            },
            Step::Cancel(n) => {
                if let Some(&m) = self.submitted.get(n) {
                    let over = self.done.contains_key(&m)
                        || self.withdrawn.contains(&m)
                        || self.abandoned.contains(&m);
                    if !over {
                        if pool.cancel(m) {
                            self.withdrawn.insert(m);
                        } else {
                            let conn = pool.handed_to(m);
                            prop_assert!(
                                conn.is_some(),
                                "{m:?} not withdrawn, yet on no connection"
                            );
                            let conn = conn.unwrap();
                            let line = self.conns.get_mut(&conn).unwrap();
                            let at = line.msgs.iter().position(|o| o.0 == m);
                            prop_assert!(at.is_some(), "{m:?} is not on {conn:?}");
                            let at = at.unwrap();
                            if at >= line.written {
                                // Nothing of it written: the session withdraws it.
                                line.msgs.remove(at);
                                pool.handle_withdrawn(self.now(), conn, m);
                                self.withdrawn.insert(m);
                            } else {
                                self.abandoned.insert(m);
                            }
                        }
                    }
                }
            }
            Step::Open(result) => {
                if let Some(c) = self.opening.pop_front() {
                    let now = self.now();
                    match result {
                        None => {
                            self.conns.insert(c, Line::default());
                            pool.handle_opened(now, c);
                        }
                        Some(permanent) => {
                            let random = self.random();
                            pool.handle_open_failed(now, c, permanent, random);
                        }
                    }
                }
            }
            Step::Reply(n, answer, bits) => {
                if let Some(c) = self.nth_conn(n) {
                    // Answered, so written first.
                    let line = self.conns.get_mut(&c).unwrap();
                    line.written = line.written.max(1);
                    self.reply(pool, c, answer, bits);
                }
            }
            Step::Write(n) => {
                if let Some(c) = self.nth_conn(n) {
                    let line = self.conns.get_mut(&c).unwrap();
                    line.written = line.msgs.len();
                }
            }
            Step::Cut(n, data_out) => {
                if let Some(c) = self.nth_conn(n) {
                    self.cut(pool, c, data_out);
                }
            }
            Step::Check(alive) => {
                if let Some(c) = self.checking.pop_front() {
                    if alive {
                        pool.handle_checked(self.now(), c, true);
                    } else {
                        self.conns.remove(&c);
                        pool.handle_checked(self.now(), c, false);
                    }
                }
            }
            Step::Advance(ms) => self.now += Duration::from_millis(ms),
        }
        self.drain(pool, config)
    }

    /// A kind world from here on: opens succeed, checks pass, every message is
    /// accepted, time passes. Everything ends.
    fn settle(&mut self, pool: &mut Pool, config: &PoolConfig) -> Result<(), TestCaseError> {
        for _ in 0..10_000 {
            let over = self.submitted.iter().all(|m| {
                self.done.contains_key(m)
                    || self.withdrawn.contains(m)
                    || self.abandoned.contains(m)
            });
            if over && self.conns.values().all(|l| l.msgs.is_empty()) {
                return Ok(());
            }
            if !self.opening.is_empty() {
                self.apply(pool, &Step::Open(None), config)?;
            } else if !self.checking.is_empty() {
                self.apply(pool, &Step::Check(true), config)?;
            } else if let Some((&c, _)) = self.conns.iter().find(|(_, q)| !q.msgs.is_empty()) {
                self.reply(pool, c, Answer::Accepted, 0);
                self.drain(pool, config)?;
            } else {
                self.apply(pool, &Step::Advance(500), config)?;
            }
        }
        prop_assert!(false, "the pool never settled: {:?}", pool.status());
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_message_ends_once_and_nothing_that_may_have_arrived_is_resent(
        config in config(),
        steps in proptest::collection::vec(step(), 0..120),
        seed in any::<u64>(),
    ) {
        let mut pool = Pool::new(config.clone());
        let mut world = World { random: seed, ..World::default() };
        for s in &steps {
            world.apply(&mut pool, s, &config)?;
        }
        world.settle(&mut pool, &config)?;
        for m in &world.submitted {
            let ended = world.done.contains_key(m);
            let gone = world.withdrawn.contains(m) || world.abandoned.contains(m);
            prop_assert!(ended != gone, "{m:?}: ended {ended}, withdrawn or abandoned {gone}");
        }
        for (m, end) in &world.done {
            if *end == End::TimedOut || *end == End::OpenFailed {
                prop_assert!(!world.sends.contains_key(m), "{m:?} ended {end:?} after it was sent");
            }
        }
        pool.close();
        world.drain(&mut pool, &config)?;
        // Connections still opening come up, and close at once; a connection whose
        // health check (NOOP) is still out closes once it is answered.
        while !world.opening.is_empty() || !world.checking.is_empty() {
            let step = if world.opening.is_empty() { Step::Check(true) } else { Step::Open(None) };
            world.apply(&mut pool, &step, &config)?;
        }
        prop_assert!(pool.is_closed(), "{:?}", pool.status());
        prop_assert!(world.conns.is_empty(), "connections left open after close");
    }
}
