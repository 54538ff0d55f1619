//! Two DKIM verifiers for the signing tests (feature `dkim`): mail-auth's, in process,
//! and Python's dkimpy (with PyNaCl for Ed25519), an implementation that shares no
//! code with the signer. Both get the public key from the test, never from DNS: a
//! resolver cache holding the one TXT record (and no name server to ask), dkimpy's DNS
//! hook.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::hickory_resolver::config::{ResolverConfig, ResolverOpts};
use mail_auth::{AuthenticatedMessage, DkimResult, MessageAuthenticator, ResolverCache, Txt};

/// A TXT cache answering only the names it was given.
struct Records(HashMap<Box<str>, Txt>);

impl ResolverCache<Box<str>, Txt> for Records {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.get(name).cloned()
    }

    fn remove<Q>(&self, _: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        None
    }

    fn insert(&self, _: Box<str>, _: Txt, _: std::time::Instant) {}
}

/// mail-auth's verdict on every DKIM-Signature of `message`, the key of
/// `selector._domainkey.domain` being `record`: `Ok` if there is at least one and all
/// pass.
///
/// # Errors
/// The results, if any signature does not pass (or there is none).
pub fn mail_auth_verify(
    message: &[u8],
    domain: &str,
    selector: &str,
    record: &str,
) -> Result<(), String> {
    let key = DomainKey::parse(record.as_bytes()).map_err(|e| format!("record: {e}"))?;
    let name = format!("{selector}._domainkey.{domain}.");
    let records = Records(HashMap::from([(name.into_boxed_str(), Txt::from(key))]));
    let parsed = AuthenticatedMessage::parse(message).ok_or("mail-auth cannot parse it")?;
    // No name server: a lookup the cache does not answer fails instead of leaving the
    // machine.
    let config = ResolverConfig::from_parts(None, vec![], vec![]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let results: Vec<String> = runtime.block_on(async {
        let authenticator =
            MessageAuthenticator::new(config, ResolverOpts::default()).expect("resolver");
        let params = mail_auth::Parameters::new(&parsed).with_txt_cache(&records);
        authenticator
            .verify_dkim(params)
            .await
            .iter()
            .map(|o| match o.result() {
                DkimResult::Pass => String::new(),
                other => format!("{other:?}"),
            })
            .collect()
    });
    match results.is_empty() || results.iter().any(|r| !r.is_empty()) {
        true => Err(format!("mail-auth: {results:?}")),
        false => Ok(()),
    }
}

/// The Python with dkimpy and PyNaCl: `$SMTP_TEST_DKIM_PYTHON`, else the test servers'
/// venv (`scripts/test-servers start` installs them there).
fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("SMTP_TEST_DKIM_PYTHON") {
        return p.into();
    }
    let dir = std::env::var_os("SMTP_TEST_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.test-servers"),
        PathBuf::from,
    );
    dir.join("venv/bin/python")
}

/// The verifying script: the message on stdin, the record in argv[1]; prints `pass`
/// or dkimpy's reason.
const DKIMPY: &str = r#"
import sys, logging, io, dkim
record = sys.argv[1].encode()
log = io.StringIO()
logger = logging.getLogger("dkim-test")
logger.addHandler(logging.StreamHandler(log))
logger.setLevel(logging.DEBUG)
msg = sys.stdin.buffer.read()
d = dkim.DKIM(msg, logger=logger, minkey=2048)
try:
    ok = d.verify(dnsfunc=lambda name, timeout=5: record)
except dkim.DKIMException as e:
    ok = False
    logger.error("%s", e)
print("pass" if ok else "fail: " + log.getvalue().replace("\n", " | "))
"#;

/// dkimpy's verdict on the first DKIM-Signature of `message`, the key being `record`.
///
/// # Errors
/// dkimpy's reason, if it does not pass.
///
/// # Panics
/// If Python or dkimpy is missing: these tests never skip (start the test servers, or
/// set `SMTP_TEST_DKIM_PYTHON`).
pub fn dkimpy_verify(message: &[u8], record: &str) -> Result<(), String> {
    let py = python();
    let mut child = Command::new(&py)
        .args(["-c", DKIMPY, record])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "{} cannot run ({e}): dkimpy and PyNaCl come with `bash scripts/test-servers \
                 start`, or set SMTP_TEST_DKIM_PYTHON",
                py.display()
            )
        });
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(message)
        .expect("write to python");
    let out = child.wait_with_output().expect("python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{} failed: {}{}",
        py.display(),
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    match stdout.trim() {
        "pass" => Ok(()),
        other => Err(format!("dkimpy: {other}")),
    }
}

/// A message as Postfix stored it, made the message that was sent: Postfix's own
/// header lines removed and its LF line ends made CRLF again.
pub fn as_sent(stored: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(stored.len() + stored.len() / 16);
    for line in crate::interop::strip_postfix_headers(stored).split_inclusive(|&b| b == b'\n') {
        match line.strip_suffix(b"\n") {
            Some(l) => {
                out.extend_from_slice(l.strip_suffix(b"\r").unwrap_or(l));
                out.extend_from_slice(b"\r\n");
            }
            None => out.extend_from_slice(line),
        }
    }
    out
}
