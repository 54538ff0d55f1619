//! `--dkim-key FILE --dkim-selector S --dkim-domain D`: the message the sink stored
//! (over DATA and over BDAT, on every runtime, with `--repeat` through a pool too)
//! verifies with mail-auth and dkimpy for RSA and Ed25519 keys, SIZE= being the signed
//! length; the three options go together; a refused key, an unreadable key file and an
//! unsignable message get their exit statuses.

mod common;

use common::*;
use smtp_sink::{Extension, Sink};
use smtp_testkit::dkim::{awkward_message, dkimpy_verify, mail_auth_verify};

const DOMAIN: &str = "example.org";
const SELECTOR: &str = "cli";

fn key_path(name: &str) -> String {
    format!(
        "{}/../smtp-io/testdata/dkim/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// The DNS record of a test key, as the signer publishes it.
fn record(name: &str) -> String {
    let pem = std::fs::read(key_path(name)).unwrap();
    smtp_io::dkim::DkimSigner::from_pem(pem, DOMAIN, SELECTOR)
        .unwrap()
        .dns_record()
}

fn dkim_args(key: &str) -> [&str; 6] {
    [
        "--dkim-key",
        key,
        "--dkim-selector",
        SELECTOR,
        "--dkim-domain",
        DOMAIN,
    ]
}

#[test]
fn signed_messages_verify_as_stored_over_data_and_bdat_on_every_runtime() {
    on_every_runtime(|runtime| {
        for key in ["rsa2048.pem", "ed25519.pem"] {
            let record = record(key);
            for chunking in [false, true] {
                let mut sink = Sink::builder();
                if !chunking {
                    sink = sink.disable(Extension::Chunking);
                }
                let sink = sink.start().unwrap();
                let addr = std::net::SocketAddr::from(([127, 0, 0, 1], sink.port()));
                let data = temp_file(
                    "m.eml",
                    &awkward_message("a@example.org", "b@example.net", key),
                );
                let path = key_path(key);
                let mut cmd = send(runtime, addr, &["--to", "b@example.net"]);
                cmd.args(dkim_args(&path))
                    .args(["--starttls", "never", "--repeat", "3", "--concurrency", "2"])
                    .arg("--data")
                    .arg(&data);
                run(cmd).expect(0);
                let messages = sink.messages();
                assert_eq!(messages.len(), 3);
                for m in messages {
                    let c = &m.content;
                    assert!(c.starts_with(b"DKIM-Signature: "), "{runtime} {key}");
                    mail_auth_verify(c, DOMAIN, SELECTOR, &record)
                        .unwrap_or_else(|e| panic!("{runtime} {key} chunking {chunking}: {e}"));
                    dkimpy_verify(c, &record)
                        .unwrap_or_else(|e| panic!("{runtime} {key} chunking {chunking}: {e}"));
                    let size = smtp_sink::param(&m.mail_params, "SIZE").unwrap();
                    assert_eq!(size.value, Some(c.len().to_string()));
                }
            }
        }
    });
}

#[test]
fn the_three_dkim_options_go_together() {
    let nowhere = "127.0.0.1:9".parse().unwrap();
    let key = key_path("ed25519.pem");
    let all = dkim_args(&key);
    // Each option alone, and each pair: a usage error naming what is missing.
    let partial: [&[usize]; 6] = [&[0], &[2], &[4], &[0, 2], &[2, 4], &[0, 4]];
    for keep in partial {
        let mut cmd = send("blocking", nowhere, &["--to", "b@example.net"]);
        for &i in keep {
            cmd.args(&all[i..i + 2]);
        }
        let out = run(cmd).expect(64);
        assert!(
            out.stderr.contains("required arguments were not provided"),
            "{out}"
        );
        assert!(out.stderr.contains("--dkim-"), "{out}");
    }
}

#[test]
fn a_refused_key_is_64_an_unreadable_one_74_an_unsignable_message_65() {
    let nowhere = "127.0.0.1:9".parse().unwrap();
    let data = temp_file("m.eml", b"From: a@example.org\r\n\r\nhi\r\n");
    let with_key = |key: &str, data: &std::path::Path| {
        let mut cmd = send("blocking", nowhere, &["--to", "b@example.net"]);
        cmd.args(dkim_args(key)).arg("--data").arg(data);
        run(cmd)
    };
    let out = with_key(&key_path("rsa1024.pem"), &data).expect(64);
    assert!(out.stderr.contains("1024 bits"), "{out}");
    let out = with_key(&key_path("missing.pem"), &data).expect(74);
    assert!(out.stderr.contains("missing.pem"), "{out}");
    let no_from = temp_file("m.eml", b"To: b@example.net\r\n\r\nhi\r\n");
    let out = with_key(&key_path("ed25519.pem"), &no_from).expect(65);
    assert!(out.stderr.contains("From"), "{out}");
    let mut cmd = send("blocking", nowhere, &["--to", "b@example.net"]);
    cmd.args([
        "--dkim-key",
        &key_path("ed25519.pem"),
        "--dkim-selector",
        "a b",
    ])
    .args(["--dkim-domain", DOMAIN, "--data"])
    .arg(&data);
    let out = run(cmd).expect(64);
    assert!(out.stderr.contains("--dkim-selector"), "{out}");
}
