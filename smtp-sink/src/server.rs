//! The accept loop, on the sink's own runtime.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

use crate::config::Config;
use crate::faults::Cues;
use crate::record::Store;

/// What every connection of a sink shares.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) store: Arc<Store>,
    pub(crate) cues: Cues,
    pub(crate) acceptor: TlsAcceptor,
}

/// Accepts connections until `stop` fires; each is served by its own task. Returning
/// drops the listener (the port is free); dropping the runtime then drops every
/// connection's task, which closes its socket.
pub(crate) async fn run(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut stop: oneshot::Receiver<()>,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(_) => return,
    };
    loop {
        tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    // Replies go out as soon as a flight is complete.
                    let _ = tcp.set_nodelay(true);
                    tokio::spawn(crate::conn::serve(shared.clone(), tcp, peer));
                }
                // Out of file descriptors, or a connection reset before accept: wait a
                // moment rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            },
        }
    }
}
