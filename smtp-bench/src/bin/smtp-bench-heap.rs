//! `smtp-bench-heap PORT TLS_PORT CERT_DER N`: heap held per idle connection, run by
//! `smtp-bench heap` (which starts the sinks in its own process). Its global allocator
//! counts every byte allocated and freed in this process.
//!
//! Each case opens `N` connections to the discarding sink (cleartext on `PORT`, implicit
//! TLS on `TLS_PORT` trusting the certificate in `CERT_DER`), sends one message on each,
//! lets them go idle, and divides the heap they hold by `N`; for a pool, `N` callers
//! send one message each at once, and the heap the pool holds once its connections idle
//! with up to `N` connections, less what it holds after the same `N` messages through
//! one connection, is divided by the connections added (so that what the pool keeps
//! for its queue of `N` messages, which grows with the callers and not with the
//! connections, is not counted as the connections'), after the connections idled past
//! the pool's `trim_after` (50 ms here) and gave their buffers back. Each case runs once to warm
//! up (lazily built runtimes, executor threads, the crypto provider) and once measured.
//! "core" is the core's share: a bare `smtp_proto::session::Session` driven to the same
//! idle state over a blocking socket, no adapter.

use std::alloc::System;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant as StdInstant};

use smtp_proto::command::{ForwardPath, ReversePath};
use smtp_proto::session::{Io, Session};
use smtp_proto::{Envelope, Instant, TlsPolicy};
use stats_alloc::{StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const BODY: &[u8] = b"Subject: heap\r\n\r\nA message of a few lines.\r\n";

/// Heap bytes held by the whole process now.
fn held() -> i64 {
    let s = GLOBAL.stats();
    s.bytes_allocated as i64 - s.bytes_deallocated as i64 + s.bytes_reallocated as i64
}

fn envelope() -> Envelope {
    Envelope::new(
        ReversePath::new("heap@example.org").expect("valid"),
        [ForwardPath::new("sink@example.net").expect("valid")],
    )
    .size(BODY.len() as u64)
}

/// Where the connections go.
#[derive(Clone)]
struct Target {
    port: u16,
    tls: Option<Arc<rustls::ClientConfig>>,
}

macro_rules! builder {
    ($adapter:ident, $target:expr) => {{
        let t: &Target = $target;
        let b = $adapter::Builder::new("127.0.0.1").port(t.port);
        match &t.tls {
            Some(c) => b.implicit_tls().tls_config(c.clone()),
            None => b.starttls(TlsPolicy::Disabled),
        }
    }};
}

/// Heap held by what `open(n)` returns (`n` or fewer connections: the count), the second
/// time: the first warms up. `close` ends each before the next.
fn held_by<T>(
    n: usize,
    open: &mut impl FnMut(usize) -> (T, usize),
    close: &mut impl FnMut(T),
) -> (i64, usize) {
    close(open(n).0);
    std::thread::sleep(Duration::from_millis(200));
    let before = held();
    let (kept, count) = open(n);
    std::thread::sleep(Duration::from_millis(200));
    let after = held();
    close(kept);
    eprintln!("{count} connections held {} B", after - before);
    (after - before, count)
}

/// Heap per connection of what `open(n)` returns.
fn per_connection<T>(
    n: usize,
    mut open: impl FnMut(usize) -> (T, usize),
    mut close: impl FnMut(T),
) -> f64 {
    let (bytes, count) = held_by(n, &mut open, &mut close);
    bytes as f64 / count.max(1) as f64
}

/// What one more connection of a pool holds: the pool's heap with up to `n`
/// connections less its heap with one, per connection added, `open(c)` sending the same
/// messages with at most `c` connections (the pool's own state, its timer task and
/// queues, is not a connection's).
fn per_pooled_connection<T>(
    n: usize,
    mut open: impl FnMut(usize) -> (T, usize),
    mut close: impl FnMut(T),
) -> f64 {
    let (one, c1) = held_by(1, &mut open, &mut close);
    let (many, cn) = held_by(n, &mut open, &mut close);
    (many - one) as f64 / cn.saturating_sub(c1).max(1) as f64
}

/// The core alone: a session driven over a blocking socket to idle after one message.
fn core_sessions(port: u16, n: usize) -> (Vec<(Session<smtp_blocking::Error>, TcpStream)>, usize) {
    let mut b = builder!(smtp_blocking, &Target { port, tls: None });
    let config = b.config_mut().clone();
    let sessions = (0..n)
        .map(|_| {
            let mut sock = TcpStream::connect(("127.0.0.1", port)).expect("connect");
            let origin = StdInstant::now();
            let mut s = Session::new(config.clone(), Instant::ZERO);
            drive(&mut s, &mut sock, origin);
            s.finish_connect().expect("set up");
            let now = Instant::from_duration(origin.elapsed());
            s.send(now, vec![envelope()]).expect("queued");
            drive(&mut s, &mut sock, origin);
            let reports = s.finish_send().expect("sent");
            assert!(reports[0].all_delivered(), "{reports:?}");
            (s, sock)
        })
        .collect();
    (sessions, n)
}

/// Runs the session's operation to its end (the smallest blocking driver).
fn drive(s: &mut Session<smtp_blocking::Error>, sock: &mut TcpStream, origin: StdInstant) {
    let now = || Instant::from_duration(origin.elapsed());
    loop {
        match s.poll_io() {
            Io::Write { .. } | Io::Close { .. } => {
                sock.write_all(s.output()).expect("write");
                s.handle_written();
            }
            Io::Read { .. } => {
                let mut buf = [0u8; 4096];
                match sock.read(&mut buf).expect("read") {
                    0 => s.handle_eof(now()),
                    n => s.handle_input(now(), &buf[..n]),
                }
            }
            Io::ReadBody { .. } => s.handle_body(now(), BODY, true),
            Io::StartTls(_) => panic!("no TLS here"),
            Io::Done => return,
        }
    }
}

fn blocking_connections(t: &Target, n: usize) -> (Vec<smtp_blocking::Connection>, usize) {
    let conns = (0..n)
        .map(|_| {
            let mut c = builder!(smtp_blocking, t).connect().expect("connect");
            let r = c.send_bytes(envelope(), BODY).expect("sent");
            assert!(r.all_delivered());
            c
        })
        .collect();
    (conns, n)
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn tokio_connections(
    rt: &tokio::runtime::Runtime,
    t: &Target,
    n: usize,
) -> (Vec<smtp_tokio::Connection>, usize) {
    rt.block_on(async {
        let mut conns = Vec::new();
        for _ in 0..n {
            let mut c = builder!(smtp_tokio, t).connect().await.expect("connect");
            let r = c.send_bytes(envelope(), BODY).await.expect("sent");
            assert!(r.all_delivered());
            conns.push(c);
        }
        (conns, n)
    })
}

fn smol_connections(t: &Target, n: usize) -> (Vec<smtp_smol::Connection>, usize) {
    smol::block_on(async {
        let mut conns = Vec::new();
        for _ in 0..n {
            let mut c = builder!(smtp_smol, t).connect().await.expect("connect");
            let r = c.send_bytes(envelope(), BODY).await.expect("sent");
            assert!(r.all_delivered());
            conns.push(c);
        }
        (conns, n)
    })
}

fn pool_config(connections: usize) -> smtp_proto::pool::PoolConfig {
    let mut pool_config = smtp_proto::pool::PoolConfig::default();
    pool_config.max_connections = connections;
    // One message per connection at a time: n callers open up to n connections.
    pool_config.max_in_flight = 1;
    // Idle connections give their buffers back soon (`trimmed` waits past it): what an
    // idle pooled connection holds for hours.
    pool_config.trim_after = TRIM_AFTER;
    pool_config
}

/// The pools' `trim_after` here.
const TRIM_AFTER: Duration = Duration::from_millis(50);

/// Waits past the pools' `trim_after`, with room for their connections to act on it.
fn trimmed() {
    std::thread::sleep(TRIM_AFTER * 4);
}

/// Waits until `open` connections are idle (up to 10 s); returns how many are open.
fn settle(status: impl Fn() -> smtp_proto::pool::Status, n: usize) -> usize {
    let start = StdInstant::now();
    loop {
        let s = status();
        if (s.open == n && s.idle == n) || start.elapsed() > Duration::from_secs(10) {
            trimmed();
            return s.open;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `callers` messages at once through a pool of at most `c` connections, idle after.
fn tokio_pool(
    rt: &tokio::runtime::Runtime,
    t: &Target,
    callers: usize,
    c: usize,
) -> (smtp_tokio::Pool, usize) {
    let pool = rt.block_on(async {
        let pool = smtp_tokio::Pool::new(builder!(smtp_tokio, t), pool_config(c));
        let sends: Vec<_> = (0..callers)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move { pool.send(envelope(), BODY).await })
            })
            .collect();
        for s in sends {
            assert!(s.await.expect("task").expect("sent").report.all_delivered());
        }
        pool
    });
    // The connections are tasks: the runtime runs them while the pool settles.
    let open = rt.block_on(async {
        let start = StdInstant::now();
        loop {
            let s = pool.status();
            if (s.open == c && s.idle == c) || start.elapsed() > Duration::from_secs(10) {
                // On this runtime's thread, which runs the connections' tasks.
                tokio::time::sleep(TRIM_AFTER * 4).await;
                return s.open;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    (pool, open)
}

fn smol_pool(t: &Target, callers: usize, c: usize) -> (smtp_smol::Pool, usize) {
    let pool = smol::block_on(async {
        let pool = smtp_smol::Pool::new(builder!(smtp_smol, t), pool_config(c));
        let sends: Vec<_> = (0..callers)
            .map(|_| {
                let pool = pool.clone();
                smol::spawn(async move { pool.send(envelope(), BODY).await })
            })
            .collect();
        for s in sends {
            assert!(s.await.expect("sent").report.all_delivered());
        }
        pool
    });
    let open = settle(|| pool.status(), c);
    (pool, open)
}

fn blocking_pool(t: &Target, callers: usize, c: usize) -> (smtp_blocking::Pool, usize) {
    let pool = smtp_blocking::Pool::new(builder!(smtp_blocking, t), pool_config(c));
    std::thread::scope(|scope| {
        let sends: Vec<_> = (0..callers)
            .map(|_| scope.spawn(|| pool.send(envelope(), BODY)))
            .collect();
        for s in sends {
            assert!(s
                .join()
                .expect("thread")
                .expect("sent")
                .report
                .all_delivered());
        }
    });
    let open = settle(|| pool.status(), c);
    (pool, open)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [port, tls_port, cert, n] = &args[..] else {
        eprintln!("usage: smtp-bench-heap PORT TLS_PORT CERT_DER N");
        std::process::exit(2);
    };
    let port: u16 = port.parse().expect("PORT");
    let tls_port: u16 = tls_port.parse().expect("TLS_PORT");
    let n: usize = n.parse().expect("N");
    let der = std::fs::read(cert).expect("CERT_DER");
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(der))
        .expect("certificate");
    let tls_config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let targets = [
        ("cleartext", Target { port, tls: None }),
        (
            "implicit TLS",
            Target {
                port: tls_port,
                tls: Some(Arc::new(tls_config)),
            },
        ),
    ];
    let core = per_connection(n, |n| core_sessions(port, n), drop);
    let rt = tokio_rt();
    println!("| what (heap per idle connection, {n} connections) | cleartext | implicit TLS |");
    println!("|---|---:|---:|");
    println!("| core: `smtp_proto::session::Session` alone | {core:.0} B | – |");
    type Case<'a> = (&'a str, Box<dyn Fn(&Target) -> f64 + 'a>);
    let cases: Vec<Case> = vec![
        (
            "smtp-blocking `Connection`",
            Box::new(|t| per_connection(n, |n| blocking_connections(t, n), drop)),
        ),
        (
            "smtp-tokio `Connection`",
            Box::new(|t| per_connection(n, |n| tokio_connections(&rt, t, n), drop)),
        ),
        (
            "smtp-smol `Connection`",
            Box::new(|t| per_connection(n, |n| smol_connections(t, n), drop)),
        ),
        (
            "smtp-tokio `Pool`, per connection added",
            Box::new(|t| {
                per_pooled_connection(
                    n,
                    |c| tokio_pool(&rt, t, n, c),
                    // Run the runtime on until the connection tasks have ended.
                    |p| {
                        rt.block_on(async {
                            p.close().await;
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        })
                    },
                )
            }),
        ),
        (
            "smtp-smol `Pool`, per connection added",
            Box::new(|t| {
                per_pooled_connection(n, |c| smol_pool(t, n, c), |p| smol::block_on(p.close()))
            }),
        ),
        (
            "smtp-blocking `Pool`, per connection added",
            Box::new(|t| per_pooled_connection(n, |c| blocking_pool(t, n, c), |p| p.close())),
        ),
    ];
    for (name, case) in &cases {
        let plain = case(&targets[0].1);
        let tls = case(&targets[1].1);
        println!(
            "| {name} | {plain:.0} B ({:+.0} B over the core) | {tls:.0} B |",
            plain - core
        );
    }
}
