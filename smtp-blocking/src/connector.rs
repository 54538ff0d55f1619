//! How `Builder::connect` opens a connection's stream: over TCP (each address of the
//! host in turn, within the connect timeout), or through the caller's connector
//! ([`Builder::connector`](crate::Builder::connector)).

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

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
        Some(connector) => connector.open(target).map_err(Error::Io),
        None => Ok(Box::new(tcp(target)?)),
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
