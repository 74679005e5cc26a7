//! The names keys and signatures go by: a key's name travels in object names
//! (`{file}.sig/{NAME}`), so it is kept to a safe alphabet.

const MAX_NAME_LEN: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "key name `{name}` is not valid: use 1 to {MAX_NAME_LEN} of A-Z a-z 0-9 . _ -, not starting with `.` (e.g. `ci-2026`)"
)]
pub struct BadKeyName {
    pub name: String,
}

pub fn validate_key_name(name: &str) -> Result<(), BadKeyName> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    match ok {
        true => Ok(()),
        false => Err(BadKeyName {
            name: name.chars().take(MAX_NAME_LEN + 1).collect(),
        }),
    }
}
