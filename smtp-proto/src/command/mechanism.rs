//! SASL mechanism names for AUTH (RFC 4954 §4, RFC 4422 §3.1).

use core::fmt;

use super::chars::reject_controls;
use super::error::{AddressError, AddressErrorKind};

/// RFC 4422 §3.1: a mechanism name is 1 to 20 characters.
pub const MAX_MECHANISM_LEN: usize = 20;

/// A SASL mechanism name: 1 to 20 of `A-Z`, `0-9`, `-`, `_` (RFC 4422 §3.1).
///
/// Lowercase input is accepted and uppercased, since servers advertise and compare the
/// names in uppercase. Stored inline, so it is cheap to copy and compare.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mechanism {
    // ASCII bytes, zero-padded after `len` so that derived equality is by name.
    bytes: [u8; MAX_MECHANISM_LEN],
    len: u8,
}

impl Mechanism {
    /// `PLAIN` (RFC 4616).
    pub const PLAIN: Self = Self::known("PLAIN");
    /// `LOGIN` (draft-murchison-sasl-login; obsolete but widespread).
    pub const LOGIN: Self = Self::known("LOGIN");
    /// `XOAUTH2` (Google's OAuth 2.0 mechanism).
    pub const XOAUTH2: Self = Self::known("XOAUTH2");
    /// `OAUTHBEARER` (RFC 7628).
    pub const OAUTHBEARER: Self = Self::known("OAUTHBEARER");
    /// `CRAM-MD5` (RFC 2195).
    pub const CRAM_MD5: Self = Self::known("CRAM-MD5");
    /// `EXTERNAL` (RFC 4422 Appendix A).
    pub const EXTERNAL: Self = Self::known("EXTERNAL");

    /// Checks `s` and builds a mechanism name, uppercasing it.
    ///
    /// # Errors
    /// A control character, [`Empty`](AddressErrorKind::Empty),
    /// [`TooLong`](AddressErrorKind::TooLong) over 20, or
    /// [`InvalidCharacter`](AddressErrorKind::InvalidCharacter).
    pub fn new(s: &str) -> Result<Self, AddressError> {
        reject_controls(s)?;
        if s.is_empty() {
            return Err(AddressError::new(AddressErrorKind::Empty, 0));
        }
        let mut bytes = [0u8; MAX_MECHANISM_LEN];
        for (i, b) in s.bytes().enumerate() {
            let b = b.to_ascii_uppercase();
            if !is_mech_char(b) {
                return Err(AddressError::new(AddressErrorKind::InvalidCharacter, i));
            }
            match bytes.get_mut(i) {
                Some(slot) => *slot = b,
                None => {
                    return Err(AddressError::new(
                        AddressErrorKind::TooLong {
                            limit: MAX_MECHANISM_LEN,
                        },
                        MAX_MECHANISM_LEN,
                    ))
                }
            }
        }
        Ok(Self {
            bytes,
            // At most 20 here, checked just above.
            len: s.len() as u8,
        })
    }

    /// Builds one of the constants above; a bad name fails the build, not the program.
    const fn known(s: &str) -> Self {
        let src = s.as_bytes();
        assert!(!src.is_empty() && src.len() <= MAX_MECHANISM_LEN);
        let mut bytes = [0u8; MAX_MECHANISM_LEN];
        let mut i = 0;
        while i < src.len() {
            assert!(is_mech_char(src[i]));
            bytes[i] = src[i];
            i += 1;
        }
        Self {
            bytes,
            len: src.len() as u8,
        }
    }

    /// The name, uppercase.
    pub fn as_str(&self) -> &str {
        let name = self.bytes.get(..usize::from(self.len)).unwrap_or_default();
        core::str::from_utf8(name).unwrap_or_default()
    }
}

/// RFC 4422 §3.1 `sasl-mech = 1*20mech-char`, `mech-char = UPPER-ALPHA / DIGIT / HYPHEN /
/// UNDERSCORE`.
const fn is_mech_char(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
}

impl fmt::Debug for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Mechanism").field(&self.as_str()).finish()
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
