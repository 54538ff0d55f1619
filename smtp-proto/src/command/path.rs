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
#[derive(Clone)]
pub struct Mailbox {
    /// Where the `@` is.
    at: usize,
    /// The domain, kept in the whole mailbox's text (shared, as every [`Domain`]'s:
    /// copying an envelope allocates nothing per address, and raises one count).
    domain: Domain,
}

// Equal, and hashed, by the mailbox's text.
eq_and_hash_by_text!(Mailbox);

impl fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailbox")
            .field("text", &self.as_str())
            .field("at", &self.at)
            .field("domain", &self.domain)
            .finish()
    }
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
        let domain = Domain::within(Arc::from(s), domain_at).map_err(|e| e.offset(domain_at))?;
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
        Ok(Self { at, domain })
    }

    /// The mailbox as given, `local@domain`.
    pub fn as_str(&self) -> &str {
        self.domain.enclosing()
    }

    /// The local part, quotes and escapes kept as given.
    pub fn local_part(&self) -> &str {
        self.as_str().get(..self.at).unwrap_or_default()
    }

    /// The domain.
    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    /// Whether the mailbox holds non-ASCII characters, so that MAIL or RCPT carrying it
    /// may only be sent with the `SMTPUTF8` parameter (RFC 6531 §3.4).
    pub fn needs_smtputf8(&self) -> bool {
        !self.as_str().is_ascii()
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeSet;
    use alloc::format;
    use core::hash::{Hash, Hasher};

    /// Sums the bytes a value hashes: equal values must hash alike.
    #[derive(Default)]
    struct Sum(u64);
    impl Hasher for Sum {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for &b in bytes {
                self.0 = self.0.wrapping_mul(31).wrapping_add(u64::from(b));
            }
        }
    }

    fn hash(v: &impl Hash) -> u64 {
        let mut h = Sum::default();
        v.hash(&mut h);
        h.finish()
    }

    /// A mailbox keeps its domain in its own text: a copy shares that one text, and the
    /// domain is still the domain alone, equal (and hashed alike) to the same domain
    /// from elsewhere; mailboxes compare by their whole text, local part included.
    #[test]
    fn a_mailbox_and_its_domain_share_one_text_and_compare_by_their_own() {
        let a = Mailbox::new("alice@example.org").unwrap();
        let copy = a.clone();
        assert!(core::ptr::eq(copy.as_str(), a.as_str()), "one text, shared");
        let within = &a.as_str()[6..];
        assert!(
            core::ptr::eq(a.domain().as_str(), within),
            "the domain in it"
        );
        assert_eq!(copy.as_str(), "alice@example.org");
        assert_eq!(copy.local_part(), "alice");
        assert_eq!(copy.domain().as_str(), "example.org");
        assert_eq!(format!("{}", copy.domain()), "example.org");
        let b = Mailbox::new("bob@example.org").unwrap();
        let alone = Domain::new("example.org").unwrap();
        assert_eq!(*a.domain(), *b.domain());
        assert_eq!(*a.domain(), alone);
        assert_eq!(hash(a.domain()), hash(&alone));
        assert_ne!(a, b, "local parts differ");
        assert_ne!(a, Mailbox::new("alicf@example.org").unwrap(), "same length");
        assert_eq!(a, Mailbox::new("alice@example.org").unwrap());
        assert_ne!(a, Mailbox::new("alice@example.net").unwrap());
        assert_eq!(hash(&a), hash(&copy));
        let debug = format!("{:?}", a.domain());
        assert!(debug.contains("\"example.org\"") && !debug.contains("alice"));
        let domains: BTreeSet<&str> = [&a, &b].iter().map(|m| m.domain().as_str()).collect();
        assert_eq!(domains.len(), 1);
        // Errors still name offsets in the whole mailbox.
        let err = Mailbox::new("alice@exa_mple.org").unwrap_err();
        assert_eq!(err, Mailbox::new("alice@exa_mple.org").unwrap_err());
        assert_eq!(
            format!("{err}"),
            format!("{}", Domain::new("exa_mple.org").unwrap_err().offset(6))
        );
    }
}
