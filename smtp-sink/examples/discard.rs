//! A discarding sink in its own process, for benchmarks against other servers: prints
//! `PORT <n>`, serves until standard input closes, then prints the counts.
//!
//! ```sh
//! cargo run --release -p smtp-sink --example sink-discard -- [--no-chunking] [--no-pipelining]
//! ```

use std::io::Read;

use smtp_sink::{Extension, Sink};

fn main() -> std::io::Result<()> {
    let mut b = Sink::builder().discard();
    for arg in std::env::args().skip(1) {
        b = match arg.as_str() {
            "--no-chunking" => b.disable(Extension::Chunking),
            "--no-pipelining" => b.disable(Extension::Pipelining),
            other => panic!("unknown option {other}"),
        };
    }
    let sink = b.start()?;
    println!("PORT {}", sink.port());
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    eprintln!("{:?}", sink.counts());
    Ok(())
}
