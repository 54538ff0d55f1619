//! Inputs found by the cargo-fuzz targets in `fuzz/` (see fuzz/README.md), minimized,
//! each kept as a test named after what it broke. The checks are the fuzz target's own,
//! narrowed to the property that failed.

use smtp_proto::ehlo::Capabilities;
use smtp_proto::reply::{Reply, ReplyCode};

/// fuzz target `capabilities`, minimized input `"\nAUTH C\x8f C\x8f"`: a mechanism
/// holding invalid UTF-8 was stored lossily ("C\u{fffd}") but deduplicated on its raw
/// bytes, so the same name was listed once per occurrence ("each once" broke).
#[test]
fn capabilities_invalid_utf8_auth_mechanism_listed_once() {
    let reply = Reply::new(ReplyCode::OK, &[b"", b"AUTH C\x8f C\x8f", b"AUTH=c\x8f"]).unwrap();
    let caps = Capabilities::from_reply(&reply);
    let mechs: Vec<&str> = caps.auth_mechanisms().collect();
    assert_eq!(mechs, ["C\u{fffd}"]);
    assert!(caps.supports_auth("c\u{fffd}"));
}

/// fuzz target `capabilities` (CI run, input ending in `"\n "`): a line holding a single
/// space has neither keyword nor parameters. The parser skips it as blank, like an empty
/// line; the target's reference kept it as an unknown keyword `("", "")`. Blank lines add
/// nothing; the keywords around them are kept, in order.
#[test]
fn capabilities_line_of_one_space_is_blank() {
    let reply = Reply::new(ReplyCode::OK, &[b"mx", b"X-ONE a", b" ", b"", b"X-TWO"]).unwrap();
    let caps = Capabilities::from_reply(&reply);
    let kept: Vec<(&str, &str)> = caps.extensions().collect();
    assert_eq!(kept, [("X-ONE", "a"), ("X-TWO", "")]);
}
