//! The MX-delivery lab (`scripts/mx-lab start`, docs/mx-lab.md) as the end-to-end tests
//! will use it: the MTA-STS policy server on the lab's address serving the lab's table,
//! checked with a client that trusts only the lab's public CA, and the lab Postfix's
//! Maildir as `MxLab` reads it. `scripts/mx-lab check` proves the DNS and the MX hosts.
//! Needs the lab running (and root for port 443): it never skips.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use smtp_testkit::interop::unique;
use smtp_testkit::mx_lab::{received_by, InProcess, MxLab};
use smtp_testkit::sts_server::{fetch, FetchError, StsServer, POLICY_PATH};

fn sts_file(lab: &MxLab, name: &str) -> Vec<u8> {
    let path = lab.path("MX_LAB_STS_HOSTS").with_file_name(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn lab_sts_server_answers_each_policy_host_as_the_table_says() {
    let lab = MxLab::get();
    let server = StsServer::start_lab(&lab);
    assert_eq!(server.addr(), lab.sts_addr());
    let get = |name: &str| fetch(server.addr(), name, lab.public_roots(), POLICY_PATH);

    let r = get("mta-sts.enforce.sts.test").expect("enforce");
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("text/plain"))
    );
    assert_eq!(r.body, sts_file(&lab, "enforce.txt"));
    assert!(String::from_utf8_lossy(&r.body).contains("mode: enforce"));
    let r = get("mta-sts.cname.dns.test").expect("cname");
    assert_eq!(r.body, sts_file(&lab, "cname.txt"));

    // Certificates a WebPKI client must refuse (case 20).
    for (name, want) in [
        ("mta-sts.cert-untrusted.sts.test", "UnknownIssuer"),
        ("mta-sts.cert-wrongname.sts.test", "NotValidForName"),
        ("mta-sts.cert-expired.sts.test", "Expired"),
    ] {
        match get(name) {
            Err(FetchError::Tls(rustls::Error::InvalidCertificate(e))) => {
                assert!(
                    format!("{e:?}").starts_with(want),
                    "{name}: {e:?}, want {want}"
                )
            }
            other => panic!("{name}: want {want}, got {other:?}"),
        }
    }

    // Answers a client must not take as a policy (case 21).
    let r = get("mta-sts.http-redirect.sts.test").expect("redirect");
    assert_eq!(r.status, 301);
    assert!(r.header("location").is_some());
    assert_eq!(get("mta-sts.http-404.sts.test").expect("404").status, 404);
    assert_eq!(get("mta-sts.http-500.sts.test").expect("500").status, 500);
    assert_eq!(
        get("mta-sts.refetchfail.sts.test").expect("500").status,
        500
    );
    let r = get("mta-sts.http-type.sts.test").expect("type");
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("text/html"))
    );
    let r = get("mta-sts.http-big.sts.test").expect("big");
    assert_eq!(
        r.body.len(),
        65 * 1024 + 1,
        "65 KiB + 1: over the 64 KiB limit"
    );
    assert!(r.body.starts_with(b"version: STSv1\nmode: enforce\n"));

    // Every request was recorded under its SNI name.
    let seen: Vec<String> = server.requests().into_iter().map(|r| r.sni).collect();
    assert!(
        seen.contains(&"mta-sts.http-big.sts.test".to_string()),
        "{seen:?}"
    );
    assert!(
        seen.iter().all(|s| !s.contains("cert-")),
        "handshakes that failed sent requests: {seen:?}"
    );
}

/// One message over cleartext SMTP; panics unless the end of data is accepted.
fn send(addr: &str, rcpt: &str, tag: &str) {
    let tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut r = BufReader::new(tcp.try_clone().expect("clone"));
    let mut w = tcp;
    let reply = |r: &mut BufReader<TcpStream>| loop {
        let mut l = String::new();
        r.read_line(&mut l).expect("reply");
        if l.as_bytes().get(3) != Some(&b'-') {
            return l;
        }
    };
    assert!(reply(&mut r).starts_with("220 "));
    for (cmd, want) in [
        ("EHLO client.mx-lab.test".to_string(), "250"),
        ("MAIL FROM:<>".to_string(), "250"),
        (format!("RCPT TO:<{rcpt}>"), "250"),
        ("DATA".to_string(), "354"),
        (format!("Subject: {tag}\r\n\r\n{tag}\r\n."), "250"),
        ("QUIT".to_string(), "221"),
    ] {
        write!(w, "{cmd}\r\n").expect("write");
        let got = reply(&mut r);
        assert!(got.starts_with(want), "{cmd:?} -> {got:?}");
    }
}

#[test]
fn lab_postfix_stores_mail_for_lab_domains_and_names_the_listener() {
    let lab = MxLab::get();
    let rcpt = format!("{}@twoaddr.dns.test", unique("mx-lab"));
    send("127.0.0.42:25", &rcpt, "mx-lab maildir");
    let stored = lab.delivered(&rcpt, Duration::from_secs(15));
    assert_eq!(stored.len(), 1, "stored copies for {rcpt}");
    assert_eq!(received_by(&stored[0]), Some(42));
    assert!(String::from_utf8_lossy(&stored[0]).contains("mx-lab maildir"));
    assert!(lab
        .delivered("nobody-ever@twoaddr.dns.test", Duration::ZERO)
        .is_empty());
}

#[test]
fn in_process_addresses_are_left_free_for_the_tests_and_refused_ones_refuse() {
    let _lab = MxLab::get();
    // Binding port 25 needs root, as the lab does.
    for s in InProcess::ALL {
        let l = std::net::TcpListener::bind(s.addr())
            .unwrap_or_else(|e| panic!("{s:?}: {} cannot be bound: {e}", s.addr()));
        drop(l);
    }
    for a in [
        "127.0.0.40:25",
        "127.0.0.41:25",
        "127.0.0.51:25",
        "127.0.0.55:25",
    ] {
        let addr = a.parse().expect("address");
        assert!(
            TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err(),
            "{a} accepts: the lab's refused addresses must refuse"
        );
    }
}
