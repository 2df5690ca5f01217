//! Config errors with file, key and line, and the position arithmetic behind them.

use std::fmt;
use std::ops::Range;

/// One mistake in a config file.
///
/// `line` and `column` are 1-based; `line == 0` means the error concerns the
/// file as a whole (e.g. it is missing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file as the user named it, e.g. `config/sources.toml`.
    pub file: String,
    /// A readable path such as `source[2].url` or `kommune.ahlen.contact[0].email`;
    /// empty for errors that concern the whole file.
    pub key: String,
    pub line: usize,
    /// Set for TOML syntax errors and rule expressions.
    pub column: Option<usize>,
    /// What is wrong and what to do about it.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        if let Some(column) = self.column {
            write!(f, ":{column}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// All mistakes found while loading; printed one per line.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

/// The text of one config file, for turning byte offsets into lines and columns.
pub(super) struct Doc {
    pub file: String,
    pub text: String,
    /// Byte offsets of the newlines, found on first use: every source and rule records its
    /// line, and counting the newlines before each from the start took ~10 ms of every
    /// command's start with 200 sources.
    newlines: std::sync::OnceLock<Vec<usize>>,
}

impl Doc {
    pub fn new(file: String, text: String) -> Doc {
        Doc {
            file,
            text,
            newlines: std::sync::OnceLock::new(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = self.text.floor_char_boundary(offset);
        let newlines = self
            .newlines
            .get_or_init(|| self.text.match_indices('\n').map(|(i, _)| i).collect());
        let before = newlines.partition_point(|&n| n < offset);
        let line_start = before.checked_sub(1).map_or(0, |i| newlines[i] + 1);
        (before + 1, self.text[line_start..offset].chars().count() + 1)
    }

    pub fn line(&self, span: &Range<usize>) -> usize {
        self.position(span.start).0
    }
}

/// Collects the errors of one file.
pub(super) struct Report<'a> {
    pub doc: &'a Doc,
    pub errors: &'a mut Vec<ConfigError>,
}

impl Report<'_> {
    /// Records an error at the line where `span` starts.
    pub fn at(&mut self, span: &Range<usize>, key: impl fmt::Display, message: impl Into<String>) {
        let line = self.doc.line(span);
        self.push(key.to_string(), line, None, message.into());
    }

    /// Records an error at an exact byte offset, with its column.
    pub fn at_column(&mut self, offset: usize, key: impl fmt::Display, message: impl Into<String>) {
        let (line, column) = self.doc.position(offset);
        self.push(key.to_string(), line, Some(column), message.into());
    }

    /// Records an error about the file as a whole.
    pub fn whole_file(&mut self, message: impl Into<String>) {
        self.push(String::new(), 0, None, message.into());
    }

    /// Passes `Ok` values through and records `Err` at `span`.
    pub fn check<T, E: fmt::Display>(
        &mut self,
        result: Result<T, E>,
        span: &Range<usize>,
        key: impl fmt::Display,
    ) -> Option<T> {
        result.map_err(|e| self.at(span, key, e.to_string())).ok()
    }

    fn push(&mut self, key: String, line: usize, column: Option<usize>, message: String) {
        let file = self.doc.file.clone();
        self.errors.push(ConfigError {
            file,
            key,
            line,
            column,
            message,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(line: usize, column: Option<usize>, key: &str) -> ConfigError {
        ConfigError {
            file: "config/sources.toml".into(),
            key: key.into(),
            line,
            column,
            message: "must start with http:// or https://".into(),
        }
    }

    #[test]
    fn display_is_file_line_key_message_one_per_line() {
        let errors = ConfigErrors(vec![error(12, None, "source[2].url"), error(3, Some(7), "")]);
        assert_eq!(
            errors.to_string(),
            "config/sources.toml:12: source[2].url: must start with http:// or https://\n\
             config/sources.toml:3:7: must start with http:// or https://"
        );
    }

    #[test]
    fn position_counts_lines_and_characters() {
        let doc = Doc::new("f".into(), "a = 1\nname = \"Ölde\"\nx".into());
        assert_eq!(doc.position(0), (1, 1));
        assert_eq!(doc.position(6), (2, 1));
        // "Ö" is two bytes but one column.
        let x = doc.text.rfind('x').unwrap();
        assert_eq!(doc.position(x), (3, 1));
        let quote = doc.text.rfind('"').unwrap();
        assert_eq!(doc.position(quote), (2, 13));
    }
}
