//! Commands on the wire whose replies are owed, in order (RFC 2920 §3.1: replies are
//! matched to commands by counting), with the byte window. The reply timer is the
//! client's (`Timer::Reply`), armed whenever the head of this queue changes.

use alloc::collections::VecDeque;
use core::time::Duration;

use crate::config::Timeouts;
use crate::error::Stage;
use crate::output::TxnId;

/// What a reply will answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    Ehlo,
    Helo,
    StartTls,
    Auth,
    Mail(TxnId),
    Rcpt(TxnId, usize),
    Data(TxnId),
    /// The end-of-data marker after DATA content.
    DataEnd(TxnId),
    Bdat {
        txn: TxnId,
        last: bool,
    },
    /// `user`: asked for by the application (its reply is an event).
    Rset {
        user: bool,
    },
    Noop,
    Vrfy,
    Quit,
}

impl Expect {
    pub(super) fn stage(self) -> Stage {
        match self {
            Expect::Ehlo => Stage::Ehlo,
            Expect::Helo => Stage::Helo,
            Expect::StartTls => Stage::StartTls,
            Expect::Auth => Stage::Auth,
            Expect::Mail(_) => Stage::Mail,
            Expect::Rcpt(..) => Stage::Rcpt,
            Expect::Data(_) => Stage::Data,
            Expect::DataEnd(_) | Expect::Bdat { last: true, .. } => Stage::DataEnd,
            Expect::Bdat { last: false, .. } => Stage::DataBlock,
            Expect::Rset { .. } => Stage::Rset,
            Expect::Noop => Stage::Noop,
            Expect::Vrfy => Stage::Vrfy,
            Expect::Quit => Stage::Quit,
        }
    }

    /// RFC 2920 §3.1 (and ours for STARTTLS and AUTH): nothing may follow these in a
    /// flight until their reply is read.
    pub(super) fn ends_group(self) -> bool {
        matches!(
            self,
            Expect::Ehlo
                | Expect::Helo
                | Expect::StartTls
                | Expect::Auth
                | Expect::Data(_)
                | Expect::Noop
                | Expect::Vrfy
                | Expect::Quit
        )
    }

    /// RFC 5321 §4.5.3.2.
    pub(super) fn timeout(self, t: &Timeouts) -> Duration {
        match self.stage() {
            Stage::Mail => t.mail,
            Stage::Rcpt => t.rcpt,
            Stage::Data => t.data_init,
            Stage::DataBlock => t.data_block,
            Stage::DataEnd => t.data_end,
            _ => t.command,
        }
    }

    pub(super) fn txn(self) -> Option<TxnId> {
        match self {
            Expect::Mail(t)
            | Expect::Rcpt(t, _)
            | Expect::Data(t)
            | Expect::DataEnd(t)
            | Expect::Bdat { txn: t, .. } => Some(t),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct Entry {
    expect: Expect,
    bytes: usize,
}

/// The queue of owed replies.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    queue: VecDeque<Entry>,
    /// Octets written whose replies are still owed.
    unanswered: usize,
    /// Group terminators owed a reply (kept as a count: checked before every command).
    terminators: usize,
}

impl Pending {
    pub(super) fn push(&mut self, expect: Expect, bytes: usize) {
        self.unanswered += bytes;
        self.terminators += usize::from(expect.ends_group());
        self.queue.push_back(Entry { expect, bytes });
    }

    /// Puts back a command that owes another reply (LMTP's per-recipient final replies).
    pub(super) fn push_front(&mut self, expect: Expect) {
        self.queue.push_front(Entry { expect, bytes: 0 });
    }

    pub(super) fn head(&self) -> Option<Expect> {
        self.queue.front().map(|e| e.expect)
    }

    /// Removes the head once its reply is complete.
    pub(super) fn pop(&mut self) -> Option<Expect> {
        let e = self.queue.pop_front()?;
        self.unanswered -= e.bytes;
        self.terminators -= usize::from(e.expect.ends_group());
        Some(e.expect)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub(super) fn unanswered(&self) -> usize {
        self.unanswered
    }

    /// Whether a group terminator is awaiting its reply.
    pub(super) fn has_terminator(&self) -> bool {
        self.terminators > 0
    }

    pub(super) fn shrink_to(&mut self, entries: usize) {
        self.queue.shrink_to(entries);
    }

    pub(super) fn clear(&mut self) {
        self.queue.clear();
        self.unanswered = 0;
        self.terminators = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every timer a different length, so that a reply waited for under the wrong one
    /// shows.
    fn distinct() -> Timeouts {
        let s = Duration::from_secs;
        Timeouts {
            greeting: s(1),
            mail: s(2),
            rcpt: s(3),
            data_init: s(4),
            data_block: s(5),
            data_end: s(6),
            tls_handshake: s(7),
            command: s(8),
        }
    }

    /// RFC 5321 §4.5.3.2: each reply is waited for under its own command's timer.
    #[test]
    fn each_reply_is_waited_for_under_its_own_timer() {
        let t = distinct();
        let txn = TxnId(0);
        let cases = [
            (Expect::Mail(txn), t.mail),
            (Expect::Rcpt(txn, 0), t.rcpt),
            (Expect::Data(txn), t.data_init),
            (Expect::Bdat { txn, last: false }, t.data_block),
            (Expect::DataEnd(txn), t.data_end),
            (Expect::Bdat { txn, last: true }, t.data_end),
            (Expect::Ehlo, t.command),
            (Expect::Helo, t.command),
            (Expect::StartTls, t.command),
            (Expect::Auth, t.command),
            (Expect::Rset { user: false }, t.command),
            (Expect::Noop, t.command),
            (Expect::Vrfy, t.command),
            (Expect::Quit, t.command),
        ];
        for (expect, want) in cases {
            assert_eq!(expect.timeout(&t), want, "{expect:?}");
        }
    }

    /// The byte window counts what was written and not yet answered.
    #[test]
    fn unanswered_octets_are_counted_until_their_reply() {
        let mut p = Pending::default();
        p.push(Expect::Mail(TxnId(0)), 27);
        p.push(Expect::Rcpt(TxnId(0), 0), 25);
        assert_eq!(p.unanswered(), 52);
        assert_eq!(p.pop(), Some(Expect::Mail(TxnId(0))));
        assert_eq!(p.unanswered(), 25);
        assert_eq!(p.pop(), Some(Expect::Rcpt(TxnId(0), 0)));
        assert_eq!(p.unanswered(), 0);
        assert!(p.is_empty());
    }
}
