//! End-of-data smuggling regressions (security.md): each input that broke a client or a
//! receiver, through both encoders, whole, byte by byte and at every single cut point.
//! Lettre RUSTSEC-2021-0069 and RUSTSEC-2026-0561; CVE-2023-51764/51765/51766.

mod body_support;

use body_support::*;
use smtp_proto::body::BodyError;

/// Every way of cutting `input` that these tests try: whole, byte by byte, each single
/// cut point, and each single cut with an empty chunk between the halves.
fn chunkings(input: &[u8]) -> Vec<Vec<&[u8]>> {
    let mut all = vec![vec![input], input.chunks(1).collect()];
    for at in 0..=input.len() {
        all.push(vec![&input[..at], &input[at..]]);
        all.push(vec![&input[..at], b"", &input[at..]]);
    }
    all
}

fn data_via(chunks: &[&[u8]]) -> Result<Vec<u8>, BodyError> {
    let mut e = smtp_proto::body::DataEncoder::new();
    let mut out = Vec::new();
    for c in chunks {
        e.encode(c, &mut out)?;
    }
    e.finish(&mut out);
    Ok(out)
}

fn bdat_via(chunks: &[&[u8]], binary: bool) -> Result<Vec<u8>, BodyError> {
    let mut e = smtp_proto::body::BdatEncoder::new(binary);
    let mut out = Vec::new();
    for c in chunks {
        e.encode(c, false, &mut out)?;
    }
    e.finish(&mut out);
    Ok(out)
}

/// Checks `body` (which must hold no NUL) everywhere, with optional surrounding text.
fn assert_safe(body: &[u8]) {
    for wrapped in [
        body.to_vec(),
        [
            b"Subject: x\r\n\r\nhi".as_slice(),
            body,
            b"MAIL FROM:<evil@x>\r\n",
        ]
        .concat(),
        [b"a".as_slice(), body].concat(),
    ] {
        let reference = data_via(&[&wrapped]).unwrap();
        for chunks in chunkings(&wrapped) {
            let wire = data_via(&chunks).unwrap();
            check_data_wire(&wrapped, &wire);
            assert_eq!(wire, reference, "DATA output depends on chunking");
            for binary in [false, true] {
                let wire = bdat_via(&chunks, binary).unwrap();
                check_bdat_wire(&wrapped, binary, &wire);
            }
        }
    }
}

#[test]
fn smuggle_lf_dot_lf() {
    assert_safe(b"\n.\n");
    assert_eq!(data_via(&[b"\n.\n"]).unwrap(), b"\r\n..\r\n.\r\n");
}

#[test]
fn smuggle_lf_dot_crlf() {
    assert_safe(b"\n.\r\n");
    assert_eq!(data_via(&[b"\n.\r\n"]).unwrap(), b"\r\n..\r\n.\r\n");
}

#[test]
fn smuggle_cr_dot_crlf() {
    assert_safe(b"\r.\r\n");
    assert_eq!(data_via(&[b"\r.\r\n"]).unwrap(), b"\r\n..\r\n.\r\n");
}

#[test]
fn smuggle_crlf_nul_dot_crlf() {
    // The NUL is refused whatever the cut, with its offset in the whole body.
    for prefix in [b"".as_slice(), b"hello"] {
        let body = [prefix, b"\r\n\x00.\r\n"].concat();
        let nul = body.iter().position(|&b| b == 0).unwrap() as u64;
        for chunks in chunkings(&body) {
            assert_eq!(data_via(&chunks), Err(BodyError::Nul { offset: nul }));
            assert_eq!(
                bdat_via(&chunks, false),
                Err(BodyError::Nul { offset: nul })
            );
            // BINARYMIME carries it unchanged.
            check_bdat_wire(&body, true, &bdat_via(&chunks, true).unwrap());
        }
    }
    // Without the NUL the rest is safe too.
    assert_safe(b"\r\n.\r\n");
}

#[test]
fn smuggle_cr_cr_lf() {
    assert_safe(b"\r\r\n");
    assert_safe(b"\r\r\n.\r\r\n");
    assert_eq!(
        data_via(&[b"x\r\r\n.\r\r\n"]).unwrap(),
        b"x\r\n\r\n..\r\n\r\n.\r\n"
    );
}

#[test]
fn smuggle_crlf_crlf_dot() {
    assert_safe(b"\r\n\r\n.");
    assert_eq!(data_via(&[b"\r\n\r\n."]).unwrap(), b"\r\n\r\n..\r\n.\r\n");
}

#[test]
fn smuggle_embedded_end_marker() {
    assert_safe(b"\r\n.\r\nMAIL FROM:<x@y>\r\n");
    assert_safe(b".\r\n");
    assert_safe(b".");
    assert_safe(b"\r\n.");
    assert_safe(b"\r.\r");
    assert_safe(b"\r\n.\n");
}
