//! Time as the core sees it: a value handed in by the caller, never read from a clock.

use core::ops::{Add, Sub};
use core::time::Duration;

/// A point on the caller's monotonic clock.
///
/// The core never reads a clock (it runs on `no_std` targets and in simulations): every
/// call that can start or check a timer takes `now: Instant`, and deadlines come back as
/// `Instant`s. Adapters map their runtime's clock onto it, usually as the time elapsed
/// since the connection started ([`Instant::from_duration`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(Duration);

impl Instant {
    /// The zero point of the caller's clock.
    pub const ZERO: Instant = Instant(Duration::ZERO);

    /// The instant `since_origin` after the caller's chosen origin.
    pub const fn from_duration(since_origin: Duration) -> Self {
        Instant(since_origin)
    }

    /// The time since the caller's origin.
    pub const fn as_duration(self) -> Duration {
        self.0
    }

    /// How long after `earlier` this instant is; zero if it is not later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Saturates instead of overflowing: a deadline "never" is still a deadline.
    fn add(self, rhs: Duration) -> Instant {
        Instant(self.0.checked_add(rhs).unwrap_or(Duration::MAX))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}
