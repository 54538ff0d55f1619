//! Loading a DKIM private key from PEM: RSA (PKCS#8 or PKCS#1) or Ed25519 (PKCS#8),
//! with the key sizes RFC 8301 allows.

use mail_auth::common::crypto::{DkimKey, Ed25519Key, RsaKey, Sha256};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use super::der;
use super::DkimError;

/// The smallest RSA modulus a DKIM signer may use at all (RFC 8301 §3.2: "MUST NOT
/// use RSA keys of less than 1024 bits").
pub const RSA_FORBIDDEN_BELOW: usize = 1024;
/// The smallest RSA modulus accepted: RFC 8301 §3.2 says signers SHOULD use at least
/// 2048 bits, and ring signs with nothing smaller.
pub const RSA_MIN_BITS: usize = 2048;

/// A loaded key and what is public about it.
pub(crate) struct Loaded {
    pub(crate) key: DkimKey,
    /// The `p=` value of the key's DNS record, decoded: the SubjectPublicKeyInfo of an
    /// RSA key (RFC 6376 §3.6.1), the 32 octets of an Ed25519 key (RFC 8463 §4).
    pub(crate) public: Vec<u8>,
    /// The modulus size of an RSA key.
    pub(crate) rsa_bits: Option<usize>,
}

/// Reads the first private key of a PEM document.
pub(crate) fn load(pem: &[u8]) -> Result<Loaded, DkimError> {
    match PrivateKeyDer::from_pem_slice(pem).map_err(|_| DkimError::Pem)? {
        PrivateKeyDer::Pkcs1(der) => rsa(PrivateKeyDer::Pkcs1(der.clone_key())),
        PrivateKeyDer::Pkcs8(der) => match der::pkcs8_algorithm(der.secret_pkcs8_der()) {
            Some(der::Algorithm::Rsa) => rsa(PrivateKeyDer::Pkcs8(der.clone_key())),
            Some(der::Algorithm::Ed25519) => ed25519(&der),
            None => Err(DkimError::UnsupportedKey),
        },
        // SEC1 (EC) keys and anything newer: DKIM signs with RSA or Ed25519 only.
        _ => Err(DkimError::UnsupportedKey),
    }
}

fn rsa(der: PrivateKeyDer<'_>) -> Result<Loaded, DkimError> {
    let bits = match &der {
        PrivateKeyDer::Pkcs1(k) => der::rsa_modulus_bits(k.secret_pkcs1_der()),
        PrivateKeyDer::Pkcs8(k) => der::pkcs8_rsa_modulus_bits(k.secret_pkcs8_der()),
        _ => None,
    }
    .ok_or(DkimError::Pem)?;
    if bits < RSA_FORBIDDEN_BELOW {
        return Err(DkimError::RsaForbidden { bits });
    }
    if bits < RSA_MIN_BITS {
        return Err(DkimError::RsaTooSmall { bits });
    }
    let key = RsaKey::<Sha256>::from_key_der(der).map_err(rejected)?;
    let public = der::rsa_spki(&key.public_key());
    Ok(Loaded {
        key: DkimKey::Rsa(key),
        public,
        rsa_bits: Some(bits),
    })
}

fn ed25519(der: &PrivatePkcs8KeyDer<'_>) -> Result<Loaded, DkimError> {
    // OpenSSL writes PKCS#8 v1 (no public key inside), which only the "maybe
    // unchecked" constructor reads; ring still derives the public key from the seed.
    let key =
        Ed25519Key::from_pkcs8_maybe_unchecked_der(der.secret_pkcs8_der()).map_err(rejected)?;
    let public = key.public_key();
    Ok(Loaded {
        key: DkimKey::Ed25519(key),
        public,
        rsa_bits: None,
    })
}

/// The backend's refusal, without anything of the key: ring's messages are fixed
/// words ("InvalidEncoding", "InconsistentComponents" ...).
fn rejected(e: mail_auth::Error) -> DkimError {
    DkimError::KeyRejected(e.to_string())
}
