//! CRAM-MD5 (RFC 2195): the response is `user SP hex(HMAC-MD5(password, challenge))`.
//!
//! MD5 (RFC 1321) and HMAC (RFC 2104) are written out here rather than pulled in as a
//! dependency: they are small, and the feature is off by default.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use super::auth::{Sasl, SaslError};
use crate::secret::Secret;

pub(crate) struct CramMd5 {
    user: String,
    password: Secret,
    done: bool,
}

impl CramMd5 {
    pub(crate) fn new(user: &str, password: &Secret) -> Self {
        CramMd5 {
            user: user.into(),
            password: password.clone(),
            done: false,
        }
    }
}

impl Sasl for CramMd5 {
    fn initial_response(&mut self) -> Option<Secret> {
        None
    }

    fn respond(&mut self, challenge: &[u8]) -> Result<Secret, SaslError> {
        if self.done {
            return Err(SaslError);
        }
        self.done = true;
        let mac = hmac_md5(self.password.expose(), challenge);
        let mut v = Vec::with_capacity(self.user.len() + 33);
        v.extend_from_slice(self.user.as_bytes());
        v.push(b' ');
        for b in mac {
            v.push(HEX[(b >> 4) as usize]);
            v.push(HEX[(b & 15) as usize]);
        }
        Ok(Secret::new(v))
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// RFC 2104 with MD5's 64-octet block.
pub(crate) fn hmac_md5(key: &[u8], msg: &[u8]) -> [u8; 16] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..16].copy_from_slice(&md5(&[key]));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let ipad: Box<[u8]> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Box<[u8]> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = md5(&[&ipad, msg]);
    md5(&[&opad, &inner])
}

const S: [u32; 64] = [
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9,
    14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15,
    21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
];

/// RFC 1321 §3.4: K[i] = floor(abs(sin(i + 1)) * 2^32).
const K: [u32; 64] = [
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
];

/// MD5 of the concatenation of `parts`.
pub(crate) fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut data: Vec<u8> = Vec::with_capacity(len + 72);
    for p in parts {
        data.extend_from_slice(p);
    }
    data.push(0x80);
    while data.len() % 64 != 56 {
        data.push(0);
    }
    data.extend_from_slice(&((len as u64).wrapping_mul(8)).to_le_bytes());
    let mut h: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
    for block in data.chunks_exact(64) {
        let mut m = [0u32; 16];
        for (i, w) in block.chunks_exact(4).enumerate() {
            m[i] = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        }
        let [mut a, mut b, mut c, mut d] = h;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let t = d;
            d = c;
            c = b;
            b = b.wrapping_add(
                a.wrapping_add(f)
                    .wrapping_add(K[i])
                    .wrapping_add(m[g])
                    .rotate_left(S[i]),
            );
            a = t;
        }
        h[0] = h[0].wrapping_add(a);
        h[1] = h[1].wrapping_add(b);
        h[2] = h[2].wrapping_add(c);
        h[3] = h[3].wrapping_add(d);
    }
    let mut out = [0u8; 16];
    for (i, w) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| alloc::format!("{x:02x}")).collect()
    }

    #[test]
    fn md5_rfc1321_vectors() {
        assert_eq!(hex(&md5(&[b""])), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(hex(&md5(&[b"abc"])), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            hex(&md5(&[
                b"12345678901234567890123456789012345678901234567890123456789012345678901234567890"
            ])),
            "57edf4a22be3c955ac49da2e2107b67a"
        );
    }

    #[test]
    fn hmac_md5_rfc2104_vector() {
        assert_eq!(
            hex(&hmac_md5(b"Jefe", b"what do ya want for nothing?")),
            "750c783e6ab0b503eaa86e310a5db738"
        );
    }

    /// RFC 2202 §3 test case 6 (a key longer than the 64-octet block is hashed first),
    /// and a key of exactly one block, which is used as it is (RFC 2104 §3); the second
    /// value is from Python's hmac module.
    #[test]
    fn hmac_md5_keys_at_and_over_the_block_size() {
        let msg = b"Test Using Larger Than Block-Size Key - Hash Key First";
        assert_eq!(
            hex(&hmac_md5(&[0xaa; 80], msg)),
            "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"
        );
        assert_eq!(
            hex(&hmac_md5(&[0xaa; 64], msg)),
            "cfa7cadd3e5538d2567116f061e0c424"
        );
    }

    /// Messages around the padding boundary: 55 octets take one block, 56 and 64 two
    /// (RFC 1321 §3.1, §3.2); values from Python's hashlib.
    #[test]
    fn md5_padding_boundaries() {
        assert_eq!(
            hex(&md5(&[&[b'a'; 55]])),
            "ef1772b6dff9a122358552954ad0df65"
        );
        assert_eq!(
            hex(&md5(&[&[b'a'; 56]])),
            "3b0c8ac703f828b04c6c197006d17218"
        );
        assert_eq!(
            hex(&md5(&[&[b'a'; 64]])),
            "014842d480b571495a4a0363793f7367"
        );
        assert_eq!(
            md5(&[b"ab", b"c"]),
            md5(&[b"abc"]),
            "parts are concatenated"
        );
    }

    /// RFC 2195 §2's example exchange.
    #[test]
    fn rfc2195_example() {
        let mut m = CramMd5::new("tim", &Secret::from("tanstaaftanstaaf"));
        let r = m
            .respond(b"<1896.697170952@postoffice.reston.mci.net>")
            .unwrap();
        assert_eq!(r.expose(), b"tim b913a602c7eda7a495b4e6e7334d3890");
        assert!(m.respond(b"again").is_err());
    }
}
