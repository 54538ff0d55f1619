//! smtp-smol's send paths against the sink (shared: adapters/send_paths.rs).

mod common;

use smtp_smol as adapter;

const TAG: &str = "smol";

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    smol::block_on(f)
}

macro_rules! aw {
    ($e:expr) => {
        $e.await
    };
}

include!("adapters/send_paths.rs");

/// Opens the Unix socket at `$path` (a `PathBuf`) the runtime's way.
macro_rules! connect_unix {
    ($path:ident) => {
        smol::net::unix::UnixStream::connect($path.clone())
    };
}

include!("adapters/reconnect.rs");
include!("adapters/pool_reconnect.rs");
include!("adapters/messages.rs");
