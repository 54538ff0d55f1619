//! `smtp-bench cpu`: the client's CPU time per message, whole process (start-up,
//! connect, EHLO and QUIT included), of `smtp-send --repeat N` on each runtime, against
//! smtp-sink in discarding mode (or `--upstream PORT`), no proxy. Several binaries
//! (`--send PATH`, say a build of the base commit) run in the same rounds, in turn and
//! in alternating order, so that load on a shared machine falls on all of them.
//!
//! ```text
//! cargo build --release -p smtp-cli -p smtp-bench
//! target/release/smtp-bench cpu [--messages 5000] [--rounds 5] [--runtimes blocking,tokio,smol]
//!     [--upstream PORT] [--send PATH ...]
//! ```
//!
//! CPU time is the child's user + system time (getrusage of the waited-for children).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use nix::sys::resource::UsageWho;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

pub(crate) fn main(args: &[String]) -> Result<(), String> {
    let (mut messages, mut rounds) = (5000usize, 5usize);
    let mut runtimes = vec!["blocking".to_string(), "tokio".into(), "smol".into()];
    let mut upstream = None;
    let mut sends = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let v = args.get(i + 1).ok_or("a value is missing")?;
        match args[i].as_str() {
            "--messages" => messages = v.parse().map_err(|_| "bad --messages")?,
            "--rounds" => rounds = v.parse().map_err(|_| "bad --rounds")?,
            "--runtimes" => runtimes = crate::list(v),
            "--upstream" => upstream = Some(v.parse::<u16>().map_err(|_| "bad --upstream")?),
            "--send" => sends.push(PathBuf::from(v)),
            other => return Err(format!("unknown option {other}")),
        }
        i += 2;
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    sends.insert(0, exe.with_file_name("smtp-send"));
    for s in &sends {
        if !s.exists() {
            return Err(format!("{} not built", s.display()));
        }
    }
    let (_sink, port) = crate::stream::server(upstream)?;
    let load_start = crate::loadavg();
    // µs per message, by runtime then binary.
    let mut cells = vec![vec![Vec::new(); sends.len()]; runtimes.len()];
    for round in 0..rounds {
        for (r, runtime) in runtimes.iter().enumerate() {
            let mut order: Vec<usize> = (0..sends.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for b in order {
                let us = run(&sends[b], port, runtime, messages)?;
                eprintln!(
                    "round {}/{rounds} {runtime:<8} {:<40} {us:>6.1} µs/msg",
                    round + 1,
                    sends[b].display()
                );
                cells[r][b].push(us);
            }
        }
    }
    let server = match upstream {
        Some(p) => format!("the server on port {p}"),
        None => "smtp-sink (discarding, in this process)".into(),
    };
    println!(
        "smtp-send --repeat {messages}, {server}, {rounds} rounds; CPU µs per message, \
         whole process: median [min–max]; load average {load_start} before, {} after",
        crate::loadavg()
    );
    println!();
    let mut header = "| runtime |".to_string();
    let mut rule = "|---|".to_string();
    for (b, s) in sends.iter().enumerate() {
        header += &format!(" {} |", s.display());
        rule += "---:|";
        if b > 0 {
            header += " ÷ first |";
            rule += "---:|";
        }
    }
    println!("{header}\n{rule}");
    for (r, runtime) in runtimes.iter().enumerate() {
        let first = median(&mut cells[r][0].clone());
        let mut line = format!("| {runtime} |");
        for (b, c) in cells[r].iter().enumerate() {
            let mut c = c.clone();
            let m = median(&mut c);
            line += &format!(" {m:.1} [{:.1}–{:.1}] |", c[0], c[c.len() - 1]);
            if b > 0 {
                line += &format!(" {:.2} |", m / first);
            }
        }
        println!("{line}");
    }
    Ok(())
}

/// One `smtp-send` process; its CPU time per message.
fn run(send: &Path, port: u16, runtime: &str, messages: usize) -> Result<f64, String> {
    let before = crate::clients::cpu_us_of(UsageWho::RUSAGE_CHILDREN);
    let status = crate::stream::smtp_send(send, port, "cpu", runtime, messages)
        .stderr(Stdio::null())
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("{} exited with {status}", send.display()));
    }
    Ok((crate::clients::cpu_us_of(UsageWho::RUSAGE_CHILDREN) - before) as f64 / messages as f64)
}
