//! Certificates (rcgen) and an in-process handshake: a rustls server and an smtp-mx
//! client configuration exchanging TLS records in memory.

use std::net::IpAddr;
use std::sync::Arc;

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::crypto::ring::default_provider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{ClientConnection, ServerConfig, ServerConnection, SupportedProtocolVersion};
use smtp_mx::tls::TlsSetup;

/// A certificate with its key.
pub(crate) struct Cert {
    pub(crate) der: CertificateDer<'static>,
    pub(crate) key: KeyPair,
}

/// How a leaf is made.
pub(crate) struct Leaf<'a> {
    pub(crate) names: &'a [&'a str],
    pub(crate) expired: bool,
}

impl<'a> Leaf<'a> {
    /// Valid now.
    pub(crate) fn current(names: &'a [&'a str]) -> Self {
        Leaf {
            names,
            expired: false,
        }
    }

    /// Expired in 2001.
    pub(crate) fn expired(names: &'a [&'a str]) -> Self {
        Leaf {
            names,
            expired: true,
        }
    }

    fn params(&self) -> CertificateParams {
        let names: Vec<String> = self.names.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name.push(
            DnType::CommonName,
            self.names.first().copied().unwrap_or("leaf"),
        );
        if self.expired {
            params.not_before = date_time_ymd(2000, 1, 1);
            params.not_after = date_time_ymd(2001, 1, 1);
        }
        params
    }

    /// Self-signed.
    pub(crate) fn self_signed(&self) -> Cert {
        let key = KeyPair::generate().unwrap();
        let der = self.params().self_signed(&key).unwrap().der().clone();
        Cert { der, key }
    }

    /// Issued by `ca`.
    pub(crate) fn issued_by(&self, ca: &Ca) -> Cert {
        let key = KeyPair::generate().unwrap();
        let issuer = Issuer::from_params(&ca.params, &ca.cert.key);
        let der = self
            .params()
            .signed_by(&key, &issuer)
            .unwrap()
            .der()
            .clone();
        Cert { der, key }
    }
}

/// A certificate authority.
pub(crate) struct Ca {
    pub(crate) cert: Cert,
    params: CertificateParams,
}

impl Ca {
    pub(crate) fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().unwrap();
        let der = params.self_signed(&key).unwrap().der().clone();
        Ca {
            cert: Cert { der, key },
            params,
        }
    }
}

fn private_key(key: &KeyPair) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()))
}

/// A server presenting `chain` and signing its handshake with `signer`: the chain's
/// own key, or another one (a certificate replayed without its key).
pub(crate) fn server(
    chain: &[&CertificateDer<'static>],
    signer: &KeyPair,
    versions: &[&'static SupportedProtocolVersion],
) -> Arc<ServerConfig> {
    let provider = Arc::new(default_provider());
    let key = provider
        .key_provider
        .load_private_key(private_key(signer))
        .unwrap();
    // CertifiedKey::new does not check that key and certificate belong together.
    let certified = CertifiedKey::new(chain.iter().map(|c| (*c).clone()).collect(), key);
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SingleCertAndKey::from(certified)));
    Arc::new(config)
}

/// Both TLS versions rustls speaks.
pub(crate) const BOTH: &[&SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];
pub(crate) const TLS12: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];
pub(crate) const TLS13: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];

fn deliver(from: &mut impl FnMut(&mut Vec<u8>), to: &mut dyn FnMut(&mut &[u8])) -> bool {
    let mut buf = Vec::new();
    from(&mut buf);
    let mut rest = &buf[..];
    while !rest.is_empty() {
        to(&mut rest);
    }
    !buf.is_empty()
}

/// A full handshake between `setup` (connecting to 127.0.0.1) and `server`, in
/// memory; the client's error if either side fails.
pub(crate) fn handshake(setup: &TlsSetup, server: Arc<ServerConfig>) -> Result<(), rustls::Error> {
    let peer = IpAddr::from([127, 0, 0, 1]);
    handshake_with(setup.config(), setup.server_name(peer), server)
}

/// [`handshake`] of a client configuration of the caller's own, connecting as `name`.
pub(crate) fn handshake_with(
    config: Arc<rustls::ClientConfig>,
    name: rustls::pki_types::ServerName<'static>,
    server: Arc<ServerConfig>,
) -> Result<(), rustls::Error> {
    let mut client = ClientConnection::new(config, name)?;
    let mut server = ServerConnection::new(server).unwrap();
    for _ in 0..32 {
        let c2s = deliver(
            &mut |b| {
                client.write_tls(b).unwrap();
            },
            &mut |r| {
                server.read_tls(r).unwrap();
            },
        );
        let server_state = server.process_new_packets().map(drop);
        let s2c = deliver(
            &mut |b| {
                server.write_tls(b).unwrap();
            },
            &mut |r| {
                client.read_tls(r).unwrap();
            },
        );
        client.process_new_packets()?;
        server_state?;
        if !client.is_handshaking() && !server.is_handshaking() {
            return Ok(());
        }
        if !c2s && !s2c {
            panic!("handshake stalled");
        }
    }
    panic!("handshake did not finish")
}
