//! What the server offers: the EHLO or LHLO reply, read into typed capabilities.
//!
//! RFC 5321 §4.1.1.1: the first line of a positive EHLO reply is `domain [SP greeting]`,
//! each later line is `ehlo-keyword *(SP ehlo-param)`. Keywords are case-insensitive.
//! The extensions the client acts on become flags; every other keyword is kept, with its
//! parameters, as sent. Reading never fails: a line that does not look like a keyword is
//! kept as an unknown keyword, so a quirky server costs nothing but that line.
//!
//! An EHLO reply is read once or twice per connection, so this is plain code over
//! [`Reply::lines`], with no fast path of its own.

use crate::reply::{Reply, ReplyError, ReplyReader};
use alloc::string::String;
use alloc::vec::Vec;

/// At most this many distinct AUTH mechanisms are kept; further ones are ignored. Real
/// servers offer fewer than ten, and the bound keeps deduplication linear in the reply.
pub const MAX_AUTH_MECHANISMS: usize = 64;

const PIPELINING: u16 = 1 << 0;
const STARTTLS: u16 = 1 << 1;
const SIZE: u16 = 1 << 2;
const EIGHT_BIT_MIME: u16 = 1 << 3;
const SMTPUTF8: u16 = 1 << 4;
const CHUNKING: u16 = 1 << 5;
const BINARYMIME: u16 = 1 << 6;
const DSN: u16 = 1 << 7;
const ENHANCEDSTATUSCODES: u16 = 1 << 8;
const REQUIRETLS: u16 = 1 << 9;
const AUTH: u16 = 1 << 10;

/// The keywords with a typed accessor (RFC 2920, 3207, 1870, 6152, 6531, 3030, 3461,
/// 2034, 8689, 4954).
const TYPED: [(&str, u16); 11] = [
    ("PIPELINING", PIPELINING),
    ("STARTTLS", STARTTLS),
    ("SIZE", SIZE),
    ("8BITMIME", EIGHT_BIT_MIME),
    ("SMTPUTF8", SMTPUTF8),
    ("CHUNKING", CHUNKING),
    ("BINARYMIME", BINARYMIME),
    ("DSN", DSN),
    ("ENHANCEDSTATUSCODES", ENHANCEDSTATUSCODES),
    ("REQUIRETLS", REQUIRETLS),
    ("AUTH", AUTH),
];

/// The flag of a keyword with a typed accessor, ignoring case.
fn typed_flag(keyword: &[u8]) -> Option<u16> {
    TYPED
        .iter()
        .find(|(name, _)| name.as_bytes().eq_ignore_ascii_case(keyword))
        .map(|&(_, flag)| flag)
}

/// The extensions a server advertised in its EHLO or LHLO reply.
///
/// ```
/// use smtp_proto::ehlo::Capabilities;
/// use smtp_proto::reply::{Reply, ReplyCode};
///
/// let reply = Reply::new(ReplyCode::OK, &[
///     b"mx.example Hello",
///     b"SIZE 10240000",
///     b"AUTH plain LOGIN",
///     b"X-CUSTOM a b",
/// ]).unwrap();
/// let caps = Capabilities::from(reply);
/// assert_eq!(caps.domain(), "mx.example");
/// assert_eq!(caps.max_size(), Some(10_240_000));
/// assert!(caps.supports_auth("Plain"));
/// assert_eq!(caps.extensions().collect::<Vec<_>>(), [("X-CUSTOM", "a b")]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    flags: u16,
    max_size: Option<u64>,
    /// Text is kept as UTF-8, decoded lossily where the reply was not: each piece is cut
    /// at an ASCII octet, so it decodes as the whole reply would.
    domain: String,
    /// The lines whose keyword has no typed accessor, whole.
    extensions: Vec<String>,
    /// Uppercased, each once, in the order first seen.
    mechanisms: Vec<String>,
}

/// Splits a line's text at its first SP: (`keyword`, `params`).
fn split_keyword(text: &[u8]) -> (&[u8], &[u8]) {
    match text.iter().position(|&b| b == b' ') {
        Some(sp) => (
            text.get(..sp).unwrap_or(&[]),
            text.get(sp + 1..).unwrap_or(&[]),
        ),
        None => (text, &[]),
    }
}

/// What follows `AUTH=` (any case) at the start of `keyword`.
fn legacy_auth(keyword: &[u8]) -> Option<&[u8]> {
    keyword
        .get(..5)
        .filter(|prefix| prefix.eq_ignore_ascii_case(b"AUTH="))
        .and(keyword.get(5..))
}

fn lossy(text: &[u8]) -> String {
    String::from_utf8_lossy(text).into_owned()
}

/// The domain (or address literal) a greeting or EHLO reply line starts with (RFC
/// 5321 §4.2: `220 Domain [SP textstring]`, `250 Domain [SP ehlo-greet]`), lossy UTF-8.
pub(crate) fn announced_domain(first_line: &[u8]) -> String {
    lossy(split_keyword(first_line).0)
}

impl Capabilities {
    /// Reads the lines of an EHLO or LHLO reply (RFC 5321 §4.1.1.1, RFC 2033 §4.1).
    ///
    /// Only call it with a positive reply; the code is not checked. Both `AUTH mechs` and
    /// the legacy `AUTH=mechs` form are read, and their mechanisms merged. When SIZE
    /// appears more than once, the last one counts. Empty lines are skipped.
    pub fn from_reply(reply: &Reply) -> Capabilities {
        let mut caps = Capabilities::default();
        let mut lines = reply.lines();
        caps.domain = announced_domain(lines.next().unwrap_or(&[]));
        for line in lines {
            caps.read_line(line);
        }
        caps
    }

    /// Reads one line after the first: `keyword *(SP param)`.
    fn read_line(&mut self, line: &[u8]) {
        let (keyword, params) = split_keyword(line);
        if let Some(flag) = typed_flag(keyword) {
            self.flags |= flag;
            match flag {
                AUTH => self.add_mechanisms(params),
                SIZE => self.max_size = parse_size(params),
                _ => {}
            }
        } else if let Some(first) = legacy_auth(keyword) {
            // Legacy form sent by old Outlook-compatible servers: `AUTH=LOGIN PLAIN`.
            self.flags |= AUTH;
            self.add_mechanisms(first);
            self.add_mechanisms(params);
        } else if !line.is_empty() && line != b" " {
            // A line no keyword can be read from (empty, or one SP) is skipped.
            self.extensions.push(lossy(line));
        }
    }

    /// Keeps each mechanism of `list` not seen before, uppercased (RFC 4954 §3: names
    /// are uppercase; servers sometimes send them in lowercase, and the list shows them
    /// one way).
    fn add_mechanisms(&mut self, list: &[u8]) {
        for mech in list.split(|b| b.is_ascii_whitespace()) {
            // Compared as kept: two invalid names that decode alike are one.
            let mut mech = lossy(mech);
            mech.make_ascii_uppercase();
            if mech.is_empty() || self.supports_auth(&mech) {
                continue;
            }
            if self.mechanisms.len() >= MAX_AUTH_MECHANISMS {
                return;
            }
            self.mechanisms.push(mech);
        }
    }

    /// The server's domain (or address literal) from the first line, lossy UTF-8.
    pub fn domain(&self) -> &str {
        &self.domain
    }
    /// PIPELINING (RFC 2920).
    pub fn pipelining(&self) -> bool {
        self.flags & PIPELINING != 0
    }

    /// STARTTLS (RFC 3207).
    pub fn starttls(&self) -> bool {
        self.flags & STARTTLS != 0
    }

    /// SIZE was advertised (RFC 1870), with or without a maximum.
    pub fn size_advertised(&self) -> bool {
        self.flags & SIZE != 0
    }

    /// The maximum message size from `SIZE n` (RFC 1870 §4). `None` when SIZE is absent,
    /// has no number, is 0 ("no fixed maximum") or cannot be read as a number.
    pub fn max_size(&self) -> Option<u64> {
        self.max_size
    }

    /// 8BITMIME (RFC 6152).
    pub fn eight_bit_mime(&self) -> bool {
        self.flags & EIGHT_BIT_MIME != 0
    }

    /// SMTPUTF8 (RFC 6531).
    pub fn smtputf8(&self) -> bool {
        self.flags & SMTPUTF8 != 0
    }

    /// CHUNKING, i.e. BDAT (RFC 3030).
    pub fn chunking(&self) -> bool {
        self.flags & CHUNKING != 0
    }

    /// BINARYMIME (RFC 3030).
    pub fn binary_mime(&self) -> bool {
        self.flags & BINARYMIME != 0
    }

    /// DSN (RFC 3461).
    pub fn dsn(&self) -> bool {
        self.flags & DSN != 0
    }

    /// ENHANCEDSTATUSCODES (RFC 2034).
    pub fn enhanced_status_codes(&self) -> bool {
        self.flags & ENHANCEDSTATUSCODES != 0
    }

    /// REQUIRETLS (RFC 8689).
    pub fn requiretls(&self) -> bool {
        self.flags & REQUIRETLS != 0
    }

    /// AUTH was advertised (RFC 4954), in either form, even with no mechanism.
    pub fn auth_advertised(&self) -> bool {
        self.flags & AUTH != 0
    }

    /// The SASL mechanisms from every `AUTH` and `AUTH=` line, uppercased, each once, in
    /// the order first seen.
    pub fn auth_mechanisms(&self) -> impl Iterator<Item = &str> + '_ {
        self.mechanisms.iter().map(String::as_str)
    }

    /// Whether `mechanism` was advertised, compared case-insensitively.
    pub fn supports_auth(&self, mechanism: &str) -> bool {
        self.mechanisms
            .iter()
            .any(|m| m.eq_ignore_ascii_case(mechanism))
    }

    /// Every keyword without a typed accessor, as sent, with its parameters (everything
    /// after the first space, possibly empty), in reply order.
    pub fn extensions(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.extensions
            .iter()
            .map(|line| line.split_once(' ').unwrap_or((line, "")))
    }

    /// Whether `keyword` was advertised, typed or not, compared case-insensitively.
    pub fn has_extension(&self, keyword: &str) -> bool {
        match typed_flag(keyword.as_bytes()) {
            Some(flag) => self.flags & flag != 0,
            None => self
                .extensions()
                .any(|(k, _)| k.eq_ignore_ascii_case(keyword)),
        }
    }
}

impl From<Reply> for Capabilities {
    fn from(reply: Reply) -> Capabilities {
        Capabilities::from_reply(&reply)
    }
}

/// RFC 1870 §4: `size-param = [1*DIGIT]`; 0 means no fixed maximum. Digits only, so
/// `+5` or `-1` are refused; more than twenty digits, or a number past `u64::MAX`, are
/// refused rather than saturated. The digits end at SP or at the end of `params`.
fn parse_size(params: &[u8]) -> Option<u64> {
    let digits = split_keyword(params).0;
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    let mut n: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(n).filter(|&n| n > 0)
}

unstable_pub! {
    /// What [`ReplyReader::read_ehlo`] read. Public with the `unstable` feature only (no
    /// semver guarantee).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum Hello {
        /// A positive reply (2yz), read into capabilities.
        Capabilities(Capabilities),
        /// Any other reply, as it came: a refusal, or something the client did not expect.
        Other(Reply),
    }
}

#[cfg_attr(not(feature = "unstable"), allow(unreachable_pub))]
impl ReplyReader {
    /// [`read`](Self::read) for the reply to EHLO or LHLO: a positive reply comes back
    /// as [`Capabilities`] (the same as [`Capabilities::from`] the reply), any other as
    /// the [`Reply`].
    ///
    /// ```
    /// use smtp_proto::ehlo::Hello;
    /// use smtp_proto::reply::ReplyReader;
    ///
    /// let mut reader = ReplyReader::default();
    /// let mut input: &[u8] = b"250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n";
    /// let Some(Hello::Capabilities(caps)) = reader.read_ehlo(&mut input).unwrap() else {
    ///     panic!("a positive reply");
    /// };
    /// assert!(caps.pipelining());
    /// assert_eq!(caps.max_size(), Some(1000));
    /// assert!(input.is_empty());
    /// ```
    pub fn read_ehlo(&mut self, input: &mut &[u8]) -> Result<Option<Hello>, ReplyError> {
        Ok(self.read(input)?.map(|reply| {
            if reply.is_positive() {
                Hello::Capabilities(Capabilities::from(reply))
            } else {
                Hello::Other(reply)
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::ReplyCode;
    use alloc::vec;
    use alloc::vec::Vec;

    fn caps(lines: &[&[u8]]) -> Capabilities {
        Capabilities::from_reply(&Reply::new(ReplyCode::OK, lines).unwrap())
    }

    #[test]
    fn typed_keywords_case_insensitive() {
        let c = caps(&[
            b"mx",
            b"pipelining",
            b"StartTLS",
            b"8bitmime",
            b"SMTPUTF8",
            b"chunking",
            b"BINARYMIME",
            b"dsn",
            b"EnhancedStatusCodes",
            b"REQUIRETLS",
        ]);
        assert!(c.pipelining() && c.starttls() && c.eight_bit_mime() && c.smtputf8());
        assert!(c.chunking() && c.binary_mime() && c.dsn() && c.enhanced_status_codes());
        assert!(c.requiretls());
        assert!(!c.size_advertised() && !c.auth_advertised());
        assert_eq!(c.extensions().count(), 0);
        assert!(c.has_extension("Pipelining"));
        assert!(!c.has_extension("SIZE"));
    }

    #[test]
    fn nothing_advertised() {
        let c = caps(&[b"mx.example greets you"]);
        assert_eq!(c.domain(), "mx.example");
        assert!(!c.pipelining() && !c.starttls());
        assert_eq!(c.auth_mechanisms().count(), 0);
    }

    /// The client moves its capabilities at each EHLO: they stay small to move.
    #[test]
    fn capabilities_fit_two_cache_lines() {
        assert!(core::mem::size_of::<Capabilities>() <= 128);
    }

    #[test]
    fn size_values() {
        assert_eq!(caps(&[b"d", b"SIZE 10240000"]).max_size(), Some(10_240_000));
        assert_eq!(caps(&[b"d", b"SIZE 0"]).max_size(), None);
        assert_eq!(caps(&[b"d", b"SIZE"]).max_size(), None);
        assert!(caps(&[b"d", b"SIZE"]).size_advertised());
        assert_eq!(caps(&[b"d", b"SIZE abc"]).max_size(), None);
        assert_eq!(caps(&[b"d", b"SIZE +5"]).max_size(), None);
        assert_eq!(
            caps(&[b"d", b"SIZE 18446744073709551615"]).max_size(),
            Some(u64::MAX)
        );
        assert_eq!(caps(&[b"d", b"SIZE 18446744073709551616"]).max_size(), None);
        assert_eq!(
            caps(&[b"d", b"SIZE 99999999999999999999999"]).max_size(),
            None
        );
        assert_eq!(caps(&[b"d", b"SIZE 1", b"SIZE 2"]).max_size(), Some(2));
        // Twenty digits at most, leading zeros included (RFC 1870 §4 bounds the number).
        let twenty = b"SIZE 00000000000000000001";
        assert_eq!(caps(&[b"d", twenty]).max_size(), Some(1));
        assert_eq!(
            caps(&[b"d", b"SIZE 000000000000000000001"]).max_size(),
            None
        );
    }

    #[test]
    fn auth_merged_and_deduplicated() {
        let c = caps(&[
            b"d",
            b"AUTH LOGIN plain",
            b"auth=login PLAIN xoauth2",
            b"AUTH  CRAM-MD5 ",
        ]);
        assert_eq!(
            c.auth_mechanisms().collect::<Vec<_>>(),
            vec!["LOGIN", "PLAIN", "XOAUTH2", "CRAM-MD5"]
        );
        assert!(c.supports_auth("xoauth2") && !c.supports_auth("GSSAPI"));
        assert!(c.has_extension("auth"));
        assert_eq!(c.extensions().count(), 0);
    }

    #[test]
    fn auth_mechanisms_capped() {
        let mut line = b"AUTH".to_vec();
        for i in 0..200 {
            line.extend_from_slice(alloc::format!(" M{i}").as_bytes());
        }
        let c = caps(&[b"d", &line]);
        assert_eq!(c.auth_mechanisms().count(), MAX_AUTH_MECHANISMS);
    }

    #[test]
    fn unknown_and_odd_lines_kept() {
        let c = caps(&[
            b"d",
            b"X-EXPS GSSAPI NTLM",
            b"VRFY",
            b"",
            b"=odd",
            b"\xffbad \x00",
            b"SIZE=5",
        ]);
        let ext: Vec<_> = c.extensions().collect();
        assert_eq!(
            ext,
            vec![
                ("X-EXPS", "GSSAPI NTLM"),
                ("VRFY", ""),
                ("=odd", ""),
                ("\u{fffd}bad", "\0"),
                ("SIZE=5", "")
            ]
        );
        assert!(c.has_extension("vrfy") && c.has_extension("x-exps"));
        assert!(!c.size_advertised());
    }

    #[test]
    fn empty_first_line() {
        let c = caps(&[b""]);
        assert_eq!(c.domain(), "");
    }

    /// The word comparison folds case on letters only: changing any octet of a typed
    /// keyword in any bit matches exactly when the result is the same letter in the other
    /// case (e.g. `\x18BITMIME`, bit 5 off the digit, is not 8BITMIME).
    #[test]
    fn typed_keywords_match_exactly_ignoring_case() {
        const TYPED: [&[u8]; 11] = [
            b"DSN",
            b"SIZE",
            b"AUTH",
            b"8BITMIME",
            b"CHUNKING",
            b"STARTTLS",
            b"SMTPUTF8",
            b"PIPELINING",
            b"BINARYMIME",
            b"REQUIRETLS",
            b"ENHANCEDSTATUSCODES",
        ];
        for name in TYPED {
            let flag = typed_flag(name).expect("typed");
            assert_eq!(typed_flag(&name.to_ascii_lowercase()), Some(flag));
            for i in 0..name.len() {
                for bit in 0..8 {
                    let mut k = name.to_vec();
                    k[i] ^= 1 << bit;
                    let same = k.eq_ignore_ascii_case(name);
                    assert_eq!(
                        typed_flag(&k) == Some(flag),
                        same,
                        "{:?}",
                        crate::reply::Escaped(&k)
                    );
                }
            }
            assert_eq!(typed_flag(&name[1..]), None);
            assert_eq!(typed_flag(&[name, &b"X"[..]].concat()), None);
        }
    }

    /// Lines ending in LF alone, an empty last line and lowercase mechanisms read the
    /// same as the canonical form, whether the reply is taken over or copied.
    #[test]
    fn wire_forms_read_alike() {
        let mut reader = crate::reply::ReplyReader::default();
        let mut input: &[u8] =
            b"250-mx.example hi\n250-size 42\r\n250-AUTH login Plain\n250-X-Y a b\n250 \r\n";
        let reply = reader.read(&mut input).unwrap().unwrap();
        let canonical = caps(&[
            b"mx.example hi",
            b"SIZE 42",
            b"AUTH LOGIN PLAIN",
            b"X-Y a b",
            b"",
        ]);
        for c in [Capabilities::from_reply(&reply), Capabilities::from(reply)] {
            assert_eq!(c.domain(), "mx.example");
            assert_eq!(c.max_size(), Some(42));
            assert_eq!(c.auth_mechanisms().collect::<Vec<_>>(), ["LOGIN", "PLAIN"]);
            assert_eq!(c.extensions().collect::<Vec<_>>(), [("X-Y", "a b")]);
            assert_eq!(
                c.auth_mechanisms().collect::<Vec<_>>(),
                canonical.auth_mechanisms().collect::<Vec<_>>()
            );
        }
    }
}
