//! The one error type of this crate.

use std::{fmt, time::Duration};

use crate::MAX_DEPTH;

/// Why a filter did not compile or run, or a text was not JSON.
///
/// Its message says what happened in words a config's author acts on; the
/// predicates let callers tell a filter's own error from a bound it hit.
///
/// # Example: where a syntax error is
///
/// ```
/// let err = pacer_jq::Filter::compile("{sku, price: .amount").unwrap_err();
/// assert!(err.is_syntax());
/// assert_eq!(err.offset(), Some(20));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: Kind,
    offset: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Syntax(String),
    Undefined(Vec<String>),
    Json(String),
    TooDeep,
    Timeout(Duration),
    Steps(u64),
    Stack,
    Failed(String),
    MissingLookup { name: String, key: String },
    Halt(i32),
}

impl Error {
    pub(crate) fn new(kind: Kind, offset: Option<usize>) -> Error {
        Error { kind, offset }
    }

    /// The byte offset the error is about: into the filter's text for a
    /// syntax error or an undefined name, into the input for JSON.
    pub fn offset(&self) -> Option<usize> {
        self.offset
    }

    /// Whether the filter's text does not compile (syntax, undefined names).
    pub fn is_syntax(&self) -> bool {
        matches!(self.kind, Kind::Syntax(_) | Kind::Undefined(_))
    }

    /// Whether the input is not JSON, or nested too deeply.
    pub fn is_json(&self) -> bool {
        matches!(self.kind, Kind::Json(_) | Kind::TooDeep)
    }

    /// Whether JSON (an input or an output) is nested deeper than [`MAX_DEPTH`].
    pub fn is_too_deep(&self) -> bool {
        matches!(self.kind, Kind::TooDeep)
    }

    /// Whether the filter ran out of time or steps.
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, Kind::Timeout(_) | Kind::Steps(_))
    }

    /// The lookup and key `lookup(name; key)` found nothing for.
    pub fn missing_lookup(&self) -> Option<(&str, &str)> {
        match &self.kind {
            Kind::MissingLookup { name, key } => Some((name, key)),
            _ => None,
        }
    }

    /// Whether the filter recursed past its stack budget.
    pub fn is_stack(&self) -> bool {
        matches!(self.kind, Kind::Stack)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Syntax(message) => f.write_str(message),
            Kind::Undefined(names) => write!(f, "undefined {}", names.join(", ")),
            Kind::Json(message) => match self.offset {
                Some(at) => write!(f, "not JSON at byte {at}: {message}"),
                None => write!(f, "not JSON: {message}"),
            },
            Kind::TooDeep => {
                write!(f, "JSON nested deeper than {MAX_DEPTH} arrays and objects")?;
                match self.offset {
                    Some(at) => write!(f, " (at byte {at})"),
                    None => Ok(()),
                }
            }
            Kind::Timeout(limit) => write!(
                f,
                "did not finish within {} ms (the limit for one run of a filter); \
                 does it loop forever?",
                limit.as_millis()
            ),
            Kind::Steps(limit) => write!(
                f,
                "took more than {limit} steps (the limit for one run of a filter); \
                 does it loop forever?"
            ),
            Kind::Stack => f.write_str(
                "recursed too deeply (the limit of one run's stack); \
                 does a definition call itself without end?",
            ),
            Kind::Failed(message) => f.write_str(message),
            Kind::MissingLookup { name, key } => {
                write!(f, "the lookup {name:?} has no entry for {key:?}")
            }
            Kind::Halt(code) => write!(
                f,
                "called halt({code}); a filter cannot stop Pacer, use error(…) to fail a record"
            ),
        }
    }
}

impl std::error::Error for Error {}
