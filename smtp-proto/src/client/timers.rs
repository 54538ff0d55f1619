//! The session's timer table: a few timers, one deadline each. The deadline handed to
//! the driver is the earliest armed one; which one passed names the stage that timed
//! out. Timer lengths are RFC 5321 §4.5.3.2's (see `Expect::timeout`) and RFC 3207's
//! handshake, taken from [`Timeouts`](crate::config::Timeouts).

use crate::time::Instant;

/// One timer of the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// The server's 220 greeting (RFC 5321 §4.5.3.2.1: "initial 220 message").
    Greeting,
    /// The TLS handshake asked for with `Output::StartTls` (RFC 3207 §4, RFC 8314 §3.3).
    TlsHandshake,
    /// The reply at the head of the owed replies, from when it became the head: replies
    /// are read in order (RFC 2920 §3.1), so only the oldest one is being waited for.
    Reply,
    /// Content written with no reply owed (RFC 5321 §4.5.3.2.5, data block).
    Body,
}

const ALL: [Timer; 4] = [
    Timer::Greeting,
    Timer::TlsHandshake,
    Timer::Reply,
    Timer::Body,
];

/// One deadline per [`Timer`], each armed or not.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Timers {
    at: [Option<Instant>; 4],
}

impl Timers {
    /// Arms `timer` at `deadline`, or disarms it with `None`.
    pub(super) fn set(&mut self, timer: Timer, deadline: Option<Instant>) {
        self.at[timer as usize] = deadline;
    }

    /// The earliest armed timer and its deadline (the first in table order on a tie).
    pub(super) fn next(&self) -> Option<(Timer, Instant)> {
        ALL.iter()
            .filter_map(|&t| self.at[t as usize].map(|d| (t, d)))
            .fold(None, |best, (t, d)| match best {
                Some((_, b)) if b <= d => best,
                _ => Some((t, d)),
            })
    }

    /// Disarms every timer (the session is over).
    pub(super) fn clear(&mut self) {
        self.at = [None; 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    fn at(s: u64) -> Instant {
        Instant::ZERO + Duration::from_secs(s)
    }

    #[test]
    fn the_earliest_armed_timer_is_next_and_disarmed_ones_are_not() {
        let mut t = Timers::default();
        assert_eq!(t.next(), None);
        t.set(Timer::Reply, Some(at(30)));
        t.set(Timer::Body, Some(at(20)));
        assert_eq!(t.next(), Some((Timer::Body, at(20))));
        t.set(Timer::Body, None);
        assert_eq!(t.next(), Some((Timer::Reply, at(30))));
        t.set(Timer::Greeting, Some(at(30)));
        assert_eq!(
            t.next(),
            Some((Timer::Greeting, at(30))),
            "a tie: table order"
        );
        t.clear();
        assert_eq!(t.next(), None);
    }
}
