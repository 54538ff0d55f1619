//! Throughput of the body encoders on a 10 MiB text body, next to a memchr scan and a
//! plain copy of the same buffer (the floor and ceiling of what framing can cost).
//!
//! `cargo bench -p smtp-proto --bench body`
#![allow(missing_docs)] // criterion's macros generate undocumented public items

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use smtp_proto::body::{BdatEncoder, DataEncoder};

const SIZE: usize = 10 << 20;
const CHUNK: usize = 64 << 10;

/// Lines of 60 to 80 octets, 1% starting with '.', from a fixed-seed generator so every run
/// measures the same bytes.
fn body(line_end: &[u8]) -> Vec<u8> {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut out = Vec::with_capacity(SIZE + 100);
    while out.len() < SIZE {
        let r = next();
        let len = 60 + (r % 21) as usize;
        if (r >> 8).is_multiple_of(100) {
            out.push(b'.');
        }
        let start = out.len();
        while out.len() - start < len {
            let c = next();
            // Printable text with spaces, like a plain mail body.
            let b = if c.is_multiple_of(7) {
                b' '
            } else {
                b'a' + (c >> 3) as u8 % 26
            };
            out.push(b);
        }
        out.extend_from_slice(line_end);
    }
    out.truncate(SIZE);
    out
}

fn data_whole(buf: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut e = DataEncoder::new();
    e.encode(buf, out).unwrap();
    e.finish(out);
}

fn data_chunked(buf: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut e = DataEncoder::new();
    for c in buf.chunks(CHUNK) {
        e.encode(c, out).unwrap();
    }
    e.finish(out);
}

fn bdat_whole(buf: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut e = BdatEncoder::new(false);
    e.encode(buf, true, out).unwrap();
}

fn bdat_chunked(buf: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut e = BdatEncoder::new(false);
    for c in buf.chunks(CHUNK) {
        e.encode(c, false, out).unwrap();
    }
    e.finish(out);
}

fn bench(c: &mut Criterion) {
    let crlf = body(b"\r\n");
    let lf = body(b"\n");
    let mut out = Vec::with_capacity(2 * SIZE + 4096);

    let mut g = c.benchmark_group("body");
    g.throughput(Throughput::Bytes(SIZE as u64));
    g.sample_size(30);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));

    g.bench_function("baseline/memchr_scan", |b| {
        b.iter(|| memchr::memchr(0, black_box(&crlf)))
    });
    g.bench_function("baseline/copy", |b| {
        b.iter(|| {
            out.clear();
            out.extend_from_slice(black_box(&crlf));
            black_box(out.len())
        })
    });
    type Case = fn(&[u8], &mut Vec<u8>);
    let cases: [(&str, Case); 4] = [
        ("data", data_whole),
        ("data_64k", data_chunked),
        ("bdat", bdat_whole),
        ("bdat_64k", bdat_chunked),
    ];
    for (name, f) in cases {
        for (ending, buf) in [("crlf", &crlf), ("lf", &lf)] {
            g.bench_function(format!("{name}/{ending}"), |b| {
                b.iter(|| {
                    f(black_box(buf), &mut out);
                    black_box(out.len())
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
