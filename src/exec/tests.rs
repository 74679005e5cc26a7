//! The scheduler on its own: a fake builder that records which GPU built what and when, a
//! `file://` remote, and a reporter that keeps every event.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use super::*;
use crate::builder::{BuildError, BuildJob, Builder, Built};
use crate::gpu::GpuInventory;
use crate::manifest::Manifest;
use crate::observe;
use crate::plan::{self, Force, Plan, PlanInputs};
use crate::store::remote::{Remote, RemoteEnv, RemoteSettings};
use crate::store::{self, Cache};
use crate::trust::TrustPolicy;

/// Writes a small engine after `delay`; fails the engines named in `failing`.
struct FakeBuilder {
    delay: Duration,
    failing: Vec<String>,
    started: Instant,
    /// (device, file, start, end) in milliseconds since `started`.
    runs: Mutex<Vec<(u32, String, u128, u128)>>,
}

impl FakeBuilder {
    fn new(delay_ms: u64, failing: &[&str]) -> FakeBuilder {
        FakeBuilder {
            delay: Duration::from_millis(delay_ms),
            failing: failing.iter().map(|s| s.to_string()).collect(),
            started: Instant::now(),
            runs: Mutex::new(Vec::new()),
        }
    }
}

impl Builder for FakeBuilder {
    fn describe(&self) -> String {
        "fake builder".into()
    }

    fn build<'a>(&'a self, job: &'a BuildJob) -> BoxFuture<'a, Result<Built, BuildError>> {
        Box::pin(async move {
            let start = self.started.elapsed().as_millis();
            tokio::time::sleep(self.delay).await;
            let file = job.log.file_name().unwrap().to_string_lossy().to_string();
            self.runs.lock().unwrap().push((
                job.device,
                file.clone(),
                start,
                self.started.elapsed().as_millis(),
            ));
            if self.failing.iter().any(|f| file.starts_with(f.as_str())) {
                return Err(BuildError::Failed {
                    reason: "fake failure".into(),
                    log: job.log.clone(),
                    tail: String::new(),
                });
            }
            // A plan header of TensorRT 10.3.0.26 (the tag, the serialization version, bytes
            // 24-27), as the executor reads it after every build.
            let mut plan = b"ftrt".to_vec();
            plan.extend([0; 20]);
            plan.extend([10, 3, 0, 26]);
            plan.extend(format!("engine from {file}").bytes());
            std::fs::write(&job.output, plan).unwrap();
            Ok(Built {
                duration: self.delay,
                builder: self.describe(),
            })
        })
    }
}

#[derive(Default)]
struct Recorder {
    finished: Mutex<Vec<(ActionKind, String, String)>>,
}

impl Reporter for Recorder {
    fn event(&self, event: &Event) {
        if let Event::Finished {
            action,
            file,
            outcome,
            ..
        } = event
        {
            let text = serde_json::to_value(outcome).unwrap()["outcome"].to_string();
            self.finished
                .lock()
                .unwrap()
                .push((*action, file.to_string(), text));
        }
    }
}

struct World {
    dir: tempfile::TempDir,
    manifest: Manifest,
    cache: Cache,
    remote: Remote,
}

impl World {
    /// One model at fp16, fp32, int8 and best for sm_86, and a `file://` remote.
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.onnx"), b"onnx bytes").unwrap();
        let remote_dir = dir.path().join("remote");
        let text = "trt_version = \"10.3.0\"\n[[model]]\nname = \"arcface_r100\"\nonnx = \"m.onnx\"\nversion = \"v1\"\narchs = [\"sm_86\"]\nprecisions = [\"fp16\", \"fp32\", \"int8\", \"best\"]\nbatch = { min = 1, opt = 8, max = 16 }\n";
        let manifest = Manifest::parse(&dir.path().join("engines.toml"), text).unwrap();
        let settings = RemoteSettings {
            url: format!("file://{}", remote_dir.display()),
            ..RemoteSettings::default()
        };
        World {
            cache: Cache::new(dir.path().join("cache")),
            remote: Remote::open(&settings, &RemoteEnv::default()).unwrap(),
            manifest,
            dir,
        }
    }

    fn onnx(&self) -> PathBuf {
        self.dir.path().join("m.onnx")
    }

    async fn plan(&self, gpus: &GpuInventory) -> Plan {
        let (sha, _) = store::hash_file(&self.onnx()).unwrap();
        let digests = BTreeMap::from([(self.manifest.models[0].onnx.clone(), sha)]);
        let trt = "10.3.0".parse().unwrap();
        let desired = plan::desired_engines(&self.manifest, &digests, trt, &Default::default());
        let local =
            observe::observe_local(&self.cache, &desired, &mut observe::LocalIndex::default());
        let trust = TrustPolicy::default();
        let check = observe::TrustCheck {
            policy: &trust,
            local: &local,
            gpu_host: false,
        };
        let names = plan::wanted_names(&self.manifest, &digests, trt, &Default::default());
        let listings = observe::list_wanted(self.remote.clone(), names)
            .await
            .unwrap();
        let remote = observe::resolve_remote(
            &self.remote,
            &desired,
            &listings,
            &check,
            &mut observe::RemoteIndex::in_memory(),
        )
        .await
        .unwrap();
        plan::plan(PlanInputs {
            manifest: &self.manifest,
            trt_version: trt,
            desired,
            gpu_archs: &gpus.archs(),
            gpu_host: gpus.on_gpu_host(),
            gpu_models: &gpus.models_by_arch(),
            local: &local,
            remote: Some(&remote),
            trust: &trust,
            targets: &[],
            force: &Force::Nothing,
        })
    }

    async fn apply(
        &self,
        gpus: &GpuInventory,
        builder: &dyn Builder,
        keep_going: bool,
    ) -> (ApplyReport, Recorder) {
        let plan = self.plan(gpus).await;
        let recorder = Recorder::default();
        let stop = StopSignal::default();
        let executor = Executor {
            cache: &self.cache,
            remote: Some(&self.remote),
            gpus,
            builder: Some(builder),
            trust: &TrustPolicy::default(),
            signer: None,
            timing_cache: false,
            shared_timing_cache: false,
            reporter: &recorder,
            options: ApplyOptions {
                jobs: 2,
                keep_going,
            },
            stop: &stop,
        };
        (executor.apply(&plan).await, recorder)
    }
}

fn two_gpus() -> GpuInventory {
    let arch = "sm_86".parse().unwrap();
    GpuInventory::simulated(&[arch, arch])
}

/// Builds whose [start, end) overlap on one device.
fn overlaps_on_one_device(runs: &[(u32, String, u128, u128)]) -> usize {
    let mut count = 0;
    for (i, a) in runs.iter().enumerate() {
        for b in &runs[i + 1..] {
            if a.0 == b.0 && a.2 < b.3 && b.2 < a.3 {
                count += 1;
            }
        }
    }
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_gpu_builds_one_engine_at_a_time_and_uploads_follow() {
    let world = World::new();
    let builder = FakeBuilder::new(150, &[]);
    let (report, _) = world.apply(&two_gpus(), &builder, false).await;
    assert!(report.succeeded(), "{report:?}");
    assert_eq!((report.built, report.uploaded), (4, 4));
    let runs = builder.runs.lock().unwrap().clone();
    assert_eq!(runs.len(), 4);
    assert_eq!(overlaps_on_one_device(&runs), 0, "{runs:?}");
    let devices: std::collections::BTreeSet<u32> = runs.iter().map(|r| r.0).collect();
    assert_eq!(devices.len(), 2, "both GPUs get builds: {runs:?}");
    // Published: a second apply elsewhere would fetch, and here nothing is left to do.
    let again = world.plan(&two_gpus()).await;
    assert!(!again.has_changes(), "{:?}", again.summary());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_build_skips_its_upload_and_stops_what_has_not_started() {
    let world = World::new();
    let builder = FakeBuilder::new(50, &["arcface_r100_v1_fp16"]);
    let one_gpu = GpuInventory::simulated(&["sm_86".parse().unwrap()]);
    let (report, recorder) = world.apply(&one_gpu, &builder, false).await;
    assert_eq!(report.failures.len(), 1, "{report:?}");
    assert!(matches!(
        *report.failures[0].reason,
        ExecError::Build(BuildError::Failed { .. })
    ));
    let finished = recorder.finished.lock().unwrap().clone();
    let upload_of_failed = finished
        .iter()
        .find(|(a, f, _)| *a == ActionKind::Upload && f.contains("_fp16_"))
        .unwrap();
    assert_eq!(upload_of_failed.2, "\"skipped\"");
    assert!(report.built < 4 && report.skipped > 0, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_going_finishes_everything_that_does_not_depend_on_the_failure() {
    let world = World::new();
    let builder = FakeBuilder::new(20, &["arcface_r100_v1_fp16"]);
    let (report, _) = world.apply(&two_gpus(), &builder, true).await;
    assert_eq!(report.failures.len(), 1);
    assert_eq!((report.built, report.uploaded, report.skipped), (3, 3, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_onnx_rewritten_during_its_build_is_not_committed() {
    let world = World::new();
    // The builder's first run rewrites the ONNX, as an export job writing the same path would.
    struct Rewriting<'a>(&'a FakeBuilder, &'a Path);
    impl Builder for Rewriting<'_> {
        fn describe(&self) -> String {
            self.0.describe()
        }
        fn build<'b>(&'b self, job: &'b BuildJob) -> BoxFuture<'b, Result<Built, BuildError>> {
            std::fs::write(self.1, b"new onnx bytes").unwrap();
            self.0.build(job)
        }
    }
    let fake = FakeBuilder::new(10, &[]);
    let onnx = world.onnx();
    let builder = Rewriting(&fake, &onnx);
    let (report, _) = world.apply(&two_gpus(), &builder, true).await;
    assert_eq!(report.built, 0, "{report:?}");
    let onnx_changed = report
        .failures
        .iter()
        .filter(|f| matches!(*f.reason, ExecError::OnnxChanged { .. }))
        .count();
    assert_eq!((onnx_changed, report.failures.len()), (4, 4), "{report:?}");
    let committed = std::fs::read_dir(world.cache.root().join("arcface"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(committed, 0, "nothing committed under the old digest");
}
