//! Why a reply could not be read or built.

use super::ReplyCode;
use crate::line::LineError;
use core::fmt;

/// A reply could not be read from the server's bytes, or built from parts.
///
/// Any of these ends the session with a protocol error: the byte stream can no longer be
/// trusted to be in step with the commands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplyError {
    /// A line is longer than `limit` octets, its line end included.
    LineTooLong {
        /// The line limit in force.
        limit: usize,
    },
    /// A multiline reply has more than `limit` lines.
    TooManyLines {
        /// The maximum number of lines per reply.
        limit: usize,
    },
    /// A reply is longer than `limit` octets, line ends included.
    TooLarge {
        /// The maximum size of a reply.
        limit: usize,
    },
    /// A line does not follow the reply grammar of RFC 5321 §4.2.
    Malformed {
        /// What is wrong, for humans.
        reason: &'static str,
    },
    /// A line of a multiline reply carries another code than the first line
    /// (RFC 5321 §4.2.1 requires the same code on every line).
    CodeMismatch {
        /// The code of the first line.
        first: ReplyCode,
        /// The three digits found on the later line.
        found: u16,
    },
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::LineTooLong { limit } => {
                write!(f, "reply line longer than {limit} octets")
            }
            ReplyError::TooManyLines { limit } => {
                write!(f, "reply has more than {limit} lines")
            }
            ReplyError::TooLarge { limit } => write!(f, "reply longer than {limit} octets"),
            ReplyError::Malformed { reason } => write!(f, "malformed reply: {reason}"),
            ReplyError::CodeMismatch { first, found } => {
                write!(f, "multiline reply changes code from {first} to {found:03}")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ReplyError {}

impl From<LineError> for ReplyError {
    fn from(e: LineError) -> Self {
        match e {
            LineError::TooLong { limit } => ReplyError::LineTooLong { limit },
        }
    }
}
