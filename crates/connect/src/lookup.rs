//! Lookups: key→value maps read from a system — a shop's variant ids by
//! SKU — that transforms read with `lookup("variants"; .sku)`.
//!
//! A map is read whole, page after page, as a pull reads (auth, pages,
//! retries of a closed connection), then used until its `refresh` is due.
//! A key it lacks has it read again at once, at most once a minute, so a
//! product created a moment ago is found and a key that does not exist
//! costs one read a minute, not one per record.

use std::{
    collections::{BTreeSet, HashSet},
    sync::atomic::{AtomicU64, Ordering},
};

use jiff::{SignedDuration, Timestamp};
use pacer_config::Connection;
use pacer_jq::Value;

use crate::{Error, PageRequest, Source, jq::Jq, pool};

/// Records asked for per page of a lookup.
const PAGE: u32 = 1_000;

/// The most pages one read of a lookup follows: a million entries at
/// [`PAGE`]; beyond that the source's pagination is taken to loop.
const MAX_PAGES: usize = 1_000;

/// How soon a miss may have a lookup read again.
const MISS_REREAD: SignedDuration = SignedDuration::from_secs(60);

/// The lookups of one system, and the maps last read.
pub(crate) struct Lookups {
    each: Vec<Lookup>,
    /// Pages and records read since [`Lookups::take_reads`] last asked,
    /// for the system's rate budgets.
    pages: AtomicU64,
    records: AtomicU64,
    /// `$lookup`: an object of every map read so far, by name.
    current: tokio::sync::Mutex<Current>,
}

struct Lookup {
    name: String,
    source: Source,
    value: Jq,
    refresh: SignedDuration,
}

#[derive(Default)]
struct Current {
    /// Each lookup's map as JSON text, once read.
    maps: Vec<Option<String>>,
    /// When each was last read, and last tried.
    read_at: Vec<Option<Timestamp>>,
    tried_at: Vec<Option<Timestamp>>,
    value: Option<Value>,
}

impl Lookups {
    /// The lookups of `connection`'s system.
    ///
    /// # Errors
    ///
    /// As [`Source::new`]: a jq expression that does not compile, a
    /// secret that is not set, a system without a `base_url`.
    pub(crate) fn new(connection: &Connection) -> Result<Lookups, Error> {
        let mut each = Vec::new();
        for lookup in &connection.lookups {
            let request = format!(
                "systems.{}.lookups.{}.request",
                connection.system, lookup.name
            );
            let mut source = Source::named(&lookup.name, &request, connection, &lookup.read)?;
            if let Some(body) = &lookup.body {
                source = source.with_body(Jq::compile(body)?);
            }
            each.push(Lookup {
                name: lookup.name.clone(),
                source,
                value: Jq::compile(&lookup.value)?,
                refresh: SignedDuration::from_millis(lookup.refresh_ms as i64),
            });
        }
        let n = each.len();
        Ok(Lookups {
            each,
            pages: AtomicU64::new(0),
            records: AtomicU64::new(0),
            current: tokio::sync::Mutex::new(Current {
                maps: vec![None; n],
                read_at: vec![None; n],
                tried_at: vec![None; n],
                value: None,
            }),
        })
    }

    /// `$lookup` as of `now`: each map read again when its refresh is due.
    /// A map that cannot be read again is used as last read.
    ///
    /// # Errors
    ///
    /// A map that was never read and cannot be read now: its records wait.
    pub(crate) async fn current(&self, now: Timestamp) -> Result<Value, Error> {
        if self.each.is_empty() {
            return Ok(Value::Null);
        }
        let mut current = self.current.lock().await;
        for (i, lookup) in self.each.iter().enumerate() {
            let due = current.read_at[i].is_none_or(|at| now.duration_since(at) >= lookup.refresh);
            if due {
                self.read(&mut current, i, now).await?;
            }
        }
        current.value(&self.each)
    }

    /// The pages and records read since last asked: what the system's
    /// rate budgets are charged.
    pub(crate) fn take_reads(&self) -> (u64, u64) {
        (
            self.pages.swap(0, Ordering::Relaxed),
            self.records.swap(0, Ordering::Relaxed),
        )
    }

    /// Reads again those of `missed` not tried within the last minute;
    /// whether any was, so the records that missed are worth another try.
    pub(crate) async fn reread(&self, missed: &BTreeSet<String>, now: Timestamp) -> bool {
        let mut current = self.current.lock().await;
        let mut again = false;
        for (i, lookup) in self.each.iter().enumerate() {
            let recent = current.tried_at[i].is_some_and(|at| now.duration_since(at) < MISS_REREAD);
            if missed.contains(&lookup.name) && !recent {
                again |= self.read(&mut current, i, now).await.is_ok();
            }
        }
        again
    }

    /// Reads lookup `i` into `current`; on failure keeps what it had, and
    /// says why when it had nothing.
    async fn read(&self, current: &mut Current, i: usize, now: Timestamp) -> Result<(), Error> {
        current.tried_at[i] = Some(now);
        match self.each[i].read_all(now, &self.pages, &self.records).await {
            Ok(map) => {
                current.maps[i] = Some(map);
                current.read_at[i] = Some(now);
                current.value = None;
                Ok(())
            }
            // Not the records' fault, and the next read may succeed.
            Err(error) if current.maps[i].is_some() => {
                tracing::warn!(lookup = %self.each[i].name, error = %crate::redact(&error.to_string()), "lookup kept as last read");
                Ok(())
            }
            Err(error) => Err(Error::Transient(format!(
                "the lookup {:?} could not be read: {error}",
                self.each[i].name
            ))),
        }
    }
}

impl Current {
    /// `$lookup`, built once per change of any map.
    fn value(&mut self, each: &[Lookup]) -> Result<Value, Error> {
        if let Some(value) = &self.value {
            return Ok(value.clone());
        }
        let mut text = String::from("{");
        for (i, lookup) in each.iter().enumerate() {
            let Some(map) = &self.maps[i] else { continue };
            if text.len() > 1 {
                text.push(',');
            }
            text.push_str(&serde_json::Value::from(lookup.name.as_str()).to_string());
            text.push(':');
            text.push_str(map);
        }
        text.push('}');
        let value = pacer_jq::parse(text.as_bytes())
            .map_err(|e| Error::Permanent(format!("the lookups read are not JSON: {e}")))?;
        self.value = Some(value.clone());
        Ok(value)
    }
}

impl Lookup {
    /// Every page of the lookup, as one JSON object of key → value;
    /// each page and its records counted in `pages` and `records`.
    async fn read_all(
        &self,
        now: Timestamp,
        pages: &AtomicU64,
        records: &AtomicU64,
    ) -> Result<String, Error> {
        let mut entries = serde_json::Map::new();
        let mut at = PageRequest::First;
        let mut seen = HashSet::new();
        loop {
            pages.fetch_add(1, Ordering::Relaxed);
            let page = self
                .source
                .fetch(None, &at, PAGE, now)
                .await
                .map_err(|(e, _)| e)?;
            records.fetch_add(
                (page.records.len() + page.rejected.len()) as u64,
                Ordering::Relaxed,
            );
            let value = self.value.clone();
            let records: Vec<(String, String)> = page
                .records
                .iter()
                .map(|r| (r.key.clone(), r.payload.clone()))
                .collect();
            let read = pool::run(move || {
                records
                    .into_iter()
                    .map(|(key, payload)| {
                        let record =
                            pacer_jq::parse(payload.as_bytes()).map_err(|e| e.to_string())?;
                        let value = value.first(&record)?.unwrap_or(Value::Null);
                        Ok::<_, String>((key, value.to_string()))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?
            .map_err(|e| Error::Permanent(format!("{:?}: {e}", self.value)))?;
            for (key, value) in read {
                let value = serde_json::from_str(&value)
                    .map_err(|e| Error::Permanent(format!("{:?} gave {e}", self.value)))?;
                entries.insert(key, value);
            }
            match page.next {
                Some(next) if !page.records.is_empty() && seen.insert(next.clone()) => {
                    if seen.len() >= MAX_PAGES {
                        return Err(Error::Permanent(format!(
                            "more than {MAX_PAGES} pages: does its pagination loop?"
                        )));
                    }
                    at = next;
                }
                _ => break,
            }
        }
        Ok(serde_json::Value::Object(entries).to_string())
    }
}
