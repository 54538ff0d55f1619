//! `--serverinfo` against smtp-sink, on every runtime: the keywords, the TLS version
//! after STARTTLS, and the certificate the sink presents (self-signed: its subject is
//! its issuer); the certificate is still verified (without `--insecure`, 76); nothing
//! is sent.

mod common;

use common::*;
use smtp_sink::Sink;

#[test]
fn serverinfo_prints_keywords_tls_and_the_certificate_on_every_runtime() {
    on_every_runtime(|runtime| {
        let sink = Sink::start().unwrap();
        let cmd = send(runtime, sink.addr(), &["--serverinfo", "--insecure"]);
        let out = run(cmd).expect(0);
        let line = |key: &str| {
            out.stdout
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .unwrap_or_else(|| panic!("no {key:?} line\n{out}"))
                .to_owned()
        };
        assert!(line("capabilities: ").contains("PIPELINING"), "{out}");
        assert!(line("tls: ").starts_with("TLSv1."), "{out}");
        let subject = line("certificate subject: ");
        assert!(!subject.is_empty(), "{out}");
        assert_eq!(line("certificate issuer: "), subject, "self-signed");
        assert!(!line("certificate expires: ").is_empty());
        assert!(sink.messages().is_empty() && sink.connections().len() == 1);
    });
}

#[test]
fn serverinfo_json_and_cleartext() {
    let sink = Sink::start().unwrap();
    let args = ["--serverinfo", "--insecure", "--json"];
    let v = run(send("blocking", sink.addr(), &args)).expect(0).json();
    let subject = v["certificate"]["subject"].as_str().expect("a subject");
    assert!(!subject.is_empty());
    assert_eq!(v["certificate"]["issuer"], subject, "{v}");
    assert!(v["tls"].as_str().unwrap().starts_with("TLSv1."), "{v}");

    let args = ["--serverinfo", "--starttls", "never"];
    let out = run(send("blocking", sink.addr(), &args)).expect(0);
    assert!(out.stdout.contains("tls: none\n"), "{out}");
    assert!(!out.stdout.contains("certificate"), "{out}");
}

/// `--serverinfo` still verifies the certificate: the sink's is not in
/// the Mozilla roots (76), and is trusted with `--ca-file` holding it.
#[test]
fn serverinfo_still_verifies_the_certificate() {
    let sink = Sink::start().unwrap();
    let args = ["--serverinfo", "--starttls", "required"];
    run(send("blocking", sink.addr(), &args)).expect(76);

    let ca = sink_ca(&sink);
    let mut cmd = send("blocking", sink.addr(), &args);
    cmd.arg("--ca-file").arg(&ca);
    let out = run(cmd).expect(0);
    assert!(out.stdout.contains("certificate subject: "), "{out}");
}
