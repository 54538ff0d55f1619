//! The adapter's error: the session could not start, or died.

use std::{fmt, io};

use smtp_proto::session::SessionError;
use smtp_proto::{Stage, TxnError, UsageError};

/// Why a connection could not be made, or why the session ended.
///
/// A message the server refuses is not an `Error`: it is in the
/// [`Report`](smtp_proto::Report).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Name resolution, connecting, reading or writing failed.
    Io(io::Error),
    /// The TLS handshake or a TLS record failed (certificate not trusted, wrong name...).
    #[cfg(feature = "rustls")]
    Tls(rustls::Error),
    /// A reply, the TLS handshake or a write did not complete before its deadline.
    Timeout {
        /// What was awaited.
        stage: Stage,
    },
    /// The SMTP session failed (never [`smtp_proto::Error::Timeout`]: that is [`Error::Timeout`]).
    Smtp(smtp_proto::Error),
    /// The call does not fit the session's state (e.g. after it ended cleanly).
    Usage(UsageError),
    /// The message cannot be sent as given (e.g. a NUL octet in `send_message`).
    Refused(TxnError),
    /// The host is neither a DNS name nor an IP address, so TLS cannot verify it.
    InvalidHost(String),
    /// TLS is configured but the crate was built without the `rustls` feature.
    TlsUnavailable,
    /// An earlier operation on this connection was cancelled (its future dropped) before
    /// it completed: a command may be half-written or a reply unread, so the connection
    /// is unusable and nothing more is written to it.
    Cancelled,
}

impl Error {
    /// Whether trying again later may succeed: I/O failures, timeouts, 4xx replies.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Io(_) | Error::Timeout { .. } => true,
            Error::Smtp(e) => e.is_transient(),
            _ => false,
        }
    }

    /// Whether the same attempt will fail again: 5xx replies, TLS or AUTH that cannot be
    /// had, certificate failures, misuse. Malformed replies are neither transient nor
    /// permanent.
    pub fn is_permanent(&self) -> bool {
        match self {
            Error::Smtp(e) => e.is_permanent(),
            Error::Io(_) | Error::Timeout { .. } => false,
            _ => true,
        }
    }

    /// An I/O error, or the TLS error inside it.
    pub(crate) fn from_io(e: io::Error) -> Error {
        #[cfg(feature = "rustls")]
        if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            return Error::Tls(tls.clone());
        }
        Error::Io(e)
    }
}

/// How the session builds and keeps this error.
impl SessionError for Error {
    /// Timeouts get their own variant.
    fn from_core(e: smtp_proto::Error) -> Error {
        match e {
            smtp_proto::Error::Timeout { stage } => Error::Timeout { stage },
            e => Error::Smtp(e),
        }
    }

    fn from_usage(e: UsageError) -> Error {
        Error::Usage(e)
    }

    fn cancelled() -> Error {
        Error::Cancelled
    }

    /// A copy for every later call on a dead connection (`io::Error` is not `Clone`).
    fn duplicate(&self) -> Error {
        match self {
            Error::Io(e) => Error::Io(io::Error::new(e.kind(), e.to_string())),
            #[cfg(feature = "rustls")]
            Error::Tls(e) => Error::Tls(e.clone()),
            Error::Timeout { stage } => Error::Timeout { stage: *stage },
            Error::Smtp(e) => Error::Smtp(e.clone()),
            Error::Usage(e) => Error::Usage(e.clone()),
            Error::Refused(e) => Error::Refused(e.clone()),
            Error::InvalidHost(h) => Error::InvalidHost(h.clone()),
            Error::TlsUnavailable => Error::TlsUnavailable,
            Error::Cancelled => Error::Cancelled,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            #[cfg(feature = "rustls")]
            Error::Tls(e) => write!(f, "TLS error: {e}"),
            Error::Timeout { stage } => write!(f, "timed out waiting for {stage}"),
            Error::Smtp(e) => write!(f, "{e}"),
            Error::Usage(e) => write!(f, "{e}"),
            Error::Refused(e) => write!(f, "message refused: {e}"),
            Error::InvalidHost(h) => write!(f, "{h:?} is not a valid TLS server name"),
            Error::TlsUnavailable => f.write_str("TLS needed but built without the rustls feature"),
            Error::Cancelled => f.write_str("an earlier operation was cancelled half-way"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            #[cfg(feature = "rustls")]
            Error::Tls(e) => Some(e),
            Error::Smtp(e) => Some(e),
            Error::Usage(e) => Some(e),
            _ => None,
        }
    }
}
