//! A large object as concurrent ranged GETs, every one pinned to the object's ETag (an object
//! replaced half-way fails rather than mixing), a range cut off half-way asked for again from
//! where it stopped.
//!
//! Into a file ([`fetch_into_file`]), network, writing and hashing overlap: each range streams
//! straight to its place in the file in positioned writes, and one thread hashes the file from
//! the start as far as it is written without a gap, reading it back from the page cache. No range
//! is held whole: memory is the writes in flight, about two [`WRITE_CHUNK`]s per range. Each
//! task asks for its next range shortly before its current one ends, so that the next request's
//! round trip overlaps the end of this body instead of following it.

use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore};
use tokio::sync::{Notify, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use super::hashing::{Frontier, hash_as_written};
use crate::task::joined;

/// Tries per range, each from where the last one stopped; then the error goes up (and the
/// caller may retry the whole transfer).
const RANGE_ATTEMPTS: u32 = 3;
/// A range's bytes reach the file in writes of this size.
const WRITE_CHUNK: usize = 1024 * 1024;

/// The object the ranges are read from.
#[derive(Clone)]
pub(super) struct Source {
    pub store: Arc<dyn ObjectStore>,
    pub location: Path,
    /// Every range is asked for only if the object still has this ETag.
    pub e_tag: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub(super) enum RangedError {
    #[error(transparent)]
    Store(#[from] object_store::Error),
    /// Writing or reading back the destination file.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// The body of one range, chunk by chunk; a body that fails or ends early is asked for again
/// from the first byte not yet delivered, [`RANGE_ATTEMPTS`] times in all.
pub(super) struct RangeBody<'a> {
    source: &'a Source,
    /// What is still to be delivered.
    rest: Range<u64>,
    body: Option<Body>,
    /// The request for the body, sent ahead (see [`RangeBody::open_ahead`]).
    opening: Option<Opening>,
    attempt: u32,
}

type Body = BoxStream<'static, object_store::Result<Bytes>>;

/// A request sent on its own task; aborted when dropped.
struct Opening(JoinHandle<object_store::Result<Body>>);

impl Drop for Opening {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<'a> RangeBody<'a> {
    pub(super) fn new(source: &'a Source, range: Range<u64>) -> RangeBody<'a> {
        RangeBody {
            source,
            rest: range,
            body: None,
            opening: None,
            attempt: 1,
        }
    }

    /// Bytes still to be delivered.
    pub(super) fn left(&self) -> u64 {
        self.rest.end - self.rest.start
    }

    /// Sends the request now, on its own task, so that the answer is on its way before the
    /// caller asks for the first chunk.
    pub(super) fn open_ahead(&mut self) {
        if self.body.is_none() && self.opening.is_none() {
            let (source, options) = (self.source.clone(), self.options());
            self.opening = Some(Opening(tokio::spawn(async move {
                let result = source.store.get_opts(&source.location, options).await?;
                Ok(result.into_stream())
            })));
        }
    }

    fn options(&self) -> GetOptions {
        GetOptions {
            range: Some(GetRange::Bounded(self.rest.clone())),
            if_match: self.source.e_tag.clone(),
            ..GetOptions::default()
        }
    }

    /// The next chunk, `None` once the whole range was delivered.
    pub(super) async fn next(&mut self) -> object_store::Result<Option<Bytes>> {
        while !self.rest.is_empty() {
            match self.next_try().await {
                Ok(chunk) => return Ok(Some(chunk)),
                // A cut body or a mangled answer; a refusal (412: the object changed) goes up.
                Err(object_store::Error::Generic { .. }) if self.attempt < RANGE_ATTEMPTS => {
                    self.attempt += 1;
                    self.body = None;
                    self.opening = None;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    async fn next_try(&mut self) -> object_store::Result<Bytes> {
        let left = self.left();
        let body = match (&mut self.body, self.opening.take()) {
            (Some(body), _) => body,
            (None, Some(mut opening)) => self.body.insert(joined((&mut opening.0).await)?),
            (None, None) => {
                let result = self
                    .source
                    .store
                    .get_opts(&self.source.location, self.options())
                    .await?;
                self.body.insert(result.into_stream())
            }
        };
        match body.next().await {
            Some(Ok(chunk)) if chunk.len() as u64 <= left => {
                self.rest.start += chunk.len() as u64;
                Ok(chunk)
            }
            Some(Err(e)) => Err(e),
            answer => {
                let end = self.rest.end;
                let what = match answer {
                    None => {
                        format!("the body ended {left} bytes short of the range ending at {end}")
                    }
                    Some(_) => format!("the body went past the range ending at {end}"),
                };
                Err(object_store::Error::Generic {
                    store: "S3",
                    source: format!("{what}; the object changed or the transfer was cut").into(),
                })
            }
        }
    }
}

/// One range whole, for consumers that need the bytes in order in memory.
pub(super) async fn get_range(source: &Source, range: Range<u64>) -> object_store::Result<Bytes> {
    let mut bytes = BytesMut::with_capacity((range.end - range.start) as usize);
    let mut body = RangeBody::new(source, range);
    while let Some(chunk) = body.next().await? {
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes.freeze())
}

/// A task asks for its next range once this much of its current one is left, so that the
/// next one's first bytes (a round trip away, and against some servers a delayed ACK) are on
/// their way while this one ends.
const OPEN_AHEAD: u64 = 8 * 1024 * 1024;

/// Ranges into a file are about this large: few enough requests that their round trips do not
/// add up, small enough that the ranges in flight, which the hasher can hash only once the ones
/// before them are written, leave it little to catch up on at the end (measured in
/// docs/benchmarks.md).
const FILE_RANGE: u64 = 16 * 1024 * 1024;

/// `size` bytes cut into equal consecutive ranges of about [`FILE_RANGE`] (the last one
/// shorter), as many as a multiple of `concurrency`: tasks that take them in order stay busy to
/// the end together and finish them nearly in order, so the hasher is never far behind.
pub(super) fn even_ranges(size: u64, concurrency: usize) -> Vec<Range<u64>> {
    const ALIGN: u64 = 64 * 1024;
    let tasks = concurrency.max(1) as u64;
    let count = size.div_ceil(FILE_RANGE).div_ceil(tasks) * tasks;
    let len = size.div_ceil(count.max(1)).div_ceil(ALIGN).max(1) * ALIGN;
    (0..size)
        .step_by(len as usize)
        .map(|start| start..(start + len).min(size))
        .collect()
}

/// What the range tasks share.
struct Job {
    source: Source,
    file: File,
    frontier: Frontier,
    /// The next range no task has taken yet.
    next: AtomicUsize,
    /// Bytes in the file so far, for progress.
    written: AtomicU64,
    progressed: Notify,
    /// One permit per range task, held by its write in flight: a failed fetch takes them all
    /// before it returns, so no write of it lands in a file the caller reuses.
    writes: Arc<Semaphore>,
}

/// Stops the hasher however the fetch ends, dropped (Ctrl-C) included.
struct StopHasher(Arc<Job>);

impl Drop for StopHasher {
    fn drop(&mut self) {
        self.0.frontier.stop();
    }
}

/// Fetches the whole object (`size` bytes) into `file` in ranges (see [`even_ranges`]),
/// `concurrency` at a time, and returns its sha256 hex. `on_bytes(written so far)` as bytes
/// land. Dropping the future stops every range task and the hasher.
pub(super) async fn fetch_into_file(
    source: Source,
    file: File,
    size: u64,
    concurrency: usize,
    on_bytes: &(dyn Fn(u64) + Send + Sync),
) -> Result<String, RangedError> {
    let file = blocking(move || file.set_len(size).map(|()| file)).await?;
    let frontier = Frontier::new(even_ranges(size, concurrency));
    let tasks = concurrency.clamp(1, frontier.ranges().max(1));
    let job = Arc::new(Job {
        source,
        file,
        frontier,
        next: AtomicUsize::new(0),
        written: AtomicU64::new(0),
        progressed: Notify::new(),
        writes: Arc::new(Semaphore::new(tasks)),
    });
    let stop = StopHasher(job.clone());
    let hasher = {
        let job = job.clone();
        tokio::task::spawn_blocking(move || hash_as_written(&job.frontier, &job.file))
    };
    // Dropped on any return, or with this future: aborts the range tasks.
    let mut ranges = JoinSet::new();
    for _ in 0..tasks {
        ranges.spawn(take_ranges(job.clone()));
    }
    loop {
        let failed = tokio::select! {
            finished = ranges.join_next() => match finished {
                None => break,
                Some(result) => joined(result),
            },
            () = job.progressed.notified() => {
                on_bytes(job.written.load(Ordering::Relaxed));
                Ok(())
            }
        };
        if let Err(e) = failed {
            ranges.shutdown().await;
            let _drained = job.writes.acquire_many(tasks as u32).await;
            return Err(e);
        }
    }
    on_bytes(job.written.load(Ordering::Relaxed));
    let digest = joined(hasher.await);
    drop(stop);
    match digest? {
        Some(digest) => Ok(digest),
        None => Err(io::Error::other("the hasher stopped before the end").into()),
    }
}

/// A range task: takes the next range until none is left, streaming each into its place in
/// the file through two buffers it keeps: one filled from the network while the other is
/// written on a blocking thread. Reusing them keeps memory flat: buffers freed on other threads
/// would pile up in the allocator's per-thread arenas.
async fn take_ranges(job: Arc<Job>) -> Result<(), RangedError> {
    let mut writer = RangeWriter {
        job: job.clone(),
        filling: Vec::with_capacity(WRITE_CHUNK),
        spare: None,
        writing: None,
    };
    let take = || {
        let index = job.next.fetch_add(1, Ordering::Relaxed);
        (index < job.frontier.ranges()).then(|| {
            (
                index,
                RangeBody::new(&job.source, job.frontier.range(index)),
            )
        })
    };
    let mut ahead = take();
    let mut none_left = ahead.is_none();
    while let Some((index, mut body)) = ahead.take() {
        let mut offset = job.frontier.range(index).start;
        loop {
            if !none_left && ahead.is_none() && body.left() <= OPEN_AHEAD {
                ahead = take();
                none_left = ahead.is_none();
                if let Some((_, next)) = &mut ahead {
                    next.open_ahead();
                }
            }
            let Some(chunk) = body.next().await? else {
                break;
            };
            let mut rest = &chunk[..];
            while !rest.is_empty() {
                let n = rest.len().min(WRITE_CHUNK - writer.filling.len());
                writer.filling.extend_from_slice(&rest[..n]);
                rest = &rest[n..];
                if writer.filling.len() == WRITE_CHUNK {
                    offset = writer.write(index, offset).await?;
                }
            }
        }
        if !writer.filling.is_empty() {
            writer.write(index, offset).await?;
        }
        writer.settle().await?;
    }
    Ok(())
}

struct RangeWriter {
    job: Arc<Job>,
    filling: Vec<u8>,
    spare: Option<Vec<u8>>,
    /// The write in flight; gives its buffer back.
    writing: Option<JoinHandle<io::Result<Vec<u8>>>>,
}

impl RangeWriter {
    /// Writes the filled buffer at `offset` of range `index` on a blocking thread, once the
    /// previous write is done, and goes on filling the other buffer; returns the next offset.
    async fn write(&mut self, index: usize, offset: u64) -> io::Result<u64> {
        self.settle().await?;
        let empty = self
            .spare
            .take()
            .unwrap_or_else(|| Vec::with_capacity(WRITE_CHUNK));
        let full = std::mem::replace(&mut self.filling, empty);
        let len = full.len() as u64;
        let permit = self
            .job
            .writes
            .clone()
            .acquire_owned()
            .await
            .expect("the write semaphore is never closed");
        let job = self.job.clone();
        self.writing = Some(tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job.file.write_all_at(&full, offset)?;
            job.frontier.wrote(index, len);
            job.written.fetch_add(len, Ordering::Relaxed);
            job.progressed.notify_one();
            Ok(full)
        }));
        Ok(offset + len)
    }

    /// Waits for the write in flight, keeping its buffer.
    async fn settle(&mut self) -> io::Result<()> {
        if let Some(writing) = self.writing.take() {
            let mut buf = joined(writing.await)?;
            buf.clear();
            self.spare = Some(buf);
        }
        Ok(())
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    joined(tokio::task::spawn_blocking(f).await)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use object_store::{ObjectStoreExt, PutPayload};

    use super::*;
    use crate::identity;
    use crate::store::remote::test_store::{Behaviour, Seen, TestStore, object_bytes};

    const MIB: u64 = 1024 * 1024;

    /// `bytes` stored as one object behind `behaviour`; the source reads it pinned to its ETag.
    async fn stored(bytes: &[u8], behaviour: Behaviour) -> (Arc<TestStore>, Source) {
        let store = Arc::new(TestStore::with(behaviour));
        let location = Path::from("fam/engine.trt");
        store
            .put(&location, PutPayload::from(bytes.to_vec()))
            .await
            .unwrap();
        let e_tag = store.head(&location).await.unwrap().e_tag;
        let source = Source {
            store: store.clone(),
            location,
            e_tag,
        };
        (store, source)
    }

    /// Fetches into a temp file: (result, the file's bytes, highest progress reported).
    async fn fetch(
        source: Source,
        size: u64,
        concurrency: usize,
    ) -> (Result<String, RangedError>, Vec<u8>, u64) {
        let temp = tempfile::NamedTempFile::new().unwrap();
        let progress = AtomicU64::new(0);
        let on_bytes = |done: u64| {
            progress.fetch_max(done, Ordering::Relaxed);
        };
        let result =
            fetch_into_file(source, temp.reopen().unwrap(), size, concurrency, &on_bytes).await;
        (
            result,
            std::fs::read(temp.path()).unwrap(),
            progress.into_inner(),
        )
    }

    #[test]
    fn even_ranges_cover_the_object_in_a_multiple_of_the_tasks() {
        for (size, tasks) in [
            (1024 * MIB, 6),
            (1024 * MIB, 10),
            (100 * MIB + 17, 6),
            (5 * MIB + 1, 6),
            (40 * MIB, 1),
        ] {
            let ranges = even_ranges(size, tasks);
            assert_eq!(ranges[0].start, 0);
            assert_eq!(ranges.last().unwrap().end, size);
            assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
            let len = ranges[0].end - ranges[0].start;
            assert!(len <= FILE_RANGE, "{size} / {tasks}: {len}");
            assert!(ranges.iter().all(|r| r.end - r.start <= len));
        }
        // 64 ranges of 16 MiB would leave 2 of 6 tasks idle in the last round.
        assert_eq!(even_ranges(1024 * MIB, 6).len(), 66);
        assert_eq!(even_ranges(1024 * MIB, 10).len(), 70);
        assert_eq!(even_ranges(40 * MIB, 1).len(), 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn ranges_that_land_out_of_order_are_hashed_in_order() {
        let bytes = object_bytes(40 * MIB + 12_345);
        let size = bytes.len() as u64;
        // The first range answers last: every other range is in the file before it.
        let behaviour = Behaviour {
            hold: [(0, Duration::from_millis(300))].into(),
            ..Behaviour::default()
        };
        let (store, source) = stored(&bytes, behaviour).await;
        let (result, written, progress) = fetch(source, size, 3).await;
        assert_eq!(result.unwrap(), identity::sha256_hex(&bytes));
        assert!(written == bytes, "the file differs from the object");
        assert_eq!(progress, size);
        let seen = store.seen.lock().unwrap().clone();
        let first_done = seen
            .iter()
            .position(|s| matches!(s, Seen::BodyEnd(r) if r.start == 0))
            .unwrap();
        assert!(
            seen[..first_done]
                .iter()
                .any(|s| matches!(s, Seen::BodyEnd(r) if r.start > 0)),
            "{seen:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_cut_body_is_asked_for_again_from_where_it_stopped() {
        let bytes = object_bytes(24 * MIB);
        let size = bytes.len() as u64;
        let ranges = even_ranges(size, 3);
        let (first, second) = (ranges[0].clone(), ranges[1].clone());
        let behaviour = Behaviour {
            cut_once: [first.start, second.start].into(),
            ..Behaviour::default()
        };
        let (store, source) = stored(&bytes, behaviour).await;
        let (result, written, _) = fetch(source, size, 3).await;
        assert_eq!(result.unwrap(), identity::sha256_hex(&bytes));
        assert!(written == bytes, "the file differs from the object");
        let gets = store.gets();
        for cut in [first, second] {
            let half = cut.start + (cut.end - cut.start) / 2;
            assert!(gets.contains(&cut), "{gets:?}");
            assert!(gets.contains(&(half..cut.end)), "{gets:?}");
        }
        assert_eq!(gets.len(), ranges.len() + 2, "{gets:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_range_cut_every_time_fails_the_fetch_after_its_attempts() {
        let bytes = object_bytes(24 * MIB);
        let size = bytes.len() as u64;
        let broken = even_ranges(size, 3)[2].clone();
        let behaviour = Behaviour {
            cut_always: [broken.end].into(),
            ..Behaviour::default()
        };
        let (store, source) = stored(&bytes, behaviour).await;
        let (result, _, _) = fetch(source, size, 3).await;
        assert!(
            matches!(
                result,
                Err(RangedError::Store(object_store::Error::Generic { .. }))
            ),
            "{result:?}"
        );
        let tries = store.gets().iter().filter(|r| r.end == broken.end).count();
        assert_eq!(tries, RANGE_ATTEMPTS as usize);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_next_range_is_asked_for_before_the_current_one_ends() {
        let bytes = object_bytes(3 * FILE_RANGE);
        let size = bytes.len() as u64;
        let behaviour = Behaviour {
            chunk_pause: Duration::from_micros(200),
            ..Behaviour::default()
        };
        let (store, source) = stored(&bytes, behaviour).await;
        let (result, _, _) = fetch(source, size, 1).await;
        assert_eq!(result.unwrap(), identity::sha256_hex(&bytes));
        let seen = store.seen.lock().unwrap().clone();
        let ranges = even_ranges(size, 1);
        assert_eq!(ranges.len(), 3);
        for pair in ranges.windows(2) {
            let asked = seen.iter().position(|s| *s == Seen::Get(pair[1].clone()));
            let ended = seen
                .iter()
                .position(|s| *s == Seen::BodyEnd(pair[0].clone()));
            assert!(asked.unwrap() < ended.unwrap(), "{seen:?}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn dropping_the_fetch_stops_its_requests_and_its_hasher() {
        let bytes = object_bytes(48 * MIB);
        let size = bytes.len() as u64;
        // The first range is held past the test's end: the fetch cannot finish before the drop.
        let behaviour = Behaviour {
            hold: [(0, Duration::from_secs(3600))].into(),
            ..Behaviour::default()
        };
        let (store, source) = stored(&bytes, behaviour).await;
        let mut fetching = Box::pin(fetch(source, size, 2));
        // Dropped once its first range has been asked for.
        tokio::select! {
            _ = &mut fetching => panic!("the fetch finished with its first range held"),
            _ = async {
                while store.gets().is_empty() {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            } => {}
        }
        drop(fetching);
        // Every task, request and the hasher hold the store; all of them let go of it.
        for _ in 0..200 {
            if Arc::strong_count(&store) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(Arc::strong_count(&store), 1);
        let asked = store.gets().len();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(store.gets().len(), asked);
        assert!(asked < even_ranges(size, 2).len(), "{asked} requests");
    }
}
