//! jq filters (jaq), compiled once from the config and run on every record.

use std::sync::Arc;

use jaq_core::{
    Compiler, Ctx, Vars, data,
    load::{Arena, File, Loader},
    unwrap_valr,
};
use jaq_json::Val;
use pacer_config::Expr;

use crate::Error;

/// A filter yields at most this many values per input: a runaway filter
/// (`repeat(.)`) stops here instead of filling memory.
const MAX_OUTPUTS: usize = 100_000;

type Filter = jaq_core::compile::Filter<jaq_core::Native<data::JustLut<Val>>>;

/// A compiled jq expression.
#[derive(Clone)]
pub(crate) struct Jq {
    filter: Arc<Filter>,
    text: String,
    origin: String,
}

impl std::fmt::Debug for Jq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.text, self.origin)
    }
}

impl Jq {
    pub(crate) fn compile(expr: &Expr) -> Result<Jq, Error> {
        let invalid = |detail: String| Error::Config {
            origin: expr.origin.clone(),
            message: format!("invalid jq expression {:?}: {detail}", expr.text),
        };
        let defs = jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs());
        let funs = jaq_core::funs()
            .chain(jaq_std::funs())
            .chain(jaq_json::funs());
        let loader = Loader::new(defs);
        let arena = Arena::default();
        let program = File {
            code: expr.text.as_str(),
            path: (),
        };
        let modules = loader
            .load(&arena, program)
            .map_err(|errors| invalid(describe_load_errors(&errors)))?;
        let filter = Compiler::default()
            .with_funs(funs)
            .compile(modules)
            .map_err(|errors| {
                let names: Vec<String> = errors
                    .iter()
                    .flat_map(|(_, errs)| errs.iter().map(|(name, _)| format!("`{name}`")))
                    .collect();
                invalid(format!("undefined {}", names.join(", ")))
            })?;
        Ok(Jq {
            filter: Arc::new(filter),
            text: expr.text.clone(),
            origin: expr.origin.clone(),
        })
    }

    /// Every value the filter yields for `input`, or why it failed.
    pub(crate) fn run(&self, input: &Val) -> Result<Vec<Val>, String> {
        let ctx = Ctx::<data::JustLut<Val>>::new(&self.filter.lut, Vars::new([]));
        let mut out = Vec::new();
        for value in self
            .filter
            .id
            .run((ctx, input.clone()))
            .map(unwrap_valr)
            .take(MAX_OUTPUTS)
        {
            out.push(value.map_err(|e| e.to_string())?);
        }
        Ok(out)
    }

    /// Whether this is `.`, which gives its input unchanged.
    pub(crate) fn is_identity(&self) -> bool {
        self.text.trim() == "."
    }

    /// The first value, `None` for none or null.
    pub(crate) fn first(&self, input: &Val) -> Result<Option<Val>, String> {
        Ok(self
            .run(input)?
            .into_iter()
            .next()
            .filter(|v| !matches!(v, Val::Null)))
    }
}

fn describe_load_errors<P>(errors: &jaq_core::load::Errors<&str, P>) -> String {
    use jaq_core::load::Error as LoadError;
    let mut parts = Vec::new();
    for (_, error) in errors {
        match error {
            LoadError::Io(io) => parts.extend(io.iter().map(|(_, e)| e.clone())),
            LoadError::Lex(lex) => parts.extend(lex.iter().map(|(expected, found)| {
                format!("expected {} at {:?}", expected.as_str(), head(found))
            })),
            LoadError::Parse(parse) => parts.extend(parse.iter().map(|(expected, found)| {
                format!("expected {} at {:?}", expected.as_str(), head(found))
            })),
        }
    }
    parts.join("; ")
}

fn head(text: &str) -> &str {
    let end = text.char_indices().nth(12).map_or(text.len(), |(i, _)| i);
    if end == 0 {
        "end of input"
    } else {
        &text[..end]
    }
}

/// A value as text for a key, cursor or template: strings bare, the rest as JSON.
pub(crate) fn text_of(value: &Val) -> String {
    match value {
        Val::TStr(s) => String::from_utf8_lossy(s).into_owned(),
        other => other.to_string(),
    }
}

pub(crate) fn parse(bytes: &[u8]) -> Result<Val, String> {
    jaq_json::read::parse_single(bytes).map_err(|e| e.to_string())
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
    fn filters_select_and_transform() {
        let input = parse(br#"{"items": [{"sku": "A", "amount": 2}, {"sku": "B"}]}"#).unwrap();
        let records = jq(".items[]").unwrap().run(&input).unwrap();
        assert_eq!(records.len(), 2);
        let out = jq("{sku, price: .amount}")
            .unwrap()
            .run(&records[0])
            .unwrap();
        assert_eq!(out[0].to_string(), r#"{"sku":"A","price":2}"#);
        assert_eq!(
            text_of(&jq(".sku").unwrap().first(&records[1]).unwrap().unwrap()),
            "B"
        );
        assert_eq!(jq(".missing").unwrap().first(&records[1]).unwrap(), None);
    }

    #[test]
    fn bad_filters_name_where_they_were_written() {
        let err = jq(".items[").unwrap_err().to_string();
        assert!(
            err.starts_with("acme.yaml:3:4: integrations.prices.pull.records: invalid jq expression \".items[\": expected"),
            "{err}"
        );
        let err = jq("nosuchfunction(1)").unwrap_err().to_string();
        assert!(err.contains("undefined `nosuchfunction"), "{err}");
    }

    #[test]
    fn runaway_filters_stop() {
        let out = jq("repeat(.)").unwrap().run(&Val::from(1usize)).unwrap();
        assert_eq!(out.len(), MAX_OUTPUTS);
        let err = jq(".a.b").unwrap().run(&Val::from(1usize)).unwrap_err();
        assert!(err.contains("cannot index"), "{err}");
    }
}
