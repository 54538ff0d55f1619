//! `ReplyReader::read_ehlo`, the client's one-pass read of the reply to EHLO, against
//! the two-pass reference (`read`, then `Capabilities::from` a positive reply) on
//! replies that are mostly well formed and sometimes hostile: wrong or mixed codes,
//! missing separators, bare CR, LF alone, NUL, TAB and 8-bit octets, invalid UTF-8,
//! lines and replies at and past small limits, and trailing data. Both must give the
//! same result (capabilities, reply or error) and leave the same bytes unread.

use proptest::prelude::*;
use smtp_proto::ehlo::{Capabilities, Hello};
use smtp_proto::reply::{ReplyError, ReplyLimits, ReplyReader};

const KEYWORDS: [&str; 16] = [
    "PIPELINING",
    "STARTTLS",
    "8BITMIME",
    "SMTPUTF8",
    "CHUNKING",
    "BINARYMIME",
    "DSN",
    "ENHANCEDSTATUSCODES",
    "REQUIRETLS",
    "SIZE",
    "AUTH",
    "AUTH=",
    "VRFY",
    "PIPELININ",
    "ENHANCEDSTATUSCODE",
    "SIZES",
];

/// A line's text: a keyword in any case with parameters, or arbitrary octets.
fn text() -> impl Strategy<Value = Vec<u8>> {
    let octet = prop_oneof![
        40 => prop::sample::select(b"abcXYZ019 -=.".to_vec()),
        1 => prop::sample::select(b"\r\n\t\x00\x0b\x1f\x7f\x80\xc3\xa9\xff".to_vec()),
    ];
    prop_oneof![
        4 => (
            prop::sample::select(KEYWORDS.to_vec()),
            any::<u32>(),
            prop::option::of("[ -~]{0,24}"),
        )
            .prop_map(|(k, case, params)| {
                let mut t: Vec<u8> = k
                    .bytes()
                    .enumerate()
                    .map(|(i, b)| if case >> (i % 32) & 1 == 1 { b.to_ascii_lowercase() } else { b })
                    .collect();
                if let Some(p) = params {
                    t.push(b' ');
                    t.extend_from_slice(p.as_bytes());
                }
                t
            }),
        1 => "SIZE [0-9 ]{0,24}".prop_map(String::into_bytes),
        1 => prop::collection::vec(octet, 0..40),
    ]
}

/// One line: code, separator, text, line end; mostly what a server sends.
fn line() -> impl Strategy<Value = (Vec<u8>, bool)> {
    (
        prop_oneof![100 => Just("250"), 1 => Just("251"), 1 => Just("550"), 1 => Just("2x0")],
        prop_oneof![100 => Just(None), 1 => Just(Some("")), 1 => Just(Some("+"))],
        text(),
        prop_oneof![60 => Just("\r\n"), 30 => Just("\n"), 1 => Just("\r"), 1 => Just("\r\r\n")],
    )
        .prop_map(|(code, sep, text, end)| {
            let mut l = code.as_bytes().to_vec();
            // `None`: the separator the position calls for, filled in by `reply`.
            l.extend_from_slice(sep.unwrap_or("?").as_bytes());
            l.extend_from_slice(&text);
            l.extend_from_slice(end.as_bytes());
            (l, sep.is_none())
        })
}

fn reply() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(line(), 1..24),
        prop_oneof![8 => Just(None), 1 => Just(Some(b"550")), 1 => Just(Some(b"421"))],
        prop::collection::vec(any::<u8>(), 0..12),
    )
        .prop_map(|(lines, refusal, trailing)| {
            let mut wire = Vec::new();
            let n = lines.len();
            for (i, (mut l, fill)) in lines.into_iter().enumerate() {
                if fill {
                    l[3] = if i + 1 < n { b'-' } else { b' ' };
                }
                if let Some(code) = refusal {
                    l[..3].copy_from_slice(code);
                }
                wire.extend_from_slice(&l);
            }
            wire.extend_from_slice(&trailing);
            wire
        })
}

fn limits() -> impl Strategy<Value = ReplyLimits> {
    (
        prop_oneof![3 => Just(2000usize), 1 => 6usize..48],
        prop_oneof![3 => Just(200usize), 1 => 1usize..12],
        prop_oneof![3 => Just(65536usize), 1 => 8usize..400],
    )
        .prop_map(|(max_line, max_lines, max_bytes)| ReplyLimits {
            max_line,
            max_lines,
            max_bytes,
        })
}

/// The reference: a reply, then capabilities when it is positive.
fn two_pass(reader: &mut ReplyReader, input: &mut &[u8]) -> Result<Option<Hello>, ReplyError> {
    Ok(reader.read(input)?.map(|reply| {
        if reply.is_positive() {
            Hello::Capabilities(Capabilities::from(reply))
        } else {
            Hello::Other(reply)
        }
    }))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    #[test]
    fn one_pass_reads_like_two_passes(
        wire in reply(),
        limits in limits(),
        split in any::<prop::sample::Index>(),
        edge in prop::option::of((any::<prop::sample::Index>(), -1isize..=1)),
    ) {
        // Sometimes the line limit is the length of one of the lines, give or take one:
        // where a line of the reply meets the limit.
        let mut limits = limits;
        if let Some((line, delta)) = edge {
            let lengths: Vec<usize> = wire.split_inclusive(|&b| b == b'\n').map(<[u8]>::len).collect();
            limits.max_line = lengths[line.index(lengths.len())].saturating_add_signed(delta).max(1);
        }
        let (mut a, mut b) = (&wire[..], &wire[..]);
        let one = ReplyReader::new(limits).read_ehlo(&mut a);
        let two = two_pass(&mut ReplyReader::new(limits), &mut b);
        prop_assert_eq!(&one, &two);
        prop_assert_eq!(a.len(), b.len());

        // In two chunks: the first call may leave a partial reply, the second ends it.
        let at = split.index(wire.len() + 1);
        let (mut reader_a, mut reader_b) = (ReplyReader::new(limits), ReplyReader::new(limits));
        let (mut a, mut b) = (&wire[..at], &wire[..at]);
        let one = reader_a.read_ehlo(&mut a);
        let two = two_pass(&mut reader_b, &mut b);
        prop_assert_eq!(&one, &two);
        prop_assert_eq!(a.len(), b.len());
        if matches!(one, Ok(None)) {
            let (mut a, mut b) = (&wire[at..], &wire[at..]);
            prop_assert_eq!(reader_a.read_ehlo(&mut a), two_pass(&mut reader_b, &mut b));
            prop_assert_eq!(a.len(), b.len());
        }
    }
}

/// The generator does reach the interesting cases: positive replies read into
/// capabilities with typed keywords, refusals, and errors.
#[test]
fn generator_covers_the_outcomes() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut caps, mut typed, mut other, mut errors) = (0, 0, 0, 0);
    for _ in 0..2000 {
        let wire = reply().new_tree(&mut runner).unwrap().current();
        match ReplyReader::default().read_ehlo(&mut &wire[..]) {
            Ok(Some(Hello::Capabilities(c))) => {
                caps += 1;
                typed += usize::from(c.pipelining() || c.max_size().is_some());
            }
            Ok(Some(Hello::Other(_))) => other += 1,
            Ok(None) => {}
            Err(_) => errors += 1,
        }
    }
    assert!(
        caps > 400 && typed > 150 && other > 100 && errors > 100,
        "{caps} {typed} {other} {errors}"
    );
}
