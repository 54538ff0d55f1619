//! The one buffer an adapter's driver reads into: the server's bytes, or a chunk of
//! message content for the core ([`Io::ReadBody`](smtp_proto::session::Io::ReadBody)).
//! The two never overlap, so one buffer serves both.
//!
//! Paid per connection, not per read: the buffer grows to what is asked (zeroing only
//! what it adds, once) and is reused as it is, so no read zeroes it again. Its size is
//! capped whatever the configuration asks ([`Config::body_chunk`] and
//! [`Config::bdat_inline_limit`] may be anything up to `usize::MAX`), and a driver
//! [`release`](Scratch::release)s it when its connection goes idle, so that a pooled
//! connection holds no buffer while it waits.
//!
//! [`Config::body_chunk`]: smtp_proto::Config::body_chunk
//! [`Config::bdat_inline_limit`]: smtp_proto::Config::bdat_inline_limit

/// A driver's read buffer; see the [module documentation](self).
#[derive(Debug, Default)]
pub struct Scratch {
    /// Every octet initialised; its length only grows until released.
    buf: Vec<u8>,
}

impl Scratch {
    /// The most one read from the server takes. Replies are short (RFC 5321
    /// §4.5.3.1.5: 512 octets a line); a longer one takes several reads.
    pub const INPUT: usize = 4096;
    /// The most content read for one chunk, whatever `max_chunk` the core asks for: the
    /// core takes fewer octets than it asked for as a chunk like any other.
    pub const MAX_CHUNK: usize = 1024 * 1024;
    /// The first size for content: a small message is read whole without zeroing the
    /// full chunk size for it.
    const FIRST_CHUNK: usize = 8 * 1024;

    /// A buffer for one read from the server.
    pub fn input(&mut self) -> &mut [u8] {
        if self.buf.len() < Self::INPUT {
            self.buf.resize(Self::INPUT, 0);
        }
        &mut self.buf
    }

    /// Where the next octets of a content chunk go, `filled` octets of it read so far,
    /// the core having asked for up to `max_chunk`: `None` once the chunk is full. Grows
    /// the buffer, doubling, as a chunk fills it.
    pub fn chunk_room(&mut self, filled: usize, max_chunk: usize) -> Option<&mut [u8]> {
        let limit = max_chunk.min(Self::MAX_CHUNK);
        if filled >= limit {
            return None;
        }
        if filled >= self.buf.len() {
            let grown = (self.buf.len() * 2).max(Self::FIRST_CHUNK).min(limit);
            self.buf.resize(grown, 0);
        }
        let end = self.buf.len().min(limit);
        Some(&mut self.buf[filled..end])
    }

    /// The first `n` octets: what the reads put there.
    pub fn filled(&self, n: usize) -> &[u8] {
        &self.buf[..n.min(self.buf.len())]
    }

    /// Gives the buffer back to the allocator: the connection is idle.
    pub fn release(&mut self) {
        self.buf = Vec::new();
    }

    /// Whether no buffer is held (a new one or [`released`](Scratch::release)).
    pub fn is_released(&self) -> bool {
        self.buf.is_empty()
    }

    /// The octets held.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::Scratch;

    /// A configuration may ask for chunks of any size (`Config::validate` only refuses
    /// 0): the buffer stays at the cap.
    #[test]
    fn a_chunk_near_usize_max_stops_at_the_cap() {
        let mut s = Scratch::default();
        let mut filled = 0;
        while let Some(room) = s.chunk_room(filled, usize::MAX) {
            filled += room.len();
        }
        assert_eq!(filled, Scratch::MAX_CHUNK);
        assert_eq!(s.capacity(), Scratch::MAX_CHUNK);
    }

    /// A small chunk takes a small buffer, which the next chunk reuses as it is.
    #[test]
    fn a_small_chunk_takes_a_small_buffer_kept_for_the_next() {
        let mut s = Scratch::default();
        let room = s.chunk_room(0, 64 * 1024).unwrap();
        assert_eq!(room.len(), Scratch::FIRST_CHUNK);
        room[..2].copy_from_slice(b"Hi");
        assert_eq!(s.filled(2), b"Hi");
        let before = s.filled(0).as_ptr();
        assert_eq!(s.chunk_room(0, 64 * 1024).unwrap().as_ptr(), before);
        assert_eq!(s.chunk_room(10, 12).unwrap().len(), 2);
        assert!(s.chunk_room(12, 12).is_none());
    }

    /// A chunk size below the first buffer size is honoured (a test configuration
    /// asks for chunks of a few octets).
    #[test]
    fn a_tiny_chunk_size_gets_a_tiny_room() {
        let mut s = Scratch::default();
        assert_eq!(s.chunk_room(0, 8).unwrap().len(), 8);
        assert_eq!(s.chunk_room(5, 8).unwrap().len(), 3);
    }

    #[test]
    fn released_holds_nothing_and_input_is_at_least_one_read() {
        let mut s = Scratch::default();
        assert!(s.is_released());
        assert_eq!(s.input().len(), Scratch::INPUT);
        s.release();
        assert!(s.is_released() && s.capacity() == 0);
    }
}
