//! Sends one short message: `cargo run -p smtp-smol --example send-smol -- HOST PORT FROM TO`.
//!
//! STARTTLS is used when offered (opportunistic); set `SMTP_USER` and `SMTP_PASSWORD` to
//! authenticate (only over TLS).

use std::process::ExitCode;

use smtp_smol::{Builder, Credentials, ForwardPath, ReversePath, TlsPolicy};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [host, port, from, to] = &args[..] else {
        eprintln!("usage: send HOST PORT FROM TO");
        return ExitCode::from(2);
    };
    match smol::block_on(send(host, port, from, to)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("send: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn send(
    host: &str,
    port: &str,
    from: &str,
    to: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = Builder::new(host)
        .port(port.parse()?)
        .starttls(TlsPolicy::Opportunistic);
    if let (Ok(user), Ok(password)) = (std::env::var("SMTP_USER"), std::env::var("SMTP_PASSWORD")) {
        builder = builder.credentials(Credentials::password(user, password)?);
    }
    let mut conn = builder.connect().await?;
    let message = format!("From: {from}\r\nTo: {to}\r\nSubject: test\r\n\r\nA test message.\r\n");
    let report = conn
        .send_message(
            ReversePath::new(from)?,
            [ForwardPath::new(to)?],
            message.as_bytes(),
        )
        .await?;
    println!("{:?}", report.outcome);
    conn.quit().await?;
    Ok(())
}
