//! Reference models and receivers for the body framing tests, written independently of
//! the encoders: a byte-at-a-time CRLF normaliser, a DATA un-stuffer, strict and lenient
//! end-of-data detectors, and a BDAT parser.
#![allow(dead_code)] // each test file uses a part

use smtp_proto::body::{BdatEncoder, BodyError, DataEncoder};

/// RFC 5321 §2.3.8 by the book: CRLF stays, a bare CR or a bare LF becomes CRLF.
pub(crate) fn normalise(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
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

/// The whole DATA wire form by the book: the normalised content with a line end added
/// if the last line lacks one, one more '.' before every line that starts with '.' (RFC
/// 5321 §4.5.2), then the end-of-data marker.
pub(crate) fn data_wire(input: &[u8]) -> Vec<u8> {
    let mut content = normalise(input);
    if !content.is_empty() && !content.ends_with(b"\r\n") {
        content.extend_from_slice(b"\r\n");
    }
    let mut wire = Vec::new();
    // Every LF of normalised content ends a line.
    for line in content.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b".") {
            wire.push(b'.');
        }
        wire.extend_from_slice(line);
    }
    wire.extend_from_slice(b".\r\n");
    wire
}

/// What a receiver recovers from DATA content: lines up to the first line that is
/// exactly ".", with one leading '.' removed from every other line (RFC 5321 §4.5.2).
/// Returns the content and the number of octets of `wire` it consumed, marker included.
pub(crate) fn unstuff(wire: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut content = Vec::new();
    let mut pos = 0;
    loop {
        let rest = &wire[pos..];
        let eol = rest.windows(2).position(|w| w == b"\r\n")?;
        let line = &rest[..eol];
        pos += eol + 2;
        if line == b"." {
            return Some((content, pos));
        }
        let line = line.strip_prefix(b".").unwrap_or(line);
        content.extend_from_slice(line);
        content.extend_from_slice(b"\r\n");
    }
}

/// End-of-data patterns of strict and lenient receivers (CVE-2023-51764 and friends):
/// each receiver ends the data at the first occurrence of its pattern, having just seen
/// the CRLF of the `354` reply exchange, so the content is read as if after a line end.
pub(crate) const RECEIVERS: &[&[u8]] = &[
    b"\r\n.\r\n",
    b"\n.\n",
    b"\r.\r",
    b"\n.\r\n",
    b"\r\n.\n",
    b"\r.\r\n",
];

/// Where a receiver with end pattern `pat` thinks the data ends (offset just after the
/// marker in `wire`), if anywhere.
pub(crate) fn receiver_end(pat: &[u8], wire: &[u8]) -> Option<usize> {
    let mut framed = b"\r\n".to_vec();
    framed.extend_from_slice(wire);
    framed
        .windows(pat.len())
        .position(|w| w == pat)
        .map(|p| p + pat.len() - 2)
}

/// Checks every property of one DATA output for `input`.
pub(crate) fn check_data_wire(input: &[u8], wire: &[u8]) {
    assert!(!wire.contains(&0), "NUL on the wire");
    for (i, &b) in wire.iter().enumerate() {
        if b == b'\r' {
            assert_eq!(wire.get(i + 1), Some(&b'\n'), "bare CR at {i} in {wire:?}");
        }
        if b == b'\n' {
            assert!(i > 0 && wire[i - 1] == b'\r', "bare LF at {i} in {wire:?}");
        }
    }
    let (content, used) = unstuff(wire).expect("no end-of-data marker");
    assert_eq!(used, wire.len(), "marker before the end: {wire:?}");
    let mut want = normalise(input);
    if !want.is_empty() && !want.ends_with(b"\r\n") {
        want.extend_from_slice(b"\r\n");
    }
    assert_eq!(content, want, "content changed");
    for pat in RECEIVERS {
        if let Some(end) = receiver_end(pat, wire) {
            assert_eq!(end, wire.len(), "receiver {pat:?} ends early in {wire:?}");
        }
    }
    // The strict receiver must find it.
    assert_eq!(receiver_end(b"\r\n.\r\n", wire), Some(wire.len()));
}

/// Runs `input` through a DataEncoder cut at `cuts` (chunk lengths, cycled; 0 = empty
/// chunk). Returns the wire form, or the error and the output as it stood.
pub(crate) fn data_chunked(input: &[u8], cuts: &[usize]) -> Result<Vec<u8>, (BodyError, Vec<u8>)> {
    let mut e = DataEncoder::new();
    let mut out = Vec::new();
    for chunk in split(input, cuts) {
        // Cloning the output for every chunk would be quadratic: only where an error is due.
        let before = chunk.contains(&0).then(|| out.clone());
        if let Err(err) = e.encode(chunk, &mut out) {
            assert_eq!(Some(out.clone()), before, "output not restored after error");
            return Err((err, out));
        }
    }
    assert_eq!(e.bytes_in(), input.len() as u64);
    e.finish(&mut out);
    Ok(out)
}

/// Splits `input` into chunks of the lengths in `cuts`, cycled; the rest goes last.
pub(crate) fn split<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut chunks = Vec::new();
    let mut rest = input;
    let mut n = 0;
    while !cuts.is_empty() && !rest.is_empty() && n < 100_000 {
        let at = cuts[n % cuts.len()].min(rest.len());
        chunks.push(&rest[..at]);
        rest = &rest[at..];
        n += 1;
    }
    chunks.push(rest);
    chunks
}

/// One parsed `BDAT n[ LAST]` command with its octets.
#[derive(Debug)]
pub(crate) struct Bdat {
    pub data: Vec<u8>,
    pub last: bool,
}

/// Parses `wire` as a sequence of `BDAT n[ LAST]\r\n` + n octets (RFC 3030 §2).
pub(crate) fn parse_bdat(wire: &[u8]) -> Vec<Bdat> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < wire.len() {
        let rest = &wire[pos..];
        let eol = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("BDAT line without CRLF");
        let line = std::str::from_utf8(&rest[..eol]).expect("BDAT line not ASCII");
        let mut words = line.split(' ');
        assert_eq!(words.next(), Some("BDAT"), "not a BDAT line: {line:?}");
        let n: usize = words.next().expect("no size").parse().expect("bad size");
        let last = match words.next() {
            None => false,
            Some("LAST") => true,
            Some(w) => panic!("unexpected word {w:?}"),
        };
        assert_eq!(words.next(), None);
        let start = pos + eol + 2;
        assert!(start + n <= wire.len(), "BDAT {n} runs past the output");
        out.push(Bdat {
            data: wire[start..start + n].to_vec(),
            last,
        });
        pos = start + n;
    }
    out
}

/// Runs `input` through a BdatEncoder cut at `cuts`; checks the returned sizes against
/// the headers and returns the wire form, or the error and the output as it stood.
pub(crate) fn bdat_chunked(
    input: &[u8],
    binary: bool,
    cuts: &[usize],
    last_in_encode: bool,
) -> Result<Vec<u8>, (BodyError, Vec<u8>)> {
    let mut e = BdatEncoder::new(binary);
    let mut out = Vec::new();
    let chunks = split(input, cuts);
    let count = chunks.len();
    for (idx, chunk) in chunks.into_iter().enumerate() {
        let before = out.len();
        let snapshot = chunk.contains(&0).then(|| out.clone());
        let last = last_in_encode && idx + 1 == count;
        match e.encode(chunk, last, &mut out) {
            Ok(n) => {
                if n == 0 && !last {
                    assert_eq!(out.len(), before, "BDAT 0 without LAST written");
                } else {
                    let parsed = parse_bdat(&out[before..]);
                    assert_eq!(parsed.len(), 1);
                    assert_eq!(parsed[0].data.len() as u64, n);
                    assert_eq!(parsed[0].last, last);
                }
            }
            Err(err) => {
                assert_eq!(
                    Some(out.clone()),
                    snapshot,
                    "output not restored after error"
                );
                return Err((err, out));
            }
        }
    }
    assert_eq!(e.bytes_in(), input.len() as u64);
    let before = out.len();
    let n = e.finish(&mut out);
    if last_in_encode {
        assert_eq!((n, out.len()), (0, before), "finish after LAST wrote");
    } else {
        assert_eq!(parse_bdat(&out[before..])[0].data.len() as u64, n);
    }
    Ok(out)
}

/// Checks one BDAT output for `input`: well-formed, one LAST at the end, data equal to the
/// normalised input (or the input itself under BINARYMIME). Returns the data.
pub(crate) fn check_bdat_wire(input: &[u8], binary: bool, wire: &[u8]) -> Vec<u8> {
    let cmds = parse_bdat(wire);
    assert!(!cmds.is_empty());
    for (i, c) in cmds.iter().enumerate() {
        assert_eq!(c.last, i + 1 == cmds.len(), "LAST misplaced");
        if !c.last {
            assert!(!c.data.is_empty(), "BDAT 0 without LAST");
        }
    }
    let data: Vec<u8> = cmds.iter().flat_map(|c| c.data.iter().copied()).collect();
    if binary {
        assert_eq!(data, input);
    } else {
        assert_eq!(data, normalise(input));
    }
    data
}
