//! `--list-queue`: the spool as `mailq` shows a queue, on standard output.

use std::fmt::Write as _;
use std::io::Write as _;

use super::entry::State;
use super::lock::held;
use super::store::Store;
use crate::exit::ExitStatus;

/// `secs` as the largest two units (`3d4h`, `5m12s`).
fn age(secs: u64) -> String {
    let units = [(86400, 'd'), (3600, 'h'), (60, 'm'), (1, 's')];
    let mut out = String::new();
    let mut left = secs;
    let mut shown = 0;
    for (size, unit) in units {
        if shown < 2 && (left >= size || (shown == 0 && size == 1)) {
            let _ = write!(out, "{}{unit}", left / size);
            left %= size;
            shown += 1;
        }
    }
    out
}

/// The listing of `store`.
pub(crate) fn text(store: &Store) -> String {
    let mut out = String::new();
    let ids = store.ids().unwrap_or_default();
    let now = super::now();
    let (mut n, mut unknown) = (0, 0);
    for id in &ids {
        let entry = match store.read(id) {
            Ok(Some(e)) => e,
            Ok(None) => continue,
            Err(e) => {
                let _ = writeln!(out, "{id}  unreadable: {e}");
                continue;
            }
        };
        n += 1;
        let h = &entry.header;
        let state = match h.state {
            State::Queued => "queued",
            _ if held(&store.lock_path(id)) => "in-flight",
            _ => {
                unknown += 1;
                "unknown"
            }
        };
        let _ = writeln!(
            out,
            "{id}  {} octets  {} old  {} attempt(s)  {state}",
            entry.message.len(),
            age(now.saturating_sub(h.created)),
            h.attempts
        );
        let _ = writeln!(out, "    from <{}>", h.envelope.from);
        let to: Vec<String> = h.envelope.to.iter().map(|t| format!("<{t}>")).collect();
        let _ = writeln!(out, "    to {}", to.join(", "));
        if h.state == State::Queued {
            let next = match h.next_attempt.checked_sub(now) {
                Some(wait) if wait > 0 => format!("in {}", age(wait)),
                _ => "due".into(),
            };
            let _ = writeln!(out, "    next attempt {next}");
        }
        if let Some(e) = &h.last_error {
            // Escaped: a spool file is input, and this goes to a terminal.
            let _ = writeln!(out, "    last error: {}", crate::output::escaped(e));
        }
    }
    let dir = store.dir().display();
    if n == 0 && ids.is_empty() {
        let _ = writeln!(out, "{dir}: the spool is empty");
    } else {
        let _ = writeln!(out, "-- {n} message(s) in {dir}, {unknown} unknown");
    }
    let bounces = store.bounces();
    if bounces > 0 {
        let _ = writeln!(out, "-- {bounces} delivery report(s) in {dir}/bounces");
    }
    out
}

/// Prints the listing.
pub(crate) fn print(store: &Store) -> ExitStatus {
    let _ = std::io::stdout().lock().write_all(text(store).as_bytes());
    ExitStatus::Ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_shows_each_field_and_escapes_the_last_error() {
        use super::super::entry::tests::sample;
        let dir = std::env::temp_dir().join(format!("smtp-send-list-{}", std::process::id()));
        let store = Store::open(&dir).unwrap();
        let mut e = sample();
        e.header.last_error = Some("451 \u{1b}[2Jgone".into());
        store.write("abc", &e).unwrap();
        let t = text(&store);
        assert!(t.starts_with("abc  "), "{t}");
        assert!(t.contains(&format!("{} octets", e.message.len())), "{t}");
        assert!(t.contains("1 attempt(s)  queued"), "{t}");
        assert!(t.contains("from <a@example.org>"), "{t}");
        assert!(t.contains("to <b@example.net>, <c@example.net>"), "{t}");
        assert!(t.contains("last error: 451 "), "{t}");
        assert!(!t.contains('\u{1b}'), "{t:?}");
        assert!(t.contains("1 message(s)"), "{t}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn ages_in_two_units() {
        assert_eq!(age(0), "0s");
        assert_eq!(age(59), "59s");
        assert_eq!(age(61), "1m1s");
        assert_eq!(age(3 * 86400 + 4 * 3600 + 5), "3d4h");
        assert_eq!(age(7200), "2h");
    }
}
