//! lettre's `Message` as a message (its own envelope, its formatted bytes), and how a
//! pool's result maps onto the results of lettre's transport traits, which
//! `smtp_tokio::Pool` (`AsyncTransport`) and `smtp_blocking::Pool` (`Transport`)
//! implement with feature `lettre`.
//!
//! # Ok and Err
//!
//! A lettre caller reads `Ok` as "sent" and `Err` as "not sent": lettre's own SMTP
//! transport gives up on the first refused recipient, before the data, so its `Err`
//! means no recipient got the message. The pools keep that meaning and keep every
//! recipient's result in both:
//!
//! - `Ok(`[`PoolReport`]`)`: the server accepted the message for at least one
//!   recipient. Other recipients may have been refused (a partial delivery): the report
//!   says which ([`Report::all_delivered`](smtp_proto::Report::all_delivered) is
//!   `false` then). Sending the message again would duplicate it for those that got it.
//! - `Err(`[`TransportError::Refused`]`)`: nobody got it (every recipient refused, or
//!   the message refused after its data); the report says why, per recipient.
//! - `Err(`[`TransportError::Unknown`]`)`: the connection failed after the end of the
//!   data, so it may have been delivered (RFC 5321 §4.5.3.2.6): do not resend blindly.
//! - `Err(`[`TransportError::Session`]`)`: the session could not start, died before the
//!   message reached an outcome, or the message was refused before anything was sent
//!   ([`Error::Message`], [`Error::Refused`]): nothing was delivered.

use std::borrow::Cow;
use std::fmt;

use lettre::address::Envelope;
use smtp_proto::command::{ForwardPath, ReversePath};
use smtp_proto::{MessageOutcome, RecipientStatus, Report, TxnFailure};

use super::{IntoMessage, MessageError, Parts};
use crate::pool::PoolReport;
use crate::Error;

/// The message with lettre's envelope, formatted once.
impl<'a> IntoMessage<'a> for lettre::Message {
    fn into_mail_parts(self) -> Result<Parts<'a>, MessageError> {
        (&self).into_mail_parts()
    }
}

/// The message with lettre's envelope, formatted once.
impl<'a> IntoMessage<'a> for &lettre::Message {
    fn into_mail_parts(self) -> Result<Parts<'a>, MessageError> {
        parts(self.envelope(), self.formatted())
    }
}

/// A message with lettre's envelope (what `send_raw` is given), its content as given.
///
/// # Errors
/// An address lettre takes and RFC 5321 does not.
pub fn parts<'a>(
    envelope: &Envelope,
    content: impl Into<Cow<'a, [u8]>>,
) -> Result<Parts<'a>, MessageError> {
    let bad = |field, address: &lettre::Address, e| MessageError::Address {
        field,
        address: address.to_string(),
        error: Some(e),
    };
    let from = match envelope.from() {
        Some(a) => ReversePath::new(a.as_ref()).map_err(|e| bad("envelope sender", a, e))?,
        None => ReversePath::Null,
    };
    let to = envelope
        .to()
        .iter()
        .map(|a| ForwardPath::new(a.as_ref()).map_err(|e| bad("envelope recipient", a, e)))
        .collect::<Result<_, _>>()?;
    let content = content.into();
    Ok(Parts { from, to, content })
}

/// Why a pool's lettre transport says `Err`; see the [module](self) for when. The
/// reports are boxed: a `Result` is as large as its larger side.
#[derive(Debug)]
#[non_exhaustive]
pub enum TransportError {
    /// Nobody got the message: the server refused every recipient, or the message.
    Refused(Box<PoolReport>),
    /// The connection failed after the end of the data: it may have been delivered.
    Unknown(Box<PoolReport>),
    /// The session failed before the message reached an outcome, or the message was
    /// refused before anything was sent: nothing was delivered.
    Session(Error),
}

impl TransportError {
    /// Whether trying again later may succeed: every refusal was a 4xx reply, or the
    /// session's error is transient. Never for [`TransportError::Unknown`].
    pub fn is_transient(&self) -> bool {
        match self {
            TransportError::Refused(r) => refusals(&r.report).all(|transient| transient),
            TransportError::Unknown(_) => false,
            TransportError::Session(e) => e.is_transient(),
        }
    }

    /// Whether the same message will be refused again: a refusal was a 5xx reply, or
    /// the session's error is permanent.
    pub fn is_permanent(&self) -> bool {
        match self {
            TransportError::Refused(r) => refusals(&r.report).any(|transient| !transient),
            TransportError::Unknown(_) => false,
            TransportError::Session(e) => e.is_permanent(),
        }
    }

    /// The report, when the message reached the server.
    pub fn report(&self) -> Option<&PoolReport> {
        match self {
            TransportError::Refused(r) | TransportError::Unknown(r) => Some(r),
            TransportError::Session(_) => None,
        }
    }
}

/// Whether each refusal of the report was transient: the recipients', then the
/// message's (not "no recipient accepted", which only sums the recipients' up).
fn refusals(report: &Report) -> impl Iterator<Item = bool> + '_ {
    let recipients = report
        .recipients
        .iter()
        .filter(|r| matches!(r, RecipientStatus::Rejected(_)))
        .map(RecipientStatus::is_transient);
    let message = match &report.outcome {
        Some(MessageOutcome::Failed(TxnFailure::NoRecipients)) => None,
        Some(MessageOutcome::Failed(f)) => Some(f.is_transient()),
        _ => None,
    };
    recipients.chain(message)
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Refused(r) => {
                let rejected = r.report.recipients.iter().find_map(|s| match s {
                    RecipientStatus::Rejected(reply) => Some(reply),
                    _ => None,
                });
                match (&r.report.outcome, rejected) {
                    (Some(MessageOutcome::Failed(TxnFailure::Rejected { reply, .. })), _)
                    | (_, Some(reply)) => write!(f, "not delivered: {reply}"),
                    _ => f.write_str("not delivered"),
                }
            }
            TransportError::Unknown(_) => f.write_str(
                "the connection failed after the end of the data: the message may have been delivered",
            ),
            TransportError::Session(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TransportError::Session(e) => Some(e),
            _ => None,
        }
    }
}

/// A pool's result as a lettre transport's (see the [module](self)).
///
/// # Errors
/// As the module says.
pub fn transport_result(result: Result<PoolReport, Error>) -> Result<PoolReport, TransportError> {
    let report = result.map_err(TransportError::Session)?;
    let r = &report.report;
    let accepted = |o: &Option<MessageOutcome>| o.as_ref().is_some_and(|o| o.is_accepted());
    let unknown = |o: &Option<MessageOutcome>| matches!(o, Some(MessageOutcome::Unknown));
    // Under LMTP each accepted recipient has its own outcome (`deliveries`).
    let (delivered, maybe) = match r.deliveries.is_empty() {
        true => (accepted(&r.outcome), unknown(&r.outcome)),
        false => (
            r.deliveries.iter().any(accepted),
            r.deliveries.iter().any(unknown),
        ),
    };
    match (delivered, maybe) {
        (true, _) => Ok(report),
        (false, true) => Err(TransportError::Unknown(Box::new(report))),
        (false, false) => Err(TransportError::Refused(Box::new(report))),
    }
}

/// Declares an adapter's `LettrePool`: its `Pool` with lettre's `send` as its method
/// (the pool's own `send`, an envelope and bytes, would be the one a method call finds),
/// everything else of the pool through `Deref`. The adapter implements lettre's
/// transport trait on it.
#[macro_export]
macro_rules! lettre_pool {
    ($call:literal) => {
        #[doc = concat!("A [`Pool`] whose `send` is lettre's (a method call `", $call, "`")]
        /// finds it, not [`Pool::send`], an envelope and bytes). Everything else of the
        /// pool is there through `Deref`.
        #[derive(Clone, Debug)]
        pub struct LettrePool(pub Pool);

        impl LettrePool {
            /// [`Pool::new`].
            pub fn new(builder: Builder, config: PoolConfig) -> LettrePool {
                LettrePool(Pool::new(builder, config))
            }
        }

        impl std::ops::Deref for LettrePool {
            type Target = Pool;

            fn deref(&self) -> &Pool {
                &self.0
            }
        }
    };
}
