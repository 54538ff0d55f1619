//! What an attempt asks of TLS, and what the TLS layer reports back, in the terms of
//! RFC 8460 §4.3 so that TLS reporting needs no translation.

use alloc::vec::Vec;

use super::tlsa::Tlsa;
use crate::command::Domain;

/// The TLS an attempt requires; the std crate builds a rustls verifier from it. Every
/// verifier, the opportunistic one included, checks the handshake signature: a
/// certificate presented without its private key is never accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsRequirement {
    /// STARTTLS when offered, any certificate; cleartext when not offered (RFC 3207
    /// opportunistic, RFC 7435).
    Opportunistic,
    /// STARTTLS required, any certificate (RFC 7672 §2.2: TLSA records, none usable).
    EncryptOnly,
    /// STARTTLS required and a WebPKI certificate for `name` (RFC 8461 §4.2). With
    /// `enforce` false (an MTA-STS `testing` policy) a failed check is reported, not
    /// fatal (RFC 8461 §5).
    Pkix {
        /// The MX host name the certificate must match.
        name: Domain,
        /// Whether a failed check ends the attempt.
        enforce: bool,
    },
    /// STARTTLS required and a chain matching the usable TLSA records (RFC 7672 §3).
    Dane {
        /// The TLSA base domain, sent as SNI (RFC 7672 §8.1).
        sni: Domain,
        /// The usable records.
        tlsa: Vec<Tlsa>,
        /// The reference identifiers a DANE-TA chain's leaf must match (RFC 7672 §3.2.2).
        ta_names: Vec<Domain>,
    },
}

impl TlsRequirement {
    /// Whether the attempt may go on in cleartext when STARTTLS is not offered.
    pub fn allows_cleartext(&self) -> bool {
        matches!(
            self,
            TlsRequirement::Opportunistic | TlsRequirement::Pkix { enforce: false, .. }
        )
    }
}

/// RFC 8460 §4.3 result types, for failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TlsResultType {
    /// `starttls-not-supported`.
    StarttlsNotSupported,
    /// `certificate-host-mismatch`.
    CertificateHostMismatch,
    /// `certificate-expired`.
    CertificateExpired,
    /// `certificate-not-trusted`.
    CertificateNotTrusted,
    /// `validation-failure`: any other failure (a handshake failure, a DANE mismatch).
    ValidationFailure,
    /// `tlsa-invalid`.
    TlsaInvalid,
    /// `dnssec-invalid`.
    DnssecInvalid,
    /// `dane-required`.
    DaneRequired,
    /// `sts-policy-fetch-error`.
    StsPolicyFetchError,
    /// `sts-policy-invalid`.
    StsPolicyInvalid,
    /// `sts-webpki-invalid`.
    StsWebpkiInvalid,
}

impl TlsResultType {
    /// The name RFC 8460 §4.3 gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsResultType::StarttlsNotSupported => "starttls-not-supported",
            TlsResultType::CertificateHostMismatch => "certificate-host-mismatch",
            TlsResultType::CertificateExpired => "certificate-expired",
            TlsResultType::CertificateNotTrusted => "certificate-not-trusted",
            TlsResultType::ValidationFailure => "validation-failure",
            TlsResultType::TlsaInvalid => "tlsa-invalid",
            TlsResultType::DnssecInvalid => "dnssec-invalid",
            TlsResultType::DaneRequired => "dane-required",
            TlsResultType::StsPolicyFetchError => "sts-policy-fetch-error",
            TlsResultType::StsPolicyInvalid => "sts-policy-invalid",
            TlsResultType::StsWebpkiInvalid => "sts-webpki-invalid",
        }
    }
}

/// How the server's certificate fared against the attempt's [`TlsRequirement`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verification {
    /// It met the requirement (PKIX or DANE).
    Verified,
    /// Nothing was required of it (opportunistic, encrypt-only).
    NotChecked,
    /// It failed, and the requirement let the session go on (MTA-STS `testing`).
    Failed(TlsResultType),
}

/// What the TLS layer reports about a completed handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TlsInfo {
    /// The certificate check.
    pub verification: Verification,
}
