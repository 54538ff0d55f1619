//! Where the proxy is and how to ask it: parsed from `socks5://[user:pass@]host[:port]`
//! (the client resolves the SMTP server's name and sends an address) or `socks5h://`
//! (the proxy resolves the name it is sent).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use super::{Handshake, ProxyError};

/// The port of a URL that names none (IANA's for SOCKS, as curl assumes).
const DEFAULT_PORT: u16 = 1080;

/// A SOCKS5 proxy. `Debug` and `Display` never show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    host: String,
    port: u16,
    /// `socks5h`: the proxy resolves the SMTP server's name.
    remote_dns: bool,
    credentials: Option<Credentials>,
}

/// RFC 1929's username and password, each 1 to 255 octets.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Credentials {
    pub(super) user: String,
    pub(super) password: String,
}

/// What the proxy is asked to connect to (RFC 1928 §4, DST.ADDR).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A domain name the proxy resolves (at most 255 octets).
    Name(String),
}

/// A proxy URL that cannot be used; its text never holds the password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidProxy(&'static str);

impl fmt::Display for InvalidProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid proxy URL: {}", self.0)
    }
}

impl std::error::Error for InvalidProxy {}

impl Proxy {
    /// Parses `socks5://[user:pass@]host[:port][/]` or `socks5h://...` (the scheme in
    /// any case; the port 1080 when none is given; user and password percent-decoded,
    /// each 1 to 255 octets as RFC 1929 §2 allows; an IPv6 host in brackets).
    pub fn parse(url: &str) -> Result<Proxy, InvalidProxy> {
        let bad = InvalidProxy;
        let (scheme, rest) = url
            .split_once("://")
            .ok_or(bad("expected socks5://HOST:PORT or socks5h://HOST:PORT"))?;
        let remote_dns = if scheme.eq_ignore_ascii_case("socks5h") {
            true
        } else if scheme.eq_ignore_ascii_case("socks5") {
            false
        } else {
            return Err(bad("the scheme must be socks5 or socks5h"));
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err(bad("a proxy URL has no path, query or fragment"));
        }
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let credentials = userinfo
            .map(|u| {
                let (user, password) = u
                    .split_once(':')
                    .ok_or(bad("expected user:password before '@'"))?;
                let (user, password) = (decode(user)?, decode(password)?);
                for s in [&user, &password] {
                    if s.is_empty() || s.len() > 255 {
                        return Err(bad("user and password must each be 1 to 255 octets"));
                    }
                }
                Ok(Credentials { user, password })
            })
            .transpose()?;
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or(bad("missing ']'"))?;
            match after {
                "" => (host, None),
                _ => (
                    host,
                    Some(after.strip_prefix(':').ok_or(bad("expected :PORT"))?),
                ),
            }
        } else {
            match hostport.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        if host.is_empty() || host.len() > 255 || host.contains(|c: char| c.is_ascii_control()) {
            return Err(bad("the host must be 1 to 255 octets"));
        }
        let port = match port {
            None => DEFAULT_PORT,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or(bad("the port must be 1 to 65535"))?,
        };
        Ok(Proxy {
            host: host.to_owned(),
            port,
            remote_dns,
            credentials,
        })
    }

    /// The proxy's host (an IPv6 address without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the proxy resolves the SMTP server's name (`socks5h`).
    pub fn resolves_remotely(&self) -> bool {
        self.remote_dns
    }

    /// The username, if the URL gave credentials.
    pub fn user(&self) -> Option<&str> {
        self.credentials.as_ref().map(|c| c.user.as_str())
    }

    /// What to ask the proxy for to reach `host`: an IP address as it is, a name as it
    /// is when the proxy resolves names (`socks5h`); `None` for a name under `socks5`,
    /// which the caller resolves and passes as [`Destination::Ip`].
    pub fn destination(&self, host: &str) -> Option<Destination> {
        let literal = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if let Ok(ip) = literal.parse::<IpAddr>() {
            return Some(Destination::Ip(ip));
        }
        self.remote_dns.then(|| Destination::Name(host.to_owned()))
    }

    /// The handshake that asks this proxy to connect to `destination` and `port`.
    /// [`ProxyError::InvalidName`] for a name that cannot be sent.
    pub fn handshake(&self, destination: Destination, port: u16) -> Result<Handshake, ProxyError> {
        Handshake::new(destination, port, self.credentials.clone())
    }

    /// The URL without the password.
    fn redacted(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.remote_dns { "socks5h" } else { "socks5" };
        write!(f, "{scheme}://")?;
        if let Some(c) = &self.credentials {
            write!(f, "{}:<redacted>@", c.user)?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl FromStr for Proxy {
    type Err = InvalidProxy;

    fn from_str(url: &str) -> Result<Proxy, InvalidProxy> {
        Proxy::parse(url)
    }
}

/// The URL, the password replaced by `<redacted>`.
impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.redacted(f)
    }
}

/// The URL, the password replaced by `<redacted>`.
impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Proxy(")?;
        self.redacted(f)?;
        f.write_str(")")
    }
}

/// RFC 3986 §2.1 percent-decoding of a URL's user or password.
fn decode(s: &str) -> Result<String, InvalidProxy> {
    let bad = InvalidProxy("bad percent-encoding in user or password");
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b != b'%' {
            out.push(b);
            continue;
        }
        let hex = |b: Option<u8>| (b? as char).to_digit(16);
        let (hi, lo) = (hex(bytes.next()), hex(bytes.next()));
        let (Some(hi), Some(lo)) = (hi, lo) else {
            return Err(bad);
        };
        out.push((hi * 16 + lo) as u8);
    }
    String::from_utf8(out).map_err(|_| bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_credentials_ports_and_ipv6() {
        let p = Proxy::parse("SOCKS5H://al%40ice:p%3Ass@proxy.example:1081/").unwrap();
        assert!(p.resolves_remotely());
        assert_eq!(
            (p.host(), p.port(), p.user()),
            ("proxy.example", 1081, Some("al@ice"))
        );
        assert_eq!(p.credentials.as_ref().unwrap().password, "p:ss");
        let p: Proxy = "socks5://[::1]:9050".parse().unwrap();
        assert!(!p.resolves_remotely());
        assert_eq!((p.host(), p.port(), p.user()), ("::1", 9050, None));
        assert_eq!(Proxy::parse("socks5://h").unwrap().port(), 1080);
        assert_eq!(p.to_string(), "socks5://[::1]:9050");
    }

    #[test]
    fn bad_urls_are_refused_without_showing_the_password() {
        for url in [
            "http://h:1",
            "h:1080",
            "socks5://",
            "socks5://h:0",
            "socks5://h:65536",
            "socks5://h:x",
            "socks5://h:1/path",
            "socks5://user@h:1",
            "socks5://:pw@h:1",
            "socks5://u:@h:1",
            "socks5://u:p%zzsecret@h:1",
            "socks5://[::1:1",
            "socks5://[::1]x",
        ] {
            let e = Proxy::parse(url).expect_err(url).to_string();
            assert!(
                !e.contains("secret") && e.starts_with("invalid proxy URL"),
                "{url}: {e}"
            );
        }
        let long = format!("socks5://{}:p@h:1", "u".repeat(256));
        assert!(Proxy::parse(&long).is_err(), "RFC 1929: 255 octets at most");
    }

    #[test]
    fn the_password_is_never_in_debug_or_display() {
        let p = Proxy::parse("socks5://alice:hunter2@h:1").unwrap();
        for shown in [format!("{p:?}"), p.to_string()] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("alice:<redacted>@h:1"), "{shown}");
        }
    }

    #[test]
    fn names_go_to_the_proxy_only_under_socks5h_addresses_always() {
        let local = Proxy::parse("socks5://h").unwrap();
        let remote = Proxy::parse("socks5h://h").unwrap();
        assert_eq!(local.destination("mx.example"), None);
        assert_eq!(
            remote.destination("mx.example"),
            Some(Destination::Name("mx.example".into()))
        );
        for p in [&local, &remote] {
            assert_eq!(
                p.destination("[::1]"),
                Some(Destination::Ip("::1".parse().unwrap()))
            );
            assert_eq!(
                p.destination("127.0.0.1"),
                Some(Destination::Ip([127, 0, 0, 1].into()))
            );
        }
    }
}
