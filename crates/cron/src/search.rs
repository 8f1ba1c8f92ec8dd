//! Fire times as instants: wall-clock matches resolved in a time zone, with
//! cronie's daylight-saving rules.
//!
//! The search walks matching wall-clock minutes (found with bit operations,
//! calendar day by calendar day, never by adding 86,400 seconds) and turns each
//! into zero, one or two instants:
//!
//! - an ordinary minute is one instant;
//! - a minute skipped by a spring-forward gap is no instant for a wall-clock
//!   job, and the instant the gap ends for a fixed-time job;
//! - a minute repeated by a fall-back fold is both instants for a wall-clock
//!   job, and only the earlier one for a fixed-time job.
//!
//! Instants of later wall-clock minutes can come before instants of earlier
//! ones only inside a fold, so the walk stops at the first minute whose
//! earliest instant already lies past the target.

use jiff::{
    SignedDuration, Timestamp, Zoned,
    civil::DateTime,
    tz::{AmbiguousOffset, Offset, TimeZone},
};

use crate::Schedule;

/// The instants of one wall-clock minute, earliest first.
struct Instants {
    first: Option<Timestamp>,
    second: Option<Timestamp>,
}

impl Instants {
    fn iter(&self) -> impl Iterator<Item = Timestamp> {
        self.first.into_iter().chain(self.second)
    }
}

impl Schedule {
    /// The first fire time strictly after `instant`, in `zone`.
    ///
    /// Fire times have minute resolution: any seconds in `instant` are
    /// skipped over, and the answer is always on a whole minute of the zone's
    /// wall clock. Returns `None` past the end of what `jiff` represents (the
    /// year 9999), which is also where the search ends for a wall-clock job
    /// that matches only minutes the zone always skips: `*/5 2 * 3 SUNL` never
    /// fires in Europe/Amsterdam, where 02:00-02:59 on the last Sunday of
    /// March does not exist.
    ///
    /// # Example: a fixed-time job in a spring-forward gap
    ///
    /// In Amsterdam, 2026-03-29 goes from 01:59 straight to 03:00. Like
    /// cronie, a job fixed at 02:30 runs once, at the first minute after the gap:
    ///
    /// ```
    /// use jiff::{Timestamp, tz::TimeZone};
    /// use pacer_cron::Schedule;
    ///
    /// let zone = TimeZone::get("Europe/Amsterdam")?;
    /// let from: Timestamp = "2026-03-28T12:00:00Z".parse()?;
    /// let daily = Schedule::parse("30 2 * * *")?;
    /// let next = daily.next_after(from, &zone).unwrap();
    /// assert_eq!(next.to_string(), "2026-03-29T03:00:00+02:00[Europe/Amsterdam]");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Example: a wall-clock job runs in both passes of a repeated hour
    ///
    /// ```
    /// use jiff::{Timestamp, tz::TimeZone};
    /// use pacer_cron::Schedule;
    ///
    /// let zone = TimeZone::get("Europe/Amsterdam")?;
    /// let from: Timestamp = "2026-10-25T00:00:00Z".parse()?; // 02:00 CEST
    /// let half_hourly = Schedule::parse("*/30 * * * *")?;
    /// let fires: Vec<String> = half_hourly
    ///     .fires_after(from, &zone)
    ///     .take(4)
    ///     .map(|z| z.strftime("%H:%M%:z").to_string())
    ///     .collect();
    /// assert_eq!(fires, ["02:30+02:00", "02:00+01:00", "02:30+01:00", "03:00+01:00"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next_after(&self, instant: Timestamp, zone: &TimeZone) -> Option<Zoned> {
        let wall = zone.to_datetime(instant);
        // Inside a fold, minutes up to one fold-length earlier on the wall
        // clock can still have their second instant after `instant`;
        // elsewhere, no minute up to the current one can.
        let (mut cursor, mut strictly_after) = match zone.to_ambiguous_timestamp(wall).offset() {
            AmbiguousOffset::Fold { before, after } => {
                (wall.checked_sub(before - after).ok()?, false)
            }
            _ => (wall, true),
        };
        let mut best: Option<Timestamp> = None;
        loop {
            let Some(minute) = self.next_civil(cursor, strictly_after) else {
                return best.map(|t| t.to_zoned(zone.clone()));
            };
            // The common case costs one time-zone lookup: `to_zoned` resolves
            // an ordinary minute, or the first pass of a repeated one, which
            // is this minute's earliest instant. Nothing later on the wall
            // clock fires before it.
            let zoned = minute.to_zoned(zone.clone()).ok()?;
            if zoned.datetime() == minute && zoned.timestamp() > instant {
                return Some(match best {
                    Some(t) if t < zoned.timestamp() => t.to_zoned(zone.clone()),
                    _ => zoned,
                });
            }
            // A skipped minute, or one whose first pass is already behind us.
            let instants = self.instants(minute, zone);
            for t in instants.iter().filter(|&t| t > instant) {
                best = Some(best.map_or(t, |b| b.min(t)));
            }
            if instants.first.is_some_and(|t| t > instant) {
                return best.map(|t| t.to_zoned(zone.clone()));
            }
            (cursor, strictly_after) = (minute, true);
        }
    }

    /// The last fire time strictly before `instant`, in `zone`.
    ///
    /// The mirror image of [`Schedule::next_after`], with the same
    /// daylight-saving rules. Returns `None` before the start of what `jiff`
    /// represents, or when no earlier wall-clock minute it matches exists in `zone`.
    ///
    /// # Example
    ///
    /// ```
    /// use jiff::{Timestamp, tz::TimeZone};
    /// use pacer_cron::Schedule;
    ///
    /// let zone = TimeZone::get("Asia/Kolkata")?;
    /// let from: Timestamp = "2026-11-27T09:00:00Z".parse()?; // 14:30 IST
    /// let prev = Schedule::parse("0 */4 * * *")?.prev_before(from, &zone).unwrap();
    /// assert_eq!(prev.to_string(), "2026-11-27T12:00:00+05:30[Asia/Kolkata]");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn prev_before(&self, instant: Timestamp, zone: &TimeZone) -> Option<Zoned> {
        self.prev_timestamp(instant, zone)
            .map(|t| t.to_zoned(zone.clone()))
    }

    /// The fire times strictly after `instant`, in order.
    pub fn fires_after(&self, instant: Timestamp, zone: &TimeZone) -> FiresAfter<'_> {
        FiresAfter {
            schedule: self,
            zone: zone.clone(),
            cursor: Some(instant),
        }
    }

    /// The fire times strictly before `instant`, latest first.
    pub fn fires_before(&self, instant: Timestamp, zone: &TimeZone) -> FiresBefore<'_> {
        FiresBefore {
            schedule: self,
            zone: zone.clone(),
            cursor: Some(instant),
        }
    }

    fn prev_timestamp(&self, instant: Timestamp, zone: &TimeZone) -> Option<Timestamp> {
        let wall = zone.to_datetime(instant);
        let mut cursor = match zone.to_ambiguous_timestamp(wall).offset() {
            AmbiguousOffset::Fold { before, after } => wall.checked_add(before - after).ok()?,
            _ => wall,
        };
        let mut strictly_before = false;
        let mut best: Option<Timestamp> = None;
        loop {
            let Some(minute) = self.prev_civil(cursor, strictly_before) else {
                return best;
            };
            let instants = self.instants(minute, zone);
            for t in instants.iter().filter(|&t| t < instant) {
                best = Some(best.map_or(t, |b| b.max(t)));
            }
            let last = instants.second.or(instants.first);
            if last.is_some_and(|t| t < instant) {
                return best;
            }
            (cursor, strictly_before) = (minute, true);
        }
    }

    /// The instants at which this schedule fires for a matching wall-clock minute.
    fn instants(&self, minute: DateTime, zone: &TimeZone) -> Instants {
        let at = |offset: Offset| offset.to_timestamp(minute).ok();
        match zone.to_ambiguous_timestamp(minute).offset() {
            AmbiguousOffset::Unambiguous { offset } => Instants {
                first: at(offset),
                second: None,
            },
            AmbiguousOffset::Gap { before, .. } if self.fixed_time => Instants {
                first: at(before).and_then(|t| gap_end(t, zone)),
                second: None,
            },
            AmbiguousOffset::Gap { .. } => Instants {
                first: None,
                second: None,
            },
            AmbiguousOffset::Fold { before, after } => Instants {
                first: at(before),
                second: if self.fixed_time { None } else { at(after) },
            },
        }
    }
}

/// The first whole wall-clock minute after the gap that `skipped` (a wall-clock
/// time in the gap, read with the offset before it) falls in.
fn gap_end(skipped: Timestamp, zone: &TimeZone) -> Option<Timestamp> {
    // The transition lies at or before `skipped`.
    let probe = skipped.checked_add(SignedDuration::from_secs(1)).ok()?;
    let transition = zone.preceding(probe).next()?.timestamp();
    let wall = zone.to_datetime(transition);
    if wall.second() == 0 && wall.subsec_nanosecond() == 0 {
        return Some(transition);
    }
    // Offsets with seconds (old local mean times) end gaps between minutes.
    let next_minute = truncate_to_minute(wall)
        .checked_add(SignedDuration::from_mins(1))
        .ok()?;
    zone.to_ambiguous_timestamp(next_minute).earlier().ok()
}

fn truncate_to_minute(at: DateTime) -> DateTime {
    at.with()
        .second(0)
        .subsec_nanosecond(0)
        .build()
        .expect("zeroing seconds keeps a valid datetime")
}

/// Fire times after an instant; see [`Schedule::fires_after`].
#[derive(Debug)]
pub struct FiresAfter<'s> {
    schedule: &'s Schedule,
    zone: TimeZone,
    cursor: Option<Timestamp>,
}

impl Iterator for FiresAfter<'_> {
    type Item = Zoned;

    fn next(&mut self) -> Option<Zoned> {
        let next = self.schedule.next_after(self.cursor?, &self.zone);
        self.cursor = next.as_ref().map(Zoned::timestamp);
        next
    }
}

/// Fire times before an instant, latest first; see [`Schedule::fires_before`].
#[derive(Debug)]
pub struct FiresBefore<'s> {
    schedule: &'s Schedule,
    zone: TimeZone,
    cursor: Option<Timestamp>,
}

impl Iterator for FiresBefore<'_> {
    type Item = Zoned;

    fn next(&mut self) -> Option<Zoned> {
        let prev = self.schedule.prev_timestamp(self.cursor?, &self.zone);
        self.cursor = prev;
        prev.map(|t| t.to_zoned(self.zone.clone()))
    }
}
