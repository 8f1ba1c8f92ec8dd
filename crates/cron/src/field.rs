//! The five fields of a cron expression and their ranges.

use std::fmt;

/// One of the five fields of a cron expression, in the order they are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// Minute of the hour, 0-59.
    Minute,
    /// Hour of the day, 0-23.
    Hour,
    /// Day of the month, 1-31.
    DayOfMonth,
    /// Month of the year, 1-12 or JAN-DEC.
    Month,
    /// Day of the week, 0-7 or SUN-SAT, where both 0 and 7 are Sunday.
    DayOfWeek,
}

impl Field {
    /// All fields, in the order they are written.
    pub const ALL: [Field; 5] = [
        Field::Minute,
        Field::Hour,
        Field::DayOfMonth,
        Field::Month,
        Field::DayOfWeek,
    ];

    /// The smallest value the field accepts.
    pub fn min(self) -> u32 {
        match self {
            Field::Minute | Field::Hour | Field::DayOfWeek => 0,
            Field::DayOfMonth | Field::Month => 1,
        }
    }

    /// The largest value the field accepts (7 for the day of the week, an alias of Sunday).
    pub fn max(self) -> u32 {
        match self {
            Field::Minute => 59,
            Field::Hour => 23,
            Field::DayOfMonth => 31,
            Field::Month => 12,
            Field::DayOfWeek => 7,
        }
    }

    /// The range `H` hashes into when no range is given.
    ///
    /// The day of the month stays within 1-28 so the day exists in every month,
    /// and the day of the week within 0-6 so Sunday is not twice as likely.
    pub(crate) fn hash_range(self) -> (u32, u32) {
        match self {
            Field::DayOfMonth => (1, 28),
            Field::DayOfWeek => (0, 6),
            _ => (self.min(), self.max()),
        }
    }

    /// The names the field accepts (JAN-DEC, SUN-SAT), if any, indexed from `min()`.
    pub(crate) fn names(self) -> &'static [&'static str] {
        match self {
            Field::Month => &[
                "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
            ],
            Field::DayOfWeek => &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
            _ => &[],
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Minute => "minute",
            Field::Hour => "hour",
            Field::DayOfMonth => "day-of-month",
            Field::Month => "month",
            Field::DayOfWeek => "day-of-week",
        })
    }
}
