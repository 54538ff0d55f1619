//! `Connection::stream` against smtp-sink: messages join while earlier ones are in
//! flight, each report comes back once, a close mid-stream is reported faithfully.
//! Shared with the other async adapter.

mod common;

use smtp_tokio as adapter;

include!("../../smtp-testkit/async-tests/stream.rs");

/// A socket that counts the writes the driver flushes.
struct CountFlushes {
    inner: tokio::net::TcpStream,
    flushes: Arc<std::sync::atomic::AtomicUsize>,
}

impl tokio::io::AsyncRead for CountFlushes {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for CountFlushes {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.flushes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Tokio's multi-thread scheduler runs a task woken by another right after it (its
/// LIFO slot). Callers woken by one read of replies each queue their next message and
/// wake the stream; a stream that wrote as soon as its source was empty then wrote one
/// message per flight, while the other callers, woken by the same replies, waited
/// their turn. 50 tasks, 10 messages each, one after another on one worker thread;
/// the socket counts the driver's writes.
#[test]
fn messages_queued_by_tasks_woken_by_the_same_replies_share_a_flight() {
    use tokio::sync::{mpsc, oneshot};
    type Reply = oneshot::Sender<Result<adapter::Report, adapter::Error>>;
    let (tasks, each) = (50, 10);
    let sink = Sink::start().unwrap();
    let flushes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let inner = tokio::net::TcpStream::connect(("127.0.0.1", sink.port()))
            .await
            .unwrap();
        let socket = CountFlushes {
            inner,
            flushes: flushes.clone(),
        };
        let mut conn = builder(&sink).connect_stream(socket).await.unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel::<(Envelope, std::io::Cursor<Vec<u8>>, Reply)>();
        let stream = tokio::spawn(async move {
            let next = |cx: &mut std::task::Context<'_>| rx.poll_recv(cx);
            let on_report = |reply: Reply, report| drop(reply.send(report));
            conn.stream(1000, next, on_report).await.unwrap();
            conn.quit().await.unwrap();
        });
        let callers: Vec<_> = (0..tasks)
            .map(|t| {
                let tx = tx.clone();
                tokio::spawn(async move {
                    for i in 0..each {
                        let (envelope, body) = message(t * each + i);
                        let (reply, report) = oneshot::channel();
                        tx.send((envelope, std::io::Cursor::new(body), reply))
                            .unwrap();
                        assert!(report.await.unwrap().unwrap().all_delivered());
                    }
                })
            })
            .collect();
        drop(tx);
        for c in callers {
            c.await.unwrap();
        }
        stream.await.unwrap();
    });
    assert_eq!(sink.messages().len(), tasks * each);
    // Seen: 503 writes (one per message, EHLO, QUIT) writing as soon as the source
    // was empty; 265 yielding once; 32 yielding while that brings more.
    let writes = flushes.load(std::sync::atomic::Ordering::Relaxed);
    let messages = tasks * each;
    assert!(
        writes <= messages / 5,
        "{writes} writes for {messages} messages"
    );
}
