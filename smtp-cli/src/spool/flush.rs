//! `--flush-queue`: each due message, under its lock, is sent again with the
//! options it was spooled with and the account read afresh. It is marked in flight on
//! disk when the session is ready for it (before MAIL, so before its end of data), and
//! afterwards removed (every recipient took it), rewritten with the recipients left
//! (backoff growing with the attempts), reported in a bounce (refused for good, or out
//! of lifetime), or left flagged unknown (the outcome was lost).

use std::cell::RefCell;

use clap::Parser;

use super::entry::{Entry, State};
use super::fate::{fates, Fate, Sorted};
use super::lock::{try_lock, Lock};
use super::store::Store;
use super::{backoff, bounce, now, say, store};
use crate::args::Args;
use crate::config;
use crate::exit::{ExitStatus, Failure};
use crate::session::{self, Plan};

/// Flushes `store`: the worst status of the messages tried (0 when each was delivered,
/// or none was due; 69 when one bounced; 75 when one stays queued).
pub(crate) fn run(store: &Store, args: &Args, lifetime: u64) -> Result<ExitStatus, Failure> {
    let ids = store
        .ids()
        .map_err(|e| Failure::Input(format!("{}: {e}", store.dir().display())))?;
    store.clean_tmp();
    let mut status = ExitStatus::Ok;
    for id in ids {
        status = status.min(one(store, &id, args, lifetime));
    }
    Ok(status)
}

/// The plan of a spooled message: the options it was spooled with, the account (if
/// any) read again, the flush's runtime.
fn plan(entry: &Entry, flush: &Args) -> Result<Plan, Failure> {
    let mut args = Args::try_parse_from(["smtp-send"])
        .map_err(|e| Failure::Usage(format!("internal error: {e}")))?;
    entry.header.settings.restore(&mut args);
    args.runtime = flush.runtime;
    let env = &entry.header.envelope;
    // The sender first: the account's `from` does not apply (nor is it checked).
    args.from = Some(env.from.clone());
    // Working the spool, whose messages go through a relay: the account's `mx = true`
    // (set since) does not apply, its `server` does (`config::apply`).
    args.flush_queue = true;
    if let Some(path) = args.config.clone() {
        let file = config::load(&path)?;
        let chosen = file.choose(args.account.as_deref(), Some(&env.from))?;
        config::apply(&mut args, &chosen, false)?;
    }
    args.to.clone_from(&env.to);
    args.notify.clone_from(&env.notify);
    args.ret.clone_from(&env.ret);
    args.envid.clone_from(&env.envid);
    crate::plan(&args, Some(entry.message.clone()))
}

/// One message; its status.
fn one(store: &Store, id: &str, args: &Args, lifetime: u64) -> ExitStatus {
    let lock = match try_lock(&store.lock_path(id)) {
        Ok(Some(lock)) => lock,
        // Another flush is sending it.
        Ok(None) => return ExitStatus::Ok,
        Err(e) => {
            say(&format!("{id}: cannot lock: {e}"));
            return ExitStatus::TempFail;
        }
    };
    let entry = match store.read(id) {
        Ok(Some(e)) => e,
        // Finished by the flush that held the lock before us.
        Ok(None) => {
            lock.remove();
            return ExitStatus::Ok;
        }
        Err(e) => {
            say(&format!("{id}: not sent: {e}"));
            return ExitStatus::TempFail;
        }
    };
    let h = &entry.header;
    let now = now();
    if h.state != State::Queued && !args.resend_unknown {
        say(&format!(
            "{id}: outcome unknown (it may have been delivered): not sent again unless \
             --resend-unknown"
        ));
        return ExitStatus::Ok;
    }
    if h.state == State::Queued && now.saturating_sub(h.created) >= lifetime {
        let why = h.last_error.as_deref().unwrap_or("no attempt succeeded");
        let failed: Vec<_> = h
            .envelope
            .to
            .iter()
            .map(|to| bounce::Failed {
                rcpt: to.clone(),
                status: "4.4.7".into(),
                diagnostic: format!(
                    "X-smtp-send; delivery time expired after {} attempt(s); last: {why}",
                    h.attempts
                ),
            })
            .collect();
        let sorted = Sorted {
            failed,
            ..Sorted::default()
        };
        return finish(store, id, lock, &entry, sorted, None);
    }
    if h.state == State::Queued && now < h.next_attempt && !args.ignore_backoff {
        return ExitStatus::Ok;
    }
    attempt(store, id, lock, entry, args)
}

/// Sends `entry` once and files what became of each recipient.
fn attempt(store: &Store, id: &str, lock: Lock, entry: Entry, args: &Args) -> ExitStatus {
    let to = entry.header.envelope.to.clone();
    let plan = match plan(&entry, args) {
        Ok(p) => p,
        Err(f) => {
            let status = crate::exit::status(Some(&f), &[], 1);
            let why = f.to_string();
            say(&format!("{id}: not sent: {why}"));
            let deferred = Fate::Deferred { why, status };
            let sorted = Sorted::of(&to, vec![deferred; to.len()]);
            return finish(store, id, lock, &entry, sorted, None);
        }
    };
    let mut marked = entry.clone();
    marked.header.state = State::InFlight;
    let mark_error = RefCell::new(None);
    // The one message, marked in flight as the session asks for it.
    let mut asked = false;
    let mut mark = || {
        if std::mem::replace(&mut asked, true) {
            return false;
        }
        match store.write(id, &marked) {
            Ok(()) => true,
            Err(e) => {
                *mark_error.borrow_mut() = Some(e);
                false
            }
        }
    };
    let outcome = session::send(args.runtime, &plan, &session::Quiet, &mut mark);
    let mut fates = fates(&outcome, to.len());
    if let Some(e) = mark_error.into_inner() {
        let why = format!("cannot mark it in flight: {e}");
        let fate = Fate::Deferred {
            why,
            status: ExitStatus::TempFail,
        };
        fates = vec![fate; to.len()];
    }
    let sorted = Sorted::of(&to, fates);
    finish(store, id, lock, &entry, sorted, Some(&plan))
}

/// Files the outcome of entry `id`: a bounce for the failed recipients, an entry
/// flagged unknown for the unknown ones, the entry rewritten for the deferred ones
/// (else removed). The bounce and any new entry are written before the entry
/// changes: a crash in between leaves it in flight (unknown), never queued again.
fn finish(
    store: &Store,
    id: &str,
    lock: Lock,
    entry: &Entry,
    sorted: Sorted,
    plan: Option<&Plan>,
) -> ExitStatus {
    let Sorted {
        failed,
        deferred,
        unknown,
        unknown_why,
    } = sorted;
    let mut status = ExitStatus::Ok;
    if !failed.is_empty() {
        let report = bounce::report(id, entry, &failed, plan);
        match store.write_bounce(id, &report) {
            Ok(path) => say(&format!(
                "{id}: undeliverable to {}: delivery report in {}",
                failed
                    .iter()
                    .map(|f| f.rcpt.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                path.display()
            )),
            Err(e) => {
                say(&format!("{id}: cannot write the delivery report: {e}"));
                return ExitStatus::TempFail;
            }
        }
        status = ExitStatus::Unavailable;
    }
    if !unknown.is_empty() {
        status = status.min(ExitStatus::TempFail);
        let mut e = entry.clone();
        e.header.state = State::Unknown;
        e.header.envelope.to = unknown;
        e.header.last_error = unknown_why;
        // The whole entry when nothing else is left of it, else a new one.
        let target = if deferred.is_empty() {
            id.to_owned()
        } else {
            store::new_id()
        };
        match store.write(&target, &e) {
            Ok(()) => say(&format!(
                "{target}: outcome unknown (it may have been delivered): kept, flagged \
                 unknown"
            )),
            Err(err) => {
                say(&format!("{id}: cannot flag it unknown: {err}"));
                return ExitStatus::TempFail;
            }
        }
        if deferred.is_empty() {
            return status;
        }
    }
    if deferred.is_empty() {
        if let Err(e) = store.remove(id) {
            say(&format!("{id}: delivered, but cannot remove it: {e}"));
            return ExitStatus::TempFail;
        }
        lock.remove();
        return status;
    }
    let mut e = entry.clone();
    let h = &mut e.header;
    h.state = State::Queued;
    h.attempts = h.attempts.saturating_add(1);
    h.next_attempt = now() + backoff(h.attempts);
    h.last_error = deferred.first().map(|d| d.why.clone());
    h.envelope.to = deferred.iter().map(|d| d.rcpt.clone()).collect();
    for d in &deferred {
        status = status.min(d.status);
    }
    if let Err(err) = store.write(id, &e) {
        say(&format!("{id}: cannot requeue it: {err}"));
        return ExitStatus::TempFail;
    }
    let h = &e.header;
    say(&format!(
        "{id}: deferred ({}): attempt {} failed, next in {} s",
        h.last_error.as_deref().unwrap_or_default(),
        h.attempts,
        backoff(h.attempts)
    ));
    status
}
