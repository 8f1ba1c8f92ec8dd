//! Cron expressions for Pacer: parse them, find when they fire in any time zone,
//! and say in plain English what they mean.
//!
//! # Example: the next fires of the guide's pull job
//!
//! ```
//! use jiff::{Timestamp, tz::TimeZone};
//! use pacer_cron::Schedule;
//!
//! let pull = Schedule::parse("*/4 * * * *")?;
//! let from: Timestamp = "2026-11-27T10:01:30Z".parse()?;
//! let zone = TimeZone::get("Europe/Amsterdam")?;
//! let next: Vec<String> = pull
//!     .fires_after(from, &zone)
//!     .take(3)
//!     .map(|z| z.strftime("%H:%M").to_string())
//!     .collect();
//! assert_eq!(next, ["11:04", "11:08", "11:12"]);
//! assert_eq!(pull.fires_per_day(), 360);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The core types
//!
//! - [`Schedule`]: a parsed expression. [`Schedule::next_after`] and
//!   [`Schedule::prev_before`] find fire times strictly after or before an
//!   instant; [`Schedule::fires_after`] iterates them; [`Schedule::describe`]
//!   explains the expression.
//! - [`Error`]: what is wrong with an expression, with the [`Field`] and column.
//! - [`MinuteSet`] and [`Period`]: the structural answers the planner needs —
//!   at which minutes of a day or week a schedule fires and whether it repeats
//!   evenly within the hour.
//!
//! # Syntax
//!
//! Five fields — minute, hour, day of month, month, day of week — each `*`, a
//! number, a range `a-b`, a list `a,b`, or a step `*/n`, `a-b/n`, `a/n` (`a`
//! through the field's maximum). Months and weekdays may be names (`JAN`, `mon`);
//! Sunday is 0 or 7, and a weekday range ending in 0 ends on Sunday
//! (`mon-0` is `mon-sun`, as cronie reads it); `?` means `*` in the day
//! fields. The macros `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight` and `@hourly` stand
//! for their usual expressions.
//!
//! The Quartz extensions: `L` (last day of the month), `LW` (last weekday),
//! `15W` (the weekday nearest the 15th), `5L` or `FRIL` (the last Friday) and
//! `FRI#2` (the second Friday).
//!
//! `H`, `H/n`, `H(a-b)` and `H(a-b)/n` pick values by hashing a key, as Jenkins
//! does, to spread jobs over the hour without choosing minutes by hand; see
//! [`Schedule::parse_with_key`].
//!
//! # Day of month and day of week
//!
//! As in Vixie cron and cronie: when both fields are restricted, a day matching
//! either fires. When either field begins with `*` (including `*/n`), a day must
//! match both — so a plain `*` leaves the other field alone to decide.
//!
//! ```
//! use jiff::civil::date;
//! use pacer_cron::Schedule;
//!
//! // The 1st and 15th, and every Friday.
//! let either = Schedule::parse("0 12 1,15 * FRI")?;
//! assert!(either.fires_on(date(2026, 11, 15))); // a Sunday
//! assert!(either.fires_on(date(2026, 11, 20))); // a Friday
//! // Odd days that are also Mondays.
//! let both = Schedule::parse("0 12 */2 * MON")?;
//! assert!(both.fires_on(date(2026, 11, 9)));
//! assert!(!both.fires_on(date(2026, 11, 16)));
//! # Ok::<(), pacer_cron::Error>(())
//! ```
//!
//! # Daylight saving
//!
//! Like cronie. A *fixed-time* job (no `*` and no step in the minute and hour
//! fields) whose time is skipped by a spring-forward gap runs once, at the first
//! minute after the gap; in a fall-back overlap it runs once, at the first
//! occurrence. Any other job follows the wall clock: it does not run in a skipped
//! hour and runs in both passes of a repeated one. See [`Schedule::next_after`].
//! A [`Day`] is one date as long as it really is (23, 24 or 25 hours, or a
//! half hour off), for reports that show a day by the hour or the minute.
//!
//! # Reading crontabs as cronie does
//!
//! A step wider than its range (`*/100` in the day of the month) means the
//! range's first value, as cronie reads it, and [`Schedule::warnings`] says
//! so. cronie's random `a~b` picks one value in the range; here it is hashed
//! from the key, like `H`. A step after a single value (`5/15`, which Quartz
//! accepts) is an error in cronie and here, with the range to write.

#![deny(missing_docs)]

pub use crate::{
    day::{Day, Hour},
    error::Error,
    field::Field,
    schedule::Schedule,
    search::{FiresAfter, FiresBefore},
    shape::{MinuteSet, Period},
};

mod calendar;
mod day;
mod days;
mod describe;
mod error;
mod field;
mod hash;
mod parse;
mod schedule;
mod search;
mod shape;
