//! Sends a short message: `send HOST PORT FROM TO [--implicit-tls] [--ca CERT.pem]
//! [--tls-name NAME] [--user USER --password PASS] [--plaintext]`.
//!
//! Against the test servers (`scripts/test-servers start`, then `. .test-servers/env`):
//! `cargo run -p smtp-blocking --example send -- 127.0.0.1 2525 a@x.test b@y.test
//!  --ca $SMTP_TEST_CA --tls-name localhost --user alice --password secret`

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use std::time::{SystemTime, UNIX_EPOCH};

use smtp_blocking::{Builder, Credentials, ForwardPath, ReversePath, TlsPolicy};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        eprintln!("usage: send HOST PORT FROM TO [--implicit-tls] [--ca CERT.pem] [--tls-name NAME] [--user U --password P] [--plaintext]");
        std::process::exit(2);
    }
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let flag = |name: &str| args.iter().any(|a| a == name);
    let (host, port, from, to) = (&args[0], args[1].parse::<u16>()?, &args[2], &args[3]);

    // The TLS name is what the certificate must carry; connect to `host` itself.
    let tls_name = opt("--tls-name").unwrap_or_else(|| host.clone());
    let mut builder = Builder::new(tls_name.clone()).port(port);
    if flag("--implicit-tls") {
        builder = builder.implicit_tls();
    } else if flag("--plaintext") {
        builder = builder.starttls(TlsPolicy::Disabled);
    }
    if let Some(ca) = opt("--ca") {
        let pem = std::fs::read(ca)?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
            roots.add(cert?)?;
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        builder = builder.tls_config(Arc::new(config));
    }
    if let (Some(user), Some(password)) = (opt("--user"), opt("--password")) {
        builder = builder.credentials(Credentials::password(user, password)?);
    }
    let tcp = std::net::TcpStream::connect((host.as_str(), port))?;
    tcp.set_nodelay(true)?;
    let mut conn = builder.connect_stream(tcp)?;

    let secs = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let message = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: smtp-blocking example\r\nMessage-ID: <{secs}.example@smtp-blocking>\r\n\r\nSent by examples/send.rs.\r\n"
    );
    let report = conn.send_message(
        ReversePath::new(from)?,
        [ForwardPath::new(to)?],
        message.as_bytes(),
    )?;
    println!(
        "encrypted: {}, auth: {:?}",
        conn.is_encrypted(),
        conn.auth_mechanism()
    );
    for (i, r) in report.recipients.iter().enumerate() {
        match r.reply() {
            Some(reply) => println!("recipient {i}: {reply}"),
            None => println!("recipient {i}: not attempted"),
        }
    }
    match &report.outcome {
        Some(smtp_blocking::MessageOutcome::Accepted(reply)) => println!("accepted: {reply}"),
        other => println!("not accepted: {other:?}"),
    }
    conn.quit()?;
    Ok(())
}
