//! The file as serde reads it: every key the file may hold, nothing more.
//!
//! Values whose meaning is checked after reading (`"35000/day"`, a system's
//! name) are [`Spanned`], so an error can point at them.

use std::{borrow::Cow, collections::BTreeMap, fmt, marker::PhantomData};

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{
    Deserialize, Deserializer,
    de::{MapAccess, Visitor},
};
use serde_saphyr::Spanned;

/// The whole file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Pacer configuration")]
pub(crate) struct RawConfig {
    /// The installation: its name, time zone and capacity.
    #[serde(default)]
    pub(crate) environment: RawEnvironment,
    /// External applications, by name, with the rate each delivers or accepts.
    pub(crate) systems: OrderedMap<RawSystem>,
    /// Entities flowing from one system to another, by name.
    pub(crate) integrations: OrderedMap<RawIntegration>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEnvironment {
    /// The environment's name; default the file's name.
    pub(crate) name: Option<String>,
    /// IANA time zone the schedules are read in, e.g. Europe/Amsterdam; default UTC.
    #[schemars(with = "Option<String>")]
    pub(crate) timezone: Option<Spanned<String>>,
    /// How many executions may run at once; default 1.
    #[schemars(with = "Option<u32>", range(min = 1))]
    pub(crate) capacity: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSystem {
    /// Items it delivers or accepts: "100/min", "5/s", "2000/h".
    #[schemars(
        with = "String",
        regex(pattern = r"^\s*[0-9.]+\s*/\s*(s|sec|second|min|minute|h|hour)\s*$")
    )]
    pub(crate) rate: Spanned<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIntegration {
    /// The source system.
    #[schemars(with = "String")]
    pub(crate) from: Spanned<String>,
    /// The destination system.
    #[schemars(with = "String")]
    pub(crate) to: Spanned<String>,
    /// Changes a day or an hour: "35000/day", "1500/hour".
    #[schemars(
        with = "String",
        regex(pattern = r"^\s*[0-9.]+\s*/\s*(day|d|hour|h)\s*$")
    )]
    pub(crate) volume: Spanned<String>,
    /// Size for the busy season, not an average Tuesday: the volume is multiplied by it; default 1.
    #[schemars(with = "Option<f64>")]
    pub(crate) peak_factor: Option<Spanned<f64>>,
    /// Longest acceptable delay from a change to its delivery: "30m", "2h", "1h30m".
    #[schemars(with = "Option<String>")]
    pub(crate) freshness: Option<Spanned<String>>,
    /// When runs may happen, on whole hours: "06:00-22:00"; default all day.
    #[schemars(
        with = "Option<String>",
        regex(pattern = r"^\s*[0-9]{1,2}:00\s*-\s*[0-9]{1,2}:00\s*$")
    )]
    pub(crate) active_hours: Option<Spanned<String>>,
    /// Overrides for the pull job.
    #[serde(default)]
    pub(crate) pull: RawJob,
    /// Overrides for the push job.
    #[serde(default)]
    pub(crate) push: RawJob,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawJob {
    /// The rate this job may use; default the system's: "100/min".
    #[schemars(with = "Option<String>")]
    pub(crate) rate: Option<Spanned<String>>,
    /// At most this many items per execution.
    #[schemars(with = "Option<u64>", range(min = 1))]
    pub(crate) max_items: Option<Spanned<u64>>,
    /// "auto" (default) to let the planner choose, or a cron expression kept as given.
    #[schemars(with = "Option<String>")]
    pub(crate) schedule: Option<Spanned<String>>,
}

/// A mapping that keeps the file's order, so plans list jobs as the file does.
#[derive(Debug)]
pub(crate) struct OrderedMap<T>(pub(crate) Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OrderedMap<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for Entries<T> {
            type Value = OrderedMap<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of names to settings")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries: Vec<(String, T)> = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, T>()? {
                    if entries.iter().any(|(k, _)| *k == key) {
                        return Err(serde::de::Error::custom(format!(
                            "`{key}` is defined twice"
                        )));
                    }
                    entries.push((key, value));
                }
                Ok(OrderedMap(entries))
            }
        }

        deserializer.deserialize_map(Entries(PhantomData))
    }
}

impl<T: JsonSchema> JsonSchema for OrderedMap<T> {
    fn schema_name() -> Cow<'static, str> {
        BTreeMap::<String, T>::schema_name()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        BTreeMap::<String, T>::json_schema(generator)
    }
}
