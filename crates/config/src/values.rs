//! The small languages inside values: rates, volumes, durations, hours.
//!
//! Each parser returns what it expected on failure; the caller adds the
//! location and the key.

use pacer_plan::{ActiveHours, MOST_PER_DAY, Rate};
/// The longest duration: a year (freshness, deadlines, windows).
const LONGEST_MINUTES: u64 = 366 * 1440;
/// The longest request timeout: an hour.
const LONGEST_MS: u64 = 3_600_000;

/// `"100/min"`, `"5/s"`, `"2000/h"`, from 1/h to 1000000/s.
pub(crate) fn rate(text: &str) -> Result<Rate, &'static str> {
    const EXPECTED: &str = r#""<number>/s", "<number>/min" or "<number>/h""#;
    let (number, unit) = per(text).ok_or(EXPECTED)?;
    let rate = match unit {
        "s" | "sec" | "second" => Rate::per_second(number),
        "min" | "minute" => Rate::per_minute(number),
        "h" | "hour" => Rate::per_hour(number),
        _ => return Err(EXPECTED),
    };
    if number <= 0.0 {
        return Err("a rate above 0");
    }
    if !rate.is_plannable() {
        return Err("a rate from 1/h to 1000000/s");
    }
    Ok(rate)
}

/// A system's `rate`: items (`"100/min"`, `"100 items/min"`), requests
/// (`"60 requests/min"`), or both, comma-separated: `"5000/min, 60
/// requests/min"`. Each is per minute as a [`Rate`].
pub(crate) fn system_rate(text: &str) -> Result<(Option<Rate>, Option<Rate>), &'static str> {
    const EXPECTED: &str = r#""<number>/min" (items), "<number> requests/min", or both: "5000/min, 60 requests/min" (also /s, /h)"#;
    let (mut items, mut requests) = (None, None);
    for part in text.split(',') {
        let part = part.trim();
        let (slot, rest) = match part.split_once(char::is_whitespace) {
            Some((number, unit)) if unit.trim_start().starts_with("requests/") => (
                &mut requests,
                format!("{number}/{}", &unit.trim_start()["requests/".len()..]),
            ),
            Some((number, unit)) if unit.trim_start().starts_with("items/") => (
                &mut items,
                format!("{number}/{}", &unit.trim_start()["items/".len()..]),
            ),
            _ => (&mut items, part.to_string()),
        };
        if slot.is_some() {
            return Err(EXPECTED);
        }
        *slot = Some(rate(&rest).map_err(|e| if e.starts_with('"') { EXPECTED } else { e })?);
    }
    Ok((items, requests))
}

/// `"35000/day"` or `"1500/hour"`, as changes a day, at most a billion.
pub(crate) fn volume(text: &str) -> Result<f64, &'static str> {
    const EXPECTED: &str = r#""<number>/day" or "<number>/hour""#;
    let (number, unit) = per(text).ok_or(EXPECTED)?;
    let per_day = match unit {
        "day" | "d" => number,
        "hour" | "h" => number * 24.0,
        _ => return Err(EXPECTED),
    };
    if per_day > MOST_PER_DAY {
        return Err("at most 1000000000/day (41666666/hour)");
    }
    Ok(per_day)
}

/// Why a duration could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DurationError {
    /// Not a duration at all.
    Unreadable,
    /// Zero or less.
    NotPositive,
    /// Larger than any Pacer takes.
    TooLong,
}

/// A duration as people write it, in the file and on the command line
/// alike: `"30m"`, `"1h30m"`, `"1m30s"`, `"500ms"`, `"45 minutes"`,
/// `"2 hours"`, `"1d"` (a day is 24 hours; weeks are 7 of them; months
/// and years, whose length varies, are refused).
pub(crate) fn duration(text: &str) -> Result<jiff::SignedDuration, DurationError> {
    let text = text.trim();
    // jiff says "too big" for such numbers in words Pacer cannot pass on.
    let longest_number = text
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    if longest_number > 15 {
        return Err(DurationError::TooLong);
    }
    let span: jiff::Span = text.parse().map_err(|_| DurationError::Unreadable)?;
    let duration = span
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|_| DurationError::Unreadable)?;
    if duration.is_positive() {
        Ok(duration)
    } else {
        Err(DurationError::NotPositive)
    }
}

/// A [`duration`] as whole minutes, at most 366 days.
pub(crate) fn duration_minutes(text: &str) -> Result<u32, &'static str> {
    const EXPECTED: &str = r#"a duration such as "30m", "2h" or "1h30m""#;
    const TOO_LONG: &str = "a duration of at most 366d";
    let d = duration(text).map_err(|e| match e {
        DurationError::Unreadable => EXPECTED,
        DurationError::NotPositive => "a duration of at least one minute",
        DurationError::TooLong => TOO_LONG,
    })?;
    if d.as_secs() % 60 != 0 || d.subsec_nanos() != 0 {
        return Err(r#"a duration in whole minutes, such as "90m" or "1h30m""#);
    }
    match u64::try_from(d.as_mins()).unwrap_or(u64::MAX) {
        minutes if minutes > LONGEST_MINUTES => Err(TOO_LONG),
        minutes => Ok(minutes as u32),
    }
}

/// A [`duration`] as whole milliseconds, at most an hour.
pub(crate) fn duration_ms(text: &str) -> Result<u64, &'static str> {
    const EXPECTED: &str = r#"a duration such as "500ms", "30s" or "2m""#;
    const TOO_LONG: &str = "a duration of at most 60m";
    let d = duration(text).map_err(|e| match e {
        DurationError::Unreadable => EXPECTED,
        DurationError::NotPositive => "a duration above 0",
        DurationError::TooLong => TOO_LONG,
    })?;
    if d.subsec_nanos() % 1_000_000 != 0 {
        return Err(r#"a duration in whole milliseconds, such as "500ms""#);
    }
    match u64::try_from(d.as_millis()).unwrap_or(u64::MAX) {
        ms if ms <= LONGEST_MS => Ok(ms),
        _ => Err(TOO_LONG),
    }
}

/// `"06:00-22:00"`, on whole hours; `"22:00-06:00"` wraps past midnight.
pub(crate) fn active_hours(text: &str) -> Result<ActiveHours, &'static str> {
    const EXPECTED: &str = r#"hours such as "06:00-22:00" (whole hours, 00:00-24:00)"#;
    let (start, end) = text.split_once('-').ok_or(EXPECTED)?;
    let hour = |t: &str| -> Result<u32, &'static str> {
        let (h, m) = t.trim().split_once(':').ok_or(EXPECTED)?;
        if m != "00" {
            return Err(EXPECTED);
        }
        h.parse().map_err(|_| EXPECTED)
    };
    ActiveHours::new(hour(start)?, hour(end)?).ok_or(EXPECTED)
}

/// `"<number>/<unit>"`, with optional spaces.
fn per(text: &str) -> Option<(f64, &str)> {
    let (number, unit) = text.split_once('/')?;
    let number: f64 = number.trim().parse().ok()?;
    (number.is_finite() && number >= 0.0).then_some((number, unit.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_system_limits_items_requests_or_both() {
        let per_minute = |text: &str| {
            let (items, requests) = system_rate(text).unwrap();
            (
                items.map(|r| r.items_per_minute()),
                requests.map(|r| r.items_per_minute()),
            )
        };
        assert_eq!(per_minute("100/min"), (Some(100.0), None));
        assert_eq!(per_minute("60 requests/min"), (None, Some(60.0)));
        assert_eq!(
            per_minute("5000 items/min, 2 requests/s"),
            (Some(5000.0), Some(120.0))
        );
        assert!(system_rate("60 requests/min, 2 requests/s").is_err());
        assert!(system_rate("60 calls/min").is_err());
        assert_eq!(system_rate("0 requests/min").unwrap_err(), "a rate above 0");
    }

    #[test]
    fn rates() {
        assert_eq!(rate("100/min").unwrap().items_per_minute(), 100.0);
        assert_eq!(rate(" 5 / s ").unwrap().items_per_minute(), 300.0);
        assert_eq!(rate("120/h").unwrap().items_per_minute(), 2.0);
        assert!(rate("fast").is_err());
        assert!(rate("100/day").is_err());
        assert_eq!(rate("0/min").unwrap_err(), "a rate above 0");
        assert_eq!(rate("1/h").unwrap().items_per_minute(), 1.0 / 60.0);
        assert_eq!(rate("1000000/s").unwrap().items_per_minute(), 6e7);
        for hanging in ["0.0000001/min", "0.9/h", "1000001/s", "1e300/min"] {
            assert_eq!(rate(hanging).unwrap_err(), "a rate from 1/h to 1000000/s");
        }
    }

    #[test]
    fn volumes() {
        assert_eq!(volume("35000/day").unwrap(), 35000.0);
        assert_eq!(volume("100/hour").unwrap(), 2400.0);
        assert!(volume("lots").is_err());
        assert_eq!(volume("1000000000/day").unwrap(), 1e9);
        for huge in ["1e30/day", "18446744073709551616/hour", "41666667/hour"] {
            assert!(volume(huge).unwrap_err().starts_with("at most"), "{huge}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(duration_minutes("30m").unwrap(), 30);
        assert_eq!(duration_minutes("2h").unwrap(), 120);
        assert_eq!(duration_minutes("1h30m").unwrap(), 90);
        assert_eq!(duration_minutes("1d").unwrap(), 1440);
        assert!(duration_minutes("30").is_err());
        assert!(duration_minutes("soon").is_err());
        assert!(duration_minutes("0m").is_err());
        assert_eq!(duration_minutes("366d").unwrap(), 527_040);
        for long in ["367d", "99999999999999999999m", "18446744073709551615d"] {
            assert_eq!(
                duration_minutes(long).unwrap_err(),
                "a duration of at most 366d"
            );
        }
        // One reader for the file and the command line: words and mixed units too.
        assert_eq!(duration_minutes("45 minutes").unwrap(), 45);
        assert_eq!(duration_minutes("2 hours").unwrap(), 120);
        assert_eq!(duration_minutes("1h 30m").unwrap(), 90);
        assert_eq!(duration_minutes("1w").unwrap(), 7 * 1440);
        assert_eq!(
            duration_minutes("1m30s").unwrap_err(),
            r#"a duration in whole minutes, such as "90m" or "1h30m""#
        );
        assert!(duration_minutes("1 month").is_err(), "months vary");
        assert_eq!(
            duration_minutes("-5m").unwrap_err(),
            "a duration of at least one minute"
        );
        assert_eq!(duration_ms("1m30s").unwrap(), 90_000);
        assert_eq!(duration_ms("500ms").unwrap(), 500);
        assert_eq!(duration_ms("60m").unwrap(), 3_600_000);
        for long in ["61m", "18446744073709551615m", "99999999999999999999s"] {
            assert_eq!(duration_ms(long).unwrap_err(), "a duration of at most 60m");
        }
    }

    #[test]
    fn hours() {
        assert_eq!(active_hours("06:00-22:00").unwrap().hours(), 16);
        assert_eq!(active_hours("22:00-06:00").unwrap().hours(), 8);
        assert_eq!(active_hours("00:00-24:00").unwrap().hours(), 24);
        assert!(active_hours("06:30-22:00").is_err());
        assert!(active_hours("6-22").is_err());
        assert!(active_hours("06:00-06:00").is_err());
    }
}
