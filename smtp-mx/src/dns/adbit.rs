//! A stub resolver asking one validating resolver and trusting its AD bit (RFC 4035
//! §3.2.3, RFC 6840 §5.7) only when it runs on this host (a loopback address), as
//! Postfix, Exim and mox do: the path to any other resolver is not secure, so its AD
//! bit could be forged on the way. UDP first, TCP when the answer is truncated
//! (RFC 7766 §5). std sockets only: no runtime.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use hickory_proto::op::Message;
use smtp_proto::mx::{DnsResult, RType};

use super::{wire, DnsError, Resolve};

/// The AD-bit backend: a validating resolver's address (e.g. unbound on
/// `127.0.0.1:53`). Cheap to clone.
///
/// The resolver on loopback must validate itself: a forwarder that passes on the AD bit
/// of an upstream resolver (dnsmasq's `proxy-dnssec`, say) would make a forged bit look
/// trusted (RFC 6840 §5.7 asks for a secure path to a validating resolver).
#[derive(Clone, Debug)]
pub struct AdBit {
    server: SocketAddr,
    trust_ad: bool,
}

impl AdBit {
    /// Asks `server`. Its AD bit makes answers [`Secure`](smtp_proto::mx::Security) only
    /// when `server` is a loopback address; from any other address every answer is
    /// insecure (so no DANE), whatever the bit says.
    pub fn new(server: SocketAddr) -> Self {
        AdBit {
            server,
            trust_ad: server.ip().is_loopback(),
        }
    }

    /// Whether the AD bit of this resolver's answers is taken.
    pub fn trusts_ad(&self) -> bool {
        self.trust_ad
    }

    fn udp(&self, query: &Message, bytes: &[u8], deadline: Instant) -> Result<Message, DnsError> {
        let local: SocketAddr = match self.server {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let socket = UdpSocket::bind(local).map_err(DnsError::Io)?;
        // Connected: datagrams from other addresses are dropped by the kernel.
        socket.connect(self.server).map_err(DnsError::Io)?;
        socket.send(bytes).map_err(DnsError::Io)?;
        let mut buf = vec![0; usize::from(wire::UDP_PAYLOAD).max(4096)];
        loop {
            socket
                .set_read_timeout(Some(remaining(deadline)?))
                .map_err(DnsError::Io)?;
            let n = socket.recv(&mut buf).map_err(io_error)?;
            // RFC 5452 §9.1: a datagram not answering the question (another ID, a
            // spoofing attempt) is dropped and the wait goes on; one with our ID that
            // does not decode is the resolver's malformed answer.
            match Message::from_vec(&buf[..n]) {
                Ok(m) if wire::answers(&m, query) => return Ok(m),
                Ok(_) => {}
                Err(e) if buf[..n].starts_with(&query.metadata.id.to_be_bytes()) => {
                    return Err(DnsError::Malformed(e.to_string()))
                }
                Err(_) => {}
            }
        }
    }

    fn tcp(&self, query: &Message, bytes: &[u8], deadline: Instant) -> Result<Message, DnsError> {
        let mut stream =
            TcpStream::connect_timeout(&self.server, remaining(deadline)?).map_err(io_error)?;
        // RFC 1035 §4.2.2: each message prefixed by its length.
        let len =
            u16::try_from(bytes.len()).map_err(|_| DnsError::Malformed("query too long".into()))?;
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(bytes);
        stream
            .set_write_timeout(Some(remaining(deadline)?))
            .map_err(DnsError::Io)?;
        stream.write_all(&framed).map_err(io_error)?;
        let mut read = |buf: &mut [u8]| -> Result<(), DnsError> {
            stream
                .set_read_timeout(Some(remaining(deadline)?))
                .map_err(DnsError::Io)?;
            stream.read_exact(buf).map_err(io_error)
        };
        let mut len = [0; 2];
        read(&mut len)?;
        let mut buf = vec![0; usize::from(u16::from_be_bytes(len))];
        read(&mut buf)?;
        let message = Message::from_vec(&buf).map_err(|e| DnsError::Malformed(e.to_string()))?;
        if !wire::answers(&message, query) {
            return Err(DnsError::Malformed("TCP answer to another question".into()));
        }
        Ok(message)
    }
}

/// Time left before `deadline`, or a timeout.
fn remaining(deadline: Instant) -> Result<Duration, DnsError> {
    match deadline.checked_duration_since(Instant::now()) {
        Some(left) if !left.is_zero() => Ok(left),
        _ => Err(DnsError::Timeout),
    }
}

/// A socket timeout is a lookup timeout.
fn io_error(e: io::Error) -> DnsError {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => DnsError::Timeout,
        _ => DnsError::Io(e),
    }
}

impl Resolve for AdBit {
    fn resolve(&self, name: &str, rtype: RType, timeout: Duration) -> Result<DnsResult, DnsError> {
        let deadline = Instant::now() + timeout;
        let qname = wire::name(name)?;
        let query = wire::query(rand_id(), &qname, rtype);
        let bytes = query
            .to_vec()
            .map_err(|e| DnsError::Malformed(e.to_string()))?;
        let mut response = self.udp(&query, &bytes, deadline)?;
        if response.metadata.truncation {
            response = self.tcp(&query, &bytes, deadline)?;
        }
        wire::result(&response, &qname, rtype, self.trust_ad)
    }
}

/// A query ID hard to guess (RFC 5452 §4), from hickory-proto's random source.
fn rand_id() -> u16 {
    Message::query().metadata.id
}
