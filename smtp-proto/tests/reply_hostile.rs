//! Hostile content (security.md, "Hostile replies"): bad codes, changing codes, NUL,
//! invalid UTF-8 and terminal escapes.

use smtp_proto::reply::{Escaped, Reply, ReplyCode, ReplyError, ReplyReader};

fn read_one(wire: &[u8]) -> Result<Option<Reply>, ReplyError> {
    ReplyReader::default().read(&mut &wire[..])
}

fn malformed(wire: &[u8]) {
    assert!(
        matches!(read_one(wire), Err(ReplyError::Malformed { .. })),
        "{:?} gave {:?}",
        Escaped(wire),
        read_one(wire)
    );
}

#[test]
fn codes_outside_the_grammar() {
    for wire in [
        &b"000 x\r\n"[..],
        b"100 x\r\n",
        b"199 x\r\n",
        b"600 x\r\n",
        b"999 x\r\n",
        b"260 x\r\n",
        b"2x0 x\r\n",
        b"25 x\r\n",
        b"2500 x\r\n",
        b"250x\r\n",
        b"250\tx\r\n",
        b"\r\n",
        b"\n",
        b" 250 x\r\n",
        b"250 a\rb\r\n",
        b"250 x\r\r\n",
    ] {
        malformed(wire);
    }
}

#[test]
fn every_valid_first_digit_is_accepted() {
    for code in ["200", "259", "300", "354", "421", "459", "500", "559"] {
        let wire = format!("{code} ok\r\n");
        let reply = read_one(wire.as_bytes()).unwrap().unwrap();
        assert_eq!(reply.code().to_string(), code);
    }
}

#[test]
fn code_changing_mid_reply() {
    let err = read_one(b"250-a\r\n250-b\r\n550 c\r\n").unwrap_err();
    assert_eq!(
        err,
        ReplyError::CodeMismatch {
            first: ReplyCode::OK,
            found: 550
        }
    );
    assert_eq!(
        err.to_string(),
        "multiline reply changes code from 250 to 550"
    );
    // A later line whose code is outside the grammar is still a mismatch.
    assert!(matches!(
        read_one(b"250-a\r\n999 c\r\n"),
        Err(ReplyError::CodeMismatch { found: 999, .. })
    ));
    // A later line with no code at all is malformed.
    malformed(b"250-a\r\nhello\r\n");
}

#[test]
fn nul_and_invalid_utf8_kept_as_bytes() {
    let reply = read_one(b"250-a\x00b\r\n250 \xff\xfe\xc3\r\n")
        .unwrap()
        .unwrap();
    let lines: Vec<&[u8]> = reply.lines().collect();
    assert_eq!(lines, [&b"a\x00b"[..], b"\xff\xfe\xc3"]);
    assert_eq!(reply.text_lossy(), "a\0b\n\u{fffd}\u{fffd}\u{fffd}");
    assert_eq!(reply.to_string(), "250-a\\x00b\n250 \\xff\\xfe\\xc3");
}

#[test]
fn terminal_escapes_escaped_in_display() {
    let wire = b"550-\x1b[2J\x1b]0;owned\x07 \x9b\r\n550 \xc2\x9b6n \xe2\x80\xae evil \x7f\r\n";
    let reply = read_one(wire).unwrap().unwrap();
    let shown = reply.to_string();
    assert_eq!(
        shown,
        "550-\\x1b[2J\\x1b]0;owned\\x07 \\x9b\n550 \\u{009b}6n \\u{202e} evil \\x7f"
    );
    // Nothing a terminal would interpret is left.
    assert!(shown.chars().all(|c| c == '\n' || (' '..='~').contains(&c)));
    // The error types never print server text.
    assert!(!ReplyError::Malformed { reason: "x" }
        .to_string()
        .contains('\x1b'));
}

#[test]
fn enhanced_status_rules() {
    let enhanced = |wire: &[u8]| read_one(wire).unwrap().unwrap().enhanced();
    let e = enhanced(b"550 5.7.1 denied\r\n").unwrap();
    assert_eq!((e.class(), e.subject(), e.detail()), (5, 7, 1));
    assert_eq!(e.to_string(), "5.7.1");
    assert_eq!(
        enhanced(b"538 5.7.11 Encryption required\r\n")
            .unwrap()
            .detail(),
        11
    );
    // Class must equal the reply's first digit (RFC 3463 §2).
    assert_eq!(enhanced(b"550 4.7.1 denied\r\n"), None);
    assert_eq!(enhanced(b"250 5.0.0 ok\r\n"), None);
    // No saturation, no overlong digit strings.
    assert_eq!(enhanced(b"550 5.1000.1 x\r\n"), None);
    assert_eq!(enhanced(b"550 5.1.0001 x\r\n"), None);
    assert_eq!(enhanced(b"550 5.99999999999999999999.1 x\r\n"), None);
    // Must be followed by SP or end the text.
    assert_eq!(enhanced(b"550 5.1.1: x\r\n"), None);
    assert!(enhanced(b"550 5.1.1\r\n").is_some());
    // Only the first line counts.
    assert_eq!(enhanced(b"550-x\r\n550 5.1.1 y\r\n"), None);
}

#[test]
fn error_display_and_std_error() {
    let errors = [
        ReplyError::LineTooLong { limit: 2000 },
        ReplyError::TooManyLines { limit: 200 },
        ReplyError::TooLarge { limit: 65536 },
        ReplyError::Malformed { reason: "why" },
    ];
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "reply line longer than 2000 octets",
            "reply has more than 200 lines",
            "reply longer than 65536 octets",
            "malformed reply: why",
        ]
    );
    let _: &dyn std::error::Error = &errors[0];
}
