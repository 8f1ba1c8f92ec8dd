//! Which days of a month a schedule fires on: the day-of-month and
//! day-of-week fields, their Quartz extensions, and cronie's rule for combining them.

use crate::calendar;

const ALL_DAYS: u32 = 0xFFFF_FFFE;

/// Bits 0, 7, 14, 21 and 28: multiplying a week's 7 bits by it repeats them
/// through a month (the copies do not overlap, so no carries).
const WEEKLY: u64 = 1 | 1 << 7 | 1 << 14 | 1 << 21 | 1 << 28;

/// The day-of-month and day-of-week fields, as bit sets.
///
/// Day bits are numbered by day of month (bit 1 is the 1st); weekday bits by
/// `0 = Sunday … 6 = Saturday`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct Days {
    /// Plain days of the month.
    pub(crate) dom: u32,
    /// `L`: the last day of the month.
    pub(crate) last_day: bool,
    /// `LW`: the last weekday (Monday to Friday) of the month.
    pub(crate) last_weekday: bool,
    /// `15W`: the weekday nearest the 15th, within the month.
    pub(crate) nearest_weekday: u32,
    /// Plain weekdays: every occurrence in the month.
    pub(crate) dow: u8,
    /// `FRI#2`: bit `n` of `nth[w]` selects the `n`th weekday `w` of the month.
    pub(crate) nth: [u8; 7],
    /// `5L`: the last occurrence of the weekday in the month.
    pub(crate) last_dow: u8,
    /// The day-of-month field begins with `*` (or is `?`).
    pub(crate) dom_star: bool,
    /// The day-of-week field begins with `*` (or is `?`).
    pub(crate) dow_star: bool,
}

impl Days {
    /// The days (bits 1..=len) of a month with `len` days whose 1st falls on
    /// weekday `first` on which the schedule fires.
    ///
    /// Vixie cron's rule, kept by cronie: when either field begins with `*`
    /// a day must match both (so a plain `*` leaves the other field to decide,
    /// and `*/2` with `MON` means odd days that are Mondays); when both are
    /// restricted, a day matching either fires.
    pub(crate) fn mask(&self, len: u32, first: u32) -> u32 {
        let valid = ((1u64 << (len + 1)) - 2) as u32;
        if self.is_every_day() {
            return valid;
        }
        let by_month_day = self.month_day_mask(len, first) & valid;
        let by_weekday = self.weekday_mask(len, first) & valid;
        if self.dom_star || self.dow_star {
            by_month_day & by_weekday
        } else {
            by_month_day | by_weekday
        }
    }

    /// The days of `month` in `year` on which the schedule fires.
    pub(crate) fn month_mask(&self, year: i32, month: u32) -> u32 {
        let len = calendar::days_in_month(year, month);
        if self.is_every_day() {
            // The weekday of the 1st is the costly part; most schedules need none.
            return ((1u64 << (len + 1)) - 2) as u32;
        }
        self.mask(len, calendar::weekday(year, month, 1))
    }

    /// Whether the schedule fires on this date.
    pub(crate) fn contains(&self, year: i32, month: u32, day: u32) -> bool {
        self.month_mask(year, month) & (1 << day) != 0
    }

    /// `* * *`-like day fields, the common case, answered without building masks.
    fn is_every_day(&self) -> bool {
        (self.dom_star || self.dow_star)
            && self.dom == ALL_DAYS
            && self.dow == 0x7F
            && !self.last_day
            && !self.last_weekday
            && self.nearest_weekday == 0
            && self.nth == [0; 7]
            && self.last_dow == 0
    }

    fn month_day_mask(&self, len: u32, first: u32) -> u32 {
        let weekday_of = |day: u32| (first + day - 1) % 7;
        let mut mask = self.dom;
        if self.last_day {
            mask |= 1 << len;
        }
        if self.last_weekday {
            let last = match weekday_of(len) {
                6 => len - 1,
                0 => len - 2,
                _ => len,
            };
            mask |= 1 << last;
        }
        let mut nearest = self.nearest_weekday;
        while nearest != 0 {
            let day = nearest.trailing_zeros();
            nearest &= nearest - 1;
            // Quartz: the nearest weekday never leaves the month, and a day the
            // month does not have selects nothing.
            if day > len {
                continue;
            }
            let target = match weekday_of(day) {
                6 if day == 1 => 3,
                6 => day - 1,
                0 if day == len => day - 2,
                0 => day + 1,
                _ => day,
            };
            mask |= 1 << target;
        }
        mask
    }

    fn weekday_mask(&self, len: u32, first: u32) -> u32 {
        // Day `k + 1` falls on weekday `(first + k) % 7`: rotate the weekday
        // bits so bit `k` is that day's, then repeat the week through the month.
        let dow = u64::from(self.dow);
        let week = ((dow >> first) | (dow << (7 - first))) & 0x7F;
        let mut mask = (week * WEEKLY) << 1;
        if self.nth == [0; 7] && self.last_dow == 0 {
            return mask as u32;
        }
        for weekday in 0..7u32 {
            let first_day = 1 + (weekday + 7 - first) % 7;
            let nth = self.nth[weekday as usize];
            for n in 1..=5u32 {
                if nth & (1 << n) != 0 {
                    mask |= 1 << (first_day + 7 * (n - 1));
                }
            }
            if self.last_dow & (1 << weekday) != 0 {
                mask |= 1 << (first_day + 7 * ((len - first_day) / 7));
            }
        }
        mask as u32
    }

    /// Whether any month among `months` (bits 1..=12), in any year, has a day
    /// this rule fires on.
    ///
    /// Every month starts on every weekday in some year, and February has 28
    /// or 29 days, so trying each (length, first weekday) pair is exhaustive.
    pub(crate) fn fires_in_any(&self, months: u16) -> bool {
        (1..=12u32).filter(|m| months & (1 << m) != 0).any(|month| {
            let lengths: &[u32] = match month {
                2 => &[28, 29],
                4 | 6 | 9 | 11 => &[30],
                _ => &[31],
            };
            lengths
                .iter()
                .any(|&len| (0..7).any(|first| self.mask(len, first) != 0))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_dom() -> u32 {
        0xFFFF_FFFE
    }

    fn days_of(days: &Days, year: i32, month: u32) -> Vec<u32> {
        (1..=calendar::days_in_month(year, month))
            .filter(|&d| days.contains(year, month, d))
            .collect()
    }

    #[test]
    fn both_restricted_fire_on_either() {
        // 2026-11: the 1st is a Sunday; Fridays are 6, 13, 20, 27.
        let days = Days {
            dom: 1 << 1 | 1 << 15,
            dow: 1 << 5,
            ..Days::default()
        };
        assert_eq!(days_of(&days, 2026, 11), [1, 6, 13, 15, 20, 27]);
    }

    #[test]
    fn a_star_field_makes_both_required() {
        // `*/2` for the day of the month with `MON`: odd days that are Mondays.
        let odd = (0..16).fold(0, |m, i| m | 1 << (2 * i + 1));
        let days = Days {
            dom: odd,
            dow: 1 << 1,
            dom_star: true,
            ..Days::default()
        };
        // 2026-11 Mondays: 2, 9, 16, 23, 30; odd ones: 9, 23.
        assert_eq!(days_of(&days, 2026, 11), [9, 23]);
    }

    #[test]
    fn quartz_extensions() {
        let every_weekday = Days {
            dow: 0x7F,
            dow_star: true,
            ..Days::default()
        };
        let last = Days {
            last_day: true,
            ..every_weekday.clone()
        };
        assert_eq!(days_of(&last, 2028, 2), [29]);
        // 2026-01-31 is a Saturday: the last weekday is Friday the 30th.
        let last_weekday = Days {
            last_weekday: true,
            ..every_weekday.clone()
        };
        assert_eq!(days_of(&last_weekday, 2026, 1), [30]);
        // 2026-08-01 is a Saturday: 1W moves forward to Monday the 3rd, not
        // back into July; 2026-05-31 is a Sunday: 31W moves back to Friday 29th.
        let nearest = Days {
            nearest_weekday: 1 << 1 | 1 << 31,
            ..every_weekday.clone()
        };
        assert_eq!(days_of(&nearest, 2026, 8), [3, 31]);
        assert_eq!(days_of(&nearest, 2026, 5), [1, 29]);
        // 31W selects nothing in a 30-day month.
        assert_eq!(days_of(&nearest, 2026, 6), [1]);
        // FRI#2 and 5L: 2026-11 Fridays are 6, 13, 20, 27.
        let mut nth = [0; 7];
        nth[5] = 1 << 2;
        let friday = Days {
            dom: every_dom(),
            dom_star: true,
            nth,
            last_dow: 1 << 5,
            ..Days::default()
        };
        assert_eq!(days_of(&friday, 2026, 11), [13, 27]);
    }

    #[test]
    fn never_firing_rules_are_detected() {
        let thirtieth = Days {
            dom: 1 << 30,
            dow: 0x7F,
            dow_star: true,
            ..Days::default()
        };
        assert!(!thirtieth.fires_in_any(1 << 2));
        assert!(thirtieth.fires_in_any(1 << 2 | 1 << 3));
        let leap_day = Days {
            dom: 1 << 29,
            ..thirtieth
        };
        assert!(leap_day.fires_in_any(1 << 2));
    }
}
