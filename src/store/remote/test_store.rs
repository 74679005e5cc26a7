//! An in-memory object store for the transfer and listing tests: answers like [`InMemory`],
//! and records every ranged GET, can hold one back, cut a body half-way, pace body chunks, slow
//! and count multipart parts, and cut a listing after its first object.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::backend::Backend;
use super::{Access, Remote};
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, UploadPart,
};

/// `len` bytes that differ from their neighbours and do not repeat at any short period, so
/// that a byte written at the wrong offset shows.
pub(super) fn object_bytes(len: u64) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8 ^ (i >> 16) as u8)
        .collect()
}

/// A remote on `store` at its root, with these transfer settings.
pub(super) fn remote_on(store: Arc<TestStore>, part_size: u64, concurrency: usize) -> Remote {
    Remote {
        store,
        lister: None,
        backend: Backend::File { root: None },
        prefix: String::new(),
        display: "test store".into(),
        writable: true,
        part_size,
        concurrency,
        max_in_flight: 64,
        lease_ttl: Duration::from_secs(60),
        secrets: Default::default(),
        access: Access::Directory,
    }
}

/// Bodies come in chunks of this size.
const CHUNK: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Seen {
    /// A GET for this range was sent.
    Get(Range<u64>),
    /// The last chunk of the body of the GET for this range was handed out.
    BodyEnd(Range<u64>),
}

#[derive(Default)]
pub(super) struct Behaviour {
    /// A GET for a range starting here answers after this long.
    pub hold: HashMap<u64, Duration>,
    /// The first answer for a range starting here stops half-way with an error.
    pub cut_once: HashSet<u64>,
    /// Every answer for a range ending here stops half-way with an error.
    pub cut_always: HashSet<u64>,
    /// Between two chunks of a body.
    pub chunk_pause: Duration,
    /// A part upload takes this long.
    pub part_pause: Duration,
    /// The first listing fails after its first object, as a connection lost mid-page does.
    pub list_cut_once: bool,
}

#[derive(Default)]
pub(super) struct TestStore {
    inner: InMemory,
    pub behaviour: Mutex<Behaviour>,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub parts_in_flight: Arc<AtomicUsize>,
    pub most_parts_in_flight: Arc<AtomicUsize>,
    pub parts_done: Arc<AtomicUsize>,
    pub lists: AtomicUsize,
}

impl TestStore {
    pub(super) fn with(behaviour: Behaviour) -> TestStore {
        TestStore {
            behaviour: Mutex::new(behaviour),
            ..TestStore::default()
        }
    }

    pub(super) fn gets(&self) -> Vec<Range<u64>> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter_map(|s| match s {
                Seen::Get(range) => Some(range.clone()),
                Seen::BodyEnd(_) => None,
            })
            .collect()
    }
}

impl fmt::Debug for TestStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TestStore")
    }
}

impl fmt::Display for TestStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TestStore")
    }
}

fn cut(range: &Range<u64>) -> object_store::Error {
    object_store::Error::Generic {
        store: "TestStore",
        source: format!("body of {range:?} cut").into(),
    }
}

#[async_trait]
impl ObjectStore for TestStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        Ok(Box::new(CountedUpload {
            inner: self.inner.put_multipart_opts(location, opts).await?,
            pause: self.behaviour.lock().unwrap().part_pause,
            in_flight: self.parts_in_flight.clone(),
            most: self.most_parts_in_flight.clone(),
            done: self.parts_done.clone(),
        }))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        if options.head {
            return self.inner.get_opts(location, options).await;
        }
        let result = self.inner.get_opts(location, options).await?;
        let range = result.range.clone();
        self.seen.lock().unwrap().push(Seen::Get(range.clone()));
        let (hold, cut_here, pause) = {
            let mut behaviour = self.behaviour.lock().unwrap();
            let cut_here = behaviour.cut_once.remove(&range.start)
                || behaviour.cut_always.contains(&range.end);
            let hold = behaviour.hold.get(&range.start).copied();
            (hold, cut_here, behaviour.chunk_pause)
        };
        if let Some(hold) = hold {
            tokio::time::sleep(hold).await;
        }
        let GetResultPayload::Stream(stream) = result.payload else {
            unreachable!("InMemory answers with a stream")
        };
        let whole: Vec<Bytes> = stream.map(|chunk| chunk.unwrap()).collect().await;
        let whole = whole.concat();
        let keep = if cut_here {
            whole.len() / 2
        } else {
            whole.len()
        };
        let chunks: Vec<Bytes> = whole[..keep]
            .chunks(CHUNK)
            .map(Bytes::copy_from_slice)
            .collect();
        let seen = self.seen.clone();
        let body = futures::stream::unfold(Some(chunks.into_iter().peekable()), move |state| {
            let (seen, range) = (seen.clone(), range.clone());
            async move {
                let mut chunks = state?;
                tokio::time::sleep(pause).await;
                match chunks.next() {
                    Some(chunk) => {
                        if chunks.peek().is_none() && !cut_here {
                            seen.lock().unwrap().push(Seen::BodyEnd(range));
                        }
                        Some((Ok(chunk), Some(chunks)))
                    }
                    None if cut_here => Some((Err(cut(&range)), None)),
                    None => None,
                }
            }
        })
        .boxed();
        Ok(GetResult {
            payload: GetResultPayload::Stream(body),
            ..result
        })
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.lists.fetch_add(1, Ordering::SeqCst);
        let listed = self.inner.list(prefix);
        let cut = std::mem::take(&mut self.behaviour.lock().unwrap().list_cut_once);
        if !cut {
            return listed;
        }
        let lost = object_store::Error::Generic {
            store: "TestStore",
            source: "listing cut after its first object".into(),
        };
        listed
            .take(1)
            .chain(futures::stream::once(async { Err(lost) }))
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

/// A multipart upload whose parts take a while and are counted while in flight.
#[derive(Debug)]
struct CountedUpload {
    inner: Box<dyn MultipartUpload>,
    pause: Duration,
    in_flight: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
    done: Arc<AtomicUsize>,
}

#[async_trait]
impl MultipartUpload for CountedUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let part = self.inner.put_part(data);
        let (pause, in_flight, most, done) = (
            self.pause,
            self.in_flight.clone(),
            self.most.clone(),
            self.done.clone(),
        );
        Box::pin(async move {
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(pause).await;
            let result = part.await;
            in_flight.fetch_sub(1, Ordering::SeqCst);
            done.fetch_add(1, Ordering::SeqCst);
            result
        })
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        self.inner.complete().await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.inner.abort().await
    }
}
