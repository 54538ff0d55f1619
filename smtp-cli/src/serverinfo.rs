//! `--serverinfo`: what the server offers (its EHLO/LHLO keywords, the TLS version,
//! the certificate's subject, issuer and expiry), printed, and nothing sent.

use std::io::Write;

use rustls::pki_types::CertificateDer;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::args::{Args, Runtime};
use crate::exit::{ExitStatus, Failure};
use crate::session::{self, Info, Outcome, Plan};
use crate::{adapter, finish, say};

/// The certificate's names and expiry, as printed.
#[derive(Debug, PartialEq, Eq)]
struct Certificate {
    subject: String,
    issuer: String,
    not_after: String,
}

fn describe(der: &CertificateDer<'_>) -> Result<Certificate, String> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| e.to_string())?;
    Ok(Certificate {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_after: cert.validity().not_after.to_string(),
    })
}

/// Connects as the plan says, prints what the server offers, and exits 0; a failure to
/// connect or set the session up has its usual status.
pub(crate) fn run(args: &Args, plan: &Plan) -> ExitStatus {
    let result = match args.runtime {
        Runtime::Blocking => session::info::<adapter::Blocking>(plan),
        Runtime::Tokio => session::info::<adapter::Tokio>(plan),
        Runtime::Smol => session::info::<adapter::Smol>(plan),
    };
    let (info, quit_error) = match result {
        Ok(r) => r,
        Err(e) => return finish(args, &Outcome::default(), Some(Failure::Session(e))),
    };
    if let Some(e) = quit_error {
        say(&format!("warning: QUIT failed: {e}"));
    }
    let cert = info.certificate.as_ref().map(describe);
    let server = args.server.as_deref().unwrap_or_default();
    let text = if args.json {
        json(server, &info, cert.as_ref()).to_string()
    } else {
        lines(server, &info, cert.as_ref())
    };
    let _ = writeln!(std::io::stdout().lock(), "{text}");
    ExitStatus::Ok
}

fn lines(server: &str, info: &Info, cert: Option<&Result<Certificate, String>>) -> String {
    let mut out = vec![
        format!("server: {server}"),
        format!("capabilities: {}", info.capabilities.join(" ")),
        format!("tls: {}", info.tls.unwrap_or("none")),
    ];
    if let Some(auth) = &info.auth {
        out.push(format!("auth: {auth}"));
    }
    match cert {
        Some(Ok(c)) => out.extend([
            format!("certificate subject: {}", c.subject),
            format!("certificate issuer: {}", c.issuer),
            format!("certificate expires: {}", c.not_after),
        ]),
        Some(Err(e)) => out.push(format!("certificate: cannot be read ({e})")),
        None => {}
    }
    out.join("\n")
}

fn json(
    server: &str,
    info: &Info,
    cert: Option<&Result<Certificate, String>>,
) -> serde_json::Value {
    let certificate = match cert {
        Some(Ok(c)) => serde_json::json!({
            "subject": c.subject,
            "issuer": c.issuer,
            "not_after": c.not_after,
        }),
        Some(Err(e)) => serde_json::json!({ "error": e }),
        None => serde_json::Value::Null,
    };
    serde_json::json!({
        "server": server,
        "capabilities": info.capabilities,
        "tls": info.tls,
        "auth": info.auth,
        "certificate": certificate,
    })
}
