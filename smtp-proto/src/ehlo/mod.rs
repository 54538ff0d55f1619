//! What the server offers: the EHLO or LHLO reply, read into typed capabilities.
//!
//! RFC 5321 §4.1.1.1: the first line of a positive EHLO reply is `domain [SP greeting]`,
//! each later line is `ehlo-keyword *(SP ehlo-param)`. Keywords are case-insensitive.
//! The extensions the client acts on become flags; every other keyword is kept, with its
//! parameters, as sent. Reading never fails: a line that does not look like a keyword is
//! kept as an unknown keyword, so a quirky server costs nothing but that line.

mod kept;
mod keyword;
mod one_pass;

use kept::Kept;
use keyword::{
    typed_flag, typed_keyword, word_at, words_at, AUTH, BINARYMIME, CHUNKING, DSN, EIGHT_BIT_MIME,
    ENHANCEDSTATUSCODES, PIPELINING, REQUIRETLS, SIZE, SMTPUTF8, STARTTLS,
};

use crate::reply::{LineEnds, Reply};
use alloc::vec::Vec;

pub use one_pass::Hello;

/// At most this many distinct AUTH mechanisms are kept; further ones are ignored. Real
/// servers offer fewer than ten, and the bound keeps deduplication linear in the reply.
pub const MAX_AUTH_MECHANISMS: usize = 64;

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
    /// The domain, the lines with an unknown keyword, and the AUTH mechanisms
    /// (uppercased, each once), as UTF-8 (lossy where the reply was not).
    kept: Kept,
    /// Where each mechanism is in `kept`, in the order first seen: deduplication
    /// compares lengths first, so a reply of many names costs at most
    /// `MAX_AUTH_MECHANISMS` short steps per name (a reply without AUTH allocates
    /// nothing here).
    mechanisms: Vec<(u32, u32)>,
}

/// Splits a line's text at its first SP: (`keyword`, `params`).
fn split_keyword(text: &[u8]) -> (&[u8], &[u8]) {
    // Keywords are short: a word-at-a-time search beats a vectorised one to the SP.
    match crate::line::find2(text, b' ', b' ') {
        Some(sp) => (
            text.get(..sp).unwrap_or(&[]),
            text.get(sp + 1..).unwrap_or(&[]),
        ),
        None => (text, &[]),
    }
}

/// Where the text of the line from `line` to the LF at `lf` starts and ends: it follows
/// `NNN-` or `NNN ` (a line of `NNN` alone has none) and stops before CRLF or LF.
#[inline(always)]
fn line_text(wire: &[u8], line: usize, lf: usize) -> (usize, usize) {
    let end = lf - usize::from(lf > 0 && wire.get(lf - 1) == Some(&b'\r'));
    ((line + 4).min(end), end)
}

impl Capabilities {
    /// Reads the lines of an EHLO or LHLO reply (RFC 5321 §4.1.1.1, RFC 2033 §4.1).
    ///
    /// Only call it with a positive reply; the code is not checked. Both `AUTH mechs` and
    /// the legacy `AUTH=mechs` form are read, and their mechanisms merged. When SIZE
    /// appears more than once, the last one counts. Empty lines are skipped.
    pub fn from_reply(reply: &Reply) -> Capabilities {
        let (wire, ends, ascii) = reply.wire();
        // Text is kept as it is when the reply is UTF-8, the usual case; lossy decoding
        // of each piece kept otherwise reads as decoding the whole reply would, since
        // pieces are split at ASCII octets.
        let utf8 = ascii || core::str::from_utf8(wire).is_ok();
        let mut caps = Capabilities::default();
        caps.read_lines(wire, ends, utf8);
        caps
    }

    /// One pass over the lines: the domain from the first, then flags, parameters and
    /// unknown keywords from the others.
    ///
    /// `wire` is a reply as [`Reply`] keeps it: lines of `NNN-`, `NNN ` or `NNN`, then
    /// text without CR, then LF or CRLF. Where the reader recorded the line ends, no
    /// octet of a line is searched.
    fn read_lines(&mut self, wire: &[u8], ends: LineEnds, utf8: bool) {
        let mut line = 0;
        let mut lines = ends.recorded().iter().map(|&lf| usize::from(lf));
        let mut next_lf = |line: usize| {
            // Lines past the record are searched for.
            lines.next().or_else(|| {
                let rest = wire.get(line..)?;
                crate::line::find2(rest, b'\n', b'\n').map(|lf| line + lf)
            })
        };
        let Some(lf) = next_lf(line) else {
            return;
        };
        let (text, end) = line_text(wire, line, lf);
        self.read_domain(wire.get(text..end).unwrap_or(&[]), utf8);
        line = lf + 1;
        while let Some(lf) = next_lf(line) {
            let (text, end) = line_text(wire, line, lf);
            if text < end {
                let line = wire.get(text..end).unwrap_or(&[]);
                self.flags |= self.read_keyword(line, words_at(wire, text), utf8);
            }
            line = lf + 1;
        }
    }

    /// Keeps `text`, decoded unless it is known to be UTF-8.
    #[inline(always)]
    fn keep(&mut self, text: &[u8], end: u8, utf8: bool) {
        if utf8 {
            self.kept.push(text, end);
        } else {
            self.kept.push(&kept::decoded(text, false), end);
        }
    }

    /// Keeps the domain from the first line's `text`.
    #[inline]
    pub(super) fn read_domain(&mut self, text: &[u8], utf8: bool) {
        self.keep(split_keyword(text).0, kept::LINE, utf8);
    }

    /// Reads a line's text (line end excluded): `keyword *(SP param)`; `words` are
    /// [`words_at`] the text's start in the reply, line end included. Returns the
    /// typed keyword's flag; SIZE and AUTH parameters, and unknown keywords, are kept.
    #[inline(always)]
    pub(super) fn read_keyword(&mut self, line: &[u8], words: [u64; 2], utf8: bool) -> u16 {
        match typed_keyword(words, line) {
            Some((flag, len)) => {
                if flag & (AUTH | SIZE) != 0 {
                    self.read_params(flag, line.get(len + 1..).unwrap_or(&[]), utf8);
                }
                flag
            }
            // Legacy form sent by old Outlook-compatible servers: `AUTH=LOGIN PLAIN`.
            // No typed keyword holds `=`, so only unknown ones need this test.
            None if is_legacy_auth_word(words[0]) => {
                let (keyword, params) = split_keyword(line);
                self.add_mechanisms(keyword.get(5..).unwrap_or(&[]), utf8);
                self.add_mechanisms(params, utf8);
                AUTH
            }
            // A line no keyword can be read from (empty, or one SP) is skipped.
            None if line.is_empty() || line == b" " => 0,
            None => {
                self.keep(line, kept::LINE, utf8);
                0
            }
        }
    }

    /// The parameters of a SIZE or AUTH line.
    #[inline(never)]
    fn read_params(&mut self, flag: u16, params: &[u8], utf8: bool) {
        if flag == AUTH {
            self.add_mechanisms(params, utf8);
        } else {
            self.max_size = parse_size(params);
        }
    }

    /// Keeps each mechanism of `list` not seen before, uppercased (RFC 4954 §3: names
    /// are uppercase; servers sometimes send them in lowercase, and the list shows them
    /// one way).
    fn add_mechanisms(&mut self, list: &[u8], utf8: bool) {
        for mech in list.split(|b| b.is_ascii_whitespace()) {
            // Compared as kept: two invalid names that decode alike are one.
            let mech = kept::decoded(mech, utf8);
            if mech.is_empty() || self.has_mechanism(&mech) {
                continue;
            }
            if self.mechanisms.len() >= MAX_AUTH_MECHANISMS {
                return;
            }
            let start = self.kept.as_bytes().len();
            self.kept.push(&mech, kept::MECHANISM);
            self.kept.uppercase_last(mech.len());
            // Offsets past 4 GiB cannot occur: a reply is bounded by its reader's limits.
            if let (Ok(s), Ok(e)) = (u32::try_from(start), u32::try_from(start + mech.len())) {
                self.mechanisms.push((s, e));
            }
        }
    }

    fn has_mechanism(&self, name: &[u8]) -> bool {
        let kept = self.kept.as_bytes();
        self.mechanisms.iter().any(|&(start, end)| {
            (end - start) as usize == name.len()
                && kept
                    .get(start as usize..end as usize)
                    .is_some_and(|m| m.eq_ignore_ascii_case(name))
        })
    }

    /// The server's domain (or address literal) from the first line, lossy UTF-8.
    pub fn domain(&self) -> &str {
        self.kept.entries().next().map_or("", |(domain, _)| domain)
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
        let kept = self.kept.as_bytes();
        self.mechanisms.iter().map(move |&(start, end)| {
            let name = kept.get(start as usize..end as usize).unwrap_or(&[]);
            // Kept text is UTF-8, split at ASCII octets.
            core::str::from_utf8(name).unwrap_or("")
        })
    }

    /// Whether `mechanism` was advertised, compared case-insensitively.
    pub fn supports_auth(&self, mechanism: &str) -> bool {
        self.has_mechanism(mechanism.as_bytes())
    }

    /// Every keyword without a typed accessor, as sent, with its parameters (everything
    /// after the first space, possibly empty), in reply order.
    pub fn extensions(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.kept
            .entries()
            .filter(|&(_, end)| end == kept::LINE)
            .skip(1)
            .map(|(line, _)| line.split_once(' ').unwrap_or((line, "")))
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

/// `AUTH=mechanism`, the legacy form of the AUTH keyword, read from the first word of
/// a line's text (see [`words_at`]).
fn is_legacy_auth_word(w: u64) -> bool {
    const AUTH_EQ: (u64, u64, u64) = keyword::pattern(b"AUTH=", 0);
    w & AUTH_EQ.2 | AUTH_EQ.1 == AUTH_EQ.0
}

/// What the client does with the reply to its EHLO when it has one (it usually reads
/// the reply straight into capabilities: [`ReplyReader::read_ehlo`]).
///
/// [`ReplyReader::read_ehlo`]: crate::reply::ReplyReader::read_ehlo
impl From<Reply> for Capabilities {
    fn from(reply: Reply) -> Capabilities {
        Capabilities::from_reply(&reply)
    }
}

/// RFC 1870 §4: `size-param = [1*DIGIT]`; 0 means no fixed maximum. Digits only, so
/// `+5` or `-1` are refused; more than twenty digits, or a number past `u64::MAX`, are
/// refused rather than saturated. The digits end at SP or at the end of `params`.
///
/// Eight digits at a time: the run of digits in a word is found and converted with a
/// few multiplications, since this runs for the SIZE line of every EHLO reply.
fn parse_size(params: &[u8]) -> Option<u64> {
    let mut n: u64 = 0;
    let mut count = 0;
    let mut rest = params;
    loop {
        let w = word_at(rest);
        let digits = (crate::line::non_digits(w).trailing_zeros() / 8) as usize;
        if digits > 0 {
            const POWERS: [u64; 9] = [
                1,
                10,
                100,
                1_000,
                10_000,
                100_000,
                1_000_000,
                10_000_000,
                100_000_000,
            ];
            n = n
                .checked_mul(*POWERS.get(digits)?)?
                .checked_add(eight_digits(w << (64 - 8 * digits as u32)))?;
            count += digits;
        }
        match rest.get(digits) {
            // Eight digits and more to come, or a non-digit that is not SP.
            Some(&b) if digits == 8 && b.is_ascii_digit() => {}
            Some(&b) if b != b' ' => return None,
            _ => break,
        }
        rest = rest.get(8..).unwrap_or(&[]);
    }
    if count == 0 || count > 20 {
        return None;
    }
    Some(n).filter(|&n| n > 0)
}

/// The number written by the eight ASCII digits of `w`, the first in its lowest octet
/// (zero octets count as leading zeros): pairs, then quads, then the whole.
fn eight_digits(w: u64) -> u64 {
    let w = (w & 0x0f0f_0f0f_0f0f_0f0f).wrapping_mul(10 << 8 | 1) >> 8;
    let w = (w & 0x00ff_00ff_00ff_00ff).wrapping_mul(100 << 16 | 1) >> 16;
    (w & 0x0000_ffff_0000_ffff).wrapping_mul(10_000 << 32 | 1) >> 32
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

    /// The digit-at-a-time reading [`parse_size`] replaced, as the reference.
    fn parse_size_reference(params: &[u8]) -> Option<u64> {
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

    proptest::proptest! {
        #[test]
        fn size_reads_like_the_reference(
            params in "[0-9]{0,22}( [ -~]{0,5})?|[0-9/:a+ -]{0,24}|1844674407370955161[0-9]{1,3}|0{0,22}[1-9]",
        ) {
            proptest::prop_assert_eq!(parse_size(params.as_bytes()), parse_size_reference(params.as_bytes()));
        }
    }

    /// Kept inline, the text stays small enough to move cheaply (`kept::INLINE`).
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
