//! smtp-tokio's send paths against the sink (shared: adapters/send_paths.rs).

mod common;

use smtp_tokio as adapter;

const TAG: &str = "tokio";

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

macro_rules! aw {
    ($e:expr) => {
        $e.await
    };
}

include!("adapters/send_paths.rs");
