//! Listing a family for the engines a plan wants: what the remote shows of each, position for
//! position with their names, and nothing more.
//!
//! A no-op plan of 10,000 engines lists 20,000 objects. Filing each under a parsed `EngineKey`
//! in maps, as `doctor` needs (`RemoteListing`), cost a plan about a tenth of its CPU and
//! then a map lookup per field per engine; a name the plan wants is valid by construction and
//! is found by comparing strings, and the names it does not want are not parsed at all.

use std::collections::HashMap;
use std::sync::Arc;

use foldhash::fast::RandomState;

use super::listing::{ListingSink, ObjectKind, ObjectName, SpanRequest};
use super::{ObjectVersion, Remote, RemoteError};

/// Each wanted engine's file name and its position. A plan looks up 30,000 names in it, and a
/// binary search of 10,000 names that share long prefixes cost a tenth of its CPU.
type Positions = HashMap<String, usize, RandomState>;

/// What a LIST of a family shows of the wanted engines.
#[derive(Debug, Clone, Default)]
pub struct WantedListing {
    positions: Arc<Positions>,
    /// By position.
    listed: Vec<ListedEngine>,
    /// Other engines of the family with a sidecar, sorted: what a memo of the remote's
    /// sidecars may keep beside the wanted ones.
    other_sidecars: Vec<String>,
}

/// What a LIST shows of one engine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListedEngine {
    /// The engine object's size, when listed.
    pub size: Option<u64>,
    /// The sidecar's version, when listed: what a memo of its contents is keyed by.
    pub sidecar: Option<ObjectVersion>,
    /// Whether a build lease is on it (a builder is at work, or crashed).
    pub leased: bool,
    /// The names that have signed it (`{file}.sig/{NAME}` objects), in key order.
    pub signers: Vec<String>,
}

impl ListedEngine {
    /// Takes what another span listed of the same engine (its sidecar and signatures follow
    /// the engine object in key order, and a span may end between them).
    fn merge(&mut self, other: ListedEngine) {
        self.size = self.size.or(other.size);
        self.sidecar = self.sidecar.take().or(other.sidecar);
        self.leased |= other.leased;
        self.signers.extend(other.signers);
    }
}

impl WantedListing {
    /// What the listing shows of the wanted engine `file`; `None` when it was not wanted.
    pub fn get(&self, file: &str) -> Option<&ListedEngine> {
        Some(&self.listed[*self.positions.get(file)?])
    }

    /// Whether the listing shows a sidecar of the engine `file`, wanted or not.
    pub fn shows_sidecar(&self, file: &str) -> bool {
        match self.get(file) {
            Some(listed) => listed.sidecar.is_some(),
            None => self
                .other_sidecars
                .binary_search_by(|n| n.as_str().cmp(file))
                .is_ok(),
        }
    }

    fn assemble(positions: Arc<Positions>, spans: Vec<WantedSpan>) -> WantedListing {
        let mut listed = vec![ListedEngine::default(); positions.len()];
        let mut other_sidecars = Vec::new();
        for span in spans {
            for (position, found) in span.listed {
                listed[position].merge(found);
            }
            other_sidecars.extend(span.other_sidecars);
        }
        other_sidecars.sort_unstable();
        other_sidecars.dedup();
        WantedListing {
            positions,
            listed,
            other_sidecars,
        }
    }
}

/// What one span of the listing found of the wanted engines (all of the family's: an engine's
/// objects may fall on either side of a span's end).
struct WantedSpan {
    positions: Arc<Positions>,
    /// In key order; an engine whose objects were interleaved with another's appears twice.
    listed: Vec<(usize, ListedEngine)>,
    other_sidecars: Vec<String>,
}

impl WantedSpan {
    fn new(positions: Arc<Positions>) -> WantedSpan {
        WantedSpan {
            positions,
            listed: Vec::new(),
            other_sidecars: Vec::new(),
        }
    }

    fn entry(&mut self, position: usize) -> &mut ListedEngine {
        if self.listed.last().is_none_or(|(p, _)| *p != position) {
            self.listed.push((position, ListedEngine::default()));
        }
        &mut self.listed.last_mut().expect("just pushed").1
    }
}

impl ListingSink for WantedSpan {
    fn add(&mut self, name: &str, size: u64, version: impl FnOnce() -> ObjectVersion) {
        let object = ObjectName::of(name);
        let Some(&position) = self.positions.get(object.engine) else {
            if matches!(object.kind, ObjectKind::Sidecar) {
                self.other_sidecars.push(object.engine.to_string());
            }
            return;
        };
        let engine = self.entry(position);
        match object.kind {
            ObjectKind::Engine => engine.size = Some(size),
            ObjectKind::Sidecar => engine.sidecar = Some(version()),
            ObjectKind::Lease => engine.leased = true,
            ObjectKind::Signature(signer) => engine.signers.push(signer.to_string()),
        }
    }

    /// Not one of the family's names, so not one of the wanted engines.
    fn outside(&mut self, _location: &str) {}
}

/// How a family is split for listing: wanted engines per span, and the names a span's first
/// page asks for (S3 has no end to a LIST but its page size: a full page would list past the
/// span).
#[derive(Debug, Clone, Copy)]
pub struct SpanSize {
    pub engines: usize,
    pub keys: usize,
}

impl Remote {
    /// What the family shows of the wanted engines `names` (file names, any order), listed as
    /// concurrent spans of `size.engines` of them where the store lists in key order (S3): one
    /// round trip for a family of many pages; one plain listing elsewhere. Each span asks
    /// first for a page of `size.keys` names, then for full pages while the span goes on.
    pub async fn list_wanted(
        &self,
        family: &str,
        mut names: Vec<String>,
        size: SpanSize,
    ) -> Result<WantedListing, RemoteError> {
        names.sort_unstable();
        names.dedup();
        let bounds: Vec<String> = names
            .iter()
            .step_by(size.engines.max(1))
            .skip(1)
            .cloned()
            .collect();
        // Made at its size: grown, it rehashed 10,000 names before the first span was sent.
        let mut positions =
            Positions::with_capacity_and_hasher(names.len(), RandomState::default());
        positions.extend(names.into_iter().zip(0..));
        let positions = Arc::new(positions);
        if !self.backend.lists_in_order() || bounds.is_empty() {
            let span = || WantedSpan::new(positions.clone());
            let whole = self.list_span(family, SpanRequest::WHOLE, span).await?;
            return Ok(WantedListing::assemble(positions, vec![whole]));
        }
        // Span i holds the names in (bounds[i-1], bounds[i]]; the first starts at the
        // beginning, the last runs to the end: every name falls in exactly one. Each span is a
        // task of its own, so that the pages are read on every worker thread, not all on the
        // one that polls the plan; the tasks end with the set if one span fails.
        let mut spans = tokio::task::JoinSet::new();
        for i in 0..=bounds.len() {
            let (remote, family) = (self.clone(), family.to_string());
            let positions = positions.clone();
            let after = i.checked_sub(1).map(|j| bounds[j].clone());
            let through = bounds.get(i).cloned();
            spans.spawn(async move {
                let request = SpanRequest {
                    after: after.as_deref(),
                    through: through.as_deref(),
                    first_page: Some(size.keys),
                };
                let span = || WantedSpan::new(positions.clone());
                (i, remote.list_span(&family, request, span).await)
            });
        }
        let mut listed = Vec::with_capacity(spans.len());
        while let Some(joined) = spans.join_next().await {
            let (i, span) = joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
            listed.push((i, span?));
        }
        listed.sort_unstable_by_key(|(i, _)| *i);
        let spans = listed.into_iter().map(|(_, span)| span).collect();
        Ok(WantedListing::assemble(positions, spans))
    }
}
