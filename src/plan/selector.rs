//! Selectors (`model:precision:sm_NN`, `*` for any part) and the forced rebuilds they pick.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use super::DesiredEngine;
use crate::identity::{self, EngineId, GpuArch, NameError, Precision};

/// Picks engines: `model`, `model:precision`, `model:precision:arch`, each part may be `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    model: Option<String>,
    precision: Option<Precision>,
    arch: Option<GpuArch>,
    text: String,
}

#[derive(Debug, thiserror::Error)]
#[error(
    "bad selector `{text}`: {why}; use `model`, `model:precision` or `model:precision:sm_NN` (`*` matches any)"
)]
pub struct SelectorError {
    text: String,
    why: String,
}

impl std::str::FromStr for Selector {
    type Err = SelectorError;
    fn from_str(text: &str) -> Result<Self, SelectorError> {
        let fail = |why: String| SelectorError {
            text: text.to_string(),
            why,
        };
        let parts: Vec<&str> = text.split(':').collect();
        if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
            return Err(fail("expected at most three non-empty parts".into()));
        }
        let part = |i: usize| parts.get(i).copied().filter(|p| *p != "*");
        let precision = part(1)
            .map(str::parse)
            .transpose()
            .map_err(|e: NameError| fail(e.to_string()))?;
        let arch = part(2)
            .map(str::parse)
            .transpose()
            .map_err(|e: NameError| fail(e.to_string()))?;
        Ok(Selector {
            model: part(0).map(str::to_string),
            precision,
            arch,
            text: text.to_string(),
        })
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Selector {
    /// The model it names, unless `*`.
    pub fn model(&self) -> Option<&str> {
        self.model.as_deref()
    }

    pub fn matches(&self, id: &EngineId) -> bool {
        self.model.as_ref().is_none_or(|m| *m == id.model_name)
            && self.precision.is_none_or(|p| p == id.precision)
            && self.arch.is_none_or(|a| a == id.gpu_arch)
    }
}

/// A selector that picks no engine of the manifest: a typo there would otherwise plan (or
/// rebuild) nothing and succeed.
#[derive(Debug, thiserror::Error)]
#[error("`{selector}` matches no engine of {}{hint}", manifest.display())]
pub struct UnmatchedSelector {
    selector: String,
    manifest: PathBuf,
    hint: String,
}

/// Every selector must pick at least one wanted engine.
pub fn check_selectors<'a>(
    manifest: &Path,
    desired: &[DesiredEngine],
    selectors: impl IntoIterator<Item = &'a Selector>,
) -> Result<(), UnmatchedSelector> {
    let Some(unmatched) = selectors
        .into_iter()
        .find(|s| !desired.iter().any(|d| s.matches(&d.id)))
    else {
        return Ok(());
    };
    let models: BTreeSet<&str> = desired.iter().map(|d| d.id.model_name.as_str()).collect();
    let hint = match unmatched
        .model
        .as_deref()
        .filter(|m| !models.contains(m))
        .map(|m| identity::nearest(m, models.iter().copied()))
    {
        Some(Some(near)) => format!("; did you mean `{near}`?"),
        Some(None) => format!(
            "; its models are {}",
            models
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        // The model exists: the precision or arch is not among the manifest's.
        None => "; check its precision and arch against the manifest's".to_string(),
    };
    Err(UnmatchedSelector {
        selector: unmatched.text.clone(),
        manifest: manifest.to_path_buf(),
        hint,
    })
}

/// Force rebuilds: of everything, or of what the selectors pick.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Force {
    #[default]
    Nothing,
    All,
    Selected(Vec<Selector>),
}

impl Force {
    /// The selectors as typed, `*` standing for all.
    pub fn selectors(&self) -> Vec<String> {
        match self {
            Force::Nothing => Vec::new(),
            Force::All => vec!["*".to_string()],
            Force::Selected(selectors) => selectors.iter().map(Selector::to_string).collect(),
        }
    }

    /// The selectors that pick engines (none for `Nothing` and `All`).
    pub fn selected(&self) -> &[Selector] {
        match self {
            Force::Selected(selectors) => selectors,
            Force::Nothing | Force::All => &[],
        }
    }

    /// From `--force-rebuild` values: none, `*` (all), or selectors.
    pub fn from_selectors(selectors: &[Selector]) -> Force {
        match selectors {
            [] => Force::Nothing,
            all if all.iter().any(|s| s.text == "*") => Force::All,
            some => Force::Selected(some.to_vec()),
        }
    }

    pub(super) fn applies(&self, id: &EngineId) -> bool {
        match self {
            Force::Nothing => false,
            Force::All => true,
            Force::Selected(selectors) => selectors.iter().any(|s| s.matches(id)),
        }
    }
}
