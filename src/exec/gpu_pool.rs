//! One build per GPU at a time: GPUs by arch, handed out as leases that give the GPU back when
//! dropped. The pool holds the GPUs builds run on: the host's real ones wherever CUDA shows any,
//! whatever arch the plan was made for.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use crate::gpu::{GpuInfo, GpuInventory};
use crate::identity::{EngineTarget, TrtVersion};
use crate::store::remote::timing_cache_name;

/// The idle GPUs of one arch and model.
type FreeGpus = Mutex<Vec<Arc<GpuInfo>>>;

/// GPUs by arch and model, handed out one build at a time.
pub(super) struct GpuPool {
    slots: BTreeMap<EngineTarget, (Semaphore, FreeGpus)>,
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
        let mut slots: BTreeMap<EngineTarget, Vec<Arc<GpuInfo>>> = BTreeMap::new();
        for gpu in gpus.build_gpus() {
            let slot = EngineTarget {
                arch: gpu.arch,
                gpu_model: gpu.model.clone(),
            };
            slots.entry(slot).or_default().push(Arc::new(gpu.clone()));
        }
        GpuPool {
            slots: slots
                .into_iter()
                .map(|(slot, mut gpus)| {
                    // Popped from the back: the lowest index is used first.
                    gpus.reverse();
                    (slot, (Semaphore::new(gpus.len()), Mutex::new(gpus)))
                })
                .collect(),
        }
    }

    /// The GPUs (one arch, one model) that build engines for `target`: the first here of its
    /// arch (for `sm_80-plus`, of an arch it accepts) and of its GPU model where it names one.
    /// One set of GPUs per target keeps its timing cache one device's.
    pub(super) fn build_slot(&self, target: &EngineTarget) -> Option<&EngineTarget> {
        self.slots.keys().find(|slot| {
            target.arch.accepts(slot.arch)
                && (target.gpu_model.as_ref())
                    .is_none_or(|model| slot.gpu_model.as_ref() == Some(model))
        })
    }

    /// The shared timing cache that builds for `target` use here: TensorRT's timings are
    /// specific to the device, so it is named by the GPU model where it is known.
    pub(super) fn timing_cache_name(
        &self,
        target: &EngineTarget,
        trt: TrtVersion,
    ) -> Option<String> {
        let slot = self.build_slot(target)?;
        Some(timing_cache_name(slot.arch, slot.gpu_model.as_deref(), trt))
    }

    pub(super) async fn acquire(&self, target: &EngineTarget) -> Option<GpuLease<'_>> {
        let (semaphore, free) = self.slots.get(self.build_slot(target)?)?;
        let permit = semaphore.acquire().await.ok()?;
        let gpu = free.lock().expect("gpu pool").pop()?;
        Some(GpuLease {
            gpu,
            free,
            _permit: permit,
        })
    }
}
