//! A tiny deterministic workload for `valgrind --tool=callgrind` instruction counts (the
//! criterion benches are too heavy under valgrind). Not a timing tool.
//!
//! `cargo build --release -p smtp-proto --example perf_probe`, then e.g.
//! `valgrind --tool=callgrind target/release/examples/perf_probe ehlo 1000`.
//! Cases: `ehlo` (`ReplyReader::read_ehlo`, what the client does), `ehlo-two-pass` (a `Reply`, then
//! `Capabilities::from` it), `ehlo-reply`, `ok` (per iteration: one reply), `data-crlf`, `data-lf`,
//! `bdat-crlf`, `bdat-lf` (per iteration: one 1 MiB body).

use smtp_proto::body::{BdatEncoder, DataEncoder};
use smtp_proto::ehlo::Capabilities;
use smtp_proto::reply::ReplyReader;
use std::hint::black_box;

/// Postfix 3.7.11 before STARTTLS, as recorded in
/// `smtp-proto/tests/data/ehlo/postfix-plain.txt`, with CRLF line ends: the one reply
/// every EHLO bench and probe reads.
const POSTFIX_EHLO: &[u8] = include_bytes!("../benches/postfix-ehlo.txt");

const OK: &[u8] = b"250 2.0.0 Ok\r\n";

/// The body generator of `benches/body.rs`, smaller.
fn body(line_end: &[u8], size: usize) -> Vec<u8> {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut out = Vec::with_capacity(size + 100);
    while out.len() < size {
        let r = next();
        let len = 60 + (r % 21) as usize;
        if (r >> 8).is_multiple_of(100) {
            out.push(b'.');
        }
        let start = out.len();
        while out.len() - start < len {
            let c = next();
            let b = if c.is_multiple_of(7) {
                b' '
            } else {
                b'a' + (c >> 3) as u8 % 26
            };
            out.push(b);
        }
        out.extend_from_slice(line_end);
    }
    out.truncate(size);
    out
}

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_else(|| "ehlo".into());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let mut reader = ReplyReader::default();
    let mut out = Vec::with_capacity(2 << 20);
    let mut sum = 0usize;
    let (crlf, lf) = if case.starts_with("data") || case.starts_with("bdat") {
        (body(b"\r\n", 1 << 20), body(b"\n", 1 << 20))
    } else {
        (Vec::new(), Vec::new())
    };
    for _ in 0..n {
        match case.as_str() {
            "ehlo" => {
                let mut input = black_box(POSTFIX_EHLO);
                black_box(reader.read_ehlo(&mut input).unwrap().unwrap());
            }
            "ehlo-two-pass" => {
                let mut input = black_box(POSTFIX_EHLO);
                let reply = reader.read(&mut input).unwrap().unwrap();
                black_box(Capabilities::from(reply));
            }
            "ehlo-reply" => {
                let mut input = black_box(POSTFIX_EHLO);
                black_box(reader.read(&mut input).unwrap().unwrap());
            }
            "ok" => {
                let mut input = black_box(OK);
                black_box(reader.read(&mut input).unwrap().unwrap());
            }
            "data-crlf" | "data-lf" => {
                let buf = if case == "data-crlf" { &crlf } else { &lf };
                out.clear();
                let mut e = DataEncoder::new();
                e.encode(black_box(buf), &mut out).unwrap();
                e.finish(&mut out);
                sum += out.len();
            }
            "bdat-crlf" | "bdat-lf" => {
                let buf = if case == "bdat-crlf" { &crlf } else { &lf };
                out.clear();
                let mut e = BdatEncoder::new(false);
                e.encode(black_box(buf), true, &mut out).unwrap();
                sum += out.len();
            }
            other => panic!("unknown case {other}"),
        }
    }
    black_box(sum);
}
