//! One lock per message, so that two flushes never send it twice: flock(2) on the
//! entry's `ID.lock` file (not on the entry, which is replaced by rename and so
//! changes inode). The kernel drops the lock when the holder ends, however it ends:
//! a lock never outlives a crash.
//!
//! A lock file is removed only after its entry: whoever then locks the removed file
//! reads the entry again, finds it gone and does nothing.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};

/// A held lock; released when dropped.
#[derive(Debug)]
pub(crate) struct Lock {
    _file: File,
    path: PathBuf,
}

/// Locks `path` (created if missing) unless another process holds it: `None` then.
pub(crate) fn try_lock(path: &Path) -> io::Result<Option<Lock>> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)?;
    match flock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(Some(Lock {
            _file: file,
            path: path.to_owned(),
        })),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Ok(None),
        Err(e) => Err(e.into()),
    }
}

impl Lock {
    /// Removes the lock file (its entry is gone), then releases the lock.
    pub(crate) fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether another process holds the lock at `path` now (a message being sent).
pub(crate) fn held(path: &Path) -> bool {
    if !path.exists() {
        return false;
    }
    matches!(try_lock(path), Ok(None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_fails_until_the_first_is_dropped() {
        let dir = std::env::temp_dir().join(format!("smtp-send-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.lock");
        let first = try_lock(&path).unwrap().expect("free");
        // flock locks belong to the open file description: a second open, even in
        // this process, is refused as another process would be.
        assert!(try_lock(&path).unwrap().is_none());
        assert!(held(&path));
        drop(first);
        assert!(!held(&path));
        try_lock(&path).unwrap().expect("free again").remove();
        assert!(!path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
