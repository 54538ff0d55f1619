//! Mailboxes and the paths of MAIL FROM and RCPT TO (RFC 5321 §4.1.2, §4.1.1.2,
//! §4.1.1.3).

use alloc::sync::Arc;
use core::fmt;

use super::chars::reject_controls;
use super::domain::Domain;
use super::error::{AddressError, AddressErrorKind};
use super::local_part;

/// RFC 5321 §4.5.3.1.3: the maximum length of a path, angle brackets included.
pub const MAX_PATH_LEN: usize = 256;

/// An address `local-part@domain` (RFC 5321 §4.1.2 `Mailbox`).
///
/// The local part is a dot-string (`first.last`) or a quoted string (`"first last"`,
/// with `\` escapes); both may hold non-ASCII characters (RFC 6531 §3.3), and so may the
/// [`Domain`]. Limits (RFC 5321 §4.5.3.1): local part 64 octets, domain 255, and the
/// whole path with its `<` `>` 256, so the mailbox itself at most 254.
///
/// Source routes (`@a,@b:user@c`) are not accepted: RFC 5321 §4.1.1.3 says clients must
/// not send them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Mailbox {
    /// Shared, as [`Domain`]'s: copying an envelope allocates nothing per address.
    text: Arc<str>,
    at: usize,
    domain: Domain,
}

impl Mailbox {
    /// Checks `s` (`local@domain`, without angle brackets) and builds a mailbox from it.
    ///
    /// # Errors
    /// [`AddressError`] naming the first offending byte: a control character anywhere,
    /// [`Empty`](AddressErrorKind::Empty), [`MissingAt`](AddressErrorKind::MissingAt),
    /// [`InvalidLocalPart`](AddressErrorKind::InvalidLocalPart),
    /// [`InvalidCharacter`](AddressErrorKind::InvalidCharacter) (unquoted space, `<`, `>`,
    /// ...), domain errors as [`Domain::new`], or [`TooLong`](AddressErrorKind::TooLong)
    /// with limit 64, 255 or 256.
    pub fn new(s: &str) -> Result<Self, AddressError> {
        reject_controls(s)?;
        Self::parse(s)
    }

    fn parse(s: &str) -> Result<Self, AddressError> {
        if s.is_empty() {
            return Err(AddressError::new(AddressErrorKind::Empty, 0));
        }
        let at = local_part::parse(s)?;
        let domain_at = at + 1;
        let domain = Domain::parse(s.get(domain_at..).unwrap_or_default())
            .map_err(|e| e.offset(domain_at))?;
        // The path adds '<' and '>' around the mailbox.
        let max = MAX_PATH_LEN - 2;
        if s.len() > max {
            return Err(AddressError::new(
                AddressErrorKind::TooLong {
                    limit: MAX_PATH_LEN,
                },
                max,
            ));
        }
        Ok(Self {
            text: Arc::from(s),
            at,
            domain,
        })
    }

    /// The mailbox as given, `local@domain`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The local part, quotes and escapes kept as given.
    pub fn local_part(&self) -> &str {
        self.text.get(..self.at).unwrap_or_default()
    }

    /// The domain.
    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    /// Whether the mailbox holds non-ASCII characters, so that MAIL or RCPT carrying it
    /// may only be sent with the `SMTPUTF8` parameter (RFC 6531 §3.4).
    pub fn needs_smtputf8(&self) -> bool {
        !self.text.is_ascii()
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Strips one pair of enclosing angle brackets, returning the inside and its offset.
fn unbracket(s: &str) -> (&str, usize) {
    match s.strip_prefix('<').and_then(|r| r.strip_suffix('>')) {
        Some(inner) => (inner, 1),
        None => (s, 0),
    }
}

/// The argument of MAIL FROM (RFC 5321 §4.1.1.2 `Reverse-path = Path / "<>"`).
///
/// [`Null`](Self::Null) is the null reverse path, used for bounces and other messages
/// that must never cause a bounce themselves (RFC 5321 §4.5.5).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReversePath {
    /// `MAIL FROM:<>`.
    Null,
    /// `MAIL FROM:<mailbox>`.
    Mailbox(Mailbox),
}

impl ReversePath {
    /// Checks `s` and builds a reverse path: `""` or `"<>"` is the null path; otherwise a
    /// mailbox, with or without enclosing angle brackets.
    ///
    /// # Errors
    /// As [`Mailbox::new`]; positions refer to `s`, brackets included.
    pub fn new(s: &str) -> Result<Self, AddressError> {
        reject_controls(s)?;
        let (inner, offset) = unbracket(s);
        if inner.is_empty() {
            return Ok(Self::Null);
        }
        Mailbox::parse(inner)
            .map(Self::Mailbox)
            .map_err(|e| e.offset(offset))
    }

    /// The mailbox, or `None` for the null path.
    pub fn mailbox(&self) -> Option<&Mailbox> {
        match self {
            Self::Null => None,
            Self::Mailbox(m) => Some(m),
        }
    }

    /// The mailbox as text, or `""` for the null path.
    pub fn as_str(&self) -> &str {
        self.mailbox().map_or("", Mailbox::as_str)
    }

    /// Whether the path needs SMTPUTF8 (RFC 6531 §3.4); the null path never does.
    pub fn needs_smtputf8(&self) -> bool {
        self.mailbox().is_some_and(Mailbox::needs_smtputf8)
    }
}

impl From<Mailbox> for ReversePath {
    fn from(m: Mailbox) -> Self {
        Self::Mailbox(m)
    }
}

/// The argument of RCPT TO (RFC 5321 §4.1.1.3
/// `( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path )`).
///
/// A mailbox, or the bare `Postmaster` that every server must accept without a domain.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ForwardPath(Forward);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Forward {
    Postmaster,
    Mailbox(Mailbox),
}

impl ForwardPath {
    /// Checks `s` and builds a forward path: a mailbox, with or without enclosing angle
    /// brackets, or `Postmaster` (any case) alone.
    ///
    /// # Errors
    /// As [`Mailbox::new`]; positions refer to `s`, brackets included.
    pub fn new(s: &str) -> Result<Self, AddressError> {
        reject_controls(s)?;
        let (inner, offset) = unbracket(s);
        // ABNF strings are case-insensitive, and RFC 5321 §4.5.1 makes "postmaster" so.
        if inner.eq_ignore_ascii_case("Postmaster") {
            return Ok(Self::postmaster());
        }
        if inner.is_empty() {
            return Err(AddressError::new(AddressErrorKind::Empty, offset));
        }
        Mailbox::parse(inner)
            .map(|m| Self(Forward::Mailbox(m)))
            .map_err(|e| e.offset(offset))
    }

    /// `RCPT TO:<Postmaster>` (RFC 5321 §4.1.1.3, §4.5.1).
    pub fn postmaster() -> Self {
        Self(Forward::Postmaster)
    }

    /// The mailbox, or `None` for the bare `Postmaster`.
    pub fn mailbox(&self) -> Option<&Mailbox> {
        match &self.0 {
            Forward::Postmaster => None,
            Forward::Mailbox(m) => Some(m),
        }
    }

    /// Whether this is the bare `Postmaster` path.
    pub fn is_postmaster(&self) -> bool {
        matches!(self.0, Forward::Postmaster)
    }

    /// The path as text, without angle brackets.
    pub fn as_str(&self) -> &str {
        self.mailbox().map_or("Postmaster", Mailbox::as_str)
    }

    /// Whether the path needs SMTPUTF8 (RFC 6531 §3.4).
    pub fn needs_smtputf8(&self) -> bool {
        self.mailbox().is_some_and(Mailbox::needs_smtputf8)
    }
}

impl From<Mailbox> for ForwardPath {
    fn from(m: Mailbox) -> Self {
        Self(Forward::Mailbox(m))
    }
}
