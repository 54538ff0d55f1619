//! Delivery straight to a domain's MX hosts (feature `mx`): the run loop of
//! [`smtp_proto::mx::Planner`] written once for the three adapters, which do only the
//! I/O it orders (a DNS lookup, the MTA-STS policy fetch, one SMTP session, a wait).
//!
//! [`Run`] turns the planner's steps into [`Order`]s, keeps the events for the caller,
//! and maps what the adapter saw onto the planner's inputs: [`not_ready`] and
//! [`session_outcome`] for a session, [`fetch_error`] for the policy fetch. A
//! blocking adapter carries each order out before asking for the next; an async one
//! runs the lookups and the policy fetch the planner asks for together at once
//! ([`InFlight`]), answering them as they come while it waits ([`Order::Sleep`]) or
//! runs a session: the planner asks for the MX, `_mta-sts` and `_smtp._tls` records
//! at once, and for a host's A and AAAA records.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use smtp_mx::dns::DnsError;
use smtp_mx::tls::{client_config, Roots, TlsSetup};
use smtp_proto::command::Domain;
use smtp_proto::mx::{
    Attempt, AttemptId, AttemptOutcome, DnsResult, DomainOutcome, FetchError, FetchId, MessageMeta,
    MxConfig, MxEvent, Planner, PolicyGet, QueryId, RType, SentMessage, SessionOutcome, Step,
    StsCacheEntry, TlsInfo, TlsRequirement, TlsResultType,
};
use smtp_proto::{Envelope, Instant, Report};

use crate::{Error, NotReady, Settings};

/// One domain's delivery: what each adapter's `mx::deliver` takes.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MxJob<'a> {
    /// Limits, the address allow-list, and each session's starting configuration.
    pub config: MxConfig,
    /// The recipient domain (every recipient of every message is in it).
    pub domain: Domain,
    /// The messages: envelope and `TLS-Required: No` flag, and the content (RFC 5322
    /// bytes) sent to whichever host takes it.
    pub messages: Vec<(MessageMeta, &'a [u8])>,
    /// The caller's stored MTA-STS policy for the domain, if any (RFC 8461 §5.1).
    pub cached: Option<StsCacheEntry>,
    /// Orders MX hosts of equal preference (RFC 5321 §5.1: at random).
    pub seed: u64,
}

impl<'a> MxJob<'a> {
    /// A job with no cached policy and seed 0.
    pub fn new(config: MxConfig, domain: Domain, messages: Vec<(MessageMeta, &'a [u8])>) -> Self {
        MxJob {
            config,
            domain,
            messages,
            cached: None,
            seed: 0,
        }
    }

    /// With the caller's stored policy for the domain.
    #[must_use]
    pub fn cached(mut self, entry: Option<StsCacheEntry>) -> Self {
        self.cached = entry;
        self
    }

    /// With this seed for ordering MX hosts of equal preference.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// What a delivery came to.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Delivered {
    /// Per message, per recipient: delivered, bounced, deferred, or unknown.
    pub outcome: DomainOutcome,
    /// In order: TLS reporting results (RFC 8460), a policy to cache, the domain's
    /// reporting address, hosts skipped.
    pub events: Vec<MxEvent>,
}

/// What the adapter does next; hand the result back with the matching [`Run`] method.
#[derive(Debug)]
#[must_use = "an Order is an instruction"]
pub enum Order {
    /// Resolve, within `timeout`; then [`Run::dns`].
    Lookup {
        /// The lookup.
        id: QueryId,
        /// The name.
        name: String,
        /// The type.
        rtype: RType,
        /// How long it may take.
        timeout: Duration,
    },
    /// Fetch the MTA-STS policy: for each of `addrs` in turn, connect to port 443,
    /// TLS with [`fetch_tls`]'s configuration, write [`PolicyGet::request`], feed what is read to
    /// `get`, all within `timeout`; then [`Run::policy`].
    Fetch(Box<Fetch>),
    /// Dial the attempt's address, run one session (see [`attempt_settings`]); then
    /// [`Run::attempt`].
    Attempt(Box<Attempt>),
    /// Nothing to do for `0` but wait for the lookups and the fetch still running,
    /// if any ([`Run::answer`] each as it comes, then ask for the next order); when
    /// `0` has passed, [`Run::timeout`].
    Sleep(Duration),
    /// Finished.
    Done(Delivered),
}

/// The policy fetch's inputs.
#[derive(Debug)]
#[non_exhaustive]
pub struct Fetch {
    /// The fetch.
    pub id: FetchId,
    /// The HTTP exchange (its host is `mta-sts.<domain>`).
    pub get: PolicyGet,
    /// The policy host's addresses, which the address policy admits.
    pub addrs: Vec<IpAddr>,
    /// How long the whole fetch may take.
    pub timeout: Duration,
}

/// The planner and what the loop keeps beside it: the clock's origin, the events.
#[derive(Debug)]
pub struct Run {
    planner: Planner,
    origin: std::time::Instant,
    events: Vec<MxEvent>,
}

impl Run {
    /// Starts the planner for `job` (the Unix time from the system clock).
    pub fn new(job: &MxJob<'_>) -> Self {
        let batch = job.messages.iter().map(|(m, _)| m.clone()).collect();
        let planner = Planner::new(
            &job.config,
            job.domain.clone(),
            batch,
            job.cached.clone(),
            job.seed,
            Instant::from_duration(Duration::ZERO),
            unix_now(),
        );
        Run {
            planner,
            origin: std::time::Instant::now(),
            events: Vec::new(),
        }
    }

    fn now(&self) -> Instant {
        Instant::from_duration(self.origin.elapsed())
    }

    fn left(&self, deadline: Instant) -> Duration {
        deadline.saturating_duration_since(self.now())
    }

    /// The next order. An attempt must be answered before the next call; lookups
    /// and the policy fetch may be answered later, in any order (an answer after its
    /// deadline has passed, [`Run::timeout`], is ignored).
    pub fn poll(&mut self) -> Order {
        loop {
            match self.planner.poll() {
                Step::Lookup {
                    id,
                    name,
                    rtype,
                    deadline,
                } => {
                    return Order::Lookup {
                        id,
                        name,
                        rtype,
                        timeout: self.left(deadline),
                    }
                }
                Step::FetchPolicy {
                    id,
                    get,
                    addrs,
                    deadline,
                } => {
                    return Order::Fetch(Box::new(Fetch {
                        id,
                        get: *get,
                        addrs,
                        timeout: self.left(deadline),
                    }))
                }
                Step::Attempt(a) => return Order::Attempt(a),
                Step::Event(e) => self.events.push(e),
                Step::Wait { deadline: Some(d) } => return Order::Sleep(self.left(d)),
                Step::Wait { deadline: None } => {
                    // Every lookup and fetch the planner waits for has a deadline, and
                    // an attempt is answered before the next call: a wait without a
                    // deadline has nothing outstanding, and the planner could not move.
                    // It never does so (smtp-proto/tests/mx_props.rs checks it for any
                    // answers in any order); were it to, the recipients are deferred
                    // rather than the run hung or panicked.
                    debug_assert!(false, "mx planner waits with nothing outstanding");
                    self.stalled();
                }
                Step::Done(outcome) => {
                    return Order::Done(Delivered {
                        outcome,
                        events: std::mem::take(&mut self.events),
                    })
                }
            }
        }
    }

    /// The planner waits with nothing outstanding: it is abandoned, every recipient
    /// still open deferred ([`DeferReason::Abandoned`](smtp_proto::mx::DeferReason)).
    fn stalled(&mut self) {
        self.planner.abandon();
    }

    /// The answer to an [`Order::Lookup`] (an error is the SERVFAIL or timeout
    /// answer: [`DnsResult::from`]).
    pub fn dns(&mut self, id: QueryId, answer: Result<DnsResult, DnsError>) {
        let now = self.now();
        self.planner
            .handle_dns(now, id, answer.unwrap_or_else(DnsResult::from));
    }

    /// The result of an [`Order::Fetch`].
    pub fn policy(&mut self, id: FetchId, result: Result<Vec<u8>, FetchError>) {
        let now = self.now();
        self.planner.handle_policy(now, unix_now(), id, result);
    }

    /// The outcome of an [`Order::Attempt`].
    pub fn attempt(&mut self, id: AttemptId, outcome: AttemptOutcome) {
        let now = self.now();
        self.planner.handle_attempt(now, id, outcome);
    }

    /// After an [`Order::Sleep`].
    pub fn timeout(&mut self) {
        let now = self.now();
        self.planner.handle_timeout(now);
    }

    /// The answer to a lookup or the policy fetch that ran in an [`InFlight`].
    pub fn answer(&mut self, answer: Answer) {
        match answer {
            Answer::Dns(id, answer) => self.dns(id, answer),
            Answer::Policy(id, result) => self.policy(id, result),
        }
    }
}

/// What a lookup or the policy fetch came to, for [`Run::answer`].
#[derive(Debug)]
pub enum Answer {
    /// An [`Order::Lookup`]'s answer.
    Dns(QueryId, Result<DnsResult, DnsError>),
    /// An [`Order::Fetch`]'s result.
    Policy(FetchId, Result<Vec<u8>, FetchError>),
}

/// The lookups and the policy fetch an async adapter runs at once, each future
/// bounding itself by its order's timeout. Runtime-free: polled by whatever awaits
/// [`InFlight::next_answer`].
#[derive(Default)]
pub struct InFlight<'a> {
    running: Vec<Pin<Box<dyn Future<Output = Answer> + Send + 'a>>>,
}

impl fmt::Debug for InFlight<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InFlight")
            .field("running", &self.running.len())
            .finish()
    }
}

impl<'a> InFlight<'a> {
    /// Nothing running.
    pub fn new() -> Self {
        InFlight::default()
    }

    /// Starts `order` (polled from the next [`next_answer`](Self::next_answer) on).
    pub fn push(&mut self, order: impl Future<Output = Answer> + Send + 'a) {
        self.running.push(Box::pin(order));
    }

    /// Whether none is running.
    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// The next answer to come, whichever it is; while none is running, never (so
    /// that it can be raced with a session or a timer).
    pub fn next_answer(&mut self) -> impl Future<Output = Answer> + use<'_, 'a> {
        std::future::poll_fn(move |cx| {
            let ready = self.running.iter_mut().enumerate().find_map(|(i, order)| {
                match order.as_mut().poll(cx) {
                    Poll::Ready(answer) => Some((i, answer)),
                    Poll::Pending => None,
                }
            });
            match ready {
                Some((i, answer)) => {
                    // Done: never polled again.
                    drop(self.running.swap_remove(i));
                    Poll::Ready(answer)
                }
                None => Poll::Pending,
            }
        })
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What one attempt's session needs besides the stream: the adapter's `Builder`
/// settings (the attempt's session configuration, the rustls configuration of its
/// [`TlsRequirement`], and as host the name the certificate is checked against and
/// sent as SNI, or the address for none) and the record of the certificate check.
///
/// # Errors
/// When no TLS configuration can be built for the requirement (a name that is no DNS
/// name): the attempt's outcome, a TLS failure, without connecting.
pub fn attempt_settings(
    attempt: &Attempt,
    roots: &Roots,
    connect_timeout: Duration,
) -> Result<(Settings, TlsSetup), AttemptOutcome> {
    let setup = client_config(&attempt.tls, roots).map_err(|_| AttemptOutcome::TlsFailed {
        result: TlsResultType::ValidationFailure,
        helo: None,
    })?;
    let name = setup.server_name(attempt.addr.ip());
    let mut settings = Settings::new(name.to_str().into_owned());
    settings.config = attempt.config.clone();
    settings.connect_timeout = connect_timeout;
    settings.tls_config = Some(setup.config());
    Ok((settings, setup))
}

/// The attempt's messages with their contents, in order.
pub fn attempt_messages<'a>(attempt: &Attempt, job: &MxJob<'a>) -> Vec<(Envelope, &'a [u8])> {
    attempt
        .messages
        .iter()
        .map(|m| {
            let body = job.messages.get(m.index).map_or(&[][..], |(_, b)| *b);
            (m.envelope.clone(), body)
        })
        .collect()
}

/// What a session that did not get ready (`Builder::connect_stream`'s error, with the
/// name the server announced before it failed) means for the planner: a failed TLS
/// handshake is a TLS failure with the result type the verifier recorded (a DANE
/// mismatch, an untrusted or expired certificate, a handshake signed by another key);
/// STARTTLS not offered or refused, or a handshake timing out, a TLS failure too
/// ([`AttemptOutcome::not_ready`]); anything else (a greeting 421 or 554, the
/// connection lost) a failed handshake: the next host. A TLS failure carries the
/// server's name as its `receiving-mx-helo` (RFC 8460 §4.3).
pub fn not_ready(e: &NotReady, setup: &TlsSetup) -> AttemptOutcome {
    let helo = e.server_name.clone();
    match &e.error {
        Error::Tls(_) => AttemptOutcome::TlsFailed {
            result: setup.failure(),
            helo,
        },
        Error::Smtp(e) => AttemptOutcome::not_ready(e, helo),
        Error::Timeout { stage } => {
            AttemptOutcome::not_ready(&smtp_proto::Error::Timeout { stage: *stage }, helo)
        }
        _ => AttemptOutcome::HandshakeFailed,
    }
}

/// A session that got ready, from its sending's result: each report as the server
/// gave it (an incomplete one: nothing delivered; [`MessageOutcome::Unknown`](
/// smtp_proto::MessageOutcome::Unknown): a cut after the end of data), or, when the
/// session died before any message reached an outcome, none. `encrypted` says
/// whether TLS was established; `helo` is the name the server announced
/// (`Connection::server_name`: its EHLO reply's, or its greeting's in a HELO session).
pub fn session_outcome(
    sent: Result<Vec<Report>, Error>,
    messages: usize,
    encrypted: bool,
    setup: &TlsSetup,
    helo: Option<&str>,
) -> AttemptOutcome {
    let tls: Option<TlsInfo> = if encrypted { setup.info() } else { None };
    let sent = match sent {
        Ok(reports) => reports.iter().map(|r| Some(SentMessage::from(r))).collect(),
        Err(_) => vec![None; messages],
    };
    AttemptOutcome::Session(SessionOutcome::new(tls, helo.map(str::to_owned), sent))
}

/// The TLS setup of the MTA-STS policy fetch: WebPKI for `mta-sts.<domain>` (RFC
/// 8461 §3.3), the name sent as SNI.
///
/// # Errors
/// The host name is no DNS name: [`FetchError::Certificate`] (no certificate can be
/// checked for it).
pub fn fetch_tls(get: &PolicyGet, roots: &Roots) -> Result<TlsSetup, FetchError> {
    let host = Domain::new(get.host()).map_err(|_| FetchError::Certificate)?;
    client_config(
        &TlsRequirement::Pkix {
            name: host,
            enforce: true,
        },
        roots,
    )
    .map_err(|_| FetchError::Certificate)
}

/// One read of the policy response fed to `get`: `Ok` with the bytes read (none: the
/// end of the stream; a close without TLS `close_notify` ends it too), or the read's
/// error. Gives the body once complete, `None` while more is needed, or why the fetch
/// failed.
pub fn policy_read(
    get: &mut PolicyGet,
    read: io::Result<&[u8]>,
    setup: &TlsSetup,
) -> Option<Result<Vec<u8>, FetchError>> {
    let bytes = match read {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => &[],
        Err(e) => return Some(Err(fetch_error(&Error::from_io(e), setup))),
    };
    let body = match bytes.is_empty() {
        true => get.handle_eof().map(Some),
        false => get.handle_input(bytes),
    };
    body.map_err(FetchError::Http).transpose()
}

/// What an error of the policy fetch means: a rejected certificate is
/// `sts-webpki-invalid` ([`FetchError::Certificate`]), a timeout
/// [`FetchError::Timeout`], anything else no policy to be had
/// ([`FetchError::Unreachable`]).
pub fn fetch_error(e: &Error, setup: &TlsSetup) -> FetchError {
    match e {
        Error::Tls(rustls::Error::InvalidCertificate(_)) => FetchError::Certificate,
        // The verifier recorded why it refused the certificate.
        Error::Tls(_) if setup.failure() != TlsResultType::ValidationFailure => {
            FetchError::Certificate
        }
        Error::Timeout { .. } => FetchError::Timeout,
        Error::Io(e)
            if matches!(
                e.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ) =>
        {
            FetchError::Timeout
        }
        _ => FetchError::Unreachable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smtp_proto::{Reply, ReplyCode, Stage, TlsRequiredError};

    fn setup() -> TlsSetup {
        client_config(&TlsRequirement::Opportunistic, &Roots::webpki()).expect("setup")
    }

    /// The result type and HELO of a TLS failure; `None` for a failed handshake.
    fn tls_result(o: AttemptOutcome) -> Option<(TlsResultType, Option<String>)> {
        match o {
            AttemptOutcome::TlsFailed { result, helo } => Some((result, helo)),
            AttemptOutcome::HandshakeFailed => None,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_session_not_ready_is_a_tls_failure_only_when_tls_was_the_cause() {
        let s = setup();
        let at_mx = |e| NotReady::new(e, Some("mx.example"));
        let helo = Some("mx.example".to_owned());
        let bad_cert = Error::Tls(rustls::Error::InvalidCertificate(
            rustls::CertificateError::BadSignature,
        ));
        // No certificate was checked by this setup: a handshake failure.
        assert_eq!(
            tls_result(not_ready(&at_mx(bad_cert), &s)),
            Some((TlsResultType::ValidationFailure, helo.clone()))
        );
        let not_offered = Error::Smtp(smtp_proto::Error::TlsRequired(TlsRequiredError::NotOffered));
        assert_eq!(
            tls_result(not_ready(&at_mx(not_offered), &s)),
            Some((TlsResultType::StarttlsNotSupported, helo.clone()))
        );
        let handshake_timeout = Error::Timeout {
            stage: Stage::TlsHandshake,
        };
        assert_eq!(
            tls_result(not_ready(&at_mx(handshake_timeout), &s)),
            Some((TlsResultType::ValidationFailure, helo))
        );
        // Before the server said anything: no HELO to report.
        let silent = Error::Timeout {
            stage: Stage::TlsHandshake,
        };
        assert_eq!(
            tls_result(not_ready(&NotReady::from(silent), &s)),
            Some((TlsResultType::ValidationFailure, None))
        );
        let reply =
            Reply::new(ReplyCode::SERVICE_UNAVAILABLE, &[b"4.3.2 busy".as_slice()]).expect("reply");
        for e in [
            Error::Smtp(smtp_proto::Error::ServiceUnavailable(reply)),
            Error::Timeout {
                stage: Stage::Greeting,
            },
            Error::Io(io::ErrorKind::ConnectionReset.into()),
        ] {
            let e = at_mx(e);
            assert_eq!(tls_result(not_ready(&e, &s)), None, "{e:?}");
        }
    }

    /// One message to two recipients at example.net.
    fn job() -> MxJob<'static> {
        use smtp_proto::command::{EhloName, ForwardPath, ReversePath};

        let envelope = Envelope::new(
            ReversePath::new("a@example.org").expect("from"),
            ["b@example.net", "c@example.net"].map(|r| ForwardPath::new(r).expect("rcpt")),
        );
        let config = smtp_proto::Config::new(EhloName::new("client.example").expect("name"));
        MxJob::new(
            MxConfig::new(config),
            Domain::new("example.net").expect("domain"),
            vec![(MessageMeta::new(envelope), &b"Hi\r\n"[..])],
        )
    }

    /// The run loop's fallback for a planner that waits with nothing outstanding (the
    /// planner never does: smtp-proto/tests/mx_props.rs), forced through its hook: the
    /// run ends with every recipient deferred, none panicking or hung.
    #[test]
    fn a_planner_that_cannot_move_ends_the_run_with_every_recipient_deferred() {
        use smtp_proto::mx::{DeferReason, RcptResult};

        let job = job();
        let mut run = Run::new(&job);
        assert!(matches!(run.poll(), Order::Lookup { .. }));
        run.stalled();
        let Order::Done(done) = run.poll() else {
            panic!("the run goes on")
        };
        let abandoned = RcptResult::Deferred {
            reason: DeferReason::Abandoned,
            reply: None,
        };
        assert_eq!(
            done.outcome.results,
            vec![vec![abandoned.clone(), abandoned]]
        );
    }

    /// Answers come as their orders finish, not in the order they started, and one
    /// that never finishes holds none of the others back.
    #[test]
    fn in_flight_orders_answer_as_they_finish() {
        let job = job();
        let mut run = Run::new(&job);
        // The MX, `_mta-sts` and `_smtp._tls` lookups, asked for together.
        let ids: Vec<QueryId> = (0..3)
            .map(|_| match run.poll() {
                Order::Lookup { id, .. } => id,
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(matches!(run.poll(), Order::Sleep(_)), "all three in flight");
        let mut inflight = InFlight::new();
        assert!(inflight.is_empty());
        inflight.push(std::future::pending());
        let second = ids[1];
        inflight.push(async move { Answer::Dns(second, Err(DnsError::Timeout)) });
        let answer = crate::block_on(inflight.next_answer());
        assert!(
            matches!(answer, Answer::Dns(id, Err(DnsError::Timeout)) if id == second),
            "{answer:?}"
        );
        assert!(!inflight.is_empty(), "the one still running stays");
    }

    #[test]
    fn a_policy_fetch_error_is_a_certificate_failure_a_timeout_or_no_policy() {
        let s = setup();
        let cert = Error::Tls(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        ));
        assert_eq!(fetch_error(&cert, &s), FetchError::Certificate);
        let alert = Error::Tls(rustls::Error::AlertReceived(
            rustls::AlertDescription::HandshakeFailure,
        ));
        assert_eq!(fetch_error(&alert, &s), FetchError::Unreachable);
        let timeout = Error::Timeout {
            stage: Stage::TlsHandshake,
        };
        assert_eq!(fetch_error(&timeout, &s), FetchError::Timeout);
        let read_timeout = Error::Io(io::ErrorKind::WouldBlock.into());
        assert_eq!(fetch_error(&read_timeout, &s), FetchError::Timeout);
        let reset = Error::Io(io::ErrorKind::ConnectionReset.into());
        assert_eq!(fetch_error(&reset, &s), FetchError::Unreachable);
    }

    #[test]
    fn a_session_that_died_before_any_outcome_sent_nothing_and_cleartext_has_no_tls() {
        let s = setup();
        let died = Err(Error::Io(io::ErrorKind::ConnectionReset.into()));
        match session_outcome(died, 2, false, &s, Some("mx.example")) {
            AttemptOutcome::Session(o) => {
                assert_eq!(
                    o,
                    SessionOutcome::new(None, Some("mx.example".into()), vec![None, None])
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
