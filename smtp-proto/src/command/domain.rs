//! Domains (RFC 5321 §4.1.2, RFC 6531 §3.3) and the EHLO/HELO/LHLO argument
//! (RFC 5321 §4.1.1.1).

use alloc::string::String;
use alloc::sync::Arc;
use core::fmt;

use super::chars::{is_deceptive, is_let_dig, reject_controls};
use super::error::{AddressError, AddressErrorKind};
use super::literal;

/// RFC 5321 §4.5.3.1.2: the maximum total length of a domain name or number.
pub const MAX_DOMAIN_LEN: usize = 255;
/// RFC 1035 §2.3.4 (which RFC 5321 §4.1.2 relies on): the maximum length of a label.
pub const MAX_LABEL_LEN: usize = 63;

/// A domain as it may appear in a mailbox: a host name, an internationalised host name,
/// or an address literal.
///
/// - RFC 5321 §4.1.2 names: dot-separated sub-domains of letters, digits and hyphens, with
///   no hyphen at either end of a label and no label longer than 63 octets.
/// - RFC 6531 §3.3 U-labels: labels may contain non-ASCII characters. Such a domain
///   [needs SMTPUTF8](Self::needs_smtputf8). Only the shape is checked here (no IDNA2008
///   table lookup, which would need Unicode data this `no_std` crate does not carry); white
///   space and bidirectional formatting characters are refused. The 63-octet label limit
///   is applied to ASCII labels only, since it bounds the A-label form, not the UTF-8 one.
/// - RFC 5321 §4.1.3 address literals: `[192.0.2.1]`, `[IPv6:2001:db8::1]` (all four
///   IPv6 forms, with `::` and with an IPv4 tail) and `[tag:content]`.
///
/// The whole value is limited to 255 octets (RFC 5321 §4.5.3.1.2). The text is kept as
/// given: no case folding.
#[derive(Clone)]
pub struct Domain {
    /// Shared: an envelope is copied per message and per attempt (a pool's callers, its
    /// retries), and a copy costs no allocation. A mailbox's domain holds the mailbox's
    /// text, the domain from `start` on (past the `@`): one count to raise per copy of
    /// an address, not two.
    text: Arc<str>,
    start: usize,
    utf8: bool,
    literal: bool,
}

// Equal, and hashed, by the domain's text alone, wherever it is kept.
eq_and_hash_by_text!(Domain);

impl fmt::Debug for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Domain")
            .field("text", &self.as_str())
            .field("utf8", &self.utf8)
            .field("literal", &self.literal)
            .finish()
    }
}

impl Domain {
    /// Checks `s` and builds a domain from it.
    ///
    /// # Errors
    /// [`AddressError`] naming the first offending byte: control characters anywhere,
    /// [`Empty`](AddressErrorKind::Empty), [`TooLong`](AddressErrorKind::TooLong) (255, or
    /// 63 for an ASCII label), [`InvalidCharacter`](AddressErrorKind::InvalidCharacter),
    /// [`InvalidDomain`](AddressErrorKind::InvalidDomain) or
    /// [`InvalidLiteral`](AddressErrorKind::InvalidLiteral).
    pub fn new(s: &str) -> Result<Self, AddressError> {
        reject_controls(s)?;
        Self::parse(s)
    }

    /// Parses a domain already known to be free of control characters.
    pub(crate) fn parse(s: &str) -> Result<Self, AddressError> {
        Self::within(Arc::from(s), 0)
    }

    /// The domain that `text` holds from `start` on (a mailbox's, past its `@`), free
    /// of control characters; errors name offsets in the domain.
    pub(super) fn within(text: Arc<str>, start: usize) -> Result<Self, AddressError> {
        let s = text.get(start..).unwrap_or_default();
        if s.is_empty() {
            return Err(AddressError::new(AddressErrorKind::Empty, 0));
        }
        if s.len() > MAX_DOMAIN_LEN {
            return Err(AddressError::new(
                AddressErrorKind::TooLong {
                    limit: MAX_DOMAIN_LEN,
                },
                MAX_DOMAIN_LEN,
            ));
        }
        let literal = s.starts_with('[');
        if literal {
            literal::validate(s)?;
        } else {
            let mut at = 0;
            for label in s.split('.') {
                check_label(label, at)?;
                at += label.len() + 1;
            }
        }
        let utf8 = !s.is_ascii();
        Ok(Self {
            text,
            start,
            utf8,
            literal,
        })
    }

    /// The domain as given.
    pub fn as_str(&self) -> &str {
        self.text.get(self.start..).unwrap_or_default()
    }

    /// All the text the domain is kept in: a mailbox's domain, the whole mailbox.
    pub(super) fn enclosing(&self) -> &str {
        &self.text
    }

    /// Whether the domain holds non-ASCII characters, so that a command carrying it may
    /// only be sent with the `SMTPUTF8` parameter (RFC 6531 §3.4).
    pub fn needs_smtputf8(&self) -> bool {
        self.utf8
    }

    /// Whether this is an address literal (`[...]`) rather than a name.
    pub fn is_address_literal(&self) -> bool {
        self.literal
    }

    /// The address literal for an IP address: `[192.0.2.1]` or `[IPv6:2001:db8::1]`.
    pub fn from_ip(ip: core::net::IpAddr) -> Self {
        use core::fmt::Write as _;
        let mut text = String::with_capacity(48);
        // Writing to a String cannot fail.
        let _ = match ip {
            core::net::IpAddr::V4(v4) => write!(text, "[{v4}]"),
            core::net::IpAddr::V6(v6) => write!(text, "[IPv6:{v6}]"),
        };
        Self {
            text: text.into(),
            start: 0,
            utf8: false,
            literal: true,
        }
    }
}

/// RFC 5321 §4.1.2 `sub-domain = Let-dig [Ldh-str]`, extended by RFC 6531 §3.3 to
/// U-labels. `at` is the label's offset in the input, for error positions.
fn check_label(label: &str, at: usize) -> Result<(), AddressError> {
    let invalid = |i: usize| AddressError::new(AddressErrorKind::InvalidDomain, at + i);
    let bytes = label.as_bytes();
    match bytes {
        [] => return Err(invalid(0)),
        [b'-', ..] => return Err(invalid(0)),
        [.., b'-'] => return Err(invalid(bytes.len() - 1)),
        _ => {}
    }
    for (i, c) in label.char_indices() {
        let ok = if c.is_ascii() {
            is_let_dig(c as u8) || c == '-'
        } else {
            !is_deceptive(c)
        };
        if !ok {
            return Err(AddressError::new(
                AddressErrorKind::InvalidCharacter,
                at + i,
            ));
        }
    }
    if label.is_ascii() && label.len() > MAX_LABEL_LEN {
        return Err(AddressError::new(
            AddressErrorKind::TooLong {
                limit: MAX_LABEL_LEN,
            },
            at + MAX_LABEL_LEN,
        ));
    }
    Ok(())
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The argument of EHLO, HELO and LHLO: the client's own name or address literal
/// (RFC 5321 §4.1.1.1 `ehlo = "EHLO" SP ( Domain / address-literal )`).
///
/// Unlike a [`Domain`], it must be ASCII: the greeting is sent before SMTPUTF8 can be
/// negotiated, so an internationalised name must be given in its A-label (`xn--`) form
/// (RFC 6531 §3.7.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EhloName(Domain);

impl EhloName {
    /// Checks `s` and builds an EHLO name from it.
    ///
    /// # Errors
    /// As [`Domain::new`], plus [`InvalidCharacter`](AddressErrorKind::InvalidCharacter) at
    /// the first non-ASCII byte.
    pub fn new(s: &str) -> Result<Self, AddressError> {
        let domain = Domain::new(s)?;
        Self::from_domain(domain)
    }

    /// Uses an already checked domain as the EHLO name.
    ///
    /// # Errors
    /// [`InvalidCharacter`](AddressErrorKind::InvalidCharacter) if it is not ASCII.
    pub fn from_domain(domain: Domain) -> Result<Self, AddressError> {
        match domain.as_str().bytes().position(|b| !b.is_ascii()) {
            Some(i) => Err(AddressError::new(AddressErrorKind::InvalidCharacter, i)),
            None => Ok(Self(domain)),
        }
    }

    /// The address literal for an IP address, the usual choice for a client that has no
    /// resolvable name (RFC 5321 §4.1.4).
    pub fn from_ip(ip: core::net::IpAddr) -> Self {
        Self(Domain::from_ip(ip))
    }

    /// `localhost`: a placeholder for clients that do not know their own name. Public
    /// servers may refuse it; prefer a real name or [`from_ip`](Self::from_ip).
    pub fn localhost() -> Self {
        Self(Domain {
            text: Arc::from("localhost"),
            start: 0,
            utf8: false,
            literal: false,
        })
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The name as a [`Domain`].
    pub fn domain(&self) -> &Domain {
        &self.0
    }
}

impl fmt::Display for EhloName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
