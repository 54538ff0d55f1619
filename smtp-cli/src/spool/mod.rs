//! The spool (`--queue DIR`, the account's `queue`): a message whose sending failed
//! for now is kept on disk ([`keep`]) and sent again by `--flush-queue` ([`flush`]),
//! with backoff, until the server takes it or refuses it for good or its lifetime
//! ends (then a delivery report, [`bounce`]). `--list-queue` shows it ([`list`]).
//!
//! Never lost, never sent twice: every file is written whole ([`store`]); a message is
//! marked in flight on disk before its transaction starts, so that a flush that dies
//! leaves it flagged "unknown" rather than queued; one lock per message
//! ([`lock`]) keeps two flushes apart.

pub(crate) mod bounce;
pub(crate) mod entry;
pub(crate) mod fate;
pub(crate) mod flush;
pub(crate) mod list;
pub(crate) mod lock;
pub(crate) mod settings;
pub(crate) mod store;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::args::Args;
use crate::exit::{ExitStatus, Failure, Invalid};
use entry::{Entry, Envelope, Header, State, VERSION};
use fate::Fate;
pub(crate) use settings::Settings;
use store::Store;

/// How long a message is tried by default (as Postfix's `maximal_queue_lifetime`).
pub(crate) const DEFAULT_LIFETIME: u64 = 5 * 24 * 3600;

/// The time since the Unix epoch.
pub(crate) fn now_exact() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Unix seconds.
pub(crate) fn now() -> u64 {
    now_exact().as_secs()
}

/// The spool of this user when none is named: `$XDG_STATE_HOME/smtp-send/queue`, else
/// `~/.local/state/smtp-send/queue` (the XDG base directory specification's place for
/// state that outlives a run).
pub(crate) fn default_dir() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("state"))
        })?;
    Some(state.join("smtp-send").join("queue"))
}

/// The wait before the next attempt after `attempts` attempts: one minute, doubling,
/// at most an hour.
pub(crate) fn backoff(attempts: u32) -> u64 {
    let doublings = attempts.saturating_sub(1).min(6);
    (60u64 << doublings).min(3600)
}

/// `--queue-lifetime` and the `queue_lifetime` key: seconds, or a number with `s`,
/// `m`, `h` or `d`.
pub(crate) fn parse_lifetime(s: &str) -> Result<u64, Invalid> {
    let s = s.trim();
    let (digits, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c),
        _ => (s, 's'),
    };
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86400,
        _ => {
            return Err(Invalid::of(
                format!("{s:?}"),
                "the unit is one of s, m, h, d",
            ))
        }
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| {
            Invalid::of(
                format!("{s:?}"),
                "expected a number of seconds, or e.g. 5d, 12h, 30m",
            )
        })
}

/// The lifetime in effect (the option, else the account's key, else five days).
pub(crate) fn lifetime(args: &Args) -> Result<u64, Failure> {
    args.queue_lifetime
        .as_deref()
        .map(|s| parse_lifetime(s).map_err(|e| e.flag("--queue-lifetime")))
        .unwrap_or(Ok(DEFAULT_LIFETIME))
}

/// The spool directory in effect: `--queue`, the account's `queue`, else this user's.
pub(crate) fn dir(args: &Args) -> Result<PathBuf, Failure> {
    args.queue.clone().or_else(default_dir).ok_or_else(|| {
        Failure::Usage(
            "no spool directory: --queue DIR (neither XDG_STATE_HOME nor HOME is set)".into(),
        )
    })
}

fn open(dir: &Path) -> Result<Store, Failure> {
    Store::open(dir).map_err(|e| Failure::Input(format!("spool {}: {e}", dir.display())))
}

/// `--flush-queue` or `--list-queue`.
pub(crate) fn command(args: &Args) -> Result<ExitStatus, Failure> {
    let store = open(&dir(args)?)?;
    if args.list_queue {
        return Ok(list::print(&store));
    }
    flush::run(&store, args, lifetime(args)?)
}

fn say(line: &str) {
    crate::say(line);
}

/// A fresh entry of `message` to `to`, as `args` (after the first attempt) describes
/// its envelope.
fn entry(args: &Args, settings: &Settings, message: &[u8], to: Vec<String>) -> Entry {
    let now = now();
    Entry {
        header: Header {
            version: VERSION,
            created: now,
            attempts: 1,
            next_attempt: now + backoff(1),
            state: State::Queued,
            last_error: None,
            envelope: Envelope {
                from: args.from.clone().unwrap_or_default(),
                to,
                notify: args.notify.clone(),
                ret: args.ret.clone(),
                envid: args.envid.clone(),
            },
            settings: settings.clone(),
            size: message.len() as u64,
        },
        message: message.to_vec(),
    }
}

/// After the first attempt (exit `status`): spools the recipients it left to try
/// again, and those it may have reached (flagged unknown, never resent unless asked),
/// and says so on standard error. The status then speaks for what was not spooled:
/// 0 when every recipient was delivered or spooled, 69 for a refusal, 75 while an
/// outcome is unknown. A spool that cannot be written leaves `status` as it was.
pub(crate) fn keep(
    args: &Args,
    settings: &Settings,
    message: &[u8],
    fates: &[Fate],
    status: ExitStatus,
) -> ExitStatus {
    if !matches!(status, ExitStatus::TempFail | ExitStatus::Unavailable) {
        return status;
    }
    let Some(dir) = &args.queue else {
        return status;
    };
    let sorted = fate::Sorted::of(&args.to, fates.to_vec());
    // What failed otherwise is local or about security, and says so: not for the spool.
    if sorted
        .deferred
        .iter()
        .any(|d| d.status != ExitStatus::TempFail)
        || (sorted.deferred.is_empty() && sorted.unknown.is_empty())
    {
        return status;
    }
    let refused = !sorted.failed.is_empty();
    let why = sorted.deferred.first().map(|d| d.why.clone());
    let deferred: Vec<String> = sorted.deferred.into_iter().map(|d| d.rcpt).collect();
    let (unknown, unknown_why) = (sorted.unknown, sorted.unknown_why);
    let store = match open(dir) {
        Ok(s) => s,
        Err(e) => {
            say(&format!("error: {e}: the message is not spooled"));
            return status;
        }
    };
    let spool = |to: Vec<String>, state: State, why: Option<String>| {
        let mut e = entry(args, settings, message, to);
        e.header.state = state;
        e.header.last_error = why;
        let id = store::new_id();
        match store.write(&id, &e) {
            Ok(()) => Some(id),
            Err(err) => {
                say(&format!(
                    "error: cannot spool into {}: {err}",
                    store.dir().display()
                ));
                None
            }
        }
    };
    let mut after = ExitStatus::Ok;
    if !unknown.is_empty() {
        let n = unknown.len();
        match spool(unknown, State::Unknown, unknown_why) {
            Some(id) => say(&format!(
                "outcome unknown for {n} recipient(s) (it may have been delivered): kept \
                 as {id} in {}, flagged unknown, not sent again unless \
                 --flush-queue --resend-unknown",
                store.dir().display()
            )),
            None => return status,
        }
        after = ExitStatus::TempFail;
    }
    if !deferred.is_empty() {
        let n = deferred.len();
        match spool(deferred, State::Queued, why) {
            Some(id) => say(&format!(
                "queued as {id} in {} for {n} recipient(s): smtp-send --flush-queue \
                 sends it again",
                store.dir().display()
            )),
            None => return status,
        }
    }
    if refused {
        after = after.min(ExitStatus::Unavailable);
    }
    after
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_attempts_up_to_an_hour() {
        let waits: Vec<u64> = (1..=9).map(backoff).collect();
        assert_eq!(waits, [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(backoff(u32::MAX), 3600);
    }

    #[test]
    fn lifetimes_in_seconds_or_with_a_unit() {
        assert_eq!(parse_lifetime("5d"), Ok(5 * 86400));
        assert_eq!(parse_lifetime("12h"), Ok(12 * 3600));
        assert_eq!(parse_lifetime("30m"), Ok(1800));
        assert_eq!(parse_lifetime("90s"), Ok(90));
        assert_eq!(parse_lifetime("0"), Ok(0));
        for bad in ["", "d", "5w", "-1", "1.5h", "99999999999999999999d"] {
            assert!(parse_lifetime(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_default_spool_is_under_xdg_state_home() {
        // Only this test in the binary touches these variables.
        std::env::set_var("XDG_STATE_HOME", "/state");
        assert_eq!(default_dir(), Some(PathBuf::from("/state/smtp-send/queue")));
        std::env::set_var("XDG_STATE_HOME", "");
        std::env::set_var("HOME", "/home/u");
        assert_eq!(
            default_dir(),
            Some(PathBuf::from("/home/u/.local/state/smtp-send/queue"))
        );
    }
}
