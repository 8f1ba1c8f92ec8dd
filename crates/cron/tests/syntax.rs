//! Every element of the syntax, and every error, with its message and column.

use jiff::civil::{Date, date};
use pacer_cron::{Field, Period, Schedule};

/// The minutes past the hour and the hours a schedule fires at.
fn minutes_and_hours(expr: &str) -> (Vec<usize>, Vec<usize>) {
    let times: Vec<usize> = Schedule::parse(expr)
        .unwrap()
        .times_of_day()
        .iter()
        .collect();
    let mut minutes: Vec<usize> = times.iter().map(|t| t % 60).collect();
    let mut hours: Vec<usize> = times.iter().map(|t| t / 60).collect();
    minutes.sort_unstable();
    minutes.dedup();
    hours.sort_unstable();
    hours.dedup();
    (minutes, hours)
}

fn minutes(expr: &str) -> Vec<usize> {
    minutes_and_hours(&format!("{expr} 0 * * *")).0
}

/// The days of a month a schedule fires on.
fn days(expr: &str, year: i16, month: i8) -> Vec<i8> {
    let schedule = Schedule::parse(expr).unwrap();
    let first = date(year, month, 1);
    (1..=first.days_in_month())
        .filter(|&d| schedule.fires_on(date(year, month, d)))
        .collect()
}

#[test]
fn numbers_ranges_lists_and_steps() {
    assert_eq!(minutes("*").len(), 60);
    assert_eq!(minutes("7"), [7]);
    assert_eq!(minutes("10-13"), [10, 11, 12, 13]);
    assert_eq!(minutes("1,5,59"), [1, 5, 59]);
    assert_eq!(minutes("*/15"), [0, 15, 30, 45]);
    assert_eq!(minutes("10-30/10"), [10, 20, 30]);
    assert_eq!(minutes("50-59/3"), [50, 53, 56, 59]);
    assert_eq!(minutes("1-3,*/30,58-59"), [0, 1, 2, 3, 30, 58, 59]);
    assert_eq!(minutes("*/60"), [0]);
    assert_eq!(minutes_and_hours("0 */6 * * *").1, [0, 6, 12, 18]);
    assert_eq!(minutes_and_hours("0 22-23/1 * * *").1, [22, 23]);
}

/// cronie reads a step only after `*` or a range; Quartz's `a/n` is an
/// error there, and here, with the range to write instead.
#[test]
fn a_step_after_a_single_value_is_refused_with_the_range_to_write() {
    for (expr, column, message) in [
        (
            "50/3 * * * *",
            3,
            "write 50-59/3 (from 50 to the end) or */3",
        ),
        (
            "0 22/1 * * *",
            5,
            "write 22-23/1 (from 22 to the end) or */1",
        ),
        ("0 0 * * 1/2", 10, "write 1-6/2 (from 1 to the end) or */2"),
        ("*/61 * * * *", 0, ""),
    ] {
        if message.is_empty() {
            // A step after `*` is fine, however wide (see the next test).
            assert_eq!(Schedule::parse(expr).unwrap().warnings().len(), 1, "{expr}");
            continue;
        }
        let err = Schedule::parse(expr).unwrap_err();
        assert_eq!(err.column(), Some(column), "{expr}");
        assert!(err.to_string().ends_with(message), "{expr}: {err}");
        assert!(
            err.to_string().contains("as cronie reads crontabs"),
            "{err}"
        );
    }
}

/// A step wider than its range is cronie's: the range's first value only,
/// said in a warning rather than refused.
#[test]
fn a_step_wider_than_its_range_means_its_first_value_with_a_warning() {
    let monthly = Schedule::parse("0 0 */100 * *").unwrap();
    assert_eq!(days("0 0 */100 * *", 2026, 11), [1]);
    assert_eq!(
        monthly.warnings(),
        [
            "day-of-month field, column 5: a step of 100 is wider than 1-31, so \"*/100\" \
          means 1 only (as cronie reads it)"
        ]
    );
    assert_eq!(minutes("5-10/20"), [5]);
    assert!(
        Schedule::parse("*/15 * * * *")
            .unwrap()
            .warnings()
            .is_empty()
    );
}

/// cronie's `a~b`: one value in the range, chosen once; Pacer hashes the
/// job's name as for `H`, so it is the same on every node and restart.
#[test]
fn a_random_range_is_one_value_resolved_from_the_key() {
    let a = Schedule::parse_with_key("0~29 * * * *", "prices.pull").unwrap();
    let again = Schedule::parse_with_key("0~29 * * * *", "prices.pull").unwrap();
    let resolved = a.to_string();
    assert_eq!(resolved, again.to_string());
    let minute: u32 = resolved.split(' ').next().unwrap().parse().unwrap();
    assert!(minute <= 29, "{resolved}");
    assert!(a.uses_hash());
    // `~` alone spans the field, `a~` runs to its end, `~b` from its start.
    for (expr, low, high) in [
        ("~ 3 * * *", 0, 59),
        ("45~ 3 * * *", 45, 59),
        ("~5 3 * * *", 0, 5),
    ] {
        let s = Schedule::parse_with_key(expr, "stock.push")
            .unwrap()
            .to_string();
        let minute: u32 = s.split(' ').next().unwrap().parse().unwrap();
        assert!((low..=high).contains(&minute), "{expr}: {s}");
    }
    let hour = Schedule::parse_with_key("0 1~4 * * *", "orders.pull").unwrap();
    let h: u32 = hour.to_string().split(' ').nth(1).unwrap().parse().unwrap();
    assert!((1..=4).contains(&h));
    let err = Schedule::parse("0~29 * * * *").unwrap_err();
    assert!(err.is_missing_key());
    assert_eq!(
        err.to_string(),
        "minute field, column 1: `a~b` needs a key to hash, such as the job's name, and none was given"
    );
    let err = Schedule::parse_with_key("0~29/5 * * * *", "k").unwrap_err();
    assert!(err.to_string().contains("takes no step"), "{err}");
    let err = Schedule::parse_with_key("30~10 * * * *", "k").unwrap_err();
    assert!(err.to_string().contains("runs backwards"), "{err}");
}

#[test]
fn month_and_weekday_names_in_any_case() {
    // 2026-11: the 1st is a Sunday.
    assert_eq!(days("0 0 * * mon", 2026, 11), [2, 9, 16, 23, 30]);
    assert_eq!(
        days("0 0 * * Sat,SUN", 2026, 11),
        [1, 7, 8, 14, 15, 21, 22, 28, 29]
    );
    assert_eq!(days("0 0 * * TUE-thu", 2026, 11).len(), 12);
    assert_eq!(
        days("0 0 * * FRI-SUN", 2026, 11),
        days("0 0 * * 5-7", 2026, 11)
    );
    let spring = Schedule::parse("0 0 1 mar-MAY *").unwrap();
    assert!(spring.fires_on(date(2026, 4, 1)));
    assert!(!spring.fires_on(date(2026, 6, 1)));
    assert_eq!(
        Schedule::parse("0 0 1 JAN,jul *").unwrap().to_string(),
        "0 0 1 JAN,jul *"
    );
}

#[test]
fn sunday_is_zero_and_seven() {
    assert_eq!(days("0 0 * * 0", 2026, 11), days("0 0 * * 7", 2026, 11));
    assert_eq!(days("0 0 * * 0", 2026, 11), [1, 8, 15, 22, 29]);
    assert_eq!(days("0 0 * * 6-7", 2026, 11).len(), 9);
    // A range ending in 0 ends in Sunday, as cronie reads it.
    assert_eq!(days("0 0 * * mon-0", 2026, 11), days("0 0 * * *", 2026, 11));
    assert_eq!(days("0 0 * * 5-0", 2026, 11), days("0 0 * * 5-7", 2026, 11));
    assert_eq!(
        days("0 0 * * sat-0/2", 2026, 11),
        days("0 0 * * 6", 2026, 11)
    );
}

#[test]
fn question_mark_means_star_in_the_day_fields() {
    assert_eq!(days("0 0 ? * MON", 2026, 11), days("0 0 * * MON", 2026, 11));
    assert_eq!(days("0 0 15 * ?", 2026, 11), [15]);
}

#[test]
fn macros() {
    for (name, expansion) in [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
        ("@DAILY", "0 0 * * *"),
    ] {
        let schedule = Schedule::parse(name).unwrap();
        assert_eq!(schedule.to_string(), expansion, "{name}");
        assert_eq!(schedule.source(), name);
    }
}

#[test]
fn quartz_last_and_nearest_weekday() {
    assert_eq!(days("0 0 L * *", 2028, 2), [29]);
    assert_eq!(days("0 0 L * *", 2026, 2), [28]);
    // 2026-01-31 is a Saturday.
    assert_eq!(days("0 0 LW * *", 2026, 1), [30]);
    // 2026-11-15 is a Sunday: the nearest weekday is Monday the 16th.
    assert_eq!(days("0 0 15W * *", 2026, 11), [16]);
    // 2026-08-01 is a Saturday: not back into July, but Monday the 3rd.
    assert_eq!(days("0 0 1W * *", 2026, 8), [3]);
    assert_eq!(days("0 0 1,L * *", 2026, 11), [1, 30]);
}

#[test]
fn quartz_last_and_nth_weekday() {
    // 2026-11 Fridays: 6, 13, 20, 27.
    assert_eq!(days("0 0 * * 5L", 2026, 11), [27]);
    assert_eq!(days("0 0 * * FRIL", 2026, 11), [27]);
    assert_eq!(days("0 0 * * fri#2", 2026, 11), [13]);
    assert_eq!(days("0 0 * * 5#1,5#3", 2026, 11), [6, 20]);
    // There is no fifth Friday in 2026-11, but there is in 2026-10.
    assert_eq!(days("0 0 * * FRI#5", 2026, 11), Vec::<i8>::new());
    assert_eq!(days("0 0 * * FRI#5", 2026, 10), [30]);
    assert_eq!(days("0 0 * * 7L", 2026, 11), [29]);
}

#[test]
fn day_of_month_or_day_of_week() {
    // Both restricted: either fires.
    assert_eq!(days("0 0 1,15 * FRI", 2026, 11), [1, 6, 13, 15, 20, 27]);
    // A field that is `*` leaves the other alone to decide.
    assert_eq!(days("0 0 * * FRI", 2026, 11), [6, 13, 20, 27]);
    assert_eq!(days("0 0 13 * *", 2026, 11), [13]);
    // A field that begins with `*` counts as unrestricted, as in cronie: the
    // day must then match both fields.
    assert_eq!(days("0 0 */2 * MON", 2026, 11), [9, 23]);
    assert_eq!(days("0 0 1-7 * */7", 2026, 11), [1]);
    // Friday the 13th, by the OR rule, is every 13th and every Friday.
    assert_eq!(days("0 0 13 * 5", 2026, 11), [6, 13, 20, 27]);
}

#[test]
fn hashed_values_need_a_key_and_stay_in_range() {
    let err = Schedule::parse("H * * * *").unwrap_err();
    assert!(err.is_missing_key());
    assert_eq!(err.column(), Some(1));
    assert_eq!(
        err.to_string(),
        "minute field, column 1: H needs a key to hash, such as the job's name, and none was given"
    );
    let pull = Schedule::parse_with_key("H H * * *", "prices.pull").unwrap();
    assert!(pull.uses_hash());
    assert_eq!(pull.to_string(), "14 11 * * *");
    assert_eq!(pull.describe(), "at 11:14");
    let push = Schedule::parse_with_key("H/20 * * * *", "prices.push").unwrap();
    assert_eq!(push.to_string(), "16-59/20 * * * *");
    assert_eq!(
        push.period_within_hour(),
        Some(Period {
            every: 20,
            offset: 16
        })
    );
    let ranged = Schedule::parse_with_key("H(0-29)/10 H(9-17) * * *", "stock.pull").unwrap();
    assert_eq!(ranged.to_string(), "7-29/10 9 * * *");
    let weekly = Schedule::parse_with_key("0 0 * * H", "orders.pull").unwrap();
    assert!(!Schedule::parse("0 0 * * *").unwrap().uses_hash());
    assert_eq!(weekly.to_string().split(' ').nth(4).unwrap().len(), 1);
}

#[test]
fn structural_queries() {
    let pull = Schedule::parse("*/4 * * * *").unwrap();
    assert_eq!(pull.fires_per_day(), 360);
    assert_eq!(
        pull.period_within_hour(),
        Some(Period {
            every: 4,
            offset: 0
        })
    );
    let offset = Schedule::parse("1-59/3 * * * *").unwrap();
    assert_eq!(
        offset.period_within_hour(),
        Some(Period {
            every: 3,
            offset: 1
        })
    );
    assert_eq!(
        offset.times_of_day().iter().take(3).collect::<Vec<_>>(),
        [1, 4, 7]
    );
    assert_eq!(
        Schedule::parse("17 * * * *").unwrap().period_within_hour(),
        Some(Period {
            every: 60,
            offset: 17
        })
    );
    assert_eq!(
        Schedule::parse("* * * * *").unwrap().period_within_hour(),
        Some(Period {
            every: 1,
            offset: 0
        })
    );
    assert_eq!(
        Schedule::parse("0,10,15 * * * *")
            .unwrap()
            .period_within_hour(),
        None
    );
    assert_eq!(
        Schedule::parse("0-29/10 * * * *")
            .unwrap()
            .period_within_hour(),
        None
    );

    let weekdays = Schedule::parse("30 8-9 * * MON-FRI").unwrap();
    assert_eq!(weekdays.fires_per_day(), 2);
    let monday: Date = date(2026, 11, 23);
    assert_eq!(
        weekdays.minutes_of_day(monday).iter().collect::<Vec<_>>(),
        [510, 570]
    );
    assert!(weekdays.minutes_of_day(date(2026, 11, 22)).is_empty());
    let week = weekdays.minutes_of_week(monday);
    assert_eq!(week.grid_len(), 7 * 1440);
    assert_eq!(week.count(), 10);
    assert!(week.contains(1440 + 510));
}

#[test]
fn fixed_time_or_wall_clock() {
    for expr in [
        "30 2 * * *",
        "0,30 2 * * *",
        "0-10 1-2 * * *",
        "@daily",
        "0 3 * * */2",
    ] {
        assert!(Schedule::parse(expr).unwrap().is_fixed_time(), "{expr}");
    }
    for expr in [
        "* 2 * * *",
        "*/5 2 * * *",
        "0 */2 * * *",
        "5-59/10 2 * * *",
        "@hourly",
    ] {
        assert!(!Schedule::parse(expr).unwrap().is_fixed_time(), "{expr}");
    }
}

#[test]
fn describe_in_plain_english() {
    for (expr, english) in [
        (
            "1-59/3 * * * *",
            "every 3 minutes, at minutes 1, 4, 7 … 58 past each hour",
        ),
        (
            "30 2 1,15 * FRI",
            "at 02:30 on the 1st and 15th of the month and on every Friday",
        ),
        ("* * * * *", "every minute"),
        (
            "*/4 * * * *",
            "every 4 minutes, at minutes 0, 4, 8 … 56 past each hour",
        ),
        (
            "*/20 * * * *",
            "every 20 minutes, at minutes 0, 20 and 40 past each hour",
        ),
        ("5 * * * *", "at minute 5 past each hour"),
        (
            "0,30 * * * *",
            "every 30 minutes, at minutes 0 and 30 past each hour",
        ),
        ("0,10,15 * * * *", "at minutes 0, 10 and 15 past each hour"),
        ("* 9-17 * * *", "every minute during hours 9 through 17"),
        ("0 */2 * * *", "at minute 0 past hours 0, 2, 4 … 22"),
        ("0 8,12,16 * * *", "at 08:00, 12:00 and 16:00"),
        ("@daily", "at 00:00"),
        ("0 9 * * MON-FRI", "at 09:00 on Monday through Friday"),
        ("0 0 L * *", "at 00:00 on the last day of the month"),
        ("0 0 LW * *", "at 00:00 on the last weekday of the month"),
        (
            "0 0 15W * *",
            "at 00:00 on the weekday nearest the 15th of the month",
        ),
        ("0 18 * * 5L", "at 18:00 on the last Friday of the month"),
        (
            "0 0 * * FRI#2",
            "at 00:00 on the second Friday of the month",
        ),
        (
            "0 0 */2 * MON",
            "at 00:00 on days 1, 3, 5 … 31 of the month, only if it falls on a Monday",
        ),
        ("0 0 1 1 *", "at 00:00 on the 1st of the month in January"),
        (
            "0 6 * 6-8 SAT,SUN",
            "at 06:00 on Sunday and Saturday in June through August",
        ),
        (
            "0 12 1,2,3,22 * *",
            "at 12:00 on the 1st through 3rd and 22nd of the month",
        ),
    ] {
        assert_eq!(Schedule::parse(expr).unwrap().describe(), english, "{expr}");
    }
}

/// Each rejected expression: the message, and the column it points at.
#[test]
fn errors_name_the_field_and_the_column() {
    for (expr, field, column, message) in [
        (
            "",
            None,
            None,
            "the expression is empty; expected 5 fields (minute hour day-of-month month day-of-week) or a macro such as @daily",
        ),
        (
            "* * * *",
            None,
            Some(8),
            "column 8: expected 5 fields (minute hour day-of-month month day-of-week), found 4",
        ),
        (
            "* * * * * *",
            None,
            Some(11),
            "column 11: expected 5 fields (minute hour day-of-month month day-of-week), found 6",
        ),
        (
            "@often",
            None,
            Some(1),
            "column 1: unknown macro \"@often\"; expected one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly",
        ),
        (
            "@daily 5",
            None,
            Some(8),
            "column 8: unexpected \"5\" after the macro, expected nothing: a macro stands alone",
        ),
        (
            "60 * * * *",
            Some(Field::Minute),
            Some(1),
            "minute field, column 1: 60 is out of range, expected 0-59",
        ),
        (
            "0 24 * * *",
            Some(Field::Hour),
            Some(3),
            "hour field, column 3: 24 is out of range, expected 0-23",
        ),
        (
            "0 0 0 * *",
            Some(Field::DayOfMonth),
            Some(5),
            "day-of-month field, column 5: 0 is out of range, expected 1-31",
        ),
        (
            "0 0 * 13 *",
            Some(Field::Month),
            Some(7),
            "month field, column 7: 13 is out of range, expected 1-12",
        ),
        (
            "0 0 * * 8",
            Some(Field::DayOfWeek),
            Some(9),
            "day-of-week field, column 9: 8 is out of range, expected 0-7",
        ),
        (
            "*/0 * * * *",
            Some(Field::Minute),
            Some(3),
            "minute field, column 3: a step of 0 never advances; use 1 or more",
        ),
        (
            "5/15 * * * *",
            Some(Field::Minute),
            Some(2),
            "minute field, column 2: a step needs a range before it, as cronie reads crontabs; write 5-59/15 (from 5 to the end) or */15",
        ),
        (
            "0 5-2 * * *",
            Some(Field::Hour),
            Some(3),
            "hour field, column 3: the range 5-2 runs backwards; write the smaller value first (or use a list to wrap around)",
        ),
        (
            "0 0 * FOO *",
            Some(Field::Month),
            Some(7),
            "month field, column 7: unknown name \"FOO\"; expected JAN-DEC",
        ),
        (
            "0 0 * * MONDAY",
            Some(Field::DayOfWeek),
            Some(9),
            "day-of-week field, column 9: unknown name \"MONDAY\"; expected SUN-SAT",
        ),
        (
            "0 0 * JAN MAR",
            Some(Field::DayOfWeek),
            Some(11),
            "day-of-week field, column 11: unknown name \"MAR\"; expected SUN-SAT",
        ),
        (
            "MON * * * *",
            Some(Field::Minute),
            Some(1),
            "minute field, column 1: unknown name \"MON\"; names are only allowed in the month and day-of-week fields",
        ),
        (
            "0 0 30 2 *",
            Some(Field::DayOfMonth),
            Some(5),
            "day-of-month field, column 5: this day of the month never occurs in the selected months, so the expression would never fire",
        ),
        (
            "0 0 31 4,6 *",
            Some(Field::DayOfMonth),
            Some(5),
            "day-of-month field, column 5: this day of the month never occurs in the selected months, so the expression would never fire",
        ),
        (
            "1,,2 * * * *",
            Some(Field::Minute),
            Some(3),
            "minute field, column 3: unexpected ',', expected a value between the commas",
        ),
        (
            "1- * * * *",
            Some(Field::Minute),
            Some(3),
            "minute field, column 3: unexpected the end of the field, expected a number, a name, '*' or 'H'",
        ),
        (
            "5x * * * *",
            Some(Field::Minute),
            Some(2),
            "minute field, column 2: unexpected 'x', expected ',', '-', '/' or the end of the field",
        ),
        (
            "*/ * * * *",
            Some(Field::Minute),
            Some(3),
            "minute field, column 3: unexpected the end of the field, expected a step (a whole number) after '/'",
        ),
        (
            "? * * * *",
            Some(Field::Minute),
            Some(1),
            "minute field, column 1: unexpected '?', expected a value, range, list or `*` (`?` is only for the day fields)",
        ),
        (
            "0 0 L/2 * *",
            Some(Field::DayOfMonth),
            Some(6),
            "day-of-month field, column 6: unexpected '/', expected ',' or the end of the field (no range or step here)",
        ),
        (
            "0 0 * * FRI#6",
            Some(Field::DayOfWeek),
            Some(13),
            "day-of-week field, column 13: 6 is out of range, expected 1-5",
        ),
        (
            "0 0 * * FRI#",
            Some(Field::DayOfWeek),
            Some(13),
            "day-of-week field, column 13: unexpected the end of the field, expected which occurrence (1-5) after '#'",
        ),
        (
            "0 0 32W * *",
            Some(Field::DayOfMonth),
            Some(5),
            "day-of-month field, column 5: 32 is out of range, expected 1-31",
        ),
        (
            "0 H(5-1) * * *",
            Some(Field::Hour),
            Some(3),
            "hour field, column 3: H needs a key to hash, such as the job's name, and none was given",
        ),
        (
            "0 0 * * é",
            Some(Field::DayOfWeek),
            Some(9),
            "day-of-week field, column 9: unexpected 'é', expected a number, a name, '*' or 'H'",
        ),
        ("0 0 ü * é", Some(Field::DayOfWeek), None, ""),
    ] {
        let err = Schedule::parse(expr).unwrap_err();
        if message.is_empty() {
            // Only the first error is reported: here the day of the month.
            assert_eq!(err.field(), Some(Field::DayOfMonth), "{expr:?}");
            assert_eq!(err.column(), Some(5));
            continue;
        }
        assert_eq!(err.to_string(), message, "{expr:?}");
        assert_eq!(err.field(), field, "{expr:?}");
        assert_eq!(err.column(), column, "{expr:?}");
    }
}

#[test]
fn hash_errors_point_inside_the_parentheses() {
    let err = Schedule::parse_with_key("0 H(5-1) * * *", "k").unwrap_err();
    assert_eq!(
        err.to_string(),
        "hour field, column 5: the range 5-1 runs backwards; write the smaller value first (or use a list to wrap around)"
    );
    let err = Schedule::parse_with_key("0 H(5 * * *", "k").unwrap_err();
    assert_eq!(
        err.to_string(),
        "hour field, column 6: unexpected the end of the field, expected '-' in H(a-b)"
    );
    let err = Schedule::parse_with_key("0 H(5-9 * * *", "k").unwrap_err();
    assert_eq!(
        err.to_string(),
        "hour field, column 8: unexpected the end of the field, expected ')' to close H(a-b)"
    );
    let err = Schedule::parse_with_key("H(0-70) * * * *", "k").unwrap_err();
    assert_eq!(
        err.to_string(),
        "minute field, column 5: 70 is out of range, expected 0-59"
    );
}

#[test]
fn span_underlines_the_offending_text() {
    let expr = "0 0 * * MONDAY";
    let err = Schedule::parse(expr).unwrap_err();
    assert_eq!(&expr[err.span().unwrap()], "MONDAY");
    let expr = "0 0 ü 13 *";
    let err = Schedule::parse(expr).unwrap_err();
    assert_eq!(err.column(), Some(5));
    assert_eq!(&expr[err.span().unwrap()], "ü");
}

/// Found by `cargo fuzz`: `H` followed by a multi-byte character sliced a
/// string inside the character.
#[test]
fn regression_h_before_multibyte_character() {
    let expr = " 8 9 H 9 H*\u{698}\u{61f}(";
    let err = Schedule::parse_with_key(expr, "fuzz").unwrap_err();
    assert_eq!(err.field(), Some(Field::DayOfWeek));
    assert_eq!(&expr[err.span().unwrap()], "*");
}

/// Found by `cargo fuzz`: ten minutes late in the hour made the periodicity
/// check shift past 64 bits.
#[test]
fn regression_period_of_minutes_late_in_the_hour() {
    let schedule = Schedule::parse("50-59/1 2  */7 */1 0").unwrap();
    assert_eq!(schedule.period_within_hour(), None);
    assert_eq!(
        schedule.describe(),
        "at minutes 50 through 59 past hour 2 on days 1, 8, 15 … 29 of the month, only if it falls on a Sunday"
    );
}
