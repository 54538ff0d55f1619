//! What the server offers: the EHLO or LHLO reply, read into typed capabilities.
//!
//! RFC 5321 §4.1.1.1: the first line of a positive EHLO reply is `domain [SP greeting]`,
//! each later line is `ehlo-keyword *(SP ehlo-param)`. Keywords are case-insensitive.
//! The extensions the client acts on become flags; every other keyword is kept, with its
//! parameters, as sent. Reading never fails: a line that does not look like a keyword is
//! kept as an unknown keyword, so a quirky server costs nothing but that line.

use crate::reply::Reply;
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

/// The flag of a keyword with a typed accessor, compared case-insensitively.
///
/// Dispatches on length and first letter, then compares once: this runs for every line
/// of every EHLO reply.
fn typed_flag(keyword: &[u8]) -> Option<u16> {
    let first = keyword.first()?.to_ascii_uppercase();
    let (name, flag): (&[u8], u16) = match (keyword.len(), first) {
        (3, b'D') => (b"DSN", DSN),                 // RFC 3461
        (4, b'S') => (b"SIZE", SIZE),               // RFC 1870
        (4, b'A') => (b"AUTH", AUTH),               // RFC 4954
        (8, b'8') => (b"8BITMIME", EIGHT_BIT_MIME), // RFC 6152
        (8, b'C') => (b"CHUNKING", CHUNKING),       // RFC 3030
        (8, b'S') => match keyword.get(1).map(u8::to_ascii_uppercase) {
            Some(b'T') => (b"STARTTLS", STARTTLS), // RFC 3207
            _ => (b"SMTPUTF8", SMTPUTF8),          // RFC 6531
        },
        (10, b'P') => (b"PIPELINING", PIPELINING), // RFC 2920
        (10, b'B') => (b"BINARYMIME", BINARYMIME), // RFC 3030
        (10, b'R') => (b"REQUIRETLS", REQUIRETLS), // RFC 8689
        (19, b'E') => (b"ENHANCEDSTATUSCODES", ENHANCEDSTATUSCODES), // RFC 2034
        _ => return None,
    };
    eq_upper(keyword, name).then_some(flag)
}

/// `bytes` equals the uppercase ASCII `upper`, ignoring ASCII case. Servers send
/// keywords in uppercase, so an exact comparison (a `memcmp`) settles nearly every call.
fn eq_upper(bytes: &[u8], upper: &[u8]) -> bool {
    bytes == upper || bytes.eq_ignore_ascii_case(upper)
}

/// Appends `bytes` as UTF-8, replacing invalid sequences; valid text (the usual case)
/// is copied without the lossy decoder's work.
fn push_lossy(store: &mut String, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    match core::str::from_utf8(bytes) {
        Ok(s) => store.push_str(s),
        Err(_) => store.push_str(&String::from_utf8_lossy(bytes)),
    }
}

/// Splits the first line of `text` (lines joined with LF) at its first SP:
/// (`keyword`, `params`, text after the line), or `None` once `text` is used up.
///
/// One scan finds SP or LF; only a line with parameters pays for a second scan. EHLO
/// lines are short, so the SWAR [`find2`](crate::line::find2) beats `memchr`'s setup.
fn split_line(text: &[u8]) -> (&[u8], &[u8], Option<&[u8]>) {
    let stop = crate::line::find2(text, b' ', b'\n');
    let (keyword, rest) = match stop.and_then(|i| text.split_at_checked(i)) {
        Some(parts) => parts,
        None => return (text, &[], None),
    };
    match rest.split_first() {
        Some((b' ', after_sp)) => match crate::line::find2(after_sp, b'\n', b'\n') {
            Some(lf) => {
                let (params, tail) = after_sp.split_at_checked(lf).unwrap_or((after_sp, &[]));
                (keyword, params, tail.get(1..))
            }
            None => (keyword, after_sp, None),
        },
        Some((_, after_lf)) => (keyword, &[], Some(after_lf)),
        None => (keyword, &[], None),
    }
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
/// let caps = Capabilities::from_reply(&reply);
/// assert_eq!(caps.domain(), "mx.example");
/// assert_eq!(caps.max_size(), Some(10_240_000));
/// assert!(caps.supports_auth("Plain"));
/// assert_eq!(caps.extensions().collect::<Vec<_>>(), [("X-CUSTOM", "a b")]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    flags: u16,
    max_size: Option<u64>,
    /// The domain, then the text of every entry, in one allocation.
    store: String,
    domain_end: usize,
    entries: Vec<Entry>,
}

/// A range of `store`: an AUTH mechanism (`start..end`), or an unknown keyword
/// (`start..split`) with its parameters (`split..end`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    auth: bool,
    // u32 rather than usize halves the entry, and with it the heap an idle session
    // holds; `Entry::new` refuses offsets past 4 GiB.
    start: u32,
    split: u32,
    end: u32,
}

impl Entry {
    fn new(auth: bool, start: usize, split: usize, end: usize) -> Option<Entry> {
        Some(Entry {
            auth,
            start: u32::try_from(start).ok()?,
            split: u32::try_from(split).ok()?,
            end: u32::try_from(end).ok()?,
        })
    }

    fn range(start: u32, end: u32) -> (usize, usize) {
        // u32 to usize is lossless on the 32- and 64-bit targets Rust's alloc supports.
        (start as usize, end as usize)
    }
}

impl Capabilities {
    /// Reads the lines of an EHLO or LHLO reply (RFC 5321 §4.1.1.1, RFC 2033 §4.1).
    ///
    /// Only call it with a positive reply; the code is not checked. Both `AUTH mechs` and
    /// the legacy `AUTH=mechs` form are read, and their mechanisms merged. When SIZE
    /// appears more than once, the last one counts. Empty lines are skipped.
    pub fn from_reply(reply: &Reply) -> Capabilities {
        // One allocation: what is kept is at most the reply's text.
        let text = reply.joined_text();
        let mut caps = Capabilities {
            store: String::with_capacity(text.len()),
            ..Capabilities::default()
        };
        let (domain, _greeting, mut rest) = split_line(text);
        push_lossy(&mut caps.store, domain);
        caps.domain_end = caps.store.len();
        while let Some(text) = rest {
            let (keyword, params, next) = split_line(text);
            caps.add_line(keyword, params);
            rest = next;
        }
        caps
    }

    fn add_line(&mut self, keyword: &[u8], params: &[u8]) {
        if keyword.is_empty() && params.is_empty() {
            return;
        }
        match typed_flag(keyword) {
            Some(AUTH) => {
                self.flags |= AUTH;
                self.add_mechanisms(params);
            }
            Some(SIZE) => {
                self.flags |= SIZE;
                self.max_size = parse_size(params);
            }
            Some(flag) => self.flags |= flag,
            None => {
                // Legacy form sent by old Outlook-compatible servers: `AUTH=LOGIN PLAIN`.
                // No typed keyword holds `=`, so only unknown ones need this test.
                if let Some(first_mech) = strip_prefix_ignore_case(keyword, b"AUTH=") {
                    self.flags |= AUTH;
                    self.add_mechanisms(first_mech);
                    self.add_mechanisms(params);
                    return;
                }
                let start = self.store.len();
                push_lossy(&mut self.store, keyword);
                let split = self.store.len();
                push_lossy(&mut self.store, params);
                match Entry::new(false, start, split, self.store.len()) {
                    Some(entry) => self.push_entry(entry),
                    None => self.store.truncate(start),
                }
            }
        }
    }

    fn add_mechanisms(&mut self, list: &[u8]) {
        let mut count = self.entries.iter().filter(|e| e.auth).count();
        for mech in list.split(|b| b.is_ascii_whitespace()) {
            if mech.is_empty() {
                continue;
            }
            // Compare what is stored, the lossy form: raw bytes that are not UTF-8 never
            // equal their stored replacement, and the name would be listed again.
            let mech = String::from_utf8_lossy(mech);
            if self.supports_auth_bytes(mech.as_bytes()) {
                continue;
            }
            if count >= MAX_AUTH_MECHANISMS {
                return;
            }
            count += 1;
            let start = self.store.len();
            self.store.push_str(&mech);
            if let Some(s) = self.store.get_mut(start..) {
                s.make_ascii_uppercase();
            }
            let end = self.store.len();
            match Entry::new(true, start, end, end) {
                Some(entry) => self.push_entry(entry),
                None => self.store.truncate(start),
            }
        }
    }

    fn push_entry(&mut self, entry: Entry) {
        // A direct first allocation is cheaper than `push`'s general growth path; four
        // entries is what `push` would allocate too.
        if self.entries.capacity() == 0 {
            self.entries = Vec::with_capacity(4);
        }
        self.entries.push(entry);
    }

    fn text(&self, start: usize, end: usize) -> &str {
        self.store.get(start..end).unwrap_or("")
    }

    /// The server's domain (or address literal) from the first line, lossy UTF-8.
    pub fn domain(&self) -> &str {
        self.text(0, self.domain_end)
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
        self.entries.iter().filter(|e| e.auth).map(|e| {
            let (start, end) = Entry::range(e.start, e.end);
            self.text(start, end)
        })
    }

    /// Whether `mechanism` was advertised, compared case-insensitively.
    pub fn supports_auth(&self, mechanism: &str) -> bool {
        self.supports_auth_bytes(mechanism.as_bytes())
    }

    fn supports_auth_bytes(&self, mechanism: &[u8]) -> bool {
        self.auth_mechanisms()
            .any(|m| m.as_bytes().eq_ignore_ascii_case(mechanism))
    }

    /// Every keyword without a typed accessor, as sent, with its parameters (everything
    /// after the first space, possibly empty), in reply order.
    pub fn extensions(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.entries.iter().filter(|e| !e.auth).map(|e| {
            let (start, split) = Entry::range(e.start, e.split);
            let (_, end) = Entry::range(e.split, e.end);
            (self.text(start, split), self.text(split, end))
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
}
