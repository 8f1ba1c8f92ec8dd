//! jq for Pacer: filters compiled once with positions for their errors, run
//! within bounds, over JSON read with a depth limit.
//!
//! A config file's `records`, `key`, `cursor`, `transform` and `paginate.next`
//! are jq. They run on what remote systems send, so nothing here trusts its
//! input to be small, shallow or kind:
//!
//! - [`parse`] refuses JSON nested deeper than [`MAX_DEPTH`] (128) arrays and
//!   objects before the recursive reader sees it, so a body of 5,000 `[`
//!   is an error, not a stack overflow;
//! - [`Filter::run`] stops a filter that outlives its [`Limits::time`]
//!   (`def f: f; f` loops forever), recurses past its [`Limits::stack`]
//!   (`def f: 1 + f; f`), or yields more than [`Limits::outputs`] values
//!   (`repeat(.)`), and refuses outputs nested deeper than [`MAX_DEPTH`];
//! - `halt` and `halt_error` fail the filter instead of ending the process,
//!   and `env`/`$ENV` are not there: a filter cannot read the variables
//!   Pacer's secrets come from.
//!
//! Filters are `Send + Sync`: compile once, run on any thread. A run uses
//! the calling thread's stack, so callers run filters on threads whose stack
//! is larger than [`Limits::stack`] (pacer-connect keeps a pool of them).
//!
//! # Example
//!
//! ```
//! use pacer_jq::{Filter, Limits};
//!
//! let records = Filter::compile(".items[]")?;
//! let page = pacer_jq::parse(br#"{"items": [{"sku": "A"}, {"sku": "B"}]}"#)?;
//! let out = records.run(&page, &Limits::default())?;
//! assert_eq!(out.len(), 2);
//! assert_eq!(out[1].to_string(), r#"{"sku":"B"}"#);
//!
//! // A filter that never ends stops at its deadline.
//! let forever = Filter::compile("def f: f; f")?;
//! let limits = Limits { time: std::time::Duration::from_millis(50), ..Limits::default() };
//! let err = forever.run(&page, &limits).unwrap_err();
//! assert!(err.is_timeout());
//!
//! // Syntax errors say where, as a byte offset into the filter.
//! let err = Filter::compile(".items[").unwrap_err();
//! assert_eq!(err.offset(), Some(7));
//! # Ok::<(), pacer_jq::Error>(())
//! ```

#![deny(missing_docs)]

pub use crate::{
    error::Error,
    filter::{Filter, Limits},
    json::{MAX_DEPTH, parse, text_of, to_text, too_deep},
};
pub use jaq_json::Val as Value;

mod error;
mod filter;
mod json;
