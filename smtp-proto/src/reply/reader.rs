//! Reading replies from the byte stream, within limits.

use super::parse::{has_bare_cr, reply_line, whole_line, WholeLine, BARE_CR};
use super::recent::Recent;
use super::{enhanced_of, EnhancedStatus, Reply, ReplyCode, ReplyError};
use crate::line::{LineError, LineFramer, DEFAULT_MAX_LINE};
use alloc::vec::Vec;

/// Caps on what one reply may take, so that a hostile server cannot make the client
/// buffer without end (security.md, "Hostile replies").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplyLimits {
    /// Octets per line, line end included. Default 2000: RFC 5321 §4.5.3.1.5 sets 512
    /// as the minimum servers may rely on, and real servers exceed it.
    pub max_line: usize,
    /// Lines per reply. Default 200.
    pub max_lines: usize,
    /// Octets per reply, line ends included. Default 64 KiB.
    pub max_bytes: usize,
}

impl ReplyLimits {
    /// Limits of `max_line` octets per line, `max_lines` lines and `max_bytes` octets
    /// per reply. Any values are safe: a reply beyond them ends the session with a
    /// [`ReplyError`].
    pub const fn new(max_line: usize, max_lines: usize, max_bytes: usize) -> Self {
        ReplyLimits {
            max_line,
            max_lines,
            max_bytes,
        }
    }
}

impl Default for ReplyLimits {
    fn default() -> Self {
        ReplyLimits {
            max_line: DEFAULT_MAX_LINE,
            max_lines: 200,
            max_bytes: 64 * 1024,
        }
    }
}

/// Turns the server's bytes, in chunks of any size, into [`Reply`] values.
///
/// Every limit fires as soon as it is crossed: the reader never buffers more than
/// `max_line - 1` octets of a partial line, nor more than `max_bytes` octets of a
/// reply. After an error the reader is reset, but the stream is out of step with the
/// commands, so the session should end.
///
/// Public with the `unstable` feature only (no semver guarantee): the client reads
/// every reply itself.
///
/// ```
/// use smtp_proto::reply::{ReplyCode, ReplyLimits, ReplyReader};
///
/// let mut reader = ReplyReader::new(ReplyLimits::default());
/// let mut input: &[u8] = b"250-mx.example\r\n250 SIZE 1000\r\n354 next";
/// let reply = reader.read(&mut input).unwrap().unwrap();
/// assert_eq!(reply.code(), ReplyCode::OK);
/// assert_eq!(reply.line_count(), 2);
/// assert_eq!(input, b"354 next"); // never read past the reply
/// ```
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "unstable"), allow(unreachable_pub))]
pub struct ReplyReader {
    framer: LineFramer,
    limits: ReplyLimits,
    partial: Partial,
    /// One-line replies just read, shared by the next ones alike.
    recent: Recent,
}

/// The lines read so far of a multiline reply.
#[derive(Debug, Clone, Default)]
struct Partial {
    /// Set once the first line of a multiline reply has been read.
    code: Option<ReplyCode>,
    /// The enhanced status of the first line.
    enhanced: Option<EnhancedStatus>,
    /// The lines read so far as they came, line ends included (see [`Reply`]).
    wire: Vec<u8>,
    lines: usize,
}

impl Default for ReplyReader {
    fn default() -> Self {
        Self::new(ReplyLimits::default())
    }
}

#[cfg_attr(not(feature = "unstable"), allow(unreachable_pub, dead_code))]
impl ReplyReader {
    /// A reader enforcing `limits`.
    pub fn new(limits: ReplyLimits) -> Self {
        ReplyReader {
            framer: LineFramer::new(limits.max_line),
            limits,
            partial: Partial::default(),
            recent: Recent::default(),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> ReplyLimits {
        self.limits
    }

    /// Changes the line limit, the partial line included. The client raises it to 12288
    /// during AUTH, whose challenges can be long (security.md), and lowers it after.
    pub fn set_max_line(&mut self, max: usize) {
        self.limits.max_line = max;
        self.framer.set_max_line(max);
    }

    /// True when part of a line or of a multiline reply is buffered.
    pub fn has_partial(&self) -> bool {
        self.framer.has_partial() || self.partial.code.is_some()
    }

    /// Octets held for the reply in progress: the partial line plus the lines already
    /// read, line ends included. Bounded by `max_line - 1 + max_bytes`.
    pub fn buffered(&self) -> usize {
        self.framer.buffered() + self.partial.wire.len()
    }

    /// Forgets the recent replies kept to share with the next ones alike: an idle
    /// session holds no copy of them.
    pub(crate) fn forget_recent(&mut self) {
        self.recent = Recent::default();
    }

    /// Drops any partial line or reply.
    pub fn reset(&mut self) {
        self.framer.clear();
        self.partial = Partial::default();
    }

    /// Consumes bytes from the front of `input` up to the end of the next complete reply,
    /// never past it: the caller must be able to see any byte that follows, e.g. after
    /// the `220` reply to STARTTLS (security.md, response injection).
    ///
    /// Returns `Ok(Some(reply))` when a reply completed, `Ok(None)` when all of `input`
    /// was consumed without completing one.
    pub fn read(&mut self, input: &mut &[u8]) -> Result<Option<Reply>, ReplyError> {
        // The replies of each message arrive whole, one line each: read them without
        // the framer. Anything else goes to the framer and the grammar, which judge it.
        if !self.has_partial() {
            if let Some(line) = whole_line(input, &self.limits) {
                return Ok(Some(self.take(input, line)));
            }
        }
        self.read_general(input)
    }

    /// The reply at the front of `input`, when it is a whole one-line reply that
    /// [`read`](Self::read) would return at once (nothing buffered, nothing wrong with
    /// it). Reads nothing: [`take`](Self::take) reads it, and [`skip`](Self::skip) too,
    /// without a copy, for a caller that needs no more of it than its code.
    pub(crate) fn peek<'a>(&self, input: &'a [u8]) -> Option<WholeLine<'a>> {
        if self.has_partial() {
            return None;
        }
        whole_line(input, &self.limits)
    }

    /// Consumes `line`, which [`peek`](Self::peek) found at the front of `input`, and
    /// returns its reply, as [`read`](Self::read) would.
    pub(crate) fn take(&mut self, input: &mut &[u8], line: WholeLine<'_>) -> Reply {
        self.skip(input, line);
        self.recent.reply(line)
    }

    /// Consumes `line`, which [`peek`](Self::peek) found at the front of `input`.
    pub(crate) fn skip(&mut self, input: &mut &[u8], line: WholeLine<'_>) {
        *input = input.get(line.wire.len()..).unwrap_or(&[]);
        self.framer.clear();
    }

    /// [`read`](Self::read) without the fast path: the framer and the nom grammar.
    fn read_general(&mut self, input: &mut &[u8]) -> Result<Option<Reply>, ReplyError> {
        let result = self.read_inner(input);
        match result {
            Err(_) => self.reset(),
            // The reply owns a copy of its text: free a long last line now rather than at
            // the next read, which may be minutes away.
            Ok(Some(_)) => self.framer.clear(),
            Ok(None) => {}
        }
        result
    }

    fn read_inner(&mut self, input: &mut &[u8]) -> Result<Option<Reply>, ReplyError> {
        // A multiline reply whose lines all come from this `input` (most do) is not
        // gathered line by line: `direct` is where it starts and ends in `whole`, and the
        // reply copies it from there once. Lines that come otherwise go to
        // `partial.wire`, and so does what `direct` holds when the input runs out.
        let whole: &[u8] = input;
        let mut direct: Option<(usize, usize)> = None;
        loop {
            // The line may take no more than what is left of the reply's budget, so that
            // `max_bytes` too fires before the excess is buffered.
            let held = self.partial.wire.len() + direct.map_or(0, |(start, end)| end - start);
            let budget = self.limits.max_bytes.saturating_sub(held);
            let limit = self.limits.max_line.min(budget);
            let before = input.len();
            let line = match self.framer.next_line_within(input, limit) {
                Ok(Some(line)) => line,
                Ok(None) => {
                    if let Some((start, end)) = direct {
                        self.partial.wire = whole.get(start..end).unwrap_or(&[]).to_vec();
                    }
                    return Ok(None);
                }
                Err(LineError::TooLong { .. }) if budget < self.limits.max_line => {
                    return Err(ReplyError::TooLarge {
                        limit: self.limits.max_bytes,
                    })
                }
                Err(e) => return Err(e.into()),
            };
            let parsed =
                reply_line(line.content).map_err(|reason| ReplyError::Malformed { reason })?;
            let partial = &mut self.partial;
            if partial.lines >= self.limits.max_lines {
                return Err(ReplyError::TooManyLines {
                    limit: self.limits.max_lines,
                });
            }
            let code = match partial.code {
                None => ReplyCode::new(parsed.code).ok_or(ReplyError::Malformed {
                    reason: "reply code outside 200-559 (RFC 5321 §4.2)",
                })?,
                Some(first) if first.get() == parsed.code => first,
                Some(first) => {
                    return Err(ReplyError::CodeMismatch {
                        first,
                        found: parsed.code,
                    })
                }
            };
            // RFC 5321 §2.3.8: CR only as part of CRLF (the framer took the line end off).
            if has_bare_cr(line.content) {
                return Err(ReplyError::Malformed { reason: BARE_CR });
            }
            let line_end: &[u8] = if line.wire_len > line.content.len() + 1 {
                b"\r\n"
            } else {
                b"\n"
            };
            if partial.code.is_none() && !parsed.more {
                // The common single-line reply: one exact allocation, no state.
                let enhanced = enhanced_of(code, parsed.text);
                // (A chain of slices collects straight into the shared buffer.)
                let wire = line.content.iter().chain(line_end).copied().collect();
                return Ok(Some(Reply::from_wire(code, enhanced, wire, 1)));
            }
            // Where the line is in `whole`, if it came from there alone (not partly
            // from a line cut by an earlier read): it is then `content` and `line_end`.
            let end = whole.len() - input.len();
            let in_whole = (before - input.len() == line.wire_len).then(|| end - line.wire_len);
            match (partial.code, direct, in_whole) {
                (None, _, Some(start)) => direct = Some((start, end)),
                (Some(_), Some((start, last)), Some(here)) if here == last => {
                    direct = Some((start, end))
                }
                (first, _, _) => {
                    if first.is_none() {
                        // Size the buffer from what follows, within a bound so that
                        // trailing data cannot inflate it.
                        let hint = input.len().min(1024) + line.wire_len;
                        partial.wire = Vec::with_capacity(hint.min(self.limits.max_bytes));
                    }
                    if let Some((start, last)) = direct.take() {
                        partial
                            .wire
                            .extend_from_slice(whole.get(start..last).unwrap_or(&[]));
                    }
                    partial.wire.extend_from_slice(line.content);
                    partial.wire.extend_from_slice(line_end);
                }
            }
            if partial.code.is_none() {
                partial.enhanced = enhanced_of(code, parsed.text);
                partial.code = Some(code);
            }
            partial.lines += 1;
            if !parsed.more {
                let done = core::mem::take(partial);
                let wire = match direct {
                    Some((start, end)) => whole.get(start..end).unwrap_or(&[]).into(),
                    None => done.wire.as_slice().into(),
                };
                return Ok(Some(Reply::from_wire(
                    code,
                    done.enhanced,
                    wire,
                    done.lines,
                )));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// With exactly `max_line` octets of reply budget left, a line too long is too long
    /// as a line: the budget is not what it passed.
    #[test]
    fn a_long_line_with_a_line_of_budget_left_is_line_too_long() {
        let mut r = ReplyReader::new(limits(10, 10, 17));
        let mut first: &[u8] = b"250-a\r\n";
        assert_eq!(r.read(&mut first), Ok(None));
        let mut long: &[u8] = b"250-aaaaaaaaaaaaaaaa\r\n";
        assert_eq!(
            r.read(&mut long),
            Err(ReplyError::LineTooLong { limit: 10 })
        );
        let mut r = ReplyReader::new(limits(10, 10, 16));
        let mut first: &[u8] = b"250-a\r\n";
        assert_eq!(r.read(&mut first), Ok(None));
        let mut long: &[u8] = b"250-aaaaaaaaaaaaaaaa\r\n";
        assert_eq!(r.read(&mut long), Err(ReplyError::TooLarge { limit: 16 }));
    }

    fn limits(max_line: usize, max_lines: usize, max_bytes: usize) -> ReplyLimits {
        ReplyLimits {
            max_line,
            max_lines,
            max_bytes,
        }
    }

    #[test]
    fn single_and_multi_line() {
        let mut r = ReplyReader::default();
        let mut input: &[u8] = b"220 hi\r\n250-a\r\n250 b\r\n";
        let first = r.read(&mut input).unwrap().unwrap();
        assert_eq!(first.code(), ReplyCode::SERVICE_READY);
        let second = r.read(&mut input).unwrap().unwrap();
        assert_eq!(second.lines().collect::<Vec<_>>(), vec![&b"a"[..], b"b"]);
        assert!(input.is_empty());
        assert_eq!(r.read(&mut input), Ok(None));
        assert!(!r.has_partial());
    }

    #[test]
    fn partial_state() {
        let mut r = ReplyReader::default();
        let mut input: &[u8] = b"250-a\r\n25";
        assert_eq!(r.read(&mut input), Ok(None));
        assert!(r.has_partial());
        // The first line as it came, and the start of the second.
        assert_eq!(r.buffered(), b"250-a\r\n".len() + 2);
        let mut input: &[u8] = b"0 b\r\n";
        assert!(r.read(&mut input).unwrap().is_some());
        assert!(!r.has_partial());
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn max_lines_exact() {
        let mut r = ReplyReader::new(limits(100, 2, 1000));
        let mut input: &[u8] = b"250-a\r\n250 b\r\n250-a\r\n250-b\r\n250 c\r\n";
        assert!(r.read(&mut input).unwrap().is_some());
        assert_eq!(
            r.read(&mut input),
            Err(ReplyError::TooManyLines { limit: 2 })
        );
        assert!(!r.has_partial());
    }

    #[test]
    fn max_bytes_counts_line_ends_and_fires_mid_line() {
        // 8 + 8 = 16 octets fit exactly.
        let mut r = ReplyReader::new(limits(100, 100, 16));
        let mut input: &[u8] = b"250-ab\r\n250 cd\r\n";
        assert!(r.read(&mut input).unwrap().is_some());
        let mut input: &[u8] = b"250-ab\r\n250 cde\r\n";
        assert_eq!(r.read(&mut input), Err(ReplyError::TooLarge { limit: 16 }));
        // Not past the byte budget: only 8 octets of the second line were looked at.
        assert_eq!(input, b"\n");
    }

    #[test]
    fn line_limit_reported_as_line_too_long() {
        let mut r = ReplyReader::new(limits(8, 100, 1000));
        let mut input: &[u8] = b"250 abcde\r\n";
        assert_eq!(
            r.read(&mut input),
            Err(ReplyError::LineTooLong { limit: 8 })
        );
    }

    #[test]
    fn raised_line_limit_for_auth() {
        let mut r = ReplyReader::default();
        let mut long = b"334 ".to_vec();
        long.resize(12286, b'Q');
        long.extend_from_slice(b"\r\n");
        assert_eq!(
            r.read(&mut &long[..]),
            Err(ReplyError::LineTooLong { limit: 2000 })
        );
        r.set_max_line(12288);
        assert_eq!(r.limits().max_line, 12288);
        let reply = r.read(&mut &long[..]).unwrap().unwrap();
        assert_eq!(reply.first_line().len(), 12282);
    }

    #[test]
    fn idle_after_a_long_reply_holds_little_memory() {
        let mut r = ReplyReader::default();
        let mut line = b"250 ".to_vec();
        line.resize(1900, b'x');
        line.extend_from_slice(b"\r\n");
        let (a, b) = line.split_at(10);
        assert_eq!(r.read(&mut &a[..]), Ok(None));
        assert!(r.read(&mut &b[..]).unwrap().is_some());
        assert!(r.framer.capacity() <= crate::line::IDLE_CAPACITY);
        assert_eq!(r.buffered(), 0);
    }

    /// Everything `read` returns for `chunks`, with how much input each call left.
    fn run(
        limits: ReplyLimits,
        chunks: &[Vec<u8>],
        fast: bool,
    ) -> Vec<(Result<Option<Reply>, ReplyError>, usize)> {
        let mut r = ReplyReader::new(limits);
        let mut out = Vec::new();
        for chunk in chunks {
            let mut input = &chunk[..];
            loop {
                let result = if fast {
                    r.read(&mut input)
                } else {
                    r.read_general(&mut input)
                };
                let stop = !matches!(result, Ok(Some(_)));
                out.push((result, input.len()));
                if stop {
                    break;
                }
            }
            out.push((Ok(None), r.buffered()));
        }
        out
    }

    /// Pieces that make up lines: codes valid and not, every separator, text with CR, LF,
    /// NUL, 8-bit and status codes.
    fn piece() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        prop_oneof![
            Just(b"250".to_vec()),
            Just(b"250".to_vec()),
            Just(b"251".to_vec()),
            Just(b"199".to_vec()),
            Just(b"560".to_vec()),
            Just(b"25".to_vec()),
            Just(b"-".to_vec()),
            Just(b"-".to_vec()),
            Just(b" ".to_vec()),
            Just(b"\r\n".to_vec()),
            Just(b"\r\n".to_vec()),
            Just(b"\n".to_vec()),
            Just(b"\r".to_vec()),
            Just(b"2.0.0 ".to_vec()),
            Just(b"5.1.1".to_vec()),
            Just(b"PIPELINING".to_vec()),
            Just(b"\0\xff\x1b".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..12),
            proptest::collection::vec(b'a'..=b'z', 0..40),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]

        /// The fast path in `read` gives exactly what the framer and nom grammar give:
        /// the same replies and errors, consuming the same input, in the same state.
        #[test]
        fn fast_path_agrees_with_grammar(
            pieces in proptest::collection::vec(piece(), 0..40),
            cuts in proptest::collection::vec(0usize..400, 0..4),
            max_line in 0usize..60,
            max_lines in 0usize..40,
            max_bytes in 0usize..400,
            default_limits in proptest::bool::ANY,
        ) {
            let stream: Vec<u8> = pieces.concat();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(stream.len())).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut from = 0;
            for cut in cuts.into_iter().chain([stream.len()]) {
                chunks.push(stream[from..cut].to_vec());
                from = cut;
            }
            let limits = if default_limits {
                ReplyLimits::default()
            } else {
                limits(max_line, max_lines, max_bytes)
            };
            proptest::prop_assert_eq!(run(limits, &chunks, true), run(limits, &chunks, false));
        }
    }

    #[test]
    fn fast_path_takes_common_replies() {
        let limits = ReplyLimits::default();
        for input in [
            &b"250 2.0.0 Ok\r\n"[..],
            b"354 End data with <CR><LF>.<CR><LF>\n354 rest",
            b"250\r\n",
        ] {
            let line = whole_line(input, &limits).expect("fast path");
            let (reply, used) = (line.to_reply(), line.wire.len());
            assert_eq!(reply.line_count(), 1);
            let mut general = ReplyReader::new(limits);
            let mut rest = input;
            assert_eq!(general.read_general(&mut rest), Ok(Some(reply)));
            assert_eq!(used, input.len() - rest.len());
        }
        for odd in [
            &b"250 a\rb\r\n"[..],
            b"250-a\r\n251 b\r\n",
            b"250 a\r",
            b"250-a\r\n",
            b"250-a\r\n250 b\r\n", // multiline: the grammar's
            b"199 a\r\n",
            b"250x\r\n",
        ] {
            assert!(whole_line(odd, &limits).is_none());
        }
    }

    /// A reply that reaches every limit exactly, and passes none, is still read in one
    /// pass: the limits are inclusive on the fast path as on the general one.
    #[test]
    fn fast_path_takes_replies_at_exactly_the_limits() {
        // The fast path reads one-line replies only; a multiline one at its limits is
        // the grammar's (tests/reply_limits.rs, tests/reply_reader.rs).
        for (input, limits) in [
            (&b"250 abc\r\n"[..], limits(9, 1, 9)),
            (b"250 b\n", limits(6, 1, 6)),
        ] {
            let line = whole_line(input, &limits).expect("fast path");
            let (reply, used) = (line.to_reply(), line.wire.len());
            assert_eq!(used, input.len());
            let mut general = ReplyReader::new(limits);
            assert_eq!(general.read_general(&mut &input[..]), Ok(Some(reply)));
        }
    }

    #[test]
    fn reset_after_error() {
        let mut r = ReplyReader::default();
        let mut input: &[u8] = b"250-a\r\n251 b\r\n";
        assert_eq!(
            r.read(&mut input),
            Err(ReplyError::CodeMismatch {
                first: ReplyCode::OK,
                found: 251
            })
        );
        assert!(!r.has_partial());
        let mut input: &[u8] = b"221 bye\r\n";
        assert!(r.read(&mut input).unwrap().is_some());
    }
}
