//! Errors that say where in the file, which key, and what to write instead.

use std::fmt;

/// A configuration file that cannot be used.
///
/// Its message starts with `file:line:column: key.path:` so editors and
/// terminals can jump to it, e.g.
/// `acme.yaml:12:14: integrations.prices.volume: expected "<number>/day" or "<number>/hour", found "lots"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    file: String,
    line: u64,
    column: u64,
    path: String,
    message: String,
}

impl Error {
    pub(crate) fn new(file: &str, line: u64, column: u64, path: &str, message: String) -> Error {
        Error {
            file: file.to_string(),
            line,
            column,
            path: path.to_string(),
            message,
        }
    }

    /// The file's name as given.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The 1-based line, or 0 when the error concerns the whole file.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The 1-based column, or 0 when unknown.
    pub fn column(&self) -> u64 {
        self.column
    }

    /// The key, as a dotted path (`integrations.prices.volume`); empty for the whole file.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What is wrong and what to write instead.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for Error {}
