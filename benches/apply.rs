//! `cargo bench --bench apply`: executor makespan for 64 stand-in builds of 1 s on 1 and 2
//! simulated GPUs against the ideal ceil(N/GPUs)·1 s, and executor overhead per no-op engine.
//! Figures go to docs/benchmarks.md; nothing here asserts a time.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

const ENGINES: usize = 64;
const BUILD_SECONDS: f64 = 1.0;
const STUB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/trtexec");

/// 32 models × 2 precisions, all for sm_86, all with static shapes (the stand-in ignores them).
fn manifest(dir: &Path, models: usize) {
    std::fs::create_dir_all(dir.join("models")).unwrap();
    let mut text = String::from(
        "trt_version = \"10.3.0\"\n[builder]\ntiming_cache = false\n[defaults]\nprecisions = [\"fp16\", \"fp32\"]\narchs = [\"sm_86\"]\n",
    );
    for m in 0..models {
        std::fs::write(dir.join(format!("models/m{m}.onnx")), format!("model {m}")).unwrap();
        text.push_str(&format!(
            "[[model]]\nname = \"model_{m}\"\nonnx = \"models/m{m}.onnx\"\nversion = \"v1\"\n"
        ));
    }
    std::fs::write(dir.join("engines.toml"), text).unwrap();
}

fn apply(dir: &Path, gpus: usize, sleep: f64) -> f64 {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trtctl"));
    cmd.current_dir(dir)
        .args(["apply", "-q"])
        .env("TENSORRT_CACHE_DIR", dir.join("cache"))
        .env("TRTEXEC", STUB)
        .env("STUB_SLEEP", sleep.to_string())
        .env_remove("TRTCTL_GPU_ARCH")
        .stdout(std::process::Stdio::null());
    for _ in 0..gpus {
        cmd.args(["--gpu-arch", "sm_86"]);
    }
    let start = Instant::now();
    let status = cmd.status().unwrap();
    assert!(status.success());
    start.elapsed().as_secs_f64()
}

fn main() {
    for gpus in [1, 2] {
        let dir = tempfile::tempdir().unwrap();
        manifest(dir.path(), ENGINES / 2);
        let makespan = apply(dir.path(), gpus, BUILD_SECONDS);
        let ideal = ENGINES.div_ceil(gpus) as f64 * BUILD_SECONDS;
        println!(
            "{ENGINES} builds of {BUILD_SECONDS} s on {gpus} GPU(s): makespan {makespan:.2} s, ideal {ideal:.0} s, ratio {:.3}",
            makespan / ideal
        );
    }
    // Overhead: apply over a fully cached world, per engine, minus a plan of the same world.
    let dir = tempfile::tempdir().unwrap();
    manifest(dir.path(), 500);
    apply(dir.path(), 1, 0.0);
    let noop = apply(dir.path(), 1, 0.0);
    let plan_only = {
        let start = Instant::now();
        let status = Command::new(env!("CARGO_BIN_EXE_trtctl"))
            .current_dir(dir.path())
            .args(["plan", "-q", "--gpu-arch", "sm_86"])
            .env("TENSORRT_CACHE_DIR", dir.path().join("cache"))
            .status()
            .unwrap();
        assert!(status.success());
        start.elapsed().as_secs_f64()
    };
    let engines = 1_000.0;
    println!(
        "no-op apply of {engines} cached engines: {noop:.3} s ({:.1} µs/engine); plan alone {plan_only:.3} s; executor overhead {:.1} µs/engine",
        noop / engines * 1e6,
        (noop - plan_only).max(0.0) / engines * 1e6
    );
}
