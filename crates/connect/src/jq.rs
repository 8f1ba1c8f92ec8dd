//! jq filters from the config, compiled once and run within bounds.

use pacer_config::Expr;
use pacer_jq::{Filter, Limits, Value};

use crate::Error;

/// A compiled jq expression and where the config wrote it.
#[derive(Clone)]
pub(crate) struct Jq {
    filter: Filter,
    origin: String,
}

impl std::fmt::Debug for Jq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.filter.text(), self.origin)
    }
}

impl Jq {
    /// Compiles `expr`; pacer-config has checked it already, so an error
    /// here means a config built without `pacer_config::parse`.
    pub(crate) fn compile(expr: &Expr) -> Result<Jq, Error> {
        let filter = Filter::compile(&expr.text).map_err(|e| Error::Config {
            origin: expr.origin.clone(),
            message: format!("invalid jq expression {:?}: {e}", expr.text),
        })?;
        Ok(Jq {
            filter,
            origin: expr.origin.clone(),
        })
    }

    /// Every value the filter yields for `input`, or why it failed: its own
    /// error, or one of the bounds of [`Limits::default`] it hit.
    pub(crate) fn run(&self, input: &Value) -> Result<Vec<Value>, String> {
        self.filter
            .run(input, &Limits::default())
            .map_err(|e| e.to_string())
    }

    /// As [`run`](Jq::run) with `lookups` as `$lookup`, keeping the error
    /// typed: a missing lookup is told apart from other failures.
    pub(crate) fn run_with(
        &self,
        input: &Value,
        lookups: &Value,
    ) -> Result<Vec<Value>, pacer_jq::Error> {
        self.filter.run_with(input, lookups, &Limits::default())
    }

    /// Whether this is `.`, which gives its input unchanged.
    pub(crate) fn is_identity(&self) -> bool {
        self.filter.is_identity()
    }

    /// The first value, `None` for none or null.
    pub(crate) fn first(&self, input: &Value) -> Result<Option<Value>, String> {
        self.filter
            .first(input, &Limits::default())
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jq(text: &str) -> Result<Jq, Error> {
        Jq::compile(&Expr {
            text: text.into(),
            origin: "acme.yaml:3:4: integrations.prices.pull.records".into(),
        })
    }

    #[test]
    fn bad_filters_name_where_they_were_written() {
        let err = jq(".items[").unwrap_err().to_string();
        assert!(
            err.starts_with("acme.yaml:3:4: integrations.prices.pull.records: invalid jq expression \".items[\": expected"),
            "{err}"
        );
    }

    #[test]
    fn failures_and_runaways_are_reasons_not_crashes() {
        let err = jq(".a.b").unwrap().run(&Value::from(1usize)).unwrap_err();
        assert!(err.contains("cannot index"), "{err}");
        let err = jq("def f: f; f").unwrap().run(&Value::Null).unwrap_err();
        assert!(err.contains("does it loop forever?"), "{err}");
        assert_eq!(jq(".missing").unwrap().first(&Value::Null).unwrap(), None);
    }
}
