//! What the client tells its driver: [`Output`] instructions and [`Event`]s.

use crate::command::Mechanism;
use crate::error::{Error, Stage, TxnError};
use crate::reply::Reply;
use crate::time::Instant;

/// Identifies a transaction queued with [`Client::send`](crate::Client::send).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxnId(pub(crate) u64);

impl TxnId {
    /// The number behind the id: 0 for the first transaction of a session, then 1, 2...
    pub fn get(self) -> u64 {
        self.0
    }
}

/// The next thing the driver must do. Returned by [`Client::poll_output`](crate::Client::poll_output).
///
/// See the crate documentation for the run loop that acts on it.
#[must_use = "an Output is an instruction: StartTls and SendBody must be acted on"]
#[derive(Debug)]
pub enum Output {
    /// Something happened; hand it to the application.
    Event(Event),
    /// Read up to `max_chunk` octets of transaction `txn`'s content and pass them to
    /// [`Client::send_body`](crate::Client::send_body), then poll again.
    SendBody {
        /// The transaction whose content is wanted.
        txn: TxnId,
        /// The largest chunk the core takes now.
        max_chunk: usize,
    },
    /// Write out everything in the output buffer, then run the TLS handshake and report
    /// it with [`Client::handle_tls_established`](crate::Client::handle_tls_established).
    /// Until then the core takes no input.
    StartTls(TlsUpgrade),
    /// Write out the output buffer, then wait for server bytes, the deadline (then call
    /// [`Client::handle_timeout`](crate::Client::handle_timeout)) or an application request.
    Wait {
        /// When the reply being waited for is overdue; `None`: nothing is owed.
        deadline: Option<Instant>,
    },
    /// The session is over: write out the output buffer (QUIT may be in it) and close
    /// the connection. `None` for an orderly end. Every later poll returns `Closed(None)`.
    Closed(Option<Error>),
}

/// The proof that the core asked for a TLS upgrade; hand it back once the handshake is done.
#[must_use = "the TLS handshake must be performed and reported"]
#[derive(Debug)]
pub struct TlsUpgrade {
    pub(crate) deadline: Instant,
}

impl TlsUpgrade {
    /// When the handshake is overdue (the `tls_handshake` timeout after the 220).
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

/// Why a transaction (or, under LMTP, its delivery to one recipient) failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TxnFailure {
    /// The server refused at `stage` with this reply (see [`Reply::is_transient`]).
    Rejected {
        /// The command refused.
        stage: Stage,
        /// The reply.
        reply: Reply,
    },
    /// No recipient was accepted: each was rejected (`RecipientRejected`), or not
    /// attempted after "too many recipients" (`RecipientNotAttempted`).
    NoRecipients,
    /// A recipient was rejected and the configuration aborts on any rejection.
    RecipientRejected,
    /// Refused locally, before anything of it was sent.
    Refused(TxnError),
    /// The session ended before the transaction reached the end of its data.
    SessionClosed,
}

impl TxnFailure {
    /// Whether a later attempt may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            TxnFailure::Rejected { reply, .. } => reply.is_transient(),
            TxnFailure::SessionClosed => true,
            _ => false,
        }
    }
}

/// Something that happened in the session.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The server's 220 greeting.
    Greeting(Reply),
    /// An EHLO/LHLO (or HELO) reply was read; [`Client::capabilities`](crate::Client::capabilities)
    /// has the new set. Comes again after STARTTLS.
    Capabilities,
    /// The STARTTLS upgrade is complete.
    TlsEstablished,
    /// AUTH succeeded with this mechanism.
    Authenticated(Mechanism),
    /// The session is set up (greeting, EHLO, TLS, AUTH): transactions now go out.
    Ready,
    /// RCPT `rcpt` (index into the envelope's recipients) of `txn` was accepted.
    RecipientAccepted {
        /// The transaction.
        txn: TxnId,
        /// Index into the envelope's recipients.
        rcpt: usize,
        /// The server's reply.
        reply: Reply,
    },
    /// RCPT `rcpt` of `txn` was rejected with this reply. `reply.is_transient()` tells
    /// 4xx from 5xx, except that a 552 meaning "too many recipients" is transient too
    /// (RFC 5321 §4.5.3.1.10; see [`RecipientStatus::is_transient`]).
    ///
    /// [`RecipientStatus::is_transient`]: crate::RecipientStatus::is_transient
    RecipientRejected {
        /// The transaction.
        txn: TxnId,
        /// Index into the envelope's recipients.
        rcpt: usize,
        /// The server's reply.
        reply: Reply,
    },
    /// RCPT `rcpt` of `txn` was never sent: the server answered an earlier RCPT with
    /// "too many recipients" (452 or 552 with enhanced status X.5.3, or a 452 without
    /// one; RFC 5321 §4.5.3.1.10, RFC 3463 §3.6) before this one went out. Nothing is
    /// known against this recipient: send it in another transaction. RCPTs already on
    /// the wire (pipelined) get their own reply, as `RecipientAccepted` or
    /// `RecipientRejected`.
    RecipientNotAttempted {
        /// The transaction.
        txn: TxnId,
        /// Index into the envelope's recipients.
        rcpt: usize,
    },
    /// The message was accepted. Under LMTP one per accepted recipient (`rcpt` is Some).
    MessageAccepted {
        /// The transaction.
        txn: TxnId,
        /// Under LMTP: the recipient this final reply is for.
        rcpt: Option<usize>,
        /// The server's reply.
        reply: Reply,
    },
    /// The transaction failed. Under LMTP, after the data, one per failed recipient.
    TransactionFailed {
        /// The transaction.
        txn: TxnId,
        /// Under LMTP after the data: the recipient this final reply is for.
        rcpt: Option<usize>,
        /// What went wrong.
        failure: TxnFailure,
    },
    /// The connection failed while the reply to the end of data was owed: the message
    /// may or may not have been delivered (RFC 5321 §4.5.3.2.6). Never retry blindly.
    OutcomeUnknown {
        /// The transaction.
        txn: TxnId,
        /// Under LMTP: the recipient whose final reply never came.
        rcpt: Option<usize>,
    },
    /// The reply to a NOOP, RSET or VRFY the application asked for.
    Reply {
        /// Which command.
        stage: Stage,
        /// The reply.
        reply: Reply,
    },
    /// A command the application asked for was refused locally and not sent (a VRFY
    /// argument that needs SMTPUTF8, to a server that does not offer it). It comes in
    /// place of its [`Event::Reply`]; the session goes on.
    CommandRefused {
        /// Which command.
        stage: Stage,
        /// Why.
        error: TxnError,
    },
}

impl Event {
    /// The transaction the event is about, if any.
    pub fn txn(&self) -> Option<TxnId> {
        match self {
            Event::RecipientAccepted { txn, .. }
            | Event::RecipientRejected { txn, .. }
            | Event::RecipientNotAttempted { txn, .. }
            | Event::MessageAccepted { txn, .. }
            | Event::TransactionFailed { txn, .. }
            | Event::OutcomeUnknown { txn, .. } => Some(*txn),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::ReplyCode;

    fn rejected(code: u16) -> TxnFailure {
        TxnFailure::Rejected {
            stage: Stage::Rcpt,
            reply: Reply::new(ReplyCode::new(code).unwrap(), &[b"x"]).unwrap(),
        }
    }

    /// What callers decide to resend on: a 4xx refusal and a session that ended before
    /// the end of data may succeed later; a 5xx refusal, no recipient, an aborting
    /// rejection and a local refusal will not.
    #[test]
    fn only_4xx_refusals_and_a_closed_session_are_transient() {
        assert!(rejected(451).is_transient());
        assert!(TxnFailure::SessionClosed.is_transient());
        assert!(!rejected(550).is_transient());
        assert!(!rejected(554).is_transient());
        assert!(!TxnFailure::NoRecipients.is_transient());
        assert!(!TxnFailure::RecipientRejected.is_transient());
        assert!(!TxnFailure::Refused(TxnError::NeedsSmtpUtf8).is_transient());
    }

    #[test]
    fn txn_id_get_is_the_number_behind_it() {
        assert_eq!(TxnId(0).get(), 0);
        assert_eq!(TxnId(42).get(), 42);
    }

    #[test]
    fn tls_upgrade_deadline_is_the_one_it_was_made_with() {
        let deadline = Instant::ZERO + core::time::Duration::from_secs(60);
        assert_eq!(TlsUpgrade { deadline }.deadline(), deadline);
    }

    #[test]
    fn only_transaction_events_name_a_transaction() {
        let txn = TxnId(5);
        let reply = Reply::new(ReplyCode::new(250).unwrap(), &[b"ok"]).unwrap();
        let about_txn = [
            Event::RecipientAccepted {
                txn,
                rcpt: 0,
                reply: reply.clone(),
            },
            Event::RecipientRejected {
                txn,
                rcpt: 0,
                reply: reply.clone(),
            },
            Event::RecipientNotAttempted { txn, rcpt: 0 },
            Event::MessageAccepted {
                txn,
                rcpt: None,
                reply: reply.clone(),
            },
            Event::TransactionFailed {
                txn,
                rcpt: None,
                failure: TxnFailure::SessionClosed,
            },
            Event::OutcomeUnknown { txn, rcpt: None },
        ];
        for e in &about_txn {
            assert_eq!(e.txn(), Some(txn), "{e:?}");
        }
        let session = [
            Event::Greeting(reply.clone()),
            Event::Capabilities,
            Event::Ready,
            Event::Reply {
                stage: Stage::Noop,
                reply,
            },
        ];
        for e in &session {
            assert_eq!(e.txn(), None, "{e:?}");
        }
    }
}
