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

/// A test key of `smtp-io/testdata/dkim` (`rsa2048.pem`, `ed25519.pem` ...).
///
/// # Panics
/// If it cannot be read.
pub fn test_key(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../smtp-io/testdata/dkim/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A message with what signing must survive on the wire: bare LF, bare CR and CRLF
/// line ends, lines led by dots (DATA stuffs them), 8-bit text, no final line end.
pub fn awkward_message(from: &str, rcpt: &str, subject: &str) -> Vec<u8> {
    format!(
        "From: {from}\nTo: {rcpt}\nSubject: {subject}\nMIME-Version: 1.0\n\
         Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n\
         Grüße aus dem Test \u{2713}\n.a line led by a dot\r\n..two dots\r\n.\n\
         bare CR\rthen CRLF\r\n\nlast line without an end"
    )
    .into_bytes()
}

/// The sender of the adapters' DKIM test messages.
pub const FROM: &str = "sender@example.org";

/// [`FROM`] as a reverse path.
pub fn from() -> smtp_proto::command::ReversePath {
    smtp_proto::command::ReversePath::new(FROM).unwrap()
}

/// `a` as a forward path.
///
/// # Panics
/// If `a` is not an address.
pub fn to(a: &str) -> smtp_proto::command::ForwardPath {
    smtp_proto::command::ForwardPath::new(a).unwrap()
}

/// A recipient of this run alone, named for the adapter and the case.
pub fn rcpt(adapter: &str, case: &str) -> String {
    format!(
        "{}@example.com",
        crate::interop::unique(&format!("{adapter}-dkim-{case}"))
    )
}

/// Checks a message as Postfix stored it: its signature verifies with mail-auth and
/// dkimpy (`record` being the key of `selector._domainkey.domain`), and fails both once
/// its body is altered. Returns the message as sent.
///
/// # Panics
/// If either verifier says otherwise.
pub fn assert_stored_verifies(
    stored: &[u8],
    domain: &str,
    selector: &str,
    record: &str,
) -> Vec<u8> {
    let sent = as_sent(stored);
    let show = || String::from_utf8_lossy(&sent).into_owned();
    assert!(
        sent.starts_with(b"DKIM-Signature: "),
        "not signed: {}",
        show()
    );
    if let Err(e) = mail_auth_verify(&sent, domain, selector, record) {
        panic!("{e}\n{}", show());
    }
    if let Err(e) = dkimpy_verify(&sent, record) {
        panic!("{e}\n{}", show());
    }
    let mut altered = sent.clone();
    let last = altered.len() - 3;
    altered[last] ^= 0x20;
    assert!(mail_auth_verify(&altered, domain, selector, record).is_err());
    assert!(dkimpy_verify(&altered, record).is_err());
    sent
}

/// The signing domain of the adapters' DKIM tests.
pub const DOMAIN: &str = "example.org";

/// A signer for [`DOMAIN`] and `selector` with the test key `key`.
///
/// # Panics
/// If the key does not load.
pub fn test_signer(key: &str, selector: &str) -> smtp_io::dkim::DkimSigner {
    smtp_io::dkim::DkimSigner::from_pem(test_key(key), DOMAIN, selector).expect("test key")
}

/// The SIZE= of each MAIL FROM in what a client sent.
pub fn mail_from_sizes(sent: &[u8]) -> Vec<u64> {
    String::from_utf8_lossy(sent)
        .lines()
        .filter(|l| l.starts_with("MAIL FROM:"))
        .filter_map(|l| l.split(" SIZE=").nth(1))
        .map(|v| v.split(' ').next().unwrap_or_default().parse().unwrap_or(0))
        .collect()
}

/// Checks one signed message to `rcpt` that a client sent (`wire`, seen by a tap):
/// Postfix stored a message that verifies ([`assert_stored_verifies`]), the client
/// used BDAT if and only if `bdat`, and its SIZE= is the length of the signed message.
///
/// # Panics
/// If any of that fails.
pub fn assert_signed_delivery(
    s: &crate::interop::TestServers,
    rcpt: &str,
    wire: &[u8],
    bdat: bool,
    signer: &smtp_io::dkim::DkimSigner,
) {
    let record = signer.dns_record();
    let stored = s.postfix_message(rcpt);
    let sent = assert_stored_verifies(&stored, signer.domain(), signer.selector(), &record);
    let used_bdat = wire.windows(5).any(|w| w == b"BDAT ");
    assert_eq!(used_bdat, bdat, "BDAT used");
    assert_eq!(mail_from_sizes(wire), [sent.len() as u64], "SIZE=");
}
