//! The latency-injecting TCP proxy: the client connects to it on 127.0.0.1, it forwards
//! to the server, holds every chunk for the one-way delay in each direction (so a round
//! trip costs twice that), keeps order, and notes when each client flight begins.
//!
//! A *flight* is what the client sends before it next waits for the server: it begins
//! with the first client byte read after server bytes were delivered to the client (or
//! the first client byte of the connection). Bytes that only arrive in several TCP reads
//! stay one flight; a client that writes a command, waits for the reply, then writes the
//! next one, makes two.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::wall_ns;

/// What the proxy saw, across every connection it accepted.
#[derive(Default)]
pub(crate) struct Stats {
    /// Wall-clock time (ns since the Unix epoch) at which each client flight began.
    flights: Mutex<Vec<u128>>,
    pub(crate) client_bytes: AtomicU64,
    pub(crate) server_bytes: AtomicU64,
    pub(crate) connections: AtomicU64,
}

impl Stats {
    /// Client flights that began within `[from, to]` (wall-clock ns).
    pub(crate) fn flights_between(&self, from: u128, to: u128) -> usize {
        let flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        flights.iter().filter(|&&t| t >= from && t <= to).count()
    }
}

/// A running proxy: its address and its counters.
pub(crate) struct Proxy {
    pub(crate) port: u16,
    pub(crate) stats: Arc<Stats>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// Listens on 127.0.0.1 (an ephemeral port) and forwards every connection to
    /// `127.0.0.1:upstream`, each direction delayed by `one_way`.
    pub(crate) async fn start(upstream: u16, one_way: Duration) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let stats = Arc::new(Stats::default());
        let st = stats.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                st.connections.fetch_add(1, Ordering::Relaxed);
                let st = st.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await {
                        relay(client, server, one_way, st).await;
                    }
                });
            }
        });
        Ok(Proxy { port, stats, task })
    }
}

async fn relay(client: TcpStream, server: TcpStream, one_way: Duration, stats: Arc<Stats>) {
    // The proxy itself must not add Nagle stalls: it forwards what it read at once.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    // Set once server bytes reached the client: the next client byte starts a flight.
    let replied = Arc::new(AtomicBool::new(true));
    let up = pump(
        cr,
        sw,
        one_way,
        Some((replied.clone(), stats.clone())),
        None,
    );
    let down = pump(sr, cw, one_way, None, Some((replied, stats)));
    tokio::join!(up, down);
}

type Upstream = Option<(Arc<AtomicBool>, Arc<Stats>)>;

/// Copies `from` to `to`, each chunk released `delay` after it was read, in order.
/// `up`: this is the client-to-server direction (flights are noted when chunks are
/// read). `down`: server-to-client (deliveries to the client are noted when written).
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    delay: Duration,
    up: Upstream,
    down: Upstream,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if let Some((replied, stats)) = &up {
                stats.client_bytes.fetch_add(n as u64, Ordering::Relaxed);
                if replied.swap(false, Ordering::AcqRel) {
                    let mut f = stats.flights.lock().unwrap_or_else(|e| e.into_inner());
                    f.push(wall_ns());
                }
            }
            if tx
                .send((Instant::now() + delay, buf[..n].to_vec()))
                .is_err()
            {
                break;
            }
        }
        // Dropping `tx` ends the writer once everything queued went out.
    };
    let writer = async move {
        while let Some((due, chunk)) = rx.recv().await {
            if !delay.is_zero() {
                tokio::time::sleep_until(due).await;
            }
            if to.write_all(&chunk).await.is_err() {
                return;
            }
            if let Some((replied, stats)) = &down {
                stats
                    .server_bytes
                    .fetch_add(chunk.len() as u64, Ordering::Relaxed);
                replied.store(true, Ordering::Release);
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server that answers every line with one `250 ok` line.
    async fn line_server() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            loop {
                let n = match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let lines = buf[..n].iter().filter(|&&b| b == b'\n').count();
                if s.write_all(&b"250 ok\r\n".repeat(lines)).await.is_err() {
                    return;
                }
            }
        });
        port
    }

    async fn read_lines(s: &mut TcpStream, mut lines: usize) {
        let mut buf = [0u8; 1024];
        while lines > 0 {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0, "server closed early");
            lines -= buf[..n].iter().filter(|&&b| b == b'\n').count();
        }
    }

    #[tokio::test]
    async fn counts_one_flight_per_wait_and_delays_each_direction() {
        let proxy = Proxy::start(line_server().await, Duration::from_millis(20))
            .await
            .unwrap();
        let mut c = TcpStream::connect(("127.0.0.1", proxy.port)).await.unwrap();
        c.set_nodelay(true).unwrap();
        let from = wall_ns();
        // Lock-step: three commands, each waiting for its reply.
        let t = std::time::Instant::now();
        for _ in 0..3 {
            c.write_all(b"NOOP\r\n").await.unwrap();
            read_lines(&mut c, 1).await;
        }
        // A round trip costs at least twice the one-way delay.
        assert!(
            t.elapsed() >= Duration::from_millis(3 * 40),
            "{:?}",
            t.elapsed()
        );
        // Pipelined: three commands in separate writes, then all replies: one flight.
        for _ in 0..3 {
            c.write_all(b"NOOP\r\n").await.unwrap();
        }
        read_lines(&mut c, 3).await;
        assert_eq!(proxy.stats.flights_between(from, wall_ns()), 4);
        assert_eq!(proxy.stats.client_bytes.load(Ordering::Relaxed), 36);
        assert_eq!(proxy.stats.server_bytes.load(Ordering::Relaxed), 48);
    }

    #[tokio::test]
    async fn keeps_order_of_chunks() {
        // An echo server: what comes back through the proxy is what went out, in order.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            let (mut r, mut w) = s.into_split();
            let _ = tokio::io::copy(&mut r, &mut w).await;
        });
        let proxy = Proxy::start(port, Duration::from_millis(2)).await.unwrap();
        let c = TcpStream::connect(("127.0.0.1", proxy.port)).await.unwrap();
        let (mut r, mut w) = c.into_split();
        let sent: Vec<u8> = (0..2000)
            .flat_map(|i| format!("{i}\r\n").into_bytes())
            .collect();
        let to_send = sent.clone();
        let writer = tokio::spawn(async move {
            for chunk in to_send.chunks(7) {
                w.write_all(chunk).await.unwrap();
            }
            w.shutdown().await.unwrap();
        });
        let mut back = Vec::new();
        r.read_to_end(&mut back).await.unwrap();
        writer.await.unwrap();
        assert_eq!(back, sent);
    }
}
