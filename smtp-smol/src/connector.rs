//! How `Builder::connect` opens a connection's stream: over TCP, or through the
//! caller's connector ([`Builder::connector`](crate::Builder::connector)), within the
//! connect timeout either way.

use std::future::Future;
use std::io;
use std::pin::Pin;

use futures_lite::io::{AsyncRead, AsyncWrite};
use smtp_io::Target;

use crate::Error;

/// A stream a [`Connection`](crate::Connection) can run over, as a connector gives it:
/// any futures-io byte stream that can move to and be shared with other threads (TCP, Unix
/// sockets, `async_io::Async` around a std socket, a TLS stream to a proxy ...).
pub trait Socket: AsyncRead + AsyncWrite + Unpin + Send + Sync {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> Socket for T {}

/// The stream of a [`Connection`](crate::Connection) that
/// [`Builder::connect`](crate::Builder::connect) opened: TCP's, or the connector's.
pub type BoxSocket = Box<dyn Socket>;

/// What one call of a connector gives.
pub(crate) type Opening = Pin<Box<dyn Future<Output = io::Result<BoxSocket>> + Send>>;

/// A `Builder`'s connector.
pub(crate) type Connector = smtp_io::Connector<Opening>;

/// `f` as a `Builder` keeps it.
pub(crate) fn connector<F, Fut, S>(f: F) -> Connector
where
    F: Fn(&Target) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = io::Result<S>> + Send + 'static,
    S: Socket + 'static,
{
    Connector::new(move |target| {
        let opening = f(target);
        Box::pin(async move { Ok(Box::new(opening.await?) as BoxSocket) }) as Opening
    })
}

/// Opens the stream to `target`: through `connector` if there is one, else over TCP.
pub(crate) async fn open(
    connector: Option<&Connector>,
    target: &Target,
) -> Result<BoxSocket, Error> {
    let Some(connector) = connector else {
        let tcp = crate::driver::connect(&target.host, target.port, target.connect_timeout).await?;
        return Ok(Box::new(tcp));
    };
    let deadline = std::time::Instant::now().checked_add(target.connect_timeout);
    crate::driver::timed(deadline, connector.open(target))
        .await
        .ok_or_else(|| Error::Io(io::ErrorKind::TimedOut.into()))?
        .map_err(Error::Io)
}
