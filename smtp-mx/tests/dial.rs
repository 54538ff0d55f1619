//! The dialer hook: TCP to the address, or through a test's redirects and nowhere
//! else.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::thread;
use std::time::Duration;

use smtp_mx::dial::{Dialer, Redirects};

const T: Duration = Duration::from_secs(5);

/// A server writing `greeting` to each connection.
fn server(greeting: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for s in listener.incoming() {
            s.unwrap().write_all(greeting.as_bytes()).unwrap();
        }
    });
    addr
}

fn greeting(mut s: std::net::TcpStream) -> String {
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn tcp_connects_to_the_address_itself() {
    let addr = server("220 direct\r\n");
    assert_eq!(
        greeting(Dialer::tcp().dial(addr, T).unwrap()),
        "220 direct\r\n"
    );
}

#[test]
fn redirected_dialer_reaches_the_mapped_address_and_refuses_others() {
    let mx1 = server("220 mx1\r\n");
    let mx2 = server("220 mx2\r\n");
    let redirects = Redirects::new()
        .map("127.0.0.11:25".parse().unwrap(), mx1)
        .map("127.0.0.12:25".parse().unwrap(), mx2);
    let dialer = Dialer::tcp_redirected(redirects);
    let dial = |a: &str| dialer.dial(a.parse().unwrap(), T);
    assert_eq!(greeting(dial("127.0.0.11:25").unwrap()), "220 mx1\r\n");
    assert_eq!(greeting(dial("127.0.0.12:25").unwrap()), "220 mx2\r\n");
    // Not even to the mapped servers' own addresses: only what the map names.
    for unmapped in ["127.0.0.13:25", &mx1.to_string()] {
        assert_eq!(
            dial(unmapped).unwrap_err().kind(),
            ErrorKind::ConnectionRefused
        );
    }
}

#[test]
fn redirects_work_for_any_dialer_output() {
    // An async adapter's dialer gives something else (a future); the map is the same.
    let dialer: Dialer<String> = Dialer::new(|addr, _| format!("dialed {addr}")).redirected(
        Redirects::new().map(
            "127.0.0.11:25".parse().unwrap(),
            "127.0.0.1:2525".parse().unwrap(),
        ),
        |addr| format!("refused {addr}"),
    );
    assert_eq!(
        dialer.dial("127.0.0.11:25".parse().unwrap(), T),
        "dialed 127.0.0.1:2525"
    );
    assert_eq!(
        dialer.dial("127.0.0.12:25".parse().unwrap(), T),
        "refused 127.0.0.12:25"
    );
}
