//! [`Check`]: reads a file's values where they stand, and says where each
//! error is (`file:line:column`, the field's path).

use std::cell::RefCell;

use serde_saphyr::Spanned;

use crate::Error;

/// One file being checked: its name and text, for errors that point into
/// it, and the warnings found so far.
pub(crate) struct Check<'a> {
    file: &'a str,
    text: &'a str,
    warnings: RefCell<Vec<String>>,
}

impl<'a> Check<'a> {
    /// Checks `text`, read from `file`.
    pub(crate) fn new(file: &'a str, text: &'a str) -> Check<'a> {
        Check {
            file,
            text,
            warnings: RefCell::new(Vec::new()),
        }
    }

    /// The file's name, as errors and warnings give it.
    pub(crate) fn file(&self) -> &'a str {
        self.file
    }

    /// Keeps a warning, shown with the checked file.
    pub(crate) fn warn(&self, warning: String) {
        self.warnings.borrow_mut().push(warning);
    }

    /// The warnings kept, in the order found.
    pub(crate) fn into_warnings(self) -> Vec<String> {
        self.warnings.into_inner()
    }

    /// An error at the value `spanned`.
    pub(crate) fn at<T>(&self, spanned: &Spanned<T>, path: &str, message: String) -> Error {
        let location = spanned.referenced;
        Error::new(self.file, location.line(), location.column(), path, message)
    }

    /// Points at the `chars`-th character inside a scalar, past its opening
    /// quote if it has one (the start, for a scalar over several lines).
    pub(crate) fn inside(
        &self,
        spanned: &Spanned<String>,
        chars: usize,
        path: &str,
        message: String,
    ) -> Error {
        let location = spanned.referenced;
        let line = self
            .text
            .lines()
            .nth(location.line().saturating_sub(1) as usize)
            .unwrap_or("");
        let start = location.column().saturating_sub(1) as usize;
        let quoted = line
            .chars()
            .nth(start)
            .is_some_and(|c| c == '"' || c == '\'');
        let fits = line.chars().count() >= start + usize::from(quoted) + chars;
        let inside = if fits && !spanned.value.contains('\n') {
            chars as u64 + u64::from(quoted)
        } else {
            0
        };
        Error::new(
            self.file,
            location.line(),
            location.column() + inside,
            path,
            message,
        )
    }
}
