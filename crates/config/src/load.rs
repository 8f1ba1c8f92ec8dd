//! Reading a file: serde for the shape, then each value checked where it stands.

use std::path::Path;

use pacer_cron::Schedule;
use pacer_plan::{ActiveHours, Environment, Integration, JobOptions, System};
use serde_saphyr::Spanned;

use crate::{
    Error,
    raw::{RawConfig, RawJob},
    values,
};

/// A configuration file, checked and typed.
#[derive(Clone, Debug)]
pub struct Config {
    /// The environment, its systems and integrations, as the planner takes them.
    pub environment: Environment,
    /// The IANA time zone schedules are read in.
    pub timezone: String,
}

/// Parses and checks a configuration file's text; `file` names it in errors.
///
/// # Errors
///
/// When the YAML is malformed, a key is unknown or missing, or a value does
/// not mean anything: the error names the file, line, column and key.
pub fn parse(text: &str, file: &str) -> Result<Config, Error> {
    let mut path = String::new();
    let raw: RawConfig = serde_saphyr::with_deserializer_from_str(text, |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            path = e.path().to_string();
            e.into_inner()
        })
    })
    .map_err(|e| yaml_error(file, &path, &e))?;
    Check { file, text }.config(raw)
}

/// The JSON Schema of the file, pretty-printed.
pub fn schema() -> String {
    let schema = schemars::schema_for!(RawConfig);
    serde_json::to_string_pretty(&schema).expect("a schema serialises")
}

fn yaml_error(file: &str, path: &str, error: &serde_saphyr::Error) -> Error {
    let (line, column) = error.location().map_or((0, 0), |l| (l.line(), l.column()));
    let path = if path == "." { "" } else { path };
    // `Spanned` reads its value through an inner field; users never wrote it.
    let path = path.strip_suffix(".value").unwrap_or(path);
    let message = match error.without_snippet() {
        serde_saphyr::Error::SerdeUnknownField {
            field, expected, ..
        } => {
            let hint = did_you_mean(field, expected.iter().copied())
                .map(|close| format!("; did you mean `{close}`?"))
                .unwrap_or_default();
            format!(
                "unknown key `{field}`{hint} (expected one of: {})",
                expected.join(", ")
            )
        }
        serde_saphyr::Error::SerdeMissingField { field, .. } => format!("missing key `{field}`"),
        other => {
            let text = other.to_string();
            // The location is already in front; drop serde-saphyr's own copy.
            match text.rsplit_once(" at line ") {
                Some((message, _)) => message.to_string(),
                None => text,
            }
        }
    };
    Error::new(file, line, column, path, message)
}

/// The candidate closest to `word`, if it is close enough to be a typo.
fn did_you_mean<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (edit_distance(word, c), c))
        .filter(|&(d, c)| d <= 2.max(c.len() / 3))
        .min()
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

struct Check<'a> {
    file: &'a str,
    text: &'a str,
}

impl Check<'_> {
    fn at<T>(&self, spanned: &Spanned<T>, path: &str, message: String) -> Error {
        let location = spanned.referenced;
        Error::new(self.file, location.line(), location.column(), path, message)
    }

    /// "expected X, found "Y"" for a value that did not parse.
    fn value<T>(
        &self,
        spanned: &Spanned<String>,
        path: &str,
        parse: impl Fn(&str) -> Result<T, &'static str>,
    ) -> Result<T, Error> {
        parse(&spanned.value).map_err(|expected| {
            self.at(
                spanned,
                path,
                format!("expected {expected}, found {:?}", spanned.value),
            )
        })
    }

    /// Points at the offending character inside the expression, not at its start.
    fn cron_error(
        &self,
        spanned: &Spanned<String>,
        path: &str,
        error: &pacer_cron::Error,
    ) -> Error {
        let location = spanned.referenced;
        let quoted = self
            .text
            .lines()
            .nth(location.line().saturating_sub(1) as usize)
            .and_then(|line| {
                line.chars()
                    .nth(location.column().saturating_sub(1) as usize)
            })
            .is_some_and(|c| c == '"' || c == '\'');
        let inside = error.column().map_or(0, |c| c as u64 - 1) + u64::from(quoted);
        let message = format!("invalid cron expression {:?}: {error}", spanned.value);
        Error::new(
            self.file,
            location.line(),
            location.column() + inside,
            path,
            message,
        )
    }

    fn config(&self, raw: RawConfig) -> Result<Config, Error> {
        let env = raw.environment;
        let timezone = match &env.timezone {
            Some(zone) => {
                jiff::tz::TimeZone::get(&zone.value).map_err(|_| {
                    self.at(
                        zone,
                        "environment.timezone",
                        format!(
                            "unknown time zone {:?}; expected an IANA name such as UTC, \
                             Europe/Amsterdam or America/New_York",
                            zone.value
                        ),
                    )
                })?;
                zone.value.clone()
            }
            None => "UTC".to_string(),
        };
        let capacity = match &env.capacity {
            Some(c) if c.value == 0 => {
                return Err(self.at(
                    c,
                    "environment.capacity",
                    "expected at least 1 execution at once, found 0".into(),
                ));
            }
            Some(c) => c.value,
            None => 1,
        };
        let name = env.name.unwrap_or_else(|| {
            Path::new(self.file)
                .file_stem()
                .map_or_else(|| "pacer".to_string(), |s| s.to_string_lossy().into_owned())
        });

        let mut systems = Vec::new();
        for (system, settings) in &raw.systems.0 {
            let rate = self.value(
                &settings.rate,
                &format!("systems.{system}.rate"),
                values::rate,
            )?;
            systems.push(System {
                name: system.clone(),
                rate,
            });
        }
        let names: Vec<&str> = systems.iter().map(|s| s.name.as_str()).collect();

        let mut integrations = Vec::new();
        for (integration, settings) in &raw.integrations.0 {
            let key = |k: &str| format!("integrations.{integration}.{k}");
            for (field, system) in [("from", &settings.from), ("to", &settings.to)] {
                if !names.contains(&system.value.as_str()) {
                    let hint = did_you_mean(&system.value, names.iter().copied())
                        .map(|close| format!("did you mean {close:?}? "))
                        .unwrap_or_default();
                    let known = if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    };
                    return Err(self.at(
                        system,
                        &key(field),
                        format!(
                            "no system named {:?}; {hint}the systems are: {known}",
                            system.value
                        ),
                    ));
                }
            }
            let volume_per_day = self.value(&settings.volume, &key("volume"), values::volume)?;
            let peak_factor = match &settings.peak_factor {
                Some(p) if !(p.value.is_finite() && p.value > 0.0) => {
                    return Err(self.at(
                        p,
                        &key("peak_factor"),
                        format!("expected a number above 0, found {}", p.value),
                    ));
                }
                Some(p) => p.value,
                None => 1.0,
            };
            let freshness_minutes = settings
                .freshness
                .as_ref()
                .map(|f| self.value(f, &key("freshness"), values::duration_minutes))
                .transpose()?;
            let active_hours = settings
                .active_hours
                .as_ref()
                .map(|h| self.value(h, &key("active_hours"), values::active_hours))
                .transpose()?
                .unwrap_or(ActiveHours::ALL_DAY);
            let pull = self.job(&settings.pull, integration, "pull")?;
            let push = self.job(&settings.push, integration, "push")?;
            integrations.push(Integration {
                name: integration.clone(),
                from: settings.from.value.clone(),
                to: settings.to.value.clone(),
                volume_per_day,
                peak_factor,
                freshness_minutes,
                active_hours,
                pull,
                push,
            });
        }
        Ok(Config {
            environment: Environment {
                name,
                capacity,
                systems,
                integrations,
            },
            timezone,
        })
    }

    fn job(&self, raw: &RawJob, integration: &str, kind: &str) -> Result<JobOptions, Error> {
        let key = |k: &str| format!("integrations.{integration}.{kind}.{k}");
        let rate = raw
            .rate
            .as_ref()
            .map(|r| self.value(r, &key("rate"), values::rate))
            .transpose()?;
        let max_items = match &raw.max_items {
            Some(m) if m.value == 0 => {
                return Err(self.at(
                    m,
                    &key("max_items"),
                    "expected at least 1 item per execution, found 0".into(),
                ));
            }
            Some(m) => Some(m.value),
            None => None,
        };
        let schedule = match &raw.schedule {
            Some(s) if s.value.trim() != "auto" => Some(
                Schedule::parse_with_key(&s.value, &format!("{integration}.{kind}"))
                    .map_err(|e| self.cron_error(s, &key("schedule"), &e))?,
            ),
            _ => None,
        };
        Ok(JobOptions {
            rate,
            max_items,
            schedule,
        })
    }
}
