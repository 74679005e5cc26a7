//! YAML in block style for JSON values, for `kubectl apply -f`. Every string is written as a
//! JSON string (a valid YAML double-quoted scalar), so no value is ever read back as another
//! type (`on`, `1.10`, `null`).

use serde_json::Value;

/// `value` as one YAML document, without the `---` that separates documents.
pub fn document(value: &Value) -> String {
    let mut out = String::new();
    block(value, 0, &mut out);
    out
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Object(map) if map.is_empty() => "{}".into(),
        Value::Array(items) if items.is_empty() => "[]".into(),
        other => other.to_string(),
    }
}

/// A key as it is when YAML reads it back as that string, else quoted.
fn key_text(key: &str) -> String {
    let plain = key.starts_with(|c: char| c.is_ascii_alphabetic())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c))
        && !matches!(
            key.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
        );
    if plain {
        key.to_string()
    } else {
        Value::String(key.to_string()).to_string()
    }
}

fn is_block(value: &Value) -> bool {
    match value {
        Value::Object(map) => !map.is_empty(),
        Value::Array(items) => !items.is_empty(),
        _ => false,
    }
}

/// Writes a mapping or sequence whose lines start at `indent` spaces.
fn block(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, item) in map {
                out.push_str(&format!("{pad}{}:", key_text(key)));
                nested(item, indent + 2, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                if let Value::Object(map) = item
                    && !map.is_empty()
                {
                    // `- key: value`, the mapping's first key on the dash's line.
                    let mut mapping = String::new();
                    block(item, indent + 2, &mut mapping);
                    out.push_str(&format!("{pad}- {}", &mapping[indent + 2..]));
                } else {
                    out.push_str(&format!("{pad}-"));
                    nested(item, indent + 2, out);
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

/// What follows a `key:` or `-`: a scalar on the same line, or a block below it.
fn nested(value: &Value, indent: usize, out: &mut String) {
    if is_block(value) {
        out.push('\n');
        block(value, indent, out);
    } else {
        out.push_str(&format!(" {}\n", scalar(value)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_maps_and_lists_in_block_style_with_every_string_quoted() {
        let value = serde_json::json!({
            "a": {"b": ["on", 1, true, null], "c": {}},
            "d": [{"e": "1.10", "f": [], "nvidia.com/gpu": 1}, [2]],
            "on": "x y",
            "1st": 0,
        });
        assert_eq!(
            document(&value),
            "\"1st\": 0\na:\n  b:\n    - \"on\"\n    - 1\n    - true\n    - null\n  c: {}\nd:\n  - e: \"1.10\"\n    f: []\n    nvidia.com/gpu: 1\n  -\n    - 2\n\"on\": \"x y\"\n"
        );
    }
}
