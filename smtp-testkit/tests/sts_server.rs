//! The MTA-STS policy server (smtp_testkit::sts_server) on its own: certificates made here
//! with rcgen, a free port on 127.0.0.1, a rustls client verifying against this test's CA.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use smtp_testkit::sts_server::{
    fetch, read_table, Behaviour, FetchError, StsHost, StsServer, POLICY_PATH,
};

struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let issuer =
            CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("CA");
        Ca { issuer }
    }

    fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// A leaf for `names` and its key.
    fn leaf(&self, names: &[&str]) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate().expect("key");
        let params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .expect("params");
        let cert = params.signed_by(&key, &self.issuer).expect("leaf");
        (
            cert.der().clone(),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
    }

    fn host(&self, name: &str, behaviour: Behaviour) -> StsHost {
        let (cert, key) = self.leaf(&[name]);
        StsHost::new(name, vec![cert], &key, behaviour).expect("host")
    }
}

const POLICY: &[u8] = b"version: STSv1\nmode: enforce\nmx: mx.a.test\nmax_age: 86400\n";

fn local() -> SocketAddr {
    "127.0.0.1:0".parse().expect("address")
}

/// One policy host, mta-sts.a.test, presenting `cert` and signing with `key`.
fn serve_policy_with(cert: CertificateDer<'static>, key: &PrivateKeyDer<'static>) -> StsServer {
    let host = StsHost::new(
        "mta-sts.a.test",
        vec![cert],
        key,
        Behaviour::Policy(POLICY.to_vec()),
    );
    serve(vec![host.expect("host")])
}

/// The server on a free port of 127.0.0.1.
fn serve(hosts: Vec<StsHost>) -> StsServer {
    StsServer::start(local(), hosts).expect("start")
}

fn get(
    server: &StsServer,
    name: &str,
    ca: &Ca,
) -> Result<smtp_testkit::sts_server::Fetched, FetchError> {
    fetch(server.addr(), name, vec![ca.der()], POLICY_PATH)
}

#[test]
fn policy_host_answers_200_text_plain_with_its_body_and_records_the_request() {
    let ca = Ca::new("test CA");
    let server = serve(vec![
        ca.host("mta-sts.a.test", Behaviour::Policy(POLICY.to_vec()))
    ]);
    let got = get(&server, "mta-sts.a.test", &ca).expect("fetch");
    assert_eq!(got.status, 200);
    assert_eq!(got.header("content-type"), Some("text/plain"));
    assert_eq!(
        got.header("content-length"),
        Some(&*POLICY.len().to_string())
    );
    assert_eq!(got.body, POLICY);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].sni, "mta-sts.a.test");
    assert_eq!(requests[0].line, format!("GET {POLICY_PATH} HTTP/1.1"));
    assert_eq!(requests[0].host.as_deref(), Some("mta-sts.a.test"));
}

#[test]
fn certificate_and_answer_are_picked_by_sni() {
    let ca = Ca::new("test CA");
    let (cert_a, key_a) = ca.leaf(&["mta-sts.a.test"]);
    let (cert_b, key_b) = ca.leaf(&["mta-sts.b.test"]);
    let server = serve(vec![
        StsHost::new(
            "mta-sts.a.test",
            vec![cert_a],
            &key_a,
            Behaviour::Policy(b"a".to_vec()),
        )
        .expect("a"),
        StsHost::new(
            "MTA-STS.B.test",
            vec![cert_b],
            &key_b,
            Behaviour::Status(500),
        )
        .expect("b"),
    ]);
    // Each name verifies (the certificate is for it) and gets its own answer.
    let a = get(&server, "mta-sts.a.test", &ca).expect("a");
    assert_eq!((a.status, a.body.as_slice()), (200, &b"a"[..]));
    let b = get(&server, "mta-sts.b.test", &ca).expect("b");
    assert_eq!(b.status, 500);
    assert_eq!(b.header("content-type"), Some("text/plain"));
}

#[test]
fn unknown_sni_gets_no_certificate() {
    let ca = Ca::new("test CA");
    let server = serve(vec![
        ca.host("mta-sts.a.test", Behaviour::Policy(POLICY.to_vec()))
    ]);
    // The server aborts the handshake (an alert), rather than sending some certificate
    // the client then refuses.
    match get(&server, "mta-sts.other.test", &ca) {
        Err(FetchError::Tls(rustls::Error::AlertReceived(_))) => {}
        other => panic!("handshake without a certificate for the name: {other:?}"),
    }
    assert!(server.requests().is_empty());
}

#[test]
fn certificate_of_another_ca_fails_webpki_verification() {
    let ca = Ca::new("test CA");
    let stranger = Ca::new("another CA");
    let server = serve(vec![
        stranger.host("mta-sts.a.test", Behaviour::Policy(POLICY.to_vec()))
    ]);
    match get(&server, "mta-sts.a.test", &ca) {
        Err(FetchError::Tls(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        ))) => {}
        other => panic!("want UnknownIssuer, got {other:?}"),
    }
}

#[test]
fn certificate_for_another_name_fails_webpki_verification() {
    let ca = Ca::new("test CA");
    let (cert, key) = ca.leaf(&["wrong-name.example"]);
    let server = serve_policy_with(cert, &key);
    match get(&server, "mta-sts.a.test", &ca) {
        Err(FetchError::Tls(rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidForNameContext { .. }
            | rustls::CertificateError::NotValidForName,
        ))) => {}
        other => panic!("want NotValidForName, got {other:?}"),
    }
}

#[test]
fn key_not_matching_the_certificate_is_served_as_given_and_the_handshake_fails() {
    let ca = Ca::new("test CA");
    let (cert, _) = ca.leaf(&["mta-sts.a.test"]);
    let (_, other_key) = ca.leaf(&["mta-sts.a.test"]);
    let server = serve_policy_with(cert, &other_key);
    match get(&server, "mta-sts.a.test", &ca) {
        Err(FetchError::Tls(_)) => {}
        other => panic!("a handshake signed by another key must fail: {other:?}"),
    }
}

#[test]
fn redirect_status_and_content_type_behaviours() {
    let ca = Ca::new("test CA");
    let server = serve(vec![
        ca.host(
            "mta-sts.redirect.test",
            Behaviour::Redirect {
                status: 301,
                location: "https://mta-sts.a.test/.well-known/mta-sts.txt".into(),
            },
        ),
        ca.host("mta-sts.missing.test", Behaviour::Status(404)),
        ca.host(
            "mta-sts.html.test",
            Behaviour::ContentType {
                content_type: "text/html".into(),
                body: POLICY.to_vec(),
            },
        ),
    ]);
    let r = get(&server, "mta-sts.redirect.test", &ca).expect("redirect");
    assert_eq!(r.status, 301);
    assert_eq!(
        r.header("location"),
        Some("https://mta-sts.a.test/.well-known/mta-sts.txt")
    );
    let r = get(&server, "mta-sts.missing.test", &ca).expect("404");
    assert_eq!(r.status, 404);
    let r = get(&server, "mta-sts.html.test", &ca).expect("html");
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("text/html"))
    );
    assert_eq!(r.body, POLICY);
}

#[test]
fn other_paths_are_not_found() {
    let ca = Ca::new("test CA");
    let server = serve(vec![
        ca.host("mta-sts.a.test", Behaviour::Policy(POLICY.to_vec()))
    ]);
    let r = fetch(
        server.addr(),
        "mta-sts.a.test",
        vec![ca.der()],
        "/mta-sts.txt",
    )
    .expect("fetch");
    assert_eq!(r.status, 404);
    assert_ne!(r.body, POLICY);
}

#[test]
fn slow_body_arrives_a_byte_at_a_time() {
    let ca = Ca::new("test CA");
    let body = b"0123456789".to_vec();
    let server = serve(vec![ca.host(
        "mta-sts.slow.test",
        Behaviour::Slow {
            pace: Duration::from_millis(60),
            body: body.clone(),
        },
    )]);
    let t0 = Instant::now();
    let r = get(&server, "mta-sts.slow.test", &ca).expect("slow");
    let took = t0.elapsed();
    assert_eq!((r.status, r.body), (200, body));
    assert!(
        took >= Duration::from_millis(600),
        "ten bytes at 60 ms each took {took:?}"
    );
}

#[test]
fn dropping_the_server_stops_it() {
    let ca = Ca::new("test CA");
    let server = serve(vec![
        ca.host("mta-sts.a.test", Behaviour::Policy(POLICY.to_vec()))
    ]);
    let addr = server.addr();
    assert!(TcpStream::connect(addr).is_ok());
    drop(server);
    assert!(TcpStream::connect(addr).is_err(), "{addr} still accepts");
}

#[test]
fn two_hosts_with_one_name_are_refused() {
    let ca = Ca::new("test CA");
    let err = StsServer::start(
        local(),
        vec![
            ca.host("mta-sts.a.test", Behaviour::Status(404)),
            ca.host("MTA-STS.a.test", Behaviour::Status(500)),
        ],
    )
    .expect_err("duplicate name");
    assert!(err.to_string().contains("listed twice"), "{err}");
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).expect("write");
}

#[test]
fn read_table_reads_every_behaviour_and_names_a_bad_line() {
    let dir = std::env::temp_dir().join(smtp_testkit::interop::unique("sts-table"));
    let (pki, sts) = (dir.join("pki"), dir.join("sts"));
    std::fs::create_dir_all(&pki).expect("mkdir");
    std::fs::create_dir_all(&sts).expect("mkdir");
    let ca = Ca::new("test CA");
    let key = KeyPair::generate().expect("key");
    let cert = CertificateParams::new(vec!["mta-sts.a.test".to_string()])
        .expect("params")
        .signed_by(&key, &ca.issuer)
        .expect("leaf");
    write(&pki.join("c.chain.pem"), cert.pem().as_bytes());
    write(&pki.join("c.key"), key.serialize_pem().as_bytes());
    write(&sts.join("p.txt"), POLICY);
    write(
        &sts.join("hosts"),
        b"mta-sts.a.test c policy p.txt\n\
          mta-sts.b.test c status 404\n\
          mta-sts.c.test c redirect 302 https://x.test/\n\
          mta-sts.d.test c type text/html p.txt\n\
          mta-sts.e.test c slow 250 p.txt\n",
    );
    let hosts = read_table(&sts.join("hosts"), &pki).expect("table");
    let got: Vec<(&str, &Behaviour)> = hosts.iter().map(|h| (h.name(), h.behaviour())).collect();
    assert_eq!(
        got,
        vec![
            ("mta-sts.a.test", &Behaviour::Policy(POLICY.to_vec())),
            ("mta-sts.b.test", &Behaviour::Status(404)),
            (
                "mta-sts.c.test",
                &Behaviour::Redirect {
                    status: 302,
                    location: "https://x.test/".into()
                }
            ),
            (
                "mta-sts.d.test",
                &Behaviour::ContentType {
                    content_type: "text/html".into(),
                    body: POLICY.to_vec()
                }
            ),
            (
                "mta-sts.e.test",
                &Behaviour::Slow {
                    pace: Duration::from_millis(250),
                    body: POLICY.to_vec()
                }
            ),
        ]
    );
    write(&sts.join("hosts"), b"mta-sts.a.test c status soon\n");
    let err = read_table(&sts.join("hosts"), &pki).expect_err("bad code");
    assert!(err.contains("hosts:1"), "{err}");
    write(&sts.join("hosts"), b"mta-sts.a.test missing status 404\n");
    let err = read_table(&sts.join("hosts"), &pki).expect_err("no such certificate");
    assert!(err.contains("missing.chain.pem"), "{err}");
    std::fs::remove_dir_all(&dir).expect("clean up");
}
