//! Texts on their way into error messages: one line, bounded, with every secret in use
//! replaced, and the few S3 error fields worth quoting.

use std::sync::{Arc, Mutex};

/// Values scrubbed from every error text, should a server echo one. Sources of temporary
/// credentials add each set they are issued.
#[derive(Clone, Default)]
pub(super) struct Secrets(Arc<Mutex<Vec<String>>>);

impl Secrets {
    pub(super) fn add(&self, secret: &str) {
        let mut known = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !known.iter().any(|k| k == secret) {
            known.push(secret.to_string());
        }
    }

    pub(super) fn snapshot(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// `<Code>` and `<Message>` of an S3 error body quoted in an error text.
pub(super) fn s3_error_code(text: &str) -> (Option<String>, Option<String>) {
    (xml_tag(text, "Code"), xml_tag(text, "Message"))
}

/// The trimmed text of the first `<name>…</name>` in `text`, when not empty.
pub(super) fn xml_tag(text: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&close)? + start;
    Some(text[start..end].trim().to_string()).filter(|v| !v.is_empty())
}

/// One line, no secrets, bounded length.
pub(super) fn one_line(text: &str, secrets: &[String]) -> String {
    let mut line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        line = line.replace(secret.as_str(), "<redacted>");
    }
    const MAX: usize = 400;
    if line.len() > MAX {
        let mut cut = MAX;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
        line.push('…');
    }
    line
}

/// Drops `user:password@` from a URL-ish string.
pub(super) fn strip_userinfo(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line_and_scrubbed() {
        let secrets = vec!["s3cr3t-value".to_string()];
        let line = one_line("a\nb\r\n  c s3cr3t-value d", &secrets);
        assert_eq!(line, "a b c <redacted> d");
        assert_eq!(
            strip_userinfo("http://u:p@host:9000/x"),
            "http://host:9000/x"
        );
        let (code, message) = s3_error_code(
            "403: <Error><Code>SignatureDoesNotMatch</Code><Message>bad sig</Message></Error>",
        );
        assert_eq!(code.as_deref(), Some("SignatureDoesNotMatch"));
        assert_eq!(message.as_deref(), Some("bad sig"));
    }
}
