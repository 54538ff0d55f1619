//! Secrets and credentials: values whose `Debug` output never shows them.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use crate::client::auth::SaslFactory;

/// Bytes that must never be logged: a password, a token, a SASL response.
///
/// `Debug` prints `<redacted>`; there is no `Display`. The bytes are overwritten with
/// zeros when the value is dropped (best effort: copies made by the allocator when a
/// buffer grew are out of reach without `unsafe`).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps the secret bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(bytes.into())
    }

    /// The secret bytes. Call this only where they are about to go on the wire.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        for b in self.0.iter_mut() {
            *b = 0;
        }
        // Keep the zeroing from being optimised away as a dead store.
        core::hint::black_box(&mut self.0);
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret::new(s.as_bytes())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret::new(s.into_bytes())
    }
}

/// Why a credential was refused when it was built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialsError {
    /// A NUL byte: RFC 4616 PLAIN separates its parts with NUL.
    Nul,
    /// A `\x01` byte: XOAUTH2 and OAUTHBEARER (RFC 7628) separate their parts with it.
    ControlA,
    /// CR or LF: nothing typed into a credential belongs on its own protocol line.
    LineBreak,
}

impl fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CredentialsError::Nul => "credential contains a NUL byte",
            CredentialsError::ControlA => "credential contains a \\x01 byte",
            CredentialsError::LineBreak => "credential contains CR or LF",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for CredentialsError {}

/// What the client authenticates with.
#[derive(Clone)]
#[non_exhaustive]
pub enum Credentials {
    /// A user name and password: PLAIN, LOGIN (and CRAM-MD5 with that feature).
    Password {
        /// The authentication identity.
        user: String,
        /// The password.
        password: Secret,
    },
    /// An OAuth 2.0 bearer token: XOAUTH2 and OAUTHBEARER.
    OAuth2 {
        /// The user the token was issued for.
        user: String,
        /// The access token.
        token: Secret,
    },
    /// A caller-supplied SASL mechanism.
    Custom(Arc<dyn SaslFactory>),
}

fn check(part: &[u8], forbid_ctrl_a: bool) -> Result<(), CredentialsError> {
    for &b in part {
        match b {
            0 => return Err(CredentialsError::Nul),
            1 if forbid_ctrl_a => return Err(CredentialsError::ControlA),
            b'\r' | b'\n' => return Err(CredentialsError::LineBreak),
            _ => {}
        }
    }
    Ok(())
}

impl Credentials {
    /// User name and password; refuses NUL (RFC 4616 §2) and line breaks.
    pub fn password(
        user: impl Into<String>,
        password: impl Into<Secret>,
    ) -> Result<Self, CredentialsError> {
        let user = user.into();
        let password = password.into();
        check(user.as_bytes(), false)?;
        check(password.expose(), false)?;
        Ok(Credentials::Password { user, password })
    }

    /// User name and OAuth 2.0 access token; refuses `\x01`, NUL and line breaks.
    pub fn oauth2(
        user: impl Into<String>,
        token: impl Into<Secret>,
    ) -> Result<Self, CredentialsError> {
        let user = user.into();
        let token = token.into();
        check(user.as_bytes(), true)?;
        check(token.expose(), true)?;
        Ok(Credentials::OAuth2 { user, token })
    }

    /// A caller-supplied SASL mechanism.
    pub fn custom(factory: Arc<dyn SaslFactory>) -> Self {
        Credentials::Custom(factory)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Password { user, .. } => f
                .debug_struct("Password")
                .field("user", user)
                .field("password", &"<redacted>")
                .finish(),
            Credentials::OAuth2 { user, .. } => f
                .debug_struct("OAuth2")
                .field("user", user)
                .field("token", &"<redacted>")
                .finish(),
            Credentials::Custom(factory) => f
                .debug_tuple("Custom")
                .field(&factory.mechanism().as_str())
                .finish(),
        }
    }
}
