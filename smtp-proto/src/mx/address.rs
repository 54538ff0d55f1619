//! Which addresses an MX host (or the MTA-STS policy host) may have: the ranges no
//! public mail host uses are refused unless the caller allows them, so that a hostile
//! DNS answer cannot point the sender at its own network (RFC 6890 special-purpose
//! ranges; RFC 7505 §4.3 warns of such records).

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::str::FromStr;

/// An address range, `addr/prefix`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

/// A range that is not `address/prefix` with the prefix within the address's width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CidrError;

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not an address range ADDR/PREFIX")
    }
}

#[cfg(feature = "std")]
impl std::error::Error for CidrError {}

impl Cidr {
    /// The range of `prefix` leading bits of `addr`; `None` when the prefix is wider
    /// than the address.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Self> {
        let width = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= width).then_some(Cidr { addr, prefix })
    }

    /// Whether `ip` is in the range (an IPv4-mapped IPv6 address counts as its IPv4
    /// address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = CidrError;
    /// `127.0.0.0/8`, `fd00::/8`, or a bare address (the range of that one address).
    fn from_str(s: &str) -> Result<Self, CidrError> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| CidrError)?;
        let prefix = match prefix {
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse().map_err(|_| CidrError)?
            }
            Some(_) => return Err(CidrError),
            None if addr.is_ipv4() => 32,
            None => 128,
        };
        Cidr::new(addr, prefix).ok_or(CidrError)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl fmt::Debug for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cidr({self})")
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Whether the default address policy refuses `ip`: unspecified, loopback, private
/// (RFC 1918, RFC 4193), shared (RFC 6598), link-local, multicast, broadcast and
/// reserved ranges. An IPv4-mapped IPv6 address is judged as its IPv4 address.
pub fn refused_by_default(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => v4_refused(v4),
        IpAddr::V6(v6) => v6_refused(v6),
    }
}

fn v4_refused(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_unspecified()
        || a == 0
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || (a == 100 && (64..128).contains(&b))
        || a >= 240
}

fn v6_refused(ip: Ipv6Addr) -> bool {
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
}

/// The address policy: `ip` is usable when `allow` holds it or the default does not
/// refuse it.
pub(crate) fn admits(allow: &[Cidr], ip: IpAddr) -> bool {
    allow.iter().any(|c| c.contains(ip)) || !refused_by_default(ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_default_refuses_local_and_special_ranges_only() {
        for refused in [
            "0.0.0.0",
            "127.0.0.11",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.1.1",
            "224.0.0.1",
            "255.255.255.255",
            "100.64.0.1",
            "::",
            "::1",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(refused_by_default(ip(refused)), "{refused}");
        }
        // Every 0.x.y.z, and 100.64.0.0/10 only (RFC 6598).
        for refused in ["0.1.2.3", "100.64.0.0", "100.127.255.255"] {
            assert!(refused_by_default(ip(refused)), "{refused}");
        }
        for public in [
            "192.0.2.1",
            "8.8.8.8",
            "2001:db8::1",
            "::ffff:8.8.8.8",
            "100.1.2.3",
            "100.128.0.1",
            "8.64.0.1",
        ] {
            assert!(!refused_by_default(ip(public)), "{public}");
        }
    }

    #[test]
    fn an_allowed_range_admits_what_the_default_refuses() {
        let lab: Cidr = "127.0.0.0/8".parse().unwrap();
        assert!(admits(&[lab], ip("127.0.0.11")));
        assert!(admits(&[lab], ip("::ffff:127.0.0.11")));
        assert!(!admits(&[lab], ip("10.0.0.1")));
        assert!(!admits(&[], ip("127.0.0.11")));
        let one: Cidr = "::1".parse().unwrap();
        assert!(one.contains(ip("::1")) && !one.contains(ip("::2")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("10.0.0.1")));
        for bad in [
            "127.0.0.0/33",
            "::/129",
            "x/8",
            "127.0.0.0/",
            "127.0.0.0/+8",
        ] {
            assert_eq!(bad.parse::<Cidr>(), Err(CidrError), "{bad}");
        }
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")));
        let host: Cidr = "192.0.2.7".parse().unwrap();
        assert!(host.contains(ip("192.0.2.7")) && !host.contains(ip("192.0.2.8")));
        assert_eq!(
            alloc::format!("{host} {host:?}"),
            "192.0.2.7/32 Cidr(192.0.2.7/32)"
        );
        assert_eq!(alloc::format!("{v6}"), "2001:db8::/32");
        assert_eq!(
            alloc::format!("{CidrError}"),
            "not an address range ADDR/PREFIX"
        );
    }
}
