//! The argument of VRFY (RFC 5321 §4.1.1.6).

use alloc::string::String;

use super::chars::{check_len, reject_controls};
use super::error::AddressError;

/// The most octets a VRFY argument may have here, so the command line stays within the
/// 512-octet limit of RFC 5321 §4.5.3.1.4.
pub const MAX_VRFY_LEN: usize = 500;

/// The argument of VRFY: a user name or mailbox to verify (RFC 5321 §4.1.1.6
/// `"VRFY" SP String`).
///
/// Free text: anything without control characters, 1 to 500 octets. Non-ASCII text
/// [needs SMTPUTF8](Self::needs_smtputf8) (RFC 6531 §3.7.4.2): the client sends it
/// with the `SMTPUTF8` parameter, and refuses it to a server that does not offer the
/// extension ([`Event::CommandRefused`](crate::Event::CommandRefused)).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VrfyArg(String);

impl VrfyArg {
    /// Checks `s` and builds a VRFY argument.
    ///
    /// # Errors
    /// A control character, [`Empty`](crate::command::AddressErrorKind::Empty) or
    /// [`TooLong`](crate::command::AddressErrorKind::TooLong).
    pub fn new(s: &str) -> Result<Self, AddressError> {
        reject_controls(s)?;
        check_len(s, MAX_VRFY_LEN)?;
        Ok(Self(String::from(s)))
    }

    /// The argument as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the argument holds non-ASCII characters.
    pub fn needs_smtputf8(&self) -> bool {
        !self.0.is_ascii()
    }
}
