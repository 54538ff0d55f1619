//! rustls client configurations for one attempt's [`TlsRequirement`]: DANE (RFC 7672),
//! WebPKI for the MX name (MTA-STS, RFC 8461 §4.2), or any certificate (opportunistic,
//! encrypt-only). Every verifier checks the handshake signature through rustls, so a
//! certificate shown without its private key never passes, and records how the check
//! went so the adapter can report it (RFC 8460 §4.3):
//!
//! ```no_run
//! # fn handshake(_: &rustls::ClientConfig, _: rustls::pki_types::ServerName<'static>) -> Result<(), rustls::Error> { Ok(()) }
//! use smtp_mx::tls::{client_config, Roots};
//! use smtp_proto::mx::TlsRequirement;
//!
//! let setup = client_config(&TlsRequirement::Opportunistic, &Roots::webpki())?;
//! let name = setup.server_name("192.0.2.1".parse().unwrap());
//! match handshake(&setup.config(), name) {
//!     Ok(()) => println!("{:?}", setup.info()),       // Some(TlsInfo { verification })
//!     Err(_) => println!("{:?}", setup.failure()),    // the RFC 8460 result type
//! }
//! # Ok::<(), smtp_mx::tls::ConfigError>(())
//! ```

mod dane;
mod der;
mod pkix;
mod verifier;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use smtp_proto::command::Domain;
use smtp_proto::mx::{TlsInfo, TlsRequirement, TlsResultType};

use verifier::{AnyCert, CertCheck, Slot, Verifier};

/// The trust roots of WebPKI checks (MTA-STS hosts), and the crypto provider every
/// configuration is built on (ring, as the adapters use). Cheap to clone.
#[derive(Clone)]
pub struct Roots {
    store: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
}

impl Roots {
    /// Mozilla's roots (webpki-roots), as the adapters' default.
    pub fn webpki() -> Self {
        Roots::new(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        })
    }

    /// The given roots (a test CA, a `--ca-file`'s, or Mozilla's plus others).
    pub fn new(store: RootCertStore) -> Self {
        Roots {
            store: Arc::new(store),
            provider: Arc::new(rustls::crypto::ring::default_provider()),
        }
    }
}

impl fmt::Debug for Roots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Roots")
            .field("roots", &self.store.len())
            .finish_non_exhaustive()
    }
}

/// Why no configuration could be built for a requirement.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// A name the requirement compares certificates with (or sends as SNI) is no DNS
    /// name: an address literal, or not ASCII.
    InvalidName(String),
    /// A DANE requirement without one usable TLSA record (RFC 7672 §3.1): the planner
    /// asks for encrypt-only TLS then.
    NoUsableTlsa,
    /// rustls refused the configuration (no WebPKI roots, for instance).
    Rustls(rustls::Error),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::InvalidName(n) => write!(f, "{n:?} is not a DNS name for TLS"),
            ConfigError::NoUsableTlsa => {
                f.write_str("DANE requirement without a usable TLSA record")
            }
            ConfigError::Rustls(e) => write!(f, "TLS configuration: {e}"),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Rustls(e) => Some(e),
            _ => None,
        }
    }
}

/// One attempt's TLS: the rustls configuration, the name to connect with, and what
/// the verifier found. Build one per connection (session resumption is off, so every
/// handshake is verified, and the record is this connection's).
#[derive(Clone)]
pub struct TlsSetup {
    config: Arc<ClientConfig>,
    sni: Option<ServerName<'static>>,
    slot: Slot,
}

impl fmt::Debug for TlsSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSetup")
            .field("sni", &self.sni)
            .field("outcome", &self.slot.get())
            .finish_non_exhaustive()
    }
}

impl TlsSetup {
    /// The configuration to start the handshake with.
    pub fn config(&self) -> Arc<ClientConfig> {
        self.config.clone()
    }

    /// The server name to give rustls: the TLSA base domain for DANE (sent as SNI, RFC
    /// 7672 §8.1), the MX name for WebPKI, otherwise `peer`, the address connected to
    /// (no SNI is sent for an address).
    pub fn server_name(&self, peer: IpAddr) -> ServerName<'static> {
        self.sni
            .clone()
            .unwrap_or(ServerName::IpAddress(peer.into()))
    }

    /// After a completed handshake: how the certificate fared. `None` when no
    /// certificate was checked (the handshake did not get that far).
    pub fn info(&self) -> Option<TlsInfo> {
        match self.slot.get()? {
            Ok(verification) => Some(TlsInfo { verification }),
            Err(_) => None,
        }
    }

    /// After a failed handshake: its RFC 8460 §4.3 result type. A rejected certificate
    /// gives the reason (`certificate-expired`, `certificate-host-mismatch`,
    /// `certificate-not-trusted`, `validation-failure`); a handshake signature by
    /// another key or any other failure gives `validation-failure`.
    pub fn failure(&self) -> TlsResultType {
        match self.slot.get() {
            Some(Err(t)) => t,
            _ => TlsResultType::ValidationFailure,
        }
    }
}

/// A DNS name for rustls from a requirement's domain.
fn dns_name(domain: &Domain) -> Result<ServerName<'static>, ConfigError> {
    let text = domain.as_str();
    match ServerName::try_from(text.to_owned()) {
        Ok(name @ ServerName::DnsName(_)) => Ok(name),
        _ => Err(ConfigError::InvalidName(text.to_owned())),
    }
}

/// The rustls configuration for `req`: its verifier (see the module), the server name
/// to use, and the record of the check ([`TlsSetup`]).
///
/// # Errors
/// [`ConfigError`]: a name that is no DNS name, a DANE requirement with no usable
/// record, or roots rustls refuses for a WebPKI requirement.
pub fn client_config(req: &TlsRequirement, roots: &Roots) -> Result<TlsSetup, ConfigError> {
    let slot = Slot::default();
    let algorithms = roots.provider.signature_verification_algorithms;
    let (verifier, sni): (Arc<dyn rustls::client::danger::ServerCertVerifier>, _) = match req {
        TlsRequirement::Opportunistic | TlsRequirement::EncryptOnly => {
            (verify(AnyCert, algorithms, &slot), None)
        }
        TlsRequirement::Pkix { name, enforce } => {
            let name = dns_name(name)?;
            let webpki = WebPkiServerVerifier::builder_with_provider(
                roots.store.clone(),
                roots.provider.clone(),
            )
            .build()
            .map_err(|e| ConfigError::Rustls(rustls::Error::General(e.to_string())))?;
            let check = pkix::Pkix {
                webpki,
                name: name.clone(),
                enforce: *enforce,
            };
            (verify(check, algorithms, &slot), Some(name))
        }
        TlsRequirement::Dane {
            sni,
            tlsa,
            ta_names,
        } => {
            let records: Vec<_> = tlsa.iter().filter(|r| r.is_usable()).cloned().collect();
            if records.is_empty() {
                return Err(ConfigError::NoUsableTlsa);
            }
            let check = dane::Dane {
                records,
                ta_names: ta_names.iter().map(dns_name).collect::<Result<_, _>>()?,
                algorithms: algorithms.all,
            };
            (verify(check, algorithms, &slot), Some(dns_name(sni)?))
        }
    };
    let mut config = ClientConfig::builder_with_provider(roots.provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(ConfigError::Rustls)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    // A resumed session skips the certificate check: every attempt verifies afresh.
    config.resumption = Resumption::disabled();
    Ok(TlsSetup {
        config: Arc::new(config),
        sni,
        slot,
    })
}

fn verify<C: CertCheck + 'static>(
    check: C,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
    slot: &Slot,
) -> Arc<dyn rustls::client::danger::ServerCertVerifier> {
    Arc::new(Verifier::new(check, algorithms, slot.clone()))
}

/// A verifier taking any certificate (no chain, name or date checked) while rustls
/// still checks the handshake signature against it, so the peer must hold the key of
/// what it shows: the verifier of opportunistic TLS (RFC 7435), also for a caller that
/// chose not to verify a server (a command line's `--insecure`). On the ring provider.
pub fn any_certificate() -> Arc<dyn rustls::client::danger::ServerCertVerifier> {
    let provider = rustls::crypto::ring::default_provider();
    verify(
        AnyCert,
        provider.signature_verification_algorithms,
        &Slot::default(),
    )
}

/// Whether a TLSA record matches a DER certificate (RFC 6698 §2.1): its selector's
/// data (the certificate or its SubjectPublicKeyInfo), whole or by digest. The usage
/// field is not looked at. For tools computing or checking records.
pub fn tlsa_matches(record: &smtp_proto::mx::Tlsa, cert_der: &[u8]) -> bool {
    dane::matches(record, cert_der)
}

/// The DER SubjectPublicKeyInfo of a DER certificate (what TLSA selector 1 selects),
/// or `None` when `cert_der` is not a certificate this walker can read.
pub fn spki_of(cert_der: &[u8]) -> Option<&[u8]> {
    der::spki(cert_der).map(|e| e.whole)
}
