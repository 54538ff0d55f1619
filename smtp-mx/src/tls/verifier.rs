//! The one `ServerCertVerifier` every requirement uses: a certificate check of its own
//! (any certificate, WebPKI, DANE), the handshake signature always checked by rustls,
//! and a slot recording how both went for the caller's TLS report (RFC 8460 §4.3).

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use smtp_proto::mx::{TlsResultType, Verification};

/// How the certificate check and the handshake signature went: `Ok` when the
/// handshake may go on (with what to report), `Err` with the RFC 8460 result type when
/// the verifier ended it. Empty until the server's certificate arrived.
pub(crate) type Outcome = Result<Verification, TlsResultType>;

/// Shared between a verifier and the [`TlsSetup`](super::TlsSetup) that built it.
#[derive(Clone, Default)]
pub(crate) struct Slot(Arc<Mutex<Option<Outcome>>>);

impl Slot {
    pub(crate) fn get(&self) -> Option<Outcome> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self, outcome: Outcome) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(outcome);
    }
}

/// A certificate check: what one [`TlsRequirement`](smtp_proto::mx::TlsRequirement)
/// asks of the server's chain. The handshake signature is not its business.
pub(crate) trait CertCheck: Send + Sync {
    fn check(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Outcome;
}

pub(crate) struct Verifier<C> {
    check: C,
    algorithms: WebPkiSupportedAlgorithms,
    slot: Slot,
}

impl<C> Verifier<C> {
    pub(crate) fn new(check: C, algorithms: WebPkiSupportedAlgorithms, slot: Slot) -> Self {
        Verifier {
            check,
            algorithms,
            slot,
        }
    }

    /// Records a failed handshake signature: the server does not hold the key of the
    /// certificate it showed, whatever the certificate check said.
    fn signature(
        &self,
        result: Result<HandshakeSignatureValid, rustls::Error>,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if result.is_err() {
            self.slot.set(Err(TlsResultType::ValidationFailure));
        }
        result
    }
}

impl<C> fmt::Debug for Verifier<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("smtp_mx::tls::Verifier")
    }
}

impl<C: CertCheck> ServerCertVerifier for Verifier<C> {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The names a check compares with are the requirement's own, not the SNI sent.
        let outcome = self.check.check(end_entity, intermediates, now);
        self.slot.set(outcome);
        match outcome {
            Ok(_) => Ok(ServerCertVerified::assertion()),
            Err(t) => Err(rustls::Error::InvalidCertificate(certificate_error(t))),
        }
    }

    // RFC 8446 §4.4.3, RFC 5246 §7.4.8: proof that the server holds the certificate's
    // key. Checked by rustls for every requirement, opportunistic included: a
    // certificate replayed without its key must never pass a DANE digest match.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signature(verify_tls12_signature(message, cert, dss, &self.algorithms))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signature(verify_tls13_signature(message, cert, dss, &self.algorithms))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The alert rustls sends for a failed check.
fn certificate_error(t: TlsResultType) -> CertificateError {
    match t {
        TlsResultType::CertificateExpired => CertificateError::Expired,
        TlsResultType::CertificateHostMismatch => CertificateError::NotValidForName,
        TlsResultType::CertificateNotTrusted => CertificateError::UnknownIssuer,
        _ => CertificateError::ApplicationVerificationFailure,
    }
}

/// RFC 8460 §4.3's name for a rustls certificate error (WebPKI checks).
pub(crate) fn result_type(e: &rustls::Error) -> TlsResultType {
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => TlsResultType::CertificateExpired,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                TlsResultType::CertificateHostMismatch
            }
            CertificateError::UnknownIssuer => TlsResultType::CertificateNotTrusted,
            _ => TlsResultType::ValidationFailure,
        },
        _ => TlsResultType::ValidationFailure,
    }
}

/// RFC 8460 §4.3's name for a rustls-webpki error (DANE-TA chains).
pub(crate) fn webpki_result_type(e: &webpki::Error) -> TlsResultType {
    match e {
        webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. } => {
            TlsResultType::CertificateExpired
        }
        webpki::Error::CertNotValidForName(_) => TlsResultType::CertificateHostMismatch,
        // No path to the anchor: none of its name, or not signed by its key.
        webpki::Error::UnknownIssuer | webpki::Error::InvalidSignatureForPublicKey => {
            TlsResultType::CertificateNotTrusted
        }
        _ => TlsResultType::ValidationFailure,
    }
}

/// Any certificate (opportunistic and encrypt-only TLS, RFC 7435, RFC 7672 §2.2).
pub(crate) struct AnyCert;

impl CertCheck for AnyCert {
    fn check(&self, _: &CertificateDer<'_>, _: &[CertificateDer<'_>], _: UnixTime) -> Outcome {
        Ok(Verification::NotChecked)
    }
}
