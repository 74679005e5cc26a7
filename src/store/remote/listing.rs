//! Listing a family and reading sidecars: what `plan` asks of a remote.

use std::collections::{BTreeMap, BTreeSet};

use futures::stream::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStoreExt};
use serde::{Deserialize, Serialize};

use super::lease::LEASE_SUFFIX;
use super::signatures::split_signature_path;
use super::{Remote, RemoteError, retrying};
use crate::identity::{self, EngineKey, SIDECAR_SUFFIX};

/// Sidecars are small JSON; anything bigger is not one of ours and is not read into memory.
const MAX_SIDECAR_BYTES: u64 = 1024 * 1024;

/// What one LIST under `{prefix}/{family}/` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteListing {
    /// Engine objects and their sizes.
    pub engines: BTreeMap<EngineKey, u64>,
    /// Each sidecar's version as the LIST shows it: what a memo of its contents is keyed by.
    pub sidecars: BTreeMap<EngineKey, ObjectVersion>,
    /// Engines with a build lease on them (a builder is at work, or crashed).
    pub leases: BTreeSet<EngineKey>,
    /// The names that have signed each engine (`{file}.sig/{NAME}` objects).
    pub signers: BTreeMap<EngineKey, Vec<String>>,
    /// Names under the family (relative to the prefix) that are neither an engine nor a sidecar:
    /// foreign or hostile. Shown to people, never used as paths.
    pub rejected: Vec<String>,
}

/// What a LIST says about one object. S3 gives every write a new ETag (and a new
/// last-modified time), so a sidecar whose version is unchanged has unchanged bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ObjectVersion {
    pub e_tag: Option<String>,
    pub size: u64,
    /// Milliseconds since the Unix epoch.
    pub last_modified_ms: i64,
}

impl RemoteListing {
    /// The listings of consecutive spans, in key order, as one. Each map is built once from
    /// its entries, already sorted (merging span by span into a growing map cost a sixth of a
    /// warm 10,000-engine plan), and the two big ones at once.
    fn concat(mut spans: Vec<RemoteListing>) -> RemoteListing {
        fn all<C>(spans: &mut [RemoteListing], field: impl Fn(&mut RemoteListing) -> &mut C) -> C
        where
            C: Default + IntoIterator + FromIterator<C::Item>,
        {
            spans
                .iter_mut()
                .flat_map(|span| std::mem::take(field(span)))
                .collect()
        }
        let mut signers: BTreeMap<EngineKey, Vec<String>> = BTreeMap::new();
        for (key, names) in spans
            .iter_mut()
            .flat_map(|s| std::mem::take(&mut s.signers))
        {
            signers.entry(key).or_default().extend(names);
        }
        let (engine_spans, sidecar_spans): (Vec<_>, Vec<_>) = spans
            .iter_mut()
            .map(|s| {
                (
                    std::mem::take(&mut s.engines),
                    std::mem::take(&mut s.sidecars),
                )
            })
            .unzip();
        let (engines, sidecars) = rayon::join(
            || engine_spans.into_iter().flatten().collect(),
            || sidecar_spans.into_iter().flatten().collect(),
        );
        RemoteListing {
            engines,
            sidecars,
            leases: all(&mut spans, |s| &mut s.leases),
            signers,
            rejected: all(&mut spans, |s| &mut s.rejected),
        }
    }
}

impl ObjectVersion {
    fn of(meta: &ObjectMeta) -> ObjectVersion {
        ObjectVersion {
            e_tag: meta.e_tag.clone(),
            size: meta.size,
            last_modified_ms: meta.last_modified.timestamp_millis(),
        }
    }
}

enum ObjectKind {
    Engine,
    Sidecar,
    Lease,
}

/// Which names of a family to list: those in (`after`, `through`], either end open, the first
/// page of at most `first_page` names when given.
#[derive(Debug, Clone, Copy)]
struct SpanRequest<'a> {
    after: Option<&'a str>,
    through: Option<&'a str>,
    first_page: Option<usize>,
}

impl SpanRequest<'_> {
    const WHOLE: SpanRequest<'static> = SpanRequest {
        after: None,
        through: None,
        first_page: None,
    };
}

/// A listing of `family` as its objects come in, up to the name `through`.
struct Span<'a> {
    family: &'a str,
    /// The family's key prefix, `…/{family}/`.
    base: String,
    through: Option<&'a str>,
    listing: RemoteListing,
}

impl Span<'_> {
    /// Files the object at `location` (a full key); `false` once it is past the span.
    fn add(&mut self, location: &str, size: u64, version: impl FnOnce() -> ObjectVersion) -> bool {
        let family = self.family;
        let listing = &mut self.listing;
        let Some(name) = location.strip_prefix(&self.base) else {
            listing.rejected.push(location.to_string());
            return true;
        };
        if self.through.is_some_and(|last| name > last) {
            return false;
        }
        let relative = format!("{family}/{name}");
        if let Some((engine, signer)) = split_signature_path(&relative) {
            match EngineKey::parse(engine) {
                Ok((key, _)) if key.family == family => {
                    listing
                        .signers
                        .entry(key)
                        .or_default()
                        .push(signer.to_string());
                }
                _ => listing.rejected.push(relative),
            }
            return true;
        }
        let (engine_name, kind) = if let Some(e) = relative.strip_suffix(SIDECAR_SUFFIX) {
            (e, ObjectKind::Sidecar)
        } else if let Some(e) = relative.strip_suffix(LEASE_SUFFIX) {
            (e, ObjectKind::Lease)
        } else {
            (relative.as_str(), ObjectKind::Engine)
        };
        match EngineKey::parse(engine_name) {
            Ok((key, _)) if key.family == family => match kind {
                ObjectKind::Sidecar => {
                    listing.sidecars.insert(key, version());
                }
                ObjectKind::Lease => {
                    listing.leases.insert(key);
                }
                ObjectKind::Engine => {
                    listing.engines.insert(key, size);
                }
            },
            _ => listing.rejected.push(relative),
        }
        true
    }
}

impl Remote {
    /// ONE list call (paginated by the server as needed) under `{prefix}/{family}/`.
    pub async fn list_family(&self, family: &str) -> Result<RemoteListing, RemoteError> {
        self.list_span(family, SpanRequest::WHOLE).await
    }

    /// The family listed as concurrent spans split at `bounds` (object names relative to the
    /// family, e.g. engine file names, any order): one round trip for a family of many pages
    /// where the store lists in key order (S3); one plain listing elsewhere. Each span asks
    /// first for a page of `keys_per_span` names (S3 has no end to a LIST but its page size: a
    /// full page would list past the span), then for full pages while the span goes on.
    pub async fn list_family_split(
        &self,
        family: &str,
        bounds: &[String],
        keys_per_span: usize,
    ) -> Result<RemoteListing, RemoteError> {
        if !self.backend.lists_in_order() || bounds.is_empty() {
            return self.list_family(family).await;
        }
        let mut bounds = bounds.to_vec();
        bounds.sort_unstable();
        bounds.dedup();
        // Span i holds the names in (bounds[i-1], bounds[i]]; the first starts at the
        // beginning, the last runs to the end: every name falls in exactly one. Each span is a
        // task of its own, so that the pages are read on every worker thread, not all on the
        // one that polls the plan; the tasks end with the set if one span fails.
        let mut spans = tokio::task::JoinSet::new();
        for i in 0..=bounds.len() {
            let remote = self.clone();
            let family = family.to_string();
            let after = i.checked_sub(1).map(|j| bounds[j].clone());
            let through = bounds.get(i).cloned();
            spans.spawn(async move {
                let span = SpanRequest {
                    after: after.as_deref(),
                    through: through.as_deref(),
                    first_page: Some(keys_per_span),
                };
                (i, remote.list_span(&family, span).await)
            });
        }
        let mut listed = Vec::with_capacity(spans.len());
        while let Some(joined) = spans.join_next().await {
            let (i, span) = joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
            listed.push((i, span?));
        }
        listed.sort_unstable_by_key(|(i, _)| *i);
        Ok(RemoteListing::concat(
            listed.into_iter().map(|(_, span)| span).collect(),
        ))
    }

    /// The names of the family in the span. S3's pages are each asked again on their own
    /// (`S3Lister::page`); the object store's listing stream is not, so a listing of it cut on
    /// the way is listed again from its start: listing is idempotent, and one lost page must
    /// not fail a plan of 10,000 engines.
    async fn list_span(
        &self,
        family: &str,
        span: SpanRequest<'_>,
    ) -> Result<RemoteListing, RemoteError> {
        match self.lister {
            Some(_) => self.list_span_once(family, span).await,
            None => retrying(|| self.list_span_once(family, span)).await,
        }
    }

    async fn list_span_once(
        &self,
        family: &str,
        SpanRequest {
            after,
            through,
            first_page,
        }: SpanRequest<'_>,
    ) -> Result<RemoteListing, RemoteError> {
        identity::validate_family(family).map_err(|e| RemoteError::InvalidName {
            name: family.to_string(),
            kind: "family",
            why: e.to_string(),
        })?;
        let dir = self.location(family)?;
        let start = after
            .map(|name| self.location(&format!("{family}/{name}")))
            .transpose()?;
        let what = format!("listing {family}/");
        let mut span = Span {
            family,
            base: format!("{}/", dir.as_ref()),
            through,
            listing: RemoteListing::default(),
        };
        let Some(lister) = &self.lister else {
            let mut stream = match &start {
                Some(start) => self.store.list_with_offset(Some(&dir), start),
                None => self.store.list(Some(&dir)),
            };
            while let Some(meta) = stream
                .try_next()
                .await
                .map_err(|e| self.classify(&what, e))?
            {
                let version = || ObjectVersion::of(&meta);
                if !span.add(meta.location.as_ref(), meta.size, version) {
                    break;
                }
            }
            return Ok(span.listing);
        };
        let mut token = None;
        let mut max_keys = first_page;
        loop {
            let page = lister
                .page(
                    &span.base,
                    start.as_ref().map(|s| s.as_ref()),
                    token.as_deref(),
                    max_keys.take(),
                )
                .await
                .map_err(|e| self.origin().classify_listing(&what, e))?;
            for object in page.objects {
                // Names the object store would refuse as paths are refused here too.
                Path::parse(&object.key).map_err(|e| self.classify(&what, e.into()))?;
                let version = || ObjectVersion {
                    e_tag: object.e_tag.clone(),
                    size: object.size,
                    last_modified_ms: object.last_modified_ms,
                };
                if !span.add(&object.key, object.size, version) {
                    return Ok(span.listing);
                }
            }
            match page.next {
                Some(next) => token = Some(next),
                None => return Ok(span.listing),
            }
        }
    }

    /// The sidecar's bytes, or `None` when there is none.
    pub async fn read_sidecar(&self, key: &EngineKey) -> Result<Option<Vec<u8>>, RemoteError> {
        self.checked(key)?;
        let location = self.location(&key.sidecar_path())?;
        let what = format!("reading {}", key.sidecar_path());
        let result = match self.store.get(&location).await {
            Ok(result) => result,
            Err(e @ object_store::Error::NotFound { .. }) => {
                return match self.classify(&what, e) {
                    no_bucket @ RemoteError::NoBucket { .. } => Err(no_bucket),
                    _ => Ok(None),
                };
            }
            Err(e) => return Err(self.classify(&what, e)),
        };
        if result.meta.size > MAX_SIDECAR_BYTES {
            return Err(RemoteError::Foreign {
                what: key.sidecar_path(),
                detail: format!(
                    "the remote sidecar is {} bytes, not a trtctl sidecar",
                    result.meta.size
                ),
            });
        }
        let bytes = result.bytes().await.map_err(|e| self.classify(&what, e))?;
        Ok(Some(bytes.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    use object_store::PutPayload;
    use object_store::path::Path;

    use super::*;
    use crate::store::remote::test_store::{Behaviour, TestStore, remote_on};

    async fn family_of_three(store: &TestStore) {
        for name in [
            "m_v1_fp16_sm_86_10.3.0.trt",
            "m_v1_fp16_sm_86_10.3.0.trt.json",
            "m_v1_fp32_sm_86_10.3.0.trt",
        ] {
            let location = Path::from(format!("fam/{name}"));
            store
                .put(&location, PutPayload::from_static(b"x"))
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn a_listing_cut_on_the_way_is_listed_again_whole() {
        let store = Arc::new(TestStore::with(Behaviour {
            list_cut_once: true,
            ..Behaviour::default()
        }));
        family_of_three(&store).await;
        let remote = remote_on(store.clone(), 1, 1);
        let listed = remote.list_family("fam").await.unwrap();
        assert_eq!(store.lists.load(Ordering::SeqCst), 2, "listed again once");
        // The same store, listed again without a cut: the retried listing missed nothing.
        let uncut = remote.list_family("fam").await.unwrap();
        assert_eq!(listed, uncut);
        assert_eq!(listed.engines.len(), 2);
        assert_eq!(listed.sidecars.len(), 1);
    }
}
