//! rustls (ring provider) for implicit TLS and STARTTLS.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use crate::driver::{is_timeout, Socket};
use crate::Error;

/// A TLS session over the caller's socket.
pub(crate) type TlsStream<S> = StreamOwned<ClientConnection, S>;

/// What a handshake needs: the trust configuration and the name to verify.
pub(crate) struct TlsSetup {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

impl TlsSetup {
    /// `host` is verified as an IP address if it is one, else as a DNS name.
    pub(crate) fn new(host: &str, config: Option<Arc<ClientConfig>>) -> Result<Self, Error> {
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| Error::InvalidHost(host.to_string()))?;
        Ok(TlsSetup {
            config: config.unwrap_or_else(default_config),
            name,
        })
    }
}

/// webpki-roots on ring, built once per process.
fn default_config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("ring supports the default protocol versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}

/// Runs the client handshake to completion or until `deadline`.
pub(crate) fn handshake<S: Socket>(
    sock: S,
    setup: &TlsSetup,
    deadline: Instant,
) -> Result<TlsStream<S>, Error> {
    let conn =
        ClientConnection::new(setup.config.clone(), setup.name.clone()).map_err(Error::Tls)?;
    let mut s = StreamOwned::new(conn, sock);
    while s.conn.is_handshaking() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Timeout {
                stage: smtp_proto::Stage::TlsHandshake,
            });
        }
        s.sock.set_timeout(Some(left)).map_err(Error::Io)?;
        match s.conn.complete_io(&mut s.sock) {
            Ok(_) => {}
            Err(e) if is_timeout(&e) || e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::from_io(e)),
        }
    }
    Ok(s)
}
