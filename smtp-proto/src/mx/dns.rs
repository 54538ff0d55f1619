//! DNS answers as the planner consumes them: records with the DNSSEC status the
//! resolver established (RFC 4033 §5), so that a backend validating in process and one
//! trusting a loopback resolver's AD bit look the same.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, Ipv6Addr};

use super::tlsa::Tlsa;

/// The record types the planner asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RType {
    /// Mail exchangers (RFC 5321 §5.1).
    Mx,
    /// `_mta-sts` (RFC 8461 §3.1) and `_smtp._tls` (RFC 8460 §3) records.
    Txt,
    /// IPv4 addresses.
    A,
    /// IPv6 addresses.
    Aaaa,
    /// `_25._tcp.<host>` (RFC 7672 §2.2).
    Tlsa,
}

/// How a lookup ended, as far as the planner cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rcode {
    /// NOERROR: `records` holds the answer; empty means NODATA.
    NoError,
    /// NXDOMAIN: the name does not exist.
    NxDomain,
    /// SERVFAIL, REFUSED, a malformed answer or any other failure to get an answer.
    ServFail,
    /// No answer before the deadline.
    Timeout,
}

/// The DNSSEC status of an answer (RFC 4033 §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Security {
    /// Validated from a trust anchor (or the AD bit of a trusted validating resolver).
    Secure,
    /// Provably unsigned (an insecure delegation), or from a resolver that does not say.
    Insecure,
    /// Signed but failing validation: never to be treated as "no records".
    Bogus,
    /// The status could not be determined (RFC 4033 §5): treated like bogus.
    Indeterminate,
}

/// One record of an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RData {
    /// An MX record. `exchange` is the name as served, lower-cased, without the
    /// trailing dot; `"."` (empty) stands for a null MX (RFC 7505).
    Mx {
        /// Lower is preferred.
        preference: u16,
        /// The mail exchanger's name.
        exchange: String,
    },
    /// A TXT record: its character-strings concatenated (RFC 7208 §3.3 style, as RFC 8461
    /// §3.1 and RFC 8460 §3 read them).
    Txt(Vec<u8>),
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// A TLSA record.
    Tlsa(Tlsa),
}

/// The answer to one lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsResult {
    /// How the lookup ended.
    pub rcode: Rcode,
    /// The DNSSEC status of the answer (of the records, or of the denial).
    pub security: Security,
    /// The CNAME chain followed to reach the answer, in order: each target name with
    /// the status of the CNAME record that led to it.
    pub aliases: Vec<(String, Security)>,
    /// The records of the type asked for, at the end of the chain.
    pub records: Vec<RData>,
}

impl DnsResult {
    /// An answer with no CNAME chain.
    pub fn new(rcode: Rcode, security: Security, records: Vec<RData>) -> Self {
        DnsResult {
            rcode,
            security,
            aliases: Vec::new(),
            records,
        }
    }
}
