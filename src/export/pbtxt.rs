//! Just enough of protobuf's text format to rewrite the fields trtctl owns in a Triton
//! `config.pbtxt` and keep every other byte the user wrote (fields, comments, layout).
//!
//! The text is split into top-level fields without interpreting them: a field is a name, an
//! optional `:`, then a scalar (adjacent strings concatenate), a `{...}` / `<...>` message or
//! a `[...]` list, then an optional `,` or `;`.

use std::ops::Range;

#[derive(Debug, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct PbtxtError {
    pub line: usize,
    pub problem: String,
}

/// One top-level field: its name and the bytes it spans (through the end of its line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub span: Range<usize>,
}

struct Scanner<'a> {
    text: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn error(&self, at: usize, problem: impl Into<String>) -> PbtxtError {
        PbtxtError {
            line: self.text[..at.min(self.text.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1,
            problem: problem.into(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    /// Skips whitespace and `#` comments.
    fn skip_trivia(&mut self) {
        while let Some(b) = self.peek() {
            if b == b'#' {
                while self.peek().is_some_and(|b| b != b'\n') {
                    self.pos += 1;
                }
            } else if b.is_ascii_whitespace() {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn word(&mut self) -> Range<usize> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b"_.-+".contains(&b))
        {
            self.pos += 1;
        }
        start..self.pos
    }

    fn string(&mut self) -> Result<(), PbtxtError> {
        let start = self.pos;
        let quote = self.text[self.pos];
        self.pos += 1;
        loop {
            match self.peek() {
                None | Some(b'\n') => return Err(self.error(start, "unterminated string")),
                Some(b'\\') => self.pos += 2,
                Some(b) if b == quote => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    /// Skips a `{...}`, `<...>` or `[...]` with everything nested in it.
    fn block(&mut self) -> Result<(), PbtxtError> {
        let mut open: Vec<(u8, usize)> = Vec::new();
        loop {
            self.skip_trivia();
            let Some(b) = self.peek() else {
                let (_, at) = open.last().copied().unwrap_or((b'{', self.pos));
                return Err(self.error(at, "this bracket is never closed"));
            };
            match b {
                b'{' | b'<' | b'[' => {
                    open.push((b, self.pos));
                    self.pos += 1;
                }
                b'}' | b'>' | b']' => {
                    let expected = match open.pop() {
                        Some((b'{', _)) => b'}',
                        Some((b'<', _)) => b'>',
                        Some(_) => b']',
                        None => return Err(self.error(self.pos, "unexpected closing bracket")),
                    };
                    if b != expected {
                        return Err(self.error(
                            self.pos,
                            format!("`{}` closes a bracket opened with another kind", b as char),
                        ));
                    }
                    self.pos += 1;
                    if open.is_empty() {
                        return Ok(());
                    }
                }
                b'"' | b'\'' => self.string()?,
                _ if self.word().is_empty() => self.pos += 1,
                _ => {}
            }
        }
    }

    fn value(&mut self, field: &str) -> Result<(), PbtxtError> {
        self.skip_trivia();
        match self.peek() {
            Some(b'{' | b'<' | b'[') => self.block(),
            Some(b'"' | b'\'') => {
                // Adjacent string literals are one value; what follows the last one (a
                // comment on the next line) belongs to the next field.
                loop {
                    self.string()?;
                    let end = self.pos;
                    self.skip_trivia();
                    if !matches!(self.peek(), Some(b'"' | b'\'')) {
                        self.pos = end;
                        return Ok(());
                    }
                }
            }
            _ if !self.word().is_empty() => Ok(()),
            _ => Err(self.error(self.pos, format!("`{field}` has no value"))),
        }
    }

    /// Extends a field's span over the separator and the rest of its line, when only
    /// blanks or a comment follow it there.
    fn end_of_field(&mut self) -> usize {
        let mut end = self.pos;
        while self
            .text
            .get(end)
            .is_some_and(|b| *b == b' ' || *b == b'\t')
        {
            end += 1;
        }
        if matches!(self.text.get(end), Some(b',' | b';')) {
            end += 1;
            self.pos = end;
        }
        let line_end = self.text[end..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.text.len(), |i| end + i + 1);
        let rest = &self.text[end..line_end];
        let rest = rest.trim_ascii_start();
        if rest.is_empty() || rest.starts_with(b"#") {
            self.pos = line_end;
            line_end
        } else {
            end
        }
    }
}

/// The top-level fields of `text`, in order.
pub fn fields(text: &str) -> Result<Vec<Field>, PbtxtError> {
    let mut scanner = Scanner {
        text: text.as_bytes(),
        pos: 0,
    };
    let mut found = Vec::new();
    loop {
        scanner.skip_trivia();
        let start = scanner.pos;
        if scanner.peek().is_none() {
            return Ok(found);
        }
        let name = scanner.word();
        if name.is_empty() {
            return Err(scanner.error(start, "expected a field name"));
        }
        let name = text[name].to_string();
        scanner.skip_trivia();
        if scanner.peek() == Some(b':') {
            scanner.pos += 1;
        }
        scanner.value(&name)?;
        let end = scanner.end_of_field();
        found.push(Field {
            name,
            span: start..end,
        });
    }
}

/// `text` without the top-level fields named in `owned`; everything else is kept as written.
pub fn without_fields(text: &str, owned: &[&str]) -> Result<String, PbtxtError> {
    let mut kept = String::with_capacity(text.len());
    let mut at = 0;
    for field in fields(text)? {
        if owned.contains(&field.name.as_str()) {
            kept.push_str(&text[at..field.span.start]);
            at = field.span.end;
        }
    }
    kept.push_str(&text[at..]);
    Ok(kept)
}

/// A string literal in text format.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = r#"# written by hand
name: "old"
platform: "onnxruntime_onnx"  # trtctl rewrites this
max_batch_size: 4
instance_group [ { count: 2, kind: KIND_GPU } ]
dynamic_batching {
  preferred_batch_size: [ 4, 8 ]
  max_queue_delay_microseconds: 100
}
parameters { key: "note" value: { string_value: "a } in a string" } }
cc_model_filenames [ { key: "7.5" value: "model.plan" } ]
default_model_filename: "model.plan";
# kept: a comment after a string value
"#;

    #[test]
    fn splits_top_level_fields_whatever_their_shape() {
        let names: Vec<String> = fields(USER).unwrap().into_iter().map(|f| f.name).collect();
        assert_eq!(
            names,
            [
                "name",
                "platform",
                "max_batch_size",
                "instance_group",
                "dynamic_batching",
                "parameters",
                "cc_model_filenames",
                "default_model_filename"
            ]
        );
    }

    #[test]
    fn drops_owned_fields_and_keeps_the_rest_verbatim() {
        let kept = without_fields(
            USER,
            &[
                "name",
                "platform",
                "max_batch_size",
                "cc_model_filenames",
                "default_model_filename",
            ],
        )
        .unwrap();
        assert_eq!(
            kept,
            "# written by hand\ninstance_group [ { count: 2, kind: KIND_GPU } ]\ndynamic_batching {\n  preferred_batch_size: [ 4, 8 ]\n  max_queue_delay_microseconds: 100\n}\nparameters { key: \"note\" value: { string_value: \"a } in a string\" } }\n# kept: a comment after a string value\n"
        );
    }

    #[test]
    fn broken_text_is_an_error_with_its_line() {
        let err = fields("name: \"a\"\ninstance_group [ { count: 1 }\n").unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        let err = fields("name: \"unterminated\n").unwrap_err();
        assert!(err.problem.contains("unterminated"), "{err}");
        assert!(fields("dynamic_batching { ] }").is_err());
        assert!(fields("{ count: 1 }").is_err());
    }

    #[test]
    fn adjacent_strings_are_one_value() {
        let found = fields("name: \"a\"\n  'b' # same value\nplatform: \"x\"\n").unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[1].name, "platform");
    }

    #[test]
    fn quotes_escape() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
