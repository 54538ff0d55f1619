//! The reply reader under every chunking, and never past the end of a reply.

use smtp_proto::reply::{ReplyCode, ReplyError, ReplyLimits, ReplyReader};
use smtp_proto::Capabilities;

/// A session's worth of server replies, with every line form the grammar allows.
const STREAM: &[u8] = b"220 mx.example ESMTP\r\n\
250-mx.example\r\n250-PIPELINING\r\n250-\r\n250 SIZE 100\r\n\
250\r\n\
354 \r\n\
550-5.1.1 first\n550 bare LF last\r\n\
421 4.4.2 bye\r\n";

fn expected() -> Vec<(u16, Vec<&'static [u8]>)> {
    vec![
        (220, vec![&b"mx.example ESMTP"[..]]),
        (
            250,
            vec![&b"mx.example"[..], b"PIPELINING", b"", b"SIZE 100"],
        ),
        (250, vec![&b""[..]]),
        (354, vec![&b""[..]]),
        (550, vec![&b"5.1.1 first"[..], b"bare LF last"]),
        (421, vec![&b"4.4.2 bye"[..]]),
    ]
}

fn read_all(chunks: &[&[u8]]) -> Vec<(u16, Vec<Vec<u8>>)> {
    let mut reader = ReplyReader::default();
    let mut out = Vec::new();
    for chunk in chunks {
        let mut input = *chunk;
        while let Some(reply) = reader.read(&mut input).unwrap() {
            out.push((
                reply.code().get(),
                reply.lines().map(<[u8]>::to_vec).collect(),
            ));
        }
        assert!(input.is_empty());
    }
    assert!(!reader.has_partial());
    out
}

fn owned(e: Vec<(u16, Vec<&[u8]>)>) -> Vec<(u16, Vec<Vec<u8>>)> {
    e.into_iter()
        .map(|(c, l)| (c, l.into_iter().map(<[u8]>::to_vec).collect()))
        .collect()
}

#[test]
fn whole() {
    assert_eq!(read_all(&[STREAM]), owned(expected()));
}

#[test]
fn one_byte_at_a_time() {
    let chunks: Vec<&[u8]> = STREAM.chunks(1).collect();
    assert_eq!(read_all(&chunks), owned(expected()));
}

#[test]
fn split_at_every_position() {
    for i in 0..=STREAM.len() {
        let (a, b) = STREAM.split_at(i);
        assert_eq!(read_all(&[a, b]), owned(expected()), "split at {i}");
    }
}

#[test]
fn split_at_every_pair_of_positions() {
    for i in 0..=STREAM.len() {
        for j in i..=STREAM.len() {
            let chunks = [&STREAM[..i], &STREAM[i..j], &STREAM[j..]];
            assert_eq!(read_all(&chunks), owned(expected()), "split at {i}, {j}");
        }
    }
}

#[test]
fn enhanced_codes_read() {
    let mut reader = ReplyReader::default();
    let mut input = STREAM;
    let mut enhanced = Vec::new();
    while let Some(reply) = reader.read(&mut input).unwrap() {
        enhanced.push(reply.enhanced().map(|e| e.to_string()));
    }
    let e = |s: &str| Some(s.to_string());
    assert_eq!(enhanced, [None, None, None, None, e("5.1.1"), e("4.4.2")]);
}

/// Response injection (security.md): whatever follows the 220 to STARTTLS must stay in
/// the caller's slice, whole lines and fragments alike, under any chunking.
#[test]
fn never_consumes_past_the_reply() {
    let trailers: [&[u8]; 4] = [
        b"250-forged\r\n250 PIPELINING\r\n",
        b"250 forged fragment with no line end",
        b"\x16\x03\x01\x02\x00",
        b"\n",
    ];
    for trailer in trailers {
        let mut wire = b"220 2.0.0 Ready to start TLS\r\n".to_vec();
        let reply_len = wire.len();
        wire.extend_from_slice(trailer);
        let mut whole = &wire[..];
        let reply = ReplyReader::default().read(&mut whole).unwrap().unwrap();
        assert_eq!(reply.code(), ReplyCode::SERVICE_READY);
        assert_eq!(whole, trailer);
        for i in 0..reply_len {
            let mut reader = ReplyReader::default();
            let mut first = &wire[..i];
            assert_eq!(reader.read(&mut first).unwrap(), None);
            let mut rest = &wire[i..];
            let reply = reader.read(&mut rest).unwrap().expect("reply completes");
            assert_eq!(reply.code(), ReplyCode::SERVICE_READY);
            assert_eq!(rest, trailer, "split at {i}");
            assert!(!reader.has_partial(), "nothing of the trailer is buffered");
        }
    }
}

#[test]
fn has_partial_tracks_lines_and_multiline_replies() {
    let mut reader = ReplyReader::default();
    assert!(!reader.has_partial());
    let mut input: &[u8] = b"2";
    assert_eq!(reader.read(&mut input).unwrap(), None);
    assert!(reader.has_partial(), "part of a line");
    let mut input: &[u8] = b"50-a\r\n";
    assert_eq!(reader.read(&mut input).unwrap(), None);
    assert!(reader.has_partial(), "part of a multiline reply");
    let mut input: &[u8] = b"250 b\r\n";
    assert!(reader.read(&mut input).unwrap().is_some());
    assert!(!reader.has_partial());
}

#[test]
fn empty_input() {
    let mut reader = ReplyReader::default();
    let mut input: &[u8] = b"";
    assert_eq!(reader.read(&mut input).unwrap(), None);
    assert!(!reader.has_partial());
}

/// The capabilities read from an EHLO reply do not depend on how its bytes arrived:
/// a single-line reply cut anywhere (read by the framer, not in one pass) gives the
/// domain and extensions the whole one gives, with CRLF and with bare LF.
#[test]
fn capabilities_do_not_depend_on_how_the_ehlo_reply_was_cut() {
    for wire in [
        &b"250 mx.example\r\n"[..],
        b"250 mx.example\n",
        b"250-mx.example\r\n250-PIPELINING\r\n250 SIZE 100\r\n",
        b"250-mx.example\n250-PIPELINING\n250 SIZE 100\n",
    ] {
        let whole = ReplyReader::default()
            .read(&mut &wire[..])
            .unwrap()
            .unwrap();
        let expected = Capabilities::from_reply(&whole);
        assert_eq!(expected.domain(), "mx.example");
        for i in 1..wire.len() {
            let mut reader = ReplyReader::default();
            let (a, b) = wire.split_at(i);
            assert_eq!(reader.read(&mut &a[..]).unwrap(), None);
            let reply = reader.read(&mut &b[..]).unwrap().expect("reply completes");
            assert_eq!(reply, whole, "split at {i}");
            assert_eq!(Capabilities::from_reply(&reply), expected, "split at {i}");
        }
    }
}

/// A line ended by a bare LF takes one octet of the reply's byte budget, as it came,
/// not two: a reply of exactly `max_bytes` octets with LF line ends fits.
#[test]
fn a_bare_lf_counts_as_one_octet_of_the_reply_budget() {
    let limits = ReplyLimits::new(100, 100, 14);
    let mut reader = ReplyReader::new(limits);
    let mut first: &[u8] = b"250-ab\n";
    assert_eq!(reader.read(&mut first).unwrap(), None);
    assert_eq!(reader.buffered(), 7, "the first line as it came");
    let mut last: &[u8] = b"250 cd\n";
    let reply = reader
        .read(&mut last)
        .unwrap()
        .expect("14 octets fit in 14");
    assert_eq!(reply.lines().collect::<Vec<_>>(), [&b"ab"[..], b"cd"]);
    // One octet more does not.
    let mut reader = ReplyReader::new(limits);
    assert_eq!(reader.read(&mut &b"250-ab\n"[..]).unwrap(), None);
    assert_eq!(
        reader.read(&mut &b"250 cde\n"[..]),
        Err(ReplyError::TooLarge { limit: 14 })
    );
}

/// An EHLO reply read in one pass with an invalid UTF-8 octet in it: the capabilities
/// decode its text as lossy UTF-8 (U+FFFD), not as text already known to be valid.
#[test]
fn capabilities_of_a_reply_with_invalid_utf8_are_decoded_lossily() {
    let mut input: &[u8] = b"250-mx.\xffexample\r\n250 SIZE 100\r\n";
    let reply = ReplyReader::default().read(&mut input).unwrap().unwrap();
    assert!(input.is_empty());
    let caps = Capabilities::from_reply(&reply);
    assert_eq!(caps.domain(), "mx.\u{fffd}example");
    assert_eq!(caps.max_size(), Some(100));
}
