//! The encoders never allocate: framing a chunk into an `out` with enough capacity makes
//! no heap allocation at all (`allocation-counter` counts per thread, so parallel tests
//! do not disturb the count).

use smtp_proto::body::{BdatEncoder, DataEncoder};

/// Text with every case the encoders handle: CRLF, bare LF and CR, dots at line starts,
/// a CR split from its LF by a chunk boundary, long clean runs.
fn body() -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..2000u32 {
        if i.is_multiple_of(7) {
            v.push(b'.');
        }
        v.extend_from_slice(b"The quick brown fox jumps over the lazy dog 0123456789");
        v.extend_from_slice(match i % 5 {
            0 => b"\n",
            1 => b"\r",
            _ => b"\r\n",
        });
    }
    v
}

#[test]
fn no_allocation_per_chunk() {
    let body = body();
    for chunk_len in [1, 7, 100, 4096, 65536, body.len()] {
        // Worst case: every octet doubles, plus a BDAT header per chunk and the end.
        let chunks = body.len().div_ceil(chunk_len);
        let mut out = Vec::with_capacity(2 * body.len() + 40 * (chunks + 2));
        let info = allocation_counter::measure(|| {
            let mut e = DataEncoder::new();
            for c in body.chunks(chunk_len) {
                e.encode(c, &mut out).unwrap();
            }
            e.finish(&mut out);
        });
        assert_eq!(info.count_total, 0, "DATA, chunks of {chunk_len}");
        for binary in [false, true] {
            out.clear();
            let info = allocation_counter::measure(|| {
                let mut e = BdatEncoder::new(binary);
                for c in body.chunks(chunk_len) {
                    e.encode(c, false, &mut out).unwrap();
                }
                e.finish(&mut out);
            });
            assert_eq!(
                info.count_total, 0,
                "BDAT binary={binary}, chunks of {chunk_len}"
            );
        }
        out.clear();
        // A NUL error restores `out` without allocating either.
        let info = allocation_counter::measure(|| {
            let mut e = DataEncoder::new();
            e.encode(&body[..1000], &mut out).unwrap();
            assert!(e.encode(b"abc\r\n\0", &mut out).is_err());
        });
        assert_eq!(info.count_total, 0);
    }
}

#[test]
fn counter_sees_allocations() {
    // The test above can fail: an `out` without capacity must grow, and that is counted.
    let body = body();
    let info = allocation_counter::measure(|| {
        let mut out = Vec::new();
        let mut e = DataEncoder::new();
        e.encode(&body, &mut out).unwrap();
        e.finish(&mut out);
        std::hint::black_box(out);
    });
    assert!(info.count_total > 0);
}
