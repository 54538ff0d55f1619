//! What the server offers: the EHLO or LHLO reply, read into typed capabilities.
//!
//! RFC 5321 §4.1.1.1: the first line of a positive EHLO reply is `domain [SP greeting]`,
//! each later line is `ehlo-keyword *(SP ehlo-param)`. Keywords are case-insensitive.
//! The extensions the client acts on become flags; every other keyword is kept, with its
//! parameters, as sent. Reading never fails: a line that does not look like a keyword is
//! kept as an unknown keyword, so a quirky server costs nothing but that line.

use crate::reply::{line_ranges, LineEnds, Reply};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

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

/// Up to eight octets of a keyword as a little-endian `u64`, and the bits that fold the
/// case of its letters: `(word | fold) == value` is an exact case-insensitive comparison,
/// since a letter's two cases differ in bit 5 alone and other octets are compared as is.
const fn pattern(name: &[u8]) -> (u64, u64) {
    let (mut value, mut fold) = (0u64, 0u64);
    let mut i = 0;
    while i < name.len() && i < 8 {
        let b = name[i];
        let case = if b.is_ascii_alphabetic() { 0x20 } else { 0 };
        fold |= (case as u64) << (8 * i);
        value |= ((b | case) as u64) << (8 * i);
        i += 1;
    }
    (value, fold)
}

/// Keywords of eight octets or fewer, and the two parts of the ten-octet ones.
const P_DSN: (u64, u64) = pattern(b"DSN");
const P_SIZE: (u64, u64) = pattern(b"SIZE");
const P_AUTH: (u64, u64) = pattern(b"AUTH");
const P_8BITMIME: (u64, u64) = pattern(b"8BITMIME");
const P_CHUNKING: (u64, u64) = pattern(b"CHUNKING");
const P_STARTTLS: (u64, u64) = pattern(b"STARTTLS");
const P_SMTPUTF8: (u64, u64) = pattern(b"SMTPUTF8");
const P_PIPELINI: (u64, u64) = pattern(b"PIPELINI");
const P_NG: (u64, u64) = pattern(b"NG");
const P_BINARYMI: (u64, u64) = pattern(b"BINARYMI");
const P_ME: (u64, u64) = pattern(b"ME");
const P_REQUIRET: (u64, u64) = pattern(b"REQUIRET");
const P_LS: (u64, u64) = pattern(b"LS");

fn is(word: u64, (value, fold): (u64, u64)) -> bool {
    word | fold == value
}

/// The typed keyword that starts a line's `text`, with its length: the keyword must be
/// followed by SP, the end of the text, or the CR of a CRLF left on the text.
///
/// Reads the first eight octets as one word and dispatches on the first letter, so the
/// line is neither searched nor copied: this runs for every line of every EHLO reply.
#[inline(always)]
fn typed_at(text: &[u8]) -> Option<(u16, usize)> {
    typed_at_word(text, word_at(text))
}

/// The first eight octets of `bytes` as a little-endian word, zeros past its end.
#[inline(always)]
fn word_at(bytes: &[u8]) -> u64 {
    match bytes.first_chunk::<8>() {
        Some(head) => u64::from_le_bytes(*head),
        None => {
            let mut head = [0u8; 8];
            for (h, b) in head.iter_mut().zip(bytes) {
                *h = *b;
            }
            u64::from_le_bytes(head)
        }
    }
}

/// [`typed_at`] with `w`, a word whose octets start `text` (those past its end can be
/// anything: they are masked off or never compared).
#[inline(always)]
fn typed_at_word(text: &[u8], w: u64) -> Option<(u16, usize)> {
    // The keyword ends at SP, at the end of the text, or at the CR of its line end.
    let ends = |n: usize| text.len() == n || matches!(text.get(n), Some(b' ' | b'\r'));
    // The first `n` (< 8) octets, compared when the keyword ends there.
    let short = |n: usize, p: (u64, u64)| ends(n) && is(w & ((1u64 << (8 * n)) - 1), p);
    let long = |p: (u64, u64)| ends(8) && is(w, p);
    let ten = |p: (u64, u64), tail: (u64, u64)| {
        let t = match text.get(8..10) {
            Some(&[a, b]) => u64::from(u16::from_le_bytes([a, b])),
            _ => return false,
        };
        ends(10) && is(w, p) && is(t, tail)
    };
    let flag = match w as u8 | 0x20 {
        b'd' if short(3, P_DSN) => (DSN, 3),               // RFC 3461
        b's' if short(4, P_SIZE) => (SIZE, 4),             // RFC 1870
        b's' if long(P_STARTTLS) => (STARTTLS, 8),         // RFC 3207
        b's' if long(P_SMTPUTF8) => (SMTPUTF8, 8),         // RFC 6531
        b'a' if short(4, P_AUTH) => (AUTH, 4),             // RFC 4954
        b'8' if long(P_8BITMIME) => (EIGHT_BIT_MIME, 8),   // RFC 6152
        b'c' if long(P_CHUNKING) => (CHUNKING, 8),         // RFC 3030
        b'p' if ten(P_PIPELINI, P_NG) => (PIPELINING, 10), // RFC 2920
        b'b' if ten(P_BINARYMI, P_ME) => (BINARYMIME, 10), // RFC 3030
        b'r' if ten(P_REQUIRET, P_LS) => (REQUIRETLS, 10), // RFC 8689
        b'e' if ends(19) && eq_upper(text.get(..19).unwrap_or(&[]), b"ENHANCEDSTATUSCODES") => {
            (ENHANCEDSTATUSCODES, 19) // RFC 2034
        }
        _ => return None,
    };
    Some(flag)
}

/// The flag of a keyword (no SP in it) with a typed accessor, ignoring case.
fn typed_flag(keyword: &[u8]) -> Option<u16> {
    typed_at(keyword)
        .filter(|&(_, len)| len == keyword.len())
        .map(|(flag, _)| flag)
}

/// `bytes` equals the uppercase ASCII `upper`, ignoring ASCII case. Servers send
/// keywords in uppercase, so an exact comparison (a `memcmp`) settles nearly every call.
fn eq_upper(bytes: &[u8], upper: &[u8]) -> bool {
    bytes == upper || bytes.eq_ignore_ascii_case(upper)
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
    /// The reply's lines in wire form (see [`Reply`]), always valid UTF-8: taken over
    /// from the reply without a copy when it is (lossy otherwise), with the AUTH
    /// mechanisms uppercased in place. The domain and the unknown keywords are read from
    /// it when asked for, so reading a reply allocates nothing more for them. Bytes
    /// rather than `str`, so that an ASCII reply (the reader's finding) needs no
    /// second check: [`Capabilities::text`] turns ranges of it into `&str`.
    wire: Box<[u8]>,
    /// The distinct AUTH mechanisms: ranges of `wire`, in the order first seen.
    mechanisms: Vec<(u32, u32)>,
}

/// Splits a line's text at its first SP: (`keyword`, `params`).
fn split_keyword(text: &str) -> (&str, &str) {
    text.split_once(' ').unwrap_or((text, ""))
}

impl Capabilities {
    /// Reads the lines of an EHLO or LHLO reply (RFC 5321 §4.1.1.1, RFC 2033 §4.1),
    /// copying it; [`Capabilities::from`] a `Reply` takes the reply over instead.
    ///
    /// Only call it with a positive reply; the code is not checked. Both `AUTH mechs` and
    /// the legacy `AUTH=mechs` form are read, and their mechanisms merged. When SIZE
    /// appears more than once, the last one counts. Empty lines are skipped.
    pub fn from_reply(reply: &Reply) -> Capabilities {
        let (wire, ends, ascii) = reply.wire();
        Self::from_wire(wire.into(), ends, ascii)
    }

    fn from_wire(wire: Box<[u8]>, ends: LineEnds, ascii: bool) -> Capabilities {
        // Valid UTF-8, the usual case, keeps the buffer; lossy replacement changes no
        // SP, LF or other ASCII octet, so the line structure stays the same, but the
        // offsets move.
        let (wire, ends) = if ascii || core::str::from_utf8(&wire).is_ok() {
            (wire, ends)
        } else {
            let lossy = String::from_utf8_lossy(&wire).into_owned();
            (lossy.into_bytes().into_boxed_slice(), LineEnds::default())
        };
        let mut caps = Capabilities {
            wire,
            ..Capabilities::default()
        };
        caps.read_lines(ends);
        caps
    }

    /// One pass over the lines after the first, setting flags and noting mechanisms.
    ///
    /// `wire` is a reply as [`Reply`] keeps it: lines of `NNN-`, `NNN ` or `NNN`, then
    /// text without CR, then LF or CRLF. Where the reader recorded the line ends, no
    /// octet of a line is searched.
    fn read_lines(&mut self, ends: LineEnds) {
        let wire = core::mem::take(&mut self.wire);
        let bytes = &wire[..];
        // Text follows `NNN-` or `NNN `; a line of `NNN` alone has none. The CR of a
        // CRLF stays on the text, as a terminator (a CR comes nowhere else).
        let recorded = ends.recorded();
        let mut line = recorded.first().map_or(0, |&lf| usize::from(lf) + 1);
        for &lf in recorded.get(1..).unwrap_or(&[]) {
            let lf = usize::from(lf);
            if line + 4 < lf {
                self.read_line(bytes, line + 4..lf);
            }
            line = lf + 1;
        }
        // Lines past the record are searched for.
        let mut first = recorded.is_empty();
        while let Some(lf) = bytes
            .get(line..)
            .and_then(|l| crate::line::find2(l, b'\n', b'\n'))
            .map(|lf| line + lf)
        {
            if !first && line + 4 < lf {
                self.read_line(bytes, line + 4..lf);
            }
            first = false;
            line = lf + 1;
        }
        self.wire = wire;
        // RFC 4954 §3: mechanism names are uppercase; servers sometimes send them in
        // lowercase, and the list shows them one way.
        for &(start, end) in &self.mechanisms {
            let (start, end) = (start as usize, end as usize);
            if let Some(name) = self.wire.get_mut(start..end) {
                name.make_ascii_uppercase();
            }
        }
    }

    /// Reads the line whose text is at `text` of `wire`: `keyword *(SP param)`.
    #[inline(always)]
    fn read_line(&mut self, wire: &[u8], text: Range<usize>) {
        let line = wire.get(text.clone()).unwrap_or(&[]);
        // Short keywords are read in one load from the wire, whose line end follows.
        let word = word_at(wire.get(text.start..).unwrap_or(&[]));
        let Some((flag, len)) = typed_at_word(line, word) else {
            // Legacy form sent by old Outlook-compatible servers: `AUTH=LOGIN PLAIN`.
            // No typed keyword holds `=`, so only unknown ones need this test.
            if is_legacy_auth(line) {
                let text = text.start..text.end - usize::from(line.ends_with(b"\r"));
                let line = wire.get(text.clone()).unwrap_or(&[]);
                let len = crate::line::find2(line, b' ', b' ').unwrap_or(line.len());
                self.flags |= AUTH;
                self.add_mechanisms(wire, text.start + 5..text.start + len);
                self.add_mechanisms(wire, (text.start + len + 1).min(text.end)..text.end);
            }
            return;
        };
        self.flags |= flag;
        if flag & (AUTH | SIZE) != 0 {
            let end = text.end - usize::from(line.ends_with(b"\r"));
            let params = (text.start + len + 1).min(end)..end;
            if flag == AUTH {
                self.add_mechanisms(wire, params);
            } else {
                self.max_size = parse_size(wire.get(params).unwrap_or(&[]));
            }
        }
    }

    /// Notes each mechanism of the list at `range` of `wire` not seen before.
    fn add_mechanisms(&mut self, wire: &[u8], range: Range<usize>) {
        let base = range.start;
        let list = wire.get(range).unwrap_or(&[]);
        let mut offset = 0;
        for mech in list.split(|b| b.is_ascii_whitespace()) {
            let start = base + offset;
            offset += mech.len() + 1;
            if mech.is_empty() || self.has_mechanism(wire, mech) {
                continue;
            }
            if self.mechanisms.len() >= MAX_AUTH_MECHANISMS {
                return;
            }
            // Offsets past 4 GiB cannot occur: a reply is bounded by its reader's limits.
            if let (Ok(s), Ok(e)) = (u32::try_from(start), u32::try_from(start + mech.len())) {
                self.mechanisms.push((s, e));
            }
        }
    }

    fn has_mechanism(&self, wire: &[u8], name: &[u8]) -> bool {
        self.mechanisms.iter().any(|&(start, end)| {
            wire.get(start as usize..end as usize)
                .is_some_and(|m| m.eq_ignore_ascii_case(name))
        })
    }

    /// A range of `wire` as text. Ranges split it at ASCII octets, so they are UTF-8
    /// whenever `wire` is, which it always is.
    fn text(&self, range: Range<usize>) -> &str {
        self.wire
            .get(range)
            .and_then(|t| core::str::from_utf8(t).ok())
            .unwrap_or("")
    }

    /// The text of each line, as `&str`.
    fn lines(&self) -> impl Iterator<Item = &str> + '_ {
        line_ranges(&self.wire).map(|range| self.text(range))
    }

    /// The server's domain (or address literal) from the first line, lossy UTF-8.
    pub fn domain(&self) -> &str {
        self.lines()
            .next()
            .map_or("", |first| split_keyword(first).0)
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
        self.mechanisms
            .iter()
            .map(|&(start, end)| self.text(start as usize..end as usize))
    }

    /// Whether `mechanism` was advertised, compared case-insensitively.
    pub fn supports_auth(&self, mechanism: &str) -> bool {
        self.has_mechanism(&self.wire, mechanism.as_bytes())
    }

    /// Every keyword without a typed accessor, as sent, with its parameters (everything
    /// after the first space, possibly empty), in reply order.
    pub fn extensions(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.lines()
            .skip(1)
            .map(split_keyword)
            .filter(|&(keyword, params)| {
                let keyword = keyword.as_bytes();
                !is_blank(keyword, params)
                    && typed_flag(keyword).is_none()
                    && !is_legacy_auth(keyword)
            })
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

/// `AUTH=mechanism`, the legacy form of the AUTH keyword.
fn is_legacy_auth(keyword: &[u8]) -> bool {
    strip_prefix_ignore_case(keyword, b"AUTH=").is_some()
}

/// A line no keyword can be read from (empty, or one SP): skipped.
fn is_blank(keyword: &[u8], params: &str) -> bool {
    keyword.is_empty() && params.is_empty()
}

/// Takes the reply over: no copy when its text is valid UTF-8. What the client does
/// with the reply to its EHLO.
impl From<Reply> for Capabilities {
    fn from(reply: Reply) -> Capabilities {
        let (wire, ends, ascii) = reply.into_wire();
        Capabilities::from_wire(wire, ends, ascii)
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let head = s.get(..prefix.len())?;
    if eq_upper(head, prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

/// RFC 1870 §4: `size-param = [1*DIGIT]`; 0 means no fixed maximum. Digits only, so
/// `+5` or `-1` are refused; an overflowing number is refused rather than saturated.
fn parse_size(params: &[u8]) -> Option<u64> {
    let digits = params.split(|&b| b == b' ').next().unwrap_or(&[]);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::ReplyCode;
    use alloc::vec;

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
