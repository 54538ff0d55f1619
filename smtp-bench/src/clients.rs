//! The clients under test, each run in its own process (`smtp-bench client ...`) so that
//! its CPU time and peak memory are its own. Every client opens one connection, sends
//! one EHLO, no TLS, no AUTH; sends `WARMUP` untimed messages (this also sizes the timed
//! batch and, for lettre, puts the connection into its pool), then `n` timed messages.

use std::time::{Duration, Instant};

use nix::sys::resource::{getrusage, UsageWho};

use crate::wall_ns;

/// Untimed messages before the timed ones.
pub(crate) const WARMUP: usize = 5;

/// The clients, by the name used on the command line and in the results.
pub(crate) const CLIENTS: &[&str] = &[
    "ours-blocking",
    "ours-tokio",
    "ours-smol",
    "lettre-blocking",
    "lettre-tokio",
    "lettre-blocking+nodelay",
    "lettre-tokio+nodelay",
];

/// How the timed batch is sized: enough messages for `seconds` at the warm-up rate,
/// within `[min, max]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sizing {
    pub(crate) seconds: f64,
    pub(crate) min: usize,
    pub(crate) max: usize,
}

impl Sizing {
    fn messages(&self, warmup_rate: f64) -> usize {
        ((warmup_rate * self.seconds) as usize).clamp(self.min, self.max)
    }
}

/// What one client run measured; printed as one `key=value` line for the parent.
#[derive(Debug, Default, Clone)]
pub(crate) struct Outcome {
    pub(crate) messages: usize,
    pub(crate) seconds: f64,
    /// Wall-clock ns of the timed window, to count the proxy's flights within it.
    pub(crate) start_ns: u128,
    pub(crate) end_ns: u128,
    /// User + system CPU time in the timed window, and over the whole process.
    pub(crate) cpu_window_us: u64,
    pub(crate) cpu_total_us: u64,
    pub(crate) max_rss_kb: u64,
    /// Sockets on which the caller set TCP_NODELAY (the `+nodelay` variants).
    pub(crate) nodelay_set: usize,
}

impl Outcome {
    pub(crate) fn to_line(&self) -> String {
        format!(
            "RESULT messages={} seconds={} start_ns={} end_ns={} cpu_window_us={} cpu_total_us={} max_rss_kb={} nodelay_set={}",
            self.messages,
            self.seconds,
            self.start_ns,
            self.end_ns,
            self.cpu_window_us,
            self.cpu_total_us,
            self.max_rss_kb,
            self.nodelay_set
        )
    }

    pub(crate) fn parse(line: &str) -> Option<Outcome> {
        let rest = line.strip_prefix("RESULT ")?;
        let mut o = Outcome::default();
        for kv in rest.split_whitespace() {
            let (k, v) = kv.split_once('=')?;
            match k {
                "messages" => o.messages = v.parse().ok()?,
                "seconds" => o.seconds = v.parse().ok()?,
                "start_ns" => o.start_ns = v.parse().ok()?,
                "end_ns" => o.end_ns = v.parse().ok()?,
                "cpu_window_us" => o.cpu_window_us = v.parse().ok()?,
                "cpu_total_us" => o.cpu_total_us = v.parse().ok()?,
                "max_rss_kb" => o.max_rss_kb = v.parse().ok()?,
                "nodelay_set" => o.nodelay_set = v.parse().ok()?,
                _ => return None,
            }
        }
        Some(o)
    }
}

/// The message every client sends: about 2 KiB, CRLF line ends, 7-bit.
pub(crate) fn message(tag: &str) -> Vec<u8> {
    let mut m = format!(
        "From: bench@example.org\r\nTo: {tag}.r1@example.com, {tag}.r2@example.com, {tag}.r3@example.com\r\n\
         Subject: smtp-bench {tag}\r\nMessage-ID: <{tag}@bench.example.org>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
    )
    .into_bytes();
    let line = b"The quick brown fox jumps over the lazy dog; pack my box with five dozen.\r\n";
    while m.len() + line.len() <= 2048 {
        m.extend_from_slice(line);
    }
    m
}

pub(crate) fn sender() -> String {
    "bench@example.org".to_string()
}

pub(crate) fn recipients(tag: &str) -> [String; 3] {
    [1, 2, 3].map(|i| format!("{tag}.r{i}@example.com"))
}

fn cpu_us() -> u64 {
    cpu_us_of(UsageWho::RUSAGE_SELF)
}

/// User + system CPU time of `who` (this process, or its children waited for), in µs.
pub(crate) fn cpu_us_of(who: UsageWho) -> u64 {
    match getrusage(who) {
        Ok(u) => {
            let t =
                |tv: nix::sys::time::TimeVal| tv.tv_sec() as u64 * 1_000_000 + tv.tv_usec() as u64;
            t(u.user_time()) + t(u.system_time())
        }
        Err(_) => 0,
    }
}

/// The process's peak resident set (VmHWM). Not getrusage's ru_maxrss: that one keeps
/// the high-water mark from before `exec`, i.e. the parent's size at fork.
fn max_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Measures the timed part: `send(n)` must send `n` messages and fail on any refusal.
struct Timer {
    start: Instant,
    start_ns: u128,
    cpu0: u64,
}

impl Timer {
    fn start() -> Timer {
        Timer {
            cpu0: cpu_us(),
            start_ns: wall_ns(),
            start: Instant::now(),
        }
    }

    fn stop(self, messages: usize, nodelay_set: usize) -> Outcome {
        let seconds = self.start.elapsed().as_secs_f64();
        let end_ns = wall_ns();
        let cpu = cpu_us();
        Outcome {
            messages,
            seconds,
            start_ns: self.start_ns,
            end_ns,
            cpu_window_us: cpu - self.cpu0,
            cpu_total_us: cpu,
            max_rss_kb: max_rss_kb(),
            nodelay_set,
        }
    }
}

fn warmup_rate(start: Instant) -> f64 {
    WARMUP as f64 / start.elapsed().as_secs_f64().max(1e-6)
}

/// Runs client `kind` against `127.0.0.1:port`.
pub(crate) fn run(kind: &str, port: u16, tag: &str, sizing: Sizing) -> Result<Outcome, String> {
    match kind {
        "ours-blocking" => ours_blocking(port, tag, sizing),
        "ours-tokio" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?
            .block_on(ours_tokio(port, tag, sizing)),
        "ours-smol" => smol::block_on(ours_smol(port, tag, sizing)),
        "lettre-blocking" => lettre_blocking(port, tag, sizing, false),
        "lettre-blocking+nodelay" => lettre_blocking(port, tag, sizing, true),
        "lettre-tokio" | "lettre-tokio+nodelay" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?
            .block_on(lettre_tokio(port, tag, sizing, kind.ends_with("+nodelay"))),
        _ => Err(format!("unknown client {kind}")),
    }
}

fn our_batch<'a>(tag: &str, n: usize, body: &'a [u8]) -> Vec<(smtp_proto::Envelope, &'a [u8])> {
    use smtp_proto::command::{ForwardPath, ReversePath};
    let to = recipients(tag);
    (0..n)
        .map(|_| {
            let rcpts = to
                .iter()
                .map(|a| ForwardPath::new(a).expect("valid address"));
            let env = smtp_proto::Envelope::new(ReversePath::new(&sender()).expect("valid"), rcpts)
                .size(body.len() as u64);
            (env, body)
        })
        .collect()
}

fn check_reports(reports: &[smtp_proto::Report], n: usize) -> Result<(), String> {
    if reports.len() != n || !reports.iter().all(|r| r.all_delivered()) {
        return Err(format!("not every message was accepted: {reports:?}"));
    }
    Ok(())
}

fn ours_blocking(port: u16, tag: &str, sizing: Sizing) -> Result<Outcome, String> {
    let body = message(tag);
    let mut conn = smtp_blocking::Builder::new("127.0.0.1")
        .port(port)
        .starttls(smtp_blocking::TlsPolicy::Disabled)
        .connect()
        .map_err(|e| e.to_string())?;
    let t = Instant::now();
    let r = conn
        .send_many(our_batch(tag, WARMUP, &body))
        .map_err(|e| e.to_string())?;
    check_reports(&r, WARMUP)?;
    let n = sizing.messages(warmup_rate(t));
    let batch = our_batch(tag, n, &body);
    let timer = Timer::start();
    let r = conn.send_many(batch).map_err(|e| e.to_string())?;
    let out = timer.stop(n, 0);
    check_reports(&r, n)?;
    conn.quit().map_err(|e| e.to_string())?;
    Ok(out)
}

async fn ours_tokio(port: u16, tag: &str, sizing: Sizing) -> Result<Outcome, String> {
    let body = message(tag);
    let mut conn = smtp_tokio::Builder::new("127.0.0.1")
        .port(port)
        .starttls(smtp_tokio::TlsPolicy::Disabled)
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    let t = Instant::now();
    let r = conn
        .send_many(our_batch(tag, WARMUP, &body))
        .await
        .map_err(|e| e.to_string())?;
    check_reports(&r, WARMUP)?;
    let n = sizing.messages(warmup_rate(t));
    let batch = our_batch(tag, n, &body);
    let timer = Timer::start();
    let r = conn.send_many(batch).await.map_err(|e| e.to_string())?;
    let out = timer.stop(n, 0);
    check_reports(&r, n)?;
    conn.quit().await.map_err(|e| e.to_string())?;
    Ok(out)
}

async fn ours_smol(port: u16, tag: &str, sizing: Sizing) -> Result<Outcome, String> {
    let body = message(tag);
    let mut conn = smtp_smol::Builder::new("127.0.0.1")
        .port(port)
        .starttls(smtp_smol::TlsPolicy::Disabled)
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    let t = Instant::now();
    let r = conn
        .send_many(our_batch(tag, WARMUP, &body))
        .await
        .map_err(|e| e.to_string())?;
    check_reports(&r, WARMUP)?;
    let n = sizing.messages(warmup_rate(t));
    let batch = our_batch(tag, n, &body);
    let timer = Timer::start();
    let r = conn.send_many(batch).await.map_err(|e| e.to_string())?;
    let out = timer.stop(n, 0);
    check_reports(&r, n)?;
    conn.quit().await.map_err(|e| e.to_string())?;
    Ok(out)
}

fn lettre_envelope(tag: &str) -> lettre::address::Envelope {
    let to = recipients(tag)
        .iter()
        .map(|a| a.parse().expect("valid address"))
        .collect();
    lettre::address::Envelope::new(Some(sender().parse().expect("valid")), to).expect("valid")
}

/// lettre opens its socket itself and offers no way to hand it one (blocking) or to set
/// options on it, so the caller sets TCP_NODELAY on every TCP socket of the process
/// once the connection is pooled: this process has no other.
fn set_nodelay_on_all_sockets() -> usize {
    use nix::sys::socket::{getsockopt, setsockopt, sockopt::TcpNoDelay};
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return 0;
    };
    let fds: Vec<i32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    fds.into_iter()
        .filter(|&fd| {
            setsockopt(fd, TcpNoDelay, &true).is_ok() && getsockopt(fd, TcpNoDelay) == Ok(true)
        })
        .count()
}

fn lettre_blocking(port: u16, tag: &str, sizing: Sizing, nodelay: bool) -> Result<Outcome, String> {
    use lettre::transport::smtp::{extension::ClientId, PoolConfig};
    use lettre::{SmtpTransport, Transport};
    let body = message(tag);
    let envelope = lettre_envelope(tag);
    let transport = SmtpTransport::builder_dangerous("127.0.0.1")
        .port(port)
        .hello_name(ClientId::Domain("localhost".into()))
        .timeout(Some(Duration::from_secs(30)))
        .pool_config(PoolConfig::new().max_size(1))
        .build();
    let t = Instant::now();
    for _ in 0..WARMUP {
        transport
            .send_raw(&envelope, &body)
            .map_err(|e| e.to_string())?;
    }
    let n = sizing.messages(warmup_rate(t));
    let set = if nodelay {
        set_nodelay_on_all_sockets()
    } else {
        0
    };
    if nodelay && set == 0 {
        return Err("could not set TCP_NODELAY on lettre's socket".into());
    }
    let timer = Timer::start();
    for _ in 0..n {
        transport
            .send_raw(&envelope, &body)
            .map_err(|e| e.to_string())?;
    }
    let out = timer.stop(n, set);
    drop(transport);
    Ok(out)
}

async fn lettre_tokio(
    port: u16,
    tag: &str,
    sizing: Sizing,
    nodelay: bool,
) -> Result<Outcome, String> {
    use lettre::transport::smtp::{extension::ClientId, PoolConfig};
    use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
    let body = message(tag);
    let envelope = lettre_envelope(tag);
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .hello_name(ClientId::Domain("localhost".into()))
        .timeout(Some(Duration::from_secs(30)))
        .pool_config(PoolConfig::new().max_size(1))
        .build();
    let t = Instant::now();
    for _ in 0..WARMUP {
        transport
            .send_raw(&envelope, &body)
            .await
            .map_err(|e| e.to_string())?;
    }
    let n = sizing.messages(warmup_rate(t));
    let set = if nodelay {
        set_nodelay_on_all_sockets()
    } else {
        0
    };
    if nodelay && set == 0 {
        return Err("could not set TCP_NODELAY on lettre's socket".into());
    }
    let timer = Timer::start();
    for _ in 0..n {
        transport
            .send_raw(&envelope, &body)
            .await
            .map_err(|e| e.to_string())?;
    }
    let out = timer.stop(n, set);
    drop(transport);
    Ok(out)
}
