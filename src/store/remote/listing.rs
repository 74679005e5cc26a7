//! Listing a family, span by span into a sink, and reading sidecars. `doctor` files every name
//! ([`RemoteListing`]); a plan files only the engines it wants (`wanted_listing`).

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

impl ObjectVersion {
    /// The version of an object the store listed; `dir`: the directory its objects are files
    /// under, for a `file://` remote. A directory's ETag (object_store's: inode, mtime and size)
    /// survives an in-place rewrite of the same length whose mtime was set back; the ctime does
    /// not (no one can set it), so it is added, as the local cache's index keys on it. A file
    /// gone since it was listed has no ETag, and a version without one is never memoised.
    fn of(meta: &ObjectMeta, dir: Option<&std::path::Path>) -> ObjectVersion {
        use std::os::unix::fs::MetadataExt;
        let e_tag = match dir {
            None => meta.e_tag.clone(),
            Some(dir) => std::fs::symlink_metadata(dir.join(meta.location.as_ref()))
                .ok()
                .zip(meta.e_tag.as_ref())
                .map(|(file, e_tag)| format!("{e_tag}-{:x}.{:x}", file.ctime(), file.ctime_nsec())),
        };
        ObjectVersion {
            e_tag,
            size: meta.size,
            last_modified_ms: meta.last_modified.timestamp_millis(),
        }
    }
}

/// What an object under a family is, by its name relative to the family: which engine's it is
/// (a name not yet checked) and as what.
pub(super) struct ObjectName<'a> {
    pub(super) engine: &'a str,
    pub(super) kind: ObjectKind<'a>,
}

pub(super) enum ObjectKind<'a> {
    Engine,
    Sidecar,
    Lease,
    /// A signature, by the name of its signer.
    Signature(&'a str),
}

impl ObjectName<'_> {
    pub(super) fn of(name: &str) -> ObjectName<'_> {
        if let Some((engine, signer)) = split_signature_path(name) {
            return ObjectName {
                engine,
                kind: ObjectKind::Signature(signer),
            };
        }
        let (engine, kind) = if let Some(e) = name.strip_suffix(SIDECAR_SUFFIX) {
            (e, ObjectKind::Sidecar)
        } else if let Some(e) = name.strip_suffix(LEASE_SUFFIX) {
            (e, ObjectKind::Lease)
        } else {
            (name, ObjectKind::Engine)
        };
        ObjectName { engine, kind }
    }
}

/// Where the objects of a listing go, in key order. Each kind of listing files what it is after.
pub(super) trait ListingSink {
    /// An object named `name` relative to the family's prefix; its version is made on demand.
    fn add(&mut self, name: &str, size: u64, version: impl FnOnce() -> ObjectVersion);
    /// An object the server listed outside the family's prefix.
    fn outside(&mut self, location: &str);
}

/// Every name of a family, classified: what `doctor` looks at.
struct WholeFamily<'a> {
    family: &'a str,
    listing: RemoteListing,
}

impl ListingSink for WholeFamily<'_> {
    fn add(&mut self, name: &str, size: u64, version: impl FnOnce() -> ObjectVersion) {
        let family = self.family;
        let listing = &mut self.listing;
        let object = ObjectName::of(name);
        let key = match EngineKey::parse(&format!("{family}/{}", object.engine)) {
            Ok((key, _)) if key.family == family => key,
            _ => return listing.rejected.push(format!("{family}/{name}")),
        };
        match object.kind {
            ObjectKind::Engine => {
                listing.engines.insert(key, size);
            }
            ObjectKind::Sidecar => {
                listing.sidecars.insert(key, version());
            }
            ObjectKind::Lease => {
                listing.leases.insert(key);
            }
            ObjectKind::Signature(signer) => {
                listing
                    .signers
                    .entry(key)
                    .or_default()
                    .push(signer.to_string());
            }
        }
    }

    fn outside(&mut self, location: &str) {
        self.listing.rejected.push(location.to_string());
    }
}

/// Which names of a family to list: those in (`after`, `through`], either end open, the first
/// page of at most `first_page` names when given.
#[derive(Debug, Clone, Copy)]
pub(super) struct SpanRequest<'a> {
    pub(super) after: Option<&'a str>,
    pub(super) through: Option<&'a str>,
    pub(super) first_page: Option<usize>,
}

impl SpanRequest<'_> {
    pub(super) const WHOLE: SpanRequest<'static> = SpanRequest {
        after: None,
        through: None,
        first_page: None,
    };
}

/// A listing of a family as its objects come in, up to the name `through`.
struct Span<'a, S> {
    /// The family's key prefix, `…/{family}/`.
    base: String,
    through: Option<&'a str>,
    sink: S,
}

impl<S: ListingSink> Span<'_, S> {
    /// Files the object at `location` (a full key); `false` once it is past the span.
    fn add(&mut self, location: &str, size: u64, version: impl FnOnce() -> ObjectVersion) -> bool {
        let Some(name) = location.strip_prefix(&self.base) else {
            self.sink.outside(location);
            return true;
        };
        if self.through.is_some_and(|last| name > last) {
            return false;
        }
        self.sink.add(name, size, version);
        true
    }
}

impl Remote {
    /// ONE list call (paginated by the server as needed) under `{prefix}/{family}/`.
    pub async fn list_family(&self, family: &str) -> Result<RemoteListing, RemoteError> {
        let whole = || WholeFamily {
            family,
            listing: RemoteListing::default(),
        };
        let listed = self.list_span(family, SpanRequest::WHOLE, whole).await?;
        Ok(listed.listing)
    }

    /// The names of the family in the span, filed by a sink from `new_sink`. S3's pages are
    /// each asked again on their own (`S3Lister::page`); the object store's listing stream is
    /// not, so a listing of it cut on the way is listed again from its start, into a new sink:
    /// listing is idempotent, and one lost page must not fail a plan of 10,000 engines.
    pub(super) async fn list_span<S: ListingSink>(
        &self,
        family: &str,
        span: SpanRequest<'_>,
        new_sink: impl Fn() -> S,
    ) -> Result<S, RemoteError> {
        match self.lister {
            Some(_) => self.list_span_once(family, span, new_sink()).await,
            None => retrying(|| self.list_span_once(family, span, new_sink())).await,
        }
    }

    async fn list_span_once<S: ListingSink>(
        &self,
        family: &str,
        SpanRequest {
            after,
            through,
            first_page,
        }: SpanRequest<'_>,
        sink: S,
    ) -> Result<S, RemoteError> {
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
            base: format!("{}/", dir.as_ref()),
            through,
            sink,
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
                let version = || ObjectVersion::of(&meta, self.backend.dir());
                if !span.add(meta.location.as_ref(), meta.size, version) {
                    break;
                }
            }
            return Ok(span.sink);
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
                    return Ok(span.sink);
                }
            }
            match page.next {
                Some(next) => token = Some(next),
                None => return Ok(span.sink),
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
