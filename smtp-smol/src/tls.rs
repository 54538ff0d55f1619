//! TLS with rustls: implicit TLS (RFC 8314) and STARTTLS (RFC 3207), the certificate
//! checked against the name (or IP address) the caller connected to.

use std::io;
use std::sync::Arc;

use futures_lite::io::{AsyncRead, AsyncWrite};
use futures_rustls::client::TlsStream;
use futures_rustls::TlsConnector;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};

use crate::Error;

/// What a handshake needs: the configuration and the name to verify.
pub(crate) struct Tls {
    connector: TlsConnector,
    name: ServerName<'static>,
}

impl Tls {
    /// `config` or, by default, the webpki-roots trust anchors with the ring provider.
    pub(crate) fn new(host: &str, config: Option<Arc<ClientConfig>>) -> Result<Self, Error> {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| Error::InvalidHost(host.to_owned()))?;
        let config = match config {
            Some(c) => c,
            None => default_config()?,
        };
        Ok(Tls {
            connector: TlsConnector::from(config),
            name,
        })
    }

    pub(crate) async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: S,
    ) -> io::Result<TlsStream<S>> {
        self.connector.connect(self.name.clone(), stream).await
    }
}

/// The Mozilla trust anchors of webpki-roots, with ring as the provider, named
/// explicitly so that no process-wide default (or aws-lc-rs) is needed.
fn default_config() -> Result<Arc<ClientConfig>, Error> {
    let roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(Error::Tls)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
