//! Storage for MTA-STS policies between deliveries (RFC 8461 §5.1: a policy is cached
//! for its `max_age` and refetched only when the `_mta-sts` record's `id` changes).
//! The planner takes the stored entry as `cached` and emits
//! [`MxEvent::CachePolicy`](smtp_proto::mx::MxEvent::CachePolicy) with one to store;
//! where it is kept is the caller's choice: the [`StsCache`] trait, and a file
//! ([`FileStsCache`]) for a command-line tool.
//!
//! The file is text, one policy per line, after a header line naming the format:
//!
//! ```text
//! # smtp-mx sts-cache 1
//! example.com 20240101T000000 1767225600 enforce 604800 mx.example.com,*.example.net
//! example.org abc123 1767225600 none 86400 -
//! ```
//!
//! Fields, separated by one space: the policy domain (lower case), the record's `id`
//! (RFC 8461 §3.1: 1 to 32 letters and digits), the Unix time of the fetch, `mode`,
//! `max_age`, and the `mx` patterns joined by commas (`-` for none). Each line is read
//! back through the policy parser ([`parse_sts_policy`]), so a stored policy is held to
//! the rules of a fetched one. A line that does not read is skipped (counted by
//! [`FileStsCache::skipped`]), never trusted in part; a file over
//! [`MAX_FILE_BYTES`] or without the header is an error, never a panic.
//!
//! Around one domain's delivery (`mx::deliver` of an adapter):
//!
//! ```
//! use smtp_mx::sts_cache::{FileStsCache, StsCache};
//! use smtp_proto::command::Domain;
//! use smtp_proto::mx::{parse_sts_policy, MxEvent, StsCacheEntry};
//!
//! let path = std::env::temp_dir().join(format!("sts-cache-doc-{}", std::process::id()));
//! let mut cache = FileStsCache::open(&path)?;
//! let domain = Domain::new("example.com")?;
//! let cached = cache.get(&domain); // for `MxJob::cached`
//! assert!(cached.is_none());
//! // ... deliver; then every policy the planner hands back is stored:
//! let body = b"version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 86400\n";
//! let fetched = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
//! let events = vec![MxEvent::CachePolicy(StsCacheEntry {
//!     domain: domain.clone(),
//!     id: "20260101".into(),
//!     policy: parse_sts_policy(body).expect("policy"),
//!     fetched,
//! })];
//! for e in events {
//!     if let MxEvent::CachePolicy(entry) = e {
//!         cache.put(entry)?;
//!     }
//! }
//! assert_eq!(FileStsCache::open(&path)?.get(&domain).map(|e| e.id), Some("20260101".into()));
//! # std::fs::remove_file(&path)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use smtp_proto::command::Domain;
use smtp_proto::mx::{parse_sts_policy, StsCacheEntry};

/// Where MTA-STS policies are kept between deliveries.
pub trait StsCache {
    /// The stored entry for `domain` (any case), expired or not: the planner decides
    /// what an expired one is still good for.
    fn get(&self, domain: &Domain) -> Option<StsCacheEntry>;

    /// Stores `entry` for its domain, replacing what was there (a `mode: none` policy
    /// too: it withdraws the old one, RFC 8461 §5).
    ///
    /// # Errors
    /// [`StsCacheError`] when the storage could not be written.
    fn put(&mut self, entry: StsCacheEntry) -> Result<(), StsCacheError>;
}

/// The first line of a cache file.
const HEADER: &str = "# smtp-mx sts-cache 1";

/// The largest cache file read (about 4 MiB: many thousand policies).
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// The most entries kept; beyond it the oldest fetches are dropped when writing.
pub const MAX_ENTRIES: usize = 10_000;

/// Why a cache file could not be used.
#[derive(Debug)]
#[non_exhaustive]
pub enum StsCacheError {
    /// Reading or writing the file failed.
    Io(io::Error),
    /// The file is larger than [`MAX_FILE_BYTES`].
    TooLarge,
    /// The file does not start with this format's header: not a cache file (or one
    /// of another version), left untouched.
    NotACache,
}

impl fmt::Display for StsCacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StsCacheError::Io(e) => write!(f, "MTA-STS cache file: {e}"),
            StsCacheError::TooLarge => {
                write!(f, "MTA-STS cache file: larger than {MAX_FILE_BYTES} bytes")
            }
            StsCacheError::NotACache => write!(
                f,
                "MTA-STS cache file: not a cache file (its first line is not {HEADER:?})"
            ),
        }
    }
}

impl std::error::Error for StsCacheError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StsCacheError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// A cache in one text file (see the module). Every [`put`](StsCache::put) reads the
/// file again, adds the entry, drops expired ones and replaces the file at once (a
/// temporary file renamed over it), so concurrent writers lose no more than a policy
/// to be fetched again, and a reader never sees half a file.
#[derive(Debug)]
pub struct FileStsCache {
    path: PathBuf,
    entries: BTreeMap<String, StsCacheEntry>,
    skipped: usize,
}

impl FileStsCache {
    /// Reads the cache at `path`; a file that does not exist is an empty cache (created
    /// by the first `put`).
    ///
    /// # Errors
    /// [`StsCacheError`]: the file cannot be read, is too large, or is no cache file.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, StsCacheError> {
        let path = path.into();
        let (entries, skipped) = read(&path)?;
        Ok(FileStsCache {
            path,
            entries,
            skipped,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many lines of the file were skipped as unreadable when it was last read.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// The entries held, by domain.
    pub fn entries(&self) -> impl Iterator<Item = &StsCacheEntry> {
        self.entries.values()
    }
}

impl StsCache for FileStsCache {
    fn get(&self, domain: &Domain) -> Option<StsCacheEntry> {
        self.entries
            .get(&domain.as_str().to_ascii_lowercase())
            .cloned()
    }

    fn put(&mut self, entry: StsCacheEntry) -> Result<(), StsCacheError> {
        // What other writers stored since this one read the file.
        let (mut entries, skipped) = read(&self.path)?;
        entries.insert(entry.domain.as_str().to_ascii_lowercase(), entry);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        entries.retain(|_, e| e.is_valid(now));
        if entries.len() > MAX_ENTRIES {
            let mut by_age: Vec<(u64, String)> = entries
                .iter()
                .map(|(k, e)| (e.fetched, k.clone()))
                .collect();
            by_age.sort();
            for (_, k) in by_age.into_iter().take(entries.len() - MAX_ENTRIES) {
                entries.remove(&k);
            }
        }
        write(&self.path, &entries).map_err(StsCacheError::Io)?;
        self.entries = entries;
        self.skipped = skipped;
        Ok(())
    }
}

/// The entries of the file at `path` and how many lines were skipped.
fn read(path: &Path) -> Result<(BTreeMap<String, StsCacheEntry>, usize), StsCacheError> {
    let file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((BTreeMap::new(), 0)),
        Err(e) => return Err(StsCacheError::Io(e)),
    };
    let mut bytes = Vec::new();
    // One byte more than allowed tells an oversized file apart without reading it all.
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(StsCacheError::Io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(StsCacheError::TooLarge);
    }
    parse(&bytes)
}

/// A cache file's bytes: its entries, and how many lines did not read.
fn parse(bytes: &[u8]) -> Result<(BTreeMap<String, StsCacheEntry>, usize), StsCacheError> {
    let mut lines = bytes.split(|&b| b == b'\n');
    if lines.next() != Some(HEADER.as_bytes()) {
        // An empty file is an empty cache (a crash between create and write).
        return match bytes.is_empty() {
            true => Ok((BTreeMap::new(), 0)),
            false => Err(StsCacheError::NotACache),
        };
    }
    let mut entries = BTreeMap::new();
    let mut skipped = 0;
    for line in lines.filter(|l| !l.is_empty()) {
        match std::str::from_utf8(line).ok().and_then(entry) {
            Some(e) => {
                entries.insert(e.domain.as_str().to_owned(), e);
            }
            None => skipped += 1,
        }
    }
    Ok((entries, skipped))
}

/// One line, or `None` when any field does not read.
fn entry(line: &str) -> Option<StsCacheEntry> {
    // No control characters: not even the CR the policy grammar would take as a line end.
    if line.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return None;
    }
    let fields: Vec<&str> = line.split(' ').collect();
    let [domain, id, fetched, mode, max_age, mx] = fields[..] else {
        return None;
    };
    let domain = Domain::new(domain).ok()?;
    if domain.as_str() != domain.as_str().to_ascii_lowercase() || domain.is_address_literal() {
        return None;
    }
    // RFC 8461 §3.1: sts-id = 1*32(ALPHA / DIGIT).
    if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    if !fetched.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let fetched = fetched.parse().ok()?;
    // The policy's own grammar decides the rest: mode, max_age and each pattern.
    let mut body = format!("version: STSv1\nmode: {mode}\nmax_age: {max_age}\n");
    if mx != "-" {
        for pattern in mx.split(',') {
            body.push_str("mx: ");
            body.push_str(pattern);
            body.push('\n');
        }
    }
    let policy = parse_sts_policy(body.as_bytes()).ok()?;
    Some(StsCacheEntry {
        domain,
        id: id.to_owned(),
        policy,
        fetched,
    })
}

/// The line of `e`, or `None` for an entry no line can hold (an `id` the planner
/// would not have taken from a record).
fn line(e: &StsCacheEntry) -> Option<String> {
    let mx: Vec<String> = e.policy.mx.iter().map(ToString::to_string).collect();
    let mx = if mx.is_empty() {
        "-".into()
    } else {
        mx.join(",")
    };
    let text = format!(
        "{} {} {} {} {} {mx}",
        e.domain.as_str().to_ascii_lowercase(),
        e.id,
        e.fetched,
        e.policy.mode.as_str(),
        e.policy.max_age,
    );
    // Only what reads back is written.
    entry(&text).is_some().then_some(text)
}

/// Replaces the file at `path` with `entries`: a temporary file beside it, flushed to
/// disk, renamed over it (rename is atomic within a file system).
fn write(path: &Path, entries: &BTreeMap<String, StsCacheEntry>) -> io::Result<()> {
    let mut text = String::from(HEADER);
    text.push('\n');
    for line in entries.values().filter_map(line) {
        text.push_str(&line);
        text.push('\n');
    }
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let mut tmp_name = name.to_os_string();
    tmp_name.push(format!(".tmp.{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let written = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use smtp_proto::mx::StsMode;

    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    fn entry_for(domain: &str, id: &str, body: &str, fetched: u64) -> StsCacheEntry {
        StsCacheEntry {
            domain: Domain::new(domain).unwrap(),
            id: id.into(),
            policy: parse_sts_policy(body.as_bytes()).unwrap(),
            fetched,
        }
    }

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("smtp-mx-sts-cache-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir.join("sts.cache")
    }

    #[test]
    fn a_stored_policy_reads_back_equal_after_reopening_and_by_any_case() {
        let path = temp("roundtrip");
        let mut cache = FileStsCache::open(&path).unwrap();
        assert!(cache.entries().next().is_none(), "a missing file is empty");
        let enforce = entry_for(
            "Example.COM",
            "20240101T0",
            "version: STSv1\nmode: enforce\nmx: mx.example.com\nmx: *.example.net\nmax_age: 86400\n",
            now(),
        );
        let none = entry_for(
            "example.org",
            "abc",
            "version: STSv1\nmode: none\nmax_age: 600\n",
            now(),
        );
        cache.put(enforce.clone()).unwrap();
        cache.put(none.clone()).unwrap();
        let again = FileStsCache::open(&path).unwrap();
        assert_eq!(again.skipped(), 0);
        let got = again.get(&Domain::new("example.com").unwrap()).unwrap();
        assert_eq!(
            (got.id.as_str(), got.fetched),
            ("20240101T0", enforce.fetched)
        );
        assert_eq!(got.policy, enforce.policy);
        assert_eq!(got.domain.as_str(), "example.com");
        let got = again.get(&Domain::new("EXAMPLE.org").unwrap()).unwrap();
        assert_eq!(got.policy.mode, StsMode::None);
        assert_eq!(got, none);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# smtp-mx sts-cache 1\n"), "{text}");
        assert!(
            text.contains(" enforce 86400 mx.example.com,*.example.net\n"),
            "{text}"
        );
    }

    #[test]
    fn a_new_policy_replaces_the_old_and_expired_ones_are_dropped_on_write() {
        let path = temp("replace");
        let mut cache = FileStsCache::open(&path).unwrap();
        let body = "version: STSv1\nmode: testing\nmx: mx.a.example\nmax_age: 100\n";
        cache
            .put(entry_for("a.example", "one", body, now()))
            .unwrap();
        cache
            .put(entry_for("a.example", "two", body, now()))
            .unwrap();
        cache
            .put(entry_for("old.example", "x", body, 1_000))
            .unwrap();
        let again = FileStsCache::open(&path).unwrap();
        assert_eq!(again.entries().count(), 1);
        assert_eq!(
            again.get(&Domain::new("a.example").unwrap()).unwrap().id,
            "two"
        );
        assert!(again.get(&Domain::new("old.example").unwrap()).is_none());
    }

    #[test]
    fn corrupt_lines_are_skipped_and_counted_never_trusted_in_part() {
        let path = temp("corrupt");
        let t = now();
        let good = format!("good.example id1 {t} enforce 86400 mx.good.example");
        let bad = [
            format!("bad1.example id1 {t} enforce 86400"), // a field short
            format!("bad2.example id1 {t} enforce 86400 mx.x extra"), // a field more
            format!("bad3.example id_1 {t} enforce 86400 mx.x"), // id not alnum
            "bad4.example id1 -5 enforce 86400 mx.x".into(), // time negative
            format!("bad5.example id1 {t} enforced 86400 mx.x"), // no such mode
            format!("bad6.example id1 {t} enforce 31557601 mx.x"), // max_age too large
            format!("bad7.example id1 {t} enforce 86400 -"), // enforce without mx
            format!("bad8.example id1 {t} enforce 86400 mx..x"), // bad pattern
            format!("Bad9.example id1 {t} enforce 86400 mx.x"), // not lower case
            format!("[127.0.0.1] id1 {t} enforce 86400 mx.x"), // address literal
            format!("bad10.example id1 {t} enforce 86400 mx.x\r"), // CR: the mx is bad
            format!("bad11.example {} {t} none 1 -", "i".repeat(33)), // id too long
            "\u{0}\u{ff}garbage".into(),
            "bad12.example id1 99999999999999999999999 none 1 -".into(), // u64 overflow
        ];
        let mut text = format!("{HEADER}\n{good}\n");
        for b in &bad {
            text.push_str(b);
            text.push('\n');
        }
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(b"\xff\xfe not utf-8\n");
        fs::write(&path, &bytes).unwrap();
        let cache = FileStsCache::open(&path).unwrap();
        assert_eq!(cache.skipped(), bad.len() + 1);
        assert_eq!(cache.entries().count(), 1);
        assert!(cache.get(&Domain::new("good.example").unwrap()).is_some());
    }

    #[test]
    fn a_file_without_the_header_or_too_large_is_an_error_and_left_alone() {
        let path = temp("foreign");
        fs::write(&path, "example.com id1 1 none 1 -\n").unwrap();
        assert!(matches!(
            FileStsCache::open(&path),
            Err(StsCacheError::NotACache)
        ));
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "example.com id1 1 none 1 -\n",
            "left untouched"
        );
        let big = temp("big");
        let f = fs::File::create(&big).unwrap();
        f.set_len(MAX_FILE_BYTES + 1).unwrap();
        assert!(matches!(
            FileStsCache::open(&big),
            Err(StsCacheError::TooLarge)
        ));
        let empty = temp("empty");
        fs::write(&empty, "").unwrap();
        assert_eq!(FileStsCache::open(&empty).unwrap().entries().count(), 0);
        let dir = temp("dir");
        let dir = dir.parent().unwrap();
        assert!(matches!(FileStsCache::open(dir), Err(StsCacheError::Io(_))));
    }

    #[test]
    fn a_put_keeps_what_another_writer_stored_meanwhile_and_leaves_no_temporary_file() {
        let path = temp("merge");
        let body = "version: STSv1\nmode: enforce\nmx: mx.b.example\nmax_age: 86400\n";
        let mut first = FileStsCache::open(&path).unwrap();
        let mut second = FileStsCache::open(&path).unwrap();
        first.put(entry_for("a.example", "1", body, now())).unwrap();
        second
            .put(entry_for("b.example", "1", body, now()))
            .unwrap();
        let again = FileStsCache::open(&path).unwrap();
        assert_eq!(again.entries().count(), 2);
        let files: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(files, ["sts.cache"], "{files:?}");
    }

    #[test]
    fn the_entry_count_is_bounded_by_dropping_the_oldest_fetches() {
        let mut entries = BTreeMap::new();
        let body = "version: STSv1\nmode: none\nmax_age: 31557600\n";
        let t = now();
        for i in 0..MAX_ENTRIES {
            let e = entry_for(
                &format!("d{i}.example"),
                "1",
                body,
                t - 1_000 + (i as u64 % 500),
            );
            entries.insert(e.domain.as_str().to_owned(), e);
        }
        let path = temp("bounded");
        write(&path, &entries).unwrap();
        let mut cache = FileStsCache::open(&path).unwrap();
        cache.put(entry_for("new.example", "1", body, t)).unwrap();
        assert_eq!(cache.entries().count(), MAX_ENTRIES);
        assert!(cache.get(&Domain::new("new.example").unwrap()).is_some());
        assert!(
            cache.get(&Domain::new("d0.example").unwrap()).is_none(),
            "an oldest fetch dropped"
        );
    }
}
