//! A bounded line framer: byte chunks of any size in, complete lines out.
//!
//! Frame, then parse (design.md, principle 6): the framer runs before any grammar, so an
//! oversized line is rejected at a known boundary, before its excess is buffered
//! (security.md: "a line with no CRLF for megabytes").
//!
//! # Line ends and the length limit
//!
//! A line ends with CRLF (RFC 5321 §2.3.8). A bare LF is accepted as a line end too
//! (protocol.md, **ours**); a CR that does not precede the LF stays in the line for the
//! parser to judge. The limit counts every octet of the line **including its line end**,
//! as RFC 5321 §4.5.3.1.5 counts "512 octets including CRLF". So with the default limit of
//! 2000, a line of 1998 octets plus CRLF passes and a line of 1999 octets plus CRLF fails.
//!
//! # Cost
//!
//! When a whole line lies inside the caller's slice it is returned as a sub-slice of that
//! slice, without copying. Only a line cut by a chunk boundary is copied into the framer's
//! buffer, and each octet is scanned once: a later chunk resumes the search where the last
//! one stopped. The buffer never holds more than `limit - 1` octets, and its allocation is
//! released once a line longer than [`IDLE_CAPACITY`] has been delivered.

use alloc::vec::Vec;
use core::fmt;

/// The default maximum line length in octets, line end included.
pub(crate) const DEFAULT_MAX_LINE: usize = 2000;

/// Buffer capacity kept between lines; a larger buffer is freed once its line is done, so
/// an idle session holds little memory after one long line.
pub(crate) const IDLE_CAPACITY: usize = 512;

/// A line is longer than the framer's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum LineError {
    /// The line would exceed `limit` octets (line end included).
    TooLong {
        /// The limit in force when the line crossed it.
        limit: usize,
    },
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineError::TooLong { limit } => {
                write!(f, "line longer than {limit} octets")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for LineError {}

/// One complete line, without its line end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Line<'a> {
    /// The line's octets, CRLF or LF removed.
    pub(crate) content: &'a [u8],
    /// How many octets the line took on the wire, line end included.
    pub(crate) wire_len: usize,
}

/// Splits a byte stream into lines, with a maximum line length.
#[derive(Debug, Clone)]
pub(crate) struct LineFramer {
    /// Octets of a line cut by a chunk boundary; none of them is LF.
    buf: Vec<u8>,
    /// `buf` holds a delivered line, to drop at the next call.
    delivered: bool,
    max_line: usize,
}

impl Default for LineFramer {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_LINE)
    }
}

impl LineFramer {
    /// A framer whose lines may take at most `max_line` octets, line end included.
    pub(crate) const fn new(max_line: usize) -> Self {
        Self {
            buf: Vec::new(),
            delivered: false,
            max_line,
        }
    }

    /// The maximum line length, line end included.
    #[cfg(test)]
    pub(crate) const fn max_line(&self) -> usize {
        self.max_line
    }

    /// Changes the maximum line length. It applies to the line in progress too.
    pub(crate) fn set_max_line(&mut self, max_line: usize) {
        self.max_line = max_line;
    }

    /// True when part of a line is buffered.
    pub(crate) fn has_partial(&self) -> bool {
        !self.delivered && !self.buf.is_empty()
    }

    /// Octets of the line in progress that are buffered.
    pub(crate) fn buffered(&self) -> usize {
        if self.delivered {
            0
        } else {
            self.buf.len()
        }
    }

    /// Octets allocated for the buffer, for memory accounting; at most the limit, and at
    /// most [`IDLE_CAPACITY`] after [`clear`](Self::clear).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Drops any partial line, and a delivered line still held in the buffer.
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.delivered = false;
        self.release_if_large();
    }

    /// Takes the next complete line from the front of `input`, with the framer's limit.
    ///
    /// Returns `Ok(Some(line))` and advances `input` just past the line end, or `Ok(None)`
    /// after buffering all of `input` as part of an unfinished line. On error the partial
    /// line is dropped and the scanned octets are consumed.
    #[cfg(test)]
    pub(crate) fn next_line<'s, 'i: 's>(
        &'s mut self,
        input: &mut &'i [u8],
    ) -> Result<Option<Line<'s>>, LineError> {
        self.next_line_within(input, self.max_line)
    }

    /// Like [`next_line`](Self::next_line), with `limit` instead of the framer's limit for
    /// this line. The reply reader passes the smaller of its line limit and what is left
    /// of its reply budget, so both limits fire before excess octets are buffered.
    #[inline]
    pub(crate) fn next_line_within<'s, 'i: 's>(
        &'s mut self,
        input: &mut &'i [u8],
        limit: usize,
    ) -> Result<Option<Line<'s>>, LineError> {
        if self.delivered {
            self.clear();
        }
        let data: &'i [u8] = input;
        // Octets the line may still take, its LF included. `buf` holds no LF, so only
        // new octets are scanned, and never more than the limit allows.
        let allowance = limit.saturating_sub(self.buf.len());
        let window = data.get(..allowance).unwrap_or(data);
        match memchr::memchr(b'\n', window) {
            Some(lf) => {
                let (line, rest) = data.split_at(lf + 1);
                *input = rest;
                if self.buf.is_empty() {
                    // Fast path: the whole line is in the caller's slice.
                    return Ok(Some(Line {
                        content: strip_line_end(line),
                        wire_len: line.len(),
                    }));
                }
                self.append(line);
                self.delivered = true;
                Ok(Some(Line {
                    content: strip_line_end(&self.buf),
                    wire_len: self.buf.len(),
                }))
            }
            None if data.is_empty() => Ok(None),
            None if window.len() == allowance => {
                // `allowance` octets without LF: with its line end the line is over the limit.
                *input = rest_after(data, window.len());
                self.clear();
                Err(LineError::TooLong { limit })
            }
            None => {
                self.append(data);
                *input = rest_after(data, data.len());
                Ok(None)
            }
        }
    }

    /// Appends without letting the capacity outgrow the limit (the default doubling could
    /// reserve up to twice what the limit allows).
    fn append(&mut self, bytes: &[u8]) {
        let needed = self.buf.len() + bytes.len();
        if needed > self.buf.capacity() {
            let doubled = self.buf.capacity().saturating_mul(2).min(self.max_line);
            let target = needed.max(doubled).max(64.min(self.max_line));
            self.buf.reserve_exact(target - self.buf.len());
        }
        self.buf.extend_from_slice(bytes);
    }

    fn release_if_large(&mut self) {
        if self.buf.capacity() > IDLE_CAPACITY {
            self.buf = Vec::new();
        }
    }
}

fn rest_after(data: &[u8], n: usize) -> &[u8] {
    data.get(n..).unwrap_or(&[])
}

/// Removes the LF and, when present, the CR before it.
fn strip_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// What the type's documentation promised when the module was public.
    #[test]
    fn a_line_cut_by_a_chunk_boundary_is_buffered_and_bytes_after_a_line_are_left() {
        let mut framer = LineFramer::new(512);
        let mut input: &[u8] = b"250-first\r\n250 sec";
        assert_eq!(
            framer.next_line(&mut input).unwrap().unwrap().content,
            b"250-first"
        );
        assert_eq!(framer.next_line(&mut input).unwrap(), None); // "250 sec" is buffered
        let mut input: &[u8] = b"ond\r\nrest";
        assert_eq!(
            framer.next_line(&mut input).unwrap().unwrap().content,
            b"250 second"
        );
        assert_eq!(input, b"rest");
    }

    /// Feeds `chunks` and collects (content, wire_len) of every line, plus what is left.
    fn frame(
        framer: &mut LineFramer,
        chunks: &[&[u8]],
    ) -> Result<Vec<(Vec<u8>, usize)>, LineError> {
        let mut out = Vec::new();
        for chunk in chunks {
            let mut input = *chunk;
            while let Some(line) = framer.next_line(&mut input)? {
                out.push((line.content.to_vec(), line.wire_len));
            }
            assert!(input.is_empty());
        }
        Ok(out)
    }

    const STREAM: &[u8] = b"250-a\r\n250-\r\n250 bare lf\n354 x\ry\r\n";

    fn expected() -> Vec<(Vec<u8>, usize)> {
        vec![
            (b"250-a".to_vec(), 7),
            (b"250-".to_vec(), 6),
            (b"250 bare lf".to_vec(), 12),
            (b"354 x\ry".to_vec(), 9),
        ]
    }

    #[test]
    fn whole_input() {
        let mut f = LineFramer::default();
        assert_eq!(frame(&mut f, &[STREAM]).unwrap(), expected());
        assert!(!f.has_partial());
    }

    #[test]
    fn one_byte_at_a_time() {
        let mut f = LineFramer::default();
        let chunks: Vec<&[u8]> = STREAM.chunks(1).collect();
        assert_eq!(frame(&mut f, &chunks).unwrap(), expected());
    }

    #[test]
    fn split_at_every_position() {
        for i in 0..=STREAM.len() {
            let mut f = LineFramer::default();
            let (a, b) = STREAM.split_at(i);
            assert_eq!(frame(&mut f, &[a, b]).unwrap(), expected(), "split at {i}");
        }
    }

    #[test]
    fn trailing_data_left_alone() {
        let mut f = LineFramer::default();
        let mut input: &[u8] = b"220 ready\r\n\x16\x03\x01";
        let line = f.next_line(&mut input).unwrap().unwrap();
        assert_eq!(line.content, b"220 ready");
        assert_eq!(input, b"\x16\x03\x01");
    }

    #[test]
    fn limit_includes_line_end() {
        let mut f = LineFramer::new(6);
        let mut input: &[u8] = b"2500\r\n";
        assert!(f.next_line(&mut input).unwrap().is_some());
        let mut input: &[u8] = b"25000\r\n";
        assert_eq!(
            f.next_line(&mut input),
            Err(LineError::TooLong { limit: 6 })
        );
        // A bare LF line of exactly the limit passes.
        let mut input: &[u8] = b"25000\n";
        assert!(f.next_line(&mut input).unwrap().is_some());
    }

    #[test]
    fn limit_exact_across_chunks() {
        for i in 0..=6 {
            let mut f = LineFramer::new(6);
            let (a, b) = b"2500\r\n".split_at(i);
            assert_eq!(frame(&mut f, &[a, b]).unwrap(), vec![(b"2500".to_vec(), 6)]);
            let mut f = LineFramer::new(5);
            let mut a = a;
            let mut b = b;
            let r = match f.next_line(&mut a) {
                Ok(_) => f.next_line(&mut b).map(|_| ()),
                Err(e) => Err(e),
            };
            assert_eq!(r, Err(LineError::TooLong { limit: 5 }), "split at {i}");
        }
    }

    #[test]
    fn error_fires_at_the_limit_without_buffering_excess() {
        let mut f = LineFramer::new(100);
        let mut input: &[u8] = &[b'x'; 99];
        assert_eq!(f.next_line(&mut input), Ok(None));
        assert_eq!(f.buffered(), 99);
        // The 100th octet is not LF: the line cannot fit any more.
        let mut input: &[u8] = b"y";
        assert_eq!(
            f.next_line(&mut input),
            Err(LineError::TooLong { limit: 100 })
        );
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn megabytes_without_line_end_stay_bounded() {
        let mut f = LineFramer::new(2000);
        let chunk = [b'a'; 1000];
        let mut err = None;
        for _ in 0..1000 {
            let mut input: &[u8] = &chunk;
            match f.next_line(&mut input) {
                Ok(None) => assert!(f.buffered() < 2000),
                Ok(Some(_)) => panic!("no line end was sent"),
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        assert_eq!(err, Some(LineError::TooLong { limit: 2000 }));
        assert!(f.buf.capacity() <= 2000);
    }

    #[test]
    fn scan_resumes_without_rescanning() {
        // Octets are fed one at a time; the buffer only ever grows by what was fed.
        let mut f = LineFramer::new(10_000);
        for _ in 0..5000 {
            let mut input: &[u8] = b"z";
            assert_eq!(f.next_line(&mut input), Ok(None));
        }
        let mut input: &[u8] = b"\n";
        assert_eq!(f.next_line(&mut input).unwrap().unwrap().wire_len, 5001);
    }

    #[test]
    fn buffer_released_when_idle() {
        let mut f = LineFramer::new(10_000);
        let mut input: &[u8] = &[b'q'; 4000];
        assert_eq!(f.next_line(&mut input), Ok(None));
        let mut input: &[u8] = b"\r\n250 ok\r\n";
        assert_eq!(f.next_line(&mut input).unwrap().unwrap().wire_len, 4002);
        assert!(f.next_line(&mut input).unwrap().is_some());
        assert!(f.buf.capacity() <= IDLE_CAPACITY);
    }

    /// A partial line grown one small piece after another takes the buffer to the limit
    /// and no further: the default doubling would reserve 16 octets for a limit of 10.
    #[test]
    fn the_buffer_grows_to_the_limit_and_no_further() {
        // 64 octets first (or the limit if lower), then doubled up to the limit.
        for (limit, second) in [(10, 8), (100, 70)] {
            let mut f = LineFramer::new(limit);
            for piece in [&b"a"[..], &vec![b'b'; second]] {
                let mut input = piece;
                assert_eq!(f.next_line(&mut input), Ok(None));
            }
            assert_eq!(f.buffered(), 1 + second);
            assert!(
                (1 + second..=limit).contains(&f.capacity()),
                "{}",
                f.capacity()
            );
        }
    }

    #[test]
    fn the_error_names_the_limit() {
        let e = LineError::TooLong { limit: 2000 };
        assert_eq!(
            alloc::string::ToString::to_string(&e),
            "line longer than 2000 octets"
        );
    }

    #[test]
    fn the_limit_reads_back_as_set() {
        let mut f = LineFramer::new(100);
        assert_eq!(f.max_line(), 100);
        assert_eq!(LineFramer::default().max_line(), DEFAULT_MAX_LINE);
        f.set_max_line(12_288);
        assert_eq!(f.max_line(), 12_288);
    }

    #[test]
    fn lowering_the_limit_applies_to_the_partial_line() {
        let mut f = LineFramer::new(100);
        let mut input: &[u8] = &[b'x'; 50];
        assert_eq!(f.next_line(&mut input), Ok(None));
        f.set_max_line(10);
        let mut input: &[u8] = b"\n";
        assert_eq!(
            f.next_line(&mut input),
            Err(LineError::TooLong { limit: 10 })
        );
        assert_eq!(input, b"\n", "nothing past the limit is scanned");
    }

    #[test]
    fn empty_input_is_a_no_op() {
        let mut f = LineFramer::new(0);
        let mut input: &[u8] = b"";
        assert_eq!(f.next_line(&mut input), Ok(None));
        let mut input: &[u8] = b"\n";
        assert_eq!(
            f.next_line(&mut input),
            Err(LineError::TooLong { limit: 0 })
        );
    }
}
