//! `cargo bench --bench plan`: a no-op plan over 100 / 1,000 / 10,000 cached engines, and
//! cold ONNX hashing of a 1 GiB file against `openssl dgst -sha256`.
//! Figures go to docs/benchmarks.md; nothing here asserts a time.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use trtctl::identity::{Provenance, SIDECAR_SCHEMA_VERSION, Sidecar};
use trtctl::observe::HashCache;
use trtctl::plan::{self, Force};
use trtctl::workspace::{Environment, Workspace};

const ARCHS_PER_MODEL: usize = 50;
const PRECISIONS: [&str; 2] = ["fp16", "fp32"];

/// A manifest of `engines` engines (models × 2 precisions × 50 archs), all of them cached.
fn cached_world(dir: &Path, engines: usize) -> Workspace {
    let models = engines.div_ceil(ARCHS_PER_MODEL * PRECISIONS.len());
    let archs: Vec<String> = (0..ARCHS_PER_MODEL)
        .map(|i| format!("\"sm_{}\"", 10 + i))
        .collect();
    let mut manifest = format!(
        "trt_version = \"10.3.0\"\n[cache]\ndir = \"cache\"\n[defaults]\nprecisions = [\"fp16\", \"fp32\"]\narchs = [{}]\nbatch = {{ min = 1, opt = 8, max = 16 }}\n",
        archs.join(", ")
    );
    std::fs::create_dir_all(dir.join("models")).unwrap();
    for m in 0..models {
        std::fs::write(dir.join(format!("models/m{m}.onnx")), format!("model {m}")).unwrap();
        manifest.push_str(&format!(
            "[[model]]\nname = \"model_{m}\"\nonnx = \"models/m{m}.onnx\"\nversion = \"v1\"\n"
        ));
    }
    std::fs::write(dir.join("engines.toml"), manifest).unwrap();
    let env = Environment {
        gpu_archs: vec!["sm_10".parse().unwrap()],
        ..Environment::default()
    };
    let workspace = Workspace::open(&dir.join("engines.toml"), &env).unwrap();
    let files: Vec<_> = workspace
        .manifest
        .models
        .iter()
        .map(|m| m.onnx.clone())
        .collect();
    let digests = HashCache::load(workspace.cache.root())
        .digest(&files)
        .unwrap();
    let desired = plan::desired_engines(
        &workspace.manifest,
        &digests.sha256,
        workspace.trt_version(),
    );
    for engine in &desired {
        let bytes = engine.key.file.as_bytes();
        let sidecar = Sidecar {
            schema_version: SIDECAR_SCHEMA_VERSION,
            family: engine.key.family.clone(),
            id: engine.id.clone(),
            fingerprint: Some(engine.fingerprint.clone()),
            engine_sha256: trtctl::identity::sha256_hex(bytes),
            engine_size: bytes.len() as u64,
            build: Some(engine.build.clone()),
            provenance: Provenance::default(),
            local_trust: None,
        };
        let engine_path = workspace.cache.engine_path(&engine.key);
        std::fs::create_dir_all(engine_path.parent().unwrap()).unwrap();
        std::fs::write(&engine_path, bytes).unwrap();
        std::fs::write(workspace.cache.sidecar_path(&engine.key), sidecar.to_json()).unwrap();
    }
    workspace
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn bench_plan(engines: usize) {
    let dir = tempfile::tempdir().unwrap();
    let workspace = cached_world(dir.path(), engines);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let run = || {
        runtime
            .block_on(workspace.plan(&[], &Force::Nothing))
            .unwrap()
    };
    let warm = run();
    assert_eq!(warm.steps.len(), engines.div_ceil(100) * 100);
    assert!(!warm.has_changes(), "the bench world is not fully cached");
    let samples: Vec<Duration> = (0..15)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed()
        })
        .collect();
    // The whole binary, as a user runs it: process start, manifest, observation, rendering.
    let binary = env!("CARGO_BIN_EXE_trtctl");
    let cli: Vec<Duration> = (0..5)
        .map(|_| {
            let start = Instant::now();
            let status = Command::new(binary)
                .args(["plan", "-q", "--gpu-arch", "sm_10", "-f"])
                .arg(dir.path().join("engines.toml"))
                .env_remove("TENSORRT_CACHE_DIR")
                .status()
                .unwrap();
            assert!(status.success());
            start.elapsed()
        })
        .collect();
    println!(
        "plan, {:>6} cached engines: in-process median {:>8.2?}, `trtctl plan` median {:>8.2?}",
        warm.steps.len(),
        median(samples),
        median(cli)
    );
}

fn bench_hashing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.onnx");
    let chunk: Vec<u8> = (0..(1 << 20)).map(|i| (i * 31 % 251) as u8).collect();
    {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        for _ in 0..1024 {
            out.write_all(&chunk).unwrap();
        }
    }
    let files = vec![file.clone()];
    let start = Instant::now();
    let cold = HashCache::load(dir.path()).digest(&files).unwrap();
    let ours = start.elapsed();
    // The first openssl run only tells whether it is installed.
    let _ = Command::new("openssl")
        .args(["dgst", "-sha256"])
        .arg(&file)
        .output();
    let theirs = {
        let start = Instant::now();
        let again = Command::new("openssl")
            .args(["dgst", "-sha256"])
            .arg(&file)
            .output();
        again
            .ok()
            .filter(|o| o.status.success())
            .map(|_| start.elapsed())
    };
    let mut cache = HashCache::load(dir.path());
    cache.digest(&files).unwrap();
    cache.save().unwrap();
    let warm = HashCache::load(dir.path()).digest(&files).unwrap();
    println!(
        "hash 1 GiB ONNX: trtctl {ours:.2?} ({:.0} MiB/s); openssl dgst -sha256 {}; second run hashed {} file(s)",
        1024.0 / ours.as_secs_f64(),
        match theirs {
            Some(t) => format!(
                "{t:.2?} ({:.0} MiB/s, ratio {:.2}×)",
                1024.0 / t.as_secs_f64(),
                t.as_secs_f64() / ours.as_secs_f64()
            ),
            None => "not installed".to_string(),
        },
        warm.hashed
    );
    assert_eq!(cold.hashed, 1);
}

fn main() {
    let filter = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    let wanted = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    for engines in [100, 1_000, 10_000] {
        if wanted("plan") {
            bench_plan(engines);
        }
    }
    if wanted("hash") {
        bench_hashing();
    }
}
