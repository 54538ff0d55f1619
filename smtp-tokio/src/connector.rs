//! How `Builder::connect` opens a connection's stream: over TCP, or through the
//! caller's connector ([`Builder::connector`](crate::Builder::connector)), within the
//! connect timeout either way.

use std::io;

use smtp_io::Target;

use crate::Error;

smtp_io::async_connector!(
    crate::Builder,
    tokio::io::AsyncRead,
    tokio::io::AsyncWrite,
    tokio::io::AsyncReadExt,
    tokio::io::AsyncWriteExt,
    tokio::net::TcpStream,
    crate::driver::tcp,
    crate::driver::addresses
);

/// Opens the stream to `target`: through `connector` if there is one, else over TCP.
pub(crate) async fn open(
    connector: Option<&Connector>,
    target: &Target,
) -> Result<BoxSocket, Error> {
    let Some(connector) = connector else {
        let tcp = crate::driver::connect(&target.host, target.port, target.connect_timeout).await?;
        return Ok(Box::new(tcp));
    };
    tokio::time::timeout(target.connect_timeout, connector.open(target))
        .await
        .map_err(|_| Error::Io(io::ErrorKind::TimedOut.into()))?
        .map_err(Error::from_io)
}
