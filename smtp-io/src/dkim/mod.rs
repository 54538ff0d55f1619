//! DKIM signing (RFC 6376) with the `mail-auth` crate's signer on ring: a
//! [`DkimSigner`] made from a PEM key, a domain and a selector signs each message
//! before it is sent. Set on an adapter's `Builder` (`Builder::dkim_signer`), it signs
//! every message of every connection and pool made from it.
//!
//! What a signature covers is what goes on the wire: the content with line ends
//! normalised to CRLF as the core's encoders send them, and the `Date:` and
//! `Message-ID:` it lacked (RFC 5322 §3.6), added first so that they are signed. The
//! signature is relaxed/relaxed, has `t=` and no `l=` (a body length lets anyone append
//! to the body, RFC 6376 §8.2), and covers the fields of RFC 6376 §5.4.1 that are
//! present, From, To, Cc, Subject, Date and Reply-To once more than they occur
//! (§8.15). Return-Path, Received and Bcc are never signed.
//!
//! Keys: RSA (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY` PEM) of 2048 bits or
//! more, signing rsa-sha256; Ed25519 (PKCS#8 PEM), signing ed25519-sha256 (RFC 8463).
//! RSA keys under 1024 bits are forbidden by RFC 8301 §3.2; keys of 1024 to 2047 bits,
//! which it still lets verifiers accept, are refused too, since ring (the crypto
//! provider of the whole workspace) signs only with 2048 bits or more.

mod content;
mod date;
mod der;
mod headers;
mod key;

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use base64::Engine as _;
use mail_auth::common::crypto::{Algorithm, DkimKey, Sha256, SigningKey};
use mail_auth::common::headers::{HeaderWriter, Writable};
use smtp_proto::body::BodyError;

pub use key::{RSA_FORBIDDEN_BELOW, RSA_MIN_BITS};

/// Why a key could not be loaded or a message not signed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DkimError {
    /// No PEM private key (`PRIVATE KEY` or `RSA PRIVATE KEY`) could be read.
    Pem,
    /// A private key of an algorithm DKIM does not sign with (an EC key, say).
    UnsupportedKey,
    /// An RSA key under 1024 bits: RFC 8301 §3.2 forbids signing with it.
    RsaForbidden {
        /// The modulus size.
        bits: usize,
    },
    /// An RSA key of 1024 to 2047 bits: RFC 8301 §3.2 asks signers for 2048 or more,
    /// and ring signs with nothing smaller.
    RsaTooSmall {
        /// The modulus size.
        bits: usize,
    },
    /// The crypto backend refused the key (inconsistent components, say); its reason,
    /// which holds nothing of the key.
    KeyRejected(String),
    /// The domain (`d=`) is not a domain name.
    InvalidDomain,
    /// The selector (`s=`) is not a sequence of DNS labels (RFC 6376 §3.1).
    InvalidSelector,
    /// The message content holds a NUL, which text content may not carry.
    Body(BodyError),
    /// The message has no `From:` field, which a signature must cover (RFC 6376
    /// §5.4).
    NoFrom,
    /// mail-auth could not sign (its reason).
    Signing(String),
    /// A connection's `stream` was called on a builder with a signer: it sends each
    /// message as its reader gives it, never whole in memory (and its `SIZE=` before
    /// its content), so it cannot sign. Sign each message with [`DkimSigner::sign`]
    /// before the source yields it, on a builder without a signer, or use a pool.
    Streamed,
}

impl fmt::Display for DkimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DkimError::Pem => f.write_str("no PEM private key (PKCS#8 or PKCS#1) was found"),
            DkimError::UnsupportedKey => {
                f.write_str("the key is neither RSA nor Ed25519, the algorithms of DKIM")
            }
            DkimError::RsaForbidden { bits } => write!(
                f,
                "an RSA key of {bits} bits: RFC 8301 forbids signing with fewer than 1024"
            ),
            DkimError::RsaTooSmall { bits } => write!(
                f,
                "an RSA key of {bits} bits: at least 2048 are needed (RFC 8301 §3.2)"
            ),
            DkimError::KeyRejected(why) => write!(f, "the key was refused: {why}"),
            DkimError::InvalidDomain => f.write_str("the DKIM domain is not a domain name"),
            DkimError::InvalidSelector => f.write_str("the DKIM selector is not DNS labels"),
            DkimError::Body(e) => e.fmt(f),
            DkimError::NoFrom => f.write_str("the message has no From: field to sign"),
            DkimError::Signing(why) => write!(f, "DKIM signing failed: {why}"),
            DkimError::Streamed => f.write_str(
                "a streamed message cannot be DKIM-signed by the builder: sign it before",
            ),
        }
    }
}

impl std::error::Error for DkimError {}

/// Signs messages for one domain and selector with one key; `Clone` and cheap to clone
/// (the key is shared), `Send` and `Sync`. Its `Debug` shows the algorithm, domain and
/// selector, never the key.
///
/// ```
/// # fn key() -> &'static str { include_str!("../../testdata/dkim/ed25519.pem") }
/// use smtp_io::dkim::DkimSigner;
///
/// let signer = DkimSigner::from_pem(key(), "example.org", "mail")?;
/// let signed = signer.sign(b"From: a@example.org\nTo: b@example.net\n\nHi.\n")?;
/// assert!(signed.starts_with(b"DKIM-Signature: v=1; a=ed25519-sha256; s=mail; d=example.org;"));
/// // The DNS record to publish at mail._domainkey.example.org:
/// assert!(signer.dns_record().starts_with("v=DKIM1; k=ed25519; p="));
/// # Ok::<(), smtp_io::dkim::DkimError>(())
/// ```
#[derive(Clone)]
pub struct DkimSigner {
    key: Arc<DkimKey>,
    public: Arc<[u8]>,
    rsa_bits: Option<usize>,
    domain: String,
    selector: String,
}

impl fmt::Debug for DkimSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DkimSigner")
            .field("algorithm", &self.algorithm())
            .field("rsa_bits", &self.rsa_bits)
            .field("domain", &self.domain)
            .field("selector", &self.selector)
            .finish_non_exhaustive()
    }
}

/// The shared key, as mail-auth's signer takes a key by value for each message.
struct Shared(Arc<DkimKey>);

impl SigningKey for Shared {
    type Hasher = Sha256;

    fn sign(&self, input: impl Writable) -> mail_auth::Result<Vec<u8>> {
        self.0.sign(input)
    }

    fn algorithm(&self) -> Algorithm {
        self.0.algorithm()
    }
}

/// Whether `name` is dot-separated labels of letters, digits, hyphens (and
/// underscores, which selectors use) of at most 63 octets, 253 in all (RFC 1035
/// §2.3.4): what a `d=` or `s=` may be (RFC 6376 §3.1, §3.5), and nothing that could
/// end the tag or the field.
fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

impl DkimSigner {
    /// A signer for `domain` (`d=`) and `selector` (`s=`; the public key is published
    /// at `selector._domainkey.domain`, see [`dns_record`](Self::dns_record)) with the
    /// first private key in `pem`: RSA in PKCS#8 or PKCS#1, Ed25519 in PKCS#8.
    ///
    /// # Errors
    /// [`DkimError::Pem`], [`DkimError::UnsupportedKey`], [`DkimError::RsaForbidden`]
    /// (under 1024 bits), [`DkimError::RsaTooSmall`] (1024 to 2047 bits),
    /// [`DkimError::KeyRejected`], [`DkimError::InvalidDomain`],
    /// [`DkimError::InvalidSelector`].
    pub fn from_pem(
        pem: impl AsRef<[u8]>,
        domain: impl Into<String>,
        selector: impl Into<String>,
    ) -> Result<Self, DkimError> {
        let (domain, selector) = (domain.into(), selector.into());
        if !is_dns_name(&domain) {
            return Err(DkimError::InvalidDomain);
        }
        if !is_dns_name(&selector) {
            return Err(DkimError::InvalidSelector);
        }
        let loaded = key::load(pem.as_ref())?;
        Ok(DkimSigner {
            key: Arc::new(loaded.key),
            public: loaded.public.into(),
            rsa_bits: loaded.rsa_bits,
            domain,
            selector,
        })
    }

    /// `rsa-sha256` or `ed25519-sha256`.
    pub fn algorithm(&self) -> &'static str {
        match self.key.algorithm() {
            Algorithm::Ed25519Sha256 => "ed25519-sha256",
            _ => "rsa-sha256",
        }
    }

    /// The signing domain (`d=`).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The selector (`s=`).
    pub fn selector(&self) -> &str {
        &self.selector
    }

    /// The TXT record to publish at `selector._domainkey.domain` (RFC 6376 §3.6.1):
    /// `v=DKIM1; k=rsa; p=...` or `v=DKIM1; k=ed25519; p=...`.
    pub fn dns_record(&self) -> String {
        let k = match self.rsa_bits {
            Some(_) => "rsa",
            None => "ed25519",
        };
        let p = base64::engine::general_purpose::STANDARD.encode(&self.public);
        format!("v=DKIM1; k={k}; p={p}")
    }

    /// Signs a message of text content (7BIT or 8BITMIME): its line ends made CRLF as
    /// they will be sent (and a last one added), `Date:` and `Message-ID:` added if
    /// missing, then the `DKIM-Signature:` field prepended. The result is what to send.
    ///
    /// # Errors
    /// [`DkimError::Body`] for a NUL, [`DkimError::NoFrom`], [`DkimError::Signing`].
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, DkimError> {
        let content = content::normalise(message).map_err(DkimError::Body)?;
        self.sign_content(content)
    }

    /// Signs a `BODY=BINARYMIME` message (RFC 3030 §3), whose octets are sent as they
    /// are: only the header section's line ends are made CRLF; the body is signed as
    /// given.
    ///
    /// # Errors
    /// As [`sign`](Self::sign), a NUL in the header section included.
    pub fn sign_binary(&self, message: &[u8]) -> Result<Vec<u8>, DkimError> {
        let body = content::binary_body_start(message);
        let mut content = content::normalise(&message[..body]).map_err(DkimError::Body)?;
        content.extend_from_slice(&message[body..]);
        self.sign_content(content)
    }

    /// Adds the missing fields to CRLF content, signs it and prepends the signature.
    fn sign_content(&self, mut content: Vec<u8>) -> Result<Vec<u8>, DkimError> {
        content::add_missing_fields(&mut content, &self.domain, SystemTime::now());
        let end = content::header_end(&content);
        let names = content::field_names(&content[..end]);
        if !names.clone().any(|n| n.eq_ignore_ascii_case(b"From")) {
            return Err(DkimError::NoFrom);
        }
        let signature = mail_auth::dkim::DkimSigner::from_key(Shared(self.key.clone()))
            .domain(self.domain.as_str())
            .selector(self.selector.as_str())
            .headers(headers::to_sign(names))
            .sign(&content)
            .map_err(|e| DkimError::Signing(e.to_string()))?;
        let field = signature.to_header();
        let mut signed = Vec::with_capacity(field.len() + content.len());
        signed.extend_from_slice(field.as_bytes());
        signed.extend_from_slice(&content);
        Ok(signed)
    }
}
