//! `cargo bench --bench plan`: a no-op plan over 100 / 1,000 / 10,000 cached engines, and
//! cold ONNX hashing of a 1 GiB file against `openssl dgst -sha256`, and what required
//! signatures add: a warm no-op plan of 10,000 signed engines against the same unsigned, and a
//! cold plan of 1,000 signed remote engines with and without verification.
//! Figures go to docs/benchmarks.md; nothing here asserts a time.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use trtctl::identity::{LocalTrust, Provenance, SIDECAR_SCHEMA_VERSION, Sidecar};
use trtctl::observe::HashCache;
use trtctl::plan::{self, Force};
use trtctl::trust::{SecretKey, SignedFacts, TrustPolicy};
use trtctl::workspace::{Environment, Workspace};

const ARCHS_PER_MODEL: usize = 50;
const PRECISIONS: [&str; 2] = ["fp16", "fp32"];

/// Where a world's engines are: cached here, or only in its `file://` remote.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    Cache,
    Remote,
}

/// A manifest of `engines` engines (models × 2 precisions × 50 archs), all of them cached.
fn cached_world(dir: &Path, engines: usize) -> Workspace {
    world(dir, engines, None, Place::Cache)
}

/// The same world, its engines signed by `signer` (and the key trusted, so signatures are
/// required) and placed in the cache (as fetched and verified) or in a `file://` remote.
fn world(dir: &Path, engines: usize, signer: Option<&SecretKey>, place: Place) -> Workspace {
    let models = engines.div_ceil(ARCHS_PER_MODEL * PRECISIONS.len());
    let archs: Vec<String> = (0..ARCHS_PER_MODEL)
        .map(|i| format!("\"sm_{}\"", 10 + i))
        .collect();
    let mut manifest = format!(
        "trt_version = \"10.3.0\"\n[cache]\ndir = \"cache\"\n{}[defaults]\nprecisions = [\"fp16\", \"fp32\"]\narchs = [{}]\nbatch = {{ min = 1, opt = 8, max = 16 }}\n",
        if place == Place::Remote {
            "[remote]\nurl = \"file://remote\"\n"
        } else {
            ""
        },
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
    let mut workspace = Workspace::open(&dir.join("engines.toml"), &env).unwrap();
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
        let record = signer.map(|key| key.sign(&SignedFacts::of(&sidecar).unwrap()));
        let root = match place {
            Place::Cache => workspace.cache.root().to_path_buf(),
            Place::Remote => dir.join("remote"),
        };
        let engine_path = root.join(engine.key.path());
        std::fs::create_dir_all(engine_path.parent().unwrap()).unwrap();
        std::fs::write(&engine_path, bytes).unwrap();
        let sidecar = match (place, &record) {
            (Place::Cache, Some(record)) => Sidecar {
                local_trust: Some(LocalTrust::Fetched {
                    signer: signer.map(|k| k.public().to_string()),
                    signature: Some(record.to_line()),
                }),
                ..sidecar
            },
            (Place::Remote, Some(record)) => {
                let signatures = root.join(format!("{}.sig", engine.key.path()));
                std::fs::create_dir_all(&signatures).unwrap();
                std::fs::write(signatures.join(&record.signer), record.to_bytes()).unwrap();
                sidecar
            }
            (_, None) => sidecar,
        };
        std::fs::write(root.join(engine.key.sidecar_path()), sidecar.to_json()).unwrap();
    }
    if let Some(key) = signer {
        workspace.trust = TrustPolicy::new(vec![key.public()], None).unwrap();
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

/// Median in-process plan times of two workspaces, sampled alternately so drift hits both.
fn compare_plans(a: &Workspace, b: &Workspace, samples: usize) -> (Duration, Duration) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let time = |w: &Workspace| {
        let start = Instant::now();
        runtime.block_on(w.plan(&[], &Force::Nothing)).unwrap();
        start.elapsed()
    };
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for _ in 0..samples {
        ta.push(time(a));
        tb.push(time(b));
    }
    (median(ta), median(tb))
}

/// Warm: 10,000 cached engines, unsigned and not required, against signed and required.
/// Cold: 1,000 engines in a `file://` remote, nothing cached, planned without and with
/// verification (the signatures are read and checked only for engines that would be fetched).
fn bench_trust() {
    let key = SecretKey::generate("bench").unwrap();
    let (plain_dir, signed_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let plain = world(plain_dir.path(), 10_000, None, Place::Cache);
    let signed = world(signed_dir.path(), 10_000, Some(&key), Place::Cache);
    let plan = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(signed.plan(&[], &Force::Nothing))
        .unwrap();
    assert!(!plan.has_changes(), "signed cache entries were not trusted");
    let (unsigned, verified) = compare_plans(&plain, &signed, 21);
    println!(
        "warm no-op plan, 10,000 engines: unsigned {unsigned:.2?}, signed and required {verified:.2?} ({:+.1}%)",
        (verified.as_secs_f64() / unsigned.as_secs_f64() - 1.0) * 100.0
    );
    let remote_dir = tempfile::tempdir().unwrap();
    let required = world(remote_dir.path(), 1_000, Some(&key), Place::Remote);
    // The same remote (its signature objects stay), planned without verification.
    let unchecked = world(remote_dir.path(), 1_000, None, Place::Remote);
    let plan = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(required.plan(&[], &Force::Nothing))
        .unwrap();
    assert_eq!(plan.summary().fetch, 1_000, "{}", plan.summary());
    let (without, with) = compare_plans(&unchecked, &required, 9);
    println!(
        "cold plan, 1,000 remote engines (file://): without verification {without:.2?}, verifying signatures {with:.2?} (+{:.2?} per 1,000)",
        with.saturating_sub(without)
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
    if wanted("trust") {
        bench_trust();
    }
}
