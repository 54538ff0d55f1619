//! The sink's certificate, made with rcgen when it starts, and the rustls configurations
//! around it (ring provider, as the adapters use).

use std::io;
use std::sync::Arc;

use rustls::crypto::ring::default_provider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// A self-signed certificate for `localhost` and `127.0.0.1`, and the server side of it.
pub(crate) struct Identity {
    pub(crate) cert: CertificateDer<'static>,
    pub(crate) server: Arc<ServerConfig>,
}

fn other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("smtp-sink TLS set-up: {e}"))
}

impl Identity {
    pub(crate) fn generate() -> io::Result<Self> {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
            .map_err(other)?;
        let cert = made.cert.der().clone();
        let key = PrivatePkcs8KeyDer::from(made.signing_key.serialize_der());
        let server = ServerConfig::builder_with_provider(Arc::new(default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(other)?
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], PrivateKeyDer::Pkcs8(key))
            .map_err(other)?;
        Ok(Identity {
            cert,
            server: Arc::new(server),
        })
    }
}

/// A root store holding only `cert`.
pub(crate) fn roots(cert: &CertificateDer<'static>) -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots
        .add(cert.clone())
        .expect("rustls accepts the certificate rcgen just made");
    roots
}

/// A ring client configuration trusting only `cert`.
pub(crate) fn client_config(cert: &CertificateDer<'static>) -> Arc<ClientConfig> {
    let config = ClientConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots(cert))
        .with_no_client_auth();
    Arc::new(config)
}
