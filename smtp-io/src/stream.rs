//! What an adapter keeps for the messages of an open stream
//! ([`Session::stream`](smtp_proto::session::Session::stream)): each one's content until
//! it is read, the caller's tag until its report comes back, and the reports of a step
//! until the adapter hands them over together.

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::task::Poll;

use smtp_proto::session::Session;
use smtp_proto::{Envelope, Instant, Report};

use crate::Error;

/// A message's report (or the error refusing it) with its tag, and its envelope as the
/// session gives it back ([`Session::poll_report_and_envelope`]; with a refusal, the
/// envelope refused): a pool sends the message again with it, rather than with a copy.
/// Boxed: it comes back only for a message that may be sent again, while every
/// message's entry moves through the queue of reports, which it keeps small.
pub type Reported<T> = (T, Result<Report, Error>, Option<Box<Envelope>>);

/// The messages of an open stream, by their position in it. Reports come back in the
/// order the messages went in, so both queues are read from the front.
///
/// The reports of a step (all that one read of the server's replies completed, and
/// errors refusing messages) wait until the adapter hands them to its caller in one
/// batch ([`hand_reports`](Self::hand_reports)): a pool takes its lock and reads its
/// clock once per batch, not once per message.
#[derive(Debug)]
pub struct Open<R, T> {
    /// The position of the front entries.
    base: usize,
    /// Content still to read (`None` once read), in stream order.
    bodies: VecDeque<Option<R>>,
    /// Tags, `None` for a message withdrawn (its report never comes).
    tags: VecDeque<Option<T>>,
    /// How many tags are `None`.
    withdrawn: usize,
    /// Reports (or errors refusing messages) not yet handed over, in order, with tags.
    done: Vec<Reported<T>>,
}

impl<R, T> Default for Open<R, T> {
    fn default() -> Self {
        Open {
            base: 0,
            bodies: VecDeque::new(),
            tags: VecDeque::new(),
            withdrawn: 0,
            done: Vec::new(),
        }
    }
}

impl<R, T> Open<R, T> {
    /// Queues a message on the session's open stream and keeps its content and tag; a
    /// message the session refuses has its error wait with the reports
    /// ([`hand_reports`](Self::hand_reports)).
    pub fn send(
        &mut self,
        session: &mut Session<Error>,
        now: Instant,
        (envelope, body, tag): (Envelope, R, T),
    ) {
        match session.stream_try_send(now, envelope) {
            Ok(_) => {
                self.bodies.push_back(Some(body));
                self.tags.push_back(Some(tag));
            }
            Err((e, envelope)) => self.done.push((tag, Err(e), Some(Box::new(envelope)))),
        }
    }

    /// The content of the message at `index`, if it is still to be read.
    pub fn body(&mut self, index: usize) -> Option<&mut R> {
        self.bodies.get_mut(index.checked_sub(self.base)?)?.as_mut()
    }

    /// A chunk of `index`'s content was read; `last` if it ended: the reader is dropped.
    pub fn read(&mut self, index: usize, last: bool) {
        if let (true, Some(slot)) = (last, index.checked_sub(self.base)) {
            if let Some(body) = self.bodies.get_mut(slot) {
                *body = None;
            }
        }
    }

    /// The oldest message's report, with its envelope if the session gave it back: it
    /// waits with its tag ([`hand_reports`](Self::hand_reports)). (Messages withdrawn
    /// before it have no report: the session skips them, and so does this.)
    pub fn report(&mut self, report: Report, envelope: Option<Envelope>) {
        while let Some(tag) = self.tags.pop_front() {
            self.bodies.pop_front();
            self.base += 1;
            match tag {
                Some(tag) => return self.done.push((tag, Ok(report), envelope.map(Box::new))),
                None => self.withdrawn -= 1,
            }
        }
    }

    /// Hands the reports waiting (with the errors refusing messages, in the order they
    /// completed: a refusal at once, a report at the server's last reply to it) to
    /// `on_reports` in one batch, if there is any. An adapter calls this once per step,
    /// after taking the session's reports ([`Session::poll_report`]), so that none
    /// waits past the step that completed it. `on_reports` takes every one it is
    /// given: one it leaves is dropped.
    pub fn hand_reports(&mut self, on_reports: &mut impl FnMut(std::vec::Drain<'_, Reported<T>>)) {
        if !self.done.is_empty() {
            on_reports(self.done.drain(..));
        }
    }

    /// Withdraws the message tagged `tag` if none of it was written yet
    /// ([`Session::stream_withdraw`]): its content is dropped and its report never
    /// comes. `Some(true)` if it was withdrawn; `Some(false)` if it was written (it
    /// completes as usual); `None` if no message waiting for its report has that tag.
    pub fn withdraw(&mut self, session: &mut Session<Error>, tag: &T) -> Option<bool>
    where
        T: PartialEq,
    {
        let slot = self.tags.iter().position(|t| t.as_ref() == Some(tag))?;
        if !session.stream_withdraw(self.base + slot) {
            return Some(false);
        }
        self.tags[slot] = None;
        self.bodies[slot] = None;
        self.withdrawn += 1;
        Some(true)
    }

    /// How many messages wait for their report.
    pub fn len(&self) -> usize {
        self.tags.len() - self.withdrawn
    }

    /// Whether no message waits for its report.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `fut`'s output if it is ready at the first poll (the task's waker is registered
/// as usual), else `None` and `fut` is dropped: how an adapter takes every message
/// already queued into the flight it is about to write.
pub async fn now_or_never<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = pin!(fut);
    poll_fn(|cx| match fut.as_mut().poll(cx) {
        Poll::Ready(v) => Poll::Ready(Some(v)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

/// Messages a connection was handed whose callers gave up, for the task running its
/// stream: each is withdrawn ([`Open::withdraw`]) if none of it was written yet, else
/// it completes and its report is discarded. A pool records a cancel with
/// [`ask`](Self::ask) and a report with [`forget`](Self::forget) under its own lock,
/// so that a message reported before it was asked for is never asked for; the
/// connection's task calls [`withdraw`](Self::withdraw) before each step of its
/// stream and [`take`](Self::take) for each message it receives, which costs one
/// atomic load while nothing is asked.
#[derive(Debug)]
pub struct Cancels<T> {
    asked: AtomicBool,
    list: Mutex<Vec<T>>,
}

impl<T> Default for Cancels<T> {
    fn default() -> Self {
        Cancels {
            asked: AtomicBool::new(false),
            list: Mutex::new(Vec::new()),
        }
    }
}

impl<T: PartialEq> Cancels<T> {
    /// The caller of `tag`'s message gave up.
    pub fn ask(&self, tag: T) {
        let mut list = self.list.lock().unwrap_or_else(PoisonError::into_inner);
        list.push(tag);
        self.asked.store(true, Ordering::Release);
    }

    /// Removes `tag` if asked for; returns whether it was.
    fn remove(&self, tag: &T) -> bool {
        if !self.asked.load(Ordering::Acquire) {
            return false;
        }
        let mut list = self.list.lock().unwrap_or_else(PoisonError::into_inner);
        let found = list
            .iter()
            .position(|t| t == tag)
            .map(|i| list.swap_remove(i));
        self.asked.store(!list.is_empty(), Ordering::Release);
        found.is_some()
    }

    /// `tag`'s report came: nothing to withdraw any more.
    pub fn forget(&self, tag: &T) {
        self.remove(tag);
    }

    /// The connection received `tag`'s message: `true` if it was asked for, and then
    /// it is withdrawn before the session ever had it.
    pub fn take(&self, tag: &T) -> bool {
        self.remove(tag)
    }

    /// Withdraws every message asked for that the stream holds unwritten; returns their
    /// tags. A message written is forgotten (it completes); one the stream does not
    /// hold yet stays asked for, for [`take`](Self::take).
    pub fn withdraw<R>(&self, open: &mut Open<R, T>, session: &mut Session<Error>) -> Vec<T> {
        let mut withdrawn = Vec::new();
        if !self.asked.load(Ordering::Acquire) {
            return withdrawn;
        }
        let mut list = self.list.lock().unwrap_or_else(PoisonError::into_inner);
        let mut i = 0;
        while i < list.len() {
            match open.withdraw(session, &list[i]) {
                Some(true) => withdrawn.push(list.swap_remove(i)),
                Some(false) => drop(list.swap_remove(i)),
                None => i += 1,
            }
        }
        self.asked.store(!list.is_empty(), Ordering::Release);
        withdrawn
    }
}

#[cfg(test)]
mod tests {
    use smtp_proto::command::{EhloName, ForwardPath, ReversePath};
    use smtp_proto::session::{Io, Session};
    use smtp_proto::{Config, Envelope, Instant, TlsMode, TlsPolicy};

    use super::{Cancels, Open, Reported};
    use crate::Error;

    /// Each message's tag and whether its report says delivered (`false`: an error).
    type Batch = Vec<(u32, bool)>;

    /// A step's reports wait in the `Open` and go out together, in the order they
    /// completed (a refusal at once): a pool takes its lock once per batch.
    #[test]
    fn the_reports_of_one_read_are_handed_over_in_one_batch() {
        let now = Instant::ZERO;
        let mut config = Config::new(EhloName::localhost());
        config.tls = TlsMode::StartTls(TlsPolicy::Disabled);
        let mut session = Session::<Error>::new(config, now);
        let mut open = Open::<&[u8], u32>::default();
        let mut batches: Vec<Batch> = Vec::new();
        let mut on_reports = |reports: std::vec::Drain<'_, Reported<u32>>| {
            let batch = reports.map(|(tag, r, _)| (tag, r.is_ok_and(|r| r.all_delivered())));
            batches.push(batch.collect());
        };
        // The server's replies to what was written, all given at the next read.
        let mut owed = Vec::new();
        let mut greeted = false;
        let mut streaming = false;
        loop {
            let io = session.poll_io();
            while let Some((_, report, envelope)) = session.poll_report_and_envelope() {
                open.report(report, envelope);
            }
            open.hand_reports(&mut on_reports);
            match io {
                Io::Write { .. } => {
                    for line in session.output().split(|&b| b == b'\n') {
                        let reply: &[u8] = match line.get(..4) {
                            Some(b"EHLO") => b"250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n",
                            Some(b"MAIL" | b"RCPT" | b"BDAT" | b"RSET") => b"250 ok\r\n",
                            _ => b"",
                        };
                        owed.extend_from_slice(reply);
                    }
                    session.handle_written();
                }
                Io::Read { .. } if !greeted => {
                    greeted = true;
                    session.handle_input(now, b"220 mx ESMTP\r\n");
                }
                Io::Read { .. } if !owed.is_empty() => {
                    session.handle_input(now, &owed);
                    owed.clear();
                }
                Io::ReadBody { index, .. } => {
                    let body = open.body(index).map_or(&b""[..], |b| *b);
                    session.handle_body(now, body, true);
                    open.read(index, true);
                }
                Io::Done if !streaming => {
                    session.finish_connect().unwrap();
                    session.stream(now, 8).unwrap();
                    streaming = true;
                    let from = ReversePath::new("a@example.org").unwrap();
                    let to = [ForwardPath::new("b@example.net").unwrap()];
                    let envelope = Envelope::new(from, to);
                    let mut nobody = envelope.clone();
                    nobody.recipients.clear();
                    open.send(&mut session, now, (envelope.clone(), b"x\r\n", 1));
                    open.send(&mut session, now, (nobody, b"y\r\n", 2));
                    open.send(&mut session, now, (envelope, b"z\r\n", 3));
                    session.stream_end();
                }
                Io::Done => break,
                other => panic!("{other:?}"),
            }
        }
        session.finish_stream().unwrap();
        assert_eq!(batches, [vec![(2, false)], vec![(1, true), (3, true)]]);
        assert!(open.is_empty());
    }

    #[test]
    fn a_cancel_is_taken_or_forgotten_once_and_costs_nothing_after() {
        let c = Cancels::default();
        assert!(!c.take(&1), "nothing asked");
        c.ask(1);
        c.ask(2);
        assert!(c.take(&1), "received after its caller gave up: withdrawn");
        assert!(!c.take(&1), "once");
        c.forget(&2);
        assert!(!c.take(&2), "reported: nothing left to withdraw");
        assert!(!c.asked.load(std::sync::atomic::Ordering::Acquire));
    }
}
