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

include!("adapters/reconnect.rs");
include!("adapters/pool_reconnect.rs");

/// Connects through the Unix socket at `path`, counting the calls; checks the target.
fn unix_connector(
    b: adapter::Builder,
    path: std::path::PathBuf,
    calls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> adapter::Builder {
    b.connector(move |target: &adapter::Target| {
        calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(target.host, "127.0.0.1");
        smol::net::unix::UnixStream::connect(path.clone())
    })
}
