//! Message content: DATA read to its end and un-stuffed (RFC 5321 §4.5.2), BDAT chunks
//! taken byte for byte (RFC 3030 §2).

/// The content of the message being received: kept, or only counted.
#[derive(Debug, Default)]
pub(crate) struct Content {
    pub(crate) bytes: Vec<u8>,
    pub(crate) len: u64,
    /// Octets are kept while the content is no longer than this.
    keep_up_to: u64,
}

impl Content {
    pub(crate) fn new(keep: bool) -> Self {
        Content {
            bytes: Vec::new(),
            len: 0,
            keep_up_to: if keep { u64::MAX } else { 0 },
        }
    }

    /// Stops keeping octets past `limit` (they are still counted): a client cannot make
    /// the sink hold more than the largest message it would accept.
    pub(crate) fn limit(mut self, limit: u64) -> Self {
        self.keep_up_to = self.keep_up_to.min(limit);
        self
    }

    fn push(&mut self, b: &[u8]) {
        self.len += b.len() as u64;
        if self.len <= self.keep_up_to {
            self.bytes.extend_from_slice(b);
        }
    }

    /// Takes up to `*left` octets of a BDAT chunk from `input`; returns how many.
    pub(crate) fn take_chunk(&mut self, input: &[u8], left: &mut u64) -> usize {
        let n = usize::try_from(*left)
            .unwrap_or(usize::MAX)
            .min(input.len());
        self.push(&input[..n]);
        *left -= n as u64;
        n
    }
}

/// Where DATA's reader is: at the start of a line (after CRLF) or inside one.
#[derive(Debug)]
pub(crate) struct DataReader {
    at_line_start: bool,
}

impl DataReader {
    pub(crate) fn new() -> Self {
        // DATA's 354 reply is followed by the first line of content.
        DataReader {
            at_line_start: true,
        }
    }

    /// Reads content from `input` into `content` until the end-of-data line; returns how
    /// much of `input` it used and whether the end was reached. Only CRLF ends a line:
    /// a line that starts with `.` loses that `.` (RFC 5321 §4.5.2), and the line `.`
    /// alone ends the data. A CR at the end of `input` is kept back until what follows
    /// shows whether it starts a CRLF.
    pub(crate) fn read(&mut self, input: &[u8], content: &mut Content) -> (usize, bool) {
        const END: &[u8] = b".\r\n";
        let mut pos = 0;
        loop {
            let rest = &input[pos..];
            if self.at_line_start {
                if rest.starts_with(END) {
                    return (pos + END.len(), true);
                }
                if rest.len() < END.len() && END.starts_with(rest) {
                    return (pos, false);
                }
                if rest[0] == b'.' {
                    pos += 1;
                    self.at_line_start = false;
                    continue;
                }
            }
            match memchr::memmem::find(rest, b"\r\n") {
                Some(i) => {
                    content.push(&rest[..i + 2]);
                    pos += i + 2;
                    self.at_line_start = true;
                }
                None => {
                    let n = rest.len() - usize::from(rest.ends_with(b"\r"));
                    content.push(&rest[..n]);
                    self.at_line_start = false;
                    return (pos + n, false);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `wire` to a reader in pieces of `step` octets, as reads would deliver it.
    fn unstuff(wire: &[u8], step: usize) -> (Vec<u8>, usize) {
        let (mut r, mut c) = (DataReader::new(), Content::new(true));
        let mut buf = Vec::new();
        let mut fed = 0;
        for piece in wire.chunks(step) {
            buf.extend_from_slice(piece);
            fed += piece.len();
            let (used, done) = r.read(&buf, &mut c);
            buf.drain(..used);
            if done {
                return (c.bytes, fed - buf.len());
            }
        }
        panic!("no end of data in {wire:?}");
    }

    #[test]
    fn dots_unstuffed_and_the_end_line_dropped_at_any_split() {
        let wire = b"a\r\n..b\r\n..\r\n\r\nc\rd\ne\r\n...\r\n.\r\nNEXT";
        let want = b"a\r\n.b\r\n.\r\n\r\nc\rd\ne\r\n..\r\n";
        for step in 1..wire.len() {
            let (content, used) = unstuff(wire, step);
            assert_eq!(content, want, "step {step}");
            assert_eq!(&wire[used..], b"NEXT", "step {step}");
        }
    }

    #[test]
    fn empty_content_and_a_dot_after_a_bare_lf_is_content() {
        assert_eq!(unstuff(b".\r\n", 1).0, b"");
        // Only CRLF starts a line: ".x" after a bare LF keeps its dot.
        assert_eq!(unstuff(b"a\n.x\r\n.\r\n", 2).0, b"a\n.x\r\n");
    }

    #[test]
    fn chunks_taken_exactly() {
        let mut c = Content::new(true);
        let mut left = 5;
        assert_eq!(c.take_chunk(b"ab", &mut left), 2);
        assert_eq!(c.take_chunk(b"c\r\n.\r\nQUIT", &mut left), 3);
        assert_eq!((c.bytes.as_slice(), left), (&b"abc\r\n"[..], 0));
        let mut counted = Content::new(false);
        let mut left = 3;
        counted.take_chunk(b"xyz", &mut left);
        assert_eq!((counted.len, counted.bytes.len()), (3, 0));
        let mut capped = Content::new(true).limit(4);
        let mut left = 6;
        assert_eq!(capped.take_chunk(b"abcdef", &mut left), 6);
        assert_eq!((capped.len, capped.bytes.len()), (6, 0));
    }
}
