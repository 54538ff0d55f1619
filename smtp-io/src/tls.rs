//! What a TLS handshake with rustls needs besides the stream (feature `rustls`): the
//! name the server's certificate must carry and the client configuration, by default
//! the webpki-roots trust anchors on the ring provider. The handshake itself is the
//! adapters' I/O.

use std::sync::{Arc, OnceLock};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, CommonState, HandshakeKind, ProtocolVersion, RootCertStore};

use crate::Error;

/// The configuration to verify the server with, and the name to verify.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TlsSetup {
    /// The rustls client configuration.
    pub config: Arc<ClientConfig>,
    /// What the certificate must name: the host the caller gave.
    pub name: ServerName<'static>,
}

impl TlsSetup {
    /// `host` is verified as an IP address if it is one, else as a DNS name
    /// ([`Error::InvalidHost`] if it is neither); `config`, else [`default_config`].
    pub fn new(host: &str, config: Option<Arc<ClientConfig>>) -> Result<Self, Error> {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| Error::InvalidHost(host.to_owned()))?;
        let config = match config {
            Some(c) => c,
            None => default_config()?,
        };
        Ok(TlsSetup { config, name })
    }
}

/// The Mozilla trust anchors of webpki-roots with ring as the provider, named
/// explicitly so that no process-wide default (or aws-lc-rs) is needed. Built once per
/// process.
pub fn default_config() -> Result<Arc<ClientConfig>, Error> {
    static CONFIG: OnceLock<Result<Arc<ClientConfig>, rustls::Error>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    });
    config.clone().map_err(Error::Tls)
}

/// How the adapters' `Connection::tls_version` names the version a session negotiated.
pub fn version_name(version: Option<ProtocolVersion>) -> &'static str {
    match version {
        Some(ProtocolVersion::TLSv1_3) => "TLSv1.3",
        Some(ProtocolVersion::TLSv1_2) => "TLSv1.2",
        _ => "TLS",
    }
}

/// How the adapters' `Connection::tls_version` and `Connection::tls_resumed` describe
/// a TLS session: its version's name, and whether its handshake resumed an earlier
/// session (RFC 8446 §2.2, RFC 5246 §7.3) rather than running a full one.
pub fn describe(state: &CommonState) -> (&'static str, bool) {
    let resumed = state.handshake_kind() == Some(HandshakeKind::Resumed);
    (version_name(state.protocol_version()), resumed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dns_name_or_an_ip_address_and_nothing_else() {
        let dns = TlsSetup::new("mx.example.org", None).unwrap();
        assert!(matches!(dns.name, ServerName::DnsName(_)));
        let ip = TlsSetup::new("192.0.2.1", None).unwrap();
        assert!(matches!(ip.name, ServerName::IpAddress(_)));
        let e = TlsSetup::new("not a host", None).unwrap_err();
        assert!(matches!(e, Error::InvalidHost(h) if h == "not a host"));
    }

    #[test]
    fn the_default_configuration_is_built_once_and_a_given_one_is_kept() {
        let a = default_config().unwrap();
        assert!(Arc::ptr_eq(&a, &default_config().unwrap()));
        let b = TlsSetup::new("mx.example.org", None).unwrap();
        assert!(Arc::ptr_eq(&a, &b.config));
        let own = Arc::new((*a).clone());
        let c = TlsSetup::new("mx.example.org", Some(own.clone())).unwrap();
        assert!(Arc::ptr_eq(&own, &c.config));
    }

    #[test]
    fn version_names() {
        assert_eq!(version_name(Some(ProtocolVersion::TLSv1_3)), "TLSv1.3");
        assert_eq!(version_name(Some(ProtocolVersion::TLSv1_2)), "TLSv1.2");
        assert_eq!(version_name(None), "TLS");
    }
}
