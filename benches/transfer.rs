//! `cargo bench --bench transfer`: upload and fetch of one 1 GiB engine by the `trtctl` binary
//! against an S3 server on loopback (s3s + s3s-fs, SigV4 checked: the test harness's server),
//! next to `aws s3 cp` of the same file against the same server, with each process's peak RSS.
//! `scripts/bench-transfer.sh` installs awscli in a venv and runs this.
//!
//! Each transfer is one whole process, timed from spawn to exit, as a user runs it:
//! * upload: machine A's cache holds the engine and its sidecar, the remote is empty, and
//!   `trtctl apply` plans exactly one `↑ upload`;
//! * fetch: machine B has an empty cache, and `trtctl apply` plans exactly one `↓ fetch`;
//! * `aws --endpoint-url … s3 cp FILE s3://…` and back, awscli from `$AWSCLI` or `aws` on PATH
//!   (skipped with a message when there is none).
//!
//! Peak RSS and CPU time come from `wait4`'s rusage for that one child (exact, unlike polling
//! `/proc/PID/status`, which misses the last interval). The server runs in this process, so
//! its CPU is not counted in the child's CPU time but does compete for the same cores.
//! Every run starts from an empty server data dir, an empty destination and no dirty pages
//! (`sync` first): s3s-fs writes every byte to disk at least twice, and a run must not pay for
//! the previous one's writeback.
//!
//! trtctl's upload takes the engine's build lease first (one small create-only PUT), so the
//! multipart upload completes straight at the engine's name (see src/store/remote/mod.rs).
//! Memory is prefaulted once before any measurement (see `prefault_memory`).
//!
//! Environment: `TRANSFER_MIB` (engine size, default 1024), `TRANSFER_RUNS` (runs per
//! measurement, default 3; the median is printed), `TRANSFER_PART_MIB` / `TRANSFER_CONCURRENCY`
//! (written to `[remote] part_size_mib` / `concurrency`; default: trtctl's defaults).
//! Figures go to docs/benchmarks.md; nothing here asserts a time.

#[path = "../tests/integration/common/s3.rs"]
#[allow(dead_code)]
mod s3;
#[path = "../tests/integration/common/s3_listing.rs"]
#[allow(dead_code)]
mod s3_listing;
mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use sha2::{Digest, Sha256};
use trtctl::identity::{Provenance, SIDECAR_SCHEMA_VERSION, Sidecar};
use trtctl::workspace::Workspace;

use s3::{ACCESS_KEY, S3Server, SECRET_KEY};
use support::{Sample, aws, env_number, environment, find_aws, measure, median, trtctl};

const BUCKET: &str = "trtctl-bench";
const PREFIX: &str = "engines";
const ARCH: &str = "sm_86";
const MIB: f64 = 1024.0 * 1024.0;

/// Empties the server's data dir (objects, parts, metadata), keeping an empty bucket.
fn wipe_server(server: &S3Server) {
    for entry in std::fs::read_dir(&server.root).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path).unwrap();
        } else {
            std::fs::remove_file(&path).unwrap();
        }
    }
    std::fs::create_dir_all(server.root.join(&server.bucket)).unwrap();
}

/// A project (manifest + ONNX stand-in) that wants exactly one engine, from `server`.
fn project(dir: &Path, server: &S3Server, tuning: &str) {
    std::fs::create_dir_all(dir.join("models")).unwrap();
    std::fs::write(dir.join("models/big.onnx"), b"transfer bench model").unwrap();
    let manifest = format!(
        "trt_version = \"10.3.0\"\n[cache]\ndir = \"cache\"\n[remote]\nurl = \"{}\"\n{tuning}[defaults]\nprecisions = [\"fp16\"]\narchs = [\"{ARCH}\"]\n[[model]]\nname = \"big_model\"\nfamily = \"big\"\nonnx = \"models/big.onnx\"\nversion = \"v1\"\n",
        server.url(PREFIX)
    );
    std::fs::write(dir.join("engines.toml"), manifest).unwrap();
}

/// Writes `mib` MiB of pseudo-random bytes to `path`; returns their sha256.
fn write_engine(path: &Path, mib: u64) -> String {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut hasher = Sha256::new();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut chunk = vec![0u8; 1 << 20];
    for n in 0..mib {
        for word in chunk.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        if n == 0 {
            // A TensorRT 10.3.0 plan header: a fetch checks it against the engine's name.
            chunk[..4].copy_from_slice(b"ftrt");
            chunk[4..24].fill(0);
            chunk[24..28].copy_from_slice(&[10, 3, 0, 26]);
        }
        hasher.update(&chunk);
        out.write_all(&chunk).unwrap();
    }
    out.into_inner().unwrap().sync_all().unwrap();
    trtctl::identity::hex(&hasher.finalize())
}

/// Machine A: the engine the manifest wants, in the cache with a valid sidecar.
/// Returns (engine path in the cache, its object key under the bucket).
fn seed_cache(dir: &Path, server: &S3Server, mib: u64) -> (PathBuf, String) {
    let env = environment(server, ARCH);
    let workspace = Workspace::open(&dir.join("engines.toml"), &env).unwrap();
    let desired = workspace.desired().unwrap();
    assert_eq!(desired.len(), 1, "the bench manifest wants one engine");
    let engine = &desired[0];
    let path = workspace.cache.engine_path(&engine.key);
    let sha = write_engine(&path, mib);
    let sidecar = Sidecar {
        schema_version: SIDECAR_SCHEMA_VERSION,
        family: engine.key.family.clone(),
        id: engine.id.clone(),
        fingerprint: Some(engine.fingerprint.clone()),
        engine_sha256: sha,
        engine_size: mib << 20,
        build: Some(engine.build.clone()),
        provenance: Provenance::default(),
        local_trust: None,
        weights: None,
    };
    std::fs::write(workspace.cache.sidecar_path(&engine.key), sidecar.to_json()).unwrap();
    (path, format!("{PREFIX}/{}", engine.key.path()))
}

/// `trtctl apply` in `dir` against `server`, as a user runs it.
fn trtctl_apply(dir: &Path, server: &S3Server, what: &str) -> Sample {
    measure(
        &mut trtctl(dir, server, &["apply", "-q", "--gpu-arch", ARCH]),
        what,
    )
}

fn size_of(path: &Path) -> u64 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .len()
}

/// Touches most free memory once, then frees it. In a VM the first touch of a guest page
/// costs a fault on the host: without this, whichever transfer first grows the page cache into
/// never-touched memory pays several seconds of system time that the next one does not (seen:
/// the same `dd` of 1 GiB at 1.9 s, then 0.2 s).
fn prefault_memory() -> u64 {
    let available_kib: u64 = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemAvailable:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0);
    let chunk = 256usize << 20;
    let chunks = (available_kib * 1024 * 8 / 10) as usize / chunk;
    let mut held = Vec::with_capacity(chunks);
    for _ in 0..chunks {
        held.push(vec![1u8; chunk]);
    }
    std::hint::black_box(&held);
    (held.len() * chunk) as u64 >> 20
}

fn line(what: &str, bytes: u64, runs: &[Sample]) -> Sample {
    let m = median(runs);
    let all: Vec<String> = runs.iter().map(|s| format!("{:.2}", s.seconds)).collect();
    let usage = format!(
        "peak RSS {:>7.1} MiB  CPU {:>5.2} s",
        m.rss_mib, m.cpu_seconds
    );
    println!(
        "{what:<24} {:>7.1} MiB/s  {:>6.2} s  {usage}   (median of {}: {} s; others' CPU ≤ {:.1} s)",
        bytes as f64 / MIB / m.seconds,
        m.seconds,
        runs.len(),
        all.join(", "),
        m.other_cpu
    );
    m
}

fn main() {
    if std::env::var_os("TRANSFER_PREFAULT_ONLY").is_some() {
        println!("prefaulted {} MiB of memory", prefault_memory());
        return;
    }
    let mib = env_number("TRANSFER_MIB", 1024);
    let runs = env_number("TRANSFER_RUNS", 3).max(1) as usize;
    let mut tuning = String::new();
    if let Ok(v) = std::env::var("TRANSFER_PART_MIB") {
        tuning.push_str(&format!("part_size_mib = {}\n", v.trim()));
    }
    if let Ok(v) = std::env::var("TRANSFER_CONCURRENCY") {
        tuning.push_str(&format!("concurrency = {}\n", v.trim()));
    }
    let bytes = mib << 20;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "transfer of one {mib} MiB engine over loopback to s3s-fs (SigV4), {cores} core(s), {runs} run(s) each{}",
        match tuning.is_empty() {
            true => String::new(),
            false => format!(", [remote] {}", tuning.trim().replace('\n', ", ")),
        }
    );

    // In a child process: rusage's peak RSS is inherited across fork, so this process must
    // never hold the memory itself.
    let prefault = Command::new(std::env::current_exe().unwrap())
        .env("TRANSFER_PREFAULT_ONLY", "1")
        .output()
        .unwrap();
    print!("{}", String::from_utf8_lossy(&prefault.stdout));
    let server = S3Server::start(ACCESS_KEY, SECRET_KEY, BUCKET);
    let machine_a = tempfile::tempdir().unwrap();
    project(machine_a.path(), &server, &tuning);
    let (engine, object_key) = seed_cache(machine_a.path(), &server, mib);
    let object = server.object_path(&object_key);

    // trtctl upload: A's cache → the empty remote.
    let mut uploads = Vec::new();
    for _ in 0..runs {
        wipe_server(&server);
        uploads.push(trtctl_apply(
            machine_a.path(),
            &server,
            "trtctl apply (upload)",
        ));
        assert_eq!(size_of(&object), bytes, "the upload did not land");
        assert!(server.object_path(&format!("{object_key}.json")).exists());
    }
    let up = line("trtctl upload", bytes, &uploads);

    // trtctl fetch: the remote (left by the last upload) → B's empty cache.
    let mut fetches = Vec::new();
    for _ in 0..runs {
        let machine_b = tempfile::tempdir().unwrap();
        project(machine_b.path(), &server, &tuning);
        fetches.push(trtctl_apply(
            machine_b.path(),
            &server,
            "trtctl apply (fetch)",
        ));
        let fetched = machine_b
            .path()
            .join("cache")
            .join(object_key.strip_prefix(&format!("{PREFIX}/")).unwrap());
        assert_eq!(size_of(&fetched), bytes, "the fetch did not land");
    }
    let down = line("trtctl fetch", bytes, &fetches);

    let Some(awscli) = find_aws() else {
        println!(
            "aws s3 cp: skipped (no awscli: set AWSCLI or put `aws` on PATH; scripts/bench-transfer.sh installs one)"
        );
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let version = Command::new(&awscli)
        .arg("--version")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout).trim().to_string()
                + String::from_utf8_lossy(&o.stderr).trim()
        })
        .unwrap_or_default();
    let target = format!("s3://{BUCKET}/aws/engine.trt");
    let engine_arg = engine.to_str().unwrap().to_string();
    let mut aws_uploads = Vec::new();
    for _ in 0..runs {
        wipe_server(&server);
        let mut cmd = aws(
            &awscli,
            scratch.path(),
            &server,
            &["s3", "cp", "--only-show-errors", &engine_arg, &target],
        );
        aws_uploads.push(measure(&mut cmd, "aws s3 cp (upload)"));
        assert_eq!(size_of(&server.object_path("aws/engine.trt")), bytes);
    }
    let aws_up = line("aws s3 cp upload", bytes, &aws_uploads);

    let download = scratch.path().join("download.trt");
    let download_arg = download.to_str().unwrap().to_string();
    let mut aws_fetches = Vec::new();
    let mut aws_durable = Vec::new();
    for _ in 0..runs {
        let _ = std::fs::remove_file(&download);
        let mut cmd = aws(
            &awscli,
            scratch.path(),
            &server,
            &["s3", "cp", "--only-show-errors", &target, &download_arg],
        );
        let sample = measure(&mut cmd, "aws s3 cp (fetch)");
        assert_eq!(size_of(&download), bytes);
        // trtctl's fetch ends with an fsync of the engine (the cache's commit protocol); aws
        // leaves the bytes in the page cache. The same fsync after aws, for a like-for-like figure.
        let start = Instant::now();
        std::fs::File::open(&download).unwrap().sync_all().unwrap();
        aws_fetches.push(sample);
        aws_durable.push(Sample {
            seconds: sample.seconds + start.elapsed().as_secs_f64(),
            ..sample
        });
    }
    let aws_down = line("aws s3 cp fetch", bytes, &aws_fetches);
    let aws_down_durable = line("aws s3 cp fetch + fsync", bytes, &aws_durable);

    // Fixed costs inside the figures above: process start, credentials, first request.
    let small = {
        let mut cmd = aws(
            &awscli,
            scratch.path(),
            &server,
            &["s3", "ls", &format!("s3://{BUCKET}/none/")],
        );
        cmd.stderr(Stdio::null());
        let start = Instant::now();
        let _ = cmd.status();
        start.elapsed().as_secs_f64()
    };
    println!("aws s3 ls (startup + one request): {small:.2} s; {version}");
    println!(
        "trtctl / aws throughput: upload {:.2}×, fetch {:.2}× ({:.2}× against aws + fsync); trtctl peak RSS: upload {:.1} MiB, fetch {:.1} MiB (target ≥ 1.5×, ≤ 64 MiB)",
        aws_up.seconds / up.seconds,
        aws_down.seconds / down.seconds,
        aws_down_durable.seconds / down.seconds,
        up.rss_mib,
        down.rss_mib
    );
}
