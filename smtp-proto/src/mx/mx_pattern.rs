//! MX host patterns of an MTA-STS policy (RFC 8461 §3.2 `mx:`, matched per §4.1).

use alloc::string::String;
use core::fmt;

use crate::command::Domain;

/// One `mx:` value: a host name, or `*.` and a domain standing for any name one label
/// below it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MxPattern {
    wildcard: bool,
    /// Lower-case, without a trailing dot.
    domain: String,
}

/// An `mx:` value that is no host name (with or without a leading `*.`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MxPatternError;

impl MxPattern {
    /// Parses `mx.example.com` or `*.example.com` (one trailing dot is allowed).
    ///
    /// # Errors
    /// [`MxPatternError`] when what follows the optional `*.` is not a host name
    /// (RFC 5321 §4.1.2, or U-labels), or is a single label after `*.`.
    pub fn parse(text: &str) -> Result<Self, MxPatternError> {
        let (wildcard, rest) = match text.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let rest = rest.strip_suffix('.').unwrap_or(rest);
        let domain = Domain::new(rest).map_err(|_| MxPatternError)?;
        if domain.is_address_literal() || (wildcard && !rest.contains('.')) {
            return Err(MxPatternError);
        }
        Ok(MxPattern {
            wildcard,
            domain: rest.to_ascii_lowercase(),
        })
    }

    /// Whether `host` is allowed by this pattern, case-insensitively (RFC 8461 §4.1):
    /// `*.example.com` matches `mx.example.com` but neither `example.com` nor
    /// `a.b.example.com`.
    pub fn matches(&self, host: &str) -> bool {
        let host = host.strip_suffix('.').unwrap_or(host);
        if !self.wildcard {
            return host.eq_ignore_ascii_case(&self.domain);
        }
        let Some(dot) = host.find('.') else {
            return false;
        };
        // The wildcard stands for exactly one non-empty label.
        dot > 0 && host[dot + 1..].eq_ignore_ascii_case(&self.domain)
    }

    /// Whether the pattern starts with `*.`.
    pub fn is_wildcard(&self) -> bool {
        self.wildcard
    }
}

impl fmt::Display for MxPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.wildcard {
            f.write_str("*.")?;
        }
        f.write_str(&self.domain)
    }
}

impl fmt::Debug for MxPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MxPattern({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_stands_for_exactly_one_label() {
        let p = MxPattern::parse("*.Example.com").unwrap();
        assert!(p.matches("mx.example.com"));
        assert!(p.matches("MX.EXAMPLE.COM."));
        assert!(!p.matches("example.com"));
        assert!(!p.matches("a.b.example.com"));
        assert!(!p.matches(".example.com"));
        assert!(!p.matches("mxexample.com"));
        assert!(p.is_wildcard());
        assert_eq!(alloc::format!("{p:?}"), "MxPattern(*.example.com)");
    }

    #[test]
    fn a_plain_pattern_matches_its_name_only_ignoring_case() {
        let p = MxPattern::parse("mx1.example.com.").unwrap();
        assert!(p.matches("MX1.example.COM"));
        assert!(!p.matches("mx2.example.com"));
        assert!(!p.matches("a.mx1.example.com"));
        assert!(!p.is_wildcard());
        assert_eq!(alloc::format!("{p}"), "mx1.example.com");
    }

    #[test]
    fn refuses_what_is_no_host_name() {
        for bad in [
            "",
            "*.",
            "*.com",
            "*",
            "a..b",
            "[127.0.0.1]",
            "mx example.com",
            "a.*.b",
        ] {
            assert_eq!(MxPattern::parse(bad), Err(MxPatternError), "{bad:?}");
        }
    }
}
