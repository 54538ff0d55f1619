//! `smtp-bench stream`: one connection's rate with latency against its own rate without,
//! in the same run: `smtp-send --repeat N` (which streams on one connection, or goes
//! through a pool with `--concurrency`) through the latency proxy to smtp-sink in
//! discarding mode, at 0 ms and at the given round trip.
//!
//! ```text
//! cargo build --release -p smtp-cli -p smtp-bench
//! target/release/smtp-bench stream [--messages 5000] [--rtt-ms 50] [--runtime tokio]
//!     [--upstream PORT] [--concurrency N]
//! ```

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::proxy::Proxy;
use crate::wall_ns;

/// One measured run.
struct Cell {
    rtt_ms: u64,
    rate: f64,
    flights: usize,
}

pub(crate) fn main(args: &[String]) -> Result<(), String> {
    let (mut messages, mut rtt_ms, mut runtime) = (5000usize, 50u64, "tokio".to_string());
    let mut upstream = None;
    let mut concurrency = 1usize;
    let mut i = 0;
    while i < args.len() {
        let v = args.get(i + 1).ok_or("a value is missing")?;
        match args[i].as_str() {
            "--messages" => messages = v.parse().map_err(|_| "bad --messages")?,
            "--rtt-ms" => rtt_ms = v.parse().map_err(|_| "bad --rtt-ms")?,
            "--runtime" => runtime = v.clone(),
            "--concurrency" => concurrency = v.parse().map_err(|_| "bad --concurrency")?,
            "--upstream" => upstream = Some(v.parse::<u16>().map_err(|_| "bad --upstream")?),
            other => return Err(format!("unknown option {other}")),
        }
        i += 2;
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let send = exe.with_file_name("smtp-send");
    if !send.exists() {
        return Err(format!("{} not built", send.display()));
    }
    let (_sink, port) = server(upstream)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut cells = Vec::new();
    for rtt in [0, rtt_ms] {
        let proxy = rt
            .block_on(Proxy::start(port, Duration::from_millis(rtt) / 2))
            .map_err(|e| e.to_string())?;
        let (rate, flights) = run(&send, proxy.port, &runtime, messages, concurrency, &proxy)?;
        cells.push(Cell {
            rtt_ms: rtt,
            rate,
            flights,
        });
    }
    let server = match upstream {
        Some(p) => format!("the server on port {p}"),
        None => "smtp-sink (discarding)".into(),
    };
    println!("smtp-send --repeat {messages} --runtime {runtime} --concurrency {concurrency}, {server} behind the latency proxy:");
    for c in &cells {
        println!(
            "  {:>3} ms RTT: {:>8.0} msg/s, {:.3} client flights per message",
            c.rtt_ms,
            c.rate,
            c.flights as f64 / messages as f64
        );
    }
    println!(
        "  ratio {} ms / 0 ms: {:.2}",
        rtt_ms,
        cells[1].rate / cells[0].rate
    );
    Ok(())
}

/// The server to send to: `upstream` (say Postfix's port), else smtp-sink in discarding
/// mode, in this process (kept while the sink is).
pub(crate) fn server(upstream: Option<u16>) -> Result<(Option<smtp_sink::Sink>, u16), String> {
    if let Some(port) = upstream {
        return Ok((None, port));
    }
    let sink = smtp_sink::Sink::builder()
        .discard()
        .start()
        .map_err(|e| e.to_string())?;
    let port = sink.port();
    Ok((Some(sink), port))
}

/// Runs smtp-send through the proxy; its rate (wall time of the whole process, connect
/// and QUIT included) and the client flights the proxy saw.
fn run(
    send: &Path,
    port: u16,
    runtime: &str,
    messages: usize,
    concurrency: usize,
    proxy: &Proxy,
) -> Result<(f64, usize), String> {
    let from = wall_ns();
    let start = Instant::now();
    let status = smtp_send(send, port, "stream", runtime, messages)
        .args(["--concurrency", &concurrency.to_string()])
        .status()
        .map_err(|e| e.to_string())?;
    let elapsed = start.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!("smtp-send exited with {status}"));
    }
    let flights = proxy.stats.flights_between(from, wall_ns());
    Ok((messages as f64 / elapsed, flights))
}

/// `smtp-send --repeat MESSAGES` to the sink at `port` on `runtime`, cleartext, its
/// standard input and output closed (the runs of `stream` and `cpu`).
pub(crate) fn smtp_send(
    send: &Path,
    port: u16,
    subject: &str,
    runtime: &str,
    messages: usize,
) -> Command {
    let mut command = Command::new(send);
    command
        .args([
            "--server",
            &format!("127.0.0.1:{port}"),
            "--from",
            "bench@example.org",
            "--to",
            "sink@example.net",
            "--subject",
            subject,
            "--body",
            "A message of a few lines.",
            "--starttls",
            "never",
            "--runtime",
            runtime,
            "--repeat",
            &messages.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    command
}
