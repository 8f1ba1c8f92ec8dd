//! The ledger read back for the planner: what [`pacer_plan::observe`] turns
//! into observed volumes, profiles, durations and waits.

use std::sync::{Arc, PoisonError};

use jiff::Timestamp;
use pacer_plan::{Ran, Took};
use pacer_store::{Minute, Store};

use crate::{Error, state::Inner};

/// Ledger rows read a call: a window of weeks is read in pages, so neither
/// the store nor this process holds it twice.
const PAGE: u32 = 10_000;

/// The ledger's executions of the minutes from `from` up to `until`, oldest
/// first (as long as the store's retention keeps them: 30 days by default).
///
/// # Errors
///
/// When the store cannot be read.
pub async fn ran(store: &Store, from: Timestamp, until: Timestamp) -> Result<Vec<Ran>, Error> {
    let mut ran = Vec::new();
    let mut since = Minute::containing(from);
    loop {
        let mut page = store.executions(since, PAGE).await?;
        let full = page.len() == PAGE as usize;
        if full {
            // The last minute may go on in the next page: read it whole there.
            let last = page.last().map(|e| e.minute).unwrap_or(since);
            if last == since {
                return Err(Error::Config(format!(
                    "more than {PAGE} executions in the minute {since}: the ledger cannot be read in pages"
                )));
            }
            page.retain(|e| e.minute != last);
            since = last;
        }
        let done = !full || since.start() >= until;
        ran.extend(
            page.into_iter()
                .filter(|e| e.minute.start() >= from && e.minute.start() < until)
                .map(|e| Ran {
                    job: e.job,
                    due_at: e.due_at,
                    started_at: e.started_at,
                    finished_at: e.finished_at,
                    items: e.items.max(0).unsigned_abs(),
                }),
        );
        if done {
            return Ok(ran);
        }
    }
}

/// Each system's minutes from `from` up to `until`: what Pacer took from
/// its rate and what it answered back (as long as the store's retention
/// keeps rate windows: 2 days by default).
///
/// # Errors
///
/// When the store cannot be read.
pub async fn took(store: &Store, from: Timestamp, until: Timestamp) -> Result<Vec<Took>, Error> {
    let minutes = store.system_minutes(Minute::containing(from)).await?;
    Ok(minutes
        .into_iter()
        .filter(|m| m.window.start() < until)
        .map(|m| Took {
            system: m.budget,
            minute: m.window.start(),
            used: m.used,
            throttled: m.answers.throttled,
            failed: m.answers.failed,
            refused: m.answers.refused,
        })
        .collect())
}

/// Whole local days the dashboard, metrics and alerts read back: a week,
/// so a Monday peak is among them.
pub const SEEN_DAYS: i64 = 7;

/// The last [`SEEN_DAYS`] whole local days, observed, and how far they are
/// from what the file declares.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The figures.
    pub observation: pacer_plan::Observation,
    /// Their drift from the file.
    pub drifts: pacer_plan::Drifts,
    /// Each integration's busiest hour of the day, as the file declares
    /// it (by its profile, or its active hours when it has none) and as
    /// observed: the local hour and its weight (1 is an even hour).
    pub busiest_hours: Vec<BusiestHour>,
}

/// An integration's busiest hour, declared and observed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BusiestHour {
    /// By the file: the hour and its weight.
    pub declared: (u32, f64),
    /// As observed; `None` without a change seen.
    pub observed: Option<(u32, f64)>,
}

/// The busiest hour of `weights` and its weight against an even hour.
fn busiest(weights: &[f64]) -> Option<(u32, f64)> {
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return None;
    }
    let (hour, most) = weights
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))?;
    Some((hour as u32, most * weights.len() as f64 / total))
}

impl Inner {
    pub(crate) async fn seen(&self) -> Result<Arc<Seen>, Error> {
        let today = self.clock.now().to_zoned(self.tz.clone()).date();
        if let Some((date, seen)) = self
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            && *date == today
        {
            return Ok(seen.clone());
        }
        let midnight = |date: jiff::civil::Date| {
            date.to_zoned(self.tz.clone())
                .map(|z| z.timestamp())
                .map_err(|e| Error::Config(format!("the start of {date}: {e}")))
        };
        let until = midnight(today)?;
        let from = midnight(
            today
                .checked_sub(jiff::Span::new().days(SEEN_DAYS))
                .unwrap_or(today),
        )?;
        let ran = ran(&self.store, from, until).await?;
        let took = took(&self.store, from, until).await?;
        let observation = pacer_plan::observe(&self.declared, &self.tz, from, until, &ran, &took);
        let busiest_hours = self
            .declared
            .integrations
            .iter()
            .zip(&self.declared_profiles)
            .zip(&observation.integrations)
            .map(|((integration, profile), seen)| {
                let even: [f64; 24] = std::array::from_fn(|h| {
                    f64::from(u8::from(integration.active_hours.contains(h as u32)))
                });
                BusiestHour {
                    declared: busiest(&profile.unwrap_or(even)).unwrap_or((0, 1.0)),
                    observed: seen.profile.as_deref().and_then(busiest),
                }
            })
            .collect();
        let seen = Arc::new(Seen {
            drifts: pacer_plan::drifts(&self.declared, &observation),
            observation,
            busiest_hours,
        });
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = Some((today, seen.clone()));
        Ok(seen)
    }
}
