//! Helpers for the interop tests against the servers of `scripts/test-servers start`.
//!
//! The servers' environment is read from `$SMTP_TEST_DIR/env` (default
//! `<repo>/.test-servers/env`). If it is missing, or a server does not accept
//! connections, [`TestServers::get`] panics with a message saying how to start them:
//! interop tests never skip.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::ClientConfig;

use crate::transcript::escape;

/// The running test servers, as described by their environment file.
#[derive(Debug, Clone)]
pub struct TestServers {
    vars: HashMap<String, String>,
}

/// Which listener (see the header of `scripts/test-servers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// Postfix, STARTTLS + AUTH after TLS, PIPELINING, CHUNKING, SMTPUTF8 (2525).
    Postfix,
    /// Postfix over implicit TLS (2465).
    PostfixTls,
    /// aiosmtpd, STARTTLS + AUTH after TLS, no PIPELINING or CHUNKING (2587).
    Aiosmtpd,
    /// aiosmtpd over implicit TLS (2588).
    AiosmtpdTls,
    /// aiosmtpd LMTP (2529).
    Lmtp,
}

impl Listener {
    fn var(self) -> &'static str {
        match self {
            Listener::Postfix => "SMTP_TEST_POSTFIX_PORT",
            Listener::PostfixTls => "SMTP_TEST_POSTFIX_TLS_PORT",
            Listener::Aiosmtpd => "SMTP_TEST_AIOSMTPD_PORT",
            Listener::AiosmtpdTls => "SMTP_TEST_AIOSMTPD_TLS_PORT",
            Listener::Lmtp => "SMTP_TEST_LMTP_PORT",
        }
    }
}

fn env_file() -> PathBuf {
    match std::env::var_os("SMTP_TEST_DIR") {
        Some(d) => Path::new(&d).join("env"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.test-servers/env"),
    }
}

/// Undoes bash's `printf %q` for the simple values the script writes (backslash escapes).
fn unquote(v: &str) -> String {
    let v = v.trim();
    if let Some(inner) = v.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return inner.to_string();
    }
    let mut s = String::new();
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                s.push(n);
            }
        } else {
            s.push(c);
        }
    }
    s
}

/// The `export NAME=value` lines of an environment file a script wrote.
pub(crate) fn parse_env(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), unquote(v)))
        .collect()
}

impl TestServers {
    /// Reads the environment file and checks that every listener accepts a connection.
    ///
    /// # Panics
    /// If the servers are not running: interop tests must not pass without them.
    pub fn get() -> TestServers {
        let path = env_file();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "the interop test servers are not running ({}: {e}); start them with \
                 `bash scripts/test-servers start` (or set SMTP_TEST_DIR to their directory)",
                path.display()
            )
        });
        let mut vars = parse_env(&text);
        // What the file lacks, the process environment may give: servers started
        // beside the file's (a developer's own SOCKS proxies, say).
        for (k, v) in std::env::vars().filter(|(k, _)| k.starts_with("SMTP_TEST_")) {
            vars.entry(k).or_insert(v);
        }
        let servers = TestServers { vars };
        for l in [
            Listener::Postfix,
            Listener::PostfixTls,
            Listener::Aiosmtpd,
            Listener::AiosmtpdTls,
            Listener::Lmtp,
        ] {
            let addr = servers.addr(l);
            if let Err(e) = TcpStream::connect_timeout(&addr, Duration::from_secs(3)) {
                panic!(
                    "test server {l:?} at {addr} is not running ({e}); start the servers with \
                     `bash scripts/test-servers start` ({} was read)",
                    path.display()
                );
            }
        }
        servers
    }

    /// A variable of the environment file.
    ///
    /// # Panics
    /// If it is missing.
    pub fn var(&self, name: &str) -> &str {
        self.vars
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing from the test-server environment"))
    }

    /// `127.0.0.1`.
    pub fn host(&self) -> &str {
        self.var("SMTP_TEST_HOST")
    }

    /// The name the servers' certificate is for (`localhost`).
    pub fn tls_name(&self) -> &str {
        self.var("SMTP_TEST_TLS_NAME")
    }

    /// The test user.
    pub fn user(&self) -> &str {
        self.var("SMTP_TEST_USER")
    }

    /// The test user's password.
    pub fn password(&self) -> &str {
        self.var("SMTP_TEST_PASSWORD")
    }

    /// The port of a listener.
    pub fn port(&self, l: Listener) -> u16 {
        self.var(l.var()).parse().expect("port number")
    }

    /// The socket address of a listener.
    pub fn addr(&self, l: Listener) -> SocketAddr {
        format!("{}:{}", self.host(), self.port(l))
            .parse()
            .expect("listener address")
    }

    /// The servers' certificate (`SMTP_TEST_CA`: self-signed, so also the only trust
    /// anchor the tests need), DER.
    pub fn certificate(&self) -> CertificateDer<'static> {
        let ca = self.var("SMTP_TEST_CA");
        CertificateDer::from_pem_file(ca).unwrap_or_else(|e| panic!("SMTP_TEST_CA {ca}: {e}"))
    }

    /// The SOCKS5 proxy (microsocks) of `scripts/test-servers`: `SMTP_TEST_SOCKS_PORT`,
    /// or with `auth` the one that wants a username and password
    /// (`SMTP_TEST_SOCKS_AUTH_PORT`).
    ///
    /// # Panics
    /// If it does not accept connections: the proxy tests must not pass without it.
    pub fn socks_addr(&self, auth: bool) -> SocketAddr {
        let var = if auth {
            "SMTP_TEST_SOCKS_AUTH_PORT"
        } else {
            "SMTP_TEST_SOCKS_PORT"
        };
        let port = self
            .var(var)
            .parse()
            .unwrap_or_else(|_| panic!("{var}: not a port"));
        let addr = SocketAddr::new(self.host().parse().expect("SMTP_TEST_HOST"), port);
        if let Err(e) = TcpStream::connect_timeout(&addr, Duration::from_secs(3)) {
            panic!(
                "the SOCKS5 test proxy at {addr} ({var}) is not running ({e}); start the \
                 servers with `bash scripts/test-servers start`"
            );
        }
        addr
    }

    /// The proxy's URL for `Proxy::parse`: `scheme` (`socks5` or `socks5h`), and with
    /// `auth` the authenticating proxy with `SMTP_TEST_SOCKS_USER` and `password`.
    pub fn socks_url(&self, scheme: &str, auth: Option<&str>) -> String {
        let addr = self.socks_addr(auth.is_some());
        match auth {
            Some(password) => {
                let user = self.var("SMTP_TEST_SOCKS_USER");
                format!("{scheme}://{user}:{password}@{addr}")
            }
            None => format!("{scheme}://{addr}"),
        }
    }

    /// The authenticating proxy's password (`SMTP_TEST_SOCKS_PASSWORD`).
    pub fn socks_password(&self) -> &str {
        self.var("SMTP_TEST_SOCKS_PASSWORD")
    }

    /// A ring-based client configuration whose only trust anchor is `SMTP_TEST_CA`.
    pub fn tls_config(&self) -> Arc<ClientConfig> {
        crate::tls::client_config_trusting([self.certificate()])
    }

    /// Waits (up to 30 s) for Postfix to deliver a message to `rcpt` and returns the
    /// stored file: the one whose header has `X-Original-To: <rcpt>`.
    ///
    /// # Panics
    /// If none arrives, or more than one does.
    pub fn postfix_message(&self, rcpt: &str) -> Vec<u8> {
        self.postfix_messages(&[rcpt]).remove(0)
    }

    /// [`postfix_message`](Self::postfix_message) for many recipients, with one scan of
    /// the Maildir per poll (it keeps the mail of every run).
    ///
    /// # Panics
    /// If a message does not arrive within 30 s, or one arrives twice.
    pub fn postfix_messages(&self, rcpts: &[&str]) -> Vec<Vec<u8>> {
        let maildir = Path::new(self.var("SMTP_TEST_POSTFIX_MAILDIR"));
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let index = postfix_index(maildir);
            let missing: Vec<&&str> = rcpts.iter().filter(|r| !index.contains_key(**r)).collect();
            if missing.is_empty() {
                return rcpts
                    .iter()
                    .map(|r| {
                        let files = &index[*r];
                        assert_eq!(files.len(), 1, "Postfix files for {r}: {files:?}");
                        std::fs::read(&files[0]).expect("read Maildir file")
                    })
                    .collect();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "Postfix delivered nothing for {missing:?} to {} within 30 s",
                maildir.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits (up to 30 s) for Postfix to deliver `n` messages to `rcpt` (the same
    /// recipient on every message, as `--repeat` sends) and returns the stored files.
    ///
    /// # Panics
    /// If fewer arrive within 30 s, or more than `n` are there.
    pub fn postfix_copies(&self, rcpt: &str, n: usize) -> Vec<Vec<u8>> {
        let maildir = Path::new(self.var("SMTP_TEST_POSTFIX_MAILDIR"));
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let files = postfix_index(maildir).remove(rcpt).unwrap_or_default();
            assert!(files.len() <= n, "Postfix files for {rcpt}: {files:?}");
            if files.len() == n {
                return files
                    .iter()
                    .map(|f| std::fs::read(f).expect("read Maildir file"))
                    .collect();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "Postfix delivered {} of {n} messages for {rcpt} to {} within 30 s",
                files.len(),
                maildir.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits (up to 30 s) for Postfix to store `n` files whose `Message-ID` field holds
    /// `<id>` (one per recipient: the Maildir keeps a copy each) and returns them, for
    /// messages whose recipients a test cannot make unique (a bare `root`, a fixed
    /// `To:`).
    ///
    /// # Panics
    /// If fewer arrive within 30 s, or more than `n` are there.
    pub fn postfix_with_message_id(&self, id: &str, n: usize) -> Vec<Vec<u8>> {
        let maildir = Path::new(self.var("SMTP_TEST_POSTFIX_MAILDIR"));
        let want = format!("<{id}>");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let files: Vec<Vec<u8>> = maildir_files(maildir)
                .filter(|f| {
                    let head = head_of(f);
                    header_block(&head).split(|&c| c == b'\n').any(|l| {
                        l.len() > 11
                            && l[..11].eq_ignore_ascii_case(b"message-id:")
                            && String::from_utf8_lossy(&l[11..]).trim() == want
                    })
                })
                .filter_map(|f| std::fs::read(f).ok())
                .collect();
            assert!(files.len() <= n, "{} Postfix files for {want}", files.len());
            if files.len() == n {
                return files;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "Postfix stored {} of {n} copies of {want} in {} within 30 s",
                files.len(),
                maildir.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether Postfix delivered anything for `rcpt` (checked once, no waiting).
    pub fn postfix_has(&self, rcpt: &str) -> bool {
        let maildir = Path::new(self.var("SMTP_TEST_POSTFIX_MAILDIR"));
        postfix_index(maildir).contains_key(rcpt)
    }

    /// Every message aiosmtpd stored with `rcpt` among its delivered recipients.
    pub fn aiosmtpd_messages(&self, rcpt: &str) -> Vec<AiosmtpdMessage> {
        let dir = Path::new(self.var("SMTP_TEST_AIOSMTPD_DIR"));
        let quoted = format!("\"{rcpt}\"");
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return out;
        };
        let mut paths: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "msg"))
            .collect();
        paths.sort();
        for p in paths {
            let Ok(bytes) = std::fs::read(&p) else {
                continue;
            };
            let Some(nl) = bytes.iter().position(|&b| b == b'\n') else {
                continue;
            };
            let envelope = String::from_utf8_lossy(&bytes[..nl]).to_string();
            if envelope.contains(&quoted) {
                out.push(AiosmtpdMessage {
                    envelope,
                    content: bytes[nl + 1..].to_vec(),
                });
            }
        }
        out
    }

    /// The one message aiosmtpd stored for `rcpt` (it stores before it replies 250, so
    /// no waiting is needed).
    ///
    /// # Panics
    /// If there is not exactly one.
    pub fn aiosmtpd_message(&self, rcpt: &str) -> AiosmtpdMessage {
        let mut v = self.aiosmtpd_messages(rcpt);
        assert_eq!(v.len(), 1, "aiosmtpd messages for {rcpt}");
        v.pop().unwrap()
    }
}

/// A one-connection TCP relay to a server that keeps a copy of every byte the client
/// wrote: how an interop test sees which commands went out (BDAT rather than DATA, say)
/// whatever the adapter's stream type. Cleartext only: after STARTTLS the copy is
/// ciphertext.
pub struct ClientTap {
    addr: SocketAddr,
    sent: Arc<Mutex<Vec<u8>>>,
}

impl ClientTap {
    /// Listens on 127.0.0.1 and relays the first connection to `server`. The threads are
    /// detached: they end when either side closes.
    ///
    /// # Panics
    /// If it cannot listen.
    pub fn start(server: SocketAddr) -> ClientTap {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let sent = Arc::new(Mutex::new(Vec::new()));
        let record = sent.clone();
        std::thread::spawn(move || {
            let Ok((client, _)) = listener.accept() else {
                return;
            };
            let Ok(upstream) = TcpStream::connect(server) else {
                return;
            };
            let (Ok(mut client_r), Ok(mut upstream_w)) = (client.try_clone(), upstream.try_clone())
            else {
                return;
            };
            let (mut upstream_r, mut client_w) = (upstream, client);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut upstream_r, &mut client_w);
                let _ = client_w.shutdown(Shutdown::Write);
            });
            let mut buf = [0u8; 16 * 1024];
            loop {
                match client_r.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        // Kept before it is passed on: once the server has answered a
                        // command, the command is in the copy.
                        record.lock().unwrap().extend_from_slice(&buf[..n]);
                        if upstream_w.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = upstream_w.shutdown(Shutdown::Write);
        });
        ClientTap { addr, sent }
    }

    /// Where the client connects instead of the server.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every byte the client has written so far.
    pub fn sent(&self) -> Vec<u8> {
        self.sent.lock().unwrap().clone()
    }
}

/// A message file of aiosmtpd: the envelope line (JSON) and the exact bytes received.
#[derive(Debug, Clone)]
pub struct AiosmtpdMessage {
    /// The first line: JSON with listener, mail_from, rcpt_tos, mail_options,
    /// rcpt_options, smtp_utf8, authenticated, delivered_to.
    pub envelope: String,
    /// The content after dot-unstuffing, CRLF as sent, without the final `.\r\n`.
    pub content: Vec<u8>,
}

/// The files of a Maildir's `new` and `cur`.
fn maildir_files(maildir: &Path) -> impl Iterator<Item = PathBuf> + '_ {
    ["new", "cur"]
        .into_iter()
        .filter_map(move |sub| std::fs::read_dir(maildir.join(sub)).ok())
        .flat_map(|dir| dir.flatten().map(|entry| entry.path()))
}

/// The first 8 KiB of a stored file (its header, as far as the tests look); empty if
/// it cannot be read (a file Postfix is still writing is in `tmp`, not here).
fn head_of(path: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut head = Vec::with_capacity(8192);
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(8192).read_to_end(&mut head);
    }
    head
}

/// Every Maildir file by its `X-Original-To` address. Only the first 8 KiB of each file
/// is read: the Maildir keeps every message of every run, some of them large.
pub(crate) fn postfix_index(maildir: &Path) -> HashMap<String, Vec<PathBuf>> {
    let mut index: HashMap<String, Vec<PathBuf>> = HashMap::new();
    for path in maildir_files(maildir) {
        let head = head_of(&path);
        let to = header_block(&head)
            .split(|&b| b == b'\n')
            .find_map(|l| l.strip_prefix(b"X-Original-To: "));
        if let Some(to) = to {
            let to = String::from_utf8_lossy(to).into_owned();
            index.entry(to).or_default().push(path);
        }
    }
    index
}

fn header_block(b: &[u8]) -> &[u8] {
    let end = b.windows(2).position(|w| w == b"\n\n").unwrap_or(b.len());
    &b[..end]
}

/// A local part no other test (or earlier run) has used: `tag-<time>-<pid>-<n>`.
pub fn unique(tag: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros();
    format!(
        "{tag}-{t}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Removes the header lines Postfix puts in front of a delivered message (Return-Path,
/// X-Original-To, Delivered-To, Received with its continuation lines), once each and in
/// that order.
pub fn strip_postfix_headers(stored: &[u8]) -> &[u8] {
    let mut rest = stored;
    for name in [
        &b"Return-Path:"[..],
        b"X-Original-To:",
        b"Delivered-To:",
        b"Received:",
    ] {
        if rest.len() >= name.len() && rest[..name.len()].eq_ignore_ascii_case(name) {
            // Skip the line and every continuation line (starting with space or tab).
            let mut i = 0;
            loop {
                match rest[i..].iter().position(|&b| b == b'\n') {
                    Some(p) => i += p + 1,
                    None => i = rest.len(),
                }
                if i >= rest.len() || !matches!(rest[i], b' ' | b'\t') {
                    break;
                }
            }
            rest = &rest[i..];
        }
    }
    rest
}

/// Asserts that what a client wrote (`written`, from a [`ClientTap`]) names each of
/// `hidden` in a `RCPT TO` and has no Bcc field anywhere.
///
/// # Panics
/// If a recipient is missing or a Bcc field was written.
pub fn assert_bcc_not_written(written: &[u8], hidden: &[&str]) {
    let written = String::from_utf8_lossy(written).to_ascii_lowercase();
    for rcpt in hidden {
        let rcpt = format!("rcpt to:<{}>", rcpt.to_ascii_lowercase());
        assert!(written.contains(&rcpt), "no {rcpt} in {written}");
    }
    assert!(
        !written.contains("bcc:"),
        "a Bcc field was written: {written}"
    );
}

/// CRLF → LF, the way Postfix stores a message.
pub fn crlf_to_lf(b: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\r' && b.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        v.push(b[i]);
        i += 1;
    }
    v
}

/// Asserts that Postfix stored exactly `sent` (CRLF line ends) after its own headers.
///
/// # Panics
/// On any difference, showing the first differing offset and both sides, escaped.
pub fn assert_postfix_stored(stored: &[u8], sent: &[u8]) {
    let body = strip_postfix_headers(stored);
    assert_same(body, &crlf_to_lf(sent), "Postfix");
}

/// Asserts that aiosmtpd stored exactly `sent`.
///
/// # Panics
/// On any difference.
pub fn assert_aiosmtpd_stored(stored: &AiosmtpdMessage, sent: &[u8]) {
    assert_same(&stored.content, sent, "aiosmtpd");
}

fn assert_same(got: &[u8], want: &[u8], server: &str) {
    if got == want {
        return;
    }
    let at = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    let show = |b: &[u8]| {
        let from = at.saturating_sub(80);
        let to = (at + 80).min(b.len());
        escape(&b[from.min(to)..to])
    };
    panic!(
        "{server} stored {} octets, {} sent; first difference at {at}\n--- sent (around it)\n{}\n--- stored\n{}",
        got.len(),
        want.len(),
        show(want),
        show(got)
    );
}
