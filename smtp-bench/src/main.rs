//! `smtp-bench`: messages per second, client flights per message, CPU and peak memory of
//! this workspace's adapters against lettre 0.11, over a latency-injecting proxy in
//! front of the project's Postfix test server, in one run. Writes
//! `docs/bench/results.md` (keeping the sections after its plot: other measurements')
//! and `docs/bench/throughput.svg`.
//!
//! ```text
//! bash scripts/test-servers start
//! cargo run --release -p smtp-bench -- [--runs 3] [--seconds 1.5] [--max-messages 400]
//!     [--delays 0,5,25] [--clients a,b] [--servers pc,p,none] [--out DIR] [--quick]
//! ```
//!
//! Each client runs in a child process (`smtp-bench client ...`), so its CPU time
//! (getrusage) and peak memory (VmHWM) are its own.
//!
//! More measurements, printed rather than written, each documented in its module:
//! `smtp-bench stream` (one connection with and without latency, `stream.rs`),
//! `smtp-bench pool` (100 callers through our pools and lettre's against smtp-sink's
//! ceiling, `pool.rs`), `smtp-bench cpu` (CPU per message of `smtp-send --repeat`,
//! `cpu.rs`) and `smtp-bench heap` (heap per idle connection, `heap.rs`).

mod clients;
mod cpu;
mod heap;
mod pool;
mod proxy;
mod report;
mod stream;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clients::{Outcome, Sizing, CLIENTS};

/// Wall-clock nanoseconds: the client process and the proxy compare these.
pub(crate) fn wall_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// A server configuration under test.
#[derive(Clone, Debug)]
pub(crate) struct Server {
    pub(crate) key: &'static str,
    pub(crate) label: &'static str,
    pub(crate) port: u16,
    pub(crate) pipelining: bool,
    pub(crate) chunking: bool,
}

/// One client run in one cell.
#[derive(Clone, Debug)]
pub(crate) struct Run {
    pub(crate) server: usize,
    pub(crate) delay_ms: u64,
    pub(crate) client: String,
    pub(crate) outcome: Outcome,
    pub(crate) flights: usize,
}

struct Options {
    runs: usize,
    sizing: Sizing,
    delays: Vec<u64>,
    clients: Vec<String>,
    servers: Vec<String>,
    out: PathBuf,
    maildir: Option<PathBuf>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("client") {
        client_main(&args[1..])
    } else if args.first().map(String::as_str) == Some("stream") {
        stream::main(&args[1..])
    } else if args.first().map(String::as_str) == Some("pool") {
        pool::main(&args[1..])
    } else if args.first().map(String::as_str) == Some("cpu") {
        cpu::main(&args[1..])
    } else if args.first().map(String::as_str) == Some("heap") {
        heap::main(&args[1..])
    } else {
        bench_main(&args)
    };
    if let Err(e) = result {
        eprintln!("smtp-bench: {e}");
        std::process::exit(1);
    }
}

fn value<'a>(args: &'a [String], i: &mut usize) -> Result<&'a str, String> {
    *i += 1;
    args.get(*i)
        .map(String::as_str)
        .ok_or_else(|| format!("{} needs a value", args[*i - 1]))
}

fn num<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("not a number: {s}"))
}

/// `smtp-bench client KIND PORT TAG SECONDS MIN MAX`: one measured client run; prints a
/// `RESULT ...` line.
fn client_main(args: &[String]) -> Result<(), String> {
    let [kind, port, tag, seconds, min, max] = args else {
        return Err("usage: smtp-bench client KIND PORT TAG SECONDS MIN MAX".into());
    };
    let sizing = Sizing {
        seconds: num(seconds)?,
        min: num(min)?,
        max: num(max)?,
    };
    let outcome = clients::run(kind, num(port)?, tag, sizing)?;
    println!("{}", outcome.to_line());
    Ok(())
}

fn servers() -> Vec<Server> {
    let port = |var: &str, default: u16| {
        std::env::var(var)
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(default)
    };
    vec![
        Server {
            key: "pc",
            label: "PIPELINING + CHUNKING",
            port: port("SMTP_TEST_POSTFIX_PORT", 2525),
            pipelining: true,
            chunking: true,
        },
        Server {
            key: "p",
            label: "PIPELINING",
            port: port("SMTP_TEST_POSTFIX_NOCHUNKING_PORT", 2527),
            pipelining: true,
            chunking: false,
        },
        Server {
            key: "none",
            label: "neither",
            port: port("SMTP_TEST_POSTFIX_NOPIPELINING_PORT", 2526),
            pipelining: false,
            chunking: false,
        },
    ]
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The Postfix Maildir: `$SMTP_TEST_POSTFIX_MAILDIR`, else from `.test-servers/env`.
fn find_maildir() -> Option<PathBuf> {
    if let Ok(m) = std::env::var("SMTP_TEST_POSTFIX_MAILDIR") {
        return Some(m.into());
    }
    let env = std::fs::read_to_string(workspace_root().join(".test-servers/env")).ok()?;
    env.lines()
        .find_map(|l| l.strip_prefix("export SMTP_TEST_POSTFIX_MAILDIR="))
        .map(PathBuf::from)
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        runs: 3,
        sizing: Sizing {
            seconds: 1.5,
            min: 5,
            max: 400,
        },
        delays: vec![0, 5, 25],
        clients: CLIENTS.iter().map(|s| s.to_string()).collect(),
        servers: vec!["pc".into(), "p".into(), "none".into()],
        out: workspace_root().join("docs/bench"),
        maildir: find_maildir(),
    };
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "run" => {}
            "--runs" => o.runs = num(value(args, &mut i)?)?,
            "--seconds" => o.sizing.seconds = num(value(args, &mut i)?)?,
            "--min-messages" => o.sizing.min = num(value(args, &mut i)?)?,
            "--max-messages" => o.sizing.max = num(value(args, &mut i)?)?,
            "--delays" => {
                o.delays = value(args, &mut i)?
                    .split(',')
                    .map(num)
                    .collect::<Result<_, _>>()?
            }
            "--clients" => o.clients = list(value(args, &mut i)?),
            "--servers" => o.servers = list(value(args, &mut i)?),
            "--out" => o.out = value(args, &mut i)?.into(),
            "--maildir" => o.maildir = Some(value(args, &mut i)?.into()),
            "--quick" => {
                o.runs = 1;
                o.sizing = Sizing {
                    seconds: 0.3,
                    min: 5,
                    max: 100,
                };
            }
            other => return Err(format!("unknown argument {other}")),
        }
        i += 1;
    }
    for c in &o.clients {
        if !CLIENTS.contains(&c.as_str()) {
            return Err(format!("unknown client {c}; known: {}", CLIENTS.join(", ")));
        }
    }
    Ok(o)
}

pub(crate) fn list(s: &str) -> Vec<String> {
    s.split(',').map(str::to_string).collect()
}

pub(crate) fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Files in Postfix's incoming and active queues: mail accepted but not yet delivered.
fn queued(maildir: &Path) -> usize {
    let Some(queue) = maildir.parent().map(|p| p.join("queue")) else {
        return 0;
    };
    fn count(p: &Path) -> usize {
        std::fs::read_dir(p)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| {
                        let p = e.path();
                        if p.is_dir() {
                            count(&p)
                        } else {
                            1
                        }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    ["incoming", "active", "maildrop"]
        .iter()
        .map(|q| count(&queue.join(q)))
        .sum()
}

/// Waits (up to 60 s) until Postfix delivered what earlier runs sent, so that its local
/// delivery does not compete with the next measurement for the CPU.
fn drain(maildir: Option<&Path>) {
    let Some(m) = maildir else { return };
    let t = Instant::now();
    while queued(m) > 0 && t.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Removes the Maildir files of this session's messages (their recipients carry `session`).
fn cleanup(maildir: &Path, session: &str, since: SystemTime) -> usize {
    use std::io::Read;
    let needle = format!("X-Original-To: {session}");
    let mut removed = 0;
    for sub in ["new", "cur"] {
        let Ok(dir) = std::fs::read_dir(maildir.join(sub)) else {
            continue;
        };
        for e in dir.filter_map(Result::ok) {
            // Only files delivered since the session began can be its own.
            let recent = e
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t >= since);
            if !recent {
                continue;
            }
            let mut head = [0u8; 512];
            let n = std::fs::File::open(e.path())
                .and_then(|mut f| f.read(&mut head))
                .unwrap_or(0);
            if String::from_utf8_lossy(&head[..n]).contains(&needle)
                && std::fs::remove_file(e.path()).is_ok()
            {
                removed += 1;
            }
        }
    }
    removed
}

fn bench_main(args: &[String]) -> Result<(), String> {
    let opts = parse_options(args)?;
    let all_servers = servers();
    let chosen: Vec<usize> = opts
        .servers
        .iter()
        .map(|k| {
            all_servers
                .iter()
                .position(|s| s.key == k)
                .ok_or_else(|| format!("unknown server {k} (pc, p, none)"))
        })
        .collect::<Result<_, _>>()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    for &s in &chosen {
        rt.block_on(check_server(&all_servers[s]))?;
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let session = format!(
        "bench-{}-{}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        std::process::id()
    );
    let session_start = SystemTime::now();
    let load_start = loadavg();
    let started = Instant::now();
    let mut runs = Vec::new();
    let mut loads = Vec::new();
    // Repetitions outermost: a burst of load on the shared machine then hits one run of
    // many cells rather than every run of one cell.
    for rep in 0..opts.runs {
        for &s in &chosen {
            let server = &all_servers[s];
            for &delay in &opts.delays {
                drain(opts.maildir.as_deref());
                loads.push(loadavg());
                for client in &opts.clients {
                    let tag = format!("{session}-{}-{delay}-{rep}", server.key);
                    let run = one_run(&rt, &exe, server, s, delay, client, &tag, opts.sizing)?;
                    eprintln!(
                        "run {}/{} {:>22} rtt {:>3} ms {:<24} {:>5} msgs {:>9.1} msg/s {:>5.2} flights/msg {:>6.1} µs/msg",
                        rep + 1,
                        opts.runs,
                        server.label,
                        2 * delay,
                        client,
                        run.outcome.messages,
                        run.outcome.messages as f64 / run.outcome.seconds,
                        run.flights as f64 / run.outcome.messages as f64,
                        run.outcome.cpu_window_us as f64 / run.outcome.messages as f64,
                    );
                    runs.push(run);
                }
            }
        }
    }
    let load_end = loadavg();
    drain(opts.maildir.as_deref());
    let removed = opts
        .maildir
        .as_deref()
        .map(|m| cleanup(m, &session, session_start));
    eprintln!(
        "done in {:.0} s; removed {} Maildir files",
        started.elapsed().as_secs_f64(),
        removed.unwrap_or(0)
    );
    let meta = report::Meta {
        runs: opts.runs,
        sizing: opts.sizing,
        load_start,
        load_end,
        loads,
        elapsed_s: started.elapsed().as_secs_f64(),
        cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
    };
    let servers: Vec<Server> = all_servers;
    std::fs::create_dir_all(&opts.out).map_err(|e| e.to_string())?;
    let md = report::markdown(&meta, &servers, &chosen, &opts.delays, &opts.clients, &runs);
    let path = opts.out.join("results.md");
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let md = report::with_kept_sections(md, &old);
    std::fs::write(path, md).map_err(|e| e.to_string())?;
    let svg = report::svg(&servers, &chosen, &opts.delays, &opts.clients, &runs);
    std::fs::write(opts.out.join("throughput.svg"), svg).map_err(|e| e.to_string())?;
    eprintln!("wrote {}/results.md and throughput.svg", opts.out.display());
    Ok(())
}

/// Refuses to measure against a listener whose EHLO is not what its label says.
async fn check_server(server: &Server) -> Result<(), String> {
    let conn = smtp_tokio::Builder::new("127.0.0.1")
        .port(server.port)
        .starttls(smtp_tokio::TlsPolicy::Disabled)
        .connect()
        .await
        .map_err(|e| {
            format!(
                "port {}: {e} (is `bash scripts/test-servers start` running?)",
                server.port
            )
        })?;
    let caps = conn.capabilities();
    if caps.pipelining() != server.pipelining || caps.chunking() != server.chunking {
        return Err(format!(
            "port {} offers PIPELINING={} CHUNKING={}, expected {}",
            server.port,
            caps.pipelining(),
            caps.chunking(),
            server.label
        ));
    }
    conn.quit().await.map_err(|e| e.to_string())
}

#[allow(clippy::too_many_arguments)]
fn one_run(
    rt: &tokio::runtime::Runtime,
    exe: &Path,
    server: &Server,
    server_index: usize,
    delay_ms: u64,
    client: &str,
    tag: &str,
    sizing: Sizing,
) -> Result<Run, String> {
    let proxy = rt
        .block_on(proxy::Proxy::start(
            server.port,
            Duration::from_millis(delay_ms),
        ))
        .map_err(|e| e.to_string())?;
    let out = Command::new(exe)
        .args([
            "client",
            client,
            &proxy.port.to_string(),
            tag,
            &sizing.seconds.to_string(),
            &sizing.min.to_string(),
            &sizing.max.to_string(),
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let outcome = stdout
        .lines()
        .find_map(Outcome::parse)
        .ok_or_else(|| format!("{client} on {} failed: {stdout}", server.label))?;
    let flights = proxy
        .stats
        .flights_between(outcome.start_ns, outcome.end_ns);
    Ok(Run {
        server: server_index,
        delay_ms,
        client: client.to_string(),
        outcome,
        flights,
    })
}
