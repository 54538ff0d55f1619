//! `smtp-bench heap`: heap held per idle connection, the adapters' against the core's.
//! Starts smtp-sink (discarding, every reply 20 ms late; cleartext, and implicit TLS with
//! its own certificate) in
//! this process and runs `smtp-bench-heap` (a binary of this package whose global
//! allocator counts every byte) against it, so that the sink's allocations are not
//! counted; prints the child's table.
//!
//! ```text
//! cargo build --release -p smtp-bench
//! target/release/smtp-bench heap [--connections 16]
//! ```

use std::process::Command;

pub(crate) fn main(args: &[String]) -> Result<(), String> {
    let mut connections = 16usize;
    let mut i = 0;
    while i < args.len() {
        let v = args.get(i + 1).ok_or("a value is missing")?;
        match args[i].as_str() {
            "--connections" => connections = v.parse().map_err(|_| "bad --connections")?,
            other => return Err(format!("unknown option {other}")),
        }
        i += 2;
    }
    // A reply takes 20 ms, so that a pool's callers open as many connections as it may.
    let delay = std::time::Duration::from_millis(20);
    let plain = smtp_sink::Sink::builder()
        .discard()
        .reply_delay(delay)
        .start()
        .map_err(|e| e.to_string())?;
    let tls = smtp_sink::Sink::builder()
        .discard()
        .implicit_tls()
        .reply_delay(delay)
        .start()
        .map_err(|e| e.to_string())?;
    let cert = std::env::temp_dir().join(format!("smtp-bench-heap-{}.der", std::process::id()));
    std::fs::write(&cert, tls.trust_anchor().as_ref()).map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let child = exe.with_file_name("smtp-bench-heap");
    let out = Command::new(&child)
        .args([
            plain.port().to_string(),
            tls.port().to_string(),
            cert.display().to_string(),
            connections.to_string(),
        ])
        .output();
    let _ = std::fs::remove_file(&cert);
    let out = out.map_err(|e| format!("{}: {e}", child.display()))?;
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        return Err(format!("{} exited with {}", child.display(), out.status));
    }
    print!("{}", String::from_utf8_lossy(&out.stdout));
    Ok(())
}
