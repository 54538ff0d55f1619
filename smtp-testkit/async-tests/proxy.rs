// Shared by the proxy tests of the three adapters (their `Builder::proxy`): each
// includes this file after `use <adapter crate> as adapter;`, `const TAG: &str` (the
// adapter's name, put in every address), `fn block_on` and a macro `aw!` (`.await`
// for the async adapters, nothing for the blocking one, whose calls return at once).
// Through the SOCKS5 proxies (microsocks) of scripts/test-servers, with and without
// authentication, to Postfix; TLS verified against the SMTP host name over the
// proxied stream. Included, so no inner attributes or doc comments here.

use std::time::{Duration, Instant};

use adapter::{
    Builder, Credentials, Error, ForwardPath, Mechanism, Proxy, ProxyError, ReversePath, Timeouts,
    TlsPolicy,
};
use smtp_testkit::interop::{assert_postfix_stored, unique, Listener, TestServers};

const FROM: &str = "sender@example.org";

fn proxy(url: &str) -> Proxy {
    url.parse().expect("a proxy URL")
}

/// To the Postfix listener `l` by the name its certificate is for (`localhost`), with
/// AUTH PLAIN.
fn to_postfix(s: &TestServers, l: Listener) -> Builder {
    let mut b = Builder::new(s.tls_name())
        .port(s.port(l))
        .tls_config(s.tls_config())
        .timeouts(Timeouts::all(Duration::from_secs(30)))
        .credentials(Credentials::password(s.user(), s.password()).unwrap());
    b.config_mut().auth_preference = vec![Mechanism::new("PLAIN").unwrap()];
    b
}

/// Sends one message with `b` over TLS; Postfix stored it as sent.
fn delivered(s: &TestServers, b: Builder, what: &str) {
    let rcpt = format!("{}@example.com", unique(&format!("{TAG}-proxy-{what}")));
    let msg = format!(
        "From: {FROM}\r\nTo: {rcpt}\r\nSubject: through a SOCKS5 proxy\r\n\r\n\
         {what}, from smtp-{TAG}.\r\n"
    )
    .into_bytes();
    block_on(async {
        let mut conn = aw!(b.connect()).expect("a session through the proxy");
        assert!(conn.is_encrypted(), "TLS over the proxied stream");
        let from = ReversePath::new(FROM).unwrap();
        let to = ForwardPath::new(rcpt.as_str()).unwrap();
        let report = aw!(conn.send_message(from, [to], &msg)).unwrap();
        assert!(report.all_delivered(), "{report:?}");
        aw!(conn.quit()).unwrap();
    });
    assert_postfix_stored(&s.postfix_message(&rcpt), &msg);
}

fn refused(b: Builder) -> Error {
    block_on(async { aw!(b.connect()).map(drop).expect_err("no session") })
}

#[test]
fn socks5h_without_authentication_then_starttls_to_postfix() {
    let s = TestServers::get();
    let b = to_postfix(&s, Listener::Postfix)
        .starttls(TlsPolicy::Required)
        .proxy(proxy(&s.socks_url("socks5h", None)));
    delivered(&s, b, "socks5h-starttls");
}

#[test]
fn socks5_with_authentication_resolving_here_then_implicit_tls_to_postfix() {
    let s = TestServers::get();
    let url = s.socks_url("socks5", Some(s.socks_password()));
    let b = to_postfix(&s, Listener::PostfixTls)
        .implicit_tls()
        .proxy(proxy(&url));
    delivered(&s, b, "socks5-auth-tls");
}

#[test]
fn the_greeting_sent_with_the_proxys_reply_is_not_lost() {
    let s = TestServers::get();
    let eager = smtp_testkit::forward::eager_socks_proxy();
    let b = to_postfix(&s, Listener::Postfix)
        .starttls(TlsPolicy::Required)
        .timeouts(Timeouts::all(Duration::from_secs(5)))
        .proxy(proxy(&format!("socks5h://{eager}")));
    delivered(&s, b, "eager-proxy");
}

#[test]
fn a_wrong_proxy_password_is_a_refused_login() {
    let s = TestServers::get();
    let url = s.socks_url("socks5", Some("not-the-password"));
    let e = refused(to_postfix(&s, Listener::Postfix).proxy(proxy(&url)));
    assert!(
        matches!(e, Error::Proxy(ProxyError::AuthFailed { .. })),
        "{e:?}"
    );
    assert!(e.is_permanent(), "{e:?}");
}

#[test]
fn no_credentials_for_a_proxy_that_wants_them() {
    let s = TestServers::get();
    let addr = s.socks_addr(true);
    let e = refused(to_postfix(&s, Listener::Postfix).proxy(proxy(&format!("socks5://{addr}"))));
    let expected = ProxyError::NoAcceptableMethod {
        offered_credentials: false,
    };
    assert!(matches!(&e, Error::Proxy(p) if *p == expected), "{e:?}");
}

#[test]
fn a_closed_port_behind_the_proxy_is_refused_with_the_proxys_reason() {
    let s = TestServers::get();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let b = Builder::new("127.0.0.1")
        .port(closed)
        .proxy(proxy(&s.socks_url("socks5", None)));
    let e = refused(b);
    assert!(
        matches!(e, Error::Proxy(ProxyError::Refused { code: 5 })),
        "{e:?}"
    );
    assert!(e.is_transient(), "{e:?}");
    assert!(e.to_string().contains("connection refused"), "{e}");
}

#[test]
fn the_connect_timeout_covers_the_proxys_handshake() {
    // A proxy that accepts (the kernel does, from the backlog) and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let b = Builder::new("127.0.0.1")
        .port(25)
        .connect_timeout(Duration::from_millis(300))
        .proxy(proxy(&format!("socks5://{addr}")));
    let start = Instant::now();
    let e = refused(b);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(
        matches!(&e, Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut),
        "{e:?}"
    );
    drop(silent);
}

#[test]
fn a_connect_timeout_too_long_for_a_deadline_is_no_deadline() {
    let s = TestServers::get();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let b = Builder::new("127.0.0.1")
        .port(closed)
        .connect_timeout(Duration::MAX)
        .proxy(proxy(&s.socks_url("socks5", None)));
    let e = refused(b);
    assert!(
        matches!(e, Error::Proxy(ProxyError::Refused { code: 5 })),
        "{e:?}"
    );
}
