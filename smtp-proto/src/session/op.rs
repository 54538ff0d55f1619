//! What an operation waits for, and what it folds the session's events into.

use alloc::vec::Vec;

use crate::error::TxnError;
use crate::output::{Event, TxnId};
use crate::reply::Reply;
use crate::report::Report;

/// The operation a [`Session`](super::Session) runs.
#[derive(Debug)]
pub(super) enum Op {
    /// Until [`Event::Ready`].
    Connect,
    /// Until every report is complete.
    Batch(Batch),
    /// Until the reply to one command (NOOP, RSET, VRFY), or its local refusal.
    Command(Option<Result<Reply, TxnError>>),
    /// Until the session closes.
    Quit,
}

impl Op {
    /// Takes an event; returns whether the operation now has what it waited for.
    pub(super) fn on_event(&mut self, event: Event) -> bool {
        match (self, event) {
            (Op::Connect, Event::Ready) => true,
            (Op::Batch(batch), e) => {
                batch.apply(&e);
                batch.is_complete()
            }
            (Op::Command(reply @ None), Event::Reply { reply: r, .. }) => {
                *reply = Some(Ok(r));
                true
            }
            (Op::Command(reply @ None), Event::CommandRefused { error, .. }) => {
                *reply = Some(Err(error));
                true
            }
            _ => false,
        }
    }

    /// Whether there is nothing to wait for (a batch of no messages).
    pub(super) fn is_done(&self) -> bool {
        matches!(self, Op::Batch(b) if b.is_complete())
    }
}

/// The reports of one batch of transactions, queued one after the other, so that their
/// ids are consecutive: an event finds its report by subtraction, not by a search.
#[derive(Debug)]
pub(super) struct Batch {
    first: u64,
    pub(super) reports: Vec<Report>,
    /// How many reports are complete.
    complete: usize,
}

impl Batch {
    pub(super) fn new(reports: Vec<Report>) -> Self {
        let first = reports.first().map_or(0, |r| r.txn.get());
        debug_assert!(reports
            .iter()
            .enumerate()
            .all(|(i, r)| r.txn.get() == first + i as u64));
        Batch {
            first,
            reports,
            complete: 0,
        }
    }

    /// The position of `txn` in the batch.
    pub(super) fn index(&self, txn: TxnId) -> Option<usize> {
        let i = usize::try_from(txn.get().checked_sub(self.first)?).ok()?;
        (i < self.reports.len()).then_some(i)
    }

    fn apply(&mut self, event: &Event) {
        let Some(report) = event.txn().and_then(|t| self.index(t)) else {
            return;
        };
        let report = &mut self.reports[report];
        let was_complete = report.is_complete();
        if report.apply(event) && !was_complete && report.is_complete() {
            self.complete += 1;
        }
    }

    pub(super) fn is_complete(&self) -> bool {
        self.complete == self.reports.len()
    }

    /// Whether a message reached an outcome the server gave (see
    /// [`Report::reached_server`]): then the caller must have the reports, even if the
    /// session died, so as not to send that message twice.
    pub(super) fn reached_server(&self) -> bool {
        self.reports.iter().any(Report::reached_server)
    }
}
