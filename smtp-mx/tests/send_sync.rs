//! The types adapters keep across threads and tasks are Send and Sync (a compile-time
//! check: this suite builds or fails, and runs no test).

use smtp_mx::dial::{Dialer, Redirects};
use smtp_mx::dns::{AdBit, DnsError};
use smtp_mx::tls::{ConfigError, Roots, TlsSetup};

const fn send_sync<T: Send + Sync>() {}

const _: () = {
    send_sync::<TlsSetup>();
    send_sync::<Roots>();
    send_sync::<ConfigError>();
    send_sync::<AdBit>();
    send_sync::<DnsError>();
    send_sync::<Dialer<std::io::Result<std::net::TcpStream>>>();
    send_sync::<Redirects>();
};

#[cfg(feature = "hickory")]
const _: () = {
    send_sync::<smtp_mx::dns::Hickory>();
    send_sync::<smtp_mx::dns::BlockingHickory>();
    send_sync::<smtp_mx::dns::TrustAnchorFile>();
};
