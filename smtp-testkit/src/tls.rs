//! A test certificate made at run time, and the rustls configurations around it.

use std::sync::{Arc, OnceLock};

use rustls::crypto::ring::default_provider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// A self-signed certificate for `localhost` and `127.0.0.1`, made once per test process.
pub struct TestCert {
    cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
}

impl TestCert {
    /// The process-wide test certificate.
    pub fn get() -> &'static TestCert {
        static CERT: OnceLock<TestCert> = OnceLock::new();
        CERT.get_or_init(|| {
            let made = rcgen::generate_simple_self_signed(vec![
                "localhost".to_string(),
                "127.0.0.1".to_string(),
            ])
            .expect("rcgen: self-signed certificate");
            TestCert {
                cert: made.cert.der().clone(),
                key: PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()),
            }
        })
    }

    /// The certificate, DER.
    pub fn der(&self) -> &CertificateDer<'static> {
        &self.cert
    }

    /// A server configuration presenting the certificate.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        let config = ServerConfig::builder_with_provider(Arc::new(default_provider()))
            .with_safe_default_protocol_versions()
            .expect("rustls: protocol versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![self.cert.clone()],
                PrivateKeyDer::Pkcs8(self.key.clone_key()),
            )
            .expect("rustls: server certificate");
        Arc::new(config)
    }

    /// A client configuration whose only trust anchor is this certificate.
    pub fn client_config(&self) -> Arc<ClientConfig> {
        client_config_trusting([self.cert.clone()])
    }
}

/// A ring-based client configuration trusting exactly `anchors`.
pub fn client_config_trusting(
    anchors: impl IntoIterator<Item = CertificateDer<'static>>,
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for a in anchors {
        roots.add(a).expect("rustls: trust anchor");
    }
    let config = ClientConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()
        .expect("rustls: protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}
