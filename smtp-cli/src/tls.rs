//! The rustls configuration from `--ca-file` and `--insecure` (ring provider, as the
//! adapters use). Without either, the adapters' default (Mozilla roots) applies.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use crate::exit::{Failure, Invalid};

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
/// `--insecure` takes any certificate, but its handshake signature is still checked
/// (smtp-mx's verifier of opportunistic TLS), so the handshake itself is sound, only
/// the server's identity is not.
pub(crate) fn verifier(
    ca_file: Option<&Path>,
    insecure: bool,
) -> Result<Option<Arc<dyn ServerCertVerifier>>, Failure> {
    if let Some(path) = ca_file {
        let mut roots = RootCertStore::empty();
        for cert in ca_certs(path).map_err(|e| e.flag("--ca-file"))? {
            roots
                .add(cert)
                .map_err(|e| Failure::Usage(format!("--ca-file {}: {e}", path.display())))?;
        }
        return webpki(roots).map(Some);
    }
    Ok(insecure.then(smtp_mx::tls::any_certificate))
}

/// WebPKI verification against `roots` (what `with_root_certificates` builds).
fn webpki(roots: RootCertStore) -> Result<Arc<dyn ServerCertVerifier>, Failure> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map(|v| v as Arc<dyn ServerCertVerifier>)
        .map_err(|e| Failure::Usage(format!("TLS configuration: {e}")))
}

/// The certificates of the PEM file at `path` (`--ca-file`, the `ca_file` key): at
/// least one.
pub(crate) fn ca_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, Invalid> {
    let bad = |e: String| Invalid::of(path.display(), e);
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no certificate in the file".into()));
    }
    Ok(certs)
}
