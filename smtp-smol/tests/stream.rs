//! `Connection::stream` against smtp-sink: messages join while earlier ones are in
//! flight, each report comes back once, a close mid-stream is reported faithfully.
//! Shared with the other async adapter.

mod common;

use smtp_smol as adapter;

include!("../../smtp-testkit/async-tests/stream.rs");

/// A socket that counts the writes the driver flushes.
struct CountFlushes {
    inner: smol::Async<std::net::TcpStream>,
    flushes: Arc<std::sync::atomic::AtomicUsize>,
}

impl smol::io::AsyncRead for CountFlushes {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl smol::io::AsyncWrite for CountFlushes {
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

    fn poll_close(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_close(cx)
    }
}

/// The smol twin of smtp-tokio's test of the same name: callers woken by one read of
/// replies each queue their next message before the stream writes, so many callers'
/// messages share a flight. 50 tasks, 10 messages each, on one executor thread; the
/// socket counts the driver's writes.
#[test]
fn messages_queued_by_tasks_woken_by_the_same_replies_share_a_flight() {
    type Reply = smol::channel::Sender<Result<adapter::Report, adapter::Error>>;
    let (tasks, each) = (50, 10);
    let sink = Sink::start().unwrap();
    let flushes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let ex = smol::Executor::new();
    block_on(ex.run(async {
        let inner = smol::Async::<std::net::TcpStream>::connect(([127, 0, 0, 1], sink.port()))
            .await
            .unwrap();
        let socket = CountFlushes {
            inner,
            flushes: flushes.clone(),
        };
        let mut conn = builder(&sink).connect_stream(socket).await.unwrap();
        let (tx, rx) = smol::channel::unbounded::<(Envelope, smol::io::Cursor<Vec<u8>>, Reply)>();
        let stream = ex.spawn(async move {
            let mut recv = Box::pin(rx);
            let next = |cx: &mut std::task::Context<'_>| {
                smol::stream::Stream::poll_next(recv.as_mut(), cx)
            };
            let on_report = |reply: Reply, report| drop(reply.try_send(report));
            conn.stream(1000, next, on_report).await.unwrap();
            conn.quit().await.unwrap();
        });
        let callers: Vec<_> = (0..tasks)
            .map(|t| {
                let tx = tx.clone();
                ex.spawn(async move {
                    for i in 0..each {
                        let (envelope, body) = message(t * each + i);
                        let (reply, report) = smol::channel::bounded(1);
                        tx.send((envelope, smol::io::Cursor::new(body), reply))
                            .await
                            .unwrap();
                        assert!(report.recv().await.unwrap().unwrap().all_delivered());
                    }
                })
            })
            .collect();
        drop(tx);
        for c in callers {
            c.await;
        }
        stream.await;
    }));
    assert_eq!(sink.messages().len(), tasks * each);
    let writes = flushes.load(std::sync::atomic::Ordering::Relaxed);
    let messages = tasks * each;
    assert!(
        writes <= messages / 5,
        "{writes} writes for {messages} messages"
    );
}
