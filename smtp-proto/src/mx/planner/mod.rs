//! The delivery planner for one recipient domain: routing (RFC 5321 §5.1, RFC 7505),
//! MTA-STS (RFC 8461), DANE (RFC 7672), REQUIRETLS (RFC 8689) and TLS reporting data
//! (RFC 8460), sans-IO.
//!
//! # The loop
//!
//! Build a [`Planner`], then drain [`Planner::poll`] until [`Step::Wait`] or
//! [`Step::Done`], doing what each step says and handing results back with one
//! `handle_*` call each; after a `Wait`, wait for a result or the deadline
//! ([`Planner::handle_timeout`]), then drain again.

mod fold;
mod route;
mod types;

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::{IpAddr, SocketAddr};

pub use types::{
    Attempt, AttemptId, AttemptMessage, AttemptOutcome, DeferReason, DomainOutcome, FetchError,
    FetchId, MxEvent, PolicyType, QueryId, RcptResult, SentMessage, SessionOutcome, SkipReason,
    Step, StsCacheEntry, TlsReport,
};

use self::fold::{fold, Context, Fate};
use self::route::{failed, route, untrusted, MxHost, Route};
use super::address::admits;
use super::config::{MessageMeta, MxConfig};
use super::dns::{DnsResult, RData, RType, Rcode, Security};
use super::policy_get::{policy_host, PolicyGet};
use super::sts_policy::{parse_sts_policy, StsMode, StsPolicy};
use super::sts_txt::parse_sts_txt;
use super::tls::{TlsInfo, TlsRequirement, TlsResultType, Verification};
use super::tlsrpt::parse_tlsrpt_txt;
use crate::command::Domain;
use crate::config::{TlsMode, TlsPolicy};
use crate::reply::{Reply, ReplyCode};
use crate::time::Instant;

/// A reply the planner makes up for a decision of its own (null MX, NXDOMAIN,
/// REQUIRETLS), with the enhanced status first so that [`Reply::enhanced`] reads it.
pub(crate) fn local_reply(code: u16, text: &str) -> Reply {
    let code = ReplyCode::new(code).unwrap_or(ReplyCode::TRANSACTION_FAILED);
    Reply::new(code, &[text.as_bytes()]).unwrap_or_else(|_| {
        Reply::new(ReplyCode::TRANSACTION_FAILED, &[b"5.0.0".as_slice()])
            .expect("a constant one-line reply")
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    Mx,
    StsTxt,
    TlsRpt,
    PolicyHost(Family),
    Host(Family),
    Tlsa,
}

#[derive(Debug)]
struct Pending {
    id: QueryId,
    purpose: Purpose,
    deadline: Instant,
}

#[derive(Debug)]
enum Mx {
    Pending,
    Ready {
        hosts: Vec<MxHost>,
        secure: bool,
        implicit: bool,
        canonical: Option<String>,
    },
    /// Routing settled every recipient.
    Settled,
}

#[derive(Debug)]
enum Sts {
    /// Not applied (`TLS-Required: No`).
    Off,
    AwaitTxt,
    AwaitHost {
        id: String,
        a: Option<DnsResult>,
        aaaa: Option<DnsResult>,
    },
    Fetching {
        fetch: FetchId,
        id: String,
        deadline: Instant,
    },
    Ready(Option<StsPolicy>),
    /// The `_mta-sts` lookup failed and no policy is cached: the domain is deferred for
    /// it once the MX lookup has succeeded. When the MX lookup fails too, that is the
    /// reason named (without MX there is nothing to deliver to), whichever of the two
    /// lookups, which run at once, answered first.
    Failed,
}

/// What is known of the current host.
#[derive(Debug)]
enum HostStage {
    /// Nothing yet: check it against the STS policy, then look up its addresses.
    Start,
    Addresses {
        a: Option<DnsResult>,
        aaaa: Option<DnsResult>,
    },
    Tlsa {
        addrs: Vec<IpAddr>,
        /// The TLSA base domain asked for.
        base: String,
        /// Whether `base` is the CNAME-expanded name (RFC 7672 §2.2.2), so that a
        /// denial there sends the lookup on to the MX name itself.
        expanded: bool,
        answer: Option<DnsResult>,
    },
    Trying(HostPlan),
}

#[derive(Debug)]
enum Dane {
    None,
    Usable {
        base: String,
        tlsa: Vec<super::tlsa::Tlsa>,
    },
    Unusable,
}

#[derive(Debug)]
struct HostPlan {
    addrs: Vec<IpAddr>,
    next: usize,
    tls: TlsRequirement,
    policy: PolicyType,
    /// The host may take REQUIRETLS messages (RFC 8689 §4.2.1 as mox reads it).
    requiretls_ok: bool,
    /// A failure known before connecting, reported with every session (MTA-STS
    /// `testing` with a host it does not list; TLSA records, none usable).
    known_failure: Option<TlsResultType>,
    /// The address whose TLS handshake failed where no policy asked for TLS: tried
    /// once more in cleartext (RFC 7435 §5 opportunistic security; Postfix's `may`,
    /// mox).
    cleartext_retry: Option<IpAddr>,
}

#[derive(Debug)]
struct Active {
    id: AttemptId,
    addr: IpAddr,
    /// The cleartext retry of an opportunistic attempt whose TLS failed.
    cleartext: bool,
    /// (message index, recipient indexes), as in the attempt.
    messages: Vec<(usize, Vec<usize>)>,
}

/// Plans the delivery of a batch of messages to one domain's MX hosts.
///
/// Build it, then drain [`Planner::poll`] until [`Step::Wait`] or [`Step::Done`], doing
/// what each step says and handing results back with one `handle_*` call each; after a
/// `Wait`, wait for a result or the deadline ([`Planner::handle_timeout`]), then drain
/// again. Lookups and the policy fetch may run concurrently; attempts come one at a
/// time. The planner owns every delivery decision; a `Session` runs each attempt.
#[derive(Debug)]
pub struct Planner {
    cfg: MxConfig,
    domain: Domain,
    /// `domain`, lower-case, without a trailing dot.
    name: String,
    batch: Vec<MessageMeta>,
    results: Vec<Vec<Option<RcptResult>>>,
    /// The last transient reply per recipient, for its deferral.
    last_reply: Vec<Vec<Option<Reply>>>,
    /// Per message: every host that could have taken its REQUIRETLS lacked it (or none
    /// qualified), so that running out of hosts is 5.7.30, not a deferral.
    requiretls_only: Vec<bool>,
    relaxed: bool,
    rng: u64,
    steps: VecDeque<Step>,
    next_id: u32,
    lookups: Vec<Pending>,
    attempt: Option<Active>,
    mx: Mx,
    sts: Sts,
    cached: Option<StsCacheEntry>,
    unix: u64,
    host: usize,
    stage: HostStage,
    sessions: usize,
    sts_checked: bool,
    done: Option<DomainOutcome>,
}

impl Planner {
    /// A planner for `batch`, every recipient of which is in `domain`. `cached` is the
    /// caller's stored MTA-STS policy for `domain`, if any; `seed` orders MX hosts of
    /// equal preference; `now` is the caller's clock, `unix` the Unix time (for the
    /// policy cache).
    pub fn new(
        cfg: &MxConfig,
        domain: Domain,
        batch: Vec<MessageMeta>,
        cached: Option<StsCacheEntry>,
        seed: u64,
        now: Instant,
        unix: u64,
    ) -> Self {
        let name = lower(domain.as_str());
        let results = batch
            .iter()
            .map(|m| alloc::vec![None; m.envelope.recipients.len()])
            .collect();
        let last_reply = batch
            .iter()
            .map(|m| alloc::vec![None; m.envelope.recipients.len()])
            .collect();
        // RFC 8689 §5: TLS-Required: No asks that DANE and MTA-STS not be applied;
        // REQUIRETLS wins over it. One planner applies one choice to its whole batch.
        let relaxed = !batch.is_empty()
            && batch
                .iter()
                .all(|m| m.tls_required_no && !m.envelope.requiretls);
        let cached = cached.filter(|c| lower(c.domain.as_str()) == name);
        let mut p = Planner {
            cfg: cfg.clone(),
            domain,
            requiretls_only: alloc::vec![true; batch.len()],
            batch,
            results,
            last_reply,
            relaxed,
            rng: seed,
            steps: VecDeque::new(),
            next_id: 0,
            lookups: Vec::new(),
            attempt: None,
            mx: Mx::Pending,
            sts: if relaxed { Sts::Off } else { Sts::AwaitTxt },
            cached,
            unix,
            host: 0,
            stage: HostStage::Start,
            sessions: 0,
            sts_checked: false,
            done: None,
            name,
        };
        // MX, the MTA-STS record and the TLSRPT record at once (RFC 8461 §3.1 and
        // RFC 8460 §3 name the ORIGINAL domain, never a CNAME target).
        let name = p.name.clone();
        p.lookup(now, Purpose::Mx, name.clone(), RType::Mx);
        if !relaxed {
            p.lookup(
                now,
                Purpose::StsTxt,
                ["_mta-sts.", &name].concat(),
                RType::Txt,
            );
        }
        p.lookup(
            now,
            Purpose::TlsRpt,
            ["_smtp._tls.", &name].concat(),
            RType::Txt,
        );
        p.advance(now);
        p
    }

    /// The next instruction. Drain until [`Step::Wait`] or [`Step::Done`] (which it
    /// then keeps returning).
    pub fn poll(&mut self) -> Step {
        if let Some(step) = self.steps.pop_front() {
            return step;
        }
        if let Some(done) = &self.done {
            return Step::Done(done.clone());
        }
        let mut deadline = self.lookups.iter().map(|l| l.deadline).min();
        if let Sts::Fetching { deadline: d, .. } = self.sts {
            deadline = Some(deadline.map_or(d, |x| x.min(d)));
        }
        Step::Wait { deadline }
    }

    /// The answer to a [`Step::Lookup`]. Unknown or repeated ids are ignored.
    pub fn handle_dns(&mut self, now: Instant, id: QueryId, answer: DnsResult) {
        let Some(i) = self.lookups.iter().position(|l| l.id == id) else {
            return;
        };
        let purpose = self.lookups.swap_remove(i).purpose;
        if self.done.is_none() {
            self.dns_answer(now, purpose, answer);
            self.advance(now);
        }
    }

    /// The result of a [`Step::FetchPolicy`]: the response body (read with
    /// [`PolicyGet`](crate::mx::PolicyGet)) or why there is none. `unix` is the Unix
    /// time now, recorded with the policy for the cache.
    pub fn handle_policy(
        &mut self,
        now: Instant,
        unix: u64,
        id: FetchId,
        result: Result<Vec<u8>, FetchError>,
    ) {
        let Sts::Fetching { fetch, .. } = &self.sts else {
            return;
        };
        if *fetch != id || self.done.is_some() {
            return;
        }
        self.unix = self.unix.max(unix);
        self.fetched(result);
        self.advance(now);
    }

    /// The outcome of a [`Step::Attempt`]. Unknown or repeated ids are ignored.
    pub fn handle_attempt(&mut self, now: Instant, id: AttemptId, outcome: AttemptOutcome) {
        if self.attempt.as_ref().is_none_or(|a| a.id != id) || self.done.is_some() {
            return;
        }
        let active = self.attempt.take().expect("checked above");
        self.attempted(active, outcome);
        self.advance(now);
    }

    /// Time passed: every lookup or fetch whose deadline is not after `now` failed.
    pub fn handle_timeout(&mut self, now: Instant) {
        let (expired, kept): (Vec<_>, Vec<_>) =
            self.lookups.drain(..).partition(|l| l.deadline <= now);
        self.lookups = kept;
        for l in expired {
            if self.done.is_none() {
                let timeout = DnsResult::new(Rcode::Timeout, Security::Indeterminate, Vec::new());
                self.dns_answer(now, l.purpose, timeout);
            }
        }
        if let Sts::Fetching { deadline, .. } = self.sts {
            if deadline <= now && self.done.is_none() {
                self.fetched(Err(FetchError::Timeout));
            }
        }
        self.advance(now);
    }

    /// Gives up: the planner is [`Step::Done`] at once, every recipient without a
    /// result deferred ([`DeferReason::Abandoned`]), except those of an attempt still
    /// outstanding, which are [`RcptResult::Unknown`] (its session may have delivered
    /// them: they must not be sent again). For the caller's own deadline or shutdown,
    /// and for a run loop that finds the planner waiting with nothing outstanding.
    /// Answers that come later are ignored.
    pub fn abandon(&mut self) {
        if self.done.is_some() {
            return;
        }
        if let Some(active) = self.attempt.take() {
            if let Some(mx) = self.current().map(|h| h.name.clone()) {
                for (m, recipients) in &active.messages {
                    for &r in recipients {
                        let slot = &mut self.results[*m][r];
                        if slot.is_none() {
                            *slot = Some(RcptResult::Unknown { mx: mx.clone() });
                        }
                    }
                }
            }
        }
        self.settle_all_deferred(DeferReason::Abandoned);
        self.finish();
    }

    fn lookup(&mut self, now: Instant, purpose: Purpose, name: String, rtype: RType) {
        let id = QueryId(self.id());
        let deadline = now + self.cfg.dns_timeout;
        self.lookups.push(Pending {
            id,
            purpose,
            deadline,
        });
        self.steps.push_back(Step::Lookup {
            id,
            name,
            rtype,
            deadline,
        });
    }

    fn id(&mut self) -> u32 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }

    fn event(&mut self, e: MxEvent) {
        self.steps.push_back(Step::Event(e));
    }

    fn skipped(&mut self, host: &str, addr: Option<IpAddr>, reason: SkipReason) {
        self.event(MxEvent::HostSkipped {
            host: String::from(host),
            addr,
            reason,
        });
    }

    fn report(
        &mut self,
        policy: PolicyType,
        result: Option<TlsResultType>,
        mx: Option<Domain>,
        addr: Option<IpAddr>,
        helo: Option<String>,
    ) {
        self.event(MxEvent::TlsReport(TlsReport {
            policy_domain: self.domain.clone(),
            policy,
            result,
            mx,
            addr,
            helo,
        }));
    }

    fn dns_answer(&mut self, now: Instant, purpose: Purpose, answer: DnsResult) {
        match purpose {
            Purpose::Mx => self.mx_answer(answer),
            Purpose::StsTxt => self.sts_txt(now, answer),
            Purpose::TlsRpt => {
                if answer.rcode == Rcode::NoError && !untrusted(&answer) {
                    if let Ok(record) = parse_tlsrpt_txt(txts(&answer)) {
                        self.event(MxEvent::ReportTo(record));
                    }
                }
            }
            Purpose::PolicyHost(family) => {
                if let Sts::AwaitHost { a, aaaa, .. } = &mut self.sts {
                    *if family == Family::V4 { a } else { aaaa } = Some(answer);
                }
                self.policy_host(now);
            }
            Purpose::Host(family) => {
                if let HostStage::Addresses { a, aaaa } = &mut self.stage {
                    *if family == Family::V4 { a } else { aaaa } = Some(answer);
                }
            }
            Purpose::Tlsa => {
                if let HostStage::Tlsa { answer: slot, .. } = &mut self.stage {
                    *slot = Some(answer);
                }
            }
        }
    }

    // ----- routing -----

    fn mx_answer(&mut self, answer: DnsResult) {
        let mut skipped = Vec::new();
        let r = route(
            &self.name,
            &answer,
            self.cfg.max_cname,
            self.cfg.max_hosts,
            &mut self.rng,
            &mut skipped,
        );
        for (host, reason) in skipped {
            self.skipped(&host, None, reason);
        }
        match r {
            Route::Hosts {
                hosts,
                secure,
                implicit,
                canonical,
            } => {
                self.mx = Mx::Ready {
                    hosts,
                    secure,
                    implicit,
                    canonical,
                }
            }
            Route::NullMx => {
                // RFC 7505 §4.2: 556 5.1.10, and no connection.
                let reply = local_reply(556, "5.1.10 the domain accepts no mail (null MX)");
                self.settle_all_bounced(reply);
            }
            Route::NoSuchDomain => {
                let reply = local_reply(550, "5.1.2 the recipient domain does not exist");
                self.settle_all_bounced(reply);
            }
            Route::Defer(reason) => self.settle_all_deferred(reason),
        }
    }

    fn settle_all_bounced(&mut self, reply: Reply) {
        self.mx = Mx::Settled;
        for slot in self.results.iter_mut().flatten().filter(|s| s.is_none()) {
            *slot = Some(RcptResult::Bounced {
                reply: reply.clone(),
                mx: None,
            });
        }
    }

    fn settle_all_deferred(&mut self, reason: DeferReason) {
        self.mx = Mx::Settled;
        for (m, slots) in self.results.iter_mut().enumerate() {
            for (r, slot) in slots.iter_mut().enumerate() {
                if slot.is_none() {
                    *slot = Some(RcptResult::Deferred {
                        reason,
                        reply: self.last_reply[m][r].clone(),
                    });
                }
            }
        }
    }

    // ----- MTA-STS (RFC 8461 §5) -----

    /// The cached policy while valid.
    fn cached_policy(&self) -> Option<StsPolicy> {
        self.cached
            .as_ref()
            .filter(|c| c.is_valid(self.unix))
            .map(|c| c.policy.clone())
    }

    fn sts_txt(&mut self, now: Instant, answer: DnsResult) {
        if !matches!(self.sts, Sts::AwaitTxt) {
            return;
        }
        if failed(&answer) {
            // A failed lookup is no evidence the policy is gone: use the cache, and
            // without one do not deliver now (mox aborts the attempt).
            match self.cached_policy() {
                Some(p) => self.sts = Sts::Ready(Some(p)),
                None => self.sts = Sts::Failed,
            }
            return;
        }
        let record = match answer.rcode {
            Rcode::NoError => parse_sts_txt(txts(&answer)).ok(),
            _ => None,
        };
        let Some(record) = record else {
            // No (single, valid) record: a cached policy still applies until it
            // expires (RFC 8461 §5.1).
            self.sts = Sts::Ready(self.cached_policy());
            return;
        };
        let fresh = self
            .cached
            .as_ref()
            .is_some_and(|c| c.id == record.id && c.is_valid(self.unix));
        if fresh {
            self.sts = Sts::Ready(self.cached_policy());
            return;
        }
        // No policy cached, or its id changed: fetch from mta-sts.<domain>.
        self.sts = Sts::AwaitHost {
            id: record.id,
            a: None,
            aaaa: None,
        };
        let host = policy_host(&self.name);
        self.lookup(now, Purpose::PolicyHost(Family::V4), host.clone(), RType::A);
        self.lookup(now, Purpose::PolicyHost(Family::V6), host, RType::Aaaa);
    }

    fn policy_host(&mut self, now: Instant) {
        let Sts::AwaitHost {
            id,
            a: Some(a),
            aaaa: Some(aaaa),
        } = &self.sts
        else {
            return;
        };
        let host = policy_host(&self.name);
        let mut addrs = Vec::new();
        let mut refused = Vec::new();
        for answer in [a, aaaa] {
            if answer.rcode != Rcode::NoError || untrusted(answer) {
                continue;
            }
            for ip in addresses(answer) {
                // The address policy holds for the policy host too.
                match admits(&self.cfg.allow, ip) {
                    true => addrs.push(ip),
                    false => refused.push(ip),
                }
            }
        }
        let id = id.clone();
        for ip in refused {
            self.skipped(&host, Some(ip), SkipReason::AddressRefused);
        }
        match Domain::new(&host) {
            Ok(_) if !addrs.is_empty() => {
                let fetch = FetchId(self.id());
                let deadline = now + self.cfg.fetch_timeout;
                self.sts = Sts::Fetching {
                    fetch,
                    id,
                    deadline,
                };
                self.steps.push_back(Step::FetchPolicy {
                    id: fetch,
                    get: alloc::boxed::Box::new(PolicyGet::new(&self.domain)),
                    addrs,
                    deadline,
                });
            }
            _ => self.fetched(Err(FetchError::Unreachable)),
        }
    }

    fn fetched(&mut self, result: Result<Vec<u8>, FetchError>) {
        let id = match &mut self.sts {
            Sts::Fetching { id, .. } | Sts::AwaitHost { id, .. } => core::mem::take(id),
            _ => return,
        };
        let policy = result
            .map_err(FetchError::result_type)
            .and_then(|body| parse_sts_policy(&body).map_err(|_| TlsResultType::StsPolicyInvalid));
        match policy {
            Ok(policy) => {
                self.event(MxEvent::CachePolicy(StsCacheEntry {
                    domain: self.domain.clone(),
                    id,
                    policy: policy.clone(),
                    fetched: self.unix,
                }));
                // `mode: none` is a policy too: it replaces the cached one, and
                // nothing is enforced (RFC 8461 §5).
                self.sts = Sts::Ready(Some(policy));
            }
            Err(result) => {
                self.report(PolicyType::Sts, Some(result), None, None, None);
                // Keep the old policy while valid (RFC 8461 §5.1).
                self.sts = Sts::Ready(self.cached_policy());
            }
        }
    }

    /// The policy in force, once known: `None` for none (or `mode: none`).
    fn sts_policy(&self) -> Option<&StsPolicy> {
        match &self.sts {
            Sts::Ready(Some(p)) if p.mode != StsMode::None => Some(p),
            _ => None,
        }
    }

    // ----- the hosts -----

    fn advance(&mut self, now: Instant) {
        while self.done.is_none() {
            if self.results.iter().flatten().all(Option::is_some) {
                self.finish();
                return;
            }
            if !self.progress(now) {
                return;
            }
        }
    }

    /// One move on the current host; whether anything changed.
    fn progress(&mut self, now: Instant) -> bool {
        let Mx::Ready { hosts, .. } = &self.mx else {
            return false;
        };
        if matches!(self.sts, Sts::Failed) {
            // The MX lookup succeeded: the failed `_mta-sts` lookup is the reason.
            self.settle_all_deferred(DeferReason::StsLookup);
            return true;
        }
        if !matches!(self.sts, Sts::Ready(_) | Sts::Off) || self.attempt.is_some() {
            return false;
        }
        let hosts_len = hosts.len();
        if !self.sts_checked {
            self.sts_checked = true;
            if let Some(p) = self.sts_policy() {
                // RFC 8461 §5.1: under enforce, no listed MX means no delivery now.
                if p.mode == StsMode::Enforce && !hosts.iter().any(|h| p.allows(&h.lower)) {
                    self.report(
                        PolicyType::Sts,
                        Some(TlsResultType::ValidationFailure),
                        None,
                        None,
                        None,
                    );
                    self.settle_all_deferred(DeferReason::StsNoMatchingMx);
                    return true;
                }
            }
        }
        if self.host >= hosts_len || self.sessions >= self.cfg.session_limit.max(1) {
            self.run_out();
            return true;
        }
        match &mut self.stage {
            HostStage::Start => self.start_host(now),
            HostStage::Addresses {
                a: Some(_),
                aaaa: Some(_),
            } => self.addresses(now),
            HostStage::Tlsa {
                answer: Some(_), ..
            } => self.tlsa(now),
            HostStage::Trying(plan)
                if plan.cleartext_retry.is_some() || plan.next < plan.addrs.len() =>
            {
                self.attempt()
            }
            HostStage::Trying(_) => self.next_host(),
            _ => return false,
        }
        true
    }

    fn current(&self) -> Option<&MxHost> {
        match &self.mx {
            Mx::Ready { hosts, .. } => hosts.get(self.host),
            _ => None,
        }
    }

    fn next_host(&mut self) {
        self.host += 1;
        self.stage = HostStage::Start;
    }

    fn start_host(&mut self, now: Instant) {
        let Some(host) = self.current().cloned() else {
            return;
        };
        if let Some(p) = self.sts_policy() {
            if p.mode == StsMode::Enforce && !p.allows(&host.lower) {
                self.skipped(&host.lower, None, SkipReason::StsMismatch);
                self.next_host();
                return;
            }
        }
        self.stage = HostStage::Addresses {
            a: None,
            aaaa: None,
        };
        self.lookup(now, Purpose::Host(Family::V4), host.lower.clone(), RType::A);
        self.lookup(now, Purpose::Host(Family::V6), host.lower, RType::Aaaa);
    }

    fn addresses(&mut self, now: Instant) {
        let HostStage::Addresses {
            a: Some(a),
            aaaa: Some(aaaa),
        } = core::mem::replace(&mut self.stage, HostStage::Start)
        else {
            return;
        };
        let Some(host) = self.current().cloned() else {
            return;
        };
        let Mx::Ready {
            secure: mx_secure,
            implicit,
            ..
        } = self.mx
        else {
            return;
        };
        let answers = [&a, &aaaa];
        // Bogus addresses may be forged: the host is unusable.
        if answers.iter().any(|x| untrusted(x)) {
            self.skipped(&host.lower, None, SkipReason::NoAddress);
            self.next_host();
            return;
        }
        let clean_denial = |x: &DnsResult| {
            x.rcode == Rcode::NxDomain || (x.rcode == Rcode::NoError && addresses(x).is_empty())
        };
        if implicit && answers.iter().all(|x| clean_denial(x)) {
            // RFC 5321 §5.1: no MX and no address: not a mail domain.
            let reply = local_reply(550, "5.1.2 the recipient domain has no mail host");
            self.settle_all_bounced(reply);
            return;
        }
        // Interleave the families, IPv4 first, up to the cap.
        let (v4, v6) = (addresses(&a), addresses(&aaaa));
        let mut all = Vec::with_capacity(v4.len() + v6.len());
        for i in 0..v4.len().max(v6.len()) {
            all.extend(v4.get(i).copied());
            all.extend(v6.get(i).copied());
        }
        let mut addrs = Vec::new();
        for ip in all {
            if !admits(&self.cfg.allow, ip) {
                self.skipped(&host.lower, Some(ip), SkipReason::AddressRefused);
            } else if addrs.len() < self.cfg.max_addresses.max(1) && !addrs.contains(&ip) {
                addrs.push(ip);
            }
        }
        if addrs.is_empty() {
            self.skipped(&host.lower, None, SkipReason::NoAddress);
            self.next_host();
            return;
        }
        // RFC 7672 §2.2: TLSA only for hosts whose address records are secure, under
        // a secure MX RRset (or, as Postfix's default does, an insecure one: §2.2.1).
        let answered: Vec<&DnsResult> = answers
            .iter()
            .copied()
            .filter(|x| x.rcode == Rcode::NoError)
            .collect();
        let addr_secure = !answered.is_empty()
            && answered.iter().all(|x| {
                x.security == Security::Secure
                    && x.aliases.iter().all(|(_, s)| *s == Security::Secure)
            });
        if self.relaxed || !addr_secure || !(mx_secure || self.cfg.dane_insecure_mx) {
            self.plan(addrs, Dane::None);
            return;
        }
        // RFC 7672 §2.2.2: the CNAME-expanded name first when the chain is secure.
        let expanded = answered
            .iter()
            .find_map(|x| x.aliases.last())
            .map(|(n, _)| lower(n))
            .filter(|n| *n != host.lower);
        let (base, is_expanded) = match expanded {
            Some(n) => (n, true),
            None => (host.lower.clone(), false),
        };
        self.tlsa_lookup(now, addrs, base, is_expanded);
    }

    fn tlsa_lookup(&mut self, now: Instant, addrs: Vec<IpAddr>, base: String, expanded: bool) {
        self.lookup(
            now,
            Purpose::Tlsa,
            ["_25._tcp.", &base].concat(),
            RType::Tlsa,
        );
        self.stage = HostStage::Tlsa {
            addrs,
            base,
            expanded,
            answer: None,
        };
    }

    fn tlsa(&mut self, now: Instant) {
        let HostStage::Tlsa {
            addrs,
            base,
            expanded,
            answer: Some(answer),
        } = core::mem::replace(&mut self.stage, HostStage::Start)
        else {
            return;
        };
        let Some(host) = self.current().cloned() else {
            return;
        };
        // Bogus or failed: DANE may be required and cannot be checked. The host is
        // unusable, never "no DANE" (RFC 7672 §2.2; Stalwart's weakness).
        if failed(&answer) {
            self.skipped(&host.lower, None, SkipReason::TlsaUnavailable);
            self.report(
                PolicyType::Tlsa,
                Some(TlsResultType::DnssecInvalid),
                Some(host.name.clone()),
                None,
                None,
            );
            self.next_host();
            return;
        }
        let tlsa: Vec<super::tlsa::Tlsa> = answer
            .records
            .iter()
            .filter_map(|r| match r {
                RData::Tlsa(t) => Some(t.clone()),
                _ => None,
            })
            .collect();
        if answer.rcode == Rcode::NoError && !tlsa.is_empty() {
            if answer.security != Security::Secure {
                // Insecure TLSA records are no DANE (RFC 7672 §2.2).
                self.plan(addrs, Dane::None);
                return;
            }
            let usable: Vec<_> = tlsa.into_iter().filter(|t| t.is_usable()).collect();
            let dane = match usable.is_empty() {
                // RFC 7672 §2.2: records but none usable: encrypt, unauthenticated.
                true => Dane::Unusable,
                false => Dane::Usable { base, tlsa: usable },
            };
            self.plan(addrs, dane);
            return;
        }
        // A denial (secure or not): at the expanded name, try the MX name itself.
        if expanded {
            self.tlsa_lookup(now, addrs, host.lower, false);
        } else {
            self.plan(addrs, Dane::None);
        }
    }

    /// The host's TLS requirement (DANE before MTA-STS: RFC 8461 §2, and an STS policy
    /// never overrides a failing DANE check), then its first attempt.
    fn plan(&mut self, addrs: Vec<IpAddr>, dane: Dane) {
        let Some(host) = self.current().cloned() else {
            return;
        };
        let Mx::Ready {
            secure: mx_secure,
            canonical,
            ..
        } = &self.mx
        else {
            return;
        };
        let mx_secure = *mx_secure;
        let mut known_failure = None;
        let (tls, policy, requiretls_ok) = match dane {
            Dane::Usable { base, tlsa } => {
                // RFC 7672 §3.2.2 reference identifiers for DANE-TA: the TLSA base,
                // the MX name, and with a secure MX RRset the next-hop domain (and its
                // expansion); with an insecure one the domain is no valid name.
                let mut names = alloc::vec![base.clone(), host.lower.clone()];
                if mx_secure {
                    names.push(self.name.clone());
                    names.extend(canonical.clone());
                }
                let mut ta_names: Vec<Domain> = Vec::new();
                for n in names {
                    if let Ok(d) = Domain::new(&n) {
                        if !ta_names.contains(&d) {
                            ta_names.push(d);
                        }
                    }
                }
                match Domain::new(&base) {
                    Ok(sni) => (
                        TlsRequirement::Dane {
                            sni,
                            tlsa,
                            ta_names,
                        },
                        PolicyType::Tlsa,
                        mx_secure,
                    ),
                    Err(_) => (TlsRequirement::EncryptOnly, PolicyType::Tlsa, false),
                }
            }
            Dane::Unusable => {
                known_failure = Some(TlsResultType::TlsaInvalid);
                (TlsRequirement::EncryptOnly, PolicyType::Tlsa, false)
            }
            Dane::None => match self.sts_policy() {
                Some(p) if p.allows(&host.lower) => (
                    TlsRequirement::Pkix {
                        name: host.name.clone(),
                        enforce: p.mode == StsMode::Enforce,
                    },
                    PolicyType::Sts,
                    p.mode == StsMode::Enforce,
                ),
                Some(_) => {
                    // `testing` with a host it does not list: deliver, report.
                    known_failure = Some(TlsResultType::ValidationFailure);
                    (TlsRequirement::Opportunistic, PolicyType::Sts, false)
                }
                None => (
                    TlsRequirement::Opportunistic,
                    PolicyType::NoPolicyFound,
                    false,
                ),
            },
        };
        self.stage = HostStage::Trying(HostPlan {
            addrs,
            next: 0,
            tls,
            policy,
            requiretls_ok,
            known_failure,
            cleartext_retry: None,
        });
    }

    fn attempt(&mut self) {
        let Some(host) = self.current().cloned() else {
            return;
        };
        let HostStage::Trying(plan) = &mut self.stage else {
            return;
        };
        let (addr, cleartext) = match plan.cleartext_retry.take() {
            Some(addr) => (addr, true),
            None => {
                plan.next += 1;
                (plan.addrs[plan.next - 1], false)
            }
        };
        let requiretls_ok = plan.requiretls_ok;
        let (tls, policy) = (plan.tls.clone(), plan.policy);
        let mut messages = Vec::new();
        let mut active = Vec::new();
        for (m, meta) in self.batch.iter().enumerate() {
            // RFC 8689 §4.2.1: a REQUIRETLS message goes only to a qualifying host.
            if meta.envelope.requiretls && !requiretls_ok {
                continue;
            }
            let recipients: Vec<usize> = (0..self.results[m].len())
                .filter(|&r| self.results[m][r].is_none())
                .collect();
            if recipients.is_empty() {
                continue;
            }
            let mut envelope = meta.envelope.clone();
            envelope.recipients = recipients
                .iter()
                .map(|&r| meta.envelope.recipients[r].clone())
                .collect();
            active.push((m, recipients.clone()));
            messages.push(AttemptMessage {
                index: m,
                recipients,
                envelope,
            });
        }
        if messages.is_empty() {
            self.skipped(&host.lower, None, SkipReason::RequireTls);
            self.next_host();
            return;
        }
        let mut config = self.cfg.session.clone();
        config.tls = TlsMode::StartTls(match (cleartext, tls.allows_cleartext()) {
            (true, _) => TlsPolicy::Disabled,
            (false, true) => TlsPolicy::Opportunistic,
            (false, false) => TlsPolicy::Required,
        });
        let id = AttemptId(self.id());
        self.attempt = Some(Active {
            id,
            addr,
            cleartext,
            messages: active,
        });
        self.steps
            .push_back(Step::Attempt(alloc::boxed::Box::new(Attempt {
                id,
                mx: host.name,
                addr: SocketAddr::new(addr, 25),
                tls,
                policy,
                config,
                messages,
            })));
    }

    fn attempted(&mut self, active: Active, outcome: AttemptOutcome) {
        let Some(host) = self.current().cloned() else {
            return;
        };
        let HostStage::Trying(plan) = &mut self.stage else {
            return;
        };
        let policy = plan.policy;
        let known_failure = plan.known_failure;
        let requiretls_ok = plan.requiretls_ok;
        let allows_cleartext = plan.tls.allows_cleartext();
        // Anything but "this server lacks REQUIRETLS" means a qualifying host may yet
        // take it later: defer rather than bounce then.
        let requiretls_other = |s: &mut Self| {
            if requiretls_ok {
                for (m, _) in &active.messages {
                    s.requiretls_only[*m] = false;
                }
            }
        };
        match outcome {
            AttemptOutcome::ConnectFailed => {
                // The next address of the same host (progress() moves on when none).
                requiretls_other(self);
            }
            AttemptOutcome::HandshakeFailed => {
                requiretls_other(self);
                self.next_host();
            }
            AttemptOutcome::TlsFailed { result, helo } => {
                requiretls_other(self);
                self.report(
                    policy,
                    Some(result),
                    Some(host.name.clone()),
                    Some(active.addr),
                    helo,
                );
                // Where no policy asks for TLS, a failed handshake is no reason to give
                // up on the host: the same address once more, in cleartext.
                match &mut self.stage {
                    HostStage::Trying(plan) if allows_cleartext && !active.cleartext => {
                        plan.cleartext_retry = Some(active.addr);
                    }
                    _ => self.next_host(),
                }
            }
            AttemptOutcome::Session(s) => {
                self.sessions += 1;
                // A policy failure known before connecting is the one to report (an
                // unlisted MX under `testing`, unusable TLSA records); else the TLS's.
                let result = known_failure.or(match s.tls {
                    None => Some(TlsResultType::StarttlsNotSupported),
                    Some(TlsInfo {
                        verification: Verification::Failed(t),
                    }) => Some(t),
                    Some(_) => None,
                });
                // A cleartext retry's TLS failure was reported with its first try.
                if !active.cleartext {
                    self.report(
                        policy,
                        result,
                        Some(host.name.clone()),
                        Some(active.addr),
                        s.helo.clone(),
                    );
                }
                // The reports say what the server did: honoured as they are.
                let cx = Context {
                    mx: &host.name,
                    policy,
                    tls: s.tls,
                };
                for (k, (m, recipients)) in active.messages.iter().enumerate() {
                    let report = s.messages.get(k).and_then(Option::as_ref);
                    let fates = fold(report, recipients.len(), &cx);
                    for (fate, &r) in fates.into_iter().zip(recipients) {
                        match fate {
                            Fate::Final(result) => {
                                if self.results[*m][r].is_none() {
                                    self.results[*m][r] = Some(result);
                                }
                            }
                            Fate::Retry(reply) => {
                                if reply.is_some() {
                                    self.last_reply[*m][r] = reply;
                                }
                                if requiretls_ok {
                                    self.requiretls_only[*m] = false;
                                }
                            }
                            // Stays open; `requiretls_only` keeps it bound for 5.7.30.
                            Fate::NeedsRequireTls => {}
                        }
                    }
                }
                self.next_host();
            }
        }
    }

    /// No host left (or the session limit reached): what is still open is deferred,
    /// or bounced 5.7.30 when only REQUIRETLS stood in the way (RFC 8689 §4.2.1).
    fn run_out(&mut self) {
        let had_transient = |replies: &[Option<Reply>]| replies.iter().any(Option::is_some);
        for m in 0..self.results.len() {
            let requiretls = self.batch[m].envelope.requiretls && self.requiretls_only[m];
            let transient = had_transient(&self.last_reply[m]);
            for r in 0..self.results[m].len() {
                if self.results[m][r].is_some() {
                    continue;
                }
                self.results[m][r] = Some(if requiretls {
                    RcptResult::Bounced {
                        reply: local_reply(
                            550,
                            "5.7.30 REQUIRETLS support required by no MX host (RFC 8689)",
                        ),
                        mx: None,
                    }
                } else {
                    RcptResult::Deferred {
                        reason: match transient {
                            true => DeferReason::Transient,
                            false => DeferReason::NoHost,
                        },
                        reply: self.last_reply[m][r].clone(),
                    }
                });
            }
        }
    }

    fn finish(&mut self) {
        let results = self
            .results
            .iter()
            .map(|slots| slots.iter().flatten().cloned().collect())
            .collect();
        self.lookups.clear();
        self.attempt = None;
        // Lookups not yet handed out are moot; events still tell what happened.
        self.steps.retain(|s| matches!(s, Step::Event(_)));
        self.done = Some(DomainOutcome { results });
    }
}

fn lower(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

fn txts(answer: &DnsResult) -> impl Iterator<Item = &[u8]> {
    answer.records.iter().filter_map(|r| match r {
        RData::Txt(t) => Some(t.as_slice()),
        _ => None,
    })
}

fn addresses(answer: &DnsResult) -> Vec<IpAddr> {
    answer
        .records
        .iter()
        .filter_map(|r| match r {
            RData::A(a) => Some(IpAddr::V4(*a)),
            RData::Aaaa(a) => Some(IpAddr::V6(*a)),
            _ => None,
        })
        .collect()
}
