//! Where downloaded bytes go: written out in order, hashed on the way, progress reported; or
//! written out of order by ranges in parallel and hashed behind them, read back from the file.

use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::RemoteError;
use crate::identity;

pub(super) struct HashingSink<'a, W: ?Sized> {
    out: &'a mut W,
    /// Names the destination in a write error.
    label: String,
    hasher: Sha256,
    total: u64,
    on_bytes: &'a (dyn Fn(u64) + Send + Sync),
}

impl<'a, W: AsyncWrite + Unpin + ?Sized> HashingSink<'a, W> {
    pub(super) fn new(
        out: &'a mut W,
        label: String,
        on_bytes: &'a (dyn Fn(u64) + Send + Sync),
    ) -> Self {
        HashingSink {
            out,
            label,
            hasher: Sha256::new(),
            total: 0,
            on_bytes,
        }
    }

    pub(super) async fn put(&mut self, bytes: &[u8]) -> Result<(), RemoteError> {
        self.hasher.update(bytes);
        self.out
            .write_all(bytes)
            .await
            .map_err(|source| RemoteError::Io {
                path: PathBuf::from(&self.label),
                source,
            })?;
        self.total += bytes.len() as u64;
        (self.on_bytes)(self.total);
        Ok(())
    }

    /// (sha256 hex, bytes written).
    pub(super) fn finish(self) -> (String, u64) {
        (identity::hex(&self.hasher.finalize()), self.total)
    }
}

/// How much of a file written out of order (ranges in parallel, each in order from its start)
/// is written without a gap from byte 0: the part that can be hashed. Shared by the writers and
/// the one thread that hashes, which waits here for the prefix to grow.
pub(super) struct Frontier {
    /// Consecutive, from 0 to the file's size.
    ranges: Vec<Range<u64>>,
    size: u64,
    state: Mutex<FrontierState>,
    grew: Condvar,
}

struct FrontierState {
    /// Bytes written from the start of each range.
    written: Vec<u64>,
    /// The first range not yet written whole.
    open: usize,
    stopped: bool,
}

impl Frontier {
    /// `ranges` must follow each other from 0.
    pub(super) fn new(ranges: Vec<Range<u64>>) -> Frontier {
        Frontier {
            size: ranges.last().map_or(0, |last| last.end),
            state: Mutex::new(FrontierState {
                written: vec![0; ranges.len()],
                open: 0,
                stopped: false,
            }),
            ranges,
            grew: Condvar::new(),
        }
    }

    pub(super) fn ranges(&self) -> usize {
        self.ranges.len()
    }

    pub(super) fn range(&self, index: usize) -> Range<u64> {
        self.ranges[index].clone()
    }

    /// `len` more bytes of range `index` are in the file, right after those written before.
    pub(super) fn wrote(&self, index: usize, len: u64) {
        let mut state = self.lock();
        state.written[index] += len;
        while state.open < state.written.len() && {
            let range = self.range(state.open);
            state.written[state.open] == range.end - range.start
        } {
            state.open += 1;
        }
        drop(state);
        self.grew.notify_all();
    }

    /// Wakes the hasher for good: the transfer failed or was dropped.
    pub(super) fn stop(&self) {
        self.lock().stopped = true;
        self.grew.notify_all();
    }

    /// Blocks until more than `done` bytes are written from the start; `None` once stopped.
    fn wait_past(&self, done: u64) -> Option<u64> {
        let mut state = self.lock();
        loop {
            if state.stopped {
                return None;
            }
            let prefix = match state.written.get(state.open) {
                Some(written) => self.range(state.open).start + written,
                None => self.size,
            };
            if prefix > done {
                return Some(prefix);
            }
            state = self
                .grew
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FrontierState> {
        // The state stays consistent whatever panicked while holding it: counters only grow.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Bytes read back and hashed at a time: small enough to stay in the CPU cache between the copy
/// out of the page cache and the hash.
const HASH_CHUNK: usize = 256 * 1024;
/// Writeback of hashed bytes starts every this many bytes, so the final fsync finds little
/// left to write.
const WRITEBACK_STEP: u64 = 16 * 1024 * 1024;

/// Hashes `file` from the start as its written prefix grows, reading it back (from the page
/// cache, just written) on this blocking thread; starts writeback of what it hashed. The sha256
/// hex of all `frontier.size` bytes, or `None` when stopped first.
pub(super) fn hash_as_written(frontier: &Frontier, file: &File) -> io::Result<Option<String>> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; HASH_CHUNK];
    let (mut hashed, mut flushed) = (0u64, 0u64);
    while hashed < frontier.size {
        let Some(prefix) = frontier.wait_past(hashed) else {
            return Ok(None);
        };
        while hashed < prefix {
            let n = (prefix - hashed).min(HASH_CHUNK as u64) as usize;
            file.read_exact_at(&mut buf[..n], hashed)?;
            hasher.update(&buf[..n]);
            hashed += n as u64;
            if hashed - flushed >= WRITEBACK_STEP || hashed == frontier.size {
                // Only a head start for the fsync that commits the file, which reports errors.
                let _ = start_writeback(file, flushed..hashed);
                flushed = hashed;
            }
        }
    }
    Ok(Some(identity::hex(&hasher.finalize())))
}

/// Asks the kernel to start writing `range` of `file` to disk without waiting for it.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, range: Range<u64>) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let (offset, len) = (
        range.start as libc::off64_t,
        (range.end - range.start) as libc::off64_t,
    );
    // SAFETY: a plain syscall on an open descriptor; no memory is passed.
    match unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE)
    } {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

/// Elsewhere the final fsync writes everything.
#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File, _range: Range<u64>) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    fn frontier(lens: &[u64]) -> Frontier {
        let mut start = 0;
        let ranges = lens
            .iter()
            .map(|len| {
                start += len;
                start - len..start
            })
            .collect();
        Frontier::new(ranges)
    }

    #[test]
    fn the_prefix_grows_only_over_ranges_written_without_a_gap() {
        let frontier = frontier(&[4, 2, 4]);
        frontier.wrote(1, 2);
        frontier.wrote(2, 1);
        frontier.wrote(0, 3);
        assert_eq!(frontier.wait_past(0), Some(3));
        frontier.wrote(0, 1);
        // Range 0 whole, range 1 whole, 1 byte of range 2.
        assert_eq!(frontier.wait_past(3), Some(7));
        frontier.wrote(2, 3);
        assert_eq!(frontier.wait_past(7), Some(10));
    }

    #[test]
    fn ranges_written_in_any_order_hash_as_the_whole_file() {
        let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let temp = tempfile::tempfile().unwrap();
        temp.set_len(bytes.len() as u64).unwrap();
        let file = Arc::new(temp);
        let frontier = Arc::new(frontier(&[1_000_000, 1_000_000, 1_000_000]));
        let hasher = {
            let (frontier, file) = (frontier.clone(), file.clone());
            std::thread::spawn(move || hash_as_written(&frontier, &file))
        };
        for (index, half) in [(2, 0), (1, 0), (2, 1), (0, 0), (1, 1), (0, 1)] {
            let at = index * 1_000_000 + half * 500_000;
            file.write_all_at(&bytes[at..at + 500_000], at as u64)
                .unwrap();
            frontier.wrote(index, 500_000);
            std::thread::sleep(Duration::from_millis(5));
        }
        let digest = hasher.join().unwrap().unwrap();
        assert_eq!(digest, Some(identity::sha256_hex(&bytes)));
    }

    #[test]
    fn a_stopped_hasher_returns_without_a_digest() {
        let temp = tempfile::tempfile().unwrap();
        let frontier = Arc::new(frontier(&[10]));
        let hasher = {
            let frontier = frontier.clone();
            std::thread::spawn(move || hash_as_written(&frontier, &temp))
        };
        frontier.stop();
        assert_eq!(hasher.join().unwrap().unwrap(), None);
    }

    #[test]
    fn writeback_of_a_written_region_can_start() {
        let temp = tempfile::tempfile().unwrap();
        temp.write_all_at(&[1u8; 8192], 0).unwrap();
        start_writeback(&temp, 0..8192).unwrap();
        let mut back = [0u8; 8192];
        temp.read_exact_at(&mut back, 0).unwrap();
        assert_eq!(back, [1u8; 8192]);
    }
}
