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

/// `"30m"`, `"2h"`, `"1h30m"`, `"1d"`, as whole minutes, at most 366 days.
pub(crate) fn duration_minutes(text: &str) -> Result<u32, &'static str> {
    const EXPECTED: &str = r#"a duration such as "30m", "2h" or "1h30m""#;
    const TOO_LONG: &str = "a duration of at most 366d";
    let mut total: u64 = 0;
    let mut number = String::new();
    let mut any = false;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        if number.is_empty() {
            return Err(EXPECTED);
        }
        // Only digits: a number that does not parse is too large.
        let n: u64 = number.parse().map_err(|_| TOO_LONG)?;
        number.clear();
        let unit = match c {
            'd' => 1440,
            'h' => 60,
            'm' => 1,
            _ => return Err(EXPECTED),
        };
        total = n
            .checked_mul(unit)
            .and_then(|n| total.checked_add(n))
            .ok_or(TOO_LONG)?;
        any = true;
    }
    if !number.is_empty() || !any {
        return Err(EXPECTED);
    }
    match total {
        0 => Err("a duration of at least one minute"),
        minutes if minutes > LONGEST_MINUTES => Err(TOO_LONG),
        minutes => Ok(minutes as u32),
    }
}

/// `"30s"`, `"2m"`, `"500ms"`, as milliseconds, at most an hour.
pub(crate) fn duration_ms(text: &str) -> Result<u64, &'static str> {
    const EXPECTED: &str = r#"a duration such as "500ms", "30s" or "2m""#;
    const TOO_LONG: &str = "a duration of at most 60m";
    let text = text.trim();
    let digits = text.find(|c: char| !c.is_ascii_digit()).ok_or(EXPECTED)?;
    if digits == 0 {
        return Err(EXPECTED);
    }
    let number: u64 = text[..digits].parse().map_err(|_| TOO_LONG)?;
    let unit = match &text[digits..] {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        _ => return Err(EXPECTED),
    };
    match number.checked_mul(unit) {
        Some(0) => Err("a duration above 0"),
        Some(ms) if ms <= LONGEST_MS => Ok(ms),
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
