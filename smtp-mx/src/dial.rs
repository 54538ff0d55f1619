//! The one place a connection to an MX address is opened. The planner always says
//! port 25 (RFC 5321 §4.5.4.2 gives no other), so a test reaching its own servers
//! redirects here, below every policy decision: the production path is what it
//! tests.
//!
//! A [`Dialer`] is generic over what one call gives, as `smtp_io::Connector` is: an
//! `io::Result<TcpStream>` for the blocking adapter ([`Dialer::tcp`]), a boxed
//! future of the runtime's stream for the async ones (each adapter makes its own with
//! [`Dialer::new`]). [`Dialer::redirected`] works for every kind.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// Opens connections to MX addresses; `O` is what one call gives. Cloning shares the
/// function.
pub struct Dialer<O>(Arc<dyn Fn(SocketAddr, Duration) -> O + Send + Sync>);

impl<O> Dialer<O> {
    /// Connects with `f(addr, timeout)`. A blocking `f` must bound itself by
    /// `timeout`; an async adapter may bound the future it returns.
    pub fn new(f: impl Fn(SocketAddr, Duration) -> O + Send + Sync + 'static) -> Self {
        Dialer(Arc::new(f))
    }

    /// Opens a connection to `addr` within `timeout`.
    pub fn dial(&self, addr: SocketAddr, timeout: Duration) -> O {
        (self.0)(addr, timeout)
    }
}

impl<O: 'static> Dialer<O> {
    /// This dialer reaching, for each address, the one `redirects` maps it to; an
    /// address it does not map is refused with `refused(addr)` (a test never reaches
    /// past its own servers).
    pub fn redirected(
        self,
        redirects: Redirects,
        refused: impl Fn(SocketAddr) -> O + Send + Sync + 'static,
    ) -> Self {
        Dialer::new(move |addr, timeout| match redirects.target(addr) {
            Some(to) => self.dial(to, timeout),
            None => refused(addr),
        })
    }
}

impl Dialer<io::Result<TcpStream>> {
    /// TCP to the address itself, within the timeout (the blocking adapter's
    /// default).
    pub fn tcp() -> Self {
        Dialer::new(|addr, timeout| TcpStream::connect_timeout(&addr, timeout))
    }

    /// [`tcp`](Self::tcp) through `redirects`: an address not mapped is refused
    /// (`ConnectionRefused`) without a connection.
    pub fn tcp_redirected(redirects: Redirects) -> Self {
        Dialer::tcp().redirected(redirects, |addr| Err(refusal(addr)))
    }
}

/// The error for an address a [`Redirects`] does not map.
pub fn refusal(addr: SocketAddr) -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionRefused,
        format!("{addr}: not redirected by this dialer"),
    )
}

impl<O> Clone for Dialer<O> {
    fn clone(&self) -> Self {
        Dialer(self.0.clone())
    }
}

impl<O> fmt::Debug for Dialer<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Dialer")
    }
}

/// Where a test's dialer sends each MX address: `127.0.0.11:25` to
/// `127.0.0.1:40011`, say, for a run without the privilege of port 25.
#[derive(Clone, Debug, Default)]
pub struct Redirects(HashMap<SocketAddr, SocketAddr>);

impl Redirects {
    /// No address mapped.
    pub fn new() -> Self {
        Redirects::default()
    }

    /// Maps `from` to `to`.
    #[must_use]
    pub fn map(mut self, from: SocketAddr, to: SocketAddr) -> Self {
        self.0.insert(from, to);
        self
    }

    /// Where `addr` goes, if mapped.
    pub fn target(&self, addr: SocketAddr) -> Option<SocketAddr> {
        self.0.get(&addr).copied()
    }
}
