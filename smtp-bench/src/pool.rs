//! `smtp-bench pool`: many concurrent callers through a pool of connections, against
//! lettre's pool with the same maximum and against the sink's own ceiling, in one run
//! (issue 16's pool benchmark).
//!
//! ```text
//! cargo build --release -p smtp-bench
//! target/release/smtp-bench pool [--rounds 3] [--seconds 3] [--warmup 1] [--callers 100]
//!     [--connections 1,4,16] [--rtts 0,50] [--raw-connections 4]
//!     [--clients ceiling,stream,ours-tokio,ours-smol,lettre] [--proxy-at-0]
//!     [--tokio-runtime multi|current] [--fill N] [--max-messages N]
//!     [--svg docs/bench/pools.svg]
//! ```
//!
//! One smtp-sink in discarding mode, in this process (its own thread). Every cell runs
//! its clients on one runtime worker thread (Tokio: a multi-thread runtime with one
//! worker; smol: the global executor, one thread by default), so on a 2-core machine
//! the client and the sink each have about a core. At 0 ms the clients connect to the
//! sink directly; at other RTTs through smtp-bench's latency proxy, which also counts
//! client flights. Each cell runs `--warmup` seconds untimed (connections open), then
//! counts the messages accepted in `--seconds`; then the callers stop and the pool
//! closes. Rounds are outermost, cells interleaved, and the ratios are the medians of
//! each round's ratios.
//!
//! The clients, each sending the 2 KiB, 3-recipient message of [`crate::clients`]:
//! - `ours-tokio` / `ours-smol` with N connections: `--callers` tasks, each sending one
//!   message after another through one [`smtp_tokio::Pool`] / [`smtp_smol::Pool`]
//!   (defaults, `max_connections = N`; `--fill` and `--max-messages` change those two).
//! - `lettre` with N connections: the same tasks through one lettre 0.11
//!   `AsyncSmtpTransport` (Tokio) with `PoolConfig::max_size(N)`.
//! - `stream`: one caller streaming on one connection ([`smtp_tokio::Connection::stream`],
//!   at most 10,000 messages open, as `smtp-send --repeat` does).
//! - `ceiling`: the sink's ceiling, by a raw client: `--raw-connections` connections,
//!   each writing flights of [`RAW_FLIGHT`] prebuilt messages (MAIL, 3 RCPT, BDAT LAST
//!   with the content) while at most [`RAW_WINDOW`] are unanswered, counting reply
//!   lines (each must begin with `2`); no parsing, no allocation per message.

use std::fmt::Write as _;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use smtp_proto::command::{ForwardPath, ReversePath};
use smtp_proto::{Envelope, Report};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use crate::clients::{message, recipients, sender};
use crate::proxy::Proxy;
use crate::report::{log_grid, log_range, median};
use crate::{loadavg, wall_ns};

/// Messages per flight of the raw client.
const RAW_FLIGHT: usize = 100;
/// Most unanswered messages per raw connection.
const RAW_WINDOW: usize = 1000;
/// Replies per message of the raw client: MAIL, 3 RCPT, BDAT LAST.
const RAW_REPLIES: u64 = 5;
/// The streaming caller's bound on open messages (`smtp-send`'s).
const STREAM_OPEN: usize = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Client {
    Ours(usize),
    Smol(usize),
    Lettre(usize),
    Stream,
    Ceiling,
}

impl Client {
    /// The name `--clients` selects it by.
    fn kind(self) -> &'static str {
        match self {
            Client::Ours(_) => "ours-tokio",
            Client::Smol(_) => "ours-smol",
            Client::Lettre(_) => "lettre",
            Client::Stream => "stream",
            Client::Ceiling => "ceiling",
        }
    }

    fn label(self) -> String {
        match self {
            Client::Ours(n) => format!("ours-tokio pool, {n} conn"),
            Client::Smol(n) => format!("ours-smol pool, {n} conn"),
            Client::Lettre(n) => format!("lettre pool, {n} conn"),
            Client::Stream => "1 caller streaming, 1 conn".into(),
            Client::Ceiling => "ceiling (raw client)".into(),
        }
    }
}

struct Options {
    rounds: usize,
    seconds: f64,
    warmup: f64,
    callers: usize,
    connections: Vec<usize>,
    rtts: Vec<u64>,
    raw_connections: usize,
    smol: bool,
    /// The Tokio clients' runtime: a multi-thread one with one worker (`multi`, what
    /// `#[tokio::main]` gives, but one worker) or a current-thread one (`current`).
    current_thread: bool,
    /// Through the proxy at 0 ms too (it then counts flights, and costs CPU).
    proxy_at_0: bool,
    /// Which kinds run (`ceiling`, `stream`, `ours-tokio`, `ours-smol`, `lettre`).
    kinds: Vec<String>,
    svg: Option<std::path::PathBuf>,
    /// Our pools' settings other than the defaults.
    pool: PoolOverrides,
}

/// `--fill` and `--max-messages`: our pools' [`PoolConfig`](smtp_proto::pool::PoolConfig)
/// fields other than their defaults, to measure what a rule costs.
#[derive(Clone, Copy, Debug, Default)]
struct PoolOverrides {
    fill: Option<usize>,
    max_messages: Option<u64>,
}

/// The overrides of this run, set once by [`main`].
static POOL_OVERRIDES: std::sync::OnceLock<PoolOverrides> = std::sync::OnceLock::new();

/// One measured cell.
struct Sample {
    round: usize,
    rtt_ms: u64,
    client: Client,
    rate: f64,
    /// Connections the sink accepted during the cell.
    connections: u64,
    /// Client flights per message in the timed window (behind the proxy only).
    flights: Option<f64>,
    client_us: f64,
    sink_us: f64,
    sink_busy: f64,
}

/// What a cell's callers share with the harness timing them.
#[derive(Default)]
struct Progress {
    accepted: AtomicU64,
    stop: AtomicBool,
    error: Mutex<Option<String>>,
}

impl Progress {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn accept(&self, n: u64) {
        self.accepted.fetch_add(n, Ordering::Relaxed);
    }

    /// Records the first failure and stops the cell: a figure with a refused message
    /// in it is not a figure.
    fn fail(&self, e: impl std::fmt::Display) {
        let mut err = self.error.lock().unwrap_or_else(|e| e.into_inner());
        err.get_or_insert_with(|| e.to_string());
        self.stop.store(true, Ordering::Relaxed);
    }

    fn check(&self, report: &Report) {
        if report.all_delivered() {
            self.accept(1);
        } else {
            self.fail(format!("not delivered: {report:?}"));
        }
    }
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        rounds: 3,
        seconds: 3.0,
        warmup: 1.0,
        callers: 100,
        connections: vec![1, 4, 16],
        rtts: vec![0, 50],
        raw_connections: 4,
        smol: true,
        proxy_at_0: false,
        current_thread: false,
        kinds: ["ceiling", "stream", "ours-tokio", "ours-smol", "lettre"]
            .map(String::from)
            .to_vec(),
        svg: None,
        pool: PoolOverrides::default(),
    };
    let list = |v: &str| -> Result<Vec<u64>, String> { v.split(',').map(crate::num).collect() };
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        if flag == "--proxy-at-0" {
            o.proxy_at_0 = true;
            i += 1;
            continue;
        }
        let v = args.get(i + 1).ok_or(format!("{flag} needs a value"))?;
        match flag {
            "--rounds" => o.rounds = crate::num(v)?,
            "--seconds" => o.seconds = crate::num(v)?,
            "--warmup" => o.warmup = crate::num(v)?,
            "--callers" => o.callers = crate::num(v)?,
            "--raw-connections" => o.raw_connections = crate::num(v)?,
            "--connections" => o.connections = list(v)?.into_iter().map(|n| n as usize).collect(),
            "--rtts" => o.rtts = list(v)?,
            "--svg" => o.svg = Some(v.into()),
            "--tokio-runtime" => o.current_thread = v == "current",
            "--clients" => o.kinds = v.split(',').map(String::from).collect(),
            "--fill" => o.pool.fill = Some(crate::num(v)?),
            "--max-messages" => o.pool.max_messages = Some(crate::num(v)?),
            other => return Err(format!("unknown option {other}")),
        }
        i += 2;
    }
    o.smol = o.kinds.iter().any(|k| k == "ours-smol");
    Ok(o)
}

pub(crate) fn main(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    let _ = POOL_OVERRIDES.set(o.pool);
    let sink = smtp_sink::Sink::builder()
        .discard()
        .start()
        .map_err(|e| e.to_string())?;
    // The proxy's own runtime, apart from the clients'.
    let proxy_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(PROXY_THREAD)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut clients = vec![Client::Ceiling, Client::Stream];
    for &n in &o.connections {
        clients.extend([Client::Ours(n), Client::Smol(n), Client::Lettre(n)]);
    }
    clients.retain(|c| o.kinds.iter().any(|k| *k == c.kind()));
    let (load_start, started) = (loadavg(), Instant::now());
    let mut loads = Vec::new();
    let mut samples = Vec::new();
    for round in 0..o.rounds {
        for &rtt_ms in &o.rtts {
            let proxy = match rtt_ms {
                0 if !o.proxy_at_0 => None,
                ms => Some(
                    proxy_rt
                        .block_on(Proxy::start(sink.port(), Duration::from_millis(ms) / 2))
                        .map_err(|e| e.to_string())?,
                ),
            };
            let port = proxy.as_ref().map_or(sink.port(), |p| p.port);
            for &client in &clients {
                loads.push(loadavg());
                let before = sink.counts();
                let m = cell(client, port, &o)?;
                let after = sink.counts();
                let connections = after.connections - before.connections;
                // The clients' count is checked against what reached the sink.
                if after.accepted - before.accepted < m.total {
                    return Err(format!(
                        "{}: {} messages counted, the sink accepted {}",
                        client.label(),
                        m.total,
                        after.accepted - before.accepted
                    ));
                }
                let flights = proxy.as_ref().map(|p| {
                    p.stats.flights_between(m.from_ns, m.to_ns) as f64 / m.messages.max(1) as f64
                });
                eprintln!(
                    "round {}/{} rtt {rtt_ms:>3} ms {:<28} {:>9.0} msg/s {connections:>4} conns opened, client {:.2} µs/msg, sink {:.2} µs/msg ({:.0}% busy){} (load {})",
                    round + 1,
                    o.rounds,
                    client.label(),
                    m.rate,
                    m.client_us,
                    m.sink_us,
                    100.0 * m.sink_busy,
                    flights.map_or(String::new(), |f| format!(", {f:.3} flights/msg")),
                    loads.last().map_or("", String::as_str),
                );
                samples.push(Sample {
                    round,
                    rtt_ms,
                    client,
                    rate: m.rate,
                    connections,
                    flights,
                    client_us: m.client_us,
                    sink_us: m.sink_us,
                    sink_busy: m.sink_busy,
                });
            }
        }
    }
    let meta = format!(
        "{} rounds of {} s per cell after {} s of warm-up, {} callers, {} cores; load average {} before, {} after, before each cell {}; {:.0} s in all",
        o.rounds,
        o.seconds,
        o.warmup,
        o.callers,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_start,
        loadavg(),
        load_range(&loads),
        started.elapsed().as_secs_f64()
    );
    print!("{}", markdown(&o, &clients, &samples, &meta));
    if let Some(path) = &o.svg {
        std::fs::write(path, svg(&o, &samples)).map_err(|e| e.to_string())?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// The 1-minute load averages seen: lowest to highest, and the median.
fn load_range(loads: &[String]) -> String {
    let ones: Vec<f64> = loads
        .iter()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    let lo = ones.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = ones.iter().copied().fold(0.0, f64::max);
    format!("{lo:.2} to {hi:.2} (median {:.2})", median(&ones))
}

/// What a cell measured in its timed window.
#[derive(Clone, Copy, Debug, Default)]
struct Measured {
    /// Accepted messages per second.
    rate: f64,
    /// Wall ns at its start and end, to count the proxy's flights.
    from_ns: u128,
    to_ns: u128,
    messages: u64,
    /// Messages accepted over the whole cell, warm-up included.
    total: u64,
    /// CPU time of the client's threads and of the sink's thread, per message.
    client_us: f64,
    sink_us: f64,
    /// The sink thread's CPU time over the window's wall time.
    sink_busy: f64,
}

/// The name of the proxy's threads: neither client nor sink.
const PROXY_THREAD: &str = "bench-proxy";

/// CPU time (µs) of every thread of this process, by thread id, with its name.
fn thread_cpu() -> Vec<(u64, String, u64)> {
    // /proc counts in USER_HZ ticks, 100 per second on Linux.
    let tick_us = 10_000;
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let e = e.ok()?;
        let tid = e.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
        let (head, rest) = stat.rsplit_once(") ")?;
        let name = head.split_once(" (")?.1.to_string();
        // After the name: state, then fields 4.. of stat(5); utime and stime are 14, 15.
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
        Some((tid, name, ticks * tick_us))
    })
    .collect()
}

/// CPU µs spent since `before` by the sink's thread and by the client's (every thread
/// but the sink's, the proxy's and the main one, which only keeps time).
fn cpu_since(before: &[(u64, String, u64)]) -> (u64, u64) {
    let (mut sink, mut client) = (0, 0);
    for (tid, name, us) in thread_cpu() {
        let was = before.iter().find(|b| b.0 == tid).map_or(0, |b| b.2);
        let spent = us.saturating_sub(was);
        if name.starts_with("smtp-sink") {
            sink += spent;
        } else if name != "smtp-bench" && !name.starts_with(PROXY_THREAD) {
            client += spent;
        }
    }
    (sink, client)
}

/// Runs one cell.
fn cell(client: Client, port: u16, o: &Options) -> Result<Measured, String> {
    let p = Arc::new(Progress::default());
    let timed = |p: &Progress| {
        std::thread::sleep(Duration::from_secs_f64(o.warmup));
        let (n0, t0, w0) = (
            p.accepted.load(Ordering::Relaxed),
            Instant::now(),
            wall_ns(),
        );
        let cpu0 = thread_cpu();
        std::thread::sleep(Duration::from_secs_f64(o.seconds));
        let (n1, t1, w1) = (
            p.accepted.load(Ordering::Relaxed),
            Instant::now(),
            wall_ns(),
        );
        let (sink, client) = cpu_since(&cpu0);
        p.stop.store(true, Ordering::Relaxed);
        let messages = n1 - n0;
        let seconds = (t1 - t0).as_secs_f64();
        let per = |us: u64| us as f64 / messages.max(1) as f64;
        Measured {
            rate: messages as f64 / seconds,
            from_ns: w0,
            to_ns: w1,
            messages,
            total: 0,
            client_us: per(client),
            sink_us: per(sink),
            sink_busy: sink as f64 / 1e6 / seconds,
        }
    };
    let measured = match client {
        Client::Smol(n) => {
            let task = smol::spawn(ours_smol(port, n, o.callers, p.clone()));
            let m = timed(&p);
            smol::block_on(task);
            m
        }
        _ => {
            let rt = match o.current_thread {
                true => tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build(),
                false => tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("bench-client")
                    .enable_all()
                    .build(),
            }
            .map_err(|e| e.to_string())?;
            let q = p.clone();
            let work: std::pin::Pin<Box<dyn Future<Output = ()> + Send>> = match client {
                Client::Ours(n) => Box::pin(ours_tokio(port, n, o.callers, q)),
                Client::Lettre(n) => Box::pin(lettre(port, n, o.callers, q)),
                Client::Stream => Box::pin(stream(port, q)),
                _ => Box::pin(ceiling(port, o.raw_connections, q)),
            };
            // The runtime is driven from its own thread (a current-thread runtime runs
            // its tasks there), while this one keeps time.
            let runner = std::thread::Builder::new()
                .name("bench-client".into())
                .spawn(move || {
                    rt.block_on(work);
                    // lettre's pool may leave connection tasks behind.
                    rt.shutdown_timeout(Duration::from_secs(1));
                })
                .map_err(|e| e.to_string())?;
            let m = timed(&p);
            runner.join().map_err(|_| "the client thread panicked")?;
            m
        }
    };
    let error = p.error.lock().unwrap_or_else(|e| e.into_inner()).take();
    match error {
        Some(e) => Err(format!("{}: {e}", client.label())),
        None => Ok(Measured {
            total: p.accepted.load(Ordering::Relaxed),
            ..measured
        }),
    }
}

/// The envelope and content every message of the pools and the stream carries.
fn our_message() -> (Envelope, Arc<[u8]>) {
    let tag = "pool";
    let body: Arc<[u8]> = message(tag).into();
    let rcpts = recipients(tag).map(|a| ForwardPath::new(&a).expect("valid address"));
    let from = ReversePath::new(&sender()).expect("valid address");
    (Envelope::new(from, rcpts).size(body.len() as u64), body)
}

fn delivered(report: &Report) -> Result<(), String> {
    match report.all_delivered() {
        true => Ok(()),
        false => Err(format!("not delivered: {report:?}")),
    }
}

fn pool_config(max_connections: usize) -> smtp_proto::pool::PoolConfig {
    let mut pool_config = smtp_proto::pool::PoolConfig::default();
    pool_config.max_connections = max_connections;
    let overrides = POOL_OVERRIDES.get().copied().unwrap_or_default();
    if let Some(fill) = overrides.fill {
        pool_config.fill = fill;
    }
    if let Some(max) = overrides.max_messages {
        pool_config.max_messages = max;
    }
    pool_config
}

/// A pool the callers send through: the same caller code drives each.
trait Submit: Clone + Send + 'static {
    fn submit(&self) -> impl Future<Output = Result<(), String>> + Send;
}

/// One of our pools with the message its callers send.
#[derive(Clone)]
struct Ours<P> {
    pool: P,
    envelope: Envelope,
    body: Arc<[u8]>,
}

impl Submit for Ours<smtp_tokio::Pool> {
    async fn submit(&self) -> Result<(), String> {
        let (envelope, body) = (self.envelope.clone(), self.body.clone());
        let r = self.pool.send(envelope, body).await;
        delivered(&r.map_err(|e| e.to_string())?.report)
    }
}

impl Submit for Ours<smtp_smol::Pool> {
    async fn submit(&self) -> Result<(), String> {
        let (envelope, body) = (self.envelope.clone(), self.body.clone());
        let r = self.pool.send(envelope, body).await;
        delivered(&r.map_err(|e| e.to_string())?.report)
    }
}

/// lettre's pooled transport with the message its callers send.
#[derive(Clone)]
struct Lettre {
    transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    envelope: lettre::address::Envelope,
    body: Arc<[u8]>,
}

impl Submit for Lettre {
    async fn submit(&self) -> Result<(), String> {
        use lettre::AsyncTransport;
        match self.transport.send_raw(&self.envelope, &self.body).await {
            Ok(r) if r.is_positive() => Ok(()),
            Ok(r) => Err(format!("lettre: {r:?}")),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// `n` callers, each sending one message after another until the cell stops.
fn callers<S: Submit>(
    n: usize,
    to: &S,
    p: &Arc<Progress>,
) -> impl Iterator<Item = impl Future<Output = ()> + Send + 'static> {
    let (to, p) = (to.clone(), p.clone());
    (0..n).map(move |_| {
        let (to, p) = (to.clone(), p.clone());
        async move {
            while !p.stopped() {
                if let Err(e) = to.submit().await {
                    return p.fail(e);
                }
                p.accept(1);
            }
        }
    })
}

async fn ours_tokio(port: u16, conns: usize, n: usize, p: Arc<Progress>) {
    let builder = smtp_tokio::Builder::new("127.0.0.1")
        .port(port)
        .starttls(smtp_tokio::TlsPolicy::Disabled);
    let (envelope, body) = our_message();
    let pool = smtp_tokio::Pool::new(builder, pool_config(conns));
    let ours = Ours {
        pool,
        envelope,
        body,
    };
    let tasks: Vec<_> = callers(n, &ours, &p).map(tokio::spawn).collect();
    for t in tasks {
        let _ = t.await;
    }
    ours.pool.close().await;
}

async fn ours_smol(port: u16, conns: usize, n: usize, p: Arc<Progress>) {
    let builder = smtp_smol::Builder::new("127.0.0.1")
        .port(port)
        .starttls(smtp_smol::TlsPolicy::Disabled);
    let (envelope, body) = our_message();
    let pool = smtp_smol::Pool::new(builder, pool_config(conns));
    let ours = Ours {
        pool,
        envelope,
        body,
    };
    let tasks: Vec<_> = callers(n, &ours, &p).map(smol::spawn).collect();
    for t in tasks {
        t.await;
    }
    ours.pool.close().await;
}

async fn lettre(port: u16, conns: usize, n: usize, p: Arc<Progress>) {
    use lettre::transport::smtp::{extension::ClientId, PoolConfig};
    let transport =
        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(port)
            .hello_name(ClientId::Domain("localhost".into()))
            .timeout(Some(Duration::from_secs(30)))
            .pool_config(PoolConfig::new().max_size(conns as u32))
            .build();
    let tag = "pool";
    let to: Result<Vec<lettre::Address>, _> = recipients(tag).iter().map(|a| a.parse()).collect();
    let from = sender().parse().ok();
    let envelope = match to.map(|to| lettre::address::Envelope::new(from, to)) {
        Ok(Ok(e)) => e,
        _ => return p.fail("bad lettre envelope"),
    };
    let body = message(tag).into();
    let lettre = Lettre {
        transport,
        envelope,
        body,
    };
    let tasks: Vec<_> = callers(n, &lettre, &p).map(tokio::spawn).collect();
    for t in tasks {
        let _ = t.await;
    }
}

async fn stream(port: u16, p: Arc<Progress>) {
    let connected = smtp_tokio::Builder::new("127.0.0.1")
        .port(port)
        .starttls(smtp_tokio::TlsPolicy::Disabled)
        .connect()
        .await;
    let mut conn = match connected {
        Ok(c) => c,
        Err(e) => return p.fail(e),
    };
    let (env, body) = our_message();
    let next = |_: &mut std::task::Context<'_>| match p.stopped() {
        true => Poll::Ready(None),
        false => Poll::Ready(Some((env.clone(), &body[..], ()))),
    };
    let on_report = |(), r: Result<Report, smtp_tokio::Error>| match r {
        Ok(r) => p.check(&r),
        Err(e) => p.fail(e),
    };
    if let Err(e) = conn.stream(STREAM_OPEN, next, on_report).await {
        return p.fail(e);
    }
    let _ = conn.quit().await;
}

async fn ceiling(port: u16, conns: usize, p: Arc<Progress>) {
    let tasks: Vec<_> = (0..conns)
        .map(|_| {
            let p = p.clone();
            tokio::spawn(async move {
                if let Err(e) = raw_connection(port, &p).await {
                    p.fail(format!("raw client: {e}"));
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
}

/// Reads until a reply line `2xx ` (the last line of a positive reply).
async fn read_reply(s: &mut TcpStream) -> Result<(), String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = s.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed".into());
        }
        got.extend_from_slice(&buf[..n]);
        if got.ends_with(b"\r\n") {
            let last = got[..got.len() - 2]
                .rsplit(|&b| b == b'\n')
                .next()
                .unwrap_or_default();
            if last.get(3) == Some(&b' ') {
                return match last.first() {
                    Some(b'2') => Ok(()),
                    _ => Err(String::from_utf8_lossy(&got).into_owned()),
                };
            }
        }
    }
}

/// One raw connection: prebuilt flights of messages as fast as the sink answers.
async fn raw_connection(port: u16, p: &Progress) -> Result<(), String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    read_reply(&mut s).await?;
    s.write_all(b"EHLO raw.example.org\r\n")
        .await
        .map_err(|e| e.to_string())?;
    read_reply(&mut s).await?;
    let tag = "pool";
    let body = message(tag);
    let mut one = format!("MAIL FROM:<{}>\r\n", sender()).into_bytes();
    for r in recipients(tag) {
        one.extend_from_slice(format!("RCPT TO:<{r}>\r\n").as_bytes());
    }
    one.extend_from_slice(format!("BDAT {} LAST\r\n", body.len()).as_bytes());
    one.extend_from_slice(&body);
    let flight = one.repeat(RAW_FLIGHT);
    let window = Arc::new(Semaphore::new(RAW_WINDOW));
    let (mut r, mut w) = s.into_split();
    let writer = async {
        while !p.stopped() {
            let permits = window.acquire_many(RAW_FLIGHT as u32).await;
            permits.map_err(|e| e.to_string())?.forget();
            w.write_all(&flight).await.map_err(|e| e.to_string())?;
        }
        // Every message answered, then QUIT: the sink's 221 and close end the reader.
        let all = window.acquire_many(RAW_WINDOW as u32).await;
        drop(all.map_err(|e| e.to_string())?);
        w.write_all(b"QUIT\r\n").await.map_err(|e| e.to_string())
    };
    let reader = async {
        let mut buf = vec![0u8; 64 * 1024];
        let (mut lines, mut line_start) = (0u64, true);
        loop {
            let n = r.read(&mut buf).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Ok::<(), String>(());
            }
            let before = lines / RAW_REPLIES;
            for &b in &buf[..n] {
                if line_start && b != b'2' {
                    return Err("a reply that is not 2xx".into());
                }
                line_start = b == b'\n';
                lines += u64::from(line_start);
            }
            let done = lines / RAW_REPLIES - before;
            p.accept(done);
            window.add_permits(done as usize);
        }
    };
    let (wrote, read) = tokio::join!(writer, reader);
    wrote.and(read)
}

/// The samples of one client at one RTT, by round.
fn rates(samples: &[Sample], client: Client, rtt: u64) -> Vec<(usize, f64)> {
    samples
        .iter()
        .filter(|s| s.client == client && s.rtt_ms == rtt)
        .map(|s| (s.round, s.rate))
        .collect()
}

/// The median over rounds of `a`'s rate over `b`'s in the same round.
fn ratio(samples: &[Sample], a: Client, b: Client, rtt: u64) -> Option<f64> {
    let bs = rates(samples, b, rtt);
    let per_round: Vec<f64> = rates(samples, a, rtt)
        .into_iter()
        .filter_map(|(round, ra)| {
            let rb = bs.iter().find(|(r, _)| *r == round)?.1;
            (rb > 0.0).then(|| ra / rb)
        })
        .collect();
    (!per_round.is_empty()).then(|| median(&per_round))
}

fn fmt_rate(r: f64) -> String {
    if r >= 1000.0 {
        let n = r.round() as u64;
        format!("{},{:03}", n / 1000, n % 1000)
    } else if r >= 100.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

fn markdown(o: &Options, clients: &[Client], samples: &[Sample], meta: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{meta}.\n");
    let _ = writeln!(
        s,
        "| client | RTT | msg/s, median [min–max] | connections opened per cell | client flights/msg | client CPU µs/msg | sink CPU µs/msg (busy) |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
    for &rtt in &o.rtts {
        for &c in clients {
            let cell: Vec<&Sample> = samples
                .iter()
                .filter(|x| x.client == c && x.rtt_ms == rtt)
                .collect();
            let of =
                |f: &dyn Fn(&Sample) -> f64| median(&cell.iter().map(|x| f(x)).collect::<Vec<_>>());
            let r: Vec<f64> = cell.iter().map(|x| x.rate).collect();
            let flights: Vec<f64> = cell.iter().filter_map(|x| x.flights).collect();
            let lo = r.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = r.iter().copied().fold(0.0, f64::max);
            let _ = writeln!(
                s,
                "| {} | {rtt} ms | {} [{}–{}] | {:.0} | {} | {:.1} | {:.1} ({:.0}%) |",
                c.label(),
                fmt_rate(median(&r)),
                fmt_rate(lo),
                fmt_rate(hi),
                of(&|x| x.connections as f64),
                match flights.is_empty() {
                    true => "–".into(),
                    false => format!("{:.3}", median(&flights)),
                },
                of(&|x| x.client_us),
                of(&|x| x.sink_us),
                100.0 * of(&|x| x.sink_busy),
            );
        }
    }
    let pct = |v: Option<f64>| v.map_or("–".into(), |v| format!("{:.0}%", 100.0 * v));
    let times = |v: Option<f64>| v.map_or("–".into(), |v| format!("{v:.1}×"));
    let _ = writeln!(
        s,
        "\n| connections | RTT | ours-tokio / lettre | ours-smol / lettre | ours-tokio / ceiling | ours-smol / ceiling | ours-tokio / 1 caller streaming |"
    );
    let _ = writeln!(s, "|---:|---:|---:|---:|---:|---:|---:|");
    for &rtt in &o.rtts {
        for &n in &o.connections {
            let (t, m, l) = (Client::Ours(n), Client::Smol(n), Client::Lettre(n));
            let _ = writeln!(
                s,
                "| {n} | {rtt} ms | {} | {} | {} | {} | {} |",
                times(ratio(samples, t, l, rtt)),
                times(ratio(samples, m, l, rtt)),
                pct(ratio(samples, t, Client::Ceiling, rtt)),
                pct(ratio(samples, m, Client::Ceiling, rtt)),
                pct(ratio(samples, t, Client::Stream, rtt)),
            );
        }
    }
    let verdict = |v: Option<f64>, target: f64| match v {
        Some(v) if v >= target => format!("**met** ({:.0}%)", 100.0 * v),
        Some(v) => format!("**not met** ({:.0}%)", 100.0 * v),
        None => "not measured".into(),
    };
    let most = o.connections.iter().copied().max().unwrap_or(1);
    let _ = writeln!(s, "\nTargets (medians of per-round ratios):\n");
    let mut impls = vec![("ours-tokio", Client::Ours(most), Client::Ours(1))];
    if o.smol {
        impls.push(("ours-smol", Client::Smol(most), Client::Smol(1)));
    }
    for (name, full, one) in impls {
        let _ = writeln!(
            s,
            "- {name}, {most} connections, at least 90% of the ceiling at 0 ms: {}",
            verdict(ratio(samples, full, Client::Ceiling, 0), 0.9)
        );
        let _ = writeln!(
            s,
            "- {name}, {} callers on 1 connection, at least 80% of 1 caller streaming on 1 connection at 0 ms: {}",
            o.callers,
            verdict(ratio(samples, one, Client::Stream, 0), 0.8)
        );
    }
    s
}

/// Grouped bars, one panel per RTT: each pool's median msg/s by connections (log
/// scale), with the ceiling and the one-caller stream as lines across.
fn svg(o: &Options, samples: &[Sample]) -> String {
    let (pw, ph, left, top, bottom, gap) = (380.0, 300.0, 70.0, 50.0, 70.0, 70.0);
    let width = left + o.rtts.len() as f64 * (pw + gap);
    let height = top + ph + bottom;
    let med = |c: Client, rtt: u64| {
        let r: Vec<f64> = rates(samples, c, rtt).into_iter().map(|x| x.1).collect();
        median(&r)
    };
    let all: Vec<f64> = samples.iter().map(|x| x.rate).collect();
    let (lo, hi) = log_range(&all);
    let ypos = |r: f64| top + ph - (r.max(1e-9).log10() - lo) / (hi - lo) * ph;
    let mut bars = vec![("ours-tokio", "#1f77b4")];
    if o.smol {
        bars.push(("ours-smol", "#2ca02c"));
    }
    bars.push(("lettre", "#d62728"));
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/>"#
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="18" text-anchor="middle" font-size="14">{} callers through a pool: messages/s by connections (log scale, median of rounds)</text>"#,
        width / 2.0,
        o.callers
    );
    for (pi, &rtt) in o.rtts.iter().enumerate() {
        let x0 = left + pi as f64 * (pw + gap);
        let _ = writeln!(
            s,
            r##"<rect x="{x0}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#888"/><text x="{}" y="{}" text-anchor="middle">{rtt} ms RTT</text><text transform="translate({:.1},{:.1}) rotate(-90)" text-anchor="middle">messages/s</text>"##,
            x0 + pw / 2.0,
            top - 8.0,
            x0 - 50.0,
            top + ph / 2.0
        );
        log_grid(&mut s, x0, pw, (lo, hi), ypos);
        let group = pw / o.connections.len() as f64;
        let bw = (group - 30.0) / bars.len() as f64;
        for (gi, &n) in o.connections.iter().enumerate() {
            let gx = x0 + gi as f64 * group + 15.0;
            for (bi, (name, color)) in bars.iter().enumerate() {
                let c = match *name {
                    "ours-tokio" => Client::Ours(n),
                    "ours-smol" => Client::Smol(n),
                    _ => Client::Lettre(n),
                };
                let r = med(c, rtt);
                if r.is_nan() || r <= 0.0 {
                    continue;
                }
                let y = ypos(r);
                let _ = writeln!(
                    s,
                    r#"<rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{color}"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="9">{}</text>"#,
                    gx + bi as f64 * bw,
                    bw - 2.0,
                    top + ph - y,
                    gx + bi as f64 * bw + bw / 2.0 - 1.0,
                    y - 3.0,
                    fmt_rate(r)
                );
            }
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{}" text-anchor="middle">{n} conn</text>"#,
                gx + (group - 30.0) / 2.0,
                top + ph + 16.0
            );
        }
        for (c, color, name) in [
            (Client::Ceiling, "#000", "ceiling (raw client)"),
            (Client::Stream, "#9467bd", "1 caller streaming, 1 conn"),
        ] {
            let r = med(c, rtt);
            if r.is_nan() || r <= 0.0 {
                continue;
            }
            let y = ypos(r);
            let _ = writeln!(
                s,
                r#"<line x1="{x0}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="{color}" stroke-dasharray="5,3"/><text x="{}" y="{:.1}" text-anchor="end" font-size="10" fill="{color}">{name}: {}</text>"#,
                x0 + pw,
                x0 + pw - 4.0,
                y - 3.0,
                fmt_rate(r)
            );
        }
    }
    for (bi, (name, color)) in bars.iter().enumerate() {
        let x = left + bi as f64 * 140.0;
        let y = top + ph + 45.0;
        let _ = writeln!(
            s,
            r#"<rect x="{x}" y="{}" width="14" height="10" fill="{color}"/><text x="{}" y="{y}">{name}</text>"#,
            y - 9.0,
            x + 20.0
        );
    }
    s.push_str("</svg>\n");
    s
}
