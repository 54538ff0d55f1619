//! The `Date:` a message gets when it has none (RFC 5322 §3.3), in UTC.

use std::time::{SystemTime, UNIX_EPOCH};

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `Thu, 01 Jan 1970 00:00:00 +0000` for `at` (a time before 1970 is written as 1970's
/// first second: no clock of a sending machine is there).
pub(crate) fn rfc5322(at: SystemTime) -> String {
    let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil(days);
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} +0000",
        DAYS[(days % 7) as usize],
        MONTHS[month as usize - 1],
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
    )
}

/// The proleptic Gregorian (year, month, day) of a day count since 1970-01-01: the
/// era-based conversion (400-year eras of 146 097 days, years starting in March so
/// that the leap day is last).
fn civil(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> String {
        rfc5322(UNIX_EPOCH + Duration::from_secs(secs))
    }

    #[test]
    fn known_dates() {
        assert_eq!(at(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        // A leap day, and the day after.
        assert_eq!(at(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
        assert_eq!(at(951_868_799), "Tue, 29 Feb 2000 23:59:59 +0000");
        assert_eq!(at(951_868_800), "Wed, 01 Mar 2000 00:00:00 +0000");
        assert_eq!(at(1_796_561_622), "Sun, 06 Dec 2026 12:53:42 +0000");
        assert_eq!(at(4_107_456_000), "Sun, 28 Feb 2100 00:00:00 +0000");
        assert_eq!(at(4_107_542_400), "Mon, 01 Mar 2100 00:00:00 +0000");
        assert_eq!(
            rfc5322(UNIX_EPOCH - Duration::from_secs(5)),
            "Thu, 01 Jan 1970 00:00:00 +0000"
        );
    }
}
