//! One build per GPU at a time: GPUs by arch, handed out as leases that give the GPU back when
//! dropped.

use std::collections::BTreeMap;
use std::sync::Mutex;

use tokio::sync::Semaphore;

use crate::gpu::GpuInventory;
use crate::identity::GpuArch;

/// GPUs by arch, handed out one build at a time.
pub(super) struct GpuPool {
    slots: BTreeMap<GpuArch, (Semaphore, Mutex<Vec<u32>>)>,
}

pub(super) struct GpuLease<'a> {
    pub(super) index: u32,
    free: &'a Mutex<Vec<u32>>,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl Drop for GpuLease<'_> {
    fn drop(&mut self) {
        self.free.lock().expect("gpu pool").push(self.index);
    }
}

impl GpuPool {
    pub(super) fn new(gpus: &GpuInventory) -> GpuPool {
        let mut slots: BTreeMap<GpuArch, Vec<u32>> = BTreeMap::new();
        for gpu in &gpus.gpus {
            slots.entry(gpu.arch).or_default().push(gpu.index);
        }
        GpuPool {
            slots: slots
                .into_iter()
                .map(|(arch, mut indices)| {
                    // Popped from the back: the lowest index is used first.
                    indices.reverse();
                    (arch, (Semaphore::new(indices.len()), Mutex::new(indices)))
                })
                .collect(),
        }
    }

    pub(super) async fn acquire(&self, arch: GpuArch) -> Option<GpuLease<'_>> {
        let (semaphore, free) = self.slots.get(&arch)?;
        let permit = semaphore.acquire().await.ok()?;
        let index = free.lock().expect("gpu pool").pop()?;
        Some(GpuLease {
            index,
            free,
            _permit: permit,
        })
    }
}
