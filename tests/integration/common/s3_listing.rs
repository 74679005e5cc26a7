//! A ListObjectsV2 that costs the page, not the bucket, for the benchmarks' S3 server.
//!
//! s3s-fs answers every page by walking and stat-ing the whole bucket through tokio's blocking
//! pool: with 20,000 objects a page costs it seconds on two cores, and a plan's 23 concurrent
//! pages a walk each. S3 (and MinIO) answer a page from a sorted index. [`SortedListing`] does
//! the same over the files s3s-fs keeps: the bucket's keys, sorted, kept while no directory of
//! the bucket changed; a page is a binary search and one stat per object returned (for its size,
//! time and ETag, so a rewritten object shows at once).
//!
//! A directory's entries change only with its mtime, but the mtime has the clock's tick as its
//! resolution, so a listing is trusted only once it was read at least [`SETTLE`] after the
//! directory last changed: any later change moves the mtime past the one recorded.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use s3s::dto::*;

const SETTLE: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct SortedListing {
    dirs: Mutex<HashMap<PathBuf, DirEntries>>,
    keys: Mutex<Option<SortedKeys>>,
}

/// The bucket's keys, sorted, and the directories (with their mtimes) they were read from.
struct SortedKeys {
    dirs: Vec<(PathBuf, SystemTime)>,
    keys: Arc<Vec<String>>,
}

#[derive(Clone)]
struct DirEntries {
    mtime: SystemTime,
    settled: bool,
    files: Vec<String>,
    subdirs: Vec<String>,
}

impl SortedListing {
    /// The page `input` asks for (no delimiter) of the bucket kept in `bucket_dir`.
    pub fn page(
        &self,
        bucket_dir: &Path,
        input: ListObjectsV2Input,
    ) -> io::Result<ListObjectsV2Output> {
        let keys = self.sorted_keys(bucket_dir)?;
        let prefix = input
            .prefix
            .as_deref()
            .unwrap_or("")
            .trim_start_matches('/');
        let max_keys = usize::try_from(input.max_keys.unwrap_or(1000)).unwrap_or(1000);
        let resume = [
            input.continuation_token.as_deref(),
            input.start_after.as_deref(),
        ]
        .into_iter()
        .flatten()
        .max();
        let first = match resume {
            Some(after) => keys.partition_point(|k| k.as_str() <= after),
            None => 0,
        }
        .max(keys.partition_point(|k| k.as_str() < prefix));
        let mut matching = keys[first..].iter().take_while(|k| k.starts_with(prefix));
        let page: Vec<&String> = matching.by_ref().take(max_keys).collect();
        let is_truncated = max_keys > 0 && matching.next().is_some();
        let contents: Vec<Object> = page
            .iter()
            .filter_map(|key| object(&bucket_dir.join(key.as_str()), key))
            .collect();
        Ok(ListObjectsV2Output {
            key_count: Some(contents.len() as i32),
            max_keys: input.max_keys.or(Some(1000)),
            is_truncated: Some(is_truncated),
            next_continuation_token: is_truncated
                .then(|| page.last().map(|k| k.to_string()))
                .flatten(),
            contents: (!contents.is_empty()).then_some(contents),
            continuation_token: input.continuation_token,
            encoding_type: input.encoding_type,
            name: Some(input.bucket),
            prefix: input.prefix,
            start_after: input.start_after,
            ..Default::default()
        })
    }

    /// Every key in the bucket, sorted; rebuilt only when a directory changed.
    fn sorted_keys(&self, bucket_dir: &Path) -> io::Result<Arc<Vec<String>>> {
        if let Some(keys) = self.current_keys() {
            return Ok(keys);
        }
        let mut visited = Vec::new();
        let mut keys = Vec::new();
        let mut all_settled = true;
        self.walk(bucket_dir, "", &mut visited, &mut keys, &mut all_settled)?;
        let mut kept = self.keys.lock().unwrap();
        if let Some(known) = kept.as_ref()
            && all_settled
            && known.dirs == visited
        {
            return Ok(known.keys.clone());
        }
        keys.sort_unstable();
        let keys = Arc::new(keys);
        *kept = all_settled.then(|| SortedKeys {
            dirs: visited,
            keys: keys.clone(),
        });
        Ok(keys)
    }

    /// The kept keys, while none of the directories they were read from changed: a page then
    /// costs a stat per directory, not a copy of every name. A new subdirectory, or a file added
    /// or removed, moves its parent's mtime.
    fn current_keys(&self) -> Option<Arc<Vec<String>>> {
        let kept = self.keys.lock().unwrap();
        let known = kept.as_ref()?;
        let unchanged = known.dirs.iter().all(|(dir, mtime)| {
            std::fs::metadata(dir).and_then(|m| m.modified()).ok() == Some(*mtime)
        });
        unchanged.then(|| known.keys.clone())
    }

    fn walk(
        &self,
        dir: &Path,
        key_prefix: &str,
        visited: &mut Vec<(PathBuf, SystemTime)>,
        keys: &mut Vec<String>,
        all_settled: &mut bool,
    ) -> io::Result<()> {
        let entries = self.entries(dir)?;
        visited.push((dir.to_path_buf(), entries.mtime));
        *all_settled &= entries.settled;
        keys.extend(entries.files.iter().map(|f| format!("{key_prefix}{f}")));
        for sub in &entries.subdirs {
            let prefix = format!("{key_prefix}{sub}/");
            self.walk(&dir.join(sub), &prefix, visited, keys, all_settled)?;
        }
        Ok(())
    }

    /// The files and subdirectories of `dir`, read again unless a settled reading is current.
    fn entries(&self, dir: &Path) -> io::Result<DirEntries> {
        let mtime = std::fs::metadata(dir)?.modified()?;
        let reading_from = SystemTime::now();
        if let Some(known) = self.dirs.lock().unwrap().get(dir)
            && known.settled
            && known.mtime == mtime
        {
            return Ok(known.clone());
        }
        let (mut files, mut subdirs) = (Vec::new(), Vec::new());
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            match entry.file_type()?.is_dir() {
                true => subdirs.push(name),
                false => files.push(name),
            }
        }
        let settled = reading_from
            .duration_since(mtime)
            .is_ok_and(|age| age >= SETTLE);
        let entries = DirEntries {
            mtime,
            settled,
            files,
            subdirs,
        };
        self.dirs
            .lock()
            .unwrap()
            .insert(dir.to_path_buf(), entries.clone());
        Ok(entries)
    }
}

/// The listed object at `path`, as s3s-fs lists it plus the ETag the test server adds; `None`
/// when it went away since the keys were read.
fn object(path: &Path, key: &str) -> Option<Object> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Object {
        key: Some(key.to_string()),
        last_modified: Some(Timestamp::from(meta.modified().ok()?)),
        size: Some(meta.len() as i64),
        e_tag: Some(super::s3::e_tag_of(&meta)),
        ..Default::default()
    })
}
