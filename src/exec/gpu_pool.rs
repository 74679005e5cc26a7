//! One build per GPU at a time: GPUs by arch, handed out as leases that give the GPU back when
//! dropped. The pool holds the GPUs builds run on: the host's real ones wherever CUDA shows any,
//! whatever arch the plan was made for.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use crate::gpu::{GpuInfo, GpuInventory};
use crate::identity::GpuArch;

/// The idle GPUs of one arch.
type FreeGpus = Mutex<Vec<Arc<GpuInfo>>>;

/// GPUs by arch, handed out one build at a time.
pub(super) struct GpuPool {
    slots: BTreeMap<GpuArch, (Semaphore, FreeGpus)>,
}

pub(super) struct GpuLease<'a> {
    pub(super) gpu: Arc<GpuInfo>,
    free: &'a FreeGpus,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl Drop for GpuLease<'_> {
    fn drop(&mut self) {
        self.free
            .lock()
            .expect("gpu pool")
            .push(Arc::clone(&self.gpu));
    }
}

impl GpuPool {
    pub(super) fn new(gpus: &GpuInventory) -> GpuPool {
        let mut slots: BTreeMap<GpuArch, Vec<Arc<GpuInfo>>> = BTreeMap::new();
        for gpu in gpus.build_gpus() {
            slots
                .entry(gpu.arch)
                .or_default()
                .push(Arc::new(gpu.clone()));
        }
        GpuPool {
            slots: slots
                .into_iter()
                .map(|(arch, mut gpus)| {
                    // Popped from the back: the lowest index is used first.
                    gpus.reverse();
                    (arch, (Semaphore::new(gpus.len()), Mutex::new(gpus)))
                })
                .collect(),
        }
    }

    /// Whether any GPU here builds for `arch`.
    pub(super) fn has(&self, arch: GpuArch) -> bool {
        self.slots.contains_key(&arch)
    }

    pub(super) async fn acquire(&self, arch: GpuArch) -> Option<GpuLease<'_>> {
        let (semaphore, free) = self.slots.get(&arch)?;
        let permit = semaphore.acquire().await.ok()?;
        let gpu = free.lock().expect("gpu pool").pop()?;
        Some(GpuLease {
            gpu,
            free,
            _permit: permit,
        })
    }
}
