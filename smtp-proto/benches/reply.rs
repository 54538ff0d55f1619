//! Reply parsing speed: a recorded 11-line Postfix EHLO reply (reader plus capabilities)
//! and the most common single-line reply. The EHLO figures have no target: the reply is
//! read once or twice per connection.

// `criterion_group!` expands to an undocumented public function.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use smtp_proto::ehlo::{Capabilities, Hello};
use smtp_proto::reply::ReplyReader;

/// Postfix 3.7.11 before STARTTLS, as recorded in
/// `smtp-proto/tests/data/ehlo/postfix-plain.txt`, with CRLF line ends: the one reply
/// every EHLO bench and probe reads.
const POSTFIX_EHLO: &[u8] = include_bytes!("postfix-ehlo.txt");

const OK: &[u8] = b"250 2.0.0 Ok\r\n";

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("reply");

    group.throughput(Throughput::Bytes(POSTFIX_EHLO.len() as u64));
    // What the client does with its EHLO reply.
    group.bench_function("postfix_ehlo_with_capabilities", |b| {
        let mut reader = ReplyReader::default();
        b.iter(|| {
            let mut input = black_box(POSTFIX_EHLO);
            match reader.read_ehlo(&mut input).unwrap() {
                Some(Hello::Capabilities(caps)) => black_box(caps),
                _ => unreachable!(),
            }
        })
    });

    // A reply first, then the capabilities take it over.
    group.bench_function("postfix_ehlo_reply_then_capabilities", |b| {
        let mut reader = ReplyReader::default();
        b.iter(|| {
            let mut input = black_box(POSTFIX_EHLO);
            let reply = reader.read(&mut input).unwrap().unwrap();
            black_box(Capabilities::from(reply))
        })
    });

    // The same, keeping the reply: the capabilities copy it.
    group.bench_function("postfix_ehlo_with_capabilities_borrowed", |b| {
        let mut reader = ReplyReader::default();
        b.iter(|| {
            let mut input = black_box(POSTFIX_EHLO);
            let reply = reader.read(&mut input).unwrap().unwrap();
            let caps = Capabilities::from_reply(&reply);
            black_box((reply, caps))
        })
    });

    group.bench_function("postfix_ehlo_reply_only", |b| {
        let mut reader = ReplyReader::default();
        b.iter(|| {
            let mut input = black_box(POSTFIX_EHLO);
            black_box(reader.read(&mut input).unwrap().unwrap())
        })
    });

    group.throughput(Throughput::Bytes(OK.len() as u64));
    group.bench_function("single_line_ok", |b| {
        let mut reader = ReplyReader::default();
        b.iter(|| {
            let mut input = black_box(OK);
            black_box(reader.read(&mut input).unwrap().unwrap())
        })
    });

    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
