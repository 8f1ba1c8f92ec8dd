//! [`Schedule`]: a parsed cron expression and the questions it answers.

use std::{fmt, str::FromStr};

use jiff::{SignedDuration, civil::DateTime};

use crate::{Error, calendar, days::Days, parse};

/// A parsed cron expression.
///
/// Each field is a bit set, as in Vixie cron, so matching a minute is a handful
/// of bit tests and finding the next fire never walks minute by minute.
///
/// # Example: parse, describe, and find the next fire
///
/// ```
/// use jiff::{Timestamp, tz::TimeZone};
/// use pacer_cron::Schedule;
///
/// let schedule: Schedule = "1-59/3 * * * *".parse()?;
/// assert_eq!(
///     schedule.describe(),
///     "every 3 minutes, at minutes 1, 4, 7 … 58 past each hour",
/// );
///
/// let from: Timestamp = "2026-11-27T09:00:00Z".parse()?;
/// let next = schedule.next_after(from, &TimeZone::UTC).unwrap();
/// assert_eq!(next.to_string(), "2026-11-27T09:01:00+00:00[UTC]");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Schedule {
    pub(crate) source: String,
    pub(crate) resolved: String,
    /// Bits 0..=59.
    pub(crate) minutes: u64,
    /// Bits 0..=23.
    pub(crate) hours: u32,
    /// Bits 1..=12.
    pub(crate) months: u16,
    pub(crate) days: Days,
    /// No `*` and no step in the minute and hour fields: cronie moves such a
    /// job out of a DST gap and runs it once in a repeated hour.
    pub(crate) fixed_time: bool,
    pub(crate) hashed: bool,
    pub(crate) warnings: Vec<String>,
}

impl Schedule {
    /// Parses a five-field cron expression or an `@` macro.
    ///
    /// # Errors
    ///
    /// When the expression is malformed, out of range, uses `H` (which needs a
    /// key: see [`Schedule::parse_with_key`]) or can never fire. The error
    /// names the field and the column.
    ///
    /// # Example: `?`, names and macros
    ///
    /// ```
    /// use pacer_cron::Schedule;
    ///
    /// let a = Schedule::parse("0 9 ? JAN-mar Mon-FRI")?;
    /// let b = Schedule::parse("0 9 * 1-3 1-5")?;
    /// assert_eq!(a.times_of_day(), b.times_of_day());
    /// assert_eq!(Schedule::parse("@hourly")?.to_string(), "0 * * * *");
    /// # Ok::<(), pacer_cron::Error>(())
    /// ```
    pub fn parse(expr: &str) -> Result<Schedule, Error> {
        parse::parse(expr, None)
    }

    /// Parses an expression that may use `H`, hashing `key` (a job's name).
    ///
    /// `H` picks one value of the field, `H/n` a starting offset below `n`,
    /// `H(a-b)` a value in `a..=b`. The value depends on the key alone, so it
    /// never changes for the same job, and jobs with different names spread
    /// evenly. In the day of the month, `H` stays within 1-28.
    ///
    /// # Errors
    ///
    /// As [`Schedule::parse`], except that `H` is allowed.
    ///
    /// # Example: spread jobs without choosing minutes by hand
    ///
    /// ```
    /// use pacer_cron::Schedule;
    ///
    /// let pull = Schedule::parse_with_key("H/15 * * * *", "prices.pull")?;
    /// assert_eq!(pull.to_string(), "3-59/15 * * * *");
    /// let again = Schedule::parse_with_key("H/15 * * * *", "prices.pull")?;
    /// assert_eq!(pull, again);
    /// # Ok::<(), pacer_cron::Error>(())
    /// ```
    pub fn parse_with_key(expr: &str, key: &str) -> Result<Schedule, Error> {
        parse::parse(expr, Some(key))
    }

    /// The expression as it was given.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// True when the expression used `H` or cronie's `a~b`; its resolved
    /// form is then the [`Display`](fmt::Display) output.
    pub fn uses_hash(&self) -> bool {
        self.hashed
    }

    /// What the expression says that cronie accepts but its author likely
    /// did not mean, each naming the field and column: a step wider than
    /// its range (`*/100` in the day of the month means the 1st only).
    ///
    /// # Example
    ///
    /// ```
    /// use pacer_cron::Schedule;
    ///
    /// let monthly = Schedule::parse("0 0 */100 * *")?;
    /// assert_eq!(monthly.to_string(), "0 0 */100 * *");
    /// assert!(monthly.warnings()[0].contains("means 1 only"));
    /// assert!(Schedule::parse("0 0 */10 * *")?.warnings().is_empty());
    /// # Ok::<(), pacer_cron::Error>(())
    /// ```
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// True for a fixed-time job: no `*` and no step in the minute and hour
    /// fields (`30 2 * * *`, `0 8,12 * * MON`).
    ///
    /// On daylight-saving days cronie treats the two kinds differently, and so
    /// does this crate: a fixed-time job whose time is skipped runs at the first
    /// minute after the gap, and runs once in a repeated hour; any other job
    /// follows the wall clock, skipping the lost hour and running in both passes
    /// of a repeated one.
    pub fn is_fixed_time(&self) -> bool {
        self.fixed_time
    }

    /// Whether the schedule fires at this wall-clock minute (seconds ignored).
    ///
    /// # Example
    ///
    /// ```
    /// use jiff::civil::date;
    /// use pacer_cron::Schedule;
    ///
    /// let last_friday = Schedule::parse("0 18 * * 5L")?;
    /// assert!(last_friday.matches(date(2026, 11, 27).at(18, 0, 0, 0)));
    /// assert!(!last_friday.matches(date(2026, 11, 20).at(18, 0, 0, 0)));
    /// # Ok::<(), pacer_cron::Error>(())
    /// ```
    pub fn matches(&self, at: DateTime) -> bool {
        self.minutes & (1 << at.minute()) != 0
            && self.hours & (1 << at.hour()) != 0
            && self.months & (1 << at.month()) != 0
            && self
                .days
                .contains(at.year().into(), at.month() as u32, at.day() as u32)
    }

    /// The first wall-clock minute that matches at or after `from`'s minute
    /// (seconds ignored), or strictly after it; `None` past the end of the
    /// supported range (year 9999).
    pub(crate) fn next_civil(&self, from: DateTime, strictly_after: bool) -> Option<DateTime> {
        let mut year = i32::from(from.year());
        let mut month = from.month() as u32;
        let mut day = from.day() as u32;
        // Minute 1440 is past the day's last; the search rolls to the next day.
        let mut minute_of_day =
            from.hour() as u32 * 60 + from.minute() as u32 + u32::from(strictly_after);
        loop {
            if year > 9999 {
                return None;
            }
            let later_months = self.months & (u16::MAX << month);
            if later_months == 0 {
                (year, month, day, minute_of_day) = (year + 1, 1, 1, 0);
                continue;
            }
            let next_month = later_months.trailing_zeros();
            if next_month != month {
                (month, day, minute_of_day) = (next_month, 1, 0);
            }
            let len = calendar::days_in_month(year, month);
            let later_days = self.days.month_mask(year, month) & (u32::MAX << day);
            if later_days == 0 {
                (month, day, minute_of_day) = (month + 1, 1, 0);
                if month > 12 {
                    (year, month) = (year + 1, 1);
                }
                continue;
            }
            let next_day = later_days.trailing_zeros();
            if next_day != day {
                (day, minute_of_day) = (next_day, 0);
            }
            if let Some(m) = self.time_at_or_after(minute_of_day) {
                return civil(year, month, day, m);
            }
            (day, minute_of_day) = (day + 1, 0);
            if day > len {
                (month, day) = (month + 1, 1);
                if month > 12 {
                    (year, month) = (year + 1, 1);
                }
            }
        }
    }

    /// The last wall-clock minute that matches at or before `from`'s minute,
    /// or strictly before it; `None` before the start of the supported range
    /// (year -9999).
    pub(crate) fn prev_civil(&self, from: DateTime, strictly_before: bool) -> Option<DateTime> {
        let from = if strictly_before {
            from.checked_sub(SignedDuration::from_mins(1)).ok()?
        } else {
            from
        };
        let mut year = i32::from(from.year());
        let mut month = from.month() as u32;
        let mut day = from.day() as u32;
        let mut minute_of_day = from.hour() as u32 * 60 + from.minute() as u32;
        loop {
            if year < -9999 {
                return None;
            }
            let earlier_months = self.months & (u16::MAX >> (15 - month));
            if earlier_months == 0 {
                (year, month, day, minute_of_day) = (year - 1, 12, 31, LAST_MINUTE);
                continue;
            }
            let prev_month = 15 - earlier_months.leading_zeros();
            let len = calendar::days_in_month(year, prev_month);
            if prev_month != month {
                (month, day, minute_of_day) = (prev_month, len, LAST_MINUTE);
            }
            let earlier_days = self.days.month_mask(year, month) & (u32::MAX >> (31 - day));
            if earlier_days == 0 {
                (month, minute_of_day) = (month - 1, LAST_MINUTE);
                if month == 0 {
                    (year, month) = (year - 1, 12);
                }
                day = calendar::days_in_month(year, month);
                continue;
            }
            let prev_day = 31 - earlier_days.leading_zeros();
            if prev_day != day {
                (day, minute_of_day) = (prev_day, LAST_MINUTE);
            }
            if let Some(m) = self.time_at_or_before(minute_of_day) {
                return civil(year, month, day, m);
            }
            minute_of_day = LAST_MINUTE;
            if day > 1 {
                day -= 1;
            } else {
                month -= 1;
                if month == 0 {
                    (year, month) = (year - 1, 12);
                }
                day = calendar::days_in_month(year, month);
            }
        }
    }

    /// The first minute of the day at or after `minute_of_day` at which the
    /// minute and hour fields match.
    fn time_at_or_after(&self, minute_of_day: u32) -> Option<u32> {
        let (hour, minute) = (minute_of_day / 60, minute_of_day % 60);
        if self.hours & (1 << hour) != 0 {
            let later = self.minutes & (u64::MAX << minute);
            if later != 0 {
                return Some(hour * 60 + later.trailing_zeros());
            }
        }
        let later_hours = self.hours & (u32::MAX.checked_shl(hour + 1).unwrap_or(0));
        (later_hours != 0)
            .then(|| later_hours.trailing_zeros() * 60 + self.minutes.trailing_zeros())
    }

    fn time_at_or_before(&self, minute_of_day: u32) -> Option<u32> {
        let (hour, minute) = (minute_of_day / 60, minute_of_day % 60);
        if self.hours & (1 << hour) != 0 {
            let earlier = self.minutes & (u64::MAX >> (63 - minute));
            if earlier != 0 {
                return Some(hour * 60 + 63 - earlier.leading_zeros());
            }
        }
        let earlier_hours = self.hours & ((1u32 << hour) - 1);
        (earlier_hours != 0)
            .then(|| (31 - earlier_hours.leading_zeros()) * 60 + 63 - self.minutes.leading_zeros())
    }
}

const LAST_MINUTE: u32 = 24 * 60 - 1;

fn civil(year: i32, month: u32, day: u32, minute_of_day: u32) -> Option<DateTime> {
    DateTime::new(
        i16::try_from(year).ok()?,
        month as i8,
        day as i8,
        (minute_of_day / 60) as i8,
        (minute_of_day % 60) as i8,
        0,
        0,
    )
    .ok()
}

impl FromStr for Schedule {
    type Err = Error;

    /// Parses without a key: see [`Schedule::parse`].
    fn from_str(expr: &str) -> Result<Schedule, Error> {
        Schedule::parse(expr)
    }
}

/// The five-field form, with `H` resolved and macros expanded.
impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.resolved)
    }
}
