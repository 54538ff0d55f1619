//! The rustls configuration from `--ca-file` and `--insecure` (ring provider, as the
//! adapters use). Without either, the adapters' default (Mozilla roots) applies.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::exit::Failure;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A configuration verifying the server with `verifier`.
pub(crate) fn config(verifier: Arc<dyn ServerCertVerifier>) -> Result<Arc<ClientConfig>, Failure> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Failure::Usage(format!("TLS configuration: {e}")))?;
    Ok(Arc::new(
        builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth(),
    ))
}

/// The verifier of `--ca-file` and `--insecure`; `None` for the adapters' default.
pub(crate) fn verifier(
    ca_file: Option<&Path>,
    insecure: bool,
) -> Result<Option<Arc<dyn ServerCertVerifier>>, Failure> {
    let inner = if let Some(path) = ca_file {
        Some(trusting(path)?)
    } else if insecure {
        None
    } else {
        return Ok(None);
    };
    Ok(Some(Arc::new(Verifier {
        inner,
        provider: provider(),
    })))
}

/// WebPKI verification against `roots` (what `with_root_certificates` builds).
fn webpki(roots: RootCertStore) -> Result<Arc<dyn ServerCertVerifier>, Failure> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map(|v| v as Arc<dyn ServerCertVerifier>)
        .map_err(|e| Failure::Usage(format!("TLS configuration: {e}")))
}

/// A verifier trusting only the certificates of the PEM file at `path`.
fn trusting(path: &Path) -> Result<Arc<dyn ServerCertVerifier>, Failure> {
    let bad = |e: String| Failure::Usage(format!("--ca-file {}: {e}", path.display()));
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))? {
        let cert = cert.map_err(|e| bad(e.to_string()))?;
        roots.add(cert).map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("no certificate in the file".into()));
    }
    webpki(roots)
}

/// The certificate check: `inner`'s, or none at all (`--insecure`: any certificate is
/// accepted, but signatures are still checked, so the handshake itself is sound, only
/// the server's identity is not).
#[derive(Debug)]
struct Verifier {
    inner: Option<Arc<dyn ServerCertVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &self.inner {
            Some(v) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
