//! TLS with rustls: implicit TLS (RFC 8314) and STARTTLS (RFC 3207), the certificate
//! checked against the name (or IP address) the caller connected to.

use std::io;

use smtp_io::tls::TlsSetup;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// What a handshake needs: the configuration and the name to verify.
pub(crate) struct Tls(pub(crate) TlsSetup);

impl Tls {
    pub(crate) async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: S,
    ) -> io::Result<TlsStream<S>> {
        let Tls(TlsSetup { config, name, .. }) = self;
        TlsConnector::from(config.clone())
            .connect(name.clone(), stream)
            .await
    }
}
