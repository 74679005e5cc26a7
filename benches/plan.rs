//! `cargo bench --bench plan`: a no-op plan over 100 / 1,000 / 10,000 cached engines, and
//! cold ONNX hashing of a 1 GiB file against `openssl dgst -sha256`, and what required
//! signatures add: a warm no-op plan of 10,000 signed engines against the same unsigned, and a
//! cold plan of 1,000 signed remote engines with and without verification.
//! `cargo bench --bench plan -- ninja`: the 10,000-engine no-op `trtctl plan` and a no-op
//! `ninja` over 10,000 up-to-date targets from 100 inputs (the same shape), timed alternately.
//! Figures go to docs/benchmarks.md; nothing here asserts a time.

#[path = "common/world.rs"]
mod world;

use std::process::Command;
use std::time::{Duration, Instant};

use trtctl::observe::HashCache;
use trtctl::plan::Force;
use trtctl::trust::SecretKey;
use trtctl::workspace::Workspace;
use world::{Place, cached_world, world};

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

/// 100 inputs × 100 outputs each, built once: every later `ninja` has nothing to do.
fn ninja_world(dir: &std::path::Path, targets: usize) {
    let inputs = targets.div_ceil(100);
    let mut build = String::from("rule stamp\n  command = touch $out\n");
    std::fs::create_dir_all(dir.join("in")).unwrap();
    for i in 0..inputs {
        std::fs::write(dir.join(format!("in/m{i}.onnx")), format!("model {i}")).unwrap();
        for t in 0..100 {
            build.push_str(&format!("build out/m{i}_{t}.trt: stamp in/m{i}.onnx\n"));
        }
    }
    std::fs::write(dir.join("build.ninja"), build).unwrap();
    let built = Command::new("ninja")
        .args(["-C"])
        .arg(dir)
        .output()
        .expect("ninja is installed (apt-get install ninja-build)");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
}

fn bench_against_ninja(engines: usize) {
    // This machine's timings drift by 10-15 % over minutes: many short pairs, not a few.
    const PAIRS: usize = 51;
    let dir = tempfile::tempdir().unwrap();
    cached_world(&dir.path().join("trtctl"), engines);
    ninja_world(&dir.path().join("ninja"), engines);
    let mut trtctl = Command::new(env!("CARGO_BIN_EXE_trtctl"));
    trtctl
        .args(["plan", "-q", "--gpu-arch", "sm_10", "-f"])
        .arg(dir.path().join("trtctl/engines.toml"))
        .env_remove("TENSORRT_CACHE_DIR");
    let mut ninja = Command::new("ninja");
    ninja.arg("-C").arg(dir.path().join("ninja"));
    let time = |command: &mut Command| {
        let start = Instant::now();
        let output = command.output().unwrap();
        assert!(output.status.success());
        start.elapsed()
    };
    // The first plan writes the sidecar index, as the first plan after any apply does.
    time(&mut trtctl);
    assert!(String::from_utf8_lossy(&ninja.output().unwrap().stdout).contains("no work to do"));
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..PAIRS {
        ours.push(time(&mut trtctl));
        theirs.push(time(&mut ninja));
    }
    let (ours, theirs) = (median(ours), median(theirs));
    println!(
        "no-op over {engines} targets, median of {PAIRS} paired runs: `trtctl plan` {ours:.2?}, `ninja` {theirs:.2?}: {:.2}× ninja",
        ours.as_secs_f64() / theirs.as_secs_f64()
    );
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
    if filter.as_deref() == Some("ninja") {
        bench_against_ninja(10_000);
    }
}
