//! The text [`Capabilities`](super::Capabilities) keep from the reply: the server's
//! domain, the lines with keywords that have no typed accessor, and the AUTH mechanisms,
//! in a buffer that lives inline while it is small.
//!
//! Typed keywords become flags and keep no text, so most servers leave a few dozen
//! octets here: kept inline, reading a reply allocates nothing.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

/// Octets kept inline; more move to the heap. A domain and a few unknown keywords fit
/// (Postfix's `VRFY` and `ETRN`, Exim's `PIPECONNECT`, `PRDR` and `HELP`), or a domain
/// and four mechanisms; the inline room keeps `Capabilities` within two cache lines.
const INLINE: usize = 54;

/// What ends each entry: the domain and extension lines end with LF, mechanisms with
/// CR. Neither occurs in a reply line's text, nor in what lossy decoding puts there.
pub(super) const LINE: u8 = b'\n';
pub(super) const MECHANISM: u8 = b'\r';

/// `text` as it will be kept: as it is when known to be UTF-8, else decoded lossily.
pub(super) fn decoded(text: &[u8], utf8: bool) -> Cow<'_, [u8]> {
    if utf8 {
        return Cow::Borrowed(text);
    }
    match String::from_utf8_lossy(text) {
        Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
        Cow::Owned(s) => Cow::Owned(s.into_bytes()),
    }
}

/// Entries of UTF-8 text, each followed by [`LINE`] or [`MECHANISM`]; the first is the
/// domain.
#[derive(Clone)]
pub(super) enum Kept {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Vec<u8>),
}

impl Default for Kept {
    fn default() -> Self {
        Kept::Inline {
            len: 0,
            bytes: [0; INLINE],
        }
    }
}

impl PartialEq for Kept {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Kept {}

impl core::fmt::Debug for Kept {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.entries()).finish()
    }
}

impl Kept {
    pub(super) fn as_bytes(&self) -> &[u8] {
        match self {
            Kept::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or(&[]),
            Kept::Heap(v) => v,
        }
    }

    /// Appends `text`, UTF-8 (see [`decoded`]), and the terminator `end`.
    pub(super) fn push(&mut self, text: &[u8], end: u8) {
        if let Kept::Inline { len, bytes } = self {
            let at = usize::from(*len);
            let new_len = at + text.len() + 1;
            if let Some(room) = bytes.get_mut(at..new_len) {
                if let Some((last, body)) = room.split_last_mut() {
                    body.copy_from_slice(text);
                    *last = end;
                }
                // `new_len` <= INLINE < 256.
                *len = new_len as u8;
                return;
            }
            let mut heap = Vec::with_capacity(new_len.max(2 * INLINE));
            heap.extend_from_slice(bytes.get(..at).unwrap_or(&[]));
            *self = Kept::Heap(heap);
        }
        if let Kept::Heap(v) = self {
            v.extend_from_slice(text);
            v.push(end);
        }
    }

    /// Uppercases the last entry (a mechanism just pushed), RFC 4954 §3.
    pub(super) fn uppercase_last(&mut self, len: usize) {
        let bytes: &mut [u8] = match self {
            Kept::Inline { len, bytes } => bytes.get_mut(..usize::from(*len)).unwrap_or(&mut []),
            Kept::Heap(v) => v,
        };
        let end = bytes.len().saturating_sub(1);
        if let Some(last) = bytes.get_mut(end.saturating_sub(len)..end) {
            last.make_ascii_uppercase();
        }
    }

    /// Each entry's text and terminator, in order.
    pub(super) fn entries(&self) -> impl Iterator<Item = (&str, u8)> + '_ {
        self.as_bytes()
            .split_inclusive(|&b| b == LINE || b == MECHANISM)
            .filter_map(|entry| {
                let (&end, text) = entry.split_last()?;
                // Entries are split at ASCII octets of UTF-8 text: UTF-8 themselves.
                Some((core::str::from_utf8(text).unwrap_or(""), end))
            })
    }
}
