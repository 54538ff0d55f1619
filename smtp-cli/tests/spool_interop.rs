//! The spool against Postfix (scripts/test-servers): relay down then back, a 5xx at a
//! flush, two flushes at once, and SIGKILL at random points of spooling and of
//! flushing; what Postfix stored is compared by Message-ID. Panics (never skips) when
//! the servers are down.
#![cfg(feature = "interop")]

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::spool::*;
use smtp_testkit::interop::{unique, Listener, TestServers};

/// Postfix's Maildir, read incrementally: the Message-IDs of the files delivered to
/// one recipient (by `X-Original-To`, as the testkit finds them). The files there
/// before the test are never read (the Maildir keeps every run's mail).
struct Maildir {
    dirs: Vec<PathBuf>,
    rcpt: String,
    seen: HashSet<PathBuf>,
    ids: Vec<String>,
}

impl Maildir {
    fn new(servers: &TestServers, rcpt: &str) -> Maildir {
        let root = PathBuf::from(servers.var("SMTP_TEST_POSTFIX_MAILDIR"));
        let mut m = Maildir {
            dirs: vec![root.join("new"), root.join("cur")],
            rcpt: rcpt.to_owned(),
            seen: HashSet::new(),
            ids: Vec::new(),
        };
        m.seen = m.names();
        m
    }

    fn names(&self) -> HashSet<PathBuf> {
        self.dirs
            .iter()
            .filter_map(|d| std::fs::read_dir(d).ok())
            .flat_map(|d| d.flatten().map(|e| e.path()))
            .collect()
    }

    /// Every Message-ID stored for the recipient so far (repeats kept).
    fn ids(&mut self) -> Vec<String> {
        let want = format!("X-Original-To: {}", self.rcpt);
        for path in self.names() {
            if !self.seen.insert(path.clone()) {
                continue;
            }
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            let header = text.split("\n\n").next().unwrap_or_default();
            if header.lines().any(|l| l == want) {
                self.ids.push(message_id(&bytes).expect("a Message-ID"));
            }
        }
        self.ids.clone()
    }

    /// Waits (up to 30 s) until every one of `ids` is stored, then a moment more for
    /// anything else on its way; every Message-ID stored, with its count.
    fn settle(&mut self, ids: &BTreeSet<String>) -> BTreeMap<String, usize> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got: BTreeSet<String> = self.ids().into_iter().collect();
            if ids.is_subset(&got) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "Postfix did not store {:?} within 30 s",
                ids.difference(&got).collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_secs(2));
        let mut counts = BTreeMap::new();
        for id in self.ids() {
            *counts.entry(id).or_insert(0) += 1;
        }
        counts
    }
}

impl Maildir {
    /// Postfix stored each of `ids` exactly once, and nothing else for the recipient.
    fn assert_each_once(&mut self, ids: &BTreeSet<String>) {
        let counts = self.settle(ids);
        assert_eq!(&counts.keys().cloned().collect::<BTreeSet<_>>(), ids);
        assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    }
}

fn postfix(servers: &TestServers) -> String {
    servers.addr(Listener::Postfix).to_string()
}

/// Spools `n` messages to `rcpt` (the relay down), each with a Message-ID of its own
/// tagged `tag`, noted on standard error; their Message-IDs.
fn spool_each(spool: &Spool, rcpt: &str, tag: &str, n: usize) -> BTreeSet<String> {
    let ids: BTreeSet<String> = (0..n)
        .map(|i| format!("{}@example.org", unique(&format!("{tag}-{i}"))))
        .collect();
    for id in &ids {
        let out = spool.spool(&[rcpt], id);
        assert!(out.stderr.contains("queued as"), "{out}");
    }
    ids
}

/// Relay down: each of three messages spooled (exit 0); relay back: `--flush-queue`
/// delivers each exactly once to Postfix, and the spool is empty.
#[test]
fn relay_down_then_back_postfix_stores_each_message_exactly_once() {
    let servers = TestServers::get();
    let rcpt = format!("{}@example.com", unique("spool-back"));
    let mut maildir = Maildir::new(&servers, &rcpt);
    let spool = Spool::new();
    let ids = spool_each(&spool, &rcpt, "back", 3);
    assert_eq!(spool.entries().len(), 3);
    spool.relay(&postfix(&servers));
    spool.flush(&["--ignore-backoff"]).expect(0);
    assert!(spool.entries().is_empty());
    maildir.assert_each_once(&ids);
}

/// Postfix refuses the `reject…` recipient with 550 5.1.1 at a flush: a bounce file in
/// RFC 3464 form for it, exit 69; the other recipient got the message.
#[test]
fn a_postfix_5xx_during_a_flush_writes_an_rfc_3464_bounce_and_exits_69() {
    let servers = TestServers::get();
    let ok = format!("{}@example.com", unique("spool-ok"));
    let refused = format!(
        "{}@example.com",
        unique(servers.var("SMTP_TEST_REJECT_PREFIX"))
    );
    let mut maildir = Maildir::new(&servers, &ok);
    let spool = Spool::new();
    let id = format!("{}@example.org", unique("bounce"));
    spool.spool(&[&ok, &refused], &id);
    spool.relay(&postfix(&servers));
    spool.flush(&["--ignore-backoff"]).expect(69);
    assert!(spool.entries().is_empty());
    let bounces = spool.files("bounces", "eml");
    assert_eq!(bounces.len(), 1);
    let report = std::fs::read(&bounces[0]).unwrap();
    let blocks = delivery_status(&report);
    assert!(field(&blocks[0], "Reporting-MTA").is_some(), "{blocks:?}");
    assert_eq!(blocks.len(), 2, "{blocks:?}");
    let r = &blocks[1];
    assert_eq!(
        field(r, "Final-Recipient"),
        Some(format!("rfc822; {refused}").as_str())
    );
    assert_eq!(field(r, "Action"), Some("failed"));
    assert_eq!(field(r, "Status"), Some("5.1.1"));
    let diag = field(r, "Diagnostic-Code").unwrap();
    assert!(diag.starts_with("smtp; 550 5.1.1"), "{diag}");
    assert!(String::from_utf8_lossy(&report).contains(&format!("Message-ID: <{id}>")));
    let counts = maildir.settle(&BTreeSet::from([id.clone()]));
    assert_eq!(counts.get(&id), Some(&1));
}

/// Two flushes at once over twenty spooled messages: Postfix stores each exactly once.
#[test]
fn two_flushes_at_once_postfix_stores_no_duplicate() {
    let servers = TestServers::get();
    let rcpt = format!("{}@example.com", unique("spool-two"));
    let mut maildir = Maildir::new(&servers, &rcpt);
    let spool = Spool::new();
    let ids = spool_each(&spool, &rcpt, "two", 20);
    spool.relay(&postfix(&servers));
    spool.flush_twice_at_once();
    assert!(spool.entries().is_empty());
    maildir.assert_each_once(&ids);
}

/// xorshift64*: the loop's delays, reproducible from the seed it prints.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// Runs `cmd`, killed with SIGKILL after `delay` unless it ended first; whether it
/// ended by itself with status 0.
fn killed_after(mut cmd: std::process::Command, delay: Duration) -> bool {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    // Child::kill sends SIGKILL; an error means it had already ended.
    let _ = child.kill();
    child.wait().unwrap().success()
}

/// SIGKILL at a random moment (0–40 ms) of each of 120 spooling runs (relay down) and
/// of 120 flushes (relay back, Postfix), then one flush left to finish: every message
/// whose spooling exited 0 is stored by Postfix once or is still in the spool; one
/// left in the spool is flagged unknown (it may be stored too) and was never sent
/// again; no Message-ID is stored twice; no spool file is torn.
#[test]
fn sigkill_while_spooling_and_flushing_loses_nothing_and_sends_nothing_twice() {
    let servers = TestServers::get();
    let seed = std::env::var("SPOOL_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_2026_u64);
    eprintln!("SPOOL_KILL_SEED={seed}");
    let mut rng = Rng(seed | 1);
    let rcpt = format!("{}@example.com", unique("spool-kill"));
    let mut maildir = Maildir::new(&servers, &rcpt);
    let spool = Spool::new();
    let runs = 120;

    let mut promised = BTreeSet::new();
    let mut all = BTreeSet::new();
    for i in 0..runs {
        let id = format!("{}@example.org", unique(&format!("kill-{i}")));
        let delay = Duration::from_millis(rng.below(41));
        if killed_after(spool.send(&[&rcpt], &message(&id)), delay) {
            promised.insert(id.clone());
        }
        all.insert(id);
    }
    spool.relay(&postfix(&servers));
    for _ in 0..runs {
        let delay = Duration::from_millis(rng.below(41));
        killed_after(spool.command(&["--flush-queue", "--ignore-backoff"]), delay);
    }
    let last = spool.flush(&["--ignore-backoff"]);
    assert!(last.code == 0 || last.code == 75, "{last}");

    let left = spool.spooled();
    assert!(
        left.iter().all(|(_, state)| state != "queued"),
        "a queued message outlived the last flush: {left:?}"
    );
    assert!(!spool.list().stdout.contains("unreadable"), "a torn file");
    let left: BTreeMap<String, String> = left.into_iter().collect();
    // Delivered for sure: spooled (exit 0), and no longer in the spool. (A run killed
    // after its rename spooled its message too: if delivered, it is counted below.)
    let delivered: BTreeSet<String> = promised
        .iter()
        .filter(|id| !left.contains_key(*id))
        .cloned()
        .collect();
    let counts = maildir.settle(&delivered);
    for (id, n) in &counts {
        assert_eq!(*n, 1, "{id} stored {n} times");
        assert!(all.contains(id), "{id}: not one of ours");
    }
    for id in &promised {
        assert!(
            counts.contains_key(id) || left.contains_key(id),
            "{id}: spooled (exit 0) but neither stored by Postfix nor in the spool"
        );
    }
    eprintln!(
        "{} of {runs} spooled with exit 0; {} stored by Postfix; {} left flagged unknown",
        promised.len(),
        counts.len(),
        left.len()
    );
}
