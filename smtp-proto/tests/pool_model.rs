//! The pool's decisions against a simulated world: connections that open or fail to,
//! replies of every kind, cuts, callers that give up, time passing. Whatever happens,
//! every submitted message ends with exactly one `Done` (or is withdrawn by its
//! caller), nothing that may have reached the server is handed to a connection again,
//! and the limits hold.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use proptest::prelude::*;
use smtp_proto::pool::{Action, ConnId, End, MessageId, Pool, PoolConfig, SubmitError};
use smtp_proto::Instant;

/// What the world does next.
#[derive(Clone, Debug)]
enum Step {
    Submit,
    /// The caller of the `n`th submitted message gives up.
    Cancel(usize),
    /// The oldest open attempt succeeds, or fails (`permanent` or not).
    Open(Option<bool>),
    /// A connection (`n` mod open ones) answers its oldest message.
    Reply(usize, Reply),
    /// A connection is cut: each message in flight ends unknown if its data was out
    /// (`data_out`), else never delivered.
    Cut(usize, bool),
    /// A check (NOOP) is answered: alive or not.
    Check(bool),
    Advance(u64),
}

#[derive(Clone, Copy, Debug)]
enum Reply {
    Accepted,
    Rejected,
    Unknown,
    /// 421 or a cut before the end of data: certainly not delivered.
    NeverReached,
}

fn step() -> impl Strategy<Value = Step> {
    let reply = prop_oneof![
        Just(Reply::Accepted),
        Just(Reply::Rejected),
        Just(Reply::Unknown),
        Just(Reply::NeverReached),
    ];
    prop_oneof![
        4 => Just(Step::Submit),
        1 => (0usize..64).prop_map(Step::Cancel),
        3 => prop_oneof![Just(None), Just(Some(false)), Just(Some(true))].prop_map(Step::Open),
        6 => (0usize..8, reply).prop_map(|(n, r)| Step::Reply(n, r)),
        1 => (0usize..8, any::<bool>()).prop_map(|(n, d)| Step::Cut(n, d)),
        1 => any::<bool>().prop_map(Step::Check),
        2 => (0u64..3000).prop_map(Step::Advance),
    ]
}

fn config() -> impl Strategy<Value = PoolConfig> {
    (1usize..4, 1usize..5, 1usize..12, 1u32..4, 1u64..20).prop_map(
        |(conns, in_flight, queued, attempts, max_messages)| PoolConfig {
            max_connections: conns,
            max_in_flight: in_flight,
            max_idle: Duration::from_secs(5),
            max_age: Duration::from_secs(20),
            max_messages,
            check_after: Duration::from_secs(2),
            max_queued: queued,
            max_wait: Duration::from_secs(15),
            max_attempts: attempts,
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_secs(1),
        },
    )
}

/// The world: what the adapter knows, and what the checks need.
#[derive(Default)]
struct World {
    now: Duration,
    random: u64,
    opening: VecDeque<ConnId>,
    checking: VecDeque<ConnId>,
    /// Open connections and the messages on them, oldest first.
    conns: BTreeMap<ConnId, VecDeque<MessageId>>,
    submitted: Vec<MessageId>,
    withdrawn: BTreeSet<MessageId>,
    /// Given up by their callers while a connection had them: they complete there,
    /// and no `Done` comes.
    abandoned: BTreeSet<MessageId>,
    done: BTreeMap<MessageId, End>,
    /// Messages that may have reached the server (accepted, rejected, unknown).
    reached: BTreeSet<MessageId>,
    sends: BTreeMap<MessageId, u32>,
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
                    prop_assert!(
                        !self.reached.contains(&msg),
                        "{msg:?} may have reached the server and was sent again"
                    );
                    prop_assert!(!self.done.contains_key(&msg), "{msg:?} sent after its end");
                    let q = self.conns.get_mut(&conn);
                    prop_assert!(q.is_some(), "sent on {conn:?}, which is not open");
                    let q = q.unwrap();
                    q.push_back(msg);
                    prop_assert!(q.len() <= config.max_in_flight);
                    let n = self.sends.entry(msg).or_default();
                    *n += 1;
                    prop_assert!(*n <= config.max_attempts, "{msg:?} tried {n} times");
                }
                Action::Check(c) => {
                    prop_assert!(self.conns.get(&c).is_some_and(VecDeque::is_empty));
                    self.checking.push_back(c);
                }
                Action::Close(c) => {
                    let q = self.conns.remove(&c);
                    prop_assert!(
                        q.is_some_and(|q| q.is_empty()),
                        "closed {c:?} with messages on it"
                    );
                    pool.handle_closed(self.now(), c);
                }
                Action::Done { msg, end, attempts } => {
                    prop_assert!(self.done.insert(msg, end).is_none(), "{msg:?} ended twice");
                    prop_assert!(
                        !self.withdrawn.contains(&msg),
                        "{msg:?} ended after it was withdrawn"
                    );
                    prop_assert!(
                        !self.abandoned.contains(&msg),
                        "{msg:?} ended after its caller gave up"
                    );
                    prop_assert_eq!(attempts, self.sends.get(&msg).copied().unwrap_or(0));
                    prop_assert!(self.conns.values().all(|q| !q.contains(&msg)));
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

    /// A connection answers its oldest message with `reply`.
    fn reply(&mut self, pool: &mut Pool, conn: ConnId, reply: Reply) {
        let Some(msg) = self.conns.get_mut(&conn).and_then(VecDeque::pop_front) else {
            return;
        };
        let resend = matches!(reply, Reply::NeverReached);
        if !resend {
            self.reached.insert(msg);
        }
        let random = self.random();
        pool.handle_report(self.now(), conn, msg, resend, random);
    }

    fn cut(&mut self, pool: &mut Pool, conn: ConnId, data_out: bool) {
        while self.conns.get(&conn).is_some_and(|q| !q.is_empty()) {
            let reply = if data_out {
                Reply::Unknown
            } else {
                Reply::NeverReached
            };
            self.reply(pool, conn, reply);
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
                            prop_assert!(
                                self.conns.values().any(|q| q.contains(&m)),
                                "{m:?} not withdrawn, yet on no connection"
                            );
                            self.abandoned.insert(m);
                        }
                    }
                }
            }
            Step::Open(result) => {
                if let Some(c) = self.opening.pop_front() {
                    let now = self.now();
                    match result {
                        None => {
                            self.conns.insert(c, VecDeque::new());
                            pool.handle_opened(now, c);
                        }
                        Some(permanent) => {
                            let random = self.random();
                            pool.handle_open_failed(now, c, permanent, random);
                        }
                    }
                }
            }
            Step::Reply(n, reply) => {
                if let Some(c) = self.nth_conn(n) {
                    self.reply(pool, c, reply);
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
            if over && self.conns.values().all(VecDeque::is_empty) {
                return Ok(());
            }
            if !self.opening.is_empty() {
                self.apply(pool, &Step::Open(None), config)?;
            } else if !self.checking.is_empty() {
                self.apply(pool, &Step::Check(true), config)?;
            } else if let Some((&c, _)) = self.conns.iter().find(|(_, q)| !q.is_empty()) {
                self.reply(pool, c, Reply::Accepted);
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
