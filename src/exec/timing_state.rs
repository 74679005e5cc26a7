//! What one apply knows of its shared timing caches: per arch and TensorRT version, the state
//! the run started from and the builds still to run (the last one publishes).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::OnceCell;

use super::gpu_pool::GpuPool;
use crate::plan::{Decision, Plan};
use crate::store::remote::TimingVersion;

/// The timing caches of one apply, per arch and TensorRT version.
pub(super) struct TimingCaches {
    pub(super) caches: HashMap<String, SharedCache>,
    /// False under `--no-upload`, which publishes nothing: timing caches are still fetched.
    pub(super) publish: bool,
}

/// One arch's cache: what it was when this run started sharing it, and the builds still to run.
pub(super) struct SharedCache {
    pub(super) start: OnceCell<Option<Start>>,
    pub(super) builds_left: AtomicUsize,
    pub(super) fetched: AtomicBool,
}

/// The state a publish compares against.
pub(super) struct Start {
    /// The remote cache's version when this run read it; `None`: the remote held none.
    pub(super) remote: Option<TimingVersion>,
    /// sha256 of the local cache after the fetch; `None`: there was none.
    pub(super) local_sha256: Option<String>,
}

impl TimingCaches {
    /// Counts the planned builds of each arch, so the last one to finish publishes its cache.
    pub(super) fn for_plan(plan: &Plan, gpus: &GpuPool) -> TimingCaches {
        let mut caches: HashMap<String, SharedCache> = HashMap::new();
        for step in &plan.steps {
            let id = &step.engine.id;
            if matches!(step.decision, Decision::Build { .. })
                && let Some(name) = gpus.timing_cache_name(&id.target(), id.trt_version)
            {
                caches
                    .entry(name)
                    .or_insert_with(|| SharedCache {
                        start: OnceCell::new(),
                        builds_left: AtomicUsize::new(0),
                        fetched: Default::default(),
                    })
                    .builds_left
                    .fetch_add(1, Ordering::SeqCst);
            }
        }
        TimingCaches {
            caches,
            publish: !plan.no_upload,
        }
    }
}
