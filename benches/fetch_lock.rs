//! `cargo bench --bench fetch_lock`: a deploy host installing 100 pinned engines with
//! `trtctl fetch --lock` from an S3 server on loopback (s3s + s3s-fs, SigV4 checked: the test
//! harness's server), next to `aws s3 sync` of the same objects (engines and sidecars) from
//! the same server into an empty directory. `scripts/bench-fetch-lock.sh` installs awscli in a
//! venv and runs this.
//!
//! Setup (not timed): a CI project whose manifest wants `FETCH_ENGINES` engines (default 100:
//! half as many models × fp16/fp32 × sm_86), each `FETCH_ENGINE_MIB` MiB of pseudo-random
//! bytes (default 8) committed to its cache with a sidecar; `trtctl apply` uploads them and
//! writes engines.lock. Timed: on the deploy host (engines.toml and engines.lock, no ONNX
//! files, an empty cache) `trtctl fetch -q --gpu-arch sm_86`; then `aws s3 sync` of the
//! engines' prefix into an empty directory. `FETCH_RUNS` runs each (default 3), the median
//! printed. trtctl verifies every engine's sha256 against the lock and fsyncs it (the cache's
//! commit protocol); aws does neither. Figures go to docs/benchmarks.md; nothing here asserts
//! a time.

#[path = "../tests/integration/common/s3.rs"]
#[allow(dead_code)]
mod s3;
#[path = "../tests/integration/common/s3_listing.rs"]
#[allow(dead_code)]
mod s3_listing;
mod support;

use std::path::Path;

use trtctl::identity::{Provenance, SIDECAR_SCHEMA_VERSION, Sidecar};
use trtctl::workspace::Workspace;

use s3::{ACCESS_KEY, S3Server, SECRET_KEY};
use support::{Sample, aws, env_number, environment, find_aws, measure, median, trtctl};

const BUCKET: &str = "trtctl-bench";
const PREFIX: &str = "engines";
const ARCH: &str = "sm_86";
const MIB: f64 = 1024.0 * 1024.0;

/// A manifest of `models` models at fp16 and fp32 for one arch, with their ONNX stand-ins.
fn manifest(dir: &Path, server: &S3Server, models: u64) -> String {
    let mut text = format!(
        "trt_version = \"10.3.0\"\n[cache]\ndir = \"cache\"\n[remote]\nurl = \"{}\"\n[defaults]\nprecisions = [\"fp16\", \"fp32\"]\narchs = [\"{ARCH}\"]\n",
        server.url(PREFIX)
    );
    std::fs::create_dir_all(dir.join("models")).unwrap();
    for i in 0..models {
        std::fs::write(dir.join(format!("models/m{i}.onnx")), format!("model {i}")).unwrap();
        text.push_str(&format!(
            "[[model]]\nname = \"model{i}\"\nfamily = \"bench\"\nonnx = \"models/m{i}.onnx\"\nversion = \"v1\"\n"
        ));
    }
    text
}

/// Pseudo-random bytes, different per engine: nothing along the way can dedupe or compress them.
fn engine_bytes(seed: u64, mib: u64) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ (seed + 1).wrapping_mul(0x2545_F491_4F6C_DD1D);
    let mut bytes = vec![0u8; (mib << 20) as usize];
    for word in bytes.chunks_exact_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        word.copy_from_slice(&state.to_le_bytes());
    }
    bytes
}

/// CI: every engine in the cache with its sidecar; returns the total bytes.
fn seed_cache(dir: &Path, server: &S3Server, mib: u64) -> u64 {
    let workspace = Workspace::open(&dir.join("engines.toml"), &environment(server, ARCH)).unwrap();
    let mut total = 0;
    for (i, engine) in workspace.desired().unwrap().iter().enumerate() {
        let mut bytes = engine_bytes(i as u64, mib);
        // A TensorRT 10.3.0 plan header: fetch checks it against the engine's name.
        bytes[..4].copy_from_slice(b"ftrt");
        bytes[4..24].fill(0);
        bytes[24..28].copy_from_slice(&[10, 3, 0, 26]);
        let path = workspace.cache.engine_path(&engine.key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &bytes).unwrap();
        let sidecar = Sidecar {
            schema_version: SIDECAR_SCHEMA_VERSION,
            family: engine.key.family.clone(),
            id: engine.id.clone(),
            fingerprint: Some(engine.fingerprint.clone()),
            engine_sha256: trtctl::identity::sha256_hex(&bytes),
            engine_size: bytes.len() as u64,
            build: Some(engine.build.clone()),
            provenance: Provenance::default(),
            local_trust: None,
            weights: None,
        };
        std::fs::write(workspace.cache.sidecar_path(&engine.key), sidecar.to_json()).unwrap();
        total += bytes.len() as u64;
    }
    total
}

fn line(what: &str, bytes: u64, runs: &[Sample]) {
    let m = median(runs);
    let all: Vec<String> = runs.iter().map(|s| format!("{:.2}", s.seconds)).collect();
    println!(
        "{what:<28} {:>6.2} s  {:>7.1} MiB/s  peak RSS {:>6.1} MiB  CPU {:>5.2} s   (median of {}: {} s; others' CPU ≤ {:.1} s)",
        m.seconds,
        bytes as f64 / MIB / m.seconds,
        m.rss_mib,
        m.cpu_seconds,
        runs.len(),
        all.join(", "),
        m.other_cpu
    );
}

fn main() {
    let engines = env_number("FETCH_ENGINES", 100).max(2) & !1;
    let mib = env_number("FETCH_ENGINE_MIB", 8).max(1);
    let runs = env_number("FETCH_RUNS", 3).max(1) as usize;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let server = S3Server::start(ACCESS_KEY, SECRET_KEY, BUCKET);
    let ci = tempfile::tempdir().unwrap();
    let text = manifest(ci.path(), &server, engines / 2);
    std::fs::write(ci.path().join("engines.toml"), &text).unwrap();
    let bytes = seed_cache(ci.path(), &server, mib);
    let status = trtctl(ci.path(), &server, &["apply", "-q", "--gpu-arch", ARCH])
        .status()
        .unwrap();
    assert!(status.success(), "CI's apply (upload) failed");
    println!(
        "fetch of {engines} pinned engines of {mib} MiB ({:.0} MiB, plus {engines} sidecars) over loopback from s3s-fs (SigV4), {cores} core(s), {runs} run(s) each",
        bytes as f64 / MIB
    );

    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("engines.toml"), &text).unwrap();
    std::fs::copy(
        ci.path().join("engines.lock"),
        host.path().join("engines.lock"),
    )
    .unwrap();
    let cache = host.path().join("cache");
    let mut fetches = Vec::new();
    for _ in 0..runs {
        let _ = std::fs::remove_dir_all(&cache);
        let mut cmd = trtctl(host.path(), &server, &["fetch", "-q", "--gpu-arch", ARCH]);
        cmd.env("TRTEXEC", "/nonexistent/trtexec");
        fetches.push(measure(&mut cmd, "trtctl fetch --lock"));
        let fetched = std::fs::read_dir(cache.join("bench")).unwrap().count() as u64;
        assert_eq!(fetched, engines * 2, "engines and sidecars in the cache");
    }
    line("trtctl fetch --lock", bytes, &fetches);

    let Some(awscli) = find_aws() else {
        println!(
            "aws s3 sync: skipped (no `aws` on PATH and no AWSCLI); scripts/bench-fetch-lock.sh installs one"
        );
        return;
    };
    let dest = host.path().join("aws-sync");
    let dest_arg = dest.to_str().unwrap().to_string();
    let source = format!("s3://{BUCKET}/{PREFIX}/");
    let mut syncs = Vec::new();
    for _ in 0..runs {
        let _ = std::fs::remove_dir_all(&dest);
        let mut cmd = aws(
            &awscli,
            host.path(),
            &server,
            &["s3", "sync", "--only-show-errors", &source, &dest_arg],
        );
        syncs.push(measure(&mut cmd, "aws s3 sync"));
        let synced = std::fs::read_dir(dest.join("bench")).unwrap().count() as u64;
        assert_eq!(synced, engines * 2, "engines and sidecars synced");
    }
    line("aws s3 sync", bytes, &syncs);
}
