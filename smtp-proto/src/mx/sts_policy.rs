//! The MTA-STS policy file (RFC 8461 §3.2): `key: value` lines, LF or CRLF.

use alloc::vec::Vec;

use super::mx_pattern::MxPattern;
use super::txt::{is_ext_name, trim_wsp};

/// The largest `max_age` a policy may have (RFC 8461 §3.2: about one year).
pub const MAX_STS_MAX_AGE: u32 = 31_557_600;
/// The most `mx:` patterns kept; more make the policy invalid (a bound on hostile input).
pub const MAX_STS_MX: usize = 64;

/// What a policy asks of senders (RFC 8461 §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StsMode {
    /// Deliver only to matching MX hosts over verified TLS.
    Enforce,
    /// Deliver anyway; report failures (RFC 8460).
    Testing,
    /// The domain withdrew its policy.
    None,
}

impl StsMode {
    /// The policy's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            StsMode::Enforce => "enforce",
            StsMode::Testing => "testing",
            StsMode::None => "none",
        }
    }
}

/// A valid policy.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StsPolicy {
    /// `mode:`.
    pub mode: StsMode,
    /// `max_age:` in seconds, at most [`MAX_STS_MAX_AGE`].
    pub max_age: u32,
    /// The `mx:` patterns, in order; at least one unless the mode is `none`.
    pub mx: Vec<MxPattern>,
}

impl StsPolicy {
    /// Whether `host` matches one of the `mx:` patterns (RFC 8461 §4.1).
    pub fn allows(&self, host: &str) -> bool {
        self.mx.iter().any(|p| p.matches(host))
    }
}

/// Why a policy body is invalid (all of them `sts-policy-invalid`, RFC 8460 §4.3.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PolicyError {
    /// A line (1-based) is not `key ":" *WSP value`, or holds a control character.
    Syntax {
        /// The line.
        line: usize,
    },
    /// `version`, `mode` or `max_age` appears twice (the grammar allows it once).
    Duplicate {
        /// The key.
        key: &'static str,
        /// The line of its second appearance.
        line: usize,
    },
    /// A known key's value does not fit its rule (`version: STSv1`, `mode` one of
    /// three words, `max_age` 1 to 10 digits, `mx` a host pattern).
    BadValue {
        /// The key.
        key: &'static str,
        /// The line.
        line: usize,
    },
    /// `max_age` is above [`MAX_STS_MAX_AGE`].
    MaxAgeTooLarge,
    /// A required key is absent: `version`, `mode`, `max_age`, or `mx` when the mode
    /// is `enforce` or `testing`.
    Missing(&'static str),
    /// More than [`MAX_STS_MX`] patterns.
    TooManyMx,
}

/// Parses a policy body (RFC 8461 §3.2). Lines end with LF or CRLF; blank lines and
/// unknown keys are ignored; each of `version`, `mode` and `max_age` appears once.
///
/// # Errors
/// [`PolicyError`] naming the first problem.
pub fn parse_sts_policy(body: &[u8]) -> Result<StsPolicy, PolicyError> {
    let mut version = false;
    let mut mode = None;
    let mut max_age = None;
    let mut mx = Vec::new();
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if trim_wsp(line).is_empty() {
            continue;
        }
        let syntax = PolicyError::Syntax { line: line_no };
        // Control characters other than HTAB are never part of a value; a CR here is
        // a bare CR, not a line end.
        if line.iter().any(|&b| b < 0x20 && b != b'\t' || b == 0x7f) {
            return Err(syntax);
        }
        let colon = line.iter().position(|&b| b == b':').ok_or(syntax)?;
        let (key, value) = (&line[..colon], trim_wsp(&line[colon + 1..]));
        if !is_ext_name(key) || value.is_empty() {
            return Err(syntax);
        }
        let bad = |key| PolicyError::BadValue { key, line: line_no };
        let dup = |key| PolicyError::Duplicate { key, line: line_no };
        match key {
            b"version" => {
                if version {
                    return Err(dup("version"));
                }
                if value != b"STSv1" {
                    return Err(bad("version"));
                }
                version = true;
            }
            b"mode" => {
                if mode.is_some() {
                    return Err(dup("mode"));
                }
                mode = Some(match value {
                    b"enforce" => StsMode::Enforce,
                    b"testing" => StsMode::Testing,
                    b"none" => StsMode::None,
                    _ => return Err(bad("mode")),
                });
            }
            b"max_age" => {
                if max_age.is_some() {
                    return Err(dup("max_age"));
                }
                // 1*10DIGIT: at most 9_999_999_999, which fits a u64.
                if value.len() > 10 || !value.iter().all(u8::is_ascii_digit) {
                    return Err(bad("max_age"));
                }
                let n = value.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
                let n = u32::try_from(n)
                    .ok()
                    .filter(|&n| n <= MAX_STS_MAX_AGE)
                    .ok_or(PolicyError::MaxAgeTooLarge)?;
                max_age = Some(n);
            }
            b"mx" => {
                if mx.len() == MAX_STS_MX {
                    return Err(PolicyError::TooManyMx);
                }
                let text = core::str::from_utf8(value).map_err(|_| bad("mx"))?;
                mx.push(MxPattern::parse(text).map_err(|_| bad("mx"))?);
            }
            // RFC 8461 §3.2: unknown fields are ignored.
            _ => {}
        }
    }
    if !version {
        return Err(PolicyError::Missing("version"));
    }
    let mode = mode.ok_or(PolicyError::Missing("mode"))?;
    let max_age = max_age.ok_or(PolicyError::Missing("max_age"))?;
    if mode != StsMode::None && mx.is_empty() {
        return Err(PolicyError::Missing("mx"));
    }
    Ok(StsPolicy { mode, max_age, mx })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_rfc_example_with_lf_or_crlf_and_ignores_unknown_keys() {
        let lf = "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmx: backupmx.example.com\nmax_age: 604800\nfoo-bar: baz qux\n";
        for body in [lf.into(), lf.replace('\n', "\r\n"), lf.trim_end().into()] {
            let p = parse_sts_policy(body.as_bytes()).unwrap();
            assert_eq!(p.mode, StsMode::Enforce);
            assert_eq!(p.max_age, 604_800);
            assert_eq!(p.mx.len(), 3);
            assert!(p.allows("a.example.net") && !p.allows("example.net"));
        }
    }

    #[test]
    fn refuses_missing_keys_duplicates_and_bad_values() {
        let ok = "version: STSv1\nmode: testing\nmx: mx.example\nmax_age: 86400\n";
        assert!(parse_sts_policy(ok.as_bytes()).is_ok());
        let cases: &[(&str, PolicyError)] = &[
            (
                "mode: enforce\nmx: a.b\nmax_age: 1",
                PolicyError::Missing("version"),
            ),
            (
                "version: STSv1\nmx: a.b\nmax_age: 1",
                PolicyError::Missing("mode"),
            ),
            (
                "version: STSv1\nmode: enforce\nmx: a.b",
                PolicyError::Missing("max_age"),
            ),
            (
                "version: STSv1\nmode: enforce\nmax_age: 1",
                PolicyError::Missing("mx"),
            ),
            (
                "version: STSv1\nmode: testing\nmax_age: 1",
                PolicyError::Missing("mx"),
            ),
            (
                "version: STSv1\nmode: enforce\nmode: none\nmx: a.b\nmax_age: 1",
                PolicyError::Duplicate {
                    key: "mode",
                    line: 3,
                },
            ),
            (
                "version: STSv1\nmode: none\nmax_age: 31557601",
                PolicyError::MaxAgeTooLarge,
            ),
            (
                "version: STSv1\nmode: none\nmax_age: 99999999999",
                PolicyError::BadValue {
                    key: "max_age",
                    line: 3,
                },
            ),
            (
                "version: STSv2\nmode: none\nmax_age: 1",
                PolicyError::BadValue {
                    key: "version",
                    line: 1,
                },
            ),
            (
                "version: STSv1\nmode: Enforce\nmax_age: 1",
                PolicyError::BadValue {
                    key: "mode",
                    line: 2,
                },
            ),
            (
                "version STSv1\nmode: none\nmax_age: 1",
                PolicyError::Syntax { line: 1 },
            ),
            (
                "version: STSv1\nmode:\nmax_age: 1",
                PolicyError::Syntax { line: 2 },
            ),
            (
                "version: STSv1\n-x: y\nmode: none\nmax_age: 1",
                PolicyError::Syntax { line: 2 },
            ),
            (
                "version: STSv1\rmode: none\nmax_age: 1",
                PolicyError::Syntax { line: 1 },
            ),
        ];
        for (body, err) in cases {
            assert_eq!(parse_sts_policy(body.as_bytes()), Err(*err), "{body:?}");
        }
        let none = parse_sts_policy(b"version: STSv1\nmode: none\nmax_age: 31557600").unwrap();
        assert_eq!((none.mode, none.max_age), (StsMode::None, MAX_STS_MAX_AGE));
        // 1*10DIGIT: ten digits with leading zeros are fine.
        let ten = parse_sts_policy(b"version: STSv1\nmode: none\nmax_age: 0000086400").unwrap();
        assert_eq!(ten.max_age, 86_400);
    }
}
