//! Decimal numbers for command lines without `format!`, so that encoding allocates only
//! in the caller's buffer.

use alloc::vec::Vec;

/// Appends the decimal digits of `n`.
pub(crate) fn write_u64(out: &mut Vec<u8>, mut n: u64) {
    // u64::MAX has 20 digits.
    let mut buf = [0u8; 20];
    let mut start = buf.len();
    loop {
        start -= 1;
        if let Some(slot) = buf.get_mut(start) {
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(buf.get(start..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::write_u64;
    use alloc::vec::Vec;

    #[test]
    fn digits() {
        for (n, s) in [
            (0, "0"),
            (7, "7"),
            (10, "10"),
            (1234567890, "1234567890"),
            (u64::MAX, "18446744073709551615"),
        ] {
            let mut out = Vec::new();
            write_u64(&mut out, n);
            assert_eq!(out, s.as_bytes());
        }
    }
}
