//! What the local cache holds of the desired engines.

use crate::store::LocalEngine;

/// What the local cache holds of each desired engine, position for position with the desired
/// engines it was observed for. Engines are looked up in the desired engines' order, so what
/// was found is kept in that order: a map keyed by 10,000 cloned names cost a no-op plan more
/// to build, hash and free than the lookups it served.
#[derive(Debug, Default)]
pub struct LocalEngines(Vec<Option<LocalEngine>>);

/// Filled in the desired engines' order (a plan narrowed to targets unzips into it).
impl Extend<Option<LocalEngine>> for LocalEngines {
    fn extend<I: IntoIterator<Item = Option<LocalEngine>>>(&mut self, found: I) {
        self.0.extend(found)
    }
}

impl LocalEngines {
    /// `found[i]`: what the cache holds of the `i`-th desired engine.
    pub fn new(found: Vec<Option<LocalEngine>>) -> Self {
        LocalEngines(found)
    }

    /// What the cache holds of the desired engine at `position`.
    pub fn get(&self, position: usize) -> Option<&LocalEngine> {
        self.0.get(position)?.as_ref()
    }

    /// How many desired engines were observed.
    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    /// What was found, in the desired engines' order.
    pub(super) fn as_slice(&self) -> &[Option<LocalEngine>] {
        &self.0
    }

    /// From engines looked up by name, for `desired`.
    #[cfg(test)]
    pub(crate) fn by_key(
        desired: &[super::DesiredEngine],
        found: &std::collections::HashMap<crate::identity::EngineKey, LocalEngine>,
    ) -> Self {
        LocalEngines(desired.iter().map(|d| found.get(&d.key).cloned()).collect())
    }
}
