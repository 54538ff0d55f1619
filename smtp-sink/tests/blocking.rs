//! smtp-blocking's send paths against the sink (shared with the async adapters:
//! adapters/send_paths.rs).

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

include!("adapters/reconnect.rs");

/// Connects through the Unix socket at `path`, counting the calls; checks the target.
fn unix_connector(
    b: adapter::Builder,
    path: std::path::PathBuf,
    calls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> adapter::Builder {
    b.connector(move |target: &adapter::Target| {
        calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(target.host, "127.0.0.1");
        std::os::unix::net::UnixStream::connect(&path)
    })
}
