//! Property tests of the body encoders against the reference models in `body_support`:
//! any body, any chunking (whole, byte by byte, random splits).

mod body_support;

use body_support::*;
use proptest::prelude::*;
use smtp_proto::body::{scan, BodyError};

/// Octets biased toward the ones that matter: '.', CR, LF, NUL, high bytes.
fn octet() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => Just(b'.'),
        3 => Just(b'\r'),
        3 => Just(b'\n'),
        1 => Just(0u8),
        1 => 0x80u8..=0xff,
        4 => b'a'..=b'z',
        1 => any::<u8>(),
    ]
}

/// Short, dense bodies of arbitrary octets.
fn dense(nul: bool) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(octet(), 0..300).prop_map(move |mut v| {
        if !nul {
            v.retain(|&b| b != 0);
        }
        v
    })
}

/// Long bodies that look like mail: mostly CRLF lines of text, with rare oddities, so
/// that the fast paths over clean text and their edges are exercised.
fn text() -> impl Strategy<Value = Vec<u8>> {
    let line = (
        prop_oneof![8 => Just(&b""[..]), 1 => Just(&b"."[..]), 1 => Just(&b".."[..])],
        proptest::collection::vec(b' '..=b'~', 0..150),
        prop_oneof![
            20 => Just(&b"\r\n"[..]),
            2 => Just(&b"\n"[..]),
            1 => Just(&b"\r"[..]),
            1 => Just(&b"\r\r\n"[..]),
            1 => Just(&b""[..]),
            1 => Just(&b"\n\r"[..]),
        ],
    );
    proptest::collection::vec(line, 0..40).prop_map(|lines| {
        let mut v = Vec::new();
        for (start, mid, end) in lines {
            v.extend_from_slice(start);
            v.extend_from_slice(&mid);
            v.extend_from_slice(end);
        }
        v
    })
}

/// Long mail text, up to about two of the encoders' 16 KiB segments: CRLF lines (some
/// starting with '.'), from a random line on perhaps LF lines, and a few CR, LF, '.' and
/// NUL put at random places. Most of the encoders' blocks are clean, the odd one not.
fn long_text_with_specials() -> impl Strategy<Value = Vec<u8>> {
    let line = (
        prop_oneof![12 => Just(&b""[..]), 1 => Just(&b"."[..])],
        proptest::collection::vec(b' '..=b'~', 0..100),
    );
    let special = (
        any::<prop::sample::Index>(),
        prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'.'), Just(0u8)],
        any::<bool>(),
    );
    (
        proptest::collection::vec(line, 0..450),
        proptest::option::of(any::<prop::sample::Index>()),
        proptest::collection::vec(special, 0..5),
    )
        .prop_map(|(lines, lf_from, specials)| {
            let lf_from = lf_from.map_or(lines.len(), |at| at.index(lines.len() + 1));
            let mut v = Vec::new();
            for (n, (start, mid)) in lines.into_iter().enumerate() {
                v.extend_from_slice(start);
                v.extend_from_slice(&mid);
                v.extend_from_slice(if n < lf_from { b"\r\n" } else { b"\n" });
            }
            for (at, octet, insert) in specials {
                let k = at.index(v.len() + 1);
                if insert || k == v.len() {
                    v.insert(k, octet);
                } else {
                    v[k] = octet;
                }
            }
            v
        })
}

/// Chunk lengths for long bodies: small, around a block, and around a segment.
fn long_cuts() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        Just(vec![]),
        proptest::collection::vec(0usize..600, 1..10),
        proptest::collection::vec(0usize..20_000, 1..4),
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![dense(false), text()]
}

fn cuts() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        Just(vec![]),
        Just(vec![1]),
        proptest::collection::vec(0usize..8, 1..10),
        proptest::collection::vec(0usize..400, 1..10),
    ]
}

fn first_nul(v: &[u8]) -> Option<u64> {
    v.iter().position(|&b| b == 0).map(|p| p as u64)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// (b) DATA: un-stuffed output is the normalised input; no bare CR, LF or NUL; one
    /// marker at the end for every receiver; identical bytes whatever the chunking.
    #[test]
    fn data_framing(input in body(), cuts in cuts()) {
        let whole = data_chunked(&input, &[]).unwrap();
        check_data_wire(&input, &whole);
        for c in [&cuts[..], &[1][..]] {
            let wire = data_chunked(&input, c).unwrap();
            prop_assert_eq!(&wire, &whole);
        }
    }

    /// (b) Bodies with NUL fail with the offset of the first NUL, whatever the chunking.
    #[test]
    fn data_nul(input in dense(true), cuts in cuts()) {
        let got = data_chunked(&input, &cuts);
        match first_nul(&input) {
            Some(offset) => {
                let (err, _) = got.unwrap_err();
                prop_assert_eq!(err, BodyError::Nul { offset });
            }
            None => check_data_wire(&input, &got.unwrap()),
        }
    }

    /// (c) BDAT text: well-formed commands, one LAST at the end, data equal to the
    /// normalised input whatever the chunking; NUL refused with its offset.
    #[test]
    fn bdat_text(input in prop_oneof![dense(true), text()], cuts in cuts(), last in any::<bool>()) {
        let got = bdat_chunked(&input, false, &cuts, last);
        match first_nul(&input) {
            Some(offset) => {
                let (err, _) = got.unwrap_err();
                prop_assert_eq!(err, BodyError::Nul { offset });
            }
            None => {
                let data = check_bdat_wire(&input, false, &got.unwrap());
                let whole = bdat_chunked(&input, false, &[], false).unwrap();
                prop_assert_eq!(data, check_bdat_wire(&input, false, &whole));
                let bytes = bdat_chunked(&input, false, &[1], true).unwrap();
                check_bdat_wire(&input, false, &bytes);
            }
        }
    }

    /// (c) BDAT BINARYMIME: the data is the input, byte for byte, NUL included.
    #[test]
    fn bdat_binary(input in prop_oneof![dense(true), text()], cuts in cuts(), last in any::<bool>()) {
        for c in [&cuts[..], &[][..], &[1][..]] {
            let wire = bdat_chunked(&input, true, c, last).unwrap();
            check_bdat_wire(&input, true, &wire);
        }
    }

    /// scan() agrees with the reference normaliser.
    #[test]
    fn scan_matches_reference(input in prop_oneof![dense(true), text()]) {
        let s = scan(&input);
        let norm = normalise(&input);
        prop_assert_eq!(s.normalized_len, norm.len() as u64);
        prop_assert_eq!(s.has_nul, input.contains(&0));
        prop_assert_eq!(s.has_8bit, input.iter().any(|&b| b >= 0x80));
        prop_assert_eq!(s.has_bare_cr_or_lf, norm.len() != input.len());
        let longest = norm.split(|&b| b == b'\n').map(|l| l.len().saturating_sub(usize::from(l.ends_with(b"\r")))).max().unwrap_or(0);
        prop_assert_eq!(s.max_line_len, longest);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Long text with CR, LF, '.' and NUL at random places, cut at random: DATA gives
    /// exactly the reference wire form and text BDAT exactly the normalised content, or,
    /// if there is a NUL, both refuse it at the first NUL's offset with the output put
    /// back (checked by `data_chunked` and `bdat_chunked`).
    #[test]
    fn long_text_matches_reference(
        input in long_text_with_specials(),
        cuts in long_cuts(),
        last in any::<bool>(),
    ) {
        let nul = first_nul(&input);
        for c in [&cuts[..], &[][..]] {
            match (data_chunked(&input, c), nul) {
                (Ok(wire), None) => prop_assert!(wire == data_wire(&input), "DATA differs"),
                (Err((err, _)), Some(offset)) => prop_assert_eq!(err, BodyError::Nul { offset }),
                (got, _) => prop_assert!(false, "DATA {:?}, first NUL {:?}", got.map(|w| w.len()), nul),
            }
            match (bdat_chunked(&input, false, c, last), nul) {
                (Ok(wire), None) => {
                    check_bdat_wire(&input, false, &wire);
                }
                (Err((err, _)), Some(offset)) => prop_assert_eq!(err, BodyError::Nul { offset }),
                (got, _) => prop_assert!(false, "BDAT {:?}, first NUL {:?}", got.map(|w| w.len()), nul),
            }
        }
    }
}

/// A long clean body with dots at line starts exactly on and around the encoder's
/// internal block edges: every offset from 100 to 300 in turn.
#[test]
fn dots_at_every_offset() {
    for at in 100..300 {
        for ending in [&b"\r\n"[..], b"\n", b"\r"] {
            let mut input = vec![b'x'; 400];
            input[at - ending.len()..at].copy_from_slice(ending);
            input[at] = b'.';
            for cuts in [&[][..], &[1][..], &[at][..], &[at - 1][..], &[at + 1][..]] {
                let wire = data_chunked(&input, cuts).unwrap();
                check_data_wire(&input, &wire);
                check_bdat_wire(
                    &input,
                    false,
                    &bdat_chunked(&input, false, cuts, false).unwrap(),
                );
            }
        }
    }
}

/// Bare line ends anywhere in otherwise clean CRLF text, one at a time.
#[test]
fn bare_line_end_at_every_offset() {
    let base: Vec<u8> =
        b"0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQ\r\n".repeat(8);
    for at in 0..base.len() {
        for b in [b'\r', b'\n', b'.'] {
            let mut input = base.clone();
            input[at] = b;
            for cuts in [&[][..], &[at][..], &[at + 1][..]] {
                let wire = data_chunked(&input, cuts).unwrap();
                check_data_wire(&input, &wire);
                check_bdat_wire(
                    &input,
                    false,
                    &bdat_chunked(&input, false, cuts, false).unwrap(),
                );
            }
        }
    }
}

/// Long runs of bare CR, of bare LF, and of CRs then LFs, inside CRLF text: whole
/// blocks of line ends that all need a change (the fast path over clean blocks must
/// not take them for clean), at every offset of the encoder's blocks.
#[test]
fn long_runs_of_bare_line_ends_in_crlf_text() {
    let line = b"0123456789abcdefghijklmnopqrstuvwxyz\r\n";
    for run in [
        vec![b'\n'; 300],
        vec![b'\r'; 300],
        [vec![b'\r'; 150], b"x".to_vec(), vec![b'\n'; 150]].concat(),
    ] {
        for lead in 0..40 {
            let mut input = line.repeat(2);
            input.extend(std::iter::repeat_n(b'a', lead));
            input.extend_from_slice(&run);
            input.extend_from_slice(&line.repeat(2));
            for cuts in [&[][..], &[200][..], &[77 + lead][..]] {
                let wire = data_chunked(&input, cuts).unwrap();
                check_data_wire(&input, &wire);
                check_bdat_wire(
                    &input,
                    false,
                    &bdat_chunked(&input, false, cuts, false).unwrap(),
                );
            }
        }
    }
}

/// CRLF text that turns into LF text, shifted over every offset of the encoder's blocks:
/// where a clean block ends between a CR and its LF and LF text follows, the search for
/// CR that picks the LF-only path must see that CR.
#[test]
fn crlf_text_turning_to_lf_text_at_every_offset() {
    let crlf = b"0123456789abcdefghijklmnopqrstuvwxyz.-\r\n".repeat(12);
    let lf = b"0123456789abcdefghijklmnopqrstuvwxyz.-\n".repeat(12);
    for shift in 0..300 {
        let input = [vec![b'a'; shift], crlf.clone(), lf.clone()].concat();
        for cuts in [&[][..], &[shift + 1][..]] {
            let wire = data_chunked(&input, cuts).unwrap();
            assert!(wire == data_wire(&input), "DATA, shift {shift}");
            check_bdat_wire(
                &input,
                false,
                &bdat_chunked(&input, false, cuts, false).unwrap(),
            );
        }
    }
}
