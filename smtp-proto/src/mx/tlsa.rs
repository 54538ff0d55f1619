//! TLSA records (RFC 6698 §2.1, RFC 7218 acronyms) and which of them SMTP may use
//! (RFC 7672 §3.1).

use alloc::vec::Vec;

/// The certificate usage field (RFC 6698 §2.1.1, RFC 7218 names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TlsaUsage {
    /// 0, PKIX-TA: not usable for SMTP (RFC 7672 §3.1.3).
    PkixTa,
    /// 1, PKIX-EE: not usable for SMTP (RFC 7672 §3.1.3).
    PkixEe,
    /// 2, DANE-TA: a trust anchor for the server's chain (RFC 7672 §3.1.2).
    DaneTa,
    /// 3, DANE-EE: the server's own key or certificate (RFC 7672 §3.1.1).
    DaneEe,
    /// Any other value.
    Other(u8),
}

/// The selector field (RFC 6698 §2.1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TlsaSelector {
    /// 0: the whole certificate (DER).
    Cert,
    /// 1: the SubjectPublicKeyInfo (DER).
    Spki,
    /// Any other value.
    Other(u8),
}

/// The matching type field (RFC 6698 §2.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TlsaMatching {
    /// 0: the selected data itself.
    Full,
    /// 1: its SHA-256 digest (32 bytes).
    Sha256,
    /// 2: its SHA-512 digest (64 bytes).
    Sha512,
    /// Any other value.
    Other(u8),
}

/// One TLSA record.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Tlsa {
    /// Certificate usage.
    pub usage: TlsaUsage,
    /// Selector.
    pub selector: TlsaSelector,
    /// Matching type.
    pub matching: TlsaMatching,
    /// Certificate association data.
    pub data: Vec<u8>,
}

impl Tlsa {
    /// A record from its wire fields.
    pub fn from_fields(usage: u8, selector: u8, matching: u8, data: Vec<u8>) -> Self {
        Tlsa {
            usage: match usage {
                0 => TlsaUsage::PkixTa,
                1 => TlsaUsage::PkixEe,
                2 => TlsaUsage::DaneTa,
                3 => TlsaUsage::DaneEe,
                n => TlsaUsage::Other(n),
            },
            selector: match selector {
                0 => TlsaSelector::Cert,
                1 => TlsaSelector::Spki,
                n => TlsaSelector::Other(n),
            },
            matching: match matching {
                0 => TlsaMatching::Full,
                1 => TlsaMatching::Sha256,
                2 => TlsaMatching::Sha512,
                n => TlsaMatching::Other(n),
            },
            data,
        }
    }

    /// Whether SMTP may use the record (RFC 7672 §3.1): DANE-TA or DANE-EE, a known
    /// selector and matching type, and a digest of the right length. A TLSA RRset with
    /// records but none usable still requires encryption, unverified (RFC 7672 §2.2).
    pub fn is_usable(&self) -> bool {
        let usage = matches!(self.usage, TlsaUsage::DaneTa | TlsaUsage::DaneEe);
        let selector = matches!(self.selector, TlsaSelector::Cert | TlsaSelector::Spki);
        let data = match self.matching {
            TlsaMatching::Full => !self.data.is_empty(),
            TlsaMatching::Sha256 => self.data.len() == 32,
            TlsaMatching::Sha512 => self.data.len() == 64,
            TlsaMatching::Other(_) => false,
        };
        usage && selector && data
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn only_dane_usages_with_known_fields_and_right_digest_lengths_are_usable() {
        assert!(Tlsa::from_fields(3, 1, 1, vec![0; 32]).is_usable());
        assert!(Tlsa::from_fields(2, 0, 2, vec![0; 64]).is_usable());
        assert!(Tlsa::from_fields(2, 0, 0, vec![0x30]).is_usable());
        // RFC 7672 §3.1.3: PKIX usages are not for SMTP.
        assert!(!Tlsa::from_fields(0, 1, 1, vec![0; 32]).is_usable());
        assert!(!Tlsa::from_fields(1, 1, 1, vec![0; 32]).is_usable());
        // A 31-byte SHA-256, an unknown selector or matching type.
        assert!(!Tlsa::from_fields(3, 1, 1, vec![0; 31]).is_usable());
        assert!(!Tlsa::from_fields(3, 2, 1, vec![0; 32]).is_usable());
        assert!(!Tlsa::from_fields(3, 1, 3, vec![0; 32]).is_usable());
        assert!(!Tlsa::from_fields(3, 0, 0, vec![]).is_usable());
    }
}
