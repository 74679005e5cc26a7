//! `cargo bench --bench remote_plan`: a no-op `trtctl plan` over 1,000 / 10,000 engines, all
//! cached locally and in an S3 remote (s3s-fs on loopback, through a proxy that adds a fixed
//! round-trip time and counts requests server-side), with a cold and a warm sidecar index, next
//! to the same plan without a remote. Each cell: the median wall time and CPU time of `RUNS`
//! runs of the release binary, its peak RSS, the requests it sent and the most in flight at
//! once. The CPU time tells client work from waiting on the server; the server's (and the
//! proxy's) CPU is this process's own during the run. Every plan must find
//! nothing to do (`--detailed-exitcode`).
//!
//! The server answers LIST pages from a sorted index, as S3 does (`SortedListing`);
//! `REMOTE_PLAN_LISTING=walk` keeps s3s-fs's own LIST, which walks the whole bucket per page.
//! Environment: `REMOTE_PLAN_RUNS` (default 5), `REMOTE_PLAN_ENGINES` (e.g. `10000`),
//! `REMOTE_PLAN_TRTCTL` (the binary to time, when the bench runs away from its build tree).
//! Figures go to docs/benchmarks.md; nothing here asserts a time.

#[path = "../tests/integration/common/faulty.rs"]
#[allow(dead_code)]
mod faulty;
#[path = "../tests/integration/common/s3.rs"]
#[allow(dead_code)]
mod s3;
#[path = "../tests/integration/common/s3_listing.rs"]
#[allow(dead_code)]
mod s3_listing;
#[allow(dead_code)]
mod support;
#[path = "common/world.rs"]
#[allow(dead_code)]
mod world;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::Duration;

use faulty::{FaultyProxy, ProxyOptions};
use s3::{ACCESS_KEY, S3Server, SECRET_KEY};

const BUCKET: &str = "bench";

struct Cell {
    wall: f64,
    peak_rss_mib: f64,
    cpu: f64,
    server_cpu: f64,
    requests: usize,
    max_in_flight: usize,
}

fn measure(
    runs: usize,
    mut before: impl FnMut(),
    mut command: impl FnMut() -> Command,
    proxy: Option<&FaultyProxy>,
) -> Cell {
    let mut samples = Vec::new();
    let (mut requests, mut max_in_flight) = (0, 0);
    for _ in 0..runs {
        before();
        if let Some(p) = proxy {
            p.stats.reset();
        }
        samples.push(support::measure(&mut command(), "trtctl plan"));
        if let Some(p) = proxy {
            requests = requests.max(p.stats.total());
            max_in_flight = max_in_flight.max(p.stats.max_in_flight.load(Ordering::SeqCst));
        }
    }
    let median = support::median(&samples);
    Cell {
        wall: median.seconds,
        peak_rss_mib: samples.iter().map(|s| s.rss_mib).fold(0.0, f64::max),
        cpu: median.cpu_seconds,
        server_cpu: median.in_process_cpu,
        requests,
        max_in_flight,
    }
}

/// Puts every cached engine and sidecar into the bucket, as an earlier `apply` would have.
fn publish(cache: &Path, server: &S3Server) {
    let remote = server.object_path("engines");
    for family in std::fs::read_dir(cache).unwrap().map(|e| e.unwrap().path()) {
        if !family.is_dir() {
            continue;
        }
        let into = remote.join(family.file_name().unwrap());
        std::fs::create_dir_all(&into).unwrap();
        for file in std::fs::read_dir(&family)
            .unwrap()
            .map(|e| e.unwrap().path())
        {
            std::fs::copy(&file, into.join(file.file_name().unwrap())).unwrap();
        }
    }
}

fn remove_indexes(cache: &Path) {
    for entry in std::fs::read_dir(cache).unwrap().map(|e| e.unwrap().path()) {
        if entry.to_string_lossy().contains(".remote-sidecars-") {
            std::fs::remove_file(entry).unwrap();
        }
    }
}

fn print(engines: usize, what: &str, cell: &Cell) {
    println!(
        "| {engines:>6} | {what:<24} | {:>8.3} s | {:>6.2} s | {:>6.2} s | {:>4.0} MiB | {:>5} | {:>3} |",
        cell.wall, cell.cpu, cell.server_cpu, cell.peak_rss_mib, cell.requests, cell.max_in_flight
    );
}

fn bench(engines: usize, runs: usize) {
    let dir = tempfile::tempdir().unwrap();
    let server = match std::env::var("REMOTE_PLAN_LISTING").as_deref() {
        Ok("walk") => S3Server::start(ACCESS_KEY, SECRET_KEY, BUCKET),
        _ => S3Server::start_sorted_listing(ACCESS_KEY, SECRET_KEY, BUCKET),
    };
    let workspace = world::cached_world(dir.path(), engines);
    let cache = workspace.cache.root().to_path_buf();
    publish(&cache, &server);
    let local_manifest = dir.path().join("engines.toml");
    let manifest = dir.path().join("remote.toml");
    let text = std::fs::read_to_string(&local_manifest).unwrap();
    let remote = format!("[remote]\nurl = \"{}\"\n", server.url("engines"));
    std::fs::write(&manifest, text + &remote).unwrap();
    let binary = std::env::var("REMOTE_PLAN_TRTCTL")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_trtctl").to_string());
    let plan = |manifest: &Path, endpoint: &str| {
        let mut command = Command::new(&binary);
        command
            .args([
                "plan",
                "-q",
                "--detailed-exitcode",
                "--gpu-arch",
                "sm_10",
                "-f",
            ])
            .arg(manifest)
            .env_remove("TENSORRT_CACHE_DIR")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("ARTIFACTS_ENDPOINT", endpoint)
            .env("ARTIFACTS_ACCESS_KEY", ACCESS_KEY)
            .env("ARTIFACTS_SECRET_KEY", SECRET_KEY);
        command
    };
    let local = measure(
        runs,
        || {},
        || plan(&local_manifest, "http://127.0.0.1:9"),
        None,
    );
    print(engines, "no remote", &local);
    for rtt_ms in [0, 50] {
        let proxy = FaultyProxy::start_with(
            &server.endpoint,
            ProxyOptions::latency(Duration::from_millis(rtt_ms)),
        );
        let cold_runs = if rtt_ms > 0 { runs.min(3) } else { runs };
        let cold = measure(
            cold_runs,
            || remove_indexes(&cache),
            || plan(&manifest, &proxy.endpoint),
            Some(&proxy),
        );
        print(engines, &format!("s3, {rtt_ms} ms RTT, cold index"), &cold);
        let warm = measure(
            runs,
            || {},
            || plan(&manifest, &proxy.endpoint),
            Some(&proxy),
        );
        print(engines, &format!("s3, {rtt_ms} ms RTT, warm index"), &warm);
    }
}

fn main() {
    let runs = support::env_number("REMOTE_PLAN_RUNS", 5) as usize;
    let sizes: Vec<usize> = match std::env::var("REMOTE_PLAN_ENGINES") {
        Ok(list) => list
            .split(',')
            .filter_map(|n| n.trim().parse().ok())
            .collect(),
        Err(_) => vec![1_000, 10_000],
    };
    println!(
        "| engines | remote | no-op `plan` (median of {runs}) | trtctl CPU | server CPU | peak RSS | requests | most in flight |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|");
    for engines in sizes {
        bench(engines, runs);
    }
}
