//! What an operation waits for, and what it folds the session's events into.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::envelope::Envelope;
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
    /// Until the caller ends the stream and every report is complete.
    Stream(Stream),
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
                batch.apply(e);
                batch.is_complete()
            }
            (Op::Stream(stream), e) => {
                stream.apply(e);
                stream.is_done()
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

    fn apply(&mut self, event: Event) {
        let Some(report) = event.txn().and_then(|t| self.index(t)) else {
            return;
        };
        let report = &mut self.reports[report];
        let was_complete = report.is_complete();
        if report.apply_owned(event) && !was_complete && report.is_complete() {
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

/// The reports of an open stream of transactions: messages join while earlier ones
/// are in flight, and each report leaves once complete, in the order sent. The stream's
/// transactions are queued one after the other (nothing else queues one while it is
/// open), so an event finds its report by subtraction, as in a [`Batch`]. A withdrawn
/// message keeps its slot (`None`), so that the positions after it stay put; it takes
/// no room, and its slot leaves without a report.
///
/// A transaction's envelope the client gives back (see [`Stream::give_back`]) waits
/// beside the slots, to leave with the report: rare, so the slots, which every message
/// moves through, stay small.
#[derive(Debug)]
pub(super) struct Stream {
    /// The id of the stream's first transaction, once there is one.
    first: Option<u64>,
    /// The position in the stream of `open`'s first report.
    base: usize,
    /// Reports not yet handed back, oldest first; `None`: withdrawn.
    open: VecDeque<Option<Report>>,
    /// Envelopes given back, by position in the stream, until their reports leave.
    returned: VecDeque<(usize, Envelope)>,
    /// Most reports open at once: what the stream holds for the caller is bounded.
    pub(super) max_open: usize,
    /// The caller sends no more.
    pub(super) ended: bool,
    /// How many open slots are complete or withdrawn.
    complete: usize,
    /// How many open slots are withdrawn.
    withdrawn: usize,
}

impl Stream {
    pub(super) fn new(max_open: usize) -> Self {
        Stream {
            first: None,
            base: 0,
            open: VecDeque::new(),
            returned: VecDeque::new(),
            max_open: max_open.max(1),
            ended: false,
            complete: 0,
            withdrawn: 0,
        }
    }

    /// Takes the report of a transaction just queued; returns its position.
    pub(super) fn push(&mut self, report: Report) -> usize {
        let index = self.base + self.open.len();
        let first = *self.first.get_or_insert(report.txn.get() - index as u64);
        debug_assert_eq!(report.txn.get(), first + index as u64);
        self.open.push_back(Some(report));
        index
    }

    /// How many more messages the stream takes now.
    pub(super) fn room(&self) -> usize {
        self.max_open
            .saturating_sub(self.open.len() - self.withdrawn)
    }

    /// The position of `txn` in the stream, if its slot is open.
    pub(super) fn index(&self, txn: TxnId) -> Option<usize> {
        let i = usize::try_from(txn.get().checked_sub(self.first?)?).ok()?;
        (i >= self.base && i - self.base < self.open.len()).then_some(i)
    }

    /// The transaction of the message at `index`, while its report is open.
    pub(super) fn txn(&self, index: usize) -> Option<TxnId> {
        let slot = self.open.get(index.checked_sub(self.base)?)?.as_ref()?;
        (!slot.is_complete()).then_some(slot.txn)
    }

    /// The message at `index` was withdrawn: its report never comes.
    pub(super) fn withdraw(&mut self, index: usize) {
        let Some(slot) = index
            .checked_sub(self.base)
            .and_then(|i| self.open.get_mut(i))
        else {
            return;
        };
        if slot.take().is_some() {
            self.withdrawn += 1;
            self.complete += 1;
        }
    }

    fn apply(&mut self, event: Event) {
        let Some(i) = event.txn().and_then(|t| self.index(t)) else {
            return;
        };
        let Some(report) = &mut self.open[i - self.base] else {
            return;
        };
        let was_complete = report.is_complete();
        if report.apply_owned(event) && !was_complete && report.is_complete() {
            self.complete += 1;
        }
    }

    /// The envelope of the transaction `txn`, which is over: it leaves with the
    /// report (dropped if the slot is gone).
    pub(super) fn give_back(&mut self, txn: TxnId, envelope: Envelope) {
        if let Some(i) = self
            .index(txn)
            .filter(|i| self.open[i - self.base].is_some())
        {
            self.returned.push_back((i, envelope));
        }
    }

    /// The oldest report, once complete, with its position and its envelope if it was
    /// given back; withdrawn slots before it leave silently.
    pub(super) fn pop(&mut self) -> Option<(usize, Report, Option<Envelope>)> {
        loop {
            match self.open.front()? {
                None => {
                    self.open.pop_front();
                    self.withdrawn -= 1;
                    self.complete -= 1;
                    self.base += 1;
                }
                Some(r) if !r.is_complete() => return None,
                Some(_) => {
                    let report = self.open.pop_front()??;
                    self.complete -= 1;
                    self.base += 1;
                    let index = self.base - 1;
                    let envelope = match self.returned.iter().position(|&(i, _)| i == index) {
                        Some(at) => self.returned.remove(at).map(|(_, e)| e),
                        None => None,
                    };
                    return Some((index, report, envelope));
                }
            }
        }
    }

    /// How many open reports are not complete.
    pub(super) fn pending(&self) -> usize {
        self.open.len() - self.complete
    }

    /// Whether the caller ended the stream and every report is complete.
    pub(super) fn is_done(&self) -> bool {
        self.ended && self.complete == self.open.len()
    }
}
