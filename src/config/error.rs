//! What is wrong with an `agent.toml`, and where.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A place in a configuration file: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Position {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1, counted in characters.
    pub column: usize,
}

impl Position {
    /// The position of byte `offset` in `text`.
    pub fn of_offset(text: &str, offset: usize) -> Position {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = text[line_start..offset].chars().count() + 1;
        Position { line, column }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The kind of a configuration problem, for callers that branch on it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The file could not be read (missing, unreadable). Fix the path or permissions.
    Read,
    /// The file is not valid TOML.
    Syntax,
    /// A key that the schema does not have (a typo, or a setting in the wrong table).
    UnknownKey {
        /// The nearest valid key, if one is close.
        suggestion: Option<String>,
    },
    /// A value of the wrong type or outside its range, or a required key that is missing.
    InvalidValue,
    /// A `[[tools]]` entry that cannot be built (bad schema, template, name, duplicate).
    Tool,
}

/// An `agent.toml` that cannot be used: which file, where, which key, and what to do.
///
/// `Display` gives one line, `path:line:column: message`; [`ConfigError::render`] adds the
/// offending line of the file with a caret under the spot. Retrying does not help: fix the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(Box<Detail>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Detail {
    path: PathBuf,
    position: Option<Position>,
    key: Option<String>,
    message: String,
    kind: ConfigErrorKind,
    /// The line of the file at `position`, for [`ConfigError::render`].
    source_line: Option<String>,
}

impl ConfigError {
    fn new(detail: Detail) -> ConfigError {
        ConfigError(Box::new(detail))
    }

    /// An error about the file as a whole (it cannot be read).
    pub(crate) fn read(path: &Path, error: &std::io::Error) -> ConfigError {
        ConfigError::new(Detail {
            path: path.to_path_buf(),
            position: None,
            key: None,
            message: format!("cannot read the configuration file: {error}"),
            kind: ConfigErrorKind::Read,
            source_line: None,
        })
    }

    /// The same error without the quoted line (when the line holds a secret).
    pub(crate) fn without_source_line(mut self) -> ConfigError {
        self.0.source_line = None;
        self
    }

    /// An error at a known position, without the file's text at hand.
    pub(crate) fn at(
        path: Option<&Path>,
        position: Option<Position>,
        key: Option<String>,
        message: impl Into<String>,
        kind: ConfigErrorKind,
    ) -> ConfigError {
        ConfigError::new(Detail {
            path: path.map_or_else(|| PathBuf::from("agent.toml"), Path::to_path_buf),
            position,
            key,
            message: message.into(),
            kind,
            source_line: None,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.0.path
    }

    /// Where in the file, when known.
    pub fn position(&self) -> Option<Position> {
        self.0.position
    }

    /// The key at fault as a dotted path (`agent.temperature`, `tools[1].args[0]`), when known.
    pub fn key(&self) -> Option<&str> {
        self.0.key.as_deref()
    }

    /// What is wrong and how to fix it.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The kind of problem.
    pub fn kind(&self) -> &ConfigErrorKind {
        &self.0.kind
    }

    /// The nearest valid key, for an unknown key.
    pub fn suggestion(&self) -> Option<&str> {
        match &self.0.kind {
            ConfigErrorKind::UnknownKey { suggestion } => suggestion.as_deref(),
            _ => None,
        }
    }

    /// The error with the line it points at and a caret under the spot, for a terminal.
    pub fn render(&self) -> String {
        let mut text = self.to_string();
        if let (Some(position), Some(line)) = (self.0.position, &self.0.source_line) {
            let number = position.line.to_string();
            let pad = " ".repeat(number.len());
            let caret_pad: String = line
                .chars()
                .take(position.column.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            text.push_str(&format!(
                "\n{pad} |\n{number} | {line}\n{pad} | {caret_pad}^"
            ));
        }
        text
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let detail = &self.0;
        write!(f, "{}", detail.path.display())?;
        if let Some(position) = detail.position {
            write!(f, ":{position}")?;
        }
        f.write_str(": ")?;
        if let Some(key) = &detail.key {
            write!(f, "`{key}`: ")?;
        }
        f.write_str(&detail.message)
    }
}

impl std::error::Error for ConfigError {}

/// The text of a configuration file and its name, to place errors in it.
#[derive(Debug, Clone)]
pub(crate) struct Source<'a> {
    pub(crate) path: &'a Path,
    pub(crate) text: &'a str,
}

impl Source<'_> {
    /// An error at byte range `span` (or at no particular place).
    pub(crate) fn error(
        &self,
        span: Option<Range<usize>>,
        key: Option<String>,
        message: impl Into<String>,
        kind: ConfigErrorKind,
    ) -> ConfigError {
        let position = span.map(|span| Position::of_offset(self.text, span.start));
        let source_line =
            position.and_then(|p| self.text.lines().nth(p.line - 1).map(str::to_owned));
        ConfigError::new(Detail {
            path: self.path.to_path_buf(),
            position,
            key: key.filter(|k| !k.is_empty()),
            message: message.into(),
            kind,
            source_line,
        })
    }

    /// A value error at `span`.
    pub(crate) fn invalid(
        &self,
        span: Option<Range<usize>>,
        key: &str,
        message: impl Into<String>,
    ) -> ConfigError {
        self.error(
            span,
            Some(key.to_owned()),
            message,
            ConfigErrorKind::InvalidValue,
        )
    }

    /// A TOML deserialization error, whose span points into this file, at `prefix` + its path.
    pub(crate) fn toml_error(
        &self,
        prefix: &str,
        error: serde_path_to_error::Error<toml::de::Error>,
    ) -> ConfigError {
        let path = error.path().to_string();
        let key = match (prefix.is_empty(), path.as_str()) {
            (_, ".") => prefix.to_owned(),
            (true, path) => path.to_owned(),
            (false, path) if path.starts_with('[') => format!("{prefix}{path}"),
            (false, path) => format!("{prefix}.{path}"),
        };
        let inner = error.into_inner();
        let message = friendly_serde_message(inner.message());
        self.invalid(inner.span(), &key, message)
    }
}

/// serde's messages name Rust types (`f64`, `u32`); say what a TOML user would write instead.
fn friendly_serde_message(message: &str) -> String {
    let mut text = message.trim().to_owned();
    for (rust, words) in [
        ("expected f64", "expected a number"),
        ("expected u32", "expected a whole number (0 or more)"),
        ("expected u64", "expected a whole number (0 or more)"),
        ("expected usize", "expected a whole number (0 or more)"),
        ("expected a boolean", "expected true or false"),
        ("expected a string", "expected a string (in quotes)"),
        ("missing field", "missing key"),
        ("unknown field", "unknown key"),
        ("unknown variant", "unknown value"),
    ] {
        text = text.replace(rust, words);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let text = "a = 1\n[agent]\nmodèle = 2\n";
        assert_eq!(
            Position::of_offset(text, 0),
            Position { line: 1, column: 1 }
        );
        let offset = text.find("= 2").unwrap();
        assert_eq!(
            Position::of_offset(text, offset),
            Position { line: 3, column: 8 }
        );
    }

    #[test]
    fn render_points_at_the_spot() {
        let source = Source {
            path: Path::new("agent.toml"),
            text: "[agent]\nmodle = \"x\"\n",
        };
        let error = source.error(
            Some(8..13),
            Some("agent.modle".into()),
            "unknown key",
            ConfigErrorKind::UnknownKey { suggestion: None },
        );
        assert_eq!(
            error.render(),
            "agent.toml:2:1: `agent.modle`: unknown key\n  |\n2 | modle = \"x\"\n  | ^"
        );
    }
}
