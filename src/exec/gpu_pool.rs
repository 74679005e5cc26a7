//! One build per GPU at a time: GPUs by arch, handed out as leases that give the GPU back when
//! dropped. The pool holds the GPUs builds run on: the host's real ones wherever CUDA shows any,
//! whatever arch the plan was made for.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use crate::gpu::{GpuInfo, GpuInventory};
use crate::identity::{GpuArch, TrtVersion};
use crate::store::remote::timing_cache_name;

/// The idle GPUs of one arch.
type FreeGpus = Mutex<Vec<Arc<GpuInfo>>>;

/// GPUs by arch, handed out one build at a time.
pub(super) struct GpuPool {
    slots: BTreeMap<GpuArch, (Semaphore, FreeGpus)>,
    /// Per arch, the one model of its GPUs, where they are all one model.
    models: BTreeMap<GpuArch, Option<String>>,
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
        let models = (slots.iter())
            .map(|(&arch, gpus)| (arch, sole_model(gpus)))
            .collect();
        GpuPool {
            models,
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

    /// The arch of the GPUs that build engines for `target`: the target itself, or for
    /// `sm_80-plus` the first arch here that it accepts. One arch per target keeps its timing
    /// cache one device's.
    pub(super) fn build_arch(&self, target: GpuArch) -> Option<GpuArch> {
        self.slots
            .keys()
            .copied()
            .find(|&arch| target.accepts(arch))
    }

    /// The shared timing cache that builds for `target` use here: TensorRT's timings are
    /// specific to the device, so it is named by the GPU model too where the arch's GPUs here
    /// are all one model.
    pub(super) fn timing_cache_name(&self, target: GpuArch, trt: TrtVersion) -> Option<String> {
        let arch = self.build_arch(target)?;
        let model = self.models.get(&arch).and_then(Option::as_deref);
        Some(timing_cache_name(arch, model, trt))
    }

    pub(super) async fn acquire(&self, target: GpuArch) -> Option<GpuLease<'_>> {
        let (semaphore, free) = self.slots.get(&self.build_arch(target)?)?;
        let permit = semaphore.acquire().await.ok()?;
        let gpu = free.lock().expect("gpu pool").pop()?;
        Some(GpuLease {
            gpu,
            free,
            _permit: permit,
        })
    }
}

/// The model of `gpus` where they are all one known model.
fn sole_model(gpus: &[Arc<GpuInfo>]) -> Option<String> {
    let first = gpus.first()?.model.as_ref()?;
    gpus.iter()
        .all(|gpu| gpu.model.as_ref() == Some(first))
        .then(|| first.clone())
}
