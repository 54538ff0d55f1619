//! Running a core transcript through an adapter's high-level API.
//!
//! A transcript is *replayable* when it is a plain "connect, send these messages, quit"
//! session: its application lines are `send:` (with `body:`) then `quit`, and it has no
//! `T:` or `D:` line (those move a fake clock, which a real socket cannot; the adapters
//! have their own timeout tests). Every other transcript is skipped by name, with the
//! reason printed.
//!
//! For each replayable transcript, [`replay_all`] starts a [`ScriptedServer`] and calls the
//! adapter's closure with the [`Scenario`] and a [`Target`]; the closure connects, sends
//! every message on one connection (pipelined: `send_many`), quits, and returns an
//! [`Outcome`]. The server checks the bytes; [`check`] checks the outcome against the
//! transcript's `E:` lines:
//!
//! | `E:` line | what the adapter must report |
//! |---|---|
//! | `rcpt-accepted/rejected txn=T rcpt=R CODE` | report T, recipient R |
//! | `message-accepted`, `txn-failed`, `outcome-unknown` `txn=T [rcpt=R]` | report T's outcome (under LMTP with `rcpt=`: its delivery to R) |
//! | `closed` | no error from connect, send or quit |
//! | `closed error=X` | the error that ended the session, in the same text form |
//! | `authenticated M`, `tls-established` | `auth_mechanism`, `encrypted` |
//!
//! A transaction without a report (the adapter returned `Err` from its send call) must be
//! one the transcript ends with `txn-failed ... session-closed`: never delivered.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ClientConfig;
use smtp_proto::{
    Client, Config, Envelope, Event, Instant, MessageOutcome, Output, RecipientStatus, Report,
};

use crate::server::ScriptedServer;
use crate::tls::TestCert;
use crate::transcript::{describe, parse_send, unescape, Transcript};

/// A replayable transcript: its messages, ready to send.
pub struct Scenario {
    /// The transcript (name, lines).
    pub transcript: Transcript,
    /// Each `send:` with its `body:`, in order.
    pub messages: Vec<(Envelope, Vec<u8>)>,
}

impl Scenario {
    /// The transcript's file name.
    pub fn name(&self) -> &str {
        &self.transcript.name
    }

    /// The configuration the transcript asks for (its `config:` lines applied onto a
    /// default configuration with EHLO name `client.example`). Adapters put it into their
    /// builder's `config_mut()` whole, so that the EHLO name matches the transcript too.
    pub fn config(&self) -> Config {
        self.transcript.config()
    }

    /// The messages as `send_many` takes them.
    pub fn messages(&self) -> impl Iterator<Item = (Envelope, &[u8])> + '_ {
        self.messages.iter().map(|(e, b)| (e.clone(), &b[..]))
    }

    /// Builds the scenario, or says why the transcript cannot be replayed over a socket.
    pub fn from_transcript(t: Transcript) -> Result<Scenario, String> {
        let mut messages: Vec<(Envelope, Vec<u8>)> = Vec::new();
        let mut quit = false;
        for (n, line) in &t.lines {
            let word = line.split([':', ' ']).next().unwrap_or("");
            match word {
                "T" | "D" => return Err(format!("line {n}: needs a fake clock ({line})")),
                "adapters" => return Err(format!("line {n}: {line}")),
                "noop" | "rset" | "vrfy" => {
                    return Err(format!("line {n}: application request {word}"))
                }
                "send" if quit => return Err(format!("line {n}: send after quit")),
                "send" => {
                    let spec = line.strip_prefix("send: ").unwrap_or("");
                    messages.push((parse_send(spec), Vec::new()));
                }
                "body" => {
                    let b = line.strip_prefix("body:").unwrap_or("");
                    let Some(last) = messages.last_mut() else {
                        return Err(format!("line {n}: body before send"));
                    };
                    last.1.extend(unescape(b.strip_prefix(' ').unwrap_or(b)));
                }
                "quit" => quit = true,
                _ => {}
            }
        }
        let ends = quit
            || t.lines
                .iter()
                .any(|(_, l)| l == "EOF" || l.starts_with("E: closed"));
        if messages.is_empty() || !ends {
            return Err("not a session that sends and ends".into());
        }
        Ok(Scenario {
            transcript: t,
            messages,
        })
    }
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

/// How a session ended, as the adapter saw it.
#[derive(Debug)]
pub enum EndError {
    /// The core's error (the adapter's timeout and SMTP variants map here).
    Smtp(smtp_proto::Error),
    /// Anything else (I/O, TLS, misuse): never what a transcript expects.
    Other(String),
}

/// The adapters' error: their timeout and SMTP variants are the core's error.
impl From<smtp_io::Error> for EndError {
    fn from(e: smtp_io::Error) -> Self {
        match e {
            smtp_io::Error::Smtp(e) => EndError::Smtp(e),
            smtp_io::Error::Timeout { stage } => {
                EndError::Smtp(smtp_proto::Error::Timeout { stage })
            }
            other => EndError::Other(other.to_string()),
        }
    }
}

/// What the adapter reports for one scenario.
#[derive(Debug, Default)]
pub struct Outcome {
    /// One report per transaction the send call returned, in order.
    pub reports: Vec<Report>,
    /// Whether the connection was encrypted (read before quitting).
    pub encrypted: bool,
    /// The SASL mechanism used, if any.
    pub auth_mechanism: Option<String>,
    /// The first error from connect, send or quit.
    pub error: Option<EndError>,
}

impl Outcome {
    /// The session could not be set up.
    pub fn not_connected(e: impl Into<EndError>) -> Outcome {
        Outcome {
            error: Some(e.into()),
            ..Outcome::default()
        }
    }

    /// A session of scenario `name` that was set up: whether it is encrypted (its TLS
    /// version, asserted, must agree), its SASL mechanism, what its send call returned
    /// and then its QUIT; the first error is the one kept.
    pub fn of_session<E: Into<EndError>>(
        name: &str,
        encrypted: bool,
        tls_version: Option<&str>,
        auth_mechanism: Option<&str>,
        sent: Result<Vec<Report>, E>,
        quit: Result<(), E>,
    ) -> Outcome {
        assert_eq!(tls_version.is_some(), encrypted, "{name}");
        let mut outcome = Outcome {
            encrypted,
            auth_mechanism: auth_mechanism.map(str::to_owned),
            ..Outcome::default()
        };
        match sent {
            Ok(reports) => outcome.reports = reports,
            Err(e) => outcome.error = Some(e.into()),
        }
        if let Err(e) = quit {
            outcome.error.get_or_insert(e.into());
        }
        outcome
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

/// Replays every replayable transcript through `adapter`; panics listing every failure.
/// Set `TRANSCRIPT=part-of-name` to run only some. Panics too if nothing was replayed,
/// so a broken filter cannot pass.
pub fn replay_all(mut adapter: impl FnMut(&Scenario, &Target) -> Outcome) {
    let only = std::env::var("TRANSCRIPT").ok();
    let mut failures = Vec::new();
    let mut ran = 0;
    for t in all_transcripts() {
        if only.as_ref().is_some_and(|o| !t.name.contains(o.as_str())) {
            continue;
        }
        let name = t.name.clone();
        match Scenario::from_transcript(t) {
            Ok(s) => {
                ran += 1;
                if let Err(e) = replay(&s, &mut adapter) {
                    failures.push(e);
                }
            }
            Err(why) => eprintln!("skipped {name}: {why}"),
        }
    }
    assert!(ran > 0, "no replayable transcript");
    eprintln!("replayed {ran} transcripts");
    assert!(
        failures.is_empty(),
        "{} of {ran} transcripts failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Replays one scenario: the server's verdict on the bytes, then [`check`].
pub fn replay(
    s: &Scenario,
    adapter: &mut dyn FnMut(&Scenario, &Target) -> Outcome,
) -> Result<(), String> {
    let server = ScriptedServer::start(&s.transcript);
    let target = Target {
        addr: server.addr(),
        host: "127.0.0.1",
        tls_config: TestCert::get().client_config(),
    };
    let outcome = adapter(s, &target);
    let served = server.finish();
    let checked = check(s, &outcome);
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

/// Checks an outcome against the scenario's `E:` lines (see the module documentation).
pub fn check(s: &Scenario, o: &Outcome) -> Result<(), String> {
    let client = Client::new(s.config(), Instant::ZERO);
    let text = |out: Output| describe(&client, &out).unwrap_or_default();
    let mut problems = Vec::new();
    if o.reports.len() > s.messages.len() {
        problems.push(format!(
            "{} reports for {} messages",
            o.reports.len(),
            s.messages.len()
        ));
    }
    for (n, line) in &s.transcript.lines {
        let Some(want) = line.strip_prefix("E: ") else {
            continue;
        };
        let words: Vec<&str> = want.split(' ').collect();
        let got: Option<String> = match words[0] {
            "rcpt-accepted" | "rcpt-rejected" | "message-accepted" | "txn-failed"
            | "outcome-unknown" => {
                let t = field(&words, "txn=").expect("txn=");
                let rcpt = field(&words, "rcpt=");
                match o.reports.get(t) {
                    None if words[0].starts_with("rcpt-") => None,
                    None if want.ends_with("session-closed") && o.error.is_some() => None,
                    None => Some(format!("no report for txn {t} (error {:?})", o.error)),
                    Some(r) if words[0].starts_with("rcpt-") => {
                        Some(rcpt_text(r, rcpt.expect("rcpt="), &text))
                    }
                    Some(r) => Some(outcome_text(r, rcpt, &text)),
                }
            }
            "closed" => Some(match &o.error {
                None => "closed".to_string(),
                Some(EndError::Smtp(e)) => text(Output::Closed(Some(e.clone()))),
                Some(EndError::Other(e)) => format!("closed by a non-SMTP error: {e}"),
            }),
            "authenticated" => Some(format!(
                "authenticated {}",
                o.auth_mechanism.as_deref().unwrap_or("(none)")
            )),
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
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
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
        Some(RecipientStatus::NotAttempted) => format!("recipient {rcpt} not attempted"),
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
