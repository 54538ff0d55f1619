//! WebPKI for the MX host name (MTA-STS, RFC 8461 §4.2), through rustls' own verifier.

use std::sync::Arc;

use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use smtp_proto::mx::Verification;

use super::verifier::{result_type, CertCheck, Outcome};

pub(crate) struct Pkix {
    pub(crate) webpki: Arc<WebPkiServerVerifier>,
    pub(crate) name: ServerName<'static>,
    /// False for an MTA-STS `testing` policy: a failure is reported, the session goes
    /// on (RFC 8461 §5).
    pub(crate) enforce: bool,
}

impl CertCheck for Pkix {
    fn check(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Outcome {
        match self
            .webpki
            .verify_server_cert(end_entity, intermediates, &self.name, &[], now)
        {
            Ok(_) => Ok(Verification::Verified),
            Err(e) if self.enforce => Err(result_type(&e)),
            Err(e) => Ok(Verification::Failed(result_type(&e))),
        }
    }
}
