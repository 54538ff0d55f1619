//! What an adapter keeps for the messages of an open stream
//! ([`Session::stream`](smtp_proto::session::Session::stream)): each one's content until
//! it is read, and the caller's tag until its report comes back.

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;

use smtp_proto::session::Session;
use smtp_proto::{Envelope, Instant, Report};

use crate::Error;

/// The messages of an open stream, by their position in it. Reports come back in the
/// order the messages went in, so both queues are read from the front.
#[derive(Debug)]
pub struct Open<R, T> {
    /// The position of the front entries.
    base: usize,
    /// Content still to read (`None` once read), in stream order.
    bodies: VecDeque<Option<R>>,
    tags: VecDeque<T>,
}

impl<R, T> Default for Open<R, T> {
    fn default() -> Self {
        Open {
            base: 0,
            bodies: VecDeque::new(),
            tags: VecDeque::new(),
        }
    }
}

impl<R, T> Open<R, T> {
    /// Queues a message on the session's open stream and keeps its content and tag; a
    /// message the session refuses has its error go to `on_report` at once.
    pub fn send(
        &mut self,
        session: &mut Session<Error>,
        now: Instant,
        (envelope, body, tag): (Envelope, R, T),
        on_report: &mut impl FnMut(T, Result<Report, Error>),
    ) {
        match session.stream_send(now, envelope) {
            Ok(_) => {
                self.bodies.push_back(Some(body));
                self.tags.push_back(tag);
            }
            Err(e) => on_report(tag, Err(e)),
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

    /// The oldest message's report: hands it to `on_report` with its tag.
    pub fn report(&mut self, report: Report, on_report: &mut impl FnMut(T, Result<Report, Error>)) {
        self.bodies.pop_front();
        self.base += 1;
        if let Some(tag) = self.tags.pop_front() {
            on_report(tag, Ok(report));
        }
    }

    /// How many messages wait for their report.
    pub fn len(&self) -> usize {
        self.tags.len()
    }

    /// Whether no message waits for its report.
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
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
