//! Errors: the session's death ([`Error`]), a transaction refused before it was sent
//! ([`TxnError`]), and caller misuse ([`UsageError`]).

use core::fmt;

use crate::body::BodyError;
use crate::config::ConfigError;
use crate::reply::{Reply, ReplyError};

/// Where in the session something happened: the command whose reply was awaited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// The 220 greeting.
    Greeting,
    /// EHLO or LHLO.
    Ehlo,
    /// HELO (after EHLO got 500/502).
    Helo,
    /// STARTTLS.
    StartTls,
    /// The TLS handshake after STARTTLS.
    TlsHandshake,
    /// AUTH and its challenge rounds.
    Auth,
    /// MAIL FROM.
    Mail,
    /// RCPT TO.
    Rcpt,
    /// DATA, waiting for 354.
    Data,
    /// Writing content, or a non-final BDAT.
    DataBlock,
    /// The reply to the end of data or `BDAT LAST`.
    DataEnd,
    /// RSET.
    Rset,
    /// NOOP.
    Noop,
    /// VRFY.
    Vrfy,
    /// QUIT.
    Quit,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Greeting => "greeting",
            Stage::Ehlo => "EHLO",
            Stage::Helo => "HELO",
            Stage::StartTls => "STARTTLS",
            Stage::TlsHandshake => "TLS handshake",
            Stage::Auth => "AUTH",
            Stage::Mail => "MAIL",
            Stage::Rcpt => "RCPT",
            Stage::Data => "DATA",
            Stage::DataBlock => "data block",
            Stage::DataEnd => "end of data",
            Stage::Rset => "RSET",
            Stage::Noop => "NOOP",
            Stage::Vrfy => "VRFY",
            Stage::Quit => "QUIT",
        })
    }
}

/// Why TLS could not be had under [`TlsPolicy::Required`](crate::TlsPolicy::Required).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsRequiredError {
    /// The EHLO reply did not offer STARTTLS.
    NotOffered,
    /// STARTTLS got something other than 220.
    Refused(Reply),
    /// EHLO was refused, so only HELO (which has no STARTTLS) was left.
    EhloRefused(Reply),
}

/// Why authentication failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// The server refused: 535 bad credentials, 534 too weak, 538 encryption required,
    /// 454 temporary failure, or any other non-2xx/3xx reply.
    Rejected(Reply),
    /// The server offers no AUTH at all.
    NotOffered,
    /// No mechanism in the preference list is both offered and usable with the credentials.
    NoCommonMechanism,
    /// More challenges than [`Config::max_auth_rounds`](crate::Config::max_auth_rounds).
    TooManyRounds,
    /// The mechanism could not answer a challenge (undecodable, or wrong for it); the
    /// exchange was cancelled with `*` and the server answered this.
    Cancelled(Reply),
}

/// What a malformed or out-of-order server reply did wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The bytes were not a valid reply, or passed a cap.
    Reply(ReplyError),
    /// A reply arrived while no command was awaiting one.
    UnexpectedReply(Reply),
    /// A reply whose code makes no sense at this stage (e.g. 354 to MAIL).
    UnexpectedCode {
        /// The command it answered.
        stage: Stage,
        /// The reply.
        reply: Reply,
    },
}

/// Why the session ended abnormally. Delivered once, as `Output::Closed(Some(error))`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The greeting was 554 (no service), or a 421 came at any point (RFC 5321 §3.8).
    ServiceUnavailable(Reply),
    /// A session command (EHLO, HELO, LHLO) was refused.
    Rejected {
        /// The refused command.
        stage: Stage,
        /// The reply.
        reply: Reply,
    },
    /// The server broke the protocol.
    Protocol(ProtocolError),
    /// Bytes followed the 220 reply to STARTTLS before the handshake: a man in the middle
    /// injecting replies to be read as if they came over TLS (CVE-2021-38371 and kin).
    ResponseInjection,
    /// TLS was required and cannot be had.
    TlsRequired(TlsRequiredError),
    /// Credentials are configured but the session is not encrypted and
    /// `allow_plaintext_auth` is off: they were not sent.
    CredentialsWithheld,
    /// AUTH failed.
    Auth(AuthError),
    /// A reply (or the TLS handshake) did not complete before its deadline.
    Timeout {
        /// What was awaited.
        stage: Stage,
    },
    /// The server closed the connection while a reply was owed (`None`: while idle).
    ConnectionClosed {
        /// What was awaited.
        stage: Option<Stage>,
    },
    /// The content of a message sent with DATA turned out to be unsendable (a NUL byte)
    /// after part of it was on the wire. DATA cannot be aborted (RFC 5321 §4.1.1.4): the
    /// only safe move is to close without the end-of-data marker, so nothing is delivered.
    DataAborted(BodyError),
    /// The client was built with a configuration [`Config::validate`](crate::Config::validate)
    /// refuses: it ended at once, before writing anything.
    InvalidConfig(ConfigError),
}

impl Error {
    /// Whether trying again later may succeed: 4xx, timeouts and closed connections.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::ServiceUnavailable(r) | Error::Rejected { reply: r, .. } => r.is_transient(),
            Error::Auth(AuthError::Rejected(r)) => r.is_transient(),
            Error::Timeout { .. } | Error::ConnectionClosed { .. } => true,
            _ => false,
        }
    }

    /// Whether the same attempt will fail again: 5xx replies, TLS or AUTH that cannot be
    /// had. Protocol errors (a malformed or unexpected reply) and lost connections are
    /// neither transient nor permanent.
    pub fn is_permanent(&self) -> bool {
        match self {
            Error::ServiceUnavailable(r) | Error::Rejected { reply: r, .. } => r.is_permanent(),
            Error::Auth(AuthError::Rejected(r)) => r.is_permanent(),
            Error::TlsRequired(_)
            | Error::CredentialsWithheld
            | Error::Auth(_)
            | Error::InvalidConfig(_) => true,
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ServiceUnavailable(r) => write!(f, "service unavailable: {r}"),
            Error::Rejected { stage, reply } => write!(f, "{stage} refused: {reply}"),
            Error::Protocol(ProtocolError::Reply(e)) => write!(f, "malformed reply: {e}"),
            Error::Protocol(ProtocolError::UnexpectedReply(r)) => {
                write!(f, "reply with no command outstanding: {r}")
            }
            Error::Protocol(ProtocolError::UnexpectedCode { stage, reply }) => {
                write!(f, "unexpected reply to {stage}: {reply}")
            }
            Error::ResponseInjection => {
                f.write_str("bytes followed the 220 reply to STARTTLS (response injection)")
            }
            Error::TlsRequired(TlsRequiredError::NotOffered) => {
                f.write_str("TLS required but the server does not offer STARTTLS")
            }
            Error::TlsRequired(TlsRequiredError::Refused(r)) => {
                write!(f, "TLS required but STARTTLS was refused: {r}")
            }
            Error::TlsRequired(TlsRequiredError::EhloRefused(r)) => {
                write!(f, "TLS required but EHLO was refused: {r}")
            }
            Error::CredentialsWithheld => f.write_str(
                "credentials withheld: the session is not encrypted and plaintext AUTH is not allowed",
            ),
            Error::Auth(AuthError::Rejected(r)) => write!(f, "authentication failed: {r}"),
            Error::Auth(AuthError::NotOffered) => f.write_str("the server does not offer AUTH"),
            Error::Auth(AuthError::NoCommonMechanism) => {
                f.write_str("no usable SASL mechanism in common with the server")
            }
            Error::Auth(AuthError::TooManyRounds) => f.write_str("too many AUTH challenges"),
            Error::Auth(AuthError::Cancelled(r)) => write!(f, "authentication cancelled: {r}"),
            Error::Timeout { stage } => write!(f, "timed out waiting for {stage}"),
            Error::ConnectionClosed { stage: Some(s) } => {
                write!(f, "connection closed while waiting for {s}")
            }
            Error::ConnectionClosed { stage: None } => f.write_str("connection closed by the server"),
            Error::DataAborted(e) => write!(f, "message content aborted, connection dropped: {e}"),
            Error::InvalidConfig(e) => write!(f, "{e}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

/// Why a transaction was refused locally, before any of its commands went out (or a
/// command the application asked for: [`Event::CommandRefused`](crate::Event::CommandRefused)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TxnError {
    /// An address (or a VRFY argument) needs SMTPUTF8 (RFC 6531) and the server does not
    /// offer it.
    NeedsSmtpUtf8,
    /// BODY=8BITMIME needs the 8BITMIME extension (RFC 6152).
    Needs8BitMime,
    /// BODY=BINARYMIME needs BINARYMIME and CHUNKING (RFC 3030), and chunking enabled.
    NeedsBinaryMime,
    /// DSN parameters need the DSN extension (RFC 3461).
    NeedsDsn,
    /// REQUIRETLS (RFC 8689) needs the extension and an encrypted session.
    NeedsRequireTls,
    /// The declared size is over the server's SIZE maximum (RFC 1870).
    TooLarge {
        /// The declared size.
        size: u64,
        /// The server's maximum.
        max: u64,
    },
    /// The content had a byte it may not have (NUL outside BINARYMIME).
    Body(BodyError),
}

impl fmt::Display for TxnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxnError::NeedsSmtpUtf8 => f.write_str("address needs SMTPUTF8, not offered"),
            TxnError::Needs8BitMime => f.write_str("8-bit body needs 8BITMIME, not offered"),
            TxnError::NeedsBinaryMime => {
                f.write_str("binary body needs BINARYMIME and CHUNKING, not available")
            }
            TxnError::NeedsDsn => f.write_str("DSN parameters need DSN, not offered"),
            TxnError::NeedsRequireTls => {
                f.write_str("REQUIRETLS needs the extension and an encrypted session")
            }
            TxnError::TooLarge { size, max } => {
                write!(
                    f,
                    "message of {size} octets is over the server's limit of {max}"
                )
            }
            TxnError::Body(e) => write!(f, "{e}"),
        }
    }
}

/// Caller misuse: returned synchronously, and the client's state is unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UsageError {
    /// The session is closed or closing (QUIT was asked for).
    Closed,
    /// An envelope without recipients.
    NoRecipients,
    /// Body bytes for a transaction that is not asking for them.
    NotExpectingBody,
    /// A chunk larger than the `max_chunk` the core asked for.
    ChunkTooLarge,
    /// The TLS handshake is not pending.
    NoTlsPending,
    /// The command was refused locally and not sent; the session goes on (see
    /// [`Event::CommandRefused`](crate::Event::CommandRefused)).
    Refused(TxnError),
    /// The configuration would make a session hang or loop ([`Config::validate`](crate::Config::validate)).
    InvalidConfig(ConfigError),
    /// No stream of messages is open (or it was ended): see [`Session::stream`](crate::session::Session::stream).
    NoStream,
    /// The stream holds as many messages as it may: wait for a report.
    StreamFull,
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UsageError::Closed => "the session is closed or closing",
            UsageError::NoRecipients => "envelope has no recipients",
            UsageError::NotExpectingBody => "no body is expected for this transaction now",
            UsageError::ChunkTooLarge => "body chunk larger than requested",
            UsageError::NoTlsPending => "no TLS handshake is pending",
            UsageError::NoStream => "no stream of messages is open",
            UsageError::StreamFull => "the stream holds as many messages as it may",
            UsageError::Refused(e) => return write!(f, "refused before sending: {e}"),
            UsageError::InvalidConfig(e) => return write!(f, "{e}"),
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for UsageError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::ReplyCode;
    use alloc::string::ToString;

    fn reply(code: u16) -> Reply {
        Reply::new(ReplyCode::new(code).unwrap(), &[b"x"]).unwrap()
    }

    #[test]
    fn classification() {
        let permanent = [
            Error::ServiceUnavailable(reply(554)),
            Error::Rejected {
                stage: Stage::Ehlo,
                reply: reply(550),
            },
            Error::Auth(AuthError::Rejected(reply(535))),
            Error::Auth(AuthError::NoCommonMechanism),
            Error::TlsRequired(TlsRequiredError::NotOffered),
            Error::CredentialsWithheld,
            Error::InvalidConfig(ConfigError::ZeroWindow),
        ];
        for e in &permanent {
            assert!(e.is_permanent() && !e.is_transient(), "{e:?}");
        }
        let transient = [
            Error::ServiceUnavailable(reply(421)),
            Error::Auth(AuthError::Rejected(reply(454))),
            Error::Timeout { stage: Stage::Mail },
            Error::ConnectionClosed { stage: None },
        ];
        for e in &transient {
            assert!(e.is_transient() && !e.is_permanent(), "{e:?}");
        }
        let neither = Error::Protocol(ProtocolError::UnexpectedReply(reply(250)));
        assert!(!neither.is_transient() && !neither.is_permanent());
        assert!(!Error::ResponseInjection.is_permanent());
    }

    /// Every session error says what happened in words of its own and carries the
    /// server's reply, the stage or the cause that the caller needs to act on it.
    #[test]
    fn every_error_message_names_its_cause() {
        let r = |code| Reply::new(ReplyCode::new(code).unwrap(), &[b"why"]).unwrap();
        let nul = BodyError::Nul { offset: 17 };
        let cases: [(Error, &[&str]); 19] = [
            (
                Error::ServiceUnavailable(r(421)),
                &["unavailable", "421 why"],
            ),
            (
                Error::Rejected {
                    stage: Stage::Ehlo,
                    reply: r(550),
                },
                &["EHLO", "550 why"],
            ),
            (
                Error::Protocol(ProtocolError::Reply(ReplyError::LineTooLong { limit: 512 })),
                &["malformed", "512"],
            ),
            (
                Error::Protocol(ProtocolError::UnexpectedReply(r(250))),
                &["no command", "250 why"],
            ),
            (
                Error::Protocol(ProtocolError::UnexpectedCode {
                    stage: Stage::Mail,
                    reply: r(354),
                }),
                &["unexpected", "MAIL", "354 why"],
            ),
            (Error::ResponseInjection, &["injection"]),
            (
                Error::TlsRequired(TlsRequiredError::NotOffered),
                &["TLS", "not offer"],
            ),
            (
                Error::TlsRequired(TlsRequiredError::Refused(r(454))),
                &["STARTTLS", "454 why"],
            ),
            (
                Error::TlsRequired(TlsRequiredError::EhloRefused(r(502))),
                &["EHLO", "502 why"],
            ),
            (Error::CredentialsWithheld, &["withheld"]),
            (
                Error::Auth(AuthError::Rejected(r(535))),
                &["failed", "535 why"],
            ),
            (Error::Auth(AuthError::NotOffered), &["AUTH"]),
            (Error::Auth(AuthError::NoCommonMechanism), &["mechanism"]),
            (Error::Auth(AuthError::TooManyRounds), &["too many"]),
            (
                Error::Auth(AuthError::Cancelled(r(501))),
                &["cancelled", "501 why"],
            ),
            (
                Error::Timeout { stage: Stage::Rcpt },
                &["timed out", "RCPT"],
            ),
            (
                Error::ConnectionClosed {
                    stage: Some(Stage::DataEnd),
                },
                &["closed", "end of data"],
            ),
            (Error::ConnectionClosed { stage: None }, &["closed"]),
            (
                Error::DataAborted(nul.clone()),
                &["aborted", &nul.to_string()],
            ),
        ];
        let mut seen = alloc::vec::Vec::new();
        for (e, parts) in &cases {
            let text = e.to_string();
            for part in *parts {
                assert!(text.contains(part), "{e:?}: {text:?} lacks {part:?}");
            }
            assert!(!seen.contains(&text), "{text:?} twice");
            seen.push(text);
        }
        let config = ConfigError::ZeroWindow;
        assert_eq!(Error::InvalidConfig(config).to_string(), config.to_string());
    }

    #[test]
    fn every_local_refusal_names_what_is_missing() {
        let nul = BodyError::Nul { offset: 17 };
        let cases: [(TxnError, &[&str]); 7] = [
            (TxnError::NeedsSmtpUtf8, &["SMTPUTF8"]),
            (TxnError::Needs8BitMime, &["8BITMIME"]),
            (TxnError::NeedsBinaryMime, &["BINARYMIME", "CHUNKING"]),
            (TxnError::NeedsDsn, &["DSN"]),
            (TxnError::NeedsRequireTls, &["REQUIRETLS"]),
            (
                TxnError::TooLarge {
                    size: 2000,
                    max: 1000,
                },
                &["2000", "1000"],
            ),
            (TxnError::Body(nul.clone()), &[&nul.to_string()]),
        ];
        for (e, parts) in &cases {
            let text = e.to_string();
            for part in *parts {
                assert!(text.contains(part), "{e:?}: {text:?} lacks {part:?}");
            }
        }
    }

    #[test]
    fn every_usage_error_says_what_was_misused() {
        let cases = [
            (UsageError::Closed, "closed"),
            (UsageError::NoRecipients, "no recipients"),
            (UsageError::NotExpectingBody, "no body"),
            (UsageError::ChunkTooLarge, "larger"),
            (UsageError::NoTlsPending, "TLS"),
            (UsageError::Refused(TxnError::NeedsDsn), "DSN"),
        ];
        for (e, part) in &cases {
            let text = e.to_string();
            assert!(text.contains(part), "{e:?}: {text:?} lacks {part:?}");
        }
        let config = ConfigError::ZeroWindow;
        let usage = UsageError::InvalidConfig(config);
        assert_eq!(usage.to_string(), config.to_string());
    }
}
