//! The observe → plan → apply pipeline every command runs on a workspace.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::Workspace;
use super::WorkspaceError;
use super::backend::choose_backend;
use super::freeing::free_in_background;
use crate::builder::{BuildError, Builder};
use crate::exec::Reporter;
use crate::exec::{ApplyOptions, ApplyReport, Executor, StopSignal};
use crate::gpu::GpuSource;
use crate::identity::{GpuArch, TrtVersion};
use crate::observe::{self, HashCache, LocalIndex, RemoteIndex, TrustCheck};
use crate::plan::{
    self, DesiredEngine, Force, LocalEngines, Plan, PlanInputs, RemoteState, Selector,
    SharedTimingCache,
};
use crate::store::remote::{Remote, RemoteError, WantedListing};
use tokio::task::JoinSet;

/// What the local cache, the remote and its shared timing caches hold of the desired engines.
pub(super) struct Observed {
    pub local: LocalEngines,
    pub remote: Option<RemoteState>,
    pub timing_caches: Vec<SharedTimingCache>,
}

/// What a plan for `apply` was made from: every desired engine (not only the targeted ones) and
/// what the remote held of each.
pub struct PlanBasis {
    pub(super) desired: Vec<DesiredEngine>,
    pub(super) remote: Option<RemoteState>,
}

/// Reads sent to the remote before the local cache is looked at; dropping them (on an early
/// return) aborts what is still in flight.
pub(super) struct RemoteReads<'a> {
    remote: &'a Remote,
    listing: JoinSet<Result<Vec<(String, WantedListing)>, RemoteError>>,
    /// The remote sidecar index, read from disk while the listing is on its way.
    index: JoinSet<RemoteIndex>,
    timing_caches: JoinSet<Result<Vec<SharedTimingCache>, RemoteError>>,
}

/// What the task of `set` returned; `None` when none was spawned.
async fn finished<T: 'static>(set: &mut JoinSet<T>) -> Option<T> {
    set.join_next().await.map(crate::task::joined)
}

impl Workspace {
    pub fn trt_version(&self) -> TrtVersion {
        self.trt.version
    }

    /// The engines the manifest wants, once its ONNX files are hashed (or found in the hash cache).
    pub fn desired(&self) -> Result<Vec<DesiredEngine>, WorkspaceError> {
        let digests = self.onnx_digests()?;
        let mut desired = plan::desired_engines(
            &self.manifest,
            &digests,
            self.trt_version(),
            &self.gpus.models_by_arch(),
        );
        self.attach_graphs(&mut desired)?;
        Ok(desired)
    }

    /// Each model's ONNX digest, hashed or found in the hash cache.
    fn onnx_digests(&self) -> Result<BTreeMap<PathBuf, String>, WorkspaceError> {
        let files: Vec<PathBuf> = self
            .manifest
            .models
            .iter()
            .map(|m| m.onnx.clone())
            .collect();
        let mut hashes = HashCache::load(self.cache.root());
        let digests = hashes.digest(&files)?;
        self.onnx_hashed
            .fetch_add(digests.hashed, std::sync::atomic::Ordering::Relaxed);
        // A lost hash cache only costs a re-hash next time; a read-only cache dir must not fail a plan.
        let _ = hashes.save();
        Ok(digests.sha256)
    }

    /// Observes the ONNX files, the cache and the remote, then plans.
    pub async fn plan(&self, targets: &[Selector], force: &Force) -> Result<Plan, WorkspaceError> {
        Ok(self.plan_observing(targets, force, false).await?.0)
    }

    /// The plan, and what the remote held of every desired engine when it was made: `apply`
    /// tells from it and its report what the remote holds afterwards (see
    /// [`Workspace::lock_after_apply`]) instead of listing it again.
    pub async fn plan_for_apply(
        &self,
        targets: &[Selector],
        force: &Force,
    ) -> Result<(Plan, PlanBasis), WorkspaceError> {
        let (plan, basis) = self.plan_observing(targets, force, true).await?;
        Ok((plan, basis.expect("kept")))
    }

    async fn plan_observing(
        &self,
        targets: &[Selector],
        force: &Force,
        keep: bool,
    ) -> Result<(Plan, Option<PlanBasis>), WorkspaceError> {
        let archs = self.gpus.archs();
        let (desired, index, reads) = self.desired_and_index(&archs)?;
        plan::check_selectors(
            &self.manifest.path,
            &desired,
            targets.iter().chain(force.selected()),
        )?;
        let observed = self.observe(&desired, index, reads).await?;
        let basis = keep.then(|| PlanBasis {
            desired: desired.clone(),
            remote: observed.remote.clone(),
        });
        let mut plan = plan::plan(PlanInputs {
            manifest: &self.manifest,
            trt_version: self.trt_version(),
            desired,
            gpu_archs: &archs,
            gpu_host: self.gpus.on_gpu_host(),
            gpu_models: &self.gpus.models_by_arch(),
            local: &observed.local,
            remote: observed.remote.as_ref(),
            trust: &self.trust,
            targets,
            force,
        });
        plan.timing_caches = observed.timing_caches;
        self.serve_from_older_tensorrt(&mut plan).await?;
        if self.gpus.source == GpuSource::Override {
            plan.host_gpus = (self.gpus.host_gpus.iter())
                .map(ToString::to_string)
                .collect();
        }
        free_in_background((observed.local, observed.remote));
        Ok((plan, basis))
    }

    /// Whether builds share their timing caches through the remote.
    fn shares_timing_caches(&self) -> bool {
        let builder = &self.manifest.builder;
        builder.timing_cache && builder.shared_timing_cache
    }

    /// The desired engines and the local sidecar index, with the remote's reads already sent:
    /// its listing is sent once the engines' names are known (from the ONNX digests), and comes
    /// back while their fingerprints are hashed and the index is read and parsed.
    pub(super) fn desired_and_index(
        &self,
        archs: &[GpuArch],
    ) -> Result<(Vec<DesiredEngine>, LocalIndex, Option<RemoteReads<'_>>), WorkspaceError> {
        let digests = self.onnx_digests()?;
        let trt = self.trt_version();
        let gpu_models = self.gpus.models_by_arch();
        let reads = self.remote.as_ref().map(|remote| {
            let names = plan::wanted_names(&self.manifest, &digests, trt, &gpu_models);
            self.send_reads(remote, names, archs)
        });
        let (mut desired, index) = rayon::join(
            || plan::desired_engines(&self.manifest, &digests, trt, &gpu_models),
            || LocalIndex::load(self.cache.root()),
        );
        self.attach_graphs(&mut desired)?;
        Ok((desired, index, reads))
    }

    /// Sends the remote's reads, each a task of its own: the listing of `names` and the shared
    /// timing caches for `archs`; the local memo of its sidecars is read meanwhile.
    pub(super) fn send_reads<'a>(
        &self,
        remote: &'a Remote,
        names: BTreeMap<String, Vec<String>>,
        archs: &[GpuArch],
    ) -> RemoteReads<'a> {
        let mut reads = RemoteReads {
            remote,
            listing: JoinSet::new(),
            index: JoinSet::new(),
            timing_caches: JoinSet::new(),
        };
        reads
            .listing
            .spawn(observe::list_wanted(remote.clone(), names));
        let (root, url) = (self.cache.root().to_path_buf(), remote.url().to_string());
        reads
            .index
            .spawn_blocking(move || RemoteIndex::load(&root, &url));
        // `lock` plans for no arch: it has no timing cache to look at.
        if self.shares_timing_caches() && !archs.is_empty() {
            let (remote, trt) = (remote.clone(), self.trt_version());
            let targets = self.gpus.timing_targets();
            reads
                .timing_caches
                .spawn(async move { observe::observe_timing_caches(&remote, &targets, trt).await });
        }
        reads
    }

    /// What the local cache (through `index`) and the remote (answering `reads`) hold of
    /// `desired`. Of the remote, only the verdicts depend on the local cache: its answers come
    /// back while the cache is looked at, a round trip hidden behind the local work instead of
    /// added to it.
    pub(super) async fn observe(
        &self,
        desired: &[DesiredEngine],
        mut index: LocalIndex,
        reads: Option<RemoteReads<'_>>,
    ) -> Result<Observed, WorkspaceError> {
        let local = observe::observe_local(&self.cache, desired, &mut index);
        // A lost index only costs reads next time; a read-only cache dir must not fail a plan.
        let _ = index.save();
        free_in_background(index);
        let (remote, timing_caches) = match reads {
            Some(reads) => {
                let (state, caches) = self.receive(reads, desired, &local).await?;
                (Some(state), caches)
            }
            None => (None, Vec::new()),
        };
        Ok(Observed {
            local,
            remote,
            timing_caches,
        })
    }

    /// The remote's answers to `reads`, and its verdicts on the desired engines given what the
    /// local cache holds (`local`: engines usable from it need no signature check).
    async fn receive(
        &self,
        mut reads: RemoteReads<'_>,
        desired: &[DesiredEngine],
        local: &LocalEngines,
    ) -> Result<(RemoteState, Vec<SharedTimingCache>), WorkspaceError> {
        let remote = reads.remote;
        let failed = |source| WorkspaceError::Remote {
            url: remote.url().to_string(),
            source,
        };
        let listings = finished(&mut reads.listing)
            .await
            .expect("the listing was sent")
            .map_err(failed)?;
        let trust = TrustCheck {
            policy: &self.trust,
            local,
            gpu_host: self.gpus.on_gpu_host(),
        };
        let mut index = finished(&mut reads.index)
            .await
            .expect("the index was being read");
        let state = observe::resolve_remote(remote, desired, &listings, &trust, &mut index)
            .await
            .map_err(failed)?;
        // Like the hash cache: a lost index costs GETs next time, never a wrong plan.
        let _ = index.save();
        free_in_background(index);
        free_in_background(listings);
        let timing_caches = finished(&mut reads.timing_caches)
            .await
            .transpose()
            .map_err(failed)?
            .unwrap_or_default();
        Ok((state, timing_caches))
    }

    /// The builder, when the plan builds anything: the backend of `[builder]`, checked against
    /// the pin and against every planned build, so nothing is built when one of them cannot be.
    pub fn builder_for(&self, plan: &Plan) -> Result<Option<Box<dyn Builder>>, BuildError> {
        let mut builds = (plan.steps.iter())
            .filter(|s| plan::needs_builder(s))
            .peekable();
        if builds.peek().is_none() {
            return Ok(None);
        }
        let builder = choose_backend(&self.manifest.builder, self.python.as_deref())?
            .into_builder(&self.trt)?;
        for step in builds {
            builder.check(&step.engine.key.file, &step.engine.build)?;
        }
        Ok(Some(builder))
    }

    /// Carries out `plan`: fetch, build, upload, reporting as it goes.
    pub async fn apply(
        &self,
        plan: &Plan,
        builder: Option<&dyn Builder>,
        reporter: &dyn Reporter,
        options: ApplyOptions,
        stop: &StopSignal,
    ) -> ApplyReport {
        let executor = Executor {
            cache: &self.cache,
            remote: self.remote.as_ref(),
            gpus: &self.gpus,
            builder,
            trust: &self.trust,
            signer: self.signer.as_ref(),
            timing_cache: self.manifest.builder.timing_cache,
            shared_timing_cache: self.shares_timing_caches(),
            reporter,
            options,
            stop,
        };
        executor.apply(plan).await
    }
}
