//! Byte scans that look at several octets per step, for the paths that pay per byte:
//! the reply fast path's search for the line end, and the DATA/BDAT framing's check
//! for clean blocks of CRLF text.
//!
//! Each helper here has a plain one-octet-at-a-time definition, and the tests below
//! compare the two for every octet value at every position (as httparse does for its
//! SIMD module), since a mistake in word arithmetic shows only for particular octets at
//! particular offsets.

/// The index of the first octet of `s` equal to `a` or `b`.
///
/// For the short haystacks of reply lines (10 to 40 octets) this beats `memchr`, whose
/// vector setup and dispatch cost more than the scan: eight octets are tested at a time
/// in a `u64`. The classic zero-byte test can flag a false match only above a true one,
/// so the lowest flagged octet is always exact.
#[inline]
pub(crate) fn find2(s: &[u8], a: u8, b: u8) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let (pa, pb) = (ONES * u64::from(a), ONES * u64::from(b));
    let mut chunks = s.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let (x, y) = (w ^ pa, w ^ pb);
        let hits = ((x.wrapping_sub(ONES) & !x) | (y.wrapping_sub(ONES) & !y)) & HIGH;
        if hits != 0 {
            return Some(base + (hits.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    let rest = chunks.remainder();
    rest.iter()
        .position(|&c| c == a || c == b)
        .map(|i| base + i)
}

/// Octet pairs examined at once by [`clean`]. Long enough that the check amortises its
/// setup and the framing loop's bookkeeping (256 took 2 to 4% fewer instructions than 128
/// for a 2 KiB body; 512 no longer unrolls for DATA and costs more), short enough that a
/// block with one '.' at a line start costs little to redo slowly.
pub(crate) const BLOCK: usize = 256;

/// True if no pair of neighbouring octets in `s` needs a change for DATA or text BDAT:
/// every CR is followed by LF, every LF is preceded by CR and (with `STUFF`, for DATA)
/// no '.' follows an LF (RFC 5321 §2.3.8, §4.5.2).
///
/// Written as a branch-free OR over all pairs so that the compiler vectorises it: most
/// blocks of ordinary CRLF text are clean and are then copied as part of one long run.
#[inline(always)]
pub(crate) fn clean<const STUFF: bool>(s: &[u8; BLOCK + 1]) -> bool {
    let mut bad = 0u8;
    for (&x, &y) in s[..BLOCK].iter().zip(&s[1..]) {
        let x_cr = x == b'\r';
        bad |= (x_cr != (y == b'\n')) as u8;
        // A '.' after a CR already fails the CR test above, so only LF '.' is checked.
        if STUFF {
            bad |= ((x == b'\n') & (y == b'.')) as u8;
        }
    }
    bad == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// [`find2`] one octet at a time.
    fn find2_plain(s: &[u8], a: u8, b: u8) -> Option<usize> {
        s.iter().position(|&c| c == a || c == b)
    }

    /// [`clean`] one pair at a time.
    fn clean_plain(s: &[u8], stuff: bool) -> bool {
        s.windows(2).all(|pair| {
            let (x, y) = (pair[0], pair[1]);
            (x == b'\r') == (y == b'\n') && !(stuff && x == b'\n' && y == b'.')
        })
    }

    /// Every octet value at every position of every length up to three words, over
    /// fills that could trip the borrow logic, with and without a match after it.
    #[test]
    fn find2_every_octet_at_every_position() {
        for len in 0..=24 {
            for at in 0..len {
                for value in 0..=255u8 {
                    for fill in [0u8, 1, b'\n' + 1, b'\r' - 1, b'a', 0x7f, 0x80, 0xff] {
                        for later in [false, true] {
                            let mut s = vec![fill; len];
                            s[at] = value;
                            if later && at + 1 < len {
                                s[len - 1] = b'\n';
                            }
                            for (a, b) in [(b'\n', b'\r'), (b'\r', b'\n'), (b' ', b' ')] {
                                assert_eq!(find2(&s, a, b), find2_plain(&s, a, b), "{s:?} {a} {b}");
                            }
                        }
                    }
                }
            }
        }
    }

    /// Every octet value at every position of a clean block of CRLF text, and every
    /// octet value after each of CR, LF and '.' there.
    #[test]
    fn clean_every_octet_at_every_position() {
        let mut text = [0u8; BLOCK + 1];
        for (i, b) in text.iter_mut().enumerate() {
            *b = match i % 10 {
                8 => b'\r',
                9 => b'\n',
                _ => b'a' + (i % 10) as u8,
            };
        }
        assert!(clean::<true>(&text) && clean::<false>(&text));
        for at in 0..=BLOCK {
            for value in 0..=255u8 {
                let mut s = text;
                s[at] = value;
                assert_eq!(clean::<true>(&s), clean_plain(&s, true), "{at} {value}");
                assert_eq!(clean::<false>(&s), clean_plain(&s, false), "{at} {value}");
                if at < BLOCK {
                    for before in [b'\r', b'\n', b'.'] {
                        let mut s = text;
                        s[at] = before;
                        s[at + 1] = value;
                        assert_eq!(clean::<true>(&s), clean_plain(&s, true));
                        assert_eq!(clean::<false>(&s), clean_plain(&s, false));
                    }
                }
            }
        }
    }
}
