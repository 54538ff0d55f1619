//! Faults on cue, and the sink-wide counters that decide when they fire.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A reply the sink can withhold ([`SinkBuilder::stall`](crate::SinkBuilder::stall)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cue {
    /// The greeting.
    Greeting,
    /// The reply to EHLO, HELO or LHLO.
    Hello,
    /// The reply to MAIL.
    Mail,
    /// The reply to RCPT.
    Rcpt,
    /// The 354 reply to DATA.
    Data,
    /// The reply (or, under LMTP, the replies) after the end of data or BDAT LAST.
    EndOfData,
    /// The reply to RSET.
    Rset,
    /// The reply to NOOP.
    Noop,
    /// The reply to QUIT.
    Quit,
}

/// The faults a sink was told to produce; `None` is off.
#[derive(Clone, Debug, Default)]
pub(crate) struct Faults {
    pub(crate) greeting_421: Option<u64>,
    pub(crate) mail_421: Option<u64>,
    pub(crate) close_after: Option<u64>,
    pub(crate) reset_after_data: Option<u64>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) stall: Option<(Cue, u64)>,
    pub(crate) reply_delay: Option<Duration>,
}

/// Sink-wide counts of the events faults are cued on.
#[derive(Debug, Default)]
pub(crate) struct Cues {
    mail: AtomicU64,
    end_of_data: AtomicU64,
    stall: AtomicU64,
}

/// Counts one more event on `counter`; true if it is a multiple of `every`.
fn nth(counter: &AtomicU64, every: u64) -> bool {
    (counter.fetch_add(1, Ordering::Relaxed) + 1).is_multiple_of(every)
}

impl Faults {
    /// Whether connection number `n` (from 1) gets 421 instead of the greeting.
    pub(crate) fn greeting_refused(&self, n: u64) -> bool {
        self.greeting_421.is_some_and(|k| n.is_multiple_of(k))
    }

    /// Counts a MAIL; whether it gets 421.
    pub(crate) fn mail_refused(&self, c: &Cues) -> bool {
        self.mail_421.is_some_and(|k| nth(&c.mail, k))
    }

    /// Counts an end of data; whether the connection is reset instead of answering.
    pub(crate) fn reset_now(&self, c: &Cues) -> bool {
        self.reset_after_data
            .is_some_and(|k| nth(&c.end_of_data, k))
    }

    /// Counts a `cue` if a stall waits for it; whether this reply is withheld.
    pub(crate) fn stalls(&self, c: &Cues, cue: Cue) -> bool {
        self.stall
            .is_some_and(|(on, k)| on == cue && nth(&c.stall, k))
    }

    /// Whether the connection closes after accepting its `count`-th message.
    pub(crate) fn closes_after(&self, count: u64) -> bool {
        self.close_after == Some(count)
    }
}
