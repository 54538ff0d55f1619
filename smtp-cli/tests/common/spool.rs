//! The spool tests' setting: a spool directory, an account file whose `server` the
//! test switches (the relay goes down, the relay comes back: a flush reads the
//! account again), and `smtp-send` run on them.

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use assert_cmd::Command;
use serde_json::Value;

use super::{run, temp_file, Run};

/// A loopback address where nothing listens: a listener's port, closed again.
pub(crate) fn closed_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    drop(l);
    addr.to_string()
}

/// A message with this Message-ID (`<ID>`).
pub(crate) fn message(id: &str) -> Vec<u8> {
    format!("Message-ID: <{id}>\r\nSubject: spool {id}\r\n\r\nbody of {id}\r\n").into_bytes()
}

/// The Message-ID of a message (as stored: any line ends), without `<>`.
pub(crate) fn message_id(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    text.lines().take_while(|l| !l.is_empty()).find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("Message-ID").then(|| {
            value
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
    })
}

/// A spool and its account file, in a fresh directory that is also the runs' HOME.
pub(crate) struct Spool {
    pub dir: PathBuf,
    pub config: PathBuf,
    home: PathBuf,
}

impl Spool {
    /// A spool whose relay is down.
    pub(crate) fn new() -> Spool {
        let config = temp_file("config.toml", b"");
        let home = config.with_file_name("");
        let s = Spool {
            dir: home.join("queue"),
            config,
            home,
        };
        s.relay(&closed_port());
        s
    }

    /// The account's server is now `addr`.
    pub(crate) fn relay(&self, addr: &str) {
        self.account(addr, "");
    }

    /// The account: server `addr`, cleartext, and the `more` lines.
    pub(crate) fn account(&self, addr: &str, more: &str) {
        let text = format!("[defaults]\nserver = \"{addr}\"\ntls = \"none\"\n{more}");
        std::fs::write(&self.config, text).expect("write the account file");
    }

    /// `smtp-send --config C --queue DIR` plus `args`, isolated from the user's files.
    pub(crate) fn command(&self, args: &[&str]) -> StdCommand {
        let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin("smtp-send"));
        cmd.env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", &self.home)
            .env("XDG_STATE_HOME", &self.home)
            .arg("--config")
            .arg(&self.config)
            .arg("--queue")
            .arg(&self.dir)
            .args(args);
        cmd
    }

    /// Sends `message` from a@example.org to `to` (one `--to` each).
    pub(crate) fn send(&self, to: &[&str], message: &[u8]) -> StdCommand {
        let data = temp_file("m.eml", message);
        let mut cmd = self.command(&["--from", "a@example.org"]);
        for t in to {
            cmd.args(["--to", t]);
        }
        cmd.arg("--data").arg(data);
        cmd
    }

    /// Spools the message with Message-ID `id` to `to`: exit 0 expected.
    pub(crate) fn spool(&self, to: &[&str], id: &str) -> Run {
        run(timed(self.send(to, &message(id)))).expect(0)
    }

    /// Two `--flush-queue --ignore-backoff` at once, each to its end with status 0.
    pub(crate) fn flush_twice_at_once(&self) {
        let flushes: Vec<_> = (0..2)
            .map(|_| {
                let mut cmd = self.command(&["--flush-queue", "--ignore-backoff"]);
                cmd.stdout(std::process::Stdio::null()).spawn().unwrap()
            })
            .collect();
        for mut f in flushes {
            assert!(f.wait().unwrap().success());
        }
    }

    /// `--flush-queue` plus `args`, run to its end.
    pub(crate) fn flush(&self, args: &[&str]) -> Run {
        let mut cmd = self.command(&["--flush-queue"]);
        cmd.args(args);
        run(timed(cmd))
    }

    /// `--list-queue`, run.
    pub(crate) fn list(&self) -> Run {
        run(timed(self.command(&["--list-queue"]))).expect(0)
    }

    /// The header line of each entry (JSON), oldest first.
    pub(crate) fn entries(&self) -> Vec<Value> {
        self.files("", "msg")
            .iter()
            .map(|p| {
                let bytes = std::fs::read(p).expect("read an entry");
                let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
                serde_json::from_slice(line)
                    .unwrap_or_else(|e| panic!("{}: not an entry: {e}", p.display()))
            })
            .collect()
    }

    /// The Message-IDs in the spool, with each entry's state.
    pub(crate) fn spooled(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for p in self.files("", "msg") {
            let bytes = std::fs::read(&p).expect("read an entry");
            let at = bytes.iter().position(|&b| b == b'\n').expect("header line");
            let header: Value = serde_json::from_slice(&bytes[..at]).expect("entry header");
            let id = message_id(&bytes[at + 1..]).expect("Message-ID");
            out.push((id, header["state"].as_str().unwrap_or_default().to_owned()));
        }
        out
    }

    /// The files of `sub` (`""`: the spool itself) ending in `.ext`.
    pub(crate) fn files(&self, sub: &str, ext: &str) -> Vec<PathBuf> {
        let dir: &Path = &self.dir.join(sub);
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        v.retain(|p| p.extension().is_some_and(|x| x == ext));
        v.sort();
        v
    }
}

/// A run of `cmd` bounded in time.
pub(crate) fn timed(cmd: StdCommand) -> Command {
    let mut cmd = Command::from_std(cmd);
    cmd.timeout(std::time::Duration::from_secs(60));
    cmd
}

/// The fields of an RFC 3464 `message/delivery-status` part: the per-message block,
/// then one block per recipient (field names lower-cased).
pub(crate) fn delivery_status(report: &[u8]) -> Vec<Vec<(String, String)>> {
    let text = String::from_utf8_lossy(report).replace("\r\n", "\n");
    let head_end = text.find("\n\n").expect("header");
    let head = text[..head_end].replace("\n\t", " ");
    assert!(
        head.contains("Content-Type: multipart/report; report-type=delivery-status;"),
        "{head}"
    );
    let boundary = head
        .split("boundary=\"")
        .nth(1)
        .and_then(|b| b.split('"').next())
        .expect("boundary");
    let part = text
        .split(&format!("--{boundary}"))
        .find(|p| {
            p.trim_start()
                .starts_with("Content-Type: message/delivery-status")
        })
        .expect("a message/delivery-status part");
    let body = part.split_once("\n\n").expect("part header").1;
    body.split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|block| {
            block
                .lines()
                .filter_map(|l| l.split_once(": "))
                .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
                .collect()
        })
        .collect()
}

/// A field of a block of [`delivery_status`].
pub(crate) fn field<'a>(block: &'a [(String, String)], name: &str) -> Option<&'a str> {
    block
        .iter()
        .find(|(k, _)| k == &name.to_ascii_lowercase())
        .map(|(_, v)| v.as_str())
}
