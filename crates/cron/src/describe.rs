//! Plain English for a schedule.

use crate::{Schedule, shape::bits};

const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const ALL_MINUTES: u64 = (1 << 60) - 1;
const ALL_HOURS: u32 = (1 << 24) - 1;
const ALL_DAYS: u32 = 0xFFFF_FFFE;
const ALL_MONTHS: u16 = 0x1FFE;

impl Schedule {
    /// The schedule in plain English.
    ///
    /// # Example
    ///
    /// ```
    /// use pacer_cron::Schedule;
    ///
    /// let describe = |expr: &str| Schedule::parse(expr).unwrap().describe();
    /// assert_eq!(
    ///     describe("30 2 1,15 * FRI"),
    ///     "at 02:30 on the 1st and 15th of the month and on every Friday",
    /// );
    /// assert_eq!(describe("*/20 * * * *"), "every 20 minutes, at minutes 0, 20 and 40 past each hour");
    /// assert_eq!(describe("0 9 * * MON-FRI"), "at 09:00 on Monday through Friday");
    /// assert_eq!(describe("0 0 * * FRI#2"), "at 00:00 on the second Friday of the month");
    /// ```
    pub fn describe(&self) -> String {
        let mut text = self.describe_time();
        text.push_str(&self.describe_days());
        if self.months != ALL_MONTHS {
            let months: Vec<u32> = bits(self.months.into()).map(|m| m as u32).collect();
            text.push_str(" in ");
            text.push_str(&phrase(&months, |m| MONTHS[m as usize - 1].to_string()));
        }
        text
    }

    fn describe_time(&self) -> String {
        let minutes: Vec<u32> = bits(self.minutes).map(|m| m as u32).collect();
        let hours: Vec<u32> = bits(self.hours.into()).map(|h| h as u32).collect();
        let every_minute = self.minutes == ALL_MINUTES;
        let every_hour = self.hours == ALL_HOURS;
        if !every_hour && minutes.len() * hours.len() <= 6 {
            let times: Vec<String> = hours
                .iter()
                .flat_map(|h| minutes.iter().map(move |m| format!("{h:02}:{m:02}")))
                .collect();
            return format!("at {}", join(&times));
        }
        let number = |v: u32| v.to_string();
        let minute_part = if every_minute {
            "every minute".to_string()
        } else if minutes.len() == 1 {
            format!("at minute {}", minutes[0])
        } else if let Some(period) = self.period_within_hour() {
            format!(
                "every {} minutes, at minutes {}",
                period.every,
                phrase(&minutes, number)
            )
        } else {
            format!("at minutes {}", phrase(&minutes, number))
        };
        let plural = if hours.len() == 1 { "hour" } else { "hours" };
        let hour_part = match (every_hour, every_minute) {
            (true, true) => String::new(),
            (true, false) => " past each hour".to_string(),
            (false, true) => format!(" during {plural} {}", phrase(&hours, number)),
            (false, false) => format!(" past {plural} {}", phrase(&hours, number)),
        };
        minute_part + &hour_part
    }

    fn describe_days(&self) -> String {
        let days = &self.days;
        let dom_all = days.dom == ALL_DAYS
            && !days.last_day
            && !days.last_weekday
            && days.nearest_weekday == 0;
        let dow_all = days.dow == 0x7F && days.nth == [0; 7] && days.last_dow == 0;
        let both_required = days.dom_star || days.dow_star;
        match (dom_all, dow_all) {
            (true, true) => String::new(),
            (true, false) if both_required => format!(" on {}", self.describe_weekdays(true)),
            (false, true) if both_required => format!(" on {}", self.describe_month_days()),
            // Either field alone selects every day.
            (true, false) | (false, true) => String::new(),
            (false, false) if both_required => format!(
                " on {}, only if it falls on {}",
                self.describe_month_days(),
                self.describe_weekdays(false)
            ),
            (false, false) => format!(
                " on {} and on {}",
                self.describe_month_days(),
                self.describe_weekdays(true)
            ),
        }
    }

    /// "the 1st and 15th of the month", "the last day of the month", …
    fn describe_month_days(&self) -> String {
        let days = &self.days;
        let mut parts = Vec::new();
        let plain: Vec<u32> = bits(days.dom.into()).map(|d| d as u32).collect();
        if plain.len() >= 5 && step_of(&plain).is_some_and(|s| s > 1) {
            parts.push(format!("days {}", phrase(&plain, |d| d.to_string())));
        } else if !plain.is_empty() {
            parts.push(format!("the {}", phrase(&plain, ordinal)));
        }
        if days.last_day {
            parts.push("the last day".to_string());
        }
        if days.last_weekday {
            parts.push("the last weekday".to_string());
        }
        for day in bits(days.nearest_weekday.into()) {
            parts.push(format!("the weekday nearest the {}", ordinal(day as u32)));
        }
        format!("{} of the month", join(&parts))
    }

    /// "every Friday", "Monday through Friday", "the second Friday of the month", …
    fn describe_weekdays(&self, every: bool) -> String {
        let days = &self.days;
        let mut parts = Vec::new();
        let plain: Vec<u32> = bits(days.dow.into()).map(|d| d as u32).collect();
        if plain.len() == 1 {
            let article = if every { "every" } else { "a" };
            parts.push(format!("{article} {}", WEEKDAYS[plain[0] as usize]));
        } else if !plain.is_empty() {
            parts.push(phrase(&plain, |d| WEEKDAYS[d as usize].to_string()));
        }
        let mut monthly = Vec::new();
        for (weekday, &nth) in days.nth.iter().enumerate() {
            for n in bits(nth.into()) {
                const NTH: [&str; 6] = ["", "first", "second", "third", "fourth", "fifth"];
                monthly.push(format!("the {} {}", NTH[n], WEEKDAYS[weekday]));
            }
        }
        for weekday in bits(days.last_dow.into()) {
            monthly.push(format!("the last {}", WEEKDAYS[weekday]));
        }
        if !monthly.is_empty() {
            parts.push(format!("{} of the month", join(&monthly)));
        }
        join(&parts)
    }
}

/// Values in words: "1, 4, 7 … 58" for a long even progression, "9 through 17"
/// for a run, else a list ("1, 15 and 30").
fn phrase(values: &[u32], name: impl Fn(u32) -> String) -> String {
    if values.len() >= 5 && step_of(values).is_some_and(|s| s > 1) {
        let last = values[values.len() - 1];
        return format!(
            "{}, {}, {} … {}",
            name(values[0]),
            name(values[1]),
            name(values[2]),
            name(last)
        );
    }
    let mut parts = Vec::new();
    let mut i = 0;
    while i < values.len() {
        let mut j = i;
        while j + 1 < values.len() && values[j + 1] == values[j] + 1 {
            j += 1;
        }
        if j - i >= 2 {
            parts.push(format!("{} through {}", name(values[i]), name(values[j])));
        } else {
            parts.extend(values[i..=j].iter().map(|&v| name(v)));
        }
        i = j + 1;
    }
    join(&parts)
}

/// The common difference, when the values form an arithmetic progression.
fn step_of(values: &[u32]) -> Option<u32> {
    let step = values.get(1)? - values[0];
    values
        .windows(2)
        .all(|w| w[1] - w[0] == step)
        .then_some(step)
}

/// "a", "a and b", "a, b and c".
fn join(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}
