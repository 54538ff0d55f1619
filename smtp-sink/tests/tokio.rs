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

/// Started, used and dropped inside a Tokio runtime: the sink's own runtime lives on its
/// own thread, so neither start nor stop panics or blocks the test's runtime for long.
#[tokio::test]
async fn starts_sends_and_stops_inside_an_async_test() {
    let sink = smtp_sink::Sink::start().unwrap();
    let mut conn = smtp_tokio::Builder::new("127.0.0.1")
        .port(sink.port())
        .tls_config(sink.client_config())
        .connect()
        .await
        .unwrap();
    let report = conn
        .send_message(
            smtp_tokio::ReversePath::new("a@x.test").unwrap(),
            [smtp_tokio::ForwardPath::new("b@x.test").unwrap()],
            b"Subject: async\r\n\r\nhi\r\n",
        )
        .await
        .unwrap();
    assert!(report.all_delivered());
    conn.quit().await.unwrap();
    assert_eq!(sink.messages()[0].content, b"Subject: async\r\n\r\nhi\r\n");
    drop(sink);
}

/// Opens the Unix socket at `$path` (a `PathBuf`) the runtime's way.
macro_rules! connect_unix {
    ($path:ident) => {
        tokio::net::UnixStream::connect($path.clone())
    };
}

include!("adapters/reconnect.rs");
include!("adapters/pool_reconnect.rs");
include!("adapters/messages.rs");

/// lettre's `AsyncTransport::send`, for adapters/lettre_transport.rs.
async fn transport_send(
    pool: &adapter::LettrePool,
    message: &adapter::lettre::Message,
) -> Result<adapter::PoolReport, adapter::TransportError> {
    adapter::lettre::AsyncTransport::send(pool, message.clone()).await
}

include!("adapters/lettre_transport.rs");
