//! How `Builder::connect` opens a connection's stream: over TCP (each address of the
//! host in turn, within the connect timeout), or through the caller's connector
//! ([`Builder::connector`](crate::Builder::connector)).

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use smtp_io::socks::{Destination, Next, Proxy, ProxyError, MAX_READ};
use smtp_io::Target;

use crate::{Error, Socket};

/// The stream of a [`Connection`](crate::Connection) that
/// [`Builder::connect`](crate::Builder::connect) opened: TCP's, or the connector's.
pub type BoxSocket = Box<dyn Socket + Send + Sync>;

impl<S: Socket + ?Sized> Socket for Box<S> {
    fn set_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_timeout(timeout)
    }
}

/// A `Builder`'s connector.
pub(crate) type Connector = smtp_io::Connector<io::Result<BoxSocket>>;

/// `f` as a `Builder` keeps it.
pub(crate) fn connector<F, S>(f: F) -> Connector
where
    F: Fn(&Target) -> io::Result<S> + Send + Sync + 'static,
    S: Socket + Send + Sync + 'static,
{
    Connector::new(move |target| Ok(Box::new(f(target)?) as BoxSocket))
}

/// Opens the stream to `target`: through `connector` if there is one, else over TCP.
pub(crate) fn open(connector: Option<&Connector>, target: &Target) -> Result<BoxSocket, Error> {
    match connector {
        Some(connector) => connector.open(target).map_err(Error::from_io),
        None => Ok(Box::new(tcp(target)?)),
    }
}

/// The stream to `target` through `proxy` (RFC 1928): TCP to the proxy, then its
/// handshake, every step within the target's connect timeout. Under `socks5` the
/// target's name is resolved here and each address asked for in turn while the proxy
/// refuses (as TCP tries each).
pub(crate) fn through(proxy: &Proxy, target: &Target) -> io::Result<TcpStream> {
    // None: a timeout too long to be a deadline, that is none.
    let deadline = Instant::now().checked_add(target.connect_timeout);
    let destinations: Vec<Destination> = match proxy.destination(&target.host) {
        Some(d) => vec![d],
        None => (target.host.as_str(), target.port)
            .to_socket_addrs()?
            .map(|a| Destination::Ip(a.ip()))
            .collect(),
    };
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
    for destination in destinations {
        match handshake(proxy, destination, target.port, deadline) {
            Err(e) if ProxyError::try_next_address(&e) => last = e,
            done => return done,
        }
    }
    Err(last)
}

/// One connection to the proxy, asking for `destination`, by `deadline` (if any).
fn handshake(
    proxy: &Proxy,
    destination: Destination,
    port: u16,
    deadline: Option<Instant>,
) -> io::Result<TcpStream> {
    let left = || {
        let Some(deadline) = deadline else {
            return Ok(None);
        };
        let left = deadline.saturating_duration_since(Instant::now());
        (!left.is_zero())
            .then_some(Some(left))
            .ok_or(io::Error::from(io::ErrorKind::TimedOut))
    };
    let mut handshake = proxy.handshake(destination, port)?;
    let timeout = left()?.unwrap_or(Duration::MAX);
    let to_proxy = Target::new(proxy.host(), proxy.port(), timeout);
    let mut tcp = tcp(&to_proxy).map_err(|e| match e {
        Error::Io(e) => e,
        e => io::Error::other(e),
    })?;
    let mut buf = [0; MAX_READ];
    loop {
        match handshake.poll()? {
            Next::Write(bytes) => {
                tcp.set_write_timeout(left()?)?;
                tcp.write_all(&bytes).map_err(timed_out)?;
            }
            Next::Read(max) => {
                tcp.set_read_timeout(left()?)?;
                let n = tcp.read(&mut buf[..max]).map_err(timed_out)?;
                handshake.handle_input(&buf[..n])?;
            }
            Next::Done => return Ok(tcp),
        }
    }
}

/// A socket timeout (which Unix reports as `WouldBlock`) as what it is.
fn timed_out(e: io::Error) -> io::Error {
    match e.kind() {
        io::ErrorKind::WouldBlock => io::ErrorKind::TimedOut.into(),
        _ => e,
    }
}

/// Resolves the host and connects, trying each address within the connect timeout;
/// Nagle off: commands are small and every flight is written whole, so delaying them
/// only adds round trips.
fn tcp(target: &Target) -> Result<TcpStream, Error> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
    let addrs = (target.host.as_str(), target.port).to_socket_addrs();
    for addr in addrs.map_err(Error::Io)? {
        match TcpStream::connect_timeout(&addr, target.connect_timeout) {
            Ok(tcp) => {
                tcp.set_nodelay(true).map_err(Error::Io)?;
                return Ok(tcp);
            }
            Err(e) => last = e,
        }
    }
    Err(Error::Io(last))
}
