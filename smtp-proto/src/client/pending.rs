//! Commands on the wire whose replies are owed, in order (RFC 2920 §3.1: replies are
//! matched to commands by counting), with the byte window and the reply timer.

use alloc::collections::VecDeque;
use core::time::Duration;

use crate::config::Timeouts;
use crate::error::Stage;
use crate::output::TxnId;
use crate::time::Instant;

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
    pub fn stage(self) -> Stage {
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
    pub fn ends_group(self) -> bool {
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
    pub fn timeout(self, t: &Timeouts) -> Duration {
        match self.stage() {
            Stage::Mail => t.mail,
            Stage::Rcpt => t.rcpt,
            Stage::Data => t.data_init,
            Stage::DataBlock => t.data_block,
            Stage::DataEnd => t.data_end,
            _ => t.command,
        }
    }

    pub fn txn(self) -> Option<TxnId> {
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
    /// When the head's reply started being awaited: the timer covers the whole reply.
    head_since: Instant,
}

impl Pending {
    pub fn push(&mut self, now: Instant, expect: Expect, bytes: usize) {
        if self.queue.is_empty() {
            self.head_since = now;
        }
        self.unanswered += bytes;
        self.terminators += usize::from(expect.ends_group());
        self.queue.push_back(Entry { expect, bytes });
    }

    /// Puts back a command that owes another reply (LMTP's per-recipient final replies).
    pub fn push_front(&mut self, now: Instant, expect: Expect) {
        self.head_since = now;
        self.queue.push_front(Entry { expect, bytes: 0 });
    }

    pub fn head(&self) -> Option<Expect> {
        self.queue.front().map(|e| e.expect)
    }

    /// Removes the head once its reply is complete; the next reply's timer starts now.
    pub fn pop(&mut self, now: Instant) -> Option<Expect> {
        let e = self.queue.pop_front()?;
        self.unanswered -= e.bytes;
        self.terminators -= usize::from(e.expect.ends_group());
        self.head_since = now;
        Some(e.expect)
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn unanswered(&self) -> usize {
        self.unanswered
    }

    /// Whether a group terminator is awaiting its reply.
    pub fn has_terminator(&self) -> bool {
        self.terminators > 0
    }

    pub fn deadline(&self, t: &Timeouts) -> Option<Instant> {
        self.head().map(|e| self.head_since + e.timeout(t))
    }

    pub fn shrink_to_fit(&mut self) {
        self.queue.shrink_to_fit();
    }

    pub fn clear(&mut self) {
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

    /// The deadline is the head's timer from when its reply started being awaited: a
    /// pipelined RCPT's timer starts when MAIL's reply is read, not when it was sent.
    #[test]
    fn the_deadline_runs_from_when_the_head_became_the_head() {
        let t = distinct();
        let at = |s| Instant::ZERO + Duration::from_secs(s);
        let mut p = Pending::default();
        assert_eq!(p.deadline(&t), None);
        p.push(at(10), Expect::Mail(TxnId(0)), 27);
        p.push(at(10), Expect::Rcpt(TxnId(0), 0), 25);
        assert_eq!(p.deadline(&t), Some(at(10) + t.mail));
        assert_eq!(p.pop(at(11)), Some(Expect::Mail(TxnId(0))));
        assert_eq!(p.deadline(&t), Some(at(11) + t.rcpt));
        assert_eq!(p.unanswered(), 25);
        assert_eq!(p.pop(at(12)), Some(Expect::Rcpt(TxnId(0), 0)));
        assert_eq!(p.deadline(&t), None);
        assert_eq!(p.unanswered(), 0);
    }
}
