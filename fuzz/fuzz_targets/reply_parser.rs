//! The reply reader on hostile server bytes.
//!
//! Input: one control byte, then the server's bytes. Bit 0 of the control byte remaps
//! every byte onto a small SMTP-reply alphabet (digits, `-`, SP, CR, LF, a few letters)
//! so that most inputs get past the code check; bits 1-3 choose how the stream is cut
//! into chunks; bits 4-5 choose the limits (defaults, or small ones that every input can
//! reach).
//!
//! Checks, for every reply read:
//! - no panic;
//! - the reader consumed exactly the reply's octets, ending with LF, and no more than
//!   `max_bytes` of them; no line over `max_line`; at most `max_lines` lines;
//! - while reading, the reader never buffers more than `max_line - 1 + max_bytes`;
//! - the reply says what its octets say, read here independently: every line starts with
//!   the reply's code, then `-` on every line but the last, SP or nothing on the last;
//!   each line's text is what follows; the enhanced status code is the one RFC 3463 §2
//!   and RFC 2034 §4 put at the start of the first line (class equal to the code's
//!   first digit, then SP or the end), and there is none otherwise;
//! - `Reply::encode` gives bytes that a fresh reader parses back to an equal reply,
//!   consuming all of them;
//! - `Display` writes no control byte but the LF between lines.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtp_proto::reply::{Reply, ReplyLimits, ReplyReader};

/// What remapped bytes become: weighted towards what replies are made of.
const ALPHABET: &[u8] = b"2255013449- -  \r\n\r\n\n\rAZaz.\x00\xff\tSE";

fn limits(sel: u8) -> ReplyLimits {
    match sel & 3 {
        0 => ReplyLimits::default(),
        1 => ReplyLimits::new(16, 3, 40),
        2 => ReplyLimits::new(6, 200, 64),
        _ => ReplyLimits::new(512, 1, 100),
    }
}

/// Chunk sizes to cut the stream into: whole, byte by byte, or a repeating pattern.
fn chunk_sizes(sel: u8) -> &'static [usize] {
    match sel & 7 {
        0 => &[usize::MAX],
        1 => &[1],
        2 => &[2, 3],
        3 => &[7],
        4 => &[1, 5, 2, 64],
        5 => &[13, 1],
        6 => &[3],
        _ => &[100, 1, 1],
    }
}

/// RFC 3463 §2: `class "." subject "." detail`, class 2, 4 or 5 (here: the reply
/// code's first digit), subject and detail 1 to 3 digits; RFC 2034 §4: at the start of
/// the text, followed by SP or the end of the text.
fn enhanced_reference(code: &[u8], text: &[u8]) -> Option<(u8, u16, u16)> {
    let token = text.split(|&b| b == b' ').next()?;
    let parts: Vec<&[u8]> = token.split(|&b| b == b'.').collect();
    let [class, subject, detail] = parts[..] else {
        return None;
    };
    let number = |p: &[u8]| -> Option<u16> {
        if p.is_empty() || p.len() > 3 || !p.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(p).ok()?.parse().ok()
    };
    if class.len() != 1 || !matches!(class[0], b'2' | b'4' | b'5') || class[0] != code[0] {
        return None;
    }
    Some((class[0] - b'0', number(subject)?, number(detail)?))
}

/// The code, separators and text of each line, read from the octets alone.
fn check_lines(reply: &Reply, consumed: &[u8]) {
    let raw: Vec<&[u8]> = consumed.split_inclusive(|&b| b == b'\n').collect();
    assert_eq!(raw.len(), reply.line_count(), "line count: {consumed:?}");
    let code = reply.code().get().to_string();
    let mut first_text: &[u8] = &[];
    for (i, (line, text)) in raw.iter().zip(reply.lines()).enumerate() {
        let line = line.strip_suffix(b"\n").expect("a line ends with LF");
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let last = i + 1 == raw.len();
        assert_eq!(
            line.get(..3),
            Some(code.as_bytes()),
            "line {i} {line:?} of a reply with code {code}"
        );
        match line.get(3) {
            None => assert!(last, "a bare code on line {i} of {}", raw.len()),
            Some(b'-') => assert!(!last, "last line {line:?} continued"),
            Some(b' ') => assert!(last, "line {i} {line:?} ends the reply early"),
            Some(other) => panic!("separator {other:?} in {line:?}"),
        }
        assert_eq!(text, line.get(4..).unwrap_or(&[]), "text of line {i}");
        if i == 0 {
            first_text = text;
        }
    }
    let enhanced = reply
        .enhanced()
        .map(|e| (e.class(), e.subject(), e.detail()));
    assert_eq!(
        enhanced,
        enhanced_reference(code.as_bytes(), first_text),
        "enhanced status of {first_text:?}"
    );
}

fn check_reply(reply: &Reply, consumed: &[u8], limits: ReplyLimits) {
    assert!(
        consumed.ends_with(b"\n"),
        "a reply ends at a line end: {consumed:?}"
    );
    assert!(consumed.len() <= limits.max_bytes, "reply over max_bytes");
    assert!(reply.line_count() >= 1 && reply.line_count() <= limits.max_lines);
    assert_eq!(reply.lines().count(), reply.line_count());
    for line in consumed.split_inclusive(|&b| b == b'\n') {
        assert!(
            line.len() <= limits.max_line,
            "line over max_line: {line:?}"
        );
    }
    for line in reply.lines() {
        assert!(!line.contains(&b'\r') && !line.contains(&b'\n'));
    }
    check_lines(reply, consumed);

    // Encode, re-parse, compare. The encoded form may be longer than the input (bare LF
    // becomes CRLF), so the second reader has room for it.
    let mut encoded = Vec::new();
    reply.encode(&mut encoded);
    let mut wide = ReplyReader::new(ReplyLimits::new(
        limits.max_line + 2,
        limits.max_lines,
        limits.max_bytes * 2 + 8,
    ));
    let mut input = &encoded[..];
    let again = wide
        .read(&mut input)
        .unwrap_or_else(|e| panic!("encoded reply {encoded:?} does not parse: {e}"))
        .unwrap_or_else(|| panic!("encoded reply {encoded:?} is incomplete"));
    assert!(input.is_empty(), "encoded reply parsed short: {encoded:?}");
    assert_eq!(&again, reply, "re-parsed reply differs");

    // Display is for logs and terminals: every control byte escaped.
    let shown = reply.to_string();
    assert!(
        shown
            .bytes()
            .all(|b| b == b'\n' || (b >= 0x20 && b != 0x7f)),
        "control byte in Display: {shown:?}"
    );
    assert_eq!(shown.matches('\n').count(), reply.line_count() - 1);
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let bytes: Vec<u8> = if control & 1 == 1 {
        rest.iter()
            .map(|&b| ALPHABET[usize::from(b) % ALPHABET.len()])
            .collect()
    } else {
        rest.to_vec()
    };
    let limits = limits(control >> 4);
    let cap = limits.max_line - 1 + limits.max_bytes;
    let mut reader = ReplyReader::new(limits);
    // The octets of the reply in progress, as the reader consumed them.
    let mut current: Vec<u8> = Vec::new();
    let mut stream = &bytes[..];
    for &size in chunk_sizes(control >> 1).iter().cycle() {
        if stream.is_empty() {
            break;
        }
        let (mut chunk, tail) = stream.split_at(size.min(stream.len()));
        stream = tail;
        while !chunk.is_empty() {
            let before = chunk;
            let result = reader.read(&mut chunk);
            let taken = before.len() - chunk.len();
            current.extend_from_slice(&before[..taken]);
            assert!(
                reader.buffered() <= cap,
                "buffered {} > {cap}",
                reader.buffered()
            );
            match result {
                Ok(Some(reply)) => {
                    check_reply(&reply, &current, limits);
                    current.clear();
                }
                Ok(None) => assert!(chunk.is_empty(), "Ok(None) with input left"),
                Err(_) => {
                    assert!(!reader.has_partial() && reader.buffered() == 0);
                    current.clear();
                }
            }
        }
    }
});
