//! The one error type of this crate: what is wrong with an expression, and where.

use std::{fmt, ops::Range};

use crate::Field;

/// An error from parsing a cron expression.
///
/// It says which [`Field`] is wrong and where in the expression the offending
/// text starts ([`Error::column`], 1-based, counted in characters), so a user
/// interface can point at it. The message itself (its [`Display`](fmt::Display))
/// names the field, the column and what would be accepted instead.
///
/// # Example: an out-of-range hour
///
/// ```
/// use pacer_cron::{Field, Schedule};
///
/// let err = Schedule::parse("0 24 * * *").unwrap_err();
/// assert_eq!(err.field(), Some(Field::Hour));
/// assert_eq!(err.column(), Some(3));
/// assert_eq!(
///     err.to_string(),
///     "hour field, column 3: 24 is out of range, expected 0-23",
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    field: Option<Field>,
    /// Byte range in the expression as given.
    span: Option<Range<usize>>,
    /// Character column (1-based) of `span.start`.
    column: Option<usize>,
}

/// What went wrong; kept private so the messages can improve without breaking callers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    Empty,
    FieldCount {
        found: usize,
    },
    UnknownMacro {
        name: String,
    },
    OutOfRange {
        value: u32,
        min: u32,
        max: u32,
    },
    ZeroStep,
    ReversedRange {
        start: u32,
        end: u32,
    },
    UnknownName {
        name: String,
    },
    Unexpected {
        found: String,
        expected: &'static str,
    },
    MissingKey {
        random: bool,
    },
    NeverFires,
    StepWithoutRange {
        value: u32,
        max: u32,
        step: u32,
    },
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Error {
        Error {
            kind,
            field: None,
            span: None,
            column: None,
        }
    }

    /// Attaches the field and the byte range in `expr` the error is about.
    pub(crate) fn at(mut self, field: Option<Field>, expr: &str, span: Range<usize>) -> Error {
        self.column = Some(expr[..span.start].chars().count() + 1);
        self.field = field;
        self.span = Some(span);
        self
    }

    /// The field the error is in, if it concerns a single field.
    ///
    /// A wrong number of fields, an unknown `@macro` or an empty expression
    /// concern no single field.
    pub fn field(&self) -> Option<Field> {
        self.field
    }

    /// The 1-based character column where the offending text starts.
    pub fn column(&self) -> Option<usize> {
        self.column
    }

    /// The byte range of the offending text in the expression as given.
    ///
    /// Useful for underlining it: `&expr[span]` is the text the error is about.
    pub fn span(&self) -> Option<Range<usize>> {
        self.span.clone()
    }

    /// True when the expression uses `H` or `a~b` but no key was given to hash.
    ///
    /// Parse it with [`Schedule::parse_with_key`](crate::Schedule::parse_with_key),
    /// passing the job's name.
    pub fn is_missing_key(&self) -> bool {
        matches!(self.kind, ErrorKind::MissingKey { .. })
    }

    /// True when the expression is well-formed but matches no date at all,
    /// such as `0 0 30 2 *` (February never has a 30th).
    pub fn is_never_fires(&self) -> bool {
        matches!(self.kind, ErrorKind::NeverFires)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.field, self.column) {
            (Some(field), Some(column)) => write!(f, "{field} field, column {column}: ")?,
            (Some(field), None) => write!(f, "{field} field: ")?,
            (None, Some(column)) => write!(f, "column {column}: ")?,
            (None, None) => {}
        }
        match &self.kind {
            ErrorKind::Empty => f.write_str(
                "the expression is empty; expected 5 fields \
                 (minute hour day-of-month month day-of-week) or a macro such as @daily",
            ),
            ErrorKind::FieldCount { found } => write!(
                f,
                "expected 5 fields (minute hour day-of-month month day-of-week), found {found}",
            ),
            ErrorKind::UnknownMacro { name } => write!(
                f,
                "unknown macro {name:?}; expected one of @yearly, @annually, @monthly, \
                 @weekly, @daily, @midnight, @hourly",
            ),
            ErrorKind::OutOfRange { value, min, max } => {
                write!(f, "{value} is out of range, expected {min}-{max}")
            }
            ErrorKind::ZeroStep => f.write_str("a step of 0 never advances; use 1 or more"),
            ErrorKind::ReversedRange { start, end } => write!(
                f,
                "the range {start}-{end} runs backwards; write the smaller value first \
                 (or use a list to wrap around)",
            ),
            ErrorKind::UnknownName { name } => {
                let expected = match self.field {
                    Some(Field::Month) => "; expected JAN-DEC",
                    Some(Field::DayOfWeek) => "; expected SUN-SAT",
                    _ => "; names are only allowed in the month and day-of-week fields",
                };
                write!(f, "unknown name {name:?}{expected}")
            }
            ErrorKind::Unexpected { found, expected } => {
                write!(f, "unexpected {found}, expected {expected}")
            }
            ErrorKind::MissingKey { random } => write!(
                f,
                "{} needs a key to hash, such as the job's name, and none was given",
                if *random { "`a~b`" } else { "H" }
            ),
            ErrorKind::StepWithoutRange { value, max, step } => write!(
                f,
                "a step needs a range before it, as cronie reads crontabs; \
                 write {value}-{max}/{step} (from {value} to the end) or */{step}",
            ),
            ErrorKind::NeverFires => f.write_str(
                "this day of the month never occurs in the selected months, \
                 so the expression would never fire",
            ),
        }
    }
}

impl std::error::Error for Error {}
