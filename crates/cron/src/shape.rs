//! Structural questions the planner asks: at which minutes of a day or week
//! does a schedule fire, how often, and with what period.
//!
//! These answers are on the wall-clock grid (1,440 minutes a day), the grid
//! the planner lays load on; daylight saving does not enter into them.

use jiff::civil::Date;

use crate::Schedule;

const DAY: usize = 24 * 60;

/// A set of minutes on a wall-clock grid: a day (1,440 minutes) or a week (10,080).
///
/// Minute `i` of a day is `hour * 60 + minute`; minute `i` of a week is
/// `day * 1440 + hour * 60 + minute`, counting days from the week's first date.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MinuteSet {
    bits: Vec<u64>,
    len: usize,
}

impl MinuteSet {
    fn empty(len: usize) -> MinuteSet {
        MinuteSet {
            bits: vec![0; len.div_ceil(64)],
            len,
        }
    }

    fn insert(&mut self, minute: usize) {
        self.bits[minute / 64] |= 1 << (minute % 64);
    }

    /// The number of minutes on the grid (1,440 or 10,080).
    pub fn grid_len(&self) -> usize {
        self.len
    }

    /// Whether `minute` (an index on the grid) is in the set.
    pub fn contains(&self, minute: usize) -> bool {
        minute < self.len && self.bits[minute / 64] & (1 << (minute % 64)) != 0
    }

    /// How many minutes are in the set.
    pub fn count(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// True when no minute is in the set.
    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|&w| w == 0)
    }

    /// The minutes in the set, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.bits
            .iter()
            .enumerate()
            .flat_map(|(i, &word)| bits(word).map(move |bit| i * 64 + bit))
    }
}

/// A minute field that repeats evenly through the hour: at `offset`,
/// `offset + every`, … up to minute 59, where `every` divides 60.
///
/// `*/4` is every 4 minutes from 0; `1-59/3` every 3 minutes from 1; a single
/// minute `17` is every 60 minutes from 17.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Period {
    /// Minutes between fires; divides 60.
    pub every: u32,
    /// The first minute of each hour it fires at; less than `every`.
    pub offset: u32,
}

impl Schedule {
    /// The minutes of a day, 0..1440, at which the schedule fires on any day it
    /// fires at all (the minute and hour fields alone).
    ///
    /// # Example
    ///
    /// ```
    /// use pacer_cron::Schedule;
    ///
    /// let times = Schedule::parse("*/20 9-10 * * MON-FRI")?.times_of_day();
    /// let minutes: Vec<usize> = times.iter().collect();
    /// assert_eq!(minutes, [540, 560, 580, 600, 620, 640]);
    /// # Ok::<(), pacer_cron::Error>(())
    /// ```
    pub fn times_of_day(&self) -> MinuteSet {
        let mut set = MinuteSet::empty(DAY);
        for hour in bits(u64::from(self.hours)) {
            for minute in bits(self.minutes) {
                set.insert(hour * 60 + minute);
            }
        }
        set
    }

    /// Whether the schedule fires at all on `date` (the day and month fields).
    pub fn fires_on(&self, date: Date) -> bool {
        self.months & (1 << date.month()) != 0
            && self
                .days
                .contains(date.year().into(), date.month() as u32, date.day() as u32)
    }

    /// The minutes of `date`, 0..1440, at which the schedule fires: its
    /// [`times_of_day`](Schedule::times_of_day) if it fires on that date, else none.
    pub fn minutes_of_day(&self, date: Date) -> MinuteSet {
        if self.fires_on(date) {
            self.times_of_day()
        } else {
            MinuteSet::empty(DAY)
        }
    }

    /// The minutes of the seven days starting at `first_day`, 0..10080, at
    /// which the schedule fires.
    ///
    /// # Example: weekdays only
    ///
    /// ```
    /// use jiff::civil::date;
    /// use pacer_cron::Schedule;
    ///
    /// // 2026-11-23 is a Monday.
    /// let week = Schedule::parse("0 12 * * MON-FRI")?.minutes_of_week(date(2026, 11, 23));
    /// assert_eq!(week.count(), 5);
    /// assert!(week.contains(4 * 1440 + 720)); // Friday noon
    /// assert!(!week.contains(5 * 1440 + 720)); // not Saturday
    /// # Ok::<(), pacer_cron::Error>(())
    /// ```
    pub fn minutes_of_week(&self, first_day: Date) -> MinuteSet {
        let mut set = MinuteSet::empty(7 * DAY);
        let times = self.times_of_day();
        let mut date = first_day;
        for day in 0..7 {
            if self.fires_on(date) {
                for minute in times.iter() {
                    set.insert(day * DAY + minute);
                }
            }
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
        set
    }

    /// How many times the schedule fires on a day it fires at all.
    ///
    /// # Example: the guide's pull job
    ///
    /// ```
    /// use pacer_cron::Schedule;
    ///
    /// assert_eq!(Schedule::parse("*/4 * * * *")?.fires_per_day(), 360);
    /// assert_eq!(Schedule::parse("*/20 * * * *")?.fires_per_day(), 72);
    /// # Ok::<(), pacer_cron::Error>(())
    /// ```
    pub fn fires_per_day(&self) -> u32 {
        self.hours.count_ones() * self.minutes.count_ones()
    }

    /// Whether the minute field repeats evenly through the hour, and how.
    ///
    /// `None` when the gaps differ, as in `*/7` (… 49, 56, then 0 after only 4
    /// minutes) or `0,10,15`.
    ///
    /// # Example: the guide's offsets
    ///
    /// ```
    /// use pacer_cron::{Period, Schedule};
    ///
    /// let third = Schedule::parse("2-59/3 * * * *")?;
    /// assert_eq!(third.period_within_hour(), Some(Period { every: 3, offset: 2 }));
    /// assert_eq!(Schedule::parse("*/7 * * * *")?.period_within_hour(), None);
    /// # Ok::<(), pacer_cron::Error>(())
    /// ```
    pub fn period_within_hour(&self) -> Option<Period> {
        let count = self.minutes.count_ones();
        if 60 % count != 0 {
            return None;
        }
        let every = 60 / count;
        let offset = self.minutes.trailing_zeros();
        if offset >= every {
            return None;
        }
        let expected = (0..count).fold(0u64, |m, k| m | 1 << (offset + k * every));
        (expected == self.minutes).then_some(Period { every, offset })
    }
}

/// The positions of the set bits, lowest first.
pub(crate) fn bits(mut word: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        (word != 0).then(|| {
            let bit = word.trailing_zeros() as usize;
            word &= word - 1;
            bit
        })
    })
}
