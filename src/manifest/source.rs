//! Locating a problem in the manifest's text: file, line, column, the line itself and the fix.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::ManifestError;
use crate::identity;

/// One problem in a manifest, located in its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub help: Option<String>,
    source_line: String,
    width: usize,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )?;
        let gutter = self.line.to_string().len();
        writeln!(f, "{:gutter$} |", "")?;
        writeln!(f, "{} | {}", self.line, self.source_line)?;
        write!(
            f,
            "{:gutter$} | {}{}",
            "",
            " ".repeat(self.column - 1),
            "^".repeat(self.width.max(1))
        )?;
        if let Some(help) = &self.help {
            write!(f, "\n{:gutter$} = help: {help}", "")?;
        }
        Ok(())
    }
}

/// Locates problems in one manifest's text.
pub(super) struct Source<'a> {
    pub(super) path: &'a Path,
    pub(super) text: &'a str,
    /// Whether the ONNX files must exist: a deploy host reads the manifest without them.
    pub(super) onnx_required: bool,
}

impl Source<'_> {
    pub(super) fn error(
        &self,
        span: Range<usize>,
        message: impl Into<String>,
        help: Option<String>,
    ) -> ManifestError {
        let start = span.start.min(self.text.len());
        let line_start = self.text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |i| start + i);
        let source_line = self.text[line_start..line_end]
            .trim_end_matches('\r')
            .to_string();
        let column = self.text[line_start..start].chars().count() + 1;
        let width = self.text[start..span.end.clamp(start, line_end)]
            .chars()
            .count();
        ManifestError::Invalid(Box::new(Diagnostic {
            file: self.path.to_path_buf(),
            line: self.text[..start].matches('\n').count() + 1,
            column,
            message: message.into(),
            help,
            source_line,
            width,
        }))
    }

    pub(super) fn toml_error(&self, err: toml::de::Error) -> ManifestError {
        let message = err.message().trim().to_string();
        let help = unknown_field_help(&message).or_else(|| missing_field_help(&message));
        self.error(err.span().unwrap_or(0..0), message, help)
    }
}

/// serde says "unknown field `precison`, expected one of `a`, `b`" (or "unknown variant" for a
/// value): suggest the nearest.
fn unknown_field_help(message: &str) -> Option<String> {
    let (rest, what) = match message.strip_prefix("unknown field `") {
        Some(rest) => (rest, "keys here"),
        None => (message.strip_prefix("unknown variant `")?, "values"),
    };
    let (field, expected) = rest.split_once('`')?;
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match identity::nearest(field, candidates.iter().copied()) {
        Some(best) => Some(format!("did you mean `{best}`?")),
        None => Some(format!(
            "remove `{field}`; valid {what} are {}",
            quoted(&candidates)
        )),
    }
}

fn missing_field_help(message: &str) -> Option<String> {
    let field = message.strip_prefix("missing field `")?.strip_suffix('`')?;
    Some(format!(
        "add `{field} = ...` to this table (see engines.toml.example)"
    ))
}

fn quoted(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
