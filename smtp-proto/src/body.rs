//! Message content framing: `DATA` transparency and `BDAT` chunks.
//!
//! The client never holds the message. The application hands the body over in chunks of
//! any size, and each encoder appends the wire form of one chunk to the caller's output
//! buffer. State carried between chunks is a few bits (are we at the start of a line, is a
//! CR waiting for its LF), so a chunk boundary may fall anywhere, even inside a CRLF.
//!
//! - `DataEncoder` frames content for `DATA` (RFC 5321 §4.5.2 transparency, §2.3.8 line
//!   ends) and appends the single end-of-data marker.
//! - `BdatEncoder` frames content as `BDAT n[ LAST]` chunks (RFC 3030 §2), either with
//!   line ends normalised to CRLF or, under `BODY=BINARYMIME`, byte for byte.
//! - [`scan`] looks at a whole body once, so the client can choose `BODY=` and `SIZE=`.
//!
//! The client runs the encoders itself ([`Client::send_body`](crate::Client::send_body));
//! they are public with the `unstable` feature only (no semver guarantee).
//!
//! Both encoders refuse NUL outside BINARYMIME: a NUL can end a receiver's line early and
//! has been used to smuggle an end-of-data marker past one implementation into another
//! (CVE-2023-51764/51765/51766, lettre RUSTSEC-2021-0069 and RUSTSEC-2026-0561).
//!
//! Neither encoder allocates: only `out` grows, and not even that if the caller reserved
//! enough (at most twice the chunk plus 32 octets per call).

use crate::swar::{clean, BLOCK};
use alloc::vec::Vec;
use core::fmt;

/// Why a chunk of message content could not be framed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyError {
    /// The content holds a NUL octet, which SMTP text content may not carry (RFC 5321
    /// §4.5.2 allows only CRLF-delimited lines of non-NUL octets; only BINARYMIME may send
    /// it). Nothing was written for the chunk and the encoder state is unchanged.
    Nul {
        /// Offset of the NUL from the first octet of the whole body, counted over all the
        /// chunks given to the encoder so far.
        offset: u64,
    },
    /// Content was given after the end of the body had already been emitted
    /// (the last chunk given to [`Client::send_body`](crate::Client::send_body), or an
    /// encoder's `finish`).
    Finished,
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::Nul { offset } => {
                write!(f, "message content holds a NUL octet at offset {offset}")
            }
            BodyError::Finished => f.write_str("message content given after the end of the body"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for BodyError {}

/// Where the text encoder stands between two chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Line {
    /// At the start of a line: nothing emitted yet, or the last octets emitted were CRLF.
    /// A '.' here must be doubled (for DATA).
    #[default]
    Start,
    /// Inside a line: the last octet emitted was content.
    Middle,
    /// The previous chunk ended with a CR that was not emitted yet: whether it is half of
    /// a CRLF or a bare CR depends on the next octet.
    PendingCr,
    /// The end of the body has been emitted.
    Done,
}

/// Octets checked for NUL before being framed. Small enough to stay in the L1/L2 cache
/// between that check and the framing pass, so a chunk of many megabytes is read from
/// memory once rather than once per pass.
const SEGMENT: usize = 16 * 1024;

/// The CRLF normaliser shared by DATA (with dot-stuffing) and text BDAT (without).
///
/// Every CR not followed by LF and every LF not preceded by CR becomes CRLF (RFC 5321
/// §2.3.8: CR and LF may only be sent as a pair); for DATA a '.' at the start of a line
/// gets one more '.' (RFC 5321 §4.5.2). Each rule looks only at an octet and its
/// neighbours, so the output is the input with a few octets inserted, and runs between
/// insertions are copied with one `extend_from_slice` each. Finding the insertions is
/// the cost: text with CRLF line ends skips clean blocks with [`clean`], down to the last
/// octet (the last block of a segment overlaps the one before it rather than leave a
/// tail); from the first block that is not clean, a segment without any CR (LF line
/// ends) jumps from LF to LF with `memchr`; anything else goes from line end to line end
/// with `memchr2`, once per CRLF.
///
/// NUL is found by one `memchr` per segment. Folding it into [`clean`] instead (one more
/// term per pair) was measured and costs more: `memchr` runs with AVX2 where [`clean`]
/// is compiled for the baseline SSE2.
///
/// On `Err(k)`, `chunk[k]` is a NUL; `out` and `state` are then garbage and the caller
/// restores them.
#[inline]
fn normalise<const STUFF: bool>(
    state: &mut Line,
    chunk: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), usize> {
    let len = chunk.len();
    if len == 0 {
        return Ok(());
    }
    // Reserving the unchanged length up front keeps the common case to one capacity
    // check; insertions beyond it grow `out` amortised.
    out.reserve(len + 2);
    let c = chunk;
    let mut i = 0;
    let mut line_start = *state == Line::Start;
    if *state == Line::PendingCr {
        // The held CR is a line end whatever follows: CRLF if an LF follows, a bare CR
        // made into CRLF otherwise.
        out.extend_from_slice(b"\r\n");
        if c[0] == b'\n' {
            i = 1;
        }
        line_start = true;
    }
    // A CR at the end of the chunk is decided by the next chunk (or the end): hold it.
    let held = c[len - 1] == b'\r';
    let end = if held { len - 1 } else { len };
    let first = i;
    // `run` is the start of the input not yet copied to `out`.
    let mut run = i;
    // RFC 5321 §4.5.2: the first line of the content is a line too.
    if STUFF && line_start && i < end && c[i] == b'.' {
        out.push(b'.');
    }
    while i < end {
        let seg_end = end.min(i + SEGMENT);
        // A block may reach one octet past the segment (the next one's first octet, or
        // the held CR), so that the last block of a segment can end exactly at its end.
        let lim = len.min(seg_end + 1);
        if let Some(k) = memchr::memchr(0, &c[i..seg_end]) {
            return Err(i + k);
        }
        // Whether this segment was searched for CR yet: only once a block is not clean,
        // so that clean CRLF text pays for no search.
        let mut probed = false;
        while i < seg_end {
            // Pairs from (i-1, i) on: the LF at i may be bare. At the start of the chunk a
            // LF is always bare (a CR before it would have been held), so no skip then.
            // Near the segment's end the block starts earlier, over pairs already seen,
            // rather than leaving a short tail to the slow path.
            if lim > BLOCK && (i > 0 || c[0] != b'\n') {
                // The latest start a block may have.
                let last = lim - BLOCK - 1;
                loop {
                    let from = i.saturating_sub(1).min(last);
                    let Ok(block) = <&[u8; BLOCK + 1]>::try_from(&c[from..=from + BLOCK]) else {
                        break;
                    };
                    if from + BLOCK <= i || !clean::<STUFF>(block) {
                        break;
                    }
                    i = from + BLOCK;
                    if from == last {
                        // A block ending at the last octet of the last segment leaves
                        // nothing: that octet is no CR (it would be held), so it needs
                        // no pair of its own, and the segment's NUL search saw it.
                        if lim == len && seg_end == len {
                            i = len;
                        }
                        break;
                    }
                }
                if i >= seg_end {
                    continue;
                }
            }
            if !probed {
                probed = true;
                if memchr::memchr(b'\r', &c[i.saturating_sub(1)..seg_end]).is_none() {
                    // No CR, not even just before: every LF is bare. One memchr per line.
                    for q in memchr::memchr_iter(b'\n', &c[i..seg_end]).map(|d| i + d) {
                        out.extend_from_slice(&c[run..q]);
                        out.push(b'\r');
                        run = q;
                        // RFC 5321 §4.5.2: a line starting with '.' gets one more '.'.
                        if STUFF && q + 1 < end && c[q + 1] == b'.' {
                            out.extend_from_slice(&c[run..q + 1]);
                            out.push(b'.');
                            run = q + 1;
                        }
                    }
                    i = seg_end;
                    break;
                }
            }
            // From line end to line end.
            let stop = seg_end.min(i + BLOCK);
            let mut k = i;
            while k < stop {
                let Some(d) = memchr::memchr2(b'\r', b'\n', &c[k..stop]) else {
                    break;
                };
                let mut q = k + d;
                if c[q] == b'\n' {
                    // A CR right before is one a clean block ended with.
                    if q == 0 || c[q - 1] != b'\r' {
                        out.extend_from_slice(&c[run..q]);
                        out.push(b'\r');
                        run = q;
                    }
                } else if c[q + 1] == b'\n' {
                    // q < end, so c[q + 1] exists. The line ends at that LF, whose turn
                    // is taken here: one search per CRLF.
                    q += 1;
                } else {
                    out.extend_from_slice(&c[run..=q]);
                    out.push(b'\n');
                    run = q + 1;
                }
                // RFC 5321 §4.5.2: a line starting with '.' gets one more '.'.
                if STUFF && q + 1 < end && c[q + 1] == b'.' {
                    out.extend_from_slice(&c[run..q + 1]);
                    out.push(b'.');
                    run = q + 1;
                }
                k = q + 1;
            }
            // Past `stop` by one if a CRLF straddled it.
            i = k.max(stop);
        }
    }
    out.extend_from_slice(&c[run..end]);
    *state = if held {
        Line::PendingCr
    } else if end > first {
        // c[end - 1] is not a CR (it would be held), so only an LF ends the line here.
        if c[end - 1] == b'\n' {
            Line::Start
        } else {
            Line::Middle
        }
    } else if line_start {
        Line::Start
    } else {
        Line::Middle
    };
    Ok(())
}

/// Runs [`normalise`] and, if the chunk holds a NUL, puts `state` and `out` back as they
/// were and reports the NUL's offset in the whole body.
#[inline]
fn normalise_or_restore<const STUFF: bool>(
    state: &mut Line,
    bytes_in: u64,
    chunk: &[u8],
    out: &mut Vec<u8>,
    restore_len: usize,
) -> Result<(), BodyError> {
    let saved = *state;
    normalise::<STUFF>(state, chunk, out).map_err(|k| {
        *state = saved;
        out.truncate(restore_len);
        BodyError::Nul {
            offset: bytes_in + k as u64,
        }
    })
}

unstable_pub! {
    /// DATA content encoder (RFC 5321 §4.5.2 transparency, §2.3.8 line ends).
    ///
    /// Feed the content through [`encode`](Self::encode) in chunks of any size, then call
    /// [`finish`](Self::finish) once. The output is the exact octet stream to send after the
    /// `354` reply, end-of-data marker included, and is the same however the content was cut
    /// into chunks. The encoder holds no buffer: its state is a counter and a few bits.
    #[derive(Debug, Clone, Default)]
    pub struct DataEncoder {
        bytes_in: u64,
        state: Line,
    }
}

#[cfg_attr(not(feature = "unstable"), allow(unreachable_pub, dead_code))]
impl DataEncoder {
    /// A new encoder, at the start of the first line of the content.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the wire form of `chunk` to `out`.
    ///
    /// Every line that starts with `.` gets one more `.` (the first line too, and across
    /// chunk boundaries); bare LF and bare CR become CRLF (a CR at the end of a chunk is
    /// decided by the next chunk).
    ///
    /// `out` grows by at most `2 * chunk.len() + 2` octets.
    ///
    /// # Errors
    /// [`BodyError::Nul`] if `chunk` holds a NUL; [`BodyError::Finished`] after
    /// [`finish`](Self::finish). On error `out` and the encoder are left as they were.
    pub fn encode(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), BodyError> {
        if self.state == Line::Done {
            return Err(BodyError::Finished);
        }
        let restore = out.len();
        normalise_or_restore::<true>(&mut self.state, self.bytes_in, chunk, out, restore)?;
        self.bytes_in += chunk.len() as u64;
        Ok(())
    }

    /// Appends the end-of-data marker (RFC 5321 §4.5.2, §4.1.1.4).
    ///
    /// `.\r\n` if the content ended with CRLF (after normalisation, a pending CR
    /// included), else `\r\n.\r\n`, so that exactly one marker is ever emitted. An empty
    /// body gives `.\r\n`. Calling it again appends nothing.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let marker: &[u8] = match self.state {
            Line::Start => b".\r\n",
            // The held CR becomes the CRLF that ends the last line.
            Line::PendingCr => b"\r\n.\r\n",
            Line::Middle => b"\r\n.\r\n",
            Line::Done => b"",
        };
        out.extend_from_slice(marker);
        self.state = Line::Done;
    }

    /// Content octets consumed so far (before normalisation and dot-stuffing).
    pub fn bytes_in(&self) -> u64 {
        self.bytes_in
    }
}

unstable_pub! {
    /// BDAT framer (RFC 3030 §2, §3): each call emits one `BDAT n[ LAST]\r\n` header followed
    /// by exactly `n` octets.
    ///
    /// No dot-stuffing: BDAT counts octets instead of looking for a marker. Unless the body
    /// is `BODY=BINARYMIME`, line ends are still normalised to CRLF as for DATA (RFC 3030 §3
    /// keeps RFC 5321's line rules for 7BIT and 8BITMIME content) and NUL is refused.
    #[derive(Debug, Clone, Default)]
    pub struct BdatEncoder {
        bytes_in: u64,
        state: Line,
        binary: bool,
    }
}

/// Longest header: "BDAT " + 20 digits of u64 + " LAST" + CRLF.
const HEADER_MAX: usize = 5 + 20 + 5 + 2;

/// Decimal digits of `n` (a small itoa, so no `format!` and no allocation).
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// Number of decimal digits of `n`.
fn digits(mut n: u64) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

/// Writes `BDAT n[ LAST]\r\n` into `buf`, returning its length.
fn header(n: u64, last: bool, buf: &mut [u8; HEADER_MAX]) -> usize {
    let mut num = [0u8; 20];
    let num = decimal(n, &mut num);
    let mut len = 0;
    for part in [
        b"BDAT ".as_slice(),
        num,
        if last { b" LAST\r\n" } else { b"\r\n" },
    ] {
        buf[len..len + part.len()].copy_from_slice(part);
        len += part.len();
    }
    len
}

#[cfg_attr(not(feature = "unstable"), allow(unreachable_pub, dead_code))]
impl BdatEncoder {
    /// A new BDAT framer. `binary == true` is `BODY=BINARYMIME` (RFC 3030 §3): octets go
    /// out unchanged (no normalisation, NUL allowed). Otherwise line ends are normalised
    /// to CRLF exactly as [`DataEncoder`] does (without dot-stuffing) and NUL is refused.
    pub fn new(binary: bool) -> Self {
        Self {
            bytes_in: 0,
            state: Line::Start,
            binary,
        }
    }

    /// Appends `BDAT n\r\n` and the `n` octets of `chunk` after normalisation; `n` is the
    /// post-normalisation length, and a trailing CR is held back for the next chunk.
    ///
    /// With `last == true` the header is `BDAT n LAST` and a held CR is resolved (to CRLF);
    /// this ends the body. A chunk that is not last and produces no octets (empty, or only
    /// a held CR) writes nothing, since `BDAT 0` without LAST would cost a round trip for
    /// nothing. Returns `n`, or 0 if nothing was written.
    ///
    /// `out` grows by at most `2 * chunk.len() + 34` octets.
    ///
    /// # Errors
    /// [`BodyError::Nul`] if `chunk` holds a NUL (not under BINARYMIME);
    /// [`BodyError::Finished`] after the body was ended. On error `out` and the encoder
    /// are left as they were.
    pub fn encode(
        &mut self,
        chunk: &[u8],
        last: bool,
        out: &mut Vec<u8>,
    ) -> Result<u64, BodyError> {
        if self.state == Line::Done {
            return Err(BodyError::Finished);
        }
        if self.binary {
            // BINARYMIME: the length is known before the data, so the header goes first.
            let mut buf = [0u8; HEADER_MAX];
            let n = chunk.len() as u64;
            if n == 0 && !last {
                return Ok(0);
            }
            let h = header(n, last, &mut buf);
            out.reserve(h + chunk.len());
            out.extend_from_slice(&buf[..h]);
            out.extend_from_slice(chunk);
            self.bytes_in += n;
            if last {
                self.state = Line::Done;
            }
            return Ok(n);
        }
        // The header must precede the data, but `n` is known only after normalisation.
        // Counting first would be a second full pass over the chunk, stopping at every
        // line end; instead the data is written once behind a header slot sized for
        // `chunk.len()` digits. Normalisation only moves `n` by a little (CR held, CR or LF
        // widened to CRLF), so the slot almost always fits exactly, and only when the
        // digit count differs is the data shifted once with `copy_within`.
        let start = out.len();
        let tail = if last { 7 } else { 2 };
        let slot = 5 + digits(chunk.len() as u64) + tail;
        out.resize(start + slot, 0);
        normalise_or_restore::<false>(&mut self.state, self.bytes_in, chunk, out, start)?;
        if last && self.state == Line::PendingCr {
            out.extend_from_slice(b"\r\n");
        }
        let data_len = out.len() - start - slot;
        let n = data_len as u64;
        self.bytes_in += chunk.len() as u64;
        if last {
            self.state = Line::Done;
        } else if n == 0 {
            out.truncate(start);
            return Ok(0);
        }
        let mut buf = [0u8; HEADER_MAX];
        let h = header(n, last, &mut buf);
        if h > slot {
            let end = out.len();
            out.resize(end + (h - slot), 0);
            out.copy_within(start + slot..end, start + h);
        } else if h < slot {
            out.copy_within(start + slot.., start + h);
            out.truncate(start + h + data_len);
        }
        out[start..start + h].copy_from_slice(&buf[..h]);
        Ok(n)
    }

    /// Ends the body: `BDAT 0 LAST\r\n`, or `BDAT 2 LAST\r\n\r\n` when a CR was held back.
    /// Returns `n`. Appends nothing and returns 0 if the body was already ended.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> u64 {
        // Cannot fail: the chunk is empty, and the Done check is done here.
        if self.state == Line::Done {
            return 0;
        }
        self.encode(&[], true, out).unwrap_or(0)
    }

    /// Content octets consumed so far (before normalisation).
    pub fn bytes_in(&self) -> u64 {
        self.bytes_in
    }
}

/// What [`scan`] learned about a whole body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BodyScan {
    /// An octet above 127 occurs: needs `BODY=8BITMIME` (RFC 6152) or BINARYMIME.
    pub has_8bit: bool,
    /// A NUL occurs: only `BODY=BINARYMIME` over BDAT can carry it (RFC 3030 §3).
    pub has_nul: bool,
    /// A CR not followed by LF or a LF not preceded by CR occurs; the text encoders will
    /// turn it into CRLF, which BINARYMIME would not.
    pub has_bare_cr_or_lf: bool,
    /// The longest line in octets, without its line end (CRLF, bare CR or bare LF), before
    /// dot-stuffing. RFC 5321 §4.5.3.1.6 allows 998 (1000 with CRLF).
    pub max_line_len: usize,
    /// Length after normalising line ends to CRLF, without dot-stuffing or an end marker:
    /// what a text BDAT sends and what `SIZE=` declares (RFC 1870).
    pub normalized_len: u64,
}

/// Appends `content` to `out` as DATA and BDAT carry a text body, less DATA's
/// dot-stuffing (a transport encoding the receiver undoes, RFC 5321 §4.5.2): bare CR and
/// bare LF become CRLF (§2.3.8) and a last line without a line end gets one (DATA adds
/// it anyway, §4.1.1.4). These are the bytes the receiver stores, so what a signer (DKIM,
/// RFC 6376) must sign. A NUL is refused as the encoders refuse it.
pub fn normalize_text(content: &[u8], out: &mut Vec<u8>) -> Result<(), BodyError> {
    let start = out.len();
    // The text encoder BDAT uses, as one last chunk whose header is then dropped.
    let n = BdatEncoder::new(false).encode(content, true, out)? as usize;
    out.drain(start..out.len() - n);
    if out.len() > start && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    Ok(())
}

/// Examines a whole body once, for callers that have it up front (to choose `BODY=` and
/// `SIZE=` before `MAIL FROM`).
pub fn scan(body: &[u8]) -> BodyScan {
    let mut s = BodyScan {
        has_8bit: !body.is_ascii(),
        has_nul: memchr::memchr(0, body).is_some(),
        has_bare_cr_or_lf: false,
        max_line_len: 0,
        normalized_len: body.len() as u64,
    };
    let mut line_start = 0;
    let mut i = 0;
    while let Some(k) = memchr::memchr2(b'\r', b'\n', &body[i..]) {
        let p = i + k;
        s.max_line_len = s.max_line_len.max(p - line_start);
        if body[p] == b'\r' && body.get(p + 1) == Some(&b'\n') {
            i = p + 2;
        } else {
            // A bare CR or LF is one octet that becomes two.
            s.has_bare_cr_or_lf = true;
            s.normalized_len += 1;
            i = p + 1;
        }
        line_start = i;
    }
    s.max_line_len = s.max_line_len.max(body.len() - line_start);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn normalize_text_gives_the_stored_bytes_without_dot_stuffing() {
        let mut out = b"kept".to_vec();
        normalize_text(b"a\nb\rc\r\n.d\n..e", &mut out).unwrap();
        assert_eq!(out, b"kepta\r\nb\r\nc\r\n.d\r\n..e\r\n");
        let mut out = Vec::new();
        normalize_text(b"x\r\n", &mut out).unwrap();
        assert_eq!(out, b"x\r\n");
        let mut out = Vec::new();
        normalize_text(b"", &mut out).unwrap();
        assert!(out.is_empty());
        assert!(matches!(
            normalize_text(b"a\0", &mut Vec::new()),
            Err(BodyError::Nul { offset: 1 })
        ));
    }

    fn data(chunks: &[&[u8]]) -> Vec<u8> {
        let mut e = DataEncoder::new();
        let mut out = Vec::new();
        for c in chunks {
            e.encode(c, &mut out).unwrap();
        }
        e.finish(&mut out);
        out
    }

    fn bdat(binary: bool, chunks: &[&[u8]]) -> Vec<u8> {
        let mut e = BdatEncoder::new(binary);
        let mut out = Vec::new();
        for c in chunks {
            e.encode(c, false, &mut out).unwrap();
        }
        e.finish(&mut out);
        out
    }

    #[test]
    fn first_line_dot_is_stuffed() {
        assert_eq!(data(&[b".hello\r\n"]), b"..hello\r\n.\r\n");
        assert_eq!(data(&[b"."]), b"..\r\n.\r\n");
    }

    #[test]
    fn dot_after_chunk_boundary_is_stuffed() {
        assert_eq!(data(&[b"a\r\n", b".b\r\n"]), b"a\r\n..b\r\n.\r\n");
        assert_eq!(data(&[b"a\r", b"\n.b"]), b"a\r\n..b\r\n.\r\n");
        assert_eq!(data(&[b"a\n", b".", b"."]), b"a\r\n...\r\n.\r\n");
        assert_eq!(data(&[b"a\r", b".b"]), b"a\r\n..b\r\n.\r\n");
    }

    #[test]
    fn dot_inside_line_is_not_stuffed() {
        assert_eq!(data(&[b"a.b\r\n"]), b"a.b\r\n.\r\n");
        assert_eq!(data(&[b"a", b".b\r\n"]), b"a.b\r\n.\r\n");
    }

    #[test]
    fn cr_at_chunk_end() {
        // followed by LF
        assert_eq!(data(&[b"a\r", b"\nb"]), b"a\r\nb\r\n.\r\n");
        // followed by other
        assert_eq!(data(&[b"a\r", b"b"]), b"a\r\nb\r\n.\r\n");
        // followed by the end
        assert_eq!(data(&[b"a\r"]), b"a\r\n.\r\n");
        // followed by an empty chunk, then LF
        assert_eq!(data(&[b"a\r", b"", b"\n"]), b"a\r\n.\r\n");
        // followed by CR
        assert_eq!(data(&[b"a\r", b"\r"]), b"a\r\n\r\n.\r\n");
    }

    #[test]
    fn cr_cr_lf_is_two_line_ends() {
        assert_eq!(data(&[b"a\r\r\nb"]), b"a\r\n\r\nb\r\n.\r\n");
    }

    #[test]
    fn bare_lf_and_cr_become_crlf() {
        assert_eq!(data(&[b"a\nb\rc\r\n"]), b"a\r\nb\r\nc\r\n.\r\n");
        assert_eq!(data(&[b"\n"]), b"\r\n.\r\n");
        assert_eq!(data(&[b"\n\r"]), b"\r\n\r\n.\r\n");
    }

    #[test]
    fn empty_body() {
        assert_eq!(data(&[]), b".\r\n");
        assert_eq!(data(&[b""]), b".\r\n");
    }

    #[test]
    fn body_without_final_line_end() {
        assert_eq!(data(&[b"abc"]), b"abc\r\n.\r\n");
    }

    #[test]
    fn body_ending_with_crlf() {
        assert_eq!(data(&[b"abc\r\n"]), b"abc\r\n.\r\n");
        assert_eq!(data(&[b"abc\n"]), b"abc\r\n.\r\n");
    }

    #[test]
    fn finish_twice_emits_one_marker() {
        let mut e = DataEncoder::new();
        let mut out = Vec::new();
        e.encode(b"x", &mut out).unwrap();
        e.finish(&mut out);
        e.finish(&mut out);
        assert_eq!(out, b"x\r\n.\r\n");
        assert_eq!(e.encode(b"y", &mut out), Err(BodyError::Finished));
        assert_eq!(out, b"x\r\n.\r\n");
    }

    /// What a caller shows when a body is refused says why, and for a NUL where.
    #[test]
    fn every_body_error_message_names_its_cause() {
        use alloc::string::ToString;
        assert_eq!(
            BodyError::Nul { offset: 9 }.to_string(),
            "message content holds a NUL octet at offset 9"
        );
        assert_eq!(
            BodyError::Finished.to_string(),
            "message content given after the end of the body"
        );
    }

    #[test]
    fn nul_offset_across_chunks() {
        let mut e = DataEncoder::new();
        let mut out = b"prefix".to_vec();
        e.encode(b"abc\r", &mut out).unwrap();
        e.encode(b"\nde", &mut out).unwrap();
        let before = out.clone();
        assert_eq!(
            e.encode(b"fg\0h", &mut out),
            Err(BodyError::Nul { offset: 9 })
        );
        assert_eq!(out, before);
        assert_eq!(e.bytes_in(), 7);
        // The encoder is unchanged, so clean content can follow.
        e.encode(b"fgh", &mut out).unwrap();
        e.finish(&mut out);
        assert_eq!(out, b"prefixabc\r\ndefgh\r\n.\r\n");

        let mut b = BdatEncoder::new(false);
        let mut out = Vec::new();
        b.encode(b"0123", false, &mut out).unwrap();
        assert_eq!(
            b.encode(b"45\0", true, &mut out),
            Err(BodyError::Nul { offset: 6 })
        );
        assert_eq!(out, b"BDAT 4\r\n0123");
    }

    #[test]
    fn nul_found_at_every_offset_of_crlf_text() {
        // Long CRLF text is skipped in clean blocks, which must see a NUL too; LF text
        // goes another way. Every offset, so every position within a block is covered.
        for line_end in [&b"\r\n"[..], b"\n"] {
            let mut body = Vec::new();
            while body.len() < 700 {
                body.extend_from_slice(b"the quick brown fox jumps over the lazy dog");
                body.extend_from_slice(line_end);
            }
            for k in 0..body.len() {
                let mut bad = body.clone();
                bad[k] = 0;
                let want = Err(BodyError::Nul { offset: k as u64 });
                let mut out = Vec::new();
                assert_eq!(DataEncoder::new().encode(&bad, &mut out), want, "DATA {k}");
                assert!(out.is_empty());
                let got = BdatEncoder::new(false).encode(&bad, true, &mut out);
                assert_eq!(got.map(|_| ()), want, "BDAT {k}");
            }
        }
    }

    /// A NUL next to the edges of the 16 KiB segments and of the blocks, in CRLF text of
    /// lengths that put the last octet just past a segment or a block: the last block of
    /// a segment reaches one octet into the next, which it must not take as checked.
    #[test]
    fn nul_found_next_to_segment_and_block_edges() {
        let line = b"the quick brown fox jumps over the lazy dog\r\n";
        let text: Vec<u8> = line.iter().copied().cycle().take(2 * SEGMENT + 8).collect();
        for len in [
            BLOCK,
            BLOCK + 1,
            BLOCK + 2,
            2 * BLOCK + 1,
            SEGMENT - 1,
            SEGMENT,
            SEGMENT + 1,
            SEGMENT + 2,
            2 * SEGMENT + 1,
        ] {
            let mut spots = vec![0, 1, BLOCK - 1, BLOCK, BLOCK + 1, SEGMENT - 1, SEGMENT];
            spots.extend([SEGMENT + 1, len - 2, len - 1]);
            for k in spots.into_iter().filter(|&k| k < len) {
                let mut bad = text[..len].to_vec();
                bad[k] = 0;
                let want = Err(BodyError::Nul { offset: k as u64 });
                let mut out = Vec::new();
                assert_eq!(
                    DataEncoder::new().encode(&bad, &mut out),
                    want,
                    "DATA {len} {k}"
                );
                assert!(out.is_empty());
                let got = BdatEncoder::new(false).encode(&bad, true, &mut out);
                assert_eq!(got.map(|_| ()), want, "BDAT {len} {k}");
                assert!(out.is_empty());
            }
        }
    }

    #[test]
    fn bdat_headers_and_lengths() {
        assert_eq!(bdat(false, &[b"abc"]), b"BDAT 3\r\nabcBDAT 0 LAST\r\n");
        assert_eq!(bdat(false, &[b"a\nb"]), b"BDAT 4\r\na\r\nbBDAT 0 LAST\r\n");
        // No stuffing in BDAT.
        assert_eq!(bdat(false, &[b".\r\n"]), b"BDAT 3\r\n.\r\nBDAT 0 LAST\r\n");
        // A held CR: the first chunk sends "a", the CR goes with the next one.
        assert_eq!(
            bdat(false, &[b"a\r", b"\nb"]),
            b"BDAT 1\r\naBDAT 3\r\n\r\nbBDAT 0 LAST\r\n"
        );
        // A chunk of only a held CR writes nothing; finish resolves it.
        let mut e = BdatEncoder::new(false);
        let mut out = Vec::new();
        assert_eq!(e.encode(b"\r", false, &mut out), Ok(0));
        assert_eq!(e.encode(b"", false, &mut out), Ok(0));
        assert!(out.is_empty());
        assert_eq!(e.finish(&mut out), 2);
        assert_eq!(out, b"BDAT 2 LAST\r\n\r\n");
        assert_eq!(e.finish(&mut out), 0);
        assert_eq!(e.encode(b"x", true, &mut out), Err(BodyError::Finished));
        // last=true in encode.
        let mut e = BdatEncoder::new(false);
        let mut out = Vec::new();
        assert_eq!(e.encode(b"ab\r", true, &mut out), Ok(4));
        assert_eq!(out, b"BDAT 4 LAST\r\nab\r\n");
        assert_eq!(e.bytes_in(), 3);
    }

    #[test]
    fn bdat_header_digit_count_changes() {
        // 9 octets in, 10 out: the header slot was one digit short.
        let out = bdat(false, &[b"\n\n\n\n\n\n\n\n\n"]);
        let mut want = b"BDAT 18\r\n".to_vec();
        want.extend_from_slice(&b"\r\n".repeat(9));
        want.extend_from_slice(b"BDAT 0 LAST\r\n");
        assert_eq!(out, want);
        // 10 octets in, 9 out (held CR): one digit too many.
        let out = bdat(false, &[b"123456789\r"]);
        assert_eq!(out, b"BDAT 9\r\n123456789BDAT 2 LAST\r\n\r\n");
        let mut e = BdatEncoder::new(false);
        let mut out = vec![b'x'];
        e.encode(b"\n\n\n\n\n", true, &mut out).unwrap();
        assert_eq!(out, b"xBDAT 10 LAST\r\n\r\n\r\n\r\n\r\n\r\n");
    }

    /// The header buffer holds the longest header there is: a count of 20 digits and
    /// LAST (a chunk of 10^19 octets cannot be made in a test, so `header` is asked
    /// directly).
    #[test]
    fn longest_bdat_header_fits() {
        let mut buf = [0u8; HEADER_MAX];
        let len = header(u64::MAX, true, &mut buf);
        assert_eq!(&buf[..len], b"BDAT 18446744073709551615 LAST\r\n");
        let len = header(u64::MAX, false, &mut buf);
        assert_eq!(&buf[..len], b"BDAT 18446744073709551615\r\n");
    }

    #[test]
    fn bdat_zero_last() {
        assert_eq!(bdat(false, &[]), b"BDAT 0 LAST\r\n");
        assert_eq!(bdat(true, &[]), b"BDAT 0 LAST\r\n");
        let mut e = BdatEncoder::new(false);
        let mut out = Vec::new();
        assert_eq!(e.encode(b"", true, &mut out), Ok(0));
        assert_eq!(out, b"BDAT 0 LAST\r\n");
    }

    #[test]
    fn binarymime_passthrough() {
        let body = b"\0\r\r.\n\xff\r";
        assert_eq!(
            bdat(true, &[&body[..3], &body[3..]]),
            b"BDAT 3\r\n\0\r\rBDAT 4\r\n.\n\xff\rBDAT 0 LAST\r\n"
        );
        let mut e = BdatEncoder::new(true);
        let mut out = Vec::new();
        assert_eq!(e.encode(body, true, &mut out), Ok(7));
        assert_eq!(&out[..13], b"BDAT 7 LAST\r\n");
        assert_eq!(&out[13..], body);
    }

    #[test]
    fn decimal_digits() {
        let mut b = [0u8; 20];
        assert_eq!(decimal(0, &mut b), b"0");
        assert_eq!(decimal(10, &mut b), b"10");
        assert_eq!(decimal(u64::MAX, &mut b), b"18446744073709551615");
        assert_eq!(digits(0), 1);
        assert_eq!(digits(9), 1);
        assert_eq!(digits(10), 2);
        assert_eq!(digits(u64::MAX), 20);
    }

    #[test]
    fn scan_reports() {
        let s = scan(b"ab\r\ncde\nf\rg\xff\0");
        assert!(s.has_8bit && s.has_nul && s.has_bare_cr_or_lf);
        assert_eq!(s.max_line_len, 3);
        assert_eq!(s.normalized_len, 15);
        let s = scan(b"");
        assert_eq!(
            s,
            BodyScan {
                has_8bit: false,
                has_nul: false,
                has_bare_cr_or_lf: false,
                max_line_len: 0,
                normalized_len: 0
            }
        );
        let s = scan(b"abcd\r\n");
        assert!(!s.has_bare_cr_or_lf);
        assert_eq!(s.max_line_len, 4);
        assert_eq!(s.normalized_len, 6);
    }
}
