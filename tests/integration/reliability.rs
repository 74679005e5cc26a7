//! The promises: bad input is a clear error that changes nothing, secrets never show, and a
//! kill -9 at any instant never leaves an engine that looks complete but is not.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::common::faulty::FaultyProxy;
use crate::common::manifest::{Manifest, Model};
use crate::common::project::{Project, stderr_of, stdout_of, succeeded};
use crate::common::s3::{ACCESS_KEY, S3Server, SECRET_KEY};
use crate::common::{files_under, sha256_hex};

/// Every file under `dir` with its bytes: "nothing changed on disk" is equality of two of these.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    files_under(dir)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_default();
            (p, bytes)
        })
        .collect()
}

#[test]
fn every_malformed_manifest_is_a_located_error_that_changes_nothing() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/manifests");
    let mut cases: Vec<PathBuf> = files_under(&corpus);
    cases.sort();
    assert!(cases.len() >= 30, "the corpus shrank to {}", cases.len());
    for case in cases {
        let text = std::fs::read_to_string(&case).unwrap();
        let expected = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} has no `# expect:` line", case.display()));
        let project = Project::with_models(&["arcface_r100"], &text);
        let before = snapshot(project.path());
        let output = project
            .trtctl()
            .args(["plan", "--gpu-arch", "sm_86"])
            .output()
            .unwrap();
        let err = stderr_of(&output);
        let name = case.file_name().unwrap().to_string_lossy();
        assert_eq!(output.status.code(), Some(1), "{name}: {err}");
        assert!(
            err.contains(expected),
            "{name}: expected `{expected}` in:\n{err}"
        );
        assert!(
            err.contains("engines.toml:"),
            "{name}: the file is not named:\n{err}"
        );
        let located = err.lines().next().unwrap_or_default();
        let line_col = located.split("engines.toml:").nth(1).unwrap_or_default();
        assert!(
            line_col
                .split(':')
                .take(2)
                .all(|n| n.parse::<usize>().is_ok_and(|n| n > 0)),
            "{name}: no line and column in `{located}`"
        );
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert!(stdout_of(&output).is_empty(), "{name}");
        assert_eq!(
            snapshot(project.path()),
            before,
            "{name}: a bad manifest changed files"
        );
    }
}

/// arcface_r100 at fp16 for sm_86: one engine, no remote.
fn one_engine() -> Project {
    Project::with_manifest(&Manifest::new("10.3.0").model(Model::arcface(&["fp16"], &["sm_86"])))
}

/// arcface_r100 and scrfd_10g at `precisions` for sm_86, published to `url` with
/// `remote_keys` in its `[remote]` table.
fn two_models(url: &str, remote_keys: &str, precisions: &[&str]) -> Project {
    Project::with_manifest(
        &Manifest::new("10.3.0")
            .remote(url)
            .raw(remote_keys)
            .defaults(precisions, &["sm_86"])
            .model(Model::arcface(&[], &[]))
            .model(Model::named("scrfd_10g").version("v2")),
    )
}

#[test]
fn broken_sidecars_are_rebuilt_or_reported_never_trusted() {
    let project = one_engine();
    project
        .trtctl()
        .args(["apply", "--gpu-arch", "sm_86"])
        .assert()
        .success();
    let sidecar = project
        .cache()
        .join("arcface/arcface_r100_v1.0_fp16_sm_86_10.3.0.trt.json");
    let good = std::fs::read_to_string(&sidecar).unwrap();
    let digest = good.split("\"engine_sha256\": \"").nth(1).unwrap()[..64].to_string();
    for (what, broken, why) in [
        (
            "truncated",
            good[..good.len() / 2].to_string(),
            "sidecar unusable: sidecar is not valid JSON",
        ),
        (
            "another schema",
            good.replace("\"schema_version\": 1", "\"schema_version\": 7"),
            "sidecar has schema version 7",
        ),
        (
            "wrong digest",
            good.replace(&digest, &"0".repeat(64)),
            "corrupt: ",
        ),
    ] {
        std::fs::write(&sidecar, &broken).unwrap();
        let plan = project
            .trtctl()
            .args(["plan", "--gpu-arch", "sm_86"])
            .output()
            .unwrap();
        let verify = project.trtctl().args(["cache", "verify"]).output().unwrap();
        let shown = format!("{}{}", stdout_of(&plan), stdout_of(&verify));
        assert!(shown.contains(why), "{what}: {shown}");
        assert_eq!(
            verify.status.code(),
            Some(1),
            "{what}: verify passed a broken sidecar"
        );
        assert!(!stderr_of(&plan).contains("panicked") && !stderr_of(&verify).contains("panicked"));
        project
            .trtctl()
            .args(["apply", "--gpu-arch", "sm_86", "--force-rebuild"])
            .assert()
            .success();
        project
            .trtctl()
            .args(["cache", "verify"])
            .assert()
            .success();
        std::fs::write(&sidecar, &good).unwrap();
        project
            .trtctl()
            .args(["apply", "--gpu-arch", "sm_86", "--force-rebuild"])
            .assert()
            .success();
    }
}

#[test]
fn garbage_from_trtexec_is_a_failure_with_its_log() {
    let project = one_engine();
    let fake = project.path().join("fake-trtexec");
    crate::common::write_executable(
        &fake,
        "#!/bin/sh\nif [ \"$1\" = --version ]; then echo '&&&& RUNNING TensorRT.trtexec [TensorRT v100300] # trtexec'; exit 1; fi\nhead -c 300 /dev/urandom | tr -dc 'a-z \\n'\nexit 0\n",
    );
    let output = project
        .trtctl()
        .env("TRTEXEC", &fake)
        .args(["apply", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let out = stdout_of(&output);
    assert!(out.contains("without a PASSED line"), "{out}");
    assert!(out.contains("--- last lines of "), "{out}");
    assert!(project.cached().is_empty());
}

#[test]
fn secrets_never_show_in_output_logs_plans_or_errors() {
    let server = S3Server::start(ACCESS_KEY, SECRET_KEY, "screenalytics-artifacts");
    let project = Project::with_manifest(
        &Manifest::new("10.3.0")
            .remote(&server.url("engines"))
            .model(Model::arcface(&["fp16"], &["sm_86", "sm_89"])),
    );
    let with_keys = |args: &[&str]| project.with_remote(&server).args(args).output().unwrap();
    let mut seen = String::new();
    for args in [
        &["plan", "--gpu-arch", "sm_86"][..],
        &[
            "plan",
            "--gpu-arch",
            "sm_86",
            "--json",
            "--out",
            "saved.json",
        ],
        &["apply", "--gpu-arch", "sm_86", "--json"],
        &["apply", "saved.json", "--gpu-arch", "sm_86"],
        &["apply", "--gpu-arch", "sm_86", "-v"],
        &["gpus"],
        &["gpus", "--json"],
        &["cache", "ls", "--json"],
        &[
            "ensure",
            "--onnx",
            "models/arcface_r100.onnx",
            "--precision",
            "fp32",
            "--batch-size",
            "4",
        ],
    ] {
        let output = with_keys(args);
        seen.push_str(&stdout_of(&output));
        seen.push_str(&stderr_of(&output));
    }
    // Errors too: a wrong endpoint, and a wrong secret (which must not echo either secret).
    let output = project
        .with_remote(&server)
        .env("ARTIFACTS_SECRET_KEY", "wrong-secret-0000")
        .arg("plan")
        .output()
        .unwrap();
    seen.push_str(&stderr_of(&output));
    for file in files_under(project.path()) {
        seen.push_str(&String::from_utf8_lossy(
            &std::fs::read(file).unwrap_or_default(),
        ));
    }
    assert!(
        seen.contains("arcface_r100_v1.0_fp16_sm_86"),
        "the commands did not run"
    );
    for secret in [SECRET_KEY, "wrong-secret-0000"] {
        assert!(!seen.contains(secret), "a secret leaked");
    }
}

/// A small deterministic generator: the trials are random, and the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

/// Every sidecar, locally and remotely, vouches for the bytes beside it; no remote sidecar
/// stands without its engine.
fn check_invariant(cache: &Path, remote: &Path, trial: usize) -> usize {
    let mut committed = 0;
    for root in [cache, remote] {
        for sidecar in files_under(root)
            .into_iter()
            .filter(|p| p.to_string_lossy().ends_with(".trt.json"))
        {
            if sidecar.components().any(|c| c.as_os_str() == ".uploads") {
                continue;
            }
            let engine = PathBuf::from(sidecar.to_string_lossy().trim_end_matches(".json"));
            assert!(
                engine.is_file(),
                "trial {trial}: {} has no engine",
                sidecar.display()
            );
            let recorded: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&sidecar).unwrap()).unwrap_or_else(|e| {
                    panic!("trial {trial}: {} is torn: {e}", sidecar.display())
                });
            assert_eq!(
                recorded["engine_sha256"].as_str().unwrap(),
                sha256_hex(&std::fs::read(&engine).unwrap()),
                "trial {trial}: {} does not match its sidecar",
                engine.display()
            );
            committed += 1;
        }
    }
    committed
}

fn crash_trials(trials: usize) {
    let server = S3Server::start(ACCESS_KEY, SECRET_KEY, "screenalytics-artifacts");
    let mut random = Lcg(0x7472_7463_746c);
    let mut landed = 0;
    for trial in 0..trials {
        let prefix = format!("trial{trial}");
        let project = two_models(
            &server.url(&prefix),
            "part_size_mib = 5\n",
            &["fp16", "fp32"],
        );
        // Whether the kill landed: apply was still running when SIGKILL was sent, and died of it.
        let apply = |kill_after: Option<Duration>| -> bool {
            let mut child = project
                .process_with_remote(&server)
                .env("STUB_SLEEP", "0.05")
                .env("STUB_ENGINE_BYTES", "6000000")
                .args(["apply", "--gpu-arch", "sm_86"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            match kill_after {
                Some(delay) => {
                    std::thread::sleep(delay);
                    let running = child.try_wait().unwrap().is_none();
                    let _ = child.kill();
                    let status = child.wait().unwrap();
                    use std::os::unix::process::ExitStatusExt;
                    running && status.signal() == Some(libc::SIGKILL)
                }
                None => {
                    let output = child.wait_with_output().unwrap();
                    assert!(
                        output.status.success(),
                        "trial {trial}: recovery failed: {}",
                        stderr_of(&output)
                    );
                    false
                }
            }
        };
        landed += usize::from(apply(Some(Duration::from_millis(random.next(900)))));
        let remote = server.object_path(&prefix);
        check_invariant(&project.cache(), &remote, trial);
        apply(None);
        assert_eq!(
            check_invariant(&project.cache(), &remote, trial),
            8,
            "trial {trial}: not 4 + 4 engines"
        );
        assert_eq!(project.cached().len(), 4, "trial {trial}");
    }
    // A kill after apply exited proves nothing: most must land while it works.
    assert!(
        landed * 2 > trials,
        "only {landed} of {trials} kills landed before apply exited"
    );
    eprintln!("crash trials: {trials} kills, {landed} landed while apply ran, 0 torn engines");
}

#[test]
fn kill_9_at_random_instants_never_leaves_a_torn_engine() {
    crash_trials(20);
}

/// `cargo test --test integration reliability:: -- --ignored`: the long run recorded in
/// docs/reliability.md.
#[test]
#[ignore]
fn kill_9_two_hundred_times() {
    crash_trials(200);
}

fn faulty_fleet(server: &S3Server) -> Project {
    two_models(
        &server.url("engines"),
        "part_size_mib = 5\nread_timeout_secs = 2\n",
        &["fp16", "fp32"],
    )
}

/// `trtctl` on machine `cache`, reaching `server` through `proxy`.
fn through(
    project: &Project,
    server: &S3Server,
    proxy: &FaultyProxy,
    cache: &str,
) -> assert_cmd::Command {
    let mut cmd = project.with_remote(server);
    cmd.env("TENSORRT_CACHE_DIR", project.path().join(cache))
        .env("STUB_ENGINE_BYTES", "6000000")
        .env("ARTIFACTS_ENDPOINT", &proxy.endpoint);
    cmd
}

/// One fleet run through a proxy failing `percent`% of requests; returns (faults, requests).
fn faulty_run(percent: u64, seed: u64) -> (usize, usize) {
    let server = S3Server::start_one_request_per_connection(
        ACCESS_KEY,
        SECRET_KEY,
        "screenalytics-artifacts",
    );
    let proxy = FaultyProxy::start(&server.endpoint, percent, seed);
    let project = faulty_fleet(&server);
    let a = through(&project, &server, &proxy, "cache-a")
        .args(["apply", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    succeeded(&a);
    assert!(
        stdout_of(&a).contains("4 built") && stdout_of(&a).contains("4 uploaded"),
        "{}",
        stdout_of(&a)
    );
    project.clear_builds();
    let b = through(&project, &server, &proxy, "cache-b")
        .args(["apply", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    succeeded(&b);
    assert!(
        stdout_of(&b).contains("0 built, 4 fetched from remote"),
        "{}",
        stdout_of(&b)
    );
    assert!(project.builds().is_empty());
    for engine in files_under(&project.path().join("cache-a"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "trt"))
    {
        let relative = engine.strip_prefix(project.path().join("cache-a")).unwrap();
        assert_eq!(
            sha256_hex(&std::fs::read(&engine).unwrap()),
            sha256_hex(&std::fs::read(project.path().join("cache-b").join(relative)).unwrap())
        );
    }
    let count = |c: &std::sync::atomic::AtomicUsize| c.load(std::sync::atomic::Ordering::SeqCst);
    let stats = &proxy.stats;
    eprintln!(
        "seed {seed}: {} requests; {} × 503, {} resets, {} stalls, {} bodies cut",
        count(&stats.connections),
        count(&stats.unavailable),
        count(&stats.resets),
        count(&stats.stalls),
        count(&stats.truncated)
    );
    (proxy.faults(), count(&stats.connections))
}

#[test]
fn a_fifth_of_requests_failing_changes_nothing_but_the_retries() {
    let (mut faults, mut requests) = (0, 0);
    for seed in [0x5eed, 7, 42] {
        let (f, r) = faulty_run(25, seed);
        faults += f;
        requests += r;
    }
    assert!(
        faults * 100 >= requests * 15,
        "too few faults: {faults} of {requests}"
    );
    eprintln!("faults injected: {faults} of {requests} requests, every run completed");
}

#[test]
fn a_remote_that_is_down_fails_clearly_and_publishes_nothing() {
    let server = S3Server::start(ACCESS_KEY, SECRET_KEY, "screenalytics-artifacts");
    let proxy = FaultyProxy::start(&server.endpoint, 100, 7);
    let project = faulty_fleet(&server);
    let output = through(&project, &server, &proxy, "cache-a")
        .args(["apply", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = stderr_of(&output);
    assert_eq!(err.trim().lines().count(), 1, "not one clear line: {err}");
    assert!(err.contains(&proxy.endpoint), "{err}");
    assert!(
        files_under(&server.object_path("engines")).is_empty(),
        "something was published"
    );
}

const FLEET_MODELS: [&str; 4] = ["arcface_r100", "scrfd_10g", "yolo_v8", "retina_r50"];

/// Four models for two archs: 8 engines. The lease time is shorter than one build, so only
/// renewals keep a builder's lease alive while it builds.
fn fleet_project(server: &S3Server) -> Project {
    let defaults = Manifest::new("10.3.0")
        .remote(&server.url("engines"))
        .raw("lease_ttl_secs = 4\n")
        .defaults(&["fp16"], &["sm_86", "sm_89"]);
    let manifest = FLEET_MODELS.iter().fold(defaults, |manifest, model| {
        manifest.model(Model::named(model))
    });
    Project::with_manifest(&manifest)
}

/// Runs four builders at once, two per arch, each with the cache dir `caches[i]`, and returns
/// their stdouts after checking each engine was built exactly once.
fn race_fleet(caches: [&str; 4]) -> (Project, Vec<String>) {
    let server = S3Server::start(ACCESS_KEY, SECRET_KEY, "screenalytics-artifacts");
    let project = fleet_project(&server);
    let stdouts = race(&project, &server, caches, &[]);
    (project, stdouts)
}

/// The race of [`race_fleet`] on a given project, each builder with `env` set as well.
fn race(
    project: &Project,
    server: &S3Server,
    caches: [&str; 4],
    env: &[(&str, &std::ffi::OsStr)],
) -> Vec<String> {
    let children: Vec<_> = caches
        .iter()
        .zip(["sm_86", "sm_86", "sm_89", "sm_89"])
        .map(|(cache, arch)| {
            let mut cmd = project.process_with_remote(server);
            cmd.env("TENSORRT_CACHE_DIR", project.path().join(cache))
                .env("STUB_SLEEP", "5")
                .args([
                    "apply",
                    "--gpu-arch",
                    arch,
                    "--target",
                    &format!("*:*:{arch}"),
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .envs(env.iter().copied());
            cmd.spawn().unwrap()
        })
        .collect();
    let mut stdouts = Vec::new();
    for child in children {
        stdouts.push(succeeded(&child.wait_with_output().unwrap()));
    }
    let mut built: Vec<String> = project
        .builds()
        .iter()
        .map(|line| {
            // The stand-in logs the temp file it writes: `.tmp-{engine}.{random}`.
            let temp = line.split(' ').nth(1).unwrap();
            let engine = temp.trim_start_matches(".tmp-");
            engine[..engine.find(".trt").unwrap() + 4].to_string()
        })
        .collect();
    built.sort();
    let unique: std::collections::BTreeSet<&String> = built.iter().collect();
    assert_eq!(
        (built.len(), unique.len()),
        (8, 8),
        "each engine built exactly once: {built:?}\n{}",
        stdouts.join("\n")
    );
    for (cache, arch) in caches.iter().zip(["sm_86", "sm_86", "sm_89", "sm_89"]) {
        let engines: Vec<PathBuf> = files_under(&project.path().join(cache))
            .into_iter()
            .filter(|p| p.to_string_lossy().ends_with(&format!("{arch}_10.3.0.trt")))
            .filter(|p| p.with_extension("trt.json").is_file())
            .collect();
        assert_eq!(engines.len(), 4, "{cache} ({arch}): {engines:?}");
    }
    let remote = server.object_path("engines");
    assert_eq!(check_invariant(&project.path().join("none"), &remote, 0), 8);
    let leases: Vec<PathBuf> = files_under(&remote)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".lease"))
        .collect();
    assert!(leases.is_empty(), "leases left behind: {leases:?}");
    stdouts
}

#[test]
fn a_fleet_of_builders_on_separate_machines_builds_each_engine_once() {
    let (_project, stdouts) = race_fleet(["cache-a", "cache-b", "cache-c", "cache-d"]);
    let waits = stdouts
        .iter()
        .map(|out| out.matches("being built by").count())
        .sum::<usize>();
    assert!(waits >= 1, "nobody waited: {stdouts:?}");
    for out in &stdouts {
        // 4 builds and 4 uploads planned, whoever ended up doing them.
        assert!(
            out.contains("[8/8]"),
            "progress did not reach its total: {out}"
        );
    }
    eprintln!("fleet: 8 engines, 4 builders, 8 builds, {waits} waits for a lease holder");
}

/// Builders with a signing key that also require signatures: each engine is published once,
/// signed before its sidecar lands, so the builders that waited for a lease holder fetch it
/// verified.
#[test]
fn a_signing_fleet_publishes_each_engine_once_each_signed() {
    let server = S3Server::start(ACCESS_KEY, SECRET_KEY, "screenalytics-artifacts");
    let project = fleet_project(&server);
    let key = project.path().join("ci.key");
    let generated = project
        .trtctl()
        .args(["key", "generate", "ci", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    let public = stdout_of(&generated).trim().to_string();
    let env = [
        ("TRTCTL_SIGNING_KEY_FILE", key.as_os_str()),
        ("TRTCTL_TRUSTED_KEYS", std::ffi::OsStr::new(&public)),
    ];
    race(
        &project,
        &server,
        ["cache-a", "cache-b", "cache-c", "cache-d"],
        &env,
    );
    let signatures: Vec<PathBuf> = files_under(&server.object_path("engines"))
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".sig/ci"))
        .collect();
    assert_eq!(signatures.len(), 8, "{signatures:?}");
    // A fresh host that trusts the key fetches all eight, each verified.
    let host = project
        .with_remote(&server)
        .env("TENSORRT_CACHE_DIR", project.path().join("cache-host"))
        .env("TRTCTL_TRUSTED_KEYS", &public)
        .args(["apply", "--gpu-arch", "sm_75"])
        .output()
        .unwrap();
    let out = succeeded(&host);
    assert!(out.contains("8 fetched"), "{out}");
}

#[test]
fn a_fleet_of_builders_sharing_one_cache_dir_builds_each_engine_once() {
    race_fleet(["cache", "cache", "cache", "cache"]);
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn plant_lease(server: &S3Server, file: &str, host: &str, pid: u32, started: u64, expires: u64) {
    let path = server.object_path(&format!("engines/arcface/{file}.lease"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let lease = serde_json::json!({
        "schema_version": 1,
        "holder": format!("{host}-{pid}"),
        "host": host,
        "pid": pid,
        "started_at": started,
        "expires_at": expires,
    });
    std::fs::write(path, lease.to_string()).unwrap();
}

#[test]
fn leases_are_shown_waited_for_and_taken_over_when_stale() {
    let server = S3Server::start(ACCESS_KEY, SECRET_KEY, "screenalytics-artifacts");
    let project = Project::with_manifest(
        &Manifest::new("10.3.0")
            .remote(&server.url("engines"))
            .defaults(&["fp16", "fp32", "int8"], &["sm_86"])
            .model(Model::arcface(&[], &[])),
    );
    let now = unix_now();
    let engine = |precision: &str| format!("arcface_r100_v1.0_{precision}_sm_86_10.3.0.trt");
    // A builder elsewhere whose lease ran out, one still at work for a few more seconds, and a
    // process of this host that was killed (its lease would last an hour).
    plant_lease(
        &server,
        &engine("fp16"),
        "gpu-b",
        4242,
        now - 900,
        now - 600,
    );
    plant_lease(&server, &engine("fp32"), "gpu-c", 77, now, now + 8);
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = gone.id();
    gone.wait().unwrap();
    let here = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    plant_lease(
        &server,
        &engine("int8"),
        here.trim(),
        dead_pid,
        now,
        now + 3600,
    );

    let trtctl = |args: &[&str]| project.with_remote(&server).args(args).output().unwrap();
    let plan = trtctl(&["plan", "--gpu-arch", "sm_86"]);
    let text = stdout_of(&plan);
    assert!(
        text.contains("the lease of gpu-b (pid 4242) expired at")
            && text.contains(": apply takes it over"),
        "{text}"
    );
    assert!(
        text.contains("being built by gpu-c (pid 77) since")
            && text.contains("apply waits for it, then fetches"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "its builder (pid {dead_pid} on this host) is gone, leaving its lease: apply takes it over"
        )),
        "a dead local holder is taken over, and the plan says why: {text}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&trtctl(&["plan", "--gpu-arch", "sm_86", "--json"]).stdout).unwrap();
    let leased = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["decision"]["lease"]["host"] == "gpu-c")
        .count();
    assert_eq!(leased, 1, "{json}");

    let out = succeeded(&trtctl(&["apply", "--gpu-arch", "sm_86"]));
    assert!(
        out.contains("being built by gpu-c (pid 77); fetching it when it lands"),
        "{out}"
    );
    assert!(out.contains("3 built"), "{out}");
    let leases: Vec<PathBuf> = files_under(&server.object_path("engines"))
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".lease"))
        .collect();
    assert!(leases.is_empty(), "{leases:?}");
}

/// What one interrupted apply left: the leases on the remote at the instant of the signal and
/// afterwards, its exit code, and what it said.
struct Interrupted {
    leases_at_signal: usize,
    leases_left: usize,
    code: Option<i32>,
    said: String,
}

fn leases_under(server: &S3Server, prefix: &str) -> usize {
    files_under(&server.object_path(prefix))
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".lease"))
        .count()
}

/// `signal` at a random instant of an apply that builds under leases.
fn interrupt_trial(server: &S3Server, trial: u64, delay: Duration, signal: i32) -> Interrupted {
    let prefix = format!("interrupt{signal}-{trial}");
    let project = two_models(&server.url(&prefix), "", &["fp16", "fp32", "int8", "best"]);
    let child = project
        .process_with_remote(server)
        .env("STUB_SLEEP", "0.4")
        .args(["apply", "--gpu-arch", "sm_86,sm_86,sm_86,sm_86"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let leases_at_signal = leases_under(server, &prefix);
    // SAFETY: signals a child this test spawned and has not reaped yet.
    unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    let output = child.wait_with_output().unwrap();
    let said = format!("{}{}", stdout_of(&output), stderr_of(&output));
    // 130: interrupted; 0: done before the signal; killed by it: signalled before the handler
    // was installed, when no lease can have been taken yet.
    use std::os::unix::process::ExitStatusExt;
    assert!(
        matches!(output.status.code(), Some(0 | 130)) || output.status.signal() == Some(signal),
        "trial {trial}: {:?}: {said}",
        output.status
    );
    Interrupted {
        leases_at_signal,
        leases_left: leases_under(server, &prefix),
        code: output.status.code(),
        said,
    }
}

/// `trials` applies, four at a time, each given `signal` at a random instant in 0.1–1.5 s:
/// none leaves a lease, and at least `held` of them exit 130 having held a lease at the signal.
fn interrupt_trials(signal: i32, trials: usize, seed: u64, held: usize) {
    let server = S3Server::start(ACCESS_KEY, SECRET_KEY, "screenalytics-artifacts");
    let mut random = Lcg(seed);
    let delays: Vec<Duration> = (0..trials)
        .map(|_| Duration::from_millis(100 + random.next(1400)))
        .collect();
    let per_worker = trials.div_ceil(4);
    let results: Vec<Interrupted> = std::thread::scope(|scope| {
        let workers: Vec<_> = delays
            .chunks(per_worker)
            .enumerate()
            .map(|(worker, chunk)| {
                let server = &server;
                scope.spawn(move || {
                    chunk
                        .iter()
                        .enumerate()
                        .map(|(i, delay)| {
                            let trial = (worker * per_worker + i) as u64;
                            interrupt_trial(server, trial, *delay, signal)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let left: Vec<usize> = results.iter().map(|r| r.leases_left).collect();
    let said: Vec<&String> = (results.iter())
        .filter(|r| r.leases_left > 0)
        .map(|r| &r.said)
        .collect();
    assert_eq!(
        left.iter().sum::<usize>(),
        0,
        "leases left per trial (delays {delays:?}): {left:?}; those applies said: {said:#?}"
    );
    let interrupted = results.iter().filter(|r| r.code == Some(130)).count();
    let under_lease = (results.iter())
        .filter(|r| r.code == Some(130) && r.leases_at_signal > 0)
        .count();
    assert!(
        under_lease >= held,
        "{under_lease} of {trials} exits of 130 held a lease at the signal (want {held}); \
         exits: {:?}; leases at the signal: {:?}",
        results.iter().map(|r| r.code).collect::<Vec<_>>(),
        results
            .iter()
            .map(|r| r.leases_at_signal)
            .collect::<Vec<_>>()
    );
    eprintln!(
        "signal {signal}: {trials} trials, {interrupted} exits of 130, {under_lease} with a lease held at the signal, 0 leases left"
    );
}

#[test]
fn an_interrupted_apply_releases_every_lease_it_took() {
    interrupt_trials(libc::SIGINT, 20, 0x006c_6561_7365, 5);
}

#[test]
fn a_terminated_apply_exits_130_and_releases_every_lease_it_took() {
    interrupt_trials(libc::SIGTERM, 8, 0x7465_726d, 2);
}
