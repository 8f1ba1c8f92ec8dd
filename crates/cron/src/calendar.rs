//! Gregorian calendar arithmetic on plain integers.
//!
//! The search asks these questions for every month it visits; answering them
//! with a few integer operations instead of building `jiff` dates keeps `next`
//! fast.

/// Days in `month` (1-12) of `year`.
pub(crate) fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

pub(crate) fn is_leap_year(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// The weekday of a date, 0 = Sunday … 6 = Saturday.
pub(crate) fn weekday(year: i32, month: u32, day: u32) -> u32 {
    // 1970-01-01 was a Thursday (4).
    (days_from_civil(year, month, day) + 4).rem_euclid(7) as u32
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekday_agrees_with_jiff_over_four_centuries() {
        let mut date = jiff::civil::date(1900, 1, 1);
        let end = jiff::civil::date(2300, 1, 1);
        while date < end {
            let expected = date.weekday().to_sunday_zero_offset() as u32;
            let got = weekday(date.year().into(), date.month() as u32, date.day() as u32);
            assert_eq!(got, expected, "{date}");
            assert_eq!(
                days_in_month(date.year().into(), date.month() as u32),
                date.days_in_month() as u32
            );
            date = date.tomorrow().unwrap();
        }
    }
}
