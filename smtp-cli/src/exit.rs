//! Exit statuses (sysexits.h, as sendmail and msmtp use them) and the one function that
//! maps what happened to one of them.

use std::fmt;

use smtp_io::socks::ProxyError;
use smtp_io::Error;
use smtp_proto::{
    Error as SmtpError, MessageOutcome, RecipientStatus, Reply, Report, TxnError, TxnFailure,
};

/// What `smtp-send` exits with (sysexits.h, as sendmail and msmtp use them).
///
/// Declared in order of precedence: when several apply (a run of many messages, or a
/// message refused for one recipient and deferred for another), the first wins. Local
/// problems come first (nothing was sent), then 76, 77, 69, 75 as the interface says,
/// then our own bugs; `Ok` only when nothing else applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitStatus {
    /// EX_USAGE (64): the command line is wrong.
    Usage,
    /// EX_CONFIG (78): the configuration file is wrong (unreadable, invalid, no such
    /// account, a password readable by others), as msmtp and sendmail exit.
    Config,
    /// EX_IOERR (74): the message (or the password file) could not be read.
    IoErr,
    /// EX_DATAERR (65): a bad address or unsendable message data.
    DataErr,
    /// EX_PROTOCOL (76): malformed reply, response injection, TLS unavailable or rejected.
    Protocol,
    /// EX_NOPERM (77): authentication failed or refused.
    NoPerm,
    /// EX_UNAVAILABLE (69): a permanent rejection of a message or of a recipient, by a
    /// 5xx reply or by a refusal only another server could lift.
    Unavailable,
    /// EX_TEMPFAIL (75): 4xx, 421, connection refused, timeout, outcome unknown.
    TempFail,
    /// EX_SOFTWARE (70): a bug of ours (misuse of an adapter).
    Software,
    /// 0: every message accepted for every recipient.
    Ok,
}

impl ExitStatus {
    /// The process exit code.
    pub const fn code(self) -> u8 {
        match self {
            ExitStatus::Ok => 0,
            ExitStatus::Usage => 64,
            ExitStatus::Config => 78,
            ExitStatus::DataErr => 65,
            ExitStatus::Unavailable => 69,
            ExitStatus::Software => 70,
            ExitStatus::IoErr => 74,
            ExitStatus::TempFail => 75,
            ExitStatus::Protocol => 76,
            ExitStatus::NoPerm => 77,
        }
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(s: ExitStatus) -> Self {
        std::process::ExitCode::from(s.code())
    }
}

/// Whatever stopped the run, from the command line to the session.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The command line is wrong (beyond what clap checks).
    Usage(String),
    /// The configuration file (or what it names) is wrong.
    Config(String),
    /// An address or the message data is unusable.
    Data(String),
    /// The message (or an attachment, or the password file) could not be read.
    Input(String),
    /// The session could not start or died: the adapters' one error type.
    Session(Error),
    /// The message was not sent, as a server refuses it permanently: the reply an MTA
    /// would give (REQUIRETLS through a relay without TLS, `crate::requiretls`).
    Refused(Reply),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(s) | Failure::Config(s) | Failure::Data(s) | Failure::Input(s) => {
                f.write_str(s)
            }
            Failure::Session(Error::Usage(e)) => write!(f, "internal error: {e}"),
            Failure::Session(e) => write!(f, "{e}"),
            Failure::Refused(r) => write!(f, "{r}"),
        }
    }
}

/// A value that does not parse, as an option's and an account key's parser both say
/// it: what is wrong with the value, never where it came from. A flag's error names the
/// flag (exit 64, [`Invalid::flag`]); the account's names the file and the key (78,
/// `config::apply`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Invalid(String);

impl Invalid {
    /// `shown` (the value as printed) is wrong because `why`.
    pub(crate) fn of(shown: impl fmt::Display, why: impl fmt::Display) -> Invalid {
        Invalid(format!(" {shown}: {why}"))
    }

    /// Wrong because `why`, the value not shown (it may hold a password).
    pub(crate) fn withheld(why: impl fmt::Display) -> Invalid {
        Invalid(format!(": {why}"))
    }

    /// The message, after `name` (an option or a key).
    pub(crate) fn named(&self, name: &str) -> String {
        format!("{name}{}", self.0)
    }

    /// The usage error (64) of the command line's `flag`.
    pub(crate) fn flag(self, flag: &str) -> Failure {
        Failure::Usage(self.named(flag))
    }
}

fn reply_status(reply: &Reply) -> ExitStatus {
    if reply.is_permanent() {
        ExitStatus::Unavailable
    } else {
        ExitStatus::TempFail
    }
}

fn txn_error_status(e: &TxnError) -> ExitStatus {
    match e {
        TxnError::Body(_) => ExitStatus::DataErr,
        // The server cannot take this message: as permanent as a 5xx (RFC 1870, 6152, 6531).
        _ => ExitStatus::Unavailable,
    }
}

fn failure_status(f: &Failure) -> ExitStatus {
    match f {
        Failure::Usage(_) => ExitStatus::Usage,
        Failure::Config(_) => ExitStatus::Config,
        Failure::Data(_) => ExitStatus::DataErr,
        Failure::Input(_) => ExitStatus::IoErr,
        Failure::Session(e) => error_status(e),
        Failure::Refused(r) => reply_status(r),
    }
}

/// The status of the adapters' error: one function for the three runtimes, whose
/// errors are one type, so that no runtime can map a variant differently.
pub(crate) fn error_status(e: &Error) -> ExitStatus {
    use SmtpError as E;
    match e {
        Error::Io(_) | Error::Timeout { .. } => ExitStatus::TempFail,
        Error::Tls(_) => ExitStatus::Protocol,
        Error::Proxy(e) => proxy_status(e),
        Error::Smtp(e) => match e {
            E::ServiceUnavailable(r) | E::Rejected { reply: r, .. } => reply_status(r),
            E::Protocol(_) | E::ResponseInjection | E::TlsRequired(_) => ExitStatus::Protocol,
            E::CredentialsWithheld | E::Auth(_) => ExitStatus::NoPerm,
            E::Timeout { .. } | E::ConnectionClosed { .. } => ExitStatus::TempFail,
            E::DataAborted(_) => ExitStatus::DataErr,
            _ => ExitStatus::TempFail,
        },
        Error::Refused(e) => txn_error_status(e),
        Error::InvalidHost(_) => ExitStatus::Usage,
        // Misuse of the adapter, or a build without TLS: our bug.
        Error::Usage(_) | Error::Cancelled | Error::TlsUnavailable => ExitStatus::Software,
        // A variant added since: its own classification decides.
        e if e.is_transient() => ExitStatus::TempFail,
        _ => ExitStatus::Software,
    }
}

/// The status of a SOCKS proxy's refusal. 75 when it could not (or, by its ruleset,
/// would not) reach the server, or closed the connection early: as a refused TCP
/// connection, worth trying again later. 77 when it refused our login or wants one we
/// do not have: msmtp exits 77 (EX_NOPERM) when the SMTP server refuses the login, and
/// a refused proxy login is the same problem (the credentials must change; retrying or
/// spooling will not help). 76 when it cannot do what SOCKS5 asks of it (no CONNECT,
/// no such address type) or its replies are not SOCKS5; 64 for a host name SOCKS
/// cannot carry.
fn proxy_status(e: &ProxyError) -> ExitStatus {
    match e {
        ProxyError::AuthFailed { .. } | ProxyError::NoAcceptableMethod { .. } => ExitStatus::NoPerm,
        ProxyError::InvalidName => ExitStatus::Usage,
        e if e.is_transient() => ExitStatus::TempFail,
        _ => ExitStatus::Protocol,
    }
}

/// The status of a message's outcome (under LMTP also of one delivery). `Ok` for a
/// transaction that failed only because its recipients were rejected: their own replies
/// say how (4xx or 5xx).
fn outcome_status(outcome: Option<&MessageOutcome>) -> ExitStatus {
    match outcome {
        Some(MessageOutcome::Accepted(_)) => ExitStatus::Ok,
        Some(MessageOutcome::Failed(failure)) => match failure {
            TxnFailure::Rejected { reply, .. } => reply_status(reply),
            TxnFailure::Refused(e) => txn_error_status(e),
            TxnFailure::NoRecipients | TxnFailure::RecipientRejected => ExitStatus::Ok,
            _ => ExitStatus::TempFail,
        },
        // Unknown (the connection died after the data) or never known.
        _ => ExitStatus::TempFail,
    }
}

/// The statuses one message contributes. The message's own outcome always counts, on
/// every protocol: a message refused as a whole (locally before sending, or at MAIL or
/// DATA) has no other status. Under LMTP, once final replies came per recipient, each
/// accepted recipient counts its own delivery (the outcome is the first failure among
/// them, counted again).
fn report_statuses(report: &Report, out: &mut Vec<ExitStatus>) {
    let message = outcome_status(report.outcome.as_ref());
    out.push(message);
    let finals = crate::output::has_finals(report);
    for (i, rcpt) in report.recipients.iter().enumerate() {
        match rcpt {
            // A 552 meaning "too many recipients" is transient like a 452
            // (RFC 5321 §4.5.3.1.10): the recipient may be sent in another transaction.
            RecipientStatus::Rejected(_) if rcpt.is_transient() => out.push(ExitStatus::TempFail),
            RecipientStatus::Rejected(r) => out.push(reply_status(r)),
            RecipientStatus::Accepted(_) if finals => out.push(outcome_status(
                report.deliveries.get(i).and_then(Option::as_ref),
            )),
            // The message's outcome is this recipient's.
            RecipientStatus::Accepted(_) => {}
            // Never tried while the message went on (the session ended, or the server
            // took no more recipients): trying again may reach it. When the message
            // failed as a whole, that failure is why, and its status stands.
            RecipientStatus::NotAttempted if message == ExitStatus::Ok => {
                out.push(ExitStatus::TempFail)
            }
            RecipientStatus::NotAttempted => {}
        }
    }
}

/// The exit status of a run: `failure` is what stopped it (if anything), `reports` the
/// messages that reached an outcome, `expected` how many messages were to be sent.
pub(crate) fn status(failure: Option<&Failure>, reports: &[Report], expected: usize) -> ExitStatus {
    let mut all = Vec::new();
    if let Some(f) = failure {
        all.push(failure_status(f));
    }
    for report in reports {
        report_statuses(report, &mut all);
    }
    if reports.len() < expected && failure.is_none() {
        all.push(ExitStatus::TempFail);
    }
    all.into_iter().min().unwrap_or(ExitStatus::Ok)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use smtp_proto::body::BodyError;
    use smtp_proto::command::{EhloName, ForwardPath, ReversePath};
    use smtp_proto::reply::ReplyCode;
    use smtp_proto::{
        AuthError, Client, Config, Envelope, Event, Instant, ProtocolError, Stage,
        TlsRequiredError, TxnId, UsageError,
    };

    pub(crate) fn reply(code: u16, text: &str) -> Reply {
        Reply::new(ReplyCode::new(code).unwrap(), &[text.as_bytes()]).unwrap()
    }

    fn session(e: Error) -> Option<Failure> {
        Some(Failure::Session(e))
    }

    fn smtp(e: SmtpError) -> Option<Failure> {
        session(Error::Smtp(e))
    }

    /// A report of one message to `rcpts` recipients, fed these events.
    pub(crate) fn report(rcpts: usize, lmtp: bool, events: &[Event]) -> Report {
        let mut r = Report::new(txn(), rcpts, lmtp);
        for e in events {
            assert!(r.apply(e));
        }
        r
    }

    /// The first transaction of a fresh client: the same id every time.
    pub(crate) fn txn() -> TxnId {
        let config = Config::new(EhloName::localhost());
        let mut client = Client::new(config, Instant::ZERO);
        let to = [ForwardPath::new("b@example.net").unwrap()];
        let envelope = Envelope::new(ReversePath::new("a@example.org").unwrap(), to);
        client.send(Instant::ZERO, envelope).unwrap()
    }

    pub(crate) fn rcpt_ok(rcpt: usize) -> Event {
        Event::RecipientAccepted {
            txn: txn(),
            rcpt,
            reply: reply(250, "2.1.5 Ok"),
        }
    }

    pub(crate) fn rcpt_no(rcpt: usize, code: u16) -> Event {
        Event::RecipientRejected {
            txn: txn(),
            rcpt,
            reply: reply(code, "no"),
        }
    }

    pub(crate) fn accepted(rcpt: Option<usize>) -> Event {
        Event::MessageAccepted {
            txn: txn(),
            rcpt,
            reply: reply(250, "2.0.0 queued"),
        }
    }

    pub(crate) fn failed(rcpt: Option<usize>, code: u16) -> Event {
        Event::TransactionFailed {
            txn: txn(),
            rcpt,
            failure: TxnFailure::Rejected {
                stage: Stage::DataEnd,
                reply: reply(code, "no"),
            },
        }
    }

    #[test]
    fn zero_when_every_message_is_accepted_for_every_recipient() {
        let r = report(2, false, &[rcpt_ok(0), rcpt_ok(1), accepted(None)]);
        assert_eq!(status(None, &[r.clone(), r], 2), ExitStatus::Ok);
        let lmtp = report(
            2,
            true,
            &[rcpt_ok(0), rcpt_ok(1), accepted(Some(0)), accepted(Some(1))],
        );
        assert_eq!(status(None, &[lmtp], 1), ExitStatus::Ok);
    }

    #[test]
    fn usage_error_is_64() {
        let f = Some(Failure::Usage("bad".into()));
        assert_eq!(status(f.as_ref(), &[], 1), ExitStatus::Usage);
        let f = session(Error::InvalidHost("a b".into()));
        assert_eq!(status(f.as_ref(), &[], 1), ExitStatus::Usage);
    }

    #[test]
    fn a_configuration_error_is_78_a_usage_error_still_64() {
        let f = Some(Failure::Config("no account".into()));
        assert_eq!(status(f.as_ref(), &[], 1), ExitStatus::Config);
        assert_eq!(ExitStatus::Config.code(), 78);
        assert_ne!(ExitStatus::Config.code(), ExitStatus::Usage.code());
    }

    #[test]
    fn bad_address_or_data_is_65() {
        let f = Some(Failure::Data("bad address".into()));
        assert_eq!(status(f.as_ref(), &[], 1), ExitStatus::DataErr);
        let nul = TxnError::Body(BodyError::Nul { offset: 3 });
        let f = session(Error::Refused(nul));
        assert_eq!(status(f.as_ref(), &[], 1), ExitStatus::DataErr);
    }

    #[test]
    fn permanent_rejection_of_message_or_recipient_is_69() {
        let rcpt = report(2, false, &[rcpt_ok(0), rcpt_no(1, 550), accepted(None)]);
        assert_eq!(status(None, &[rcpt], 1), ExitStatus::Unavailable);
        let msg = report(1, false, &[rcpt_ok(0), failed(None, 554)]);
        assert_eq!(status(None, &[msg], 1), ExitStatus::Unavailable);
        let lmtp = report(
            2,
            true,
            &[
                rcpt_ok(0),
                rcpt_ok(1),
                accepted(Some(0)),
                failed(Some(1), 550),
            ],
        );
        assert_eq!(status(None, &[lmtp], 1), ExitStatus::Unavailable);
        let greeting = smtp(SmtpError::ServiceUnavailable(reply(554, "go away")));
        assert_eq!(status(greeting.as_ref(), &[], 1), ExitStatus::Unavailable);
    }

    #[test]
    fn temporary_failures_are_75() {
        let rcpt = report(1, false, &[rcpt_no(0, 450), failed_no_recipients()]);
        assert_eq!(status(None, &[rcpt], 1), ExitStatus::TempFail);
        let msg = report(1, false, &[rcpt_ok(0), failed(None, 451)]);
        assert_eq!(status(None, &[msg], 1), ExitStatus::TempFail);
        let unknown = report(
            1,
            false,
            &[
                rcpt_ok(0),
                Event::OutcomeUnknown {
                    txn: txn(),
                    rcpt: None,
                },
            ],
        );
        assert_eq!(status(None, &[unknown], 1), ExitStatus::TempFail);
        for f in [
            smtp(SmtpError::ServiceUnavailable(reply(421, "bye"))),
            session(Error::Io(std::io::ErrorKind::ConnectionRefused.into())),
            session(Error::Timeout {
                stage: Stage::Greeting,
            }),
            smtp(SmtpError::ConnectionClosed {
                stage: Some(Stage::Mail),
            }),
        ] {
            assert_eq!(status(f.as_ref(), &[], 1), ExitStatus::TempFail, "{f:?}");
        }
    }

    fn failed_no_recipients() -> Event {
        Event::TransactionFailed {
            txn: txn(),
            rcpt: None,
            failure: TxnFailure::NoRecipients,
        }
    }

    #[test]
    fn protocol_errors_and_security_aborts_are_76() {
        let malformed = ProtocolError::UnexpectedReply(reply(250, "?"));
        for f in [
            smtp(SmtpError::Protocol(malformed)),
            smtp(SmtpError::ResponseInjection),
            smtp(SmtpError::TlsRequired(TlsRequiredError::NotOffered)),
            session(Error::Tls(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            ))),
        ] {
            assert_eq!(status(f.as_ref(), &[], 1), ExitStatus::Protocol, "{f:?}");
        }
    }

    #[test]
    fn authentication_failures_are_77() {
        for f in [
            smtp(SmtpError::Auth(AuthError::Rejected(reply(535, "5.7.8 no")))),
            smtp(SmtpError::Auth(AuthError::NotOffered)),
            smtp(SmtpError::CredentialsWithheld),
        ] {
            assert_eq!(status(f.as_ref(), &[], 1), ExitStatus::NoPerm, "{f:?}");
        }
    }

    #[test]
    fn a_proxy_refusal_is_75_its_refused_login_77_a_non_socks_reply_76() {
        let proxy = |e: ProxyError| status(session(Error::Proxy(e)).as_ref(), &[], 1);
        for code in [1, 2, 3, 4, 5, 6, 9] {
            let refused = ProxyError::Refused { code };
            assert_eq!(proxy(refused), ExitStatus::TempFail, "REP {code}");
        }
        assert_eq!(proxy(ProxyError::Closed), ExitStatus::TempFail);
        assert_eq!(
            proxy(ProxyError::AuthFailed { status: 1 }),
            ExitStatus::NoPerm
        );
        let none = ProxyError::NoAcceptableMethod {
            offered_credentials: false,
        };
        assert_eq!(proxy(none), ExitStatus::NoPerm);
        for e in [
            ProxyError::Refused { code: 7 },
            ProxyError::Refused { code: 8 },
            ProxyError::BadVersion {
                expected: 5,
                got: b'2',
            },
            ProxyError::BadAddressType(9),
            ProxyError::UnexpectedMethod(1),
        ] {
            assert_eq!(proxy(e.clone()), ExitStatus::Protocol, "{e:?}");
        }
        assert_eq!(proxy(ProxyError::InvalidName), ExitStatus::Usage);
    }

    #[test]
    fn misusing_the_adapter_is_70() {
        for e in [
            Error::Usage(UsageError::Closed),
            Error::Cancelled,
            Error::TlsUnavailable,
        ] {
            assert_eq!(error_status(&e), ExitStatus::Software, "{e:?}");
        }
    }

    /// RFC 5321 §4.5.3.1.10: a 552 that says "too many recipients" (5.5.3) is treated
    /// as a 452, so that recipient is a temporary failure (75); a 552 about the mailbox
    /// (5.2.2) stays permanent (69).
    #[test]
    fn a_552_too_many_recipients_is_75_a_552_mailbox_full_is_69() {
        let with = |text: &str| Event::RecipientRejected {
            txn: txn(),
            rcpt: 1,
            reply: reply(552, text),
        };
        let too_many = report(
            2,
            false,
            &[rcpt_ok(0), with("5.5.3 too many"), accepted(None)],
        );
        assert_eq!(status(None, &[too_many], 1), ExitStatus::TempFail);
        let full = report(
            2,
            false,
            &[rcpt_ok(0), with("5.2.2 mailbox full"), accepted(None)],
        );
        assert_eq!(status(None, &[full], 1), ExitStatus::Unavailable);
    }

    #[test]
    fn reading_the_message_failed_is_74() {
        let f = Some(Failure::Input("cannot read".into()));
        assert_eq!(status(f.as_ref(), &[], 1), ExitStatus::IoErr);
    }

    #[test]
    fn codes_are_sysexits_and_precedence_is_local_76_77_69_75_70() {
        use ExitStatus as S;
        let order = [
            S::Usage,
            S::Config,
            S::IoErr,
            S::DataErr,
            S::Protocol,
            S::NoPerm,
            S::Unavailable,
            S::TempFail,
            S::Software,
            S::Ok,
        ];
        let codes: Vec<u8> = order.iter().map(|s| s.code()).collect();
        assert_eq!(codes, [64, 78, 74, 65, 76, 77, 69, 75, 70, 0]);
        assert!(order.windows(2).all(|w| w[0] < w[1]), "declared in order");
    }

    #[test]
    fn precedence_is_76_77_69_75() {
        let perm = report(1, false, &[rcpt_no(0, 550), failed_no_recipients()]);
        let temp = report(1, false, &[rcpt_no(0, 450), failed_no_recipients()]);
        assert_eq!(
            status(None, &[temp.clone(), perm.clone()], 2),
            ExitStatus::Unavailable
        );
        let closed = smtp(SmtpError::ConnectionClosed { stage: None });
        assert_eq!(
            status(closed.as_ref(), std::slice::from_ref(&perm), 2),
            ExitStatus::Unavailable
        );
        let auth = smtp(SmtpError::CredentialsWithheld);
        assert_eq!(
            status(auth.as_ref(), std::slice::from_ref(&perm), 1),
            ExitStatus::NoPerm
        );
        let proto = smtp(SmtpError::ResponseInjection);
        assert_eq!(status(proto.as_ref(), &[perm], 1), ExitStatus::Protocol);
    }

    fn refused_locally(e: TxnError) -> Event {
        Event::TransactionFailed {
            txn: txn(),
            rcpt: None,
            failure: TxnFailure::Refused(e),
        }
    }

    #[test]
    fn a_message_refused_before_sending_is_69_on_smtp_and_lmtp() {
        for lmtp in [false, true] {
            let r = report(2, lmtp, &[refused_locally(TxnError::NeedsSmtpUtf8)]);
            assert_eq!(
                status(None, &[r], 1),
                ExitStatus::Unavailable,
                "lmtp: {lmtp}"
            );
            let nul = TxnError::Body(BodyError::Nul { offset: 3 });
            let r = report(1, lmtp, &[refused_locally(nul)]);
            assert_eq!(status(None, &[r], 1), ExitStatus::DataErr, "lmtp: {lmtp}");
        }
    }

    #[test]
    fn a_message_refused_at_data_is_the_same_status_on_smtp_and_lmtp() {
        for (code, want) in [(554, ExitStatus::Unavailable), (451, ExitStatus::TempFail)] {
            for lmtp in [false, true] {
                let r = report(2, lmtp, &[rcpt_ok(0), rcpt_ok(1), failed(None, code)]);
                assert_eq!(status(None, &[r], 1), want, "{code}, lmtp: {lmtp}");
            }
        }
    }

    #[test]
    fn a_recipient_never_tried_is_75_when_the_message_went_on() {
        let r = report(2, false, &[rcpt_ok(0), accepted(None)]);
        assert_eq!(status(None, &[r], 1), ExitStatus::TempFail);
        let lmtp = report(2, true, &[rcpt_ok(0), accepted(Some(0))]);
        assert_eq!(status(None, &[lmtp], 1), ExitStatus::TempFail);
    }

    #[test]
    fn an_lmtp_delivery_whose_reply_never_came_is_75() {
        let cut = Event::OutcomeUnknown {
            txn: txn(),
            rcpt: Some(1),
        };
        let r = report(2, true, &[rcpt_ok(0), rcpt_ok(1), accepted(Some(0)), cut]);
        assert_eq!(status(None, &[r], 1), ExitStatus::TempFail);
    }

    #[test]
    fn messages_without_a_report_are_temporary_failures() {
        let ok = report(1, false, &[rcpt_ok(0), accepted(None)]);
        assert_eq!(status(None, &[ok], 2), ExitStatus::TempFail);
    }
}
