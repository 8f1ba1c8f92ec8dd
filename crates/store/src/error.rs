//! The store's one error type: what failed, with context, and no database types.

use std::fmt;

/// A store operation that failed.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    context: String,
}

#[derive(Debug)]
pub(crate) enum ErrorKind {
    /// The URL names no supported store.
    Url,
    /// The database holds a schema newer than this binary knows.
    NewerSchema { found: i64, supported: i64 },
    /// The database answered with an error, or could not be reached.
    Database(String),
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, context: impl Into<String>) -> Error {
        Error {
            kind,
            context: context.into(),
        }
    }

    pub(crate) fn database<E: fmt::Display>(context: impl Into<String>) -> impl FnOnce(E) -> Error {
        let context = context.into();
        move |e| Error::new(ErrorKind::Database(e.to_string()), context)
    }

    /// True when the database was written by a newer Pacer: upgrade the binary.
    pub fn is_newer_schema(&self) -> bool {
        matches!(self.kind, ErrorKind::NewerSchema { .. })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.context)?;
        match &self.kind {
            ErrorKind::Url => {
                f.write_str("expected sqlite://PATH or postgres://USER@HOST/DATABASE")
            }
            ErrorKind::NewerSchema { found, supported } => write!(
                f,
                "the database has schema version {found}, but this Pacer knows versions up to \
                 {supported}; upgrade Pacer before using this database"
            ),
            ErrorKind::Database(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}
