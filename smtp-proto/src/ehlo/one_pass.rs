//! The reply to EHLO or LHLO read straight into [`Capabilities`], in one pass.
//!
//! The client knows when the next reply is the one to its EHLO; for that reply it asks
//! the reader for capabilities rather than a [`Reply`](crate::reply::Reply), and each
//! line is classified while the reader is at it, instead of being found a second time.
//! Like the reader's own fast path, this one only says yes to a whole, well-formed `250`
//! reply within the limits; anything else goes to the general path (framer, grammar,
//! then [`Capabilities::from`]), which judges it. `tests/ehlo_one_pass.rs` (proptest)
//! and the `capabilities` fuzz target check that both give the same result and leave
//! the same bytes unread.

use super::keyword::{word_at, words_at};
use super::Capabilities;
use crate::line::octets_below;
use crate::reply::{Reply, ReplyError, ReplyLimits, ReplyReader};

/// Every line of a positive EHLO reply but the last starts with this.
const MORE: u32 = u32::from_le_bytes(*b"250-");
/// The last line starts with this.
const LAST: u32 = u32::from_le_bytes(*b"250 ");

/// A whole `250` reply at the start of `input`, read into capabilities, and the octets
/// it took; `None` for anything the general path must judge.
///
/// The rules are the reader's (RFC 5321 §4.2 and the limits): each line ends at LF with
/// an optional CR before it and holds no other CR, is at most `max_line` octets long,
/// and carries the same code; the reply has at most `max_lines` lines and `max_bytes`
/// octets. Lines of `250` alone, without SP or `-`, are left to the general path.
pub(crate) fn whole_ehlo(
    input: &[u8],
    limits: &ReplyLimits,
    caps: &mut Capabilities,
) -> Option<usize> {
    // Nothing past the reply limit is looked at: a reply reaching past it is an error.
    let input = input.get(..limits.max_bytes).unwrap_or(input);
    // A line takes five octets at least (`250-` and LF), so this many cannot hold more
    // lines than allowed and the loop need not count them. Longer input (a reply of
    // more lines, or one followed by much else) is left to the general path.
    if input.len() / 5 >= limits.max_lines {
        return None;
    }
    let max_line = limits.max_line;
    // Every word read, ORed: no high bit means the reply is ASCII.
    let mut high = 0u64;
    let first = line_at(input, 0, max_line, &mut high)?;
    // Text is kept as it comes: a reply that turns out not to be ASCII is left to the
    // general path, which decodes it.
    caps.read_domain(first.text, true);
    let (mut more, mut pos) = (first.more, first.next);
    while more {
        let line = match short_line(input, pos, max_line, &mut high) {
            Some(line) => line,
            None => line_at(input, pos, max_line, &mut high)?,
        };
        caps.flags |= caps.read_keyword(line.text, line.words, true);
        (more, pos) = (line.more, line.next);
    }
    if high & 0x8080_8080_8080_8080 != 0 {
        return None;
    }
    Some(pos)
}

/// [`line_at`] for the common line that lies, line end included, in the 24 octets from
/// `pos`: read from them alone, without a bounds check per octet. `None` means "ask
/// [`line_at`]", not "malformed".
#[inline(always)]
fn short_line<'a>(
    input: &'a [u8],
    pos: usize,
    max_line: usize,
    high: &mut u64,
) -> Option<Line<'a>> {
    // The longest such line is 4 + 16 + 1 octets; shorter limits are checked by
    // `line_at`.
    if max_line < 21 {
        return None;
    }
    let window = input.get(pos..)?.first_chunk::<24>()?;
    let [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t, ..] = *window;
    let head = u32::from_le_bytes([a, b, c, d]);
    let words = [
        u64::from_le_bytes([e, f, g, h, i, j, k, l]),
        u64::from_le_bytes([m, n, o, p, q, r, s, t]),
    ];
    let more = more_follow(head)?;
    let below = control_octets(words);
    if below == 0 {
        return None;
    }
    *high |= words[0] | words[1];
    // The first octet below 0x0E and the one after it: CR LF or LF ends the line.
    let at = (below.trailing_zeros() / 8) as usize;
    let pair = [window[4 + (at & 15)], window[5 + (at & 15)]];
    let lf = match pair {
        [b'\n', _] => at,
        [b'\r', b'\n'] => at + 1,
        _ => return None,
    };
    Some(Line {
        more,
        text: window.get(4..4 + (at & 15)).unwrap_or(&[]),
        next: pos + 5 + lf,
        words,
    })
}

/// Whether a line starting with `head` (code and separator) has more lines after it:
/// `250-` yes, `250 ` no, anything else is left to the general path.
#[inline(always)]
fn more_follow(head: u32) -> Option<bool> {
    let more = head == MORE;
    (more || head == LAST).then_some(more)
}

/// The octets below 0x0E in the sixteen of `words`, marked as by [`octets_below`]: the
/// lowest mark is the first CR, LF or other control octet.
#[inline(always)]
fn control_octets(words: [u64; 2]) -> u128 {
    u128::from(octets_below(words[0], 0x0e)) | u128::from(octets_below(words[1], 0x0e)) << 64
}

/// A line of a positive EHLO reply, as [`line_at`] found it.
struct Line<'a> {
    /// It starts `250-`: more lines follow.
    more: bool,
    /// Its text, line end excluded.
    text: &'a [u8],
    /// Where the next line starts.
    next: usize,
    /// [`words_at`] the start of its text.
    words: [u64; 2],
}

/// The line at `pos`, if it is `250-` or `250 `, then text without CR or other octets
/// below 0x0E, then LF or CRLF, in at most `max_line` octets; every word read is ORed
/// into `high`.
#[inline(always)]
fn line_at<'a>(input: &'a [u8], pos: usize, max_line: usize, high: &mut u64) -> Option<Line<'a>> {
    let (head, words) = line_start(input, pos)?;
    let more = more_follow(head)?;
    let text = pos + 4;
    // Most lines' text and line end fit in the first sixteen octets, which are also all
    // the keyword reading needs: one load, no branch per word.
    *high |= words[0] | words[1];
    let end = match control_octets(words) {
        0 => line_end(input, text + 16, pos + max_line, high)?,
        below => text + (below.trailing_zeros() / 8) as usize,
    };
    // `end` is the first octet below 0x0E: a CR then LF, or an LF, ends the line.
    // Anything else (another control octet, which reply text may hold, or a CR alone)
    // is left to the general path.
    let lf = end + usize::from(*input.get(end)? == b'\r');
    if input.get(lf) != Some(&b'\n') || lf - pos >= max_line {
        return None;
    }
    Some(Line {
        more,
        text: input.get(text..end)?,
        next: lf + 1,
        words,
    })
}

/// The code and separator of the line at `pos`, and the sixteen octets after them
/// ([`words_at`]). One bounds check for all three where twenty octets remain.
#[inline(always)]
fn line_start(input: &[u8], pos: usize) -> Option<(u32, [u64; 2])> {
    let rest = input.get(pos..)?;
    if let Some(line) = rest.first_chunk::<20>() {
        let [a, b, c, d, w0 @ .., _, _, _, _, _, _, _, _] = *line;
        let [_, _, _, _, _, _, _, _, _, _, _, _, w1 @ ..] = *line;
        return Some((
            u32::from_le_bytes([a, b, c, d]),
            [u64::from_le_bytes(w0), u64::from_le_bytes(w1)],
        ));
    }
    let head = rest.first_chunk::<4>()?;
    Some((u32::from_le_bytes(*head), words_at(rest, 4)))
}

/// The offset of the first octet below 0x0E from `at` on, if there is one before
/// `limit` and in `input`; every word read is ORed into `high`. For the rare line
/// longer than sixteen octets.
fn line_end(input: &[u8], mut at: usize, limit: usize, high: &mut u64) -> Option<usize> {
    while at < limit {
        let w = word_at(input.get(at..)?);
        *high |= w;
        let below = octets_below(w, 0x0e);
        if below != 0 {
            return Some(at + (below.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    None
}

/// What [`ReplyReader::read_ehlo`] read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hello {
    /// A positive reply (2yz), read into capabilities.
    Capabilities(Capabilities),
    /// Any other reply, as it came: a refusal, or something the client did not expect.
    Other(Reply),
}

impl ReplyReader {
    /// [`read`](Self::read) for the reply to EHLO or LHLO: a positive reply comes back
    /// as [`Capabilities`] (the same as [`Capabilities::from`] the reply), any other as
    /// the [`Reply`]. A whole reply is read in one pass, classifying each line as it is
    /// found, which is what the client does with its EHLO's reply.
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
        // Read in place: the capabilities are moved once, into the result.
        let mut caps = Capabilities::default();
        let whole =
            |input: &[u8], limits: &ReplyLimits| Some(((), whole_ehlo(input, limits, &mut caps)?));
        if self.read_whole(input, whole).is_some() {
            return Ok(Some(Hello::Capabilities(caps)));
        }
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

    fn one_pass(input: &[u8], limits: &ReplyLimits) -> Option<(Capabilities, usize)> {
        let mut caps = Capabilities::default();
        whole_ehlo(input, limits, &mut caps).map(|used| (caps, used))
    }

    /// The recorded replies the benchmark and the client rely on take the one-pass path
    /// (the general path would give the same capabilities, only slower: the proptest
    /// `ehlo_one_pass` checks that they agree).
    #[test]
    fn recorded_replies_take_the_one_pass_path() {
        for recorded in [
            &include_bytes!("../../tests/data/ehlo/postfix-plain.txt")[..],
            include_bytes!("../../tests/data/ehlo/exim-tls.txt"),
            include_bytes!("../../tests/data/ehlo/opensmtpd-tls.txt"),
            include_bytes!("../../tests/data/ehlo/aiosmtpd-tls.txt"),
            include_bytes!("../../tests/data/ehlo/nodemailer-tls.txt"),
        ] {
            let mut crlf = alloc::vec::Vec::new();
            for line in recorded.split_inclusive(|&b| b == b'\n') {
                crlf.extend_from_slice(line.strip_suffix(b"\n").unwrap_or(line));
                crlf.extend_from_slice(b"\r\n");
            }
            for wire in [&crlf[..], recorded] {
                let (caps, used) = one_pass(wire, &ReplyLimits::default()).expect("one pass");
                assert_eq!(used, wire.len());
                assert!(caps.max_size().is_some());
            }
        }
    }

    /// What the one-pass path leaves to the general one.
    #[test]
    fn declines_what_the_general_path_must_judge() {
        let limits = ReplyLimits::default();
        for wire in [
            &b"250-a\r\n250"[..],         // incomplete
            b"250-a\r\n250 b\r",          // a CR that may be half a CRLF
            b"250-a\rb\r\n250 c\r\n",     // a bare CR
            b"250-a\tb\r\n250 c\r\n",     // a control octet in the text
            b"250-a\r\n250\r\n",          // a line of the code alone
            b"250-a\r\n251 b\r\n",        // codes differ
            b"550 no\r\n",                // not 250
            b"250-\xff\xfe\r\n250 b\r\n", // not UTF-8
        ] {
            assert!(
                one_pass(wire, &limits).is_none(),
                "{:?}",
                crate::reply::Escaped(wire)
            );
        }
        let tight = ReplyLimits {
            max_line: 9,
            max_lines: 5,
            max_bytes: 20,
        };
        assert!(one_pass(b"250-abc\r\n250 d\r\n", &tight).is_some());
        assert!(one_pass(b"250-abcd\r\n250 d\r\n", &tight).is_none()); // a line of 10
                                                                       // A short line over a small limit, with enough behind it for the window.
        let small = ReplyLimits {
            max_line: 12,
            ..limits
        };
        let over = b"250-ab\r\n250-abcdefgh\r\n250-x\r\n250-y\r\n250 z\r\n";
        assert!(one_pass(over, &small).is_none());
        assert!(one_pass(
            over,
            &ReplyLimits {
                max_line: 14,
                ..small
            }
        )
        .is_some());
        // Input that could hold more lines than allowed is left to the general path,
        // which counts them.
        let few = ReplyLimits {
            max_lines: 3,
            ..limits
        };
        assert!(one_pass(b"250-a\r\n250 c\r\n", &few).is_some());
        assert!(one_pass(b"250-a\r\n250-b\r\n250 c\r\n", &few).is_none());
        assert!(one_pass(
            b"250-ab\n250-ab\n250 abcde\n",
            &ReplyLimits {
                max_bytes: 20,
                ..limits
            }
        )
        .is_none());
    }
}
