//! The one error type every command constructor returns.

use core::fmt;

/// Why a value was refused when a command argument was built.
///
/// Every checking constructor in [`crate::command`] returns this. It names the first
/// offending byte by its offset in the caller's input, so a log line can point at it
/// without echoing a possibly hostile value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressError {
    kind: AddressErrorKind,
    position: usize,
}

/// The class of an [`AddressError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AddressErrorKind {
    /// The value was empty where at least one character is required.
    Empty,
    /// The value (or one part of it) is longer than the protocol allows.
    TooLong {
        /// The limit, in octets, that was exceeded.
        limit: usize,
    },
    /// A control byte: CR, LF, NUL, any other C0 byte, DEL, or a C1 character in UTF-8.
    /// These are how commands get smuggled into a session (RFC 5321 §2.3.8), so they are
    /// refused everywhere.
    ControlCharacter,
    /// A character the grammar does not allow at that place (for example an unquoted
    /// space, `<` or `>`, or a non-ASCII character where only ASCII may go).
    InvalidCharacter,
    /// A mailbox has no `@` separating the local part from the domain.
    MissingAt,
    /// The local part is malformed (empty, a misplaced dot, an unterminated quote).
    InvalidLocalPart,
    /// The domain is malformed (an empty label, a label starting or ending with `-`).
    InvalidDomain,
    /// An address literal (`[...]`) is malformed.
    InvalidLiteral,
}

impl AddressError {
    pub(crate) const fn new(kind: AddressErrorKind, position: usize) -> Self {
        Self { kind, position }
    }

    /// Shifts the position by `offset`, for errors found in a slice of a larger input.
    pub(crate) const fn offset(self, offset: usize) -> Self {
        Self {
            kind: self.kind,
            position: self.position.saturating_add(offset),
        }
    }

    /// What was wrong.
    pub fn kind(&self) -> AddressErrorKind {
        self.kind
    }

    /// The byte offset, in the input given to the constructor, where the problem was found.
    /// For [`AddressErrorKind::TooLong`] it is the offset of the first octet past the limit.
    pub fn position(&self) -> usize {
        self.position
    }
}

impl fmt::Display for AddressErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty value"),
            Self::TooLong { limit } => write!(f, "longer than {limit} octets"),
            Self::ControlCharacter => f.write_str("control character"),
            Self::InvalidCharacter => f.write_str("character not allowed here"),
            Self::MissingAt => f.write_str("missing '@'"),
            Self::InvalidLocalPart => f.write_str("malformed local part"),
            Self::InvalidDomain => f.write_str("malformed domain"),
            Self::InvalidLiteral => f.write_str("malformed address literal"),
        }
    }
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The offending value itself is never printed: it may be hostile or private.
        write!(f, "{} at byte {}", self.kind, self.position)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for AddressError {}
