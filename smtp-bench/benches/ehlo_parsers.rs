//! Parsing a recorded 11-line Postfix EHLO reply into capabilities, with our core next to
//! Stalwart's `smtp-proto` and lettre in the same run, so the figures compare as ratios
//! on whatever machine runs them.
//!
//! `cargo bench -p smtp-bench --bench ehlo_parsers`
#![allow(missing_docs)] // criterion's macros generate undocumented public items

use std::hint::black_box;
use std::str::FromStr;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use smtp_proto::ehlo::Hello;
use smtp_proto::reply::ReplyReader;

/// Postfix 3.7.11 before STARTTLS, as recorded in
/// `smtp-proto/tests/data/ehlo/postfix-plain.txt`, with CRLF line ends: the one reply
/// every EHLO bench and probe reads.
const POSTFIX_EHLO: &str = include_str!("../../smtp-proto/benches/postfix-ehlo.txt");

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("ehlo_parsers");
    group.throughput(Throughput::Bytes(POSTFIX_EHLO.len() as u64));

    group.bench_function("ours", |b| {
        let mut reader = ReplyReader::default();
        b.iter(|| {
            let mut input = black_box(POSTFIX_EHLO.as_bytes());
            let Some(Hello::Capabilities(caps)) = reader.read_ehlo(&mut input).unwrap() else {
                unreachable!()
            };
            assert!(caps.chunking());
            caps
        })
    });

    group.bench_function("stalwart_smtp_proto", |b| {
        b.iter(|| {
            let input = black_box(POSTFIX_EHLO.as_bytes());
            let ehlo = stalwart_smtp_proto::EhloResponse::parse(&mut input.iter()).unwrap();
            assert!(ehlo.has_capability(stalwart_smtp_proto::EXT_CHUNKING));
            ehlo
        })
    });

    group.bench_function("lettre", |b| {
        use lettre::transport::smtp::extension::{Extension, ServerInfo};
        use lettre::transport::smtp::response::Response;
        b.iter(|| {
            let response = Response::from_str(black_box(POSTFIX_EHLO)).unwrap();
            let info = ServerInfo::from_response(&response).unwrap();
            assert!(info.supports_feature(Extension::EightBitMime));
            (response, info)
        })
    });

    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
