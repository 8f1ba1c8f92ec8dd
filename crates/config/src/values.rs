//! The small languages inside values: rates, volumes, durations, hours.
//!
//! Each parser returns what it expected on failure; the caller adds the
//! location and the key.

use pacer_plan::{ActiveHours, Rate};

/// `"100/min"`, `"5/s"`, `"2000/h"`.
pub(crate) fn rate(text: &str) -> Result<Rate, &'static str> {
    const EXPECTED: &str = r#""<number>/s", "<number>/min" or "<number>/h""#;
    let (number, unit) = per(text).ok_or(EXPECTED)?;
    match unit {
        "s" | "sec" | "second" => Ok(Rate::per_second(number)),
        "min" | "minute" => Ok(Rate::per_minute(number)),
        "h" | "hour" => Ok(Rate::per_hour(number)),
        _ => Err(EXPECTED),
    }
    .and_then(|rate| (number > 0.0).then_some(rate).ok_or("a rate above 0"))
}

/// `"35000/day"` or `"1500/hour"`, as changes a day.
pub(crate) fn volume(text: &str) -> Result<f64, &'static str> {
    const EXPECTED: &str = r#""<number>/day" or "<number>/hour""#;
    let (number, unit) = per(text).ok_or(EXPECTED)?;
    match unit {
        "day" | "d" => Ok(number),
        "hour" | "h" => Ok(number * 24.0),
        _ => Err(EXPECTED),
    }
}

/// `"30m"`, `"2h"`, `"1h30m"`, `"1d"`, as whole minutes.
pub(crate) fn duration_minutes(text: &str) -> Result<u32, &'static str> {
    const EXPECTED: &str = r#"a duration such as "30m", "2h" or "1h30m""#;
    let mut total: u64 = 0;
    let mut number = String::new();
    let mut any = false;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().map_err(|_| EXPECTED)?;
        number.clear();
        total += n * match c {
            'd' => 1440,
            'h' => 60,
            'm' => 1,
            _ => return Err(EXPECTED),
        };
        any = true;
    }
    if !number.is_empty() || !any {
        return Err(EXPECTED);
    }
    match u32::try_from(total) {
        Ok(0) => Err("a duration of at least one minute"),
        Ok(minutes) => Ok(minutes),
        Err(_) => Err(EXPECTED),
    }
}

/// `"30s"`, `"2m"`, `"500ms"`, as milliseconds.
pub(crate) fn duration_ms(text: &str) -> Result<u64, &'static str> {
    const EXPECTED: &str = r#"a duration such as "500ms", "30s" or "2m""#;
    let text = text.trim();
    let digits = text.find(|c: char| !c.is_ascii_digit()).ok_or(EXPECTED)?;
    let number: u64 = text[..digits].parse().map_err(|_| EXPECTED)?;
    let unit = match &text[digits..] {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        _ => return Err(EXPECTED),
    };
    match number * unit {
        0 => Err("a duration above 0"),
        ms => Ok(ms),
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
    fn rates() {
        assert_eq!(rate("100/min").unwrap().items_per_minute(), 100.0);
        assert_eq!(rate(" 5 / s ").unwrap().items_per_minute(), 300.0);
        assert_eq!(rate("120/h").unwrap().items_per_minute(), 2.0);
        assert!(rate("fast").is_err());
        assert!(rate("100/day").is_err());
        assert_eq!(rate("0/min").unwrap_err(), "a rate above 0");
    }

    #[test]
    fn volumes() {
        assert_eq!(volume("35000/day").unwrap(), 35000.0);
        assert_eq!(volume("100/hour").unwrap(), 2400.0);
        assert!(volume("lots").is_err());
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
