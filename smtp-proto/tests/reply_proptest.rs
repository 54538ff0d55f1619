//! Property tests of the reply reader: (a) round trips under any chunking, (e) arbitrary
//! bytes never panic it nor make it buffer past its caps.

use proptest::prelude::*;
use smtp_proto::ehlo::Capabilities;
use smtp_proto::reply::{Reply, ReplyCode, ReplyLimits, ReplyReader};

/// Test-side writer, independent of `Reply::encode`: RFC 5321 §4.2 wire form.
fn write_reply(code: u16, lines: &[Vec<u8>], out: &mut Vec<u8>) {
    for (i, line) in lines.iter().enumerate() {
        out.extend_from_slice(code.to_string().as_bytes());
        out.push(if i + 1 == lines.len() { b' ' } else { b'-' });
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
}

fn code() -> impl Strategy<Value = u16> {
    (2u16..=5, 0u16..=5, 0u16..=9).prop_map(|(a, b, c)| a * 100 + b * 10 + c)
}

/// Text without CR or LF, high bytes and controls included, sometimes with an enhanced
/// status code in front.
fn text() -> impl Strategy<Value = Vec<u8>> {
    let byte = any::<u8>().prop_filter("no CR/LF", |b| *b != b'\r' && *b != b'\n');
    let body = prop::collection::vec(byte, 0..80);
    let status = prop::option::of((
        prop::sample::select(vec![2u8, 4, 5]),
        0u16..1200,
        0u16..1200,
    ));
    (status, body).prop_map(|(status, mut body)| {
        if let Some((c, s, d)) = status {
            let mut t = format!("{c}.{s}.{d} ").into_bytes();
            t.append(&mut body);
            t
        } else {
            body
        }
    })
}

fn replies() -> impl Strategy<Value = Vec<(u16, Vec<Vec<u8>>)>> {
    prop::collection::vec((code(), prop::collection::vec(text(), 1..12)), 1..6)
}

/// Cut points, as fractions of the wire length.
fn cuts() -> impl Strategy<Value = Vec<prop::sample::Index>> {
    prop::collection::vec(any::<prop::sample::Index>(), 0..20)
}

fn chunked<'a>(wire: &'a [u8], cuts: &[prop::sample::Index]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c.index(wire.len() + 1)).collect();
    points.push(0);
    points.push(wire.len());
    points.sort_unstable();
    points.windows(2).map(|w| &wire[w[0]..w[1]]).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn written_replies_parse_back_under_any_chunking(replies in replies(), cuts in cuts()) {
        let mut wire = Vec::new();
        let mut expected = Vec::new();
        for (code, lines) in &replies {
            write_reply(*code, lines, &mut wire);
            let refs: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
            expected.push(Reply::new(ReplyCode::new(*code).unwrap(), &refs).unwrap());
        }
        let mut reader = ReplyReader::default();
        let mut got = Vec::new();
        for chunk in chunked(&wire, &cuts) {
            let mut input = chunk;
            while let Some(reply) = reader.read(&mut input).unwrap() {
                got.push(reply);
            }
            prop_assert!(input.is_empty());
        }
        prop_assert!(!reader.has_partial());
        prop_assert_eq!(&got, &expected);
        for (reply, (code, lines)) in got.iter().zip(&replies) {
            prop_assert_eq!(reply.code().get(), *code);
            prop_assert_eq!(reply.lines().collect::<Vec<_>>(), lines.iter().map(Vec::as_slice).collect::<Vec<_>>());
            // Enhanced status: exactly when the first line starts with a valid one of the
            // reply's class.
            if let Some(e) = reply.enhanced() {
                prop_assert_eq!(e.class(), reply.code().class());
                prop_assert!(e.subject() <= 999 && e.detail() <= 999);
                let prefix = format!("{e} ");
                prop_assert!(lines[0].starts_with(prefix.as_bytes()) || lines[0] == e.to_string().as_bytes());
            }
            // encode → parse is the identity.
            let mut again = Vec::new();
            reply.encode(&mut again);
            let parsed = ReplyReader::default().read(&mut &again[..]).unwrap().unwrap();
            prop_assert_eq!(&parsed, reply);
            // Capabilities never panic on any reply.
            let _ = Capabilities::from_reply(reply);
        }
    }

    #[test]
    fn the_reader_stops_at_the_end_of_each_reply(replies in replies(), trailer in prop::collection::vec(any::<u8>(), 0..40)) {
        let mut wire = Vec::new();
        write_reply(replies[0].0, &replies[0].1, &mut wire);
        let reply_len = wire.len();
        wire.extend_from_slice(&trailer);
        let mut input = &wire[..];
        let reply = ReplyReader::default().read(&mut input).unwrap();
        prop_assert!(reply.is_some());
        prop_assert_eq!(input, &wire[reply_len..]);
    }

    #[test]
    fn arbitrary_bytes_never_panic_nor_exceed_caps(
        data in prop::collection::vec(any::<u8>(), 0..4096),
        cuts in cuts(),
        max_line in 0usize..300,
        max_lines in 0usize..20,
        max_bytes in 0usize..1000,
    ) {
        let limits = ReplyLimits::new(max_line, max_lines, max_bytes);
        let mut reader = ReplyReader::new(limits);
        for chunk in chunked(&data, &cuts) {
            let mut input = chunk;
            while !input.is_empty() {
                let before = input.len();
                match reader.read(&mut input) {
                    Ok(Some(reply)) => {
                        prop_assert!(reply.line_count() <= max_lines.max(1));
                        let _ = reply.to_string();
                        let _ = Capabilities::from_reply(&reply);
                    }
                    Ok(None) => prop_assert!(input.is_empty()),
                    Err(_) => {
                        prop_assert!(!reader.has_partial());
                        // Skip a byte so that the loop always makes progress.
                        if input.len() == before {
                            input = &input[1..];
                        }
                    }
                }
                prop_assert!(reader.buffered() < max_line.max(1) + max_bytes);
                prop_assert!(input.len() <= before);
            }
        }
    }

    #[test]
    fn mostly_valid_bytes_never_panic(
        lines in prop::collection::vec(
            (prop::sample::select(vec!["250-", "250 ", "250", "550-", "2", "", "999 ", "25x"]),
             prop::collection::vec(any::<u8>(), 0..30),
             prop::sample::select(vec!["\r\n", "\n", "\r", ""])),
            0..30),
        cuts in cuts(),
    ) {
        let mut data = Vec::new();
        for (head, body, end) in &lines {
            data.extend_from_slice(head.as_bytes());
            data.extend_from_slice(body);
            data.extend_from_slice(end.as_bytes());
        }
        let mut reader = ReplyReader::default();
        for chunk in chunked(&data, &cuts) {
            let mut input = chunk;
            while !input.is_empty() {
                match reader.read(&mut input) {
                    Ok(Some(reply)) => { let _ = (reply.to_string(), Capabilities::from_reply(&reply)); }
                    Ok(None) => {}
                    Err(_) => break,
                }
            }
        }
    }
}
