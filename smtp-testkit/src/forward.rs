//! A Unix socket in front of a TCP server: what a connector test opens instead of TCP.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpStream};
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

/// Copies each way on its own thread, passing the end of input on.
fn bridge(unix: UnixStream, tcp: TcpStream) -> io::Result<()> {
    let (mut unix_in, mut tcp_out) = (unix.try_clone()?, tcp.try_clone()?);
    let (mut tcp_in, mut unix_out) = (tcp, unix);
    thread::spawn(move || {
        let _ = io::copy(&mut unix_in, &mut tcp_out);
        let _ = tcp_out.shutdown(Shutdown::Write);
    });
    thread::spawn(move || {
        let _ = io::copy(&mut tcp_in, &mut unix_out);
        let _ = unix_out.shutdown(Shutdown::Write);
    });
    Ok(())
}
