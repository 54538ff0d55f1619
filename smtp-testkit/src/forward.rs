//! A Unix socket in front of a TCP server: what a connector test opens instead of TCP;
//! and a SOCKS5 proxy that sends the server's greeting in the same write as its reply.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

/// A Unix socket (in a fresh directory under the system's temporary one) whose every
/// connection is forwarded to `to`, byte for byte both ways. The threads end with
/// their connections; the listener's lives as long as the test process.
///
/// # Panics
/// If the socket cannot be made.
pub fn unix_forwarder(to: SocketAddr) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "smtp-testkit-fwd-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).expect("a directory for the socket");
    let path = dir.join("smtp.sock");
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).expect("a Unix socket");
    thread::spawn(move || {
        for unix in listener.incoming() {
            let (Ok(unix), Ok(tcp)) = (unix, TcpStream::connect(to)) else {
                return;
            };
            if let Err(e) = bridge(unix, tcp) {
                eprintln!("unix_forwarder: {e}");
            }
        }
    });
    path
}

/// A stream [`bridge`] copies: a second handle on it, and a way to pass the end of
/// input on.
trait Half: Read + Write + Send + Sized + 'static {
    fn dup(&self) -> io::Result<Self>;
    fn end(&self);
}

impl Half for TcpStream {
    fn dup(&self) -> io::Result<Self> {
        self.try_clone()
    }
    fn end(&self) {
        let _ = self.shutdown(Shutdown::Write);
    }
}

impl Half for UnixStream {
    fn dup(&self) -> io::Result<Self> {
        self.try_clone()
    }
    fn end(&self) {
        let _ = self.shutdown(Shutdown::Write);
    }
}

/// Copies each way on its own thread, passing the end of input on.
fn bridge(a: impl Half, b: impl Half) -> io::Result<()> {
    let (mut a_in, mut b_out) = (a.dup()?, b.dup()?);
    let (mut b_in, mut a_out) = (b, a);
    thread::spawn(move || {
        let _ = io::copy(&mut a_in, &mut b_out);
        b_out.end();
    });
    thread::spawn(move || {
        let _ = io::copy(&mut b_in, &mut a_out);
        a_out.end();
    });
    Ok(())
}

/// A SOCKS5 proxy (RFC 1928, no authentication, CONNECT only) on 127.0.0.1 that waits
/// for the server's first bytes (an SMTP greeting) and writes them in the same write as
/// its success reply, then forwards byte for byte: a client that reads past the reply
/// loses the greeting. Its threads live as long as the test process.
///
/// # Panics
/// If it cannot listen.
pub fn eager_socks_proxy() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port for the proxy");
    let addr = listener.local_addr().expect("its address");
    thread::spawn(move || {
        for client in listener.incoming().flatten() {
            thread::spawn(move || {
                if let Err(e) = eager_socks(client) {
                    eprintln!("eager_socks_proxy: {e}");
                }
            });
        }
    });
    addr
}

fn eager_socks(mut client: TcpStream) -> io::Result<()> {
    let mut buf = [0u8; 300];
    client.read_exact(&mut buf[..3])?;
    client.write_all(&[5, 0])?;
    client.read_exact(&mut buf[..4])?;
    let to = match buf[3] {
        1 => {
            client.read_exact(&mut buf[..6])?;
            let ip: [u8; 4] = buf[..4].try_into().expect("4 octets");
            SocketAddr::from((ip, u16::from_be_bytes([buf[4], buf[5]])))
        }
        4 => {
            client.read_exact(&mut buf[..18])?;
            let ip: [u8; 16] = buf[..16].try_into().expect("16 octets");
            SocketAddr::from((ip, u16::from_be_bytes([buf[16], buf[17]])))
        }
        _ => {
            client.read_exact(&mut buf[..1])?;
            let len = usize::from(buf[0]);
            client.read_exact(&mut buf[..len + 2])?;
            let name = String::from_utf8_lossy(&buf[..len]).into_owned();
            let port = u16::from_be_bytes([buf[len], buf[len + 1]]);
            (name, port)
                .to_socket_addrs()?
                .next()
                .ok_or(io::ErrorKind::NotFound)?
        }
    };
    let mut server = TcpStream::connect(to)?;
    let n = server.read(&mut buf)?;
    let mut reply = vec![5, 0, 0, 1, 127, 0, 0, 1, 0, 0];
    reply.extend_from_slice(&buf[..n]);
    client.write_all(&reply)?;
    bridge(client, server)
}
