//! A local day as it really is: 23, 24 or 25 hours long (or 23½, 24½ where
//! the clock shifts by half an hour), with labels that tell a repeated hour's
//! two passes apart.

use jiff::{
    Timestamp,
    civil::Date,
    tz::{Offset, TimeZone},
};

const MINUTE: i64 = 60_000;

/// One local day in a time zone: from the first instant of its date to the
/// first instant of the next, minute by minute.
///
/// Reports that show a day per hour or per minute index it with
/// [`minute_of`](Day::minute_of) and label it with [`hours`](Day::hours) and
/// [`label`](Day::label), so a spring-forward day has 23 hours and a
/// fall-back day 25, and nothing is indexed past the end.
///
/// # Example: the two kinds of daylight-saving day
///
/// ```
/// use jiff::{civil::date, tz::TimeZone};
/// use pacer_cron::Day;
///
/// let amsterdam = TimeZone::get("Europe/Amsterdam")?;
/// let spring = Day::of(date(2026, 3, 29), &amsterdam).unwrap();
/// assert_eq!(spring.minutes(), 23 * 60);
/// let hours: Vec<&str> = spring.hours().iter().map(|h| h.label.as_str()).collect();
/// assert_eq!(&hours[1..3], ["01:00", "03:00"]); // 02:00 never happens
///
/// let autumn = Day::of(date(2026, 10, 25), &amsterdam).unwrap();
/// assert_eq!(autumn.minutes(), 25 * 60);
/// let hours: Vec<&str> = autumn.hours().iter().map(|h| h.label.as_str()).collect();
/// assert_eq!(&hours[2..4], ["02:00+02:00", "02:00+01:00"]); // the hour, twice
/// assert_eq!(autumn.label(2 * 60 + 90), "02:30+01:00");
/// # Ok::<(), jiff::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Day {
    date: Date,
    start: Timestamp,
    minutes: usize,
    /// Each minute's wall clock: `(hour, minute, offset)`.
    walls: Vec<(u8, u8, Offset)>,
    hours: Vec<Hour>,
}

/// A run of a day's minutes that read the same hour on the wall clock at
/// the same offset: an hour, or part of one where the clock jumped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hour {
    /// Its first minute, counted from the start of the day.
    pub first: usize,
    /// How many minutes it has: 60, or fewer beside a jump.
    pub len: usize,
    /// Its wall-clock start, `HH:MM`, with the offset (`02:00+01:00`) where
    /// the same wall-clock time comes twice that day.
    pub label: String,
}

impl Day {
    /// The day of `date` in `zone`; `None` only at the ends of the calendar
    /// jiff knows (years -9999 and 9999).
    pub fn of(date: Date, zone: &TimeZone) -> Option<Day> {
        let start = date.to_zoned(zone.clone()).ok()?.start_of_day().ok()?;
        let next = date
            .tomorrow()
            .ok()?
            .to_zoned(zone.clone())
            .ok()?
            .start_of_day()
            .ok()?;
        let start_ms = start.timestamp().as_millisecond();
        let minutes =
            usize::try_from((next.timestamp().as_millisecond() - start_ms) / MINUTE).ok()?;
        let walls: Vec<(u8, u8, Offset)> = (0..minutes)
            .map(|m| {
                let at = Timestamp::from_millisecond(start_ms + m as i64 * MINUTE)
                    .unwrap_or(start.timestamp());
                let wall = zone.to_datetime(at);
                (wall.hour() as u8, wall.minute() as u8, zone.to_offset(at))
            })
            .collect();
        let mut day = Day {
            date,
            start: start.timestamp(),
            minutes,
            walls,
            hours: Vec::new(),
        };
        day.hours = day.split_into_hours();
        Some(day)
    }

    /// Its date.
    pub fn date(&self) -> Date {
        self.date
    }

    /// Its first instant (midnight, unless the clock skipped midnight).
    pub fn start(&self) -> Timestamp {
        self.start
    }

    /// The first instant of the next day.
    pub fn end(&self) -> Timestamp {
        self.instant(self.minutes)
    }

    /// Its length in minutes: 1,440 on most days, 1,380 or 1,500 when the
    /// clock moves an hour.
    pub fn minutes(&self) -> usize {
        self.minutes
    }

    /// Whether it is a day of 24 hours at one offset.
    pub fn is_ordinary(&self) -> bool {
        self.minutes == 1_440 && self.walls.first().map(|w| w.2) == self.walls.last().map(|w| w.2)
    }

    /// The instant `minute` minutes after its start.
    pub fn instant(&self, minute: usize) -> Timestamp {
        Timestamp::from_millisecond(self.start.as_millisecond() + minute as i64 * MINUTE)
            .unwrap_or(self.start)
    }

    /// Which of its minutes `at` falls in; `None` outside the day.
    pub fn minute_of(&self, at: Timestamp) -> Option<usize> {
        let since = at.as_millisecond() - self.start.as_millisecond();
        let minute = usize::try_from(since.div_euclid(MINUTE)).ok()?;
        (minute < self.minutes).then_some(minute)
    }

    /// Its hours in order: runs of minutes on one wall-clock hour and offset.
    pub fn hours(&self) -> &[Hour] {
        &self.hours
    }

    /// A minute's wall-clock time, `HH:MM`, with its offset (`02:30+01:00`)
    /// where that time comes twice that day.
    pub fn label(&self, minute: usize) -> String {
        let Some(&(hour, min, offset)) = self.walls.get(minute) else {
            return String::new();
        };
        let twice = self
            .walls
            .iter()
            .filter(|&&(h, m, _)| (h, m) == (hour, min))
            .count()
            > 1;
        if twice {
            format!("{hour:02}:{min:02}{}", offset_text(offset))
        } else {
            format!("{hour:02}:{min:02}")
        }
    }

    fn split_into_hours(&self) -> Vec<Hour> {
        let mut hours: Vec<Hour> = Vec::new();
        for (minute, &(hour, _, offset)) in self.walls.iter().enumerate() {
            match hours.last_mut() {
                Some(last)
                    if {
                        let (h, _, o) = self.walls[last.first];
                        (h, o) == (hour, offset)
                    } =>
                {
                    last.len += 1
                }
                _ => hours.push(Hour {
                    first: minute,
                    len: 1,
                    label: String::new(),
                }),
            }
        }
        for i in 0..hours.len() {
            let (hour, min, offset) = self.walls[hours[i].first];
            let twice = hours
                .iter()
                .filter(|h| self.walls[h.first].0 == hour)
                .count()
                > 1;
            hours[i].label = if twice {
                format!("{hour:02}:{min:02}{}", offset_text(offset))
            } else {
                format!("{hour:02}:{min:02}")
            };
        }
        hours
    }

    /// The zone's next days on which the clock moves forward and back,
    /// from `from` on, within a year and a half: `(spring, autumn)`. A zone
    /// without daylight saving has neither.
    pub fn next_changes(zone: &TimeZone, from: Date) -> (Option<Day>, Option<Day>) {
        let (mut forward, mut back) = (None, None);
        let Ok(start) = from.to_zoned(zone.clone()) else {
            return (None, None);
        };
        let until = start.timestamp() + jiff::SignedDuration::from_hours(548 * 24);
        for transition in zone.following(start.timestamp()) {
            if transition.timestamp() > until || (forward.is_some() && back.is_some()) {
                break;
            }
            let before =
                zone.to_offset(transition.timestamp() - jiff::SignedDuration::from_secs(1));
            let after = transition.offset();
            let date = transition.timestamp().to_zoned(zone.clone()).date();
            let slot = match after.seconds().cmp(&before.seconds()) {
                std::cmp::Ordering::Greater => &mut forward,
                std::cmp::Ordering::Less => &mut back,
                std::cmp::Ordering::Equal => continue,
            };
            if slot.is_none() {
                *slot = Day::of(date, zone);
            }
        }
        (forward, back)
    }
}

/// `+01:00`, `+10:30`, `-05:00`.
fn offset_text(offset: Offset) -> String {
    let seconds = offset.seconds();
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.unsigned_abs() / 60;
    format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn labels(day: &Day) -> Vec<String> {
        day.hours().iter().map(|h| h.label.clone()).collect()
    }

    /// Both sides of each transition, per zone: the day's length in minutes,
    /// its hour labels around the jump, and the minutes of the odd hour.
    #[test]
    fn transition_days_per_zone() {
        for (zone, day, minutes, around, odd) in [
            (
                "Europe/Amsterdam",
                date(2026, 3, 29),
                1_380,
                vec!["01:00", "03:00"],
                None,
            ),
            (
                "Europe/Amsterdam",
                date(2026, 10, 25),
                1_500,
                vec!["02:00+02:00", "02:00+01:00"],
                None,
            ),
            (
                "America/New_York",
                date(2026, 3, 8),
                1_380,
                vec!["01:00", "03:00"],
                None,
            ),
            (
                "America/New_York",
                date(2026, 11, 1),
                1_500,
                vec!["01:00-04:00", "01:00-05:00"],
                None,
            ),
            (
                "Australia/Sydney",
                date(2026, 10, 4),
                1_380,
                vec!["01:00", "03:00"],
                None,
            ),
            (
                "Australia/Sydney",
                date(2026, 4, 5),
                1_500,
                vec!["02:00+11:00", "02:00+10:00"],
                None,
            ),
            // Lord Howe moves half an hour: 02:00 becomes 02:30.
            (
                "Australia/Lord_Howe",
                date(2026, 10, 4),
                1_410,
                vec!["01:00", "02:30"],
                Some(30),
            ),
            // And back: 02:00 becomes 01:30 again.
            (
                "Australia/Lord_Howe",
                date(2026, 4, 5),
                1_470,
                vec!["01:00+11:00", "01:30+10:30"],
                Some(30),
            ),
        ] {
            let tz = TimeZone::get(zone).unwrap();
            let d = Day::of(day, &tz).unwrap();
            assert_eq!(d.minutes(), minutes, "{zone} {day}");
            assert!(!d.is_ordinary());
            let labels = labels(&d);
            let at = labels
                .iter()
                .position(|l| *l == around[0])
                .unwrap_or_else(|| panic!("{zone} {day}: no {} in {labels:?}", around[0]));
            assert_eq!(labels[at + 1], around[1], "{zone} {day}: {labels:?}");
            assert_eq!(d.hours().iter().map(|h| h.len).sum::<usize>(), minutes);
            if let Some(odd) = odd {
                assert!(d.hours().iter().any(|h| h.len == odd), "{zone} {day}");
            }
            // The day before is ordinary, and both tile time without a gap.
            let before = Day::of(day.yesterday().unwrap(), &tz).unwrap();
            assert!(before.is_ordinary(), "{zone}");
            assert_eq!(before.end(), d.start());
        }
    }

    #[test]
    fn minutes_map_to_instants_and_back() {
        let tz = TimeZone::get("Europe/Amsterdam").unwrap();
        let d = Day::of(date(2026, 10, 25), &tz).unwrap();
        for minute in [0, 119, 120, 179, 180, 1_499] {
            assert_eq!(d.minute_of(d.instant(minute)), Some(minute));
        }
        assert_eq!(d.minute_of(d.end()), None);
        assert_eq!(d.label(150), "02:30+02:00");
        assert_eq!(d.label(210), "02:30+01:00");
        assert_eq!(d.label(300), "04:00");
    }

    #[test]
    fn next_changes_find_both_or_none() {
        let amsterdam = TimeZone::get("Europe/Amsterdam").unwrap();
        let (spring, autumn) = Day::next_changes(&amsterdam, date(2026, 11, 29));
        assert_eq!(spring.unwrap().date(), date(2027, 3, 28));
        assert_eq!(autumn.unwrap().date(), date(2027, 10, 31));
        let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
        assert_eq!(Day::next_changes(&tokyo, date(2026, 1, 1)), (None, None));
        assert_eq!(
            Day::next_changes(&TimeZone::UTC, date(2026, 1, 1)),
            (None, None)
        );
    }
}
