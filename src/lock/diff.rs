//! What would change in a lock, engine by engine: the `--locked` failure shows it.

use std::collections::BTreeMap;
use std::fmt;

use super::Lock;
use crate::identity::EngineKey;

/// How many changes one screen shows; the rest are counted.
const SHOWN: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockChange {
    /// Newly in the desired set (a new model, precision, arch or version).
    Added(EngineKey),
    /// No longer in the desired set.
    Removed(EngineKey),
    /// Same name, other build inputs: a changed ONNX, profile or flag.
    Fingerprint {
        key: EngineKey,
        old: String,
        new: String,
    },
    /// Same inputs, other bytes: rebuilt, or replaced on the remote.
    Bytes {
        key: EngineKey,
        old: String,
        new: String,
    },
    /// Pinned before, does not exist now.
    Vanished(EngineKey),
    /// Missing before, exists now.
    Appeared(EngineKey),
}

impl fmt::Display for LockChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = |hex: &str| hex.get(..12).unwrap_or(hex).to_string();
        match self {
            LockChange::Added(key) => write!(f, "+ {key}"),
            LockChange::Removed(key) => write!(f, "- {key}"),
            LockChange::Fingerprint { key, old, new } => write!(
                f,
                "~ {key}: build inputs changed (fingerprint {} → {})",
                short(old),
                short(new)
            ),
            LockChange::Bytes { key, old, new } => write!(
                f,
                "~ {key}: other bytes (sha256 {} → {})",
                short(old),
                short(new)
            ),
            LockChange::Vanished(key) => write!(f, "~ {key}: pinned, but exists nowhere now"),
            LockChange::Appeared(key) => write!(f, "~ {key}: exists now (was missing)"),
        }
    }
}

/// What each key maps to in a lock: its fingerprint and, when pinned, its sha256.
fn entries(lock: &Lock) -> BTreeMap<&EngineKey, (&str, Option<&str>)> {
    lock.engines
        .iter()
        .map(|e| (&e.key, (e.fingerprint.0.as_str(), Some(e.sha256.as_str()))))
        .chain(
            lock.missing
                .iter()
                .map(|m| (&m.key, (m.fingerprint.0.as_str(), None))),
        )
        .collect()
}

/// The changes from `old` to `new`, sorted by engine.
pub fn diff(old: &Lock, new: &Lock) -> Vec<LockChange> {
    let before = entries(old);
    let after = entries(new);
    let mut changes = Vec::new();
    for (key, &(fingerprint, sha256)) in &after {
        let change = match before.get(key) {
            None => Some(LockChange::Added((*key).clone())),
            Some(&(old_fp, _)) if old_fp != fingerprint => Some(LockChange::Fingerprint {
                key: (*key).clone(),
                old: old_fp.to_string(),
                new: fingerprint.to_string(),
            }),
            Some(&(_, old_sha)) => match (old_sha, sha256) {
                (Some(old), Some(new)) if old != new => Some(LockChange::Bytes {
                    key: (*key).clone(),
                    old: old.to_string(),
                    new: new.to_string(),
                }),
                (Some(_), None) => Some(LockChange::Vanished((*key).clone())),
                (None, Some(_)) => Some(LockChange::Appeared((*key).clone())),
                _ => None,
            },
        };
        changes.extend(change);
    }
    changes.extend(
        before
            .keys()
            .filter(|k| !after.contains_key(*k))
            .map(|k| LockChange::Removed((*k).clone())),
    );
    changes.sort_by(|a, b| change_key(a).cmp(change_key(b)));
    changes
}

fn change_key(change: &LockChange) -> &EngineKey {
    match change {
        LockChange::Added(key)
        | LockChange::Removed(key)
        | LockChange::Vanished(key)
        | LockChange::Appeared(key)
        | LockChange::Fingerprint { key, .. }
        | LockChange::Bytes { key, .. } => key,
    }
}

/// The changes as lines that fit one screen.
pub fn render_diff(changes: &[LockChange]) -> String {
    let mut out: String = changes
        .iter()
        .take(SHOWN)
        .map(|c| format!("  {c}\n"))
        .collect();
    if changes.len() > SHOWN {
        out.push_str(&format!("  … and {} more\n", changes.len() - SHOWN));
    }
    out
}
