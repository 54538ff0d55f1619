//! The EHLO keywords the client acts on, recognised from one word of their line.
//!
//! RFC 5321 §4.1.1.1: `ehlo-line = ehlo-keyword *( SP ehlo-param )`, keywords
//! case-insensitive. This runs for every line of every EHLO reply, so a line is neither
//! searched nor copied: its first eight octets, read as one `u64`, say how long the
//! keyword can be and which typed keyword it can be.

pub(super) const PIPELINING: u16 = 1 << 0;
pub(super) const STARTTLS: u16 = 1 << 1;
pub(super) const SIZE: u16 = 1 << 2;
pub(super) const EIGHT_BIT_MIME: u16 = 1 << 3;
pub(super) const SMTPUTF8: u16 = 1 << 4;
pub(super) const CHUNKING: u16 = 1 << 5;
pub(super) const BINARYMIME: u16 = 1 << 6;
pub(super) const DSN: u16 = 1 << 7;
pub(super) const ENHANCEDSTATUSCODES: u16 = 1 << 8;
pub(super) const REQUIRETLS: u16 = 1 << 9;
pub(super) const AUTH: u16 = 1 << 10;

/// Up to eight octets of a keyword from `from` as a little-endian `u64`, the bits that
/// fold the case of its letters, and the mask of the octets it covers: `(word & keep |
/// fold) == value` is an exact case-insensitive comparison, since a letter's two cases
/// differ in bit 5 alone and other octets are compared as is.
pub(super) const fn pattern(name: &[u8], from: usize) -> (u64, u64, u64) {
    let (mut value, mut fold) = (0u64, 0u64);
    let mut i = 0;
    while from + i < name.len() && i < 8 {
        let b = name[from + i];
        let case = if b.is_ascii_alphabetic() { 0x20 } else { 0 };
        fold |= (case as u64) << (8 * i);
        value |= ((b | case) as u64) << (8 * i);
        i += 1;
    }
    (value, fold, keep(i))
}

/// A typed keyword: its flag, its length, and its octets as three [`pattern`]s of eight,
/// each with the mask of the octets it covers.
#[derive(Clone, Copy)]
struct Typed {
    flag: u16,
    len: usize,
    words: [(u64, u64, u64); 3],
}

/// Ones over the first `n` octets of a word (all of it from eight on).
const fn keep(n: usize) -> u64 {
    if n >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * n)) - 1
    }
}

impl Typed {
    const fn new(name: &[u8], flag: u16) -> Typed {
        Typed {
            flag,
            len: name.len(),
            words: [pattern(name, 0), pattern(name, 8), pattern(name, 16)],
        }
    }
}

/// The keywords with a typed accessor (RFC 2920, 3207, 1870, 6152, 6531, 3030, 3461,
/// 2034, 8689, 4954).
const TYPED: [Typed; 11] = [
    Typed::new(b"PIPELINING", PIPELINING),
    Typed::new(b"STARTTLS", STARTTLS),
    Typed::new(b"SIZE", SIZE),
    Typed::new(b"8BITMIME", EIGHT_BIT_MIME),
    Typed::new(b"SMTPUTF8", SMTPUTF8),
    Typed::new(b"CHUNKING", CHUNKING),
    Typed::new(b"BINARYMIME", BINARYMIME),
    Typed::new(b"DSN", DSN),
    Typed::new(b"ENHANCEDSTATUSCODES", ENHANCEDSTATUSCODES),
    Typed::new(b"REQUIRETLS", REQUIRETLS),
    Typed::new(b"AUTH", AUTH),
];

/// Where a keyword's first eight octets (zeros past its end) are looked up: a
/// multiplicative hash of them in lowercase, which puts no two typed keywords in the
/// same slot (checked when `TABLE` is built) and costs a multiply and a shift.
const fn slot(head: u64) -> usize {
    const MULTIPLIER: u64 = 0xf79b_17ae_efba_91fd;
    ((head | 0x2020_2020_2020_2020).wrapping_mul(MULTIPLIER) >> 60) as usize
}

/// The typed keywords by [`slot`]; an empty slot holds a pattern nothing matches (its
/// first octet would be 0x01, and a keyword ends before any octet below 0x21).
const TABLE: [Typed; 16] = {
    let none = Typed {
        flag: 0,
        len: 0,
        words: [(1, 0, 0), (0, 0, 0), (0, 0, 0)],
    };
    let mut table = [none; 16];
    let mut i = 0;
    while i < TYPED.len() {
        let at = slot(TYPED[i].words[0].0);
        assert!(table[at].flag == 0, "two typed keywords share a slot");
        table[at] = TYPED[i];
        i += 1;
    }
    table
};

/// The first eight octets of `bytes` as a little-endian word, zeros past its end.
#[inline(always)]
pub(super) fn word_at(bytes: &[u8]) -> u64 {
    match bytes.first_chunk::<8>() {
        Some(head) => u64::from_le_bytes(*head),
        None => bytes
            .iter()
            .rev()
            .fold(0, |word, &b| (word << 8) | u64::from(b)),
    }
}

/// The sixteen octets of `bytes` from `at` as two little-endian words, zeros past its
/// end.
#[inline(always)]
pub(super) fn words_at(bytes: &[u8], at: usize) -> [u64; 2] {
    let rest = bytes.get(at..).unwrap_or(&[]);
    match rest.first_chunk::<16>() {
        Some(&[a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p]) => [
            u64::from_le_bytes([a, b, c, d, e, f, g, h]),
            u64::from_le_bytes([i, j, k, l, m, n, o, p]),
        ],
        None => [word_at(rest), word_at(rest.get(8..).unwrap_or(&[]))],
    }
}

/// The typed keyword that starts a line's `text` (line end excluded), with its length:
/// the keyword must be followed by SP or the end of the text.
///
/// `words` are the sixteen octets from the start of the text as they are in the reply,
/// its line end and whatever follows included, zeros past the reply's end ([`words_at`]).
/// The keyword's first eight octets are those of the first word before its first octet
/// at or below SP (the line end at the latest), found in a few word operations; one
/// table slot says which typed keyword they can start, and at most three word
/// comparisons, no search, settle it. A keyword that matches lies within the text, since the text ends
/// at the first CR or LF and no keyword octet is one.
#[inline(always)]
pub(super) fn typed_keyword([w0, w1]: [u64; 2], text: &[u8]) -> Option<(u16, usize)> {
    let below = crate::line::octets_below(w0, 0x21);
    // Ones below the first octet at or below SP (all ones when there is none).
    let keep = ((below & below.wrapping_neg()) >> 7).wrapping_sub(1);
    let head = w0 & keep;
    let typed = TABLE.get(slot(head))?;
    let [first, second, third] = typed.words;
    let matches = (head | first.1 == first.0) & (w1 & second.2 | second.1 == second.0);
    if !matches {
        return None;
    }
    let len = typed.len;
    // ENHANCEDSTATUSCODES alone reaches past sixteen octets.
    if len > 16 && word_at(text.get(16..).unwrap_or(&[])) & third.2 | third.1 != third.0 {
        return None;
    }
    (text.get(len).copied().unwrap_or(b' ') == b' ').then_some((typed.flag, len))
}

/// The flag of a keyword (no SP in it) with a typed accessor, ignoring case.
pub(super) fn typed_flag(keyword: &[u8]) -> Option<u16> {
    typed_keyword(words_at(keyword, 0), keyword)
        .filter(|&(_, len)| len == keyword.len())
        .map(|(flag, _)| flag)
}
