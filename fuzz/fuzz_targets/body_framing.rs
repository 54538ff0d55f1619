//! DATA and BDAT framing of message content cut into arbitrary chunks.
//!
//! Input: one mode byte (DATA, BDAT text, BDAT binary; bit 2 sends the last chunk with
//! `last = true` instead of calling `finish`), then chunks, each a length byte followed
//! by that many content bytes.
//!
//! Checks:
//! - DATA: the output, read by a lenient receiver that ends the data at any of `\n.\n`,
//!   `\r.\r`, `\n.\r\n`, `\r\n.\n` or `\r.\r\n` (or the proper `\r\n.\r\n`), ends only at
//!   the final marker; it holds no NUL and no bare CR or LF; un-stuffed, it is the input
//!   with line ends normalised to CRLF (plus the CRLF that ends an unfinished last line);
//! - BDAT text: well-formed `BDAT n[ LAST]` frames, exactly one LAST, at the end, no
//!   empty non-last chunk; their content is the normalised input;
//! - BDAT binary: the content is the input, byte for byte;
//! - a chunk holding NUL (text modes) is refused with its whole-body offset, and leaves
//!   the output and the encoder as they were;
//! - the output is the same however the input was cut into chunks;
//! - `scan` agrees with the normalised input on length, NUL and 8-bit content;
//! - each call grows the output by no more than its documented bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtp_proto::body::{scan, BdatEncoder, BodyError, DataEncoder};

/// RFC 5321 §2.3.8 as the encoders apply it: CRLF stays, a bare CR or bare LF becomes CRLF.
fn normalise(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() * 2);
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                if input.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Data,
    Bdat,
    Binary,
}

/// Encodes `chunks`, skipping those the encoder refuses (checking how it refuses them).
/// Returns the output and the content actually taken.
fn encode(mode: Mode, chunks: &[&[u8]], last_in_encode: bool) -> (Vec<u8>, Vec<u8>) {
    let mut out = Vec::new();
    let mut taken = Vec::new();
    let mut data = DataEncoder::new();
    let mut bdat = BdatEncoder::new(mode == Mode::Binary);
    for (i, chunk) in chunks.iter().enumerate() {
        // DATA has no "last" flag: its end is always `finish`.
        let last = last_in_encode && mode != Mode::Data && i + 1 == chunks.len();
        let before = out.clone();
        let result = match mode {
            Mode::Data => data.encode(chunk, &mut out).map(|()| 0),
            Mode::Bdat | Mode::Binary => bdat.encode(chunk, last, &mut out),
        };
        let bound = 2 * chunk.len() + if mode == Mode::Data { 2 } else { 34 };
        assert!(
            out.len() - before.len() <= bound,
            "output grew past its bound"
        );
        match result {
            Ok(_) => taken.extend_from_slice(chunk),
            Err(BodyError::Nul { offset }) => {
                assert_ne!(mode, Mode::Binary, "BINARYMIME carries NUL");
                let k = chunk
                    .iter()
                    .position(|&b| b == 0)
                    .expect("a NUL was reported");
                assert_eq!(offset, (taken.len() + k) as u64, "wrong NUL offset");
                assert_eq!(out, before, "a refused chunk wrote output");
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
        let bytes_in = match mode {
            Mode::Data => data.bytes_in(),
            _ => bdat.bytes_in(),
        };
        assert_eq!(bytes_in, taken.len() as u64);
        if last && result.is_ok() {
            return (out, taken);
        }
    }
    match mode {
        Mode::Data => data.finish(&mut out),
        Mode::Bdat | Mode::Binary => {
            bdat.finish(&mut out);
        }
    }
    (out, taken)
}

/// What a receiver that ends the data at any of the lenient markers sees as content.
fn check_data(out: &[u8], content: &[u8]) {
    // The data starts at the beginning of a line (right after the 354 reply).
    let mut s = b"\r\n".to_vec();
    s.extend_from_slice(out);
    assert!(s.ends_with(b"\r\n.\r\n"), "no end-of-data marker");
    let end = s.len() - 5;
    for marker in [
        &b"\n.\n"[..],
        b"\r.\r",
        b"\n.\r\n",
        b"\r\n.\n",
        b"\r.\r\n",
        b"\r\n.\r\n",
    ] {
        for (i, w) in s.windows(marker.len()).enumerate() {
            if w == marker {
                // Only the final marker may end the data: "\r\n.\r\n" at `end` and the
                // "\n.\r\n" inside it.
                let ok =
                    (marker == b"\r\n.\r\n" && i == end) || (marker == b"\n.\r\n" && i == end + 1);
                assert!(
                    ok,
                    "{marker:?} at {i} ends the data early (len {})",
                    s.len()
                );
            }
        }
    }
    assert!(!out.contains(&0), "NUL in DATA output");
    assert_eq!(normalise(out), out, "bare CR or LF in DATA output");

    // Un-stuff: the lines before the final "." line, a leading dot removed from each.
    let body = &s[2..end + 2];
    let mut unstuffed = Vec::new();
    for line in body.split_inclusive(|&b| b == b'\n') {
        unstuffed.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
        assert!(line.ends_with(b"\r\n"));
    }
    let mut want = normalise(content);
    if !want.is_empty() && !want.ends_with(b"\r\n") {
        want.extend_from_slice(b"\r\n");
    }
    assert_eq!(unstuffed, want, "un-stuffed DATA differs from the input");
}

/// Parses `BDAT n[ LAST]\r\n` frames and returns their content.
fn check_bdat(out: &[u8]) -> Vec<u8> {
    let mut rest = out;
    let mut content = Vec::new();
    loop {
        let eol = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("BDAT header line");
        let header = std::str::from_utf8(&rest[..eol]).expect("ASCII header");
        let args = header.strip_prefix("BDAT ").expect("BDAT verb");
        let (num, last) = match args.strip_suffix(" LAST") {
            Some(n) => (n, true),
            None => (args, false),
        };
        assert!(num.bytes().all(|b| b.is_ascii_digit()) && !num.is_empty());
        assert!(num == "0" || !num.starts_with('0'), "leading zero in {num}");
        let n: usize = num.parse().expect("chunk size");
        assert!(last || n > 0, "empty non-last BDAT");
        rest = &rest[eol + 2..];
        assert!(
            rest.len() >= n,
            "BDAT {n} with {} octets behind it",
            rest.len()
        );
        content.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        if last {
            assert!(rest.is_empty(), "bytes after BDAT LAST");
            return content;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, mut rest)) = data.split_first() else {
        return;
    };
    let mode = match control % 3 {
        0 => Mode::Data,
        1 => Mode::Bdat,
        _ => Mode::Binary,
    };
    let last_in_encode = control & 4 != 0;
    let mut chunks: Vec<&[u8]> = Vec::new();
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len).min(tail.len());
        chunks.push(&tail[..len]);
        rest = &tail[len..];
    }

    let (out, content) = encode(mode, &chunks, last_in_encode);
    // The same content in one piece must frame to the same content (BDAT headers differ
    // with the cut, so compare what the frames carry).
    let (whole, _) = encode(mode, &[&content], last_in_encode);
    match mode {
        Mode::Data => {
            check_data(&out, &content);
            assert_eq!(out, whole, "DATA output depends on the chunking");
        }
        Mode::Bdat => {
            let carried = check_bdat(&out);
            assert_eq!(
                carried,
                normalise(&content),
                "BDAT content is not normalised input"
            );
            assert_eq!(check_bdat(&whole), carried);
        }
        Mode::Binary => {
            assert_eq!(check_bdat(&out), content, "BINARYMIME changed the content");
        }
    }

    let s = scan(&content);
    assert_eq!(s.normalized_len, normalise(&content).len() as u64);
    assert_eq!(s.has_nul, content.contains(&0));
    assert_eq!(s.has_8bit, content.iter().any(|&b| b >= 0x80));
    assert_eq!(s.has_bare_cr_or_lf, normalise(&content) != content);
});
