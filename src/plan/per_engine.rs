//! What the local cache and the remote hold of the desired engines.

use crate::store::LocalEngine;

use super::RemoteEngine;

/// What was observed of each desired engine, position for position with the desired engines it
/// was observed for. Engines are looked up in the desired engines' order, so what was found is
/// kept in that order: a map keyed by 10,000 cloned names cost a no-op plan more to build, hash
/// and free than the lookups it served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerEngine<T>(Vec<Option<T>>);

/// What the local cache holds of each desired engine.
pub type LocalEngines = PerEngine<LocalEngine>;

/// What the remote holds of each desired engine.
pub type RemoteEngines = PerEngine<RemoteEngine>;

impl<T> Default for PerEngine<T> {
    fn default() -> Self {
        PerEngine(Vec::new())
    }
}

/// Collected in the desired engines' order.
impl<T> FromIterator<Option<T>> for PerEngine<T> {
    fn from_iter<I: IntoIterator<Item = Option<T>>>(found: I) -> Self {
        PerEngine(found.into_iter().collect())
    }
}

impl<T> PerEngine<T> {
    /// `found[i]`: what was observed of the `i`-th desired engine.
    pub fn new(found: Vec<Option<T>>) -> Self {
        PerEngine(found)
    }

    /// What was observed of the desired engine at `position`.
    pub fn get(&self, position: usize) -> Option<&T> {
        self.0.get(position)?.as_ref()
    }

    /// Records what is now known of the desired engine at `position`.
    pub fn set(&mut self, position: usize, found: Option<T>) {
        if let Some(slot) = self.0.get_mut(position) {
            *slot = found;
        }
    }

    /// What was observed of the desired engines that are `selected` (position for position).
    pub(super) fn narrowed(&self, selected: &[bool]) -> Self
    where
        T: Clone,
    {
        (self.0.iter().zip(selected))
            .filter(|(_, selected)| **selected)
            .map(|(found, _)| found.clone())
            .collect()
    }

    /// How many desired engines were observed.
    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    /// From engines looked up by name, for `desired`.
    #[cfg(test)]
    pub(crate) fn by_key(
        desired: &[super::DesiredEngine],
        found: &std::collections::HashMap<crate::identity::EngineKey, T>,
    ) -> Self
    where
        T: Clone,
    {
        PerEngine(desired.iter().map(|d| found.get(&d.key).cloned()).collect())
    }
}
