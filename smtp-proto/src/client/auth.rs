//! SASL for AUTH (RFC 4954): the mechanism trait, the built-in mechanisms and the choice
//! between them.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use crate::command::Mechanism;
use crate::ehlo::Capabilities;
use crate::error::AuthError;
use crate::secret::{Credentials, Secret};

/// A mechanism could not answer a challenge; the client cancels the exchange with `*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaslError;

impl fmt::Display for SaslError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SASL mechanism cannot answer the challenge")
    }
}

/// One SASL exchange in progress (RFC 4422).
pub trait Sasl: Send + Sync {
    /// The initial response sent with the AUTH command, or `None` to wait for the
    /// server's first challenge. An empty response is sent as `=` (RFC 4954 §4).
    /// Called once, when AUTH is written: the mechanism hands the response over and
    /// keeps no copy. If it does not fit on the AUTH line, the client itself sends it
    /// in answer to the server's empty challenge; [`Sasl::respond`] never sees that one.
    fn initial_response(&mut self) -> Option<Secret>;
    /// The answer to a decoded `334` challenge.
    fn respond(&mut self, challenge: &[u8]) -> Result<Secret, SaslError>;
}

/// Starts exchanges of a caller-supplied mechanism ([`Credentials::Custom`]).
pub trait SaslFactory: Send + Sync {
    /// The mechanism's name, as the server advertises it.
    fn mechanism(&self) -> Mechanism;
    /// A new exchange.
    fn start(&self) -> Box<dyn Sasl>;
}

/// RFC 4616 PLAIN: `authzid NUL authcid NUL password`, sent as the initial response.
struct Plain {
    response: Option<Secret>,
}

impl Sasl for Plain {
    fn initial_response(&mut self) -> Option<Secret> {
        self.response.take()
    }
    /// PLAIN is one message: any challenge after it, empty or not, is cancelled with
    /// `*` (RFC 4954 §4), never answered with the password again.
    fn respond(&mut self, _challenge: &[u8]) -> Result<Secret, SaslError> {
        Err(SaslError)
    }
}

/// LOGIN (draft-murchison-sasl-login): the user name, then the password, each answering
/// one challenge. The challenge texts ("Username:", "Password:") vary, so go by order.
/// Each is handed over once; a third challenge is cancelled with `*`.
struct Login {
    user: Option<Secret>,
    password: Option<Secret>,
}

impl Sasl for Login {
    fn initial_response(&mut self) -> Option<Secret> {
        None
    }
    fn respond(&mut self, _challenge: &[u8]) -> Result<Secret, SaslError> {
        self.user
            .take()
            .or_else(|| self.password.take())
            .ok_or(SaslError)
    }
}

/// XOAUTH2 and OAUTHBEARER (RFC 7628): the token goes in the initial response. A
/// challenge after it carries a JSON error (RFC 7628 §3.2.3), answered once with the
/// mechanism's dummy reply so the server can send the final failure; anything else (an
/// empty challenge, a second error) is cancelled with `*`.
struct Bearer {
    response: Option<Secret>,
    error_reply: &'static [u8],
    error_answered: bool,
}

impl Sasl for Bearer {
    fn initial_response(&mut self) -> Option<Secret> {
        self.response.take()
    }
    fn respond(&mut self, challenge: &[u8]) -> Result<Secret, SaslError> {
        if challenge.is_empty() || self.error_answered {
            return Err(SaslError);
        }
        self.error_answered = true;
        Ok(Secret::new(self.error_reply))
    }
}

fn join(parts: &[&[u8]]) -> Secret {
    let mut v = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        v.extend_from_slice(p);
    }
    Secret::new(v)
}

/// RFC 7628 §3.1 gs2 header `n,a=USER,` with `,` and `=` escaped as `=2C` and `=3D`.
fn gs2_user(user: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(user.len() + 6);
    v.extend_from_slice(b"n,a=");
    for &b in user.as_bytes() {
        match b {
            b',' => v.extend_from_slice(b"=2C"),
            b'=' => v.extend_from_slice(b"=3D"),
            _ => v.push(b),
        }
    }
    v.push(b',');
    v
}

/// Builds the exchange for `mechanism` with `credentials`, if that pairing works.
fn start(mechanism: &Mechanism, credentials: &Credentials) -> Option<Box<dyn Sasl>> {
    let name = mechanism.as_str();
    match credentials {
        Credentials::Password { user, password } => match name {
            "PLAIN" => Some(Box::new(Plain {
                response: Some(join(&[b"\0", user.as_bytes(), b"\0", password.expose()])),
            })),
            "LOGIN" => Some(Box::new(Login {
                user: Some(Secret::new(user.as_bytes())),
                password: Some(password.clone()),
            })),
            #[cfg(feature = "cram-md5")]
            "CRAM-MD5" => Some(Box::new(super::cram_md5::CramMd5::new(user, password))),
            _ => None,
        },
        Credentials::OAuth2 { user, token } => match name {
            "XOAUTH2" => Some(Box::new(Bearer {
                response: Some(join(&[
                    b"user=",
                    user.as_bytes(),
                    b"\x01auth=Bearer ",
                    token.expose(),
                    b"\x01\x01",
                ])),
                error_reply: b"",
                error_answered: false,
            })),
            "OAUTHBEARER" => Some(Box::new(Bearer {
                response: Some(join(&[
                    &gs2_user(user),
                    b"\x01auth=Bearer ",
                    token.expose(),
                    b"\x01\x01",
                ])),
                // RFC 7628 §3.2.3: the client answers an error challenge with %x01.
                error_reply: b"\x01",
                error_answered: false,
            })),
            _ => None,
        },
        Credentials::Custom(factory) => {
            if factory.mechanism() == *mechanism {
                Some(factory.start())
            } else {
                None
            }
        }
    }
}

/// Picks the first mechanism of `preference` (a custom mechanism comes first) that the
/// server offers and the credentials can drive.
pub(crate) fn choose(
    preference: &[Mechanism],
    credentials: &Credentials,
    caps: &Capabilities,
) -> Result<(Mechanism, Box<dyn Sasl>), AuthError> {
    if caps.auth_mechanisms().next().is_none() {
        return Err(AuthError::NotOffered);
    }
    if let Credentials::Custom(factory) = credentials {
        let m = factory.mechanism();
        return if caps.supports_auth(m.as_str()) {
            Ok((m, factory.start()))
        } else {
            Err(AuthError::NoCommonMechanism)
        };
    }
    for m in preference {
        if caps.supports_auth(m.as_str()) {
            if let Some(sasl) = start(m, credentials) {
                return Ok((*m, sasl));
            }
        }
    }
    Err(AuthError::NoCommonMechanism)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    /// RFC 7628 §3.1 with RFC 5801 §4: `,` and `=` in the user name are escaped, so
    /// that the gs2 header still parses; other octets pass as they are.
    #[test]
    fn gs2_header_escapes_comma_and_equals_only() {
        assert_eq!(gs2_user("a,b=c@d"), b"n,a=a=2Cb=3Dc@d,");
        assert_eq!(gs2_user("user@example.com"), b"n,a=user@example.com,");
    }

    /// RFC 2195 §2's example, through the mechanism password credentials start.
    #[cfg(feature = "cram-md5")]
    #[test]
    fn password_credentials_start_cram_md5() {
        let mechanism = Mechanism::new("CRAM-MD5").unwrap();
        let credentials = Credentials::password("tim", "tanstaaftanstaaf").unwrap();
        let mut sasl = start(&mechanism, &credentials).expect("CRAM-MD5 with a password");
        assert!(sasl.initial_response().is_none());
        let response = sasl
            .respond(b"<1896.697170952@postoffice.reston.mci.net>")
            .unwrap();
        assert_eq!(response.expose(), b"tim b913a602c7eda7a495b4e6e7334d3890");
    }

    #[test]
    fn sasl_error_says_the_challenge_could_not_be_answered() {
        assert!(SaslError.to_string().contains("challenge"));
    }
}
