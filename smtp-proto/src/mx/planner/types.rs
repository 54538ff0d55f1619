//! What goes in and out of the [`Planner`](super::Planner).

use alloc::string::String;
use alloc::vec::Vec;
use core::net::{IpAddr, SocketAddr};

use crate::command::Domain;
use crate::config::Config;
use crate::envelope::Envelope;
use crate::error::{Error, Stage};
use crate::mx::dns::RType;
use crate::mx::policy_get::PolicyGetError;
use crate::mx::sts_policy::StsPolicy;
use crate::mx::tls::{TlsInfo, TlsRequirement, TlsResultType};
use crate::mx::tlsrpt::TlsRptRecord;
use crate::reply::Reply;
use crate::report::{MessageOutcome, RecipientStatus, Report};
use crate::time::Instant;

/// Names one [`Step::Lookup`], for its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct QueryId(pub(super) u32);
/// Names one [`Step::FetchPolicy`], for its result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FetchId(pub(super) u32);
/// Names one [`Step::Attempt`], for its outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AttemptId(pub(super) u32);

/// An instruction from the planner. Several may come before a [`Step::Wait`]: run the
/// lookups and the fetch concurrently or in turn, and hand each result back.
#[derive(Clone, Debug)]
#[must_use = "a Step is an instruction"]
pub enum Step {
    /// Resolve `name` (lower-case, no trailing dot) for `rtype` with DNSSEC status, and
    /// call [`handle_dns`](super::Planner::handle_dns) before `deadline`.
    Lookup {
        /// The lookup.
        id: QueryId,
        /// The name.
        name: String,
        /// The record type.
        rtype: RType,
        /// After it, [`handle_timeout`](super::Planner::handle_timeout).
        deadline: Instant,
    },
    /// Fetch the MTA-STS policy over HTTPS with `get`, the exchange for the recipient
    /// domain's policy: from its host, `get.host()` (`mta-sts.<domain>`, RFC 8461
    /// §3.3), at one of `addrs`, port 443, WebPKI verification for that host, no
    /// redirects; then call [`handle_policy`](super::Planner::handle_policy) before
    /// `deadline`.
    FetchPolicy {
        /// The fetch.
        id: FetchId,
        /// The HTTP exchange, not yet started.
        get: alloc::boxed::Box<crate::mx::PolicyGet>,
        /// Its addresses, which the address policy admits.
        addrs: Vec<IpAddr>,
        /// After it, [`handle_timeout`](super::Planner::handle_timeout).
        deadline: Instant,
    },
    /// Connect to `addr` and run one session with the attempt's messages; then
    /// [`handle_attempt`](super::Planner::handle_attempt). One attempt at a time.
    Attempt(alloc::boxed::Box<Attempt>),
    /// Something to record: TLS reporting data, a policy for the cache, a host skipped.
    Event(MxEvent),
    /// Nothing to do until a result arrives or `deadline` passes.
    Wait {
        /// When to call [`handle_timeout`](super::Planner::handle_timeout).
        deadline: Option<Instant>,
    },
    /// Every recipient has its result.
    Done(DomainOutcome),
}

/// One connection to one MX address.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Attempt {
    /// The attempt.
    pub id: AttemptId,
    /// The MX host.
    pub mx: Domain,
    /// Its address, port 25 always (RFC 5321 §5.1): a test redirects in its dialer.
    pub addr: SocketAddr,
    /// What TLS must be had; the std crate builds the verifier from it.
    pub tls: TlsRequirement,
    /// The policy it comes from, for reports.
    pub policy: PolicyType,
    /// The session configuration: the caller's, with `tls` set to STARTTLS required
    /// unless [`TlsRequirement::allows_cleartext`] (then opportunistic, or disabled for
    /// the cleartext retry after a failed handshake).
    pub config: Config,
    /// The messages to send, in order: each with the batch index of the message and of
    /// each of its recipients here.
    pub messages: Vec<AttemptMessage>,
}

/// One message of an attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttemptMessage {
    /// The message's index in the batch (its body).
    pub index: usize,
    /// For each recipient of `envelope`, its index in the batch message's envelope.
    pub recipients: Vec<usize>,
    /// The envelope to send: the batch message's, with only these recipients.
    pub envelope: Envelope,
}

/// Something to record.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MxEvent {
    /// One result for TLS reporting (RFC 8460 §4.3).
    TlsReport(TlsReport),
    /// A policy fetched (or a `mode: none` one, which clears): store it for the domain
    /// and hand it back as `cached` to later planners until it expires.
    CachePolicy(StsCacheEntry),
    /// The domain's `_smtp._tls` record: where to send reports (RFC 8460 §3).
    ReportTo(TlsRptRecord),
    /// An MX host or address not tried, and why.
    HostSkipped {
        /// The MX name as published.
        host: String,
        /// The address, when one address was refused.
        addr: Option<IpAddr>,
        /// Why.
        reason: SkipReason,
    },
}

/// Why a host or address was not tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SkipReason {
    /// The MX target is an IP address (RFC 5321 §5.1 wants a name).
    IpLiteral,
    /// The MX target is no valid host name.
    InvalidName,
    /// Beyond [`MxConfig::max_hosts`](crate::mx::MxConfig::max_hosts).
    OverLimit,
    /// An MTA-STS `enforce` policy does not list it (RFC 8461 §4.1).
    StsMismatch,
    /// Its address lookups failed, were bogus, or gave nothing.
    NoAddress,
    /// The address policy refuses the address.
    AddressRefused,
    /// Its TLSA lookup was bogus or failed: with DANE possibly required, the host is
    /// unusable (RFC 7672 §2.2), never "no DANE".
    TlsaUnavailable,
    /// Every message left needs REQUIRETLS, which this host cannot qualify for (RFC 8689
    /// §4.2.1: usable DANE on a secure chain or an enforced MTA-STS policy).
    RequireTls,
}

/// The policy a TLS report is about (RFC 8460 §4.3 `policy-type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PolicyType {
    /// `sts`.
    Sts,
    /// `tlsa`.
    Tlsa,
    /// `no-policy-found`.
    NoPolicyFound,
}

impl PolicyType {
    /// The RFC 8460 name.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyType::Sts => "sts",
            PolicyType::Tlsa => "tlsa",
            PolicyType::NoPolicyFound => "no-policy-found",
        }
    }
}

/// One TLS reporting result (RFC 8460 §4.3): a session, or a policy failure.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsReport {
    /// The recipient domain the policy is for.
    pub policy_domain: Domain,
    /// The policy type.
    pub policy: PolicyType,
    /// `None` for success, else the failure's result type.
    pub result: Option<TlsResultType>,
    /// `receiving-mx-hostname`, when a host was involved.
    pub mx: Option<Domain>,
    /// `receiving-ip`.
    pub addr: Option<IpAddr>,
    /// `receiving-mx-helo`: the name in the server's EHLO reply, when it came.
    pub helo: Option<String>,
}

/// A fetched MTA-STS policy for the caller's cache (RFC 8461 §5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StsCacheEntry {
    /// The policy domain.
    pub domain: Domain,
    /// The `_mta-sts` record's `id` the policy was fetched for.
    pub id: String,
    /// The policy.
    pub policy: StsPolicy,
    /// Unix time of the fetch; it is valid for `policy.max_age` seconds after.
    pub fetched: u64,
}

impl StsCacheEntry {
    /// Whether the entry is still valid at Unix time `unix`.
    pub fn is_valid(&self, unix: u64) -> bool {
        unix < self.fetched.saturating_add(u64::from(self.policy.max_age))
    }
}

/// How the policy fetch failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FetchError {
    /// No connection could be made (`sts-policy-fetch-error`).
    Unreachable,
    /// The server's certificate failed WebPKI verification for the policy host
    /// (`sts-webpki-invalid`, RFC 8461 §3.3).
    Certificate,
    /// The HTTP exchange failed.
    Http(PolicyGetError),
    /// Not done within the deadline.
    Timeout,
}

impl FetchError {
    /// The RFC 8460 result type.
    pub fn result_type(self) -> TlsResultType {
        match self {
            FetchError::Certificate => TlsResultType::StsWebpkiInvalid,
            FetchError::Http(e) => e.result_type(),
            FetchError::Unreachable | FetchError::Timeout => TlsResultType::StsPolicyFetchError,
        }
    }
}

/// How an attempt ended, in terms independent of the adapter.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// No connection (refused, unreachable, timed out): the next address.
    ConnectFailed,
    /// Connected, but the greeting was not 220, EHLO and HELO were refused, or the
    /// connection ended before the session was ready: the next host (not counted
    /// against the session limit, as Postfix does).
    HandshakeFailed,
    /// TLS could not be had as the attempt required: STARTTLS not offered or refused,
    /// the handshake or the certificate check failed. Nothing was sent: the next host.
    TlsFailed {
        /// The RFC 8460 result type (`starttls-not-supported` for no or a refused
        /// STARTTLS; `validation-failure` for a handshake failure).
        result: TlsResultType,
        /// The name in the server's EHLO reply, when it came.
        helo: Option<String>,
    },
    /// The session ran.
    Session(SessionOutcome),
}

impl AttemptOutcome {
    /// What a session that never got ready means here, from the error that ended it
    /// (`Session::finish_connect`'s): TLS required and not had (STARTTLS not offered
    /// or refused, RFC 3207 §4) is `starttls-not-supported`; replies injected behind
    /// STARTTLS's 220 or a handshake that timed out, `validation-failure`; anything
    /// else (greeting 421/554, EHLO and HELO refused, the connection lost) a failed
    /// handshake, which moves to the next host. `helo` is the server's EHLO name, if
    /// it came.
    pub fn not_ready(error: &Error, helo: Option<String>) -> AttemptOutcome {
        let result = match error {
            Error::TlsRequired(_) => TlsResultType::StarttlsNotSupported,
            Error::ResponseInjection
            | Error::Timeout {
                stage: Stage::TlsHandshake,
            } => TlsResultType::ValidationFailure,
            _ => return AttemptOutcome::HandshakeFailed,
        };
        AttemptOutcome::TlsFailed { result, helo }
    }
}

/// What a session did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionOutcome {
    /// The TLS established, if any.
    pub tls: Option<TlsInfo>,
    /// The name in the server's EHLO reply.
    pub helo: Option<String>,
    /// One entry per [`Attempt::messages`], in order: what the server said about its
    /// transaction, or `None` when the session ended before it began.
    pub messages: Vec<Option<SentMessage>>,
}

impl SessionOutcome {
    /// A session with these transactions.
    pub fn new(
        tls: Option<TlsInfo>,
        helo: Option<String>,
        messages: Vec<Option<SentMessage>>,
    ) -> Self {
        SessionOutcome {
            tls,
            helo,
            messages,
        }
    }
}

/// What the server said about one message's transaction: the part of a [`Report`]
/// the planner reads.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SentMessage {
    /// One entry per recipient of the attempt's envelope, in order.
    pub recipients: Vec<RecipientStatus>,
    /// The message's outcome; `None` when it never got one (the session ended first):
    /// nothing was delivered. [`MessageOutcome::Unknown`] is a cut after the end of
    /// data: maybe delivered.
    pub outcome: Option<MessageOutcome>,
}

impl SentMessage {
    /// A transaction's result.
    pub fn new(recipients: Vec<RecipientStatus>, outcome: Option<MessageOutcome>) -> Self {
        SentMessage {
            recipients,
            outcome,
        }
    }
}

impl From<&Report> for SentMessage {
    /// The report of a session's transaction (`Session::finish_send`); an incomplete
    /// report has no outcome.
    fn from(report: &Report) -> Self {
        SentMessage {
            recipients: report.recipients.clone(),
            outcome: report
                .is_complete()
                .then(|| report.outcome.clone())
                .flatten(),
        }
    }
}

/// What became of one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RcptResult {
    /// The MX accepted the message for it.
    Delivered {
        /// The MX host.
        mx: Domain,
        /// The reply to the end of data.
        reply: Reply,
        /// The TLS policy applied.
        policy: PolicyType,
        /// The TLS of the session, if any.
        tls: Option<TlsInfo>,
    },
    /// Refused for good: by an MX (`mx` set), or by the rules (NXDOMAIN 5.1.2, null MX
    /// 556 5.1.10, REQUIRETLS 5.7.30), with a reply saying so.
    Bounced {
        /// The reply (a server's, or one made up with the enhanced status).
        reply: Reply,
        /// The MX that refused, if one did.
        mx: Option<Domain>,
    },
    /// Not delivered yet: try again later.
    Deferred {
        /// Why.
        reason: DeferReason,
        /// The last transient reply, if a server gave one.
        reply: Option<Reply>,
    },
    /// The connection failed after the end of data (RFC 5321 §4.5.3.2.6): it may have
    /// been delivered; it was not sent anywhere else.
    Unknown {
        /// The MX host.
        mx: Domain,
    },
}

/// Why a recipient was deferred.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeferReason {
    /// The MX lookup failed, timed out, or was bogus (never an implicit MX then).
    MxLookup,
    /// The domain's CNAME chain loops or is over the limit.
    CnameChain,
    /// The `_mta-sts` lookup failed and no policy is cached (RFC 8461 §5), while the MX
    /// lookup succeeded: when both fail, the reason is [`DeferReason::MxLookup`].
    StsLookup,
    /// An enforced MTA-STS policy lists none of the MX hosts (RFC 8461 §5.1).
    StsNoMatchingMx,
    /// No host could be reached or used.
    NoHost,
    /// A server answered 4xx and no other host took it within the session limit.
    Transient,
    /// The delivery was given up before the recipient had a result
    /// ([`Planner::abandon`](crate::mx::Planner::abandon)): the caller's own deadline
    /// or shutdown, or a run loop that found the planner unable to move.
    Abandoned,
}

/// The result for every recipient of every message of the batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainOutcome {
    /// `results[m][r]`: message `m`'s recipient `r`.
    pub results: Vec<Vec<RcptResult>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TlsRequiredError;
    use crate::reply::ReplyCode;

    #[test]
    fn a_cached_policy_is_valid_for_max_age_seconds_after_its_fetch() {
        let body = b"version: STSv1\nmode: enforce\nmx: mx.example\nmax_age: 100\n";
        let entry = StsCacheEntry {
            domain: Domain::new("example.com").unwrap(),
            id: "1".into(),
            policy: crate::mx::parse_sts_policy(body).unwrap(),
            fetched: 1_000,
        };
        assert!(entry.is_valid(1_000) && entry.is_valid(1_099));
        assert!(!entry.is_valid(1_100) && !entry.is_valid(u64::MAX));
    }

    #[test]
    fn a_session_that_never_got_ready_is_a_tls_failure_only_when_tls_was_the_cause() {
        let r = Reply::new(ReplyCode::SERVICE_UNAVAILABLE, &[b"4.3.2 bye".as_slice()]).unwrap();
        let tls = |e: &Error| match AttemptOutcome::not_ready(e, None) {
            AttemptOutcome::TlsFailed { result, .. } => Some(result),
            AttemptOutcome::HandshakeFailed => None,
            other => panic!("{other:?}"),
        };
        let not_offered = Error::TlsRequired(TlsRequiredError::NotOffered);
        assert_eq!(tls(&not_offered), Some(TlsResultType::StarttlsNotSupported));
        let refused = Error::TlsRequired(TlsRequiredError::Refused(r.clone()));
        assert_eq!(tls(&refused), Some(TlsResultType::StarttlsNotSupported));
        assert_eq!(
            tls(&Error::ResponseInjection),
            Some(TlsResultType::ValidationFailure)
        );
        assert_eq!(tls(&Error::ServiceUnavailable(r)), None);
        let closed = Error::ConnectionClosed {
            stage: Some(Stage::Greeting),
        };
        assert_eq!(tls(&closed), None);
    }
}
