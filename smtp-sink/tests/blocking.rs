//! smtp-blocking's send paths, reconnecting, and its pool's reconnecting against the
//! sink (shared with the async adapters: adapters/send_paths.rs, reconnect.rs,
//! pool_reconnect.rs).

mod common;

use smtp_blocking as adapter;

const TAG: &str = "blocking";

/// The blocking adapter needs no executor: the test bodies only look async.
fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    smol::block_on(f)
}

macro_rules! aw {
    ($e:expr) => {
        $e
    };
}

include!("adapters/send_paths.rs");

/// Opens the Unix socket at `$path` (a `PathBuf`) the runtime's way.
macro_rules! connect_unix {
    ($path:ident) => {
        std::os::unix::net::UnixStream::connect(&$path)
    };
}

include!("adapters/reconnect.rs");
include!("adapters/pool_reconnect.rs");
include!("adapters/messages.rs");

/// lettre's `Transport::send`, for adapters/lettre_transport.rs.
fn transport_send(
    pool: &adapter::LettrePool,
    message: &adapter::lettre::Message,
) -> Result<adapter::PoolReport, adapter::TransportError> {
    adapter::lettre::Transport::send(pool, message)
}

include!("adapters/lettre_transport.rs");
