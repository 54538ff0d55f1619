//! The spool directory: `ID.msg` files ([`Entry`]), `ID.lock` files ([`super::lock`]),
//! `tmp/` for files being written and `bounces/` for delivery reports.
//!
//! Every file appears whole or not at all: it is written under `tmp/`, synced, renamed
//! into place, and the directory synced (rename(2) is atomic; without the directory's
//! fsync a crash could forget the rename). A removal is synced likewise.

use std::fmt;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::entry::{Entry, EntryError};

/// Where the entries end: `ID.msg`.
const ENTRY: &str = ".msg";

/// An open spool directory.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    dir: PathBuf,
}

/// Why a spool file could not be read.
#[derive(Debug)]
pub(crate) enum StoreError {
    /// The file system said no.
    Io(PathBuf, io::Error),
    /// The file is not a usable entry.
    Entry(PathBuf, EntryError),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            StoreError::Entry(p, e) => write!(f, "{}: {e}", p.display()),
        }
    }
}

/// A new entry's name: the time, this process and a counter, so that no two
/// processes (nor two entries of one) share one. Hex digits and dots only.
pub(crate) fn new_id() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let t = super::now_exact();
    format!(
        "{:x}.{:05x}.{:x}.{:x}",
        t.as_secs(),
        t.subsec_micros(),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Whether `id` can be the name of an entry of ours (nothing that would leave the
/// directory or hide a file).
fn valid_id(id: &str) -> bool {
    !id.is_empty() && !id.starts_with('.') && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'.')
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Store {
    /// The spool at `dir`, created (mode 0700: the messages are the user's) if
    /// missing, with its `tmp/` and `bounces/`. A directory others may write to is
    /// refused: an entry names the account file a flush reads (and whose
    /// `password_command` it runs), so whoever can plant one could run commands as
    /// this user.
    pub(crate) fn open(dir: &Path) -> io::Result<Store> {
        let mut b = DirBuilder::new();
        b.recursive(true).mode(0o700);
        for sub in ["tmp", "bounces"] {
            b.create(dir.join(sub))?;
        }
        let mode = std::fs::metadata(dir)?.permissions().mode();
        if mode & 0o022 != 0 {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "writable by its group or others (mode {:o}): refusing it; run chmod go-w {}",
                    mode & 0o777,
                    dir.display()
                ),
            ));
        }
        Ok(Store {
            dir: dir.to_owned(),
        })
    }

    /// Removes what a process that ended mid-write left in `tmp/` (older than an
    /// hour, so that no write in progress is touched).
    pub(crate) fn clean_tmp(&self) {
        let Ok(dir) = std::fs::read_dir(self.dir.join("tmp")) else {
            return;
        };
        let hour = std::time::Duration::from_secs(3600);
        for e in dir.flatten() {
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > hour);
            if old {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    /// The directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of entry `id`.
    pub(crate) fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}{ENTRY}"))
    }

    /// The path of `id`'s lock file.
    pub(crate) fn lock_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.lock"))
    }

    /// Writes `bytes` as `dir/name`, whole or not at all.
    fn put(&self, dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
        static N: AtomicU32 = AtomicU32::new(0);
        let tmp = self.dir.join("tmp").join(format!(
            "{name}.{}.{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let written = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, dir.join(name))?;
            sync_dir(dir)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }

    /// Writes entry `id` (new, or replacing the old one in one step).
    pub(crate) fn write(&self, id: &str, entry: &Entry) -> io::Result<()> {
        self.put(&self.dir, &format!("{id}{ENTRY}"), &entry.to_bytes())
    }

    /// Writes a delivery report as `bounces/ID.eml`; its path.
    pub(crate) fn write_bounce(&self, id: &str, report: &[u8]) -> io::Result<PathBuf> {
        let dir = self.dir.join("bounces");
        let name = format!("{id}.eml");
        self.put(&dir, &name, report)?;
        Ok(dir.join(name))
    }

    /// Entry `id`; `None` if it is gone (another flush finished it).
    pub(crate) fn read(&self, id: &str) -> Result<Option<Entry>, StoreError> {
        let path = self.path(id);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::Io(path, e)),
        };
        Entry::parse(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Entry(path, e))
    }

    /// Removes entry `id` for good.
    pub(crate) fn remove(&self, id: &str) -> io::Result<()> {
        match std::fs::remove_file(self.path(id)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        sync_dir(&self.dir)
    }

    /// The entries' names, oldest first (names start with the time).
    pub(crate) fn ids(&self) -> io::Result<Vec<String>> {
        let mut ids: Vec<String> = std::fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_suffix(ENTRY)
                    .map(str::to_owned)
            })
            .filter(|id| valid_id(id))
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// The delivery reports written so far.
    pub(crate) fn bounces(&self) -> usize {
        std::fs::read_dir(self.dir.join("bounces")).map_or(0, |d| d.count())
    }
}

#[cfg(test)]
mod tests {
    use super::super::entry::tests::sample;
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("smtp-send-store-{name}-{}", std::process::id()))
    }

    #[test]
    fn a_store_is_private_and_writes_entries_whole_leaving_no_temporary_file() {
        let dir = scratch("write").join("q");
        let store = Store::open(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let id = new_id();
        assert!(valid_id(&id), "{id}");
        let mut e = sample();
        store.write(&id, &e).unwrap();
        assert_eq!(store.read(&id).unwrap().unwrap().message, e.message);
        e.message = b"replaced\r\n".to_vec();
        store.write(&id, &e).unwrap();
        assert_eq!(store.read(&id).unwrap().unwrap().message, e.message);
        assert_eq!(store.ids().unwrap(), std::slice::from_ref(&id));
        let mode = std::fs::metadata(store.path(&id)).unwrap().permissions();
        assert_eq!(mode.mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_dir(dir.join("tmp")).unwrap().count(), 0);
        store.remove(&id).unwrap();
        assert!(store.read(&id).unwrap().is_none());
        assert!(store.ids().unwrap().is_empty());
        std::fs::remove_dir_all(scratch("write")).unwrap();
    }

    #[test]
    fn only_temporary_files_older_than_an_hour_are_cleaned() {
        let dir = scratch("tmp");
        let store = Store::open(&dir).unwrap();
        let (old, new) = (dir.join("tmp").join("old"), dir.join("tmp").join("new"));
        std::fs::write(&new, b"being written").unwrap();
        let f = File::create(&old).unwrap();
        let two_hours = std::time::Duration::from_secs(7200);
        f.set_modified(std::time::SystemTime::now() - two_hours)
            .unwrap();
        store.clean_tmp();
        assert!(!old.exists());
        assert!(new.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_spool_others_may_write_to_is_refused() {
        let dir = scratch("shared");
        Store::open(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = Store::open(&dir).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{e}");
        assert!(e.to_string().contains("chmod go-w"), "{e}");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(
            Store::open(&dir).is_ok(),
            "readable by others is the user's choice"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn files_not_ours_are_not_entries_and_corrupt_ones_are_errors() {
        let dir = scratch("corrupt");
        let store = Store::open(&dir).unwrap();
        for name in ["notes.txt", ".hidden.msg", "..msg", "x y.msg"] {
            std::fs::write(dir.join(name), b"junk").unwrap();
        }
        assert!(store.ids().unwrap().is_empty());
        std::fs::write(store.path("abc"), b"{\"version\":1}\n").unwrap();
        assert_eq!(store.ids().unwrap(), ["abc"]);
        let e = store.read("abc").unwrap_err();
        assert!(
            matches!(e, StoreError::Entry(_, EntryError::Header(_))),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
