//! The parsers of `ehlo_parsers`, timed in interleaved rounds: each round times a batch
//! of every parser in turn, and the report gives each one's fastest and median batch.
//! On a shared or throttled machine, a slowdown then hits all parsers of a round alike,
//! and the ratios between them stay meaningful even when criterion's sequential
//! figures drift.
//!
//! `cargo bench -p smtp-bench --bench ehlo_rounds` (optional: `-- ROUNDS BATCH`).
#![allow(missing_docs)]

use std::hint::black_box;
use std::str::FromStr;
use std::time::Instant;

use smtp_proto::ehlo::{Capabilities, Hello};
use smtp_proto::reply::ReplyReader;

/// Postfix 3.7.11 before STARTTLS, as recorded in
/// `smtp-proto/tests/data/ehlo/postfix-plain.txt`, with CRLF line ends: the one reply
/// every EHLO bench and probe reads.
const POSTFIX_EHLO: &str = include_str!("../../smtp-proto/benches/postfix-ehlo.txt");

type Parser = (&'static str, Box<dyn FnMut()>);

fn parsers() -> Vec<Parser> {
    let mut reader = ReplyReader::default();
    let mut two_pass = ReplyReader::default();
    vec![
        (
            "ours (read_ehlo, what the client does)",
            Box::new(move || {
                let mut input = black_box(POSTFIX_EHLO.as_bytes());
                let Some(Hello::Capabilities(caps)) = reader.read_ehlo(&mut input).unwrap() else {
                    unreachable!()
                };
                assert!(caps.chunking());
                black_box(caps);
            }),
        ),
        (
            "ours (read, then Capabilities::from)",
            Box::new(move || {
                let mut input = black_box(POSTFIX_EHLO.as_bytes());
                let reply = two_pass.read(&mut input).unwrap().unwrap();
                let caps = Capabilities::from(reply);
                assert!(caps.chunking());
                black_box(caps);
            }),
        ),
        (
            "Stalwart smtp-proto 0.2",
            Box::new(|| {
                let input = black_box(POSTFIX_EHLO.as_bytes());
                let ehlo = stalwart_smtp_proto::EhloResponse::parse(&mut input.iter()).unwrap();
                assert!(ehlo.has_capability(stalwart_smtp_proto::EXT_CHUNKING));
                black_box(ehlo);
            }),
        ),
        (
            "lettre 0.11",
            Box::new(|| {
                use lettre::transport::smtp::extension::{Extension, ServerInfo};
                use lettre::transport::smtp::response::Response;
                let response = Response::from_str(black_box(POSTFIX_EHLO)).unwrap();
                let info = ServerInfo::from_response(&response).unwrap();
                assert!(info.supports_feature(Extension::EightBitMime));
                black_box((response, info));
            }),
        ),
    ]
}

fn main() {
    // `cargo bench` passes `--bench`; numbers are ours.
    let mut numbers = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse::<u32>().ok());
    let rounds = numbers.next().unwrap_or(300);
    let batch = numbers.next().unwrap_or(2000);
    let mut parsers = parsers();
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); parsers.len()];
    for round in 0..rounds + 10 {
        for (i, (_, parse)) in parsers.iter_mut().enumerate() {
            let start = Instant::now();
            for _ in 0..batch {
                parse();
            }
            let ns = start.elapsed().as_nanos() as f64 / f64::from(batch);
            // The first rounds warm caches and the allocator.
            if round >= 10 {
                samples[i].push(ns);
            }
        }
    }
    let stat = |s: &mut Vec<f64>| {
        s.sort_by(f64::total_cmp);
        (s[0], s[s.len() / 2])
    };
    let stats: Vec<(f64, f64)> = samples.iter_mut().map(stat).collect();
    let base = parsers
        .iter()
        .position(|p| p.0.starts_with("Stalwart"))
        .unwrap();
    let (base_min, base_median) = stats[base];
    println!("{rounds} interleaved rounds of {batch} parses each; ratios against Stalwart's");
    println!(
        "{:<40} {:>9} {:>9} {:>11} {:>11}",
        "parser", "min ns", "median ns", "min ratio", "med. ratio"
    );
    for ((name, _), (min, median)) in parsers.iter().zip(&stats) {
        println!(
            "{name:<40} {min:>9.1} {median:>9.1} {:>10.2}x {:>10.2}x",
            min / base_min,
            median / base_median
        );
    }
}
