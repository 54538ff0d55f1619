//! Running a core transcript through an adapter's high-level API.
//!
//! [`crate::plan`] turns a transcript into the adapter's operations (connect, batches of
//! messages, NOOP, RSET, QUIT) and the server's turns; a transcript an adapter cannot
//! replay is skipped, its reason printed (see [`plan`]).
//!
//! For each, [`replay_all`] starts a [`ScriptedServer`] playing the turns and calls the
//! adapter's closure with the [`Scenario`] and a [`Target`]; the closure connects, runs
//! [`Scenario::ops`] in order until one fails, and returns an [`Outcome`]. The server
//! checks the bytes, flight by flight; [`check`] checks the outcome against the
//! transcript's `E:` lines:
//!
//! | `E:` line | what the adapter must report |
//! |---|---|
//! | `rcpt-accepted/rejected txn=T rcpt=R ...`, `rcpt-not-attempted txn=T rcpt=R` | the report of transaction T, recipient R |
//! | `message-accepted`, `txn-failed`, `outcome-unknown` `txn=T [rcpt=R]` | T's outcome (under LMTP with `rcpt=`: its delivery to R) |
//! | `reply NOOP/RSET ...` | the reply `noop`/`rset` returned, in order |
//! | `closed` | no error from any call |
//! | `closed error=X` | the error that ended the session, in the same text form |
//! | no `closed` line | no error either (the test's own `quit`, or a drop, ends the session) |
//! | `authenticated M`, `tls-established` | `auth_mechanism`, `encrypted` (when `connect` failed after the handshake, the server's completed TLS turn is the proof) |
//! | no `rcpt-*` line for a recipient of a report | `NotAttempted` |
//! | no outcome line for a report (under LMTP: a delivery) | no outcome |
//!
//! A transaction without a report (its batch returned `Err`) must be one the transcript
//! ends with `txn-failed ... session-closed`: never delivered, as the adapters promise
//! for an `Err`. Its recipient lines are held to that promise: the adapter's answer for
//! each is "not delivered, the session died", and the transcript must agree.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rustls::ClientConfig;
use smtp_proto::{
    Client, Config, Envelope, Event, Instant, MessageOutcome, Output, RecipientStatus, Reply,
    Report, Stage,
};

use crate::plan::{adapter_config, plan, NoPlan, Op, Plan};
use crate::server::ScriptedServer;
use crate::tls::TestCert;
use crate::transcript::{describe, Transcript};

/// A transcript planned for an adapter.
pub struct Scenario {
    /// The transcript (name, lines).
    pub transcript: Transcript,
    /// The adapter's operations and the server's turns.
    pub plan: Plan,
    /// Every message of every batch, in order.
    pub messages: Vec<(Envelope, Vec<u8>)>,
}

impl Scenario {
    /// The transcript's file name.
    pub fn name(&self) -> &str {
        &self.transcript.name
    }

    /// The configuration the transcript asks for (its `config:` lines applied onto a
    /// default configuration with EHLO name `client.example`; timeouts scaled when it
    /// has `T:` lines, see [`crate::plan`]). Adapters put it into their builder's
    /// `config_mut()` whole, so that the EHLO name matches the transcript too.
    pub fn config(&self) -> Config {
        adapter_config(&self.transcript)
    }

    /// The operations to run after connecting, in order, until one fails.
    pub fn ops(&self) -> &[Op] {
        &self.plan.ops
    }

    /// Every message, as `send_many` takes them.
    pub fn messages(&self) -> impl Iterator<Item = (Envelope, &[u8])> + '_ {
        batch(&self.messages)
    }

    /// Plans the scenario, or says why the transcript is not replayed over a socket.
    pub fn from_transcript(t: Transcript) -> Result<Scenario, NoPlan> {
        let plan = plan(&t)?;
        let messages = plan
            .ops
            .iter()
            .filter_map(|op| match op {
                Op::Send(b) => Some(b.iter().cloned()),
                _ => None,
            })
            .flatten()
            .collect();
        Ok(Scenario {
            transcript: t,
            plan,
            messages,
        })
    }
}

/// A batch of [`Op::Send`], as `send_many` takes it.
pub fn batch(messages: &[(Envelope, Vec<u8>)]) -> impl Iterator<Item = (Envelope, &[u8])> + '_ {
    messages.iter().map(|(e, b)| (e.clone(), &b[..]))
}

/// Where the adapter must connect for a scenario.
pub struct Target {
    /// The scripted server's address (127.0.0.1).
    pub addr: SocketAddr,
    /// The host name to give the adapter's builder: `127.0.0.1`, which the test
    /// certificate names, so TLS verification runs for real.
    pub host: &'static str,
    /// A client configuration whose only trust anchor is the test certificate.
    pub tls_config: Arc<ClientConfig>,
}

impl Target {
    /// Where `server` listens, with the test certificate as the only trust anchor.
    pub fn of(server: &ScriptedServer) -> Target {
        Target {
            addr: server.addr(),
            host: "127.0.0.1",
            tls_config: TestCert::get().client_config(),
        }
    }
}

/// How a session ended, as the adapter saw it.
#[derive(Debug)]
pub enum EndError {
    /// The core's error (the adapter's timeout and SMTP variants map here).
    Smtp(smtp_proto::Error),
    /// Anything else (I/O, TLS, misuse): never what a transcript expects.
    Other(String),
}

/// What the adapter reports for one scenario.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Whether `connect` succeeded.
    pub connected: bool,
    /// Every report the send calls returned, in order.
    pub reports: Vec<Report>,
    /// The replies `noop` and `rset` returned, in order.
    pub replies: Vec<Reply>,
    /// Whether the connection was encrypted (read after connecting).
    pub encrypted: bool,
    /// The SASL mechanism used, if any.
    pub auth_mechanism: Option<String>,
    /// The first error from connect or an operation (the adapter stops there).
    pub error: Option<EndError>,
}

/// The adapters' error: their timeout, SMTP and invalid-configuration variants are the
/// core's error.
impl From<smtp_io::Error> for EndError {
    fn from(e: smtp_io::Error) -> Self {
        match e {
            smtp_io::Error::Smtp(e) => EndError::Smtp(e),
            smtp_io::Error::Timeout { stage } => {
                EndError::Smtp(smtp_proto::Error::Timeout { stage })
            }
            // Refused before connecting: what the core ends the session with.
            smtp_io::Error::Usage(smtp_proto::UsageError::InvalidConfig(e)) => {
                EndError::Smtp(smtp_proto::Error::InvalidConfig(e))
            }
            other => EndError::Other(other.to_string()),
        }
    }
}

impl Outcome {
    /// The outcome of a session that could not be set up.
    pub fn failed(error: EndError) -> Outcome {
        Outcome {
            error: Some(error),
            ..Outcome::default()
        }
    }

    /// The outcome of a session set up, before its operations: what the connection says
    /// of itself. Panics unless it has a TLS version exactly when it is encrypted.
    pub fn connected(
        s: &Scenario,
        encrypted: bool,
        tls_version: Option<&str>,
        auth_mechanism: Option<String>,
    ) -> Outcome {
        assert_eq!(
            tls_version.is_some(),
            encrypted,
            "{}: a TLS version exactly when encrypted",
            s.name()
        );
        Outcome {
            connected: true,
            encrypted,
            auth_mechanism,
            ..Outcome::default()
        }
    }
}

fn transcript_dirs() -> [PathBuf; 2] {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        here.join("../smtp-proto/tests/transcripts"),
        here.join("transcripts"),
    ]
}

/// Every transcript of the core (`smtp-proto/tests/transcripts`) and of the testkit
/// (`smtp-testkit/transcripts`: sessions written for the adapters, checked against the
/// core by this crate's tests), sorted by name.
pub fn all_transcripts() -> Vec<Transcript> {
    let mut paths: Vec<PathBuf> = transcript_dirs()
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .map(|e| e.expect("read_dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort_by_key(|p| p.file_name().map(|n| n.to_os_string()));
    paths
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let text = std::fs::read_to_string(p).expect("read transcript");
            Transcript::parse(&name, &text)
        })
        .collect()
}

/// The scenario of the transcript named `name` (a file in either directory of
/// [`all_transcripts`]), for a test that runs one session its own way.
pub fn named(name: &str) -> Scenario {
    let t = all_transcripts()
        .into_iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no transcript {name}"));
    Scenario::from_transcript(t).unwrap_or_else(|why| panic!("{name}: {why}"))
}

/// How many transcripts each adapter's replay must run at least (of 164 when this was
/// written; 12 skipped): a runner that drops transcripts fails rather than passing on
/// fewer. Raise it as transcripts are added.
pub const FLOOR: usize = 150;

/// How many transcripts to replay at once: most of the time goes to timers, which sleep.
const WORKERS: usize = 4;

/// One transcript's fate: planned (then replayed, or not) or not.
type Replayed = Result<Result<(), String>, NoPlan>;

/// What [`replay_each`] did.
#[derive(Debug, Default)]
pub struct Summary {
    /// Transcripts replayed through the adapter (failed or not).
    pub ran: usize,
    /// `name: reason` of each transcript skipped.
    pub skipped: Vec<String>,
    /// What went wrong, per transcript: a replay that failed, or a transcript the planner
    /// could not follow.
    pub failures: Vec<String>,
    /// The `TRANSCRIPT` filter, if one picked the transcripts.
    pub filter: Option<String>,
}

impl Summary {
    /// Panics listing every failure; then if a filter picked no transcript, or, without
    /// a filter, if fewer than `floor` ran (so that a runner that drops transcripts
    /// cannot pass).
    pub fn assert(&self, floor: usize) {
        assert!(
            self.failures.is_empty(),
            "{} transcripts failed ({} replayed):\n\n{}",
            self.failures.len(),
            self.ran,
            self.failures.join("\n\n")
        );
        match &self.filter {
            Some(o) => assert!(self.ran > 0, "no transcript matches TRANSCRIPT={o}"),
            None => assert!(
                self.ran >= floor,
                "only {} transcripts replayed (floor {floor}); skipped:\n  {}",
                self.ran,
                self.skipped.join("\n  ")
            ),
        }
    }
}

/// Replays every transcript (those whose name contains `TRANSCRIPT`, if set) through
/// `adapter`, a few at a time, and prints how many ran and each skipped one with its
/// reason.
pub fn replay_each(adapter: impl Fn(&Scenario, &Target) -> Outcome + Sync) -> Summary {
    let filter = std::env::var("TRANSCRIPT").ok();
    let transcripts: Vec<Transcript> = all_transcripts()
        .into_iter()
        .filter(|t| filter.as_ref().is_none_or(|o| t.name.contains(o.as_str())))
        .collect();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Replayed)>> = Mutex::default();
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(t) = transcripts.get(i) else { return };
                let t = Transcript {
                    name: t.name.clone(),
                    lines: t.lines.clone(),
                };
                let result =
                    Scenario::from_transcript(t).map(|s| replay(&s, &mut |s, t| adapter(s, t)));
                results
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((i, result));
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(i, _)| *i);
    let mut summary = Summary {
        filter,
        ..Summary::default()
    };
    for (i, result) in results {
        let name = &transcripts[i].name;
        match result {
            Ok(replayed) => {
                summary.ran += 1;
                if let Err(e) = replayed {
                    summary.failures.push(e);
                }
            }
            Err(NoPlan::Skip(why)) => summary.skipped.push(format!("{name}: {why}")),
            Err(NoPlan::Broken(why)) => {
                summary.failures.push(format!("{name}: not planned: {why}"))
            }
        }
    }
    eprintln!(
        "replayed {} transcripts; skipped {}:\n  {}",
        summary.ran,
        summary.skipped.len(),
        summary.skipped.join("\n  ")
    );
    summary
}

/// [`replay_each`], then [`Summary::assert`] with `floor`.
pub fn replay_all(floor: usize, adapter: impl Fn(&Scenario, &Target) -> Outcome + Sync) {
    replay_each(adapter).assert(floor);
}

/// Replays one scenario: the server's verdict on the bytes, then [`check`].
pub fn replay(
    s: &Scenario,
    adapter: &mut dyn FnMut(&Scenario, &Target) -> Outcome,
) -> Result<(), String> {
    if s.config().validate().is_err() {
        return refused_before_connecting(s, adapter);
    }
    let server = ScriptedServer::play(s.name(), &s.plan);
    let target = Target::of(&server);
    let outcome = adapter(s, &target);
    verdict(s, server, &outcome)
}

/// A configuration the core refuses (`Config::validate`): an adapter refuses it before
/// it connects (`smtp_io::Settings::check`; over a caller's stream, the session refuses
/// it before writing), so no session is set up, and the outcome is the core's error.
fn refused_before_connecting(
    s: &Scenario,
    adapter: &mut dyn FnMut(&Scenario, &Target) -> Outcome,
) -> Result<(), String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let target = Target {
        addr: listener.local_addr().map_err(|e| e.to_string())?,
        host: "127.0.0.1",
        tls_config: TestCert::get().client_config(),
    };
    let outcome = adapter(s, &target);
    let mut problems = Vec::new();
    if outcome.connected {
        problems.push("[outcome] a session was set up with a configuration to refuse".into());
    }
    if let Err(e) = check(s, &outcome) {
        problems.push(format!("[outcome] {e}"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}:\n{}\n(adapter outcome: {outcome:?})",
            s.name(),
            problems.join("\n")
        ))
    }
}

/// Waits for `server` to end its replay of `s`, then [`check`]s the adapter's outcome:
/// `Err` lists what went wrong on either side.
pub fn verdict(s: &Scenario, server: ScriptedServer, outcome: &Outcome) -> Result<(), String> {
    let served = server.finish();
    let checked = check(s, outcome);
    match (served, checked) {
        (Ok(()), Ok(())) => Ok(()),
        (a, b) => {
            let mut msg = format!("{}:", s.name());
            if let Err(e) = a {
                msg.push_str(&format!("\n[server] {e}"));
            }
            if let Err(e) = b {
                msg.push_str(&format!("\n[outcome] {e}"));
            }
            msg.push_str(&format!("\n(adapter outcome: {outcome:?})"));
            Err(msg)
        }
    }
}

fn field(words: &[&str], key: &str) -> Option<usize> {
    words
        .iter()
        .find_map(|w| w.strip_prefix(key))
        .and_then(|v| v.parse().ok())
}

/// Whether the transcript says transaction `txn` never reached the server's verdict
/// (`txn-failed ... session-closed`, and nothing delivered or in doubt).
fn never_delivered(t: &Transcript, txn: usize) -> bool {
    let tag = format!("txn={txn}");
    let outcomes: Vec<&str> = t
        .lines
        .iter()
        .filter_map(|(_, l)| l.strip_prefix("E: "))
        .filter(|e| e.split(' ').any(|w| w == tag))
        .filter(|e| !e.starts_with("rcpt-"))
        .collect();
    !outcomes.is_empty()
        && outcomes
            .iter()
            .all(|e| e.starts_with("txn-failed") && e.ends_with("session-closed"))
}

/// Checks an outcome against the scenario's `E:` lines (see the module documentation).
pub fn check(s: &Scenario, o: &Outcome) -> Result<(), String> {
    let client = Client::new(s.transcript.config(), Instant::ZERO);
    let text = |out: Output| describe(&client, &out).unwrap_or_default();
    let mut problems = Vec::new();
    if o.reports.len() > s.messages.len() {
        problems.push(format!(
            "{} reports for {} messages",
            o.reports.len(),
            s.messages.len()
        ));
    }
    // One report per message, in order: transaction ids count up from 0.
    for (i, r) in o.reports.iter().enumerate() {
        if r.txn.get() != i as u64 {
            problems.push(format!("report {i} is for txn {}", r.txn.get()));
        }
    }
    let stages = s.ops().iter().filter_map(|op| match op {
        Op::Noop => Some(Stage::Noop),
        Op::Rset => Some(Stage::Rset),
        _ => None,
    });
    let mut replies = stages.zip(&o.replies);
    let mut closes = false;
    for (n, line) in &s.transcript.lines {
        let Some(want) = line.strip_prefix("E: ") else {
            continue;
        };
        let words: Vec<&str> = want.split(' ').collect();
        let got: Option<String> = match words[0] {
            "rcpt-accepted" | "rcpt-rejected" | "rcpt-not-attempted" | "message-accepted"
            | "txn-failed" | "outcome-unknown" => {
                let t = field(&words, "txn=").expect("txn=");
                let rcpt = field(&words, "rcpt=");
                match o.reports.iter().find(|r| r.txn.get() == t as u64) {
                    Some(r) if words[0].starts_with("rcpt-") => {
                        Some(rcpt_text(r, rcpt.expect("rcpt="), &text))
                    }
                    Some(r) => Some(outcome_text(r, rcpt, &text)),
                    // The batch returned `Err`: "none of them was delivered".
                    None if o.error.is_some() && never_delivered(&s.transcript, t) => {
                        Some(want.to_string())
                    }
                    None => Some(format!(
                        "no report for txn {t}, which the transcript does not end                          `txn-failed ... session-closed` (error {:?})",
                        o.error
                    )),
                }
            }
            "reply" => Some(match replies.next() {
                Some((stage, reply)) => text(Output::Event(Event::Reply {
                    stage,
                    reply: reply.clone(),
                })),
                None => "no reply from noop/rset".to_string(),
            }),
            "closed" => {
                closes = true;
                Some(match &o.error {
                    None => "closed".to_string(),
                    Some(EndError::Smtp(e)) => text(Output::Closed(Some(e.clone()))),
                    Some(EndError::Other(e)) => format!("closed by a non-SMTP error: {e}"),
                })
            }
            "authenticated" => Some(format!(
                "authenticated {}",
                o.auth_mechanism.as_deref().unwrap_or("(none)")
            )),
            // Without a connection there is nothing to ask: the server's TLS turn,
            // which completed, is the proof.
            "tls-established" if !o.connected => None,
            "tls-established" => Some(if o.encrypted {
                "tls-established".into()
            } else {
                "not encrypted".into()
            }),
            _ => None,
        };
        if let Some(got) = got {
            if got != want {
                problems.push(format!("line {n}: expected `{want}`, adapter: `{got}`"));
            }
        }
    }
    problems.extend(unreported(&s.transcript, &o.reports));
    for (stage, reply) in replies {
        problems.push(format!("a {stage} reply not in the transcript: {reply:?}"));
    }
    if !closes {
        if let Some(e) = &o.error {
            problems.push(format!(
                "the transcript leaves the session open; the adapter failed: {e:?}"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// The other way round: what a report says that the transcript has no `E:` line for. A
/// recipient the transcript never reports must be `NotAttempted`, a message (under LMTP:
/// a delivery) without an outcome line must have no outcome.
fn unreported(t: &Transcript, reports: &[Report]) -> Vec<String> {
    let events: Vec<Vec<&str>> = t
        .lines
        .iter()
        .filter_map(|(_, l)| l.strip_prefix("E: "))
        .map(|e| e.split(' ').collect())
        .collect();
    let has = |kinds: &[&str], txn: u64, rcpt: Option<usize>| {
        events.iter().any(|w| {
            kinds.contains(&w[0])
                && field(w, "txn=") == usize::try_from(txn).ok()
                && field(w, "rcpt=") == rcpt
        })
    };
    const OUTCOMES: [&str; 3] = ["message-accepted", "txn-failed", "outcome-unknown"];
    let mut problems = Vec::new();
    for r in reports {
        let txn = r.txn.get();
        for (i, status) in r.recipients.iter().enumerate() {
            let reported = has(&["rcpt-accepted", "rcpt-rejected"], txn, Some(i));
            // An explicit `rcpt-not-attempted` line is checked in `check`.
            if !reported && !matches!(status, RecipientStatus::NotAttempted) {
                problems.push(format!(
                    "txn {txn} recipient {i}: the adapter reports {status:?}; the transcript \
                     never answers it (not attempted)"
                ));
            }
        }
        if r.deliveries.is_empty() && r.outcome.is_some() && !has(&OUTCOMES, txn, None) {
            problems.push(format!(
                "txn {txn}: the adapter reports {:?}; the transcript has no outcome",
                r.outcome
            ));
        }
        for (i, delivery) in r.deliveries.iter().enumerate() {
            // A failure of the whole transaction is every accepted recipient's outcome.
            let said = has(&OUTCOMES, txn, Some(i)) || has(&OUTCOMES, txn, None);
            if delivery.is_some() && !said {
                problems.push(format!(
                    "txn {txn} delivery {i}: the adapter reports {delivery:?}; the \
                     transcript has no outcome for it"
                ));
            }
        }
    }
    problems
}

fn rcpt_text(r: &Report, rcpt: usize, text: &dyn Fn(Output) -> String) -> String {
    let txn = r.txn;
    match r.recipients.get(rcpt) {
        Some(RecipientStatus::Accepted(reply)) => text(Output::Event(Event::RecipientAccepted {
            txn,
            rcpt,
            reply: reply.clone(),
        })),
        Some(RecipientStatus::Rejected(reply)) => text(Output::Event(Event::RecipientRejected {
            txn,
            rcpt,
            reply: reply.clone(),
        })),
        Some(RecipientStatus::NotAttempted) => {
            text(Output::Event(Event::RecipientNotAttempted { txn, rcpt }))
        }
        None => format!("no recipient {rcpt}"),
    }
}

fn outcome_text(r: &Report, rcpt: Option<usize>, text: &dyn Fn(Output) -> String) -> String {
    let txn = r.txn;
    let outcome = match rcpt {
        Some(i) => r.deliveries.get(i).cloned().flatten(),
        None => r.outcome.clone(),
    };
    match outcome {
        Some(MessageOutcome::Accepted(reply)) => {
            text(Output::Event(Event::MessageAccepted { txn, rcpt, reply }))
        }
        Some(MessageOutcome::Failed(failure)) => text(Output::Event(Event::TransactionFailed {
            txn,
            rcpt,
            failure,
        })),
        Some(MessageOutcome::Unknown) => text(Output::Event(Event::OutcomeUnknown { txn, rcpt })),
        None => format!("no outcome for txn {} rcpt {rcpt:?}", txn.get()),
    }
}
