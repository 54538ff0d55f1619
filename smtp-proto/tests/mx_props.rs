//! Property tests of the MX planner: whatever the DNS, the policy server and the MX
//! hosts answer, and in whatever order, the planner does not panic, finishes, gives
//! every recipient exactly one result, never resends what may have been delivered,
//! never offers cleartext where a policy requires TLS, and sends REQUIRETLS messages
//! only to hosts that qualify (RFC 8689 §4.2.1).

use std::net::IpAddr;
use std::time::Duration;

use proptest::prelude::*;
use smtp_proto::command::{Domain, EhloName, ForwardPath, ReversePath};
use smtp_proto::mx::{
    parse_sts_policy, refused_by_default, AttemptOutcome, Cidr, DnsResult, FetchError, MessageMeta,
    MxConfig, MxEvent, Planner, RData, RType, Rcode, RcptResult, Security, SentMessage,
    SessionOutcome, Step, StsCacheEntry, StsMode, TlsInfo, TlsRequirement, TlsResultType, Tlsa,
    Verification,
};
use smtp_proto::report::{MessageOutcome, RecipientStatus};
use smtp_proto::{
    Config, Envelope, Instant, Reply, ReplyCode, Stage, TlsMode, TlsPolicy, TxnError, TxnFailure,
};

/// splitmix64: the world's dice, from the case's seed.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const HOSTS: [&str; 6] = [
    "mx1.example.com",
    "mx2.example.com",
    "mx.example.net",
    "a.b.example.com",
    "192.0.2.9",
    ".",
];
const ADDRS: [&str; 7] = [
    "192.0.2.11",
    "192.0.2.12",
    "127.0.0.11",
    "10.0.0.1",
    "2001:db8::1",
    "::1",
    "198.51.100.7",
];
const POLICIES: [&str; 6] = [
    "version: STSv1\nmode: enforce\nmx: *.example.com\nmax_age: 86400\n",
    "version: STSv1\nmode: enforce\nmx: mx.example.net\nmax_age: 86400\n",
    "version: STSv1\r\nmode: testing\r\nmx: mx1.example.com\r\nmax_age: 600\r\n",
    "version: STSv1\nmode: none\nmax_age: 86400\n",
    "version: STSv1\nmode: enforce\nmax_age: 86400\n",
    "garbage",
];
const SECURITY: [Security; 4] = [
    Security::Secure,
    Security::Insecure,
    Security::Bogus,
    Security::Indeterminate,
];

fn reply(code: u16) -> Reply {
    let text = format!("{}.0.0 x", code / 100);
    Reply::new(ReplyCode::new(code).unwrap(), &[text.as_bytes()]).unwrap()
}

fn answer(d: &mut Dice, name: &str, rtype: RType) -> DnsResult {
    // Mostly answers, mostly validated or provably insecure, so that the deeper paths
    // (DANE, MTA-STS, sessions) are reached; failures in every spot all the same.
    let rcode = if d.chance(80) {
        Rcode::NoError
    } else {
        *d.pick(&[Rcode::NxDomain, Rcode::ServFail, Rcode::Timeout])
    };
    let security = match d.below(100) {
        0..45 => Security::Secure,
        45..85 => Security::Insecure,
        _ => *d.pick(&SECURITY),
    };
    let mut records = Vec::new();
    if rcode == Rcode::NoError {
        for _ in 0..d.below(4) + usize::from(d.chance(70)) {
            records.push(match rtype {
                RType::Mx => RData::Mx {
                    preference: d.below(3) as u16 * 10,
                    exchange: d.pick(&HOSTS).trim_end_matches('.').to_string(),
                },
                RType::Txt if name.starts_with("_mta-sts") => RData::Txt(
                    d.pick(&[
                        "v=STSv1; id=1",
                        "v=STSv1; id=2",
                        "v=STSv1; id=",
                        "v=spf1 -all",
                    ])
                    .as_bytes()
                    .to_vec(),
                ),
                RType::Txt => RData::Txt(b"v=TLSRPTv1; rua=mailto:r@example.com".to_vec()),
                RType::A | RType::Aaaa => RData::A(match d.pick(&ADDRS).parse().unwrap() {
                    IpAddr::V4(v4) => v4,
                    IpAddr::V6(_) => "192.0.2.13".parse().unwrap(),
                }),
                // Mostly usable (DANE-EE/TA, SHA-256), some of every unusable kind.
                RType::Tlsa => RData::Tlsa(Tlsa::from_fields(
                    *d.pick(&[3, 3, 2, 0, 1, 4]),
                    *d.pick(&[1, 1, 0, 2]),
                    *d.pick(&[1, 1, 2, 0, 3]),
                    vec![0; *d.pick(&[32, 32, 64, 31, 0])],
                )),
            });
        }
        if rtype == RType::Aaaa && d.chance(50) {
            if let IpAddr::V6(v6) = d.pick(&ADDRS[4..6]).parse().unwrap() {
                records.push(RData::Aaaa(v6));
            }
        }
    }
    let mut r = DnsResult::new(rcode, security, records);
    if d.chance(10) {
        r.aliases = vec![("alias.example.org".into(), *d.pick(&SECURITY))];
    }
    r
}

fn session(d: &mut Dice, attempt: &smtp_proto::mx::Attempt) -> AttemptOutcome {
    match d.below(8) {
        0 => return AttemptOutcome::ConnectFailed,
        1 => return AttemptOutcome::HandshakeFailed,
        2 => {
            return AttemptOutcome::TlsFailed {
                result: TlsResultType::ValidationFailure,
                helo: None,
            }
        }
        _ => {}
    }
    let tls = match (&attempt.tls, d.below(3)) {
        (TlsRequirement::Opportunistic, 0) => None,
        (TlsRequirement::Dane { .. } | TlsRequirement::Pkix { .. }, _) => Some(TlsInfo {
            verification: Verification::Verified,
        }),
        _ => Some(TlsInfo {
            verification: Verification::NotChecked,
        }),
    };
    let messages = attempt
        .messages
        .iter()
        .map(|m| {
            if d.chance(10) {
                return None;
            }
            let recipients: Vec<RecipientStatus> = m
                .recipients
                .iter()
                .map(|_| match d.below(4) {
                    0 => RecipientStatus::Rejected(reply(450)),
                    1 => RecipientStatus::Rejected(reply(550)),
                    2 if d.chance(20) => RecipientStatus::NotAttempted,
                    _ => RecipientStatus::Accepted(reply(250)),
                })
                .collect();
            let outcome = match d.below(8) {
                0 => Some(MessageOutcome::Unknown),
                1 => Some(MessageOutcome::Failed(TxnFailure::SessionClosed)),
                2 => Some(MessageOutcome::Failed(TxnFailure::Rejected {
                    stage: *d.pick(&[Stage::Mail, Stage::DataEnd]),
                    reply: reply(*d.pick(&[451, 554])),
                })),
                3 if m.envelope.requiretls => Some(MessageOutcome::Failed(TxnFailure::Refused(
                    TxnError::NeedsRequireTls,
                ))),
                4 => None,
                _ => Some(MessageOutcome::Accepted(reply(250))),
            };
            Some(SentMessage::new(recipients, outcome))
        })
        .collect();
    AttemptOutcome::Session(SessionOutcome::new(tls, None, messages))
}

/// What the world did that the planner's later steps must respect.
#[derive(Default)]
struct Ledger {
    /// (message, recipient) that may have been delivered: accepted at RCPT in a
    /// session whose message outcome was Accepted or Unknown.
    maybe_delivered: Vec<(usize, usize)>,
    /// Hosts (lower-case) whose TLSA answer was secure, NoError, with records.
    dane_hosts: Vec<String>,
    /// Hosts whose TLSA lookup failed or was bogus.
    tlsa_failed: Vec<String>,
}

#[derive(Debug, Clone)]
struct Case {
    seed: u64,
    cache: Option<usize>,
    requiretls: [bool; 2],
    tls_required_no: [bool; 2],
    allow_loopback: bool,
    session_limit: usize,
}

fn case() -> impl Strategy<Value = Case> {
    (
        any::<u64>(),
        prop::option::of(0usize..4),
        any::<[bool; 2]>(),
        any::<[bool; 2]>(),
        any::<bool>(),
        1usize..4,
    )
        .prop_map(
            |(seed, cache, requiretls, tls_required_no, allow_loopback, session_limit)| Case {
                seed,
                cache,
                requiretls,
                tls_required_no,
                allow_loopback,
                session_limit,
            },
        )
}

fn run(c: &Case) {
    let mut d = Dice(c.seed);
    let mut cfg = MxConfig::new(Config::new(EhloName::new("client.example").unwrap()));
    cfg.session_limit = c.session_limit;
    if c.allow_loopback {
        cfg.allow = vec!["127.0.0.0/8".parse::<Cidr>().unwrap()];
    }
    let domain = Domain::new("example.com").unwrap();
    let batch: Vec<MessageMeta> = (0..2)
        .map(|m| {
            let to = (0..=m).map(|r| ForwardPath::new(&format!("r{r}@example.com")).unwrap());
            let mut e = Envelope::new(ReversePath::new("s@origin.example").unwrap(), to);
            e.requiretls = c.requiretls[m];
            let mut meta = MessageMeta::new(e);
            meta.tls_required_no = c.tls_required_no[m];
            meta
        })
        .collect();
    let relaxed = batch
        .iter()
        .all(|m| m.tls_required_no && !m.envelope.requiretls);
    let unix = 1_000_000;
    let cache = c.cache.map(|i| StsCacheEntry {
        domain: domain.clone(),
        id: "1".into(),
        policy: parse_sts_policy(POLICIES[i].as_bytes()).unwrap(),
        fetched: unix - 100,
    });
    // The STS mode in force as far as the world knows: the cached one, then whatever
    // the planner says it fetched.
    let mut enforce = cache
        .as_ref()
        .is_some_and(|c| c.policy.mode == StsMode::Enforce);
    let mut planner = Planner::new(&cfg, domain, batch.clone(), cache, 7, Instant::ZERO, unix);
    let mut now = Instant::ZERO;
    let mut lookups: Vec<(smtp_proto::mx::QueryId, String, RType)> = Vec::new();
    let mut fetch = None;
    let mut attempt: Option<Box<smtp_proto::mx::Attempt>> = None;
    let mut ledger = Ledger::default();
    let mut answered: Vec<(smtp_proto::mx::QueryId, String, RType)> = Vec::new();
    for _round in 0..500 {
        // Drain.
        loop {
            match planner.poll() {
                Step::Lookup {
                    id, name, rtype, ..
                } => lookups.push((id, name, rtype)),
                Step::FetchPolicy { id, addrs, .. } => {
                    for a in &addrs {
                        assert!(c.allow_loopback && a.is_loopback() || !refused_by_default(*a));
                    }
                    fetch = Some(id);
                }
                Step::Attempt(a) => {
                    check_attempt(&a, c, relaxed, enforce, &ledger);
                    assert!(attempt.is_none(), "two attempts at once");
                    attempt = Some(a);
                }
                Step::Event(MxEvent::CachePolicy(entry)) => {
                    enforce = entry.policy.mode == StsMode::Enforce;
                }
                Step::Event(_) => {}
                // A wait without a deadline is for the attempt's outcome only: with
                // nothing outstanding the planner could never move again (a run loop
                // answering each step in turn would have to give up on it).
                Step::Wait { deadline: None } => {
                    assert!(
                        attempt.is_some(),
                        "the planner waits with nothing outstanding"
                    );
                    break;
                }
                Step::Wait { .. } => break,
                Step::Done(outcome) => {
                    for (m, meta) in batch.iter().enumerate() {
                        assert_eq!(
                            outcome.results[m].len(),
                            meta.envelope.recipients.len(),
                            "one result per recipient"
                        );
                    }
                    for &(m, r) in &ledger.maybe_delivered {
                        assert!(
                            matches!(
                                outcome.results[m][r],
                                RcptResult::Delivered { .. } | RcptResult::Unknown { .. }
                            ),
                            "maybe delivered but reported {:?}",
                            outcome.results[m][r]
                        );
                    }
                    // Done is final: late answers, a late outcome and time passing
                    // change nothing, and nothing but Done comes out.
                    if let Some((id, name, rtype)) = lookups.pop() {
                        let a = answer(&mut d, &name, rtype);
                        planner.handle_dns(now, id, a);
                    }
                    if let Some(id) = fetch.take() {
                        planner.handle_policy(now, unix, id, Ok(POLICIES[0].into()));
                    }
                    if let Some(a) = attempt.take() {
                        planner.handle_attempt(now, a.id, AttemptOutcome::ConnectFailed);
                    }
                    planner.handle_timeout(now + Duration::from_secs(86_400));
                    match planner.poll() {
                        Step::Done(again) => assert_eq!(again, outcome),
                        other => panic!("after Done: {other:?}"),
                    }
                    return;
                }
            }
        }
        // Sometimes the caller gives up: Done next, with the same promises.
        if d.chance(1) {
            planner.abandon();
            continue;
        }
        // Answer one outstanding thing, in a random order; sometimes let time pass.
        let pending = lookups.len() + fetch.is_some() as usize + attempt.is_some() as usize;
        if pending == 0 || d.chance(5) {
            now = now + Duration::from_secs(61);
            planner.handle_timeout(now);
            lookups.clear();
            fetch = None;
            if pending == 0 {
                continue;
            }
        }
        // Sometimes a second answer to a lookup already answered: ignored.
        if !answered.is_empty() && d.chance(5) {
            let (id, name, rtype) = answered[d.below(answered.len())].clone();
            let a = answer(&mut d, &name, rtype);
            planner.handle_dns(now, id, a);
        }
        let k = d.below(pending.max(1));
        if k < lookups.len() {
            let (id, name, rtype) = lookups.remove(k);
            let a = answer(&mut d, &name, rtype);
            if rtype == RType::Tlsa {
                let host = name.trim_start_matches("_25._tcp.").to_string();
                let failed = matches!(a.rcode, Rcode::ServFail | Rcode::Timeout)
                    || matches!(a.security, Security::Bogus | Security::Indeterminate);
                if failed {
                    ledger.tlsa_failed.push(host.clone());
                } else if a.rcode == Rcode::NoError
                    && a.security == Security::Secure
                    && a.records.iter().any(|r| matches!(r, RData::Tlsa(_)))
                {
                    ledger.dane_hosts.push(host.clone());
                }
            }
            planner.handle_dns(now, id, a);
            answered.push((id, name, rtype));
        } else if k == lookups.len() && fetch.is_some() {
            let id = fetch.take().unwrap();
            let result = match d.below(5) {
                0 => Err(FetchError::Certificate),
                1 => Err(FetchError::Timeout),
                _ => Ok(d.pick(&POLICIES).as_bytes().to_vec()),
            };
            planner.handle_policy(now, unix + 1, id, result);
        } else if let Some(a) = attempt.take() {
            let outcome = session(&mut d, &a);
            if let AttemptOutcome::Session(s) = &outcome {
                for (am, sent) in a.messages.iter().zip(&s.messages) {
                    let Some(sent) = sent else { continue };
                    if matches!(
                        sent.outcome,
                        Some(MessageOutcome::Accepted(_) | MessageOutcome::Unknown)
                    ) {
                        for (i, st) in sent.recipients.iter().enumerate() {
                            if matches!(st, RecipientStatus::Accepted(_)) {
                                ledger.maybe_delivered.push((am.index, am.recipients[i]));
                            }
                        }
                    }
                }
            }
            planner.handle_attempt(now, a.id, outcome.clone());
            // Answered once: the same id again must change nothing (the ledger's
            // checks would see a recipient resent or settled twice).
            if d.chance(20) {
                planner.handle_attempt(now, a.id, outcome);
            }
        }
    }
    panic!("the planner did not finish in 500 rounds");
}

fn check_attempt(a: &smtp_proto::mx::Attempt, c: &Case, relaxed: bool, enforce: bool, l: &Ledger) {
    assert_eq!(a.addr.port(), 25, "port 25 always");
    let ip = a.addr.ip();
    assert!(
        (c.allow_loopback && ip.is_loopback()) || !refused_by_default(ip),
        "refused address {ip} attempted"
    );
    // The session's STARTTLS policy matches the requirement.
    // (Disabled only for the cleartext retry of an attempt that allows cleartext.)
    let want: &[TlsPolicy] = match a.tls.allows_cleartext() {
        true => &[TlsPolicy::Opportunistic, TlsPolicy::Disabled],
        false => &[TlsPolicy::Required],
    };
    assert!(
        want.iter().any(|w| a.config.tls == TlsMode::StartTls(*w)),
        "{:?} with {:?}",
        a.config.tls,
        a.tls
    );
    let host = a.mx.as_str().to_string();
    // Nothing that may have been delivered goes out again.
    for m in &a.messages {
        for r in &m.recipients {
            assert!(
                !l.maybe_delivered.contains(&(m.index, *r)),
                "recipient {}/{r} resent after it may have been delivered",
                m.index
            );
        }
        assert_eq!(m.envelope.recipients.len(), m.recipients.len());
    }
    if relaxed {
        return;
    }
    // A host whose TLSA lookup failed is never attempted (unless a later lookup of
    // the same host succeeded: a host is looked up once per planner).
    assert!(
        !l.tlsa_failed.contains(&host),
        "host {host} with a failed TLSA lookup attempted"
    );
    if l.dane_hosts.contains(&host) {
        assert!(
            matches!(
                a.tls,
                TlsRequirement::Dane { .. } | TlsRequirement::EncryptOnly
            ),
            "DANE host {host} attempted with {:?}",
            a.tls
        );
    }
    if enforce {
        assert!(
            !a.tls.allows_cleartext(),
            "cleartext allowed under enforce: {:?}",
            a.tls
        );
    }
    for m in &a.messages {
        if m.envelope.requiretls {
            assert!(
                matches!(
                    a.tls,
                    TlsRequirement::Dane { .. } | TlsRequirement::Pkix { enforce: true, .. }
                ),
                "REQUIRETLS message sent with {:?}",
                a.tls
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6000))]

    #[test]
    fn any_answers_in_any_order_keep_every_rule(c in case()) {
        run(&c);
    }
}

/// RFC 5321 §5.1: equal preferences in random order, from the seed: both orders occur
/// over seeds, and one seed always gives the same order.
#[test]
fn ties_are_shuffled_by_the_seed_both_orders_seen() {
    let seconds: std::collections::HashSet<String> = (0..32).map(second_host).collect();
    assert_eq!(seconds.len(), 2, "both orders of the tie: {seconds:?}");
    assert_eq!(second_host(5), second_host(5));
}

/// The second host a planner with `seed` tries, c.example.com (preference 5) failing.
fn second_host(seed: u64) -> String {
    let cfg = MxConfig::new(Config::new(EhloName::new("client.example").unwrap()));
    let to = [ForwardPath::new("r@example.com").unwrap()];
    let batch = vec![MessageMeta::new(Envelope::new(
        ReversePath::new("s@o.example").unwrap(),
        to,
    ))];
    let domain = Domain::new("example.com").unwrap();
    let mut p = Planner::new(&cfg, domain, batch, None, seed, Instant::ZERO, 0);
    let mut hosts = Vec::new();
    for _ in 0..20 {
        let mut asked = Vec::new();
        loop {
            match p.poll() {
                Step::Lookup {
                    id, name, rtype, ..
                } => asked.push((id, name, rtype)),
                Step::Wait { .. } | Step::Done(_) => break,
                Step::Attempt(_) | Step::FetchPolicy { .. } | Step::Event(_) => {}
            }
        }
        if asked.is_empty() {
            break;
        }
        for (id, name, rtype) in asked {
            let mx = |n: &str, p| RData::Mx {
                preference: p,
                exchange: n.into(),
            };
            let r = match rtype {
                RType::Mx => DnsResult::new(
                    Rcode::NoError,
                    Security::Insecure,
                    vec![
                        mx("b.example.com", 10),
                        mx("a.example.com", 10),
                        mx("c.example.com", 5),
                    ],
                ),
                RType::A | RType::Aaaa if rtype == RType::A => {
                    hosts.push(name.clone());
                    DnsResult::new(Rcode::NoError, Security::Insecure, vec![])
                }
                _ => DnsResult::new(Rcode::NxDomain, Security::Insecure, vec![]),
            };
            p.handle_dns(Instant::ZERO, id, r);
        }
    }
    assert_eq!(hosts.len(), 3, "every host looked up: {hosts:?}");
    assert_eq!(hosts[0], "c.example.com");
    hosts[1].clone()
}
