//! What can end an operation: the session dying, or a call it cannot take.

use std::{fmt, io};

use smtp_proto::{Stage, UsageError};

/// Why an operation failed. A message the server refuses is not an error: it is in the
/// [`Report`](smtp_proto::Report). An error means the session is over (except
/// [`Error::Usage`], which leaves it as it was).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The socket failed (or name resolution, or reading the message content).
    Io(io::Error),
    /// TLS could not be set up.
    Tls(TlsError),
    /// A reply, or the TLS handshake, did not complete in time.
    Timeout {
        /// What was awaited.
        stage: Stage,
    },
    /// The TCP connection was not established within the connect timeout.
    ConnectTimeout,
    /// The session failed: a 421, a malformed reply, AUTH refused, TLS required but not
    /// offered, the server closing the connection ...
    Smtp(smtp_proto::Error),
    /// The call was refused and nothing was sent (e.g. an envelope without recipients,
    /// or the session already closed).
    Usage(UsageError),
    /// An earlier operation on this connection was cancelled (its future dropped) before
    /// it completed: the connection may be half-way through a command and is unusable.
    Cancelled,
}

/// Why TLS could not be set up.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// The handshake failed: certificate not trusted or not for this name, no common
    /// protocol version, or the connection broke.
    Handshake(io::Error),
    /// The host is neither a DNS name nor an IP address, so no certificate can match it.
    InvalidName(String),
    /// TLS is needed but the crate was built without its `rustls` feature.
    Unsupported,
}

impl Error {
    /// Whether trying again later may succeed: network failures, timeouts, 4xx replies.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Io(_) | Error::Timeout { .. } | Error::ConnectTimeout => true,
            Error::Smtp(e) => e.is_transient(),
            Error::Tls(_) | Error::Usage(_) | Error::Cancelled => false,
        }
    }

    /// Whether the server or its certificate refuses for good: retrying the same
    /// thing will fail the same way. Local misuse is neither transient nor permanent.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Error::Smtp(_) | Error::Tls(_)) && !self.is_transient()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Tls(TlsError::Handshake(e)) => write!(f, "TLS handshake failed: {e}"),
            Error::Tls(TlsError::InvalidName(n)) => write!(f, "not a valid TLS server name: {n}"),
            Error::Tls(TlsError::Unsupported) => f.write_str("TLS needed but built without rustls"),
            Error::Timeout { stage } => write!(f, "timed out waiting for {stage}"),
            Error::ConnectTimeout => f.write_str("timed out connecting"),
            Error::Smtp(e) => write!(f, "{e}"),
            Error::Usage(e) => write!(f, "{e}"),
            Error::Cancelled => f.write_str("an earlier operation was cancelled mid-flight"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) | Error::Tls(TlsError::Handshake(e)) => Some(e),
            Error::Smtp(e) => Some(e),
            Error::Usage(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<UsageError> for Error {
    fn from(e: UsageError) -> Self {
        Error::Usage(e)
    }
}

impl From<smtp_proto::Error> for Error {
    fn from(e: smtp_proto::Error) -> Self {
        match e {
            smtp_proto::Error::Timeout { stage } => Error::Timeout { stage },
            e => Error::Smtp(e),
        }
    }
}
