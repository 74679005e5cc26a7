//! Planning against a remote at scale: sidecars memoised by their listed version, one bound on
//! requests in flight, and a misbehaving server that never changes a plan silently.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::common::backend::Backend;
use crate::common::faulty::{Faults, FaultyProxy, Gate, INTERNAL_ERROR, ProxyOptions, UNAVAILABLE};
use crate::common::fleet::{ENGINE, Fleet};
use crate::common::manifest::{Manifest, Model};
use crate::common::project::{
    Project, TWO_MODELS_SM86, all_output, stderr_of, stdout_of, succeeded,
};
use crate::common::s3::{ACCESS_KEY, S3Server, SECRET_KEY};

const BUCKET: &str = "screenalytics-artifacts";
const NOT_FOUND: &[u8] = b"HTTP/1.1 404 Not Found\r\nContent-Type: application/xml\r\nContent-Length: 94\r\nConnection: close\r\n\r\n<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code><Message>x</Message></Error>";

/// Two models × fp16/fp32 × `archs`, every engine built and uploaded by machine `cache-a`.
struct World {
    server: S3Server,
    project: Project,
    /// `--gpu-arch` for each arch of the manifest.
    gpus: Vec<String>,
}

impl World {
    fn new(archs: &[&str], remote_extra: &str) -> World {
        let server = S3Server::start_one_request_per_connection(ACCESS_KEY, SECRET_KEY, BUCKET);
        let project = Project::with_manifest(
            &Manifest::new("10.3.0")
                .remote(&server.url("engines"))
                .raw(remote_extra)
                .defaults(&["fp16", "fp32"], archs)
                .model(Model::arcface(&[], &[]))
                .model(Model::named("scrfd_10g").version("v2")),
        );
        let gpus = archs
            .iter()
            .flat_map(|a| ["--gpu-arch".to_string(), a.to_string()])
            .collect();
        let world = World {
            server,
            project,
            gpus,
        };
        let upload = world
            .machine("cache-a", &world.server.endpoint)
            .arg("apply")
            .args(&world.gpus)
            .output()
            .unwrap();
        succeeded(&upload);
        world
    }

    fn machine(&self, cache: &str, endpoint: &str) -> assert_cmd::Command {
        let mut cmd = self.project.with_remote(&self.server);
        cmd.env("TENSORRT_CACHE_DIR", self.project.path().join(cache))
            .env("ARTIFACTS_ENDPOINT", endpoint);
        cmd
    }

    /// `plan --json` on machine `cache-b` (nothing cached) through `proxy`: the exit code and
    /// each engine's decision.
    fn plan(&self, proxy: &FaultyProxy) -> (Option<i32>, Vec<String>) {
        self.plan_on("cache-b", proxy)
    }

    fn plan_on(&self, cache: &str, proxy: &FaultyProxy) -> (Option<i32>, Vec<String>) {
        let output = self.plan_output(cache, proxy);
        if !output.status.success() {
            return (output.status.code(), Vec::new());
        }
        (output.status.code(), decisions(&output))
    }

    fn plan_output(&self, cache: &str, proxy: &FaultyProxy) -> std::process::Output {
        self.machine(cache, &proxy.endpoint)
            .args(["plan", "--json"])
            .args(&self.gpus)
            .output()
            .unwrap()
    }

    fn index_files(&self, cache: &str) -> Vec<PathBuf> {
        std::fs::read_dir(self.project.path().join(cache))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains(".remote-sidecars-"))
            .collect()
    }

    fn remote_sidecars(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for family in std::fs::read_dir(self.server.object_path("engines")).unwrap() {
            for entry in std::fs::read_dir(family.unwrap().path()).unwrap() {
                let path = entry.unwrap().path();
                if path.to_string_lossy().ends_with(".trt.json") {
                    found.push(path);
                }
            }
        }
        found.sort();
        found
    }
}

/// Each engine's decision in a `plan --json`.
fn decisions(output: &std::process::Output) -> Vec<String> {
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", stdout_of(output)));
    let steps = plan["steps"].as_array().unwrap();
    steps.iter().map(|s| s.to_string()).collect()
}

fn clean_proxy(server: &S3Server) -> FaultyProxy {
    FaultyProxy::start(&server.endpoint, 0, 1)
}

fn sidecar_gets(proxy: &FaultyProxy) -> usize {
    proxy.stats.count(".trt.json")
}

#[test]
fn a_no_op_plan_reads_no_sidecar_and_a_changed_one_is_read_again() {
    let world = World::new(&["sm_86"], "");
    let proxy = clean_proxy(&world.server);
    let (code, cold) = world.plan(&proxy);
    assert_eq!(code, Some(0));
    assert_eq!(cold.len(), 4);
    assert!(cold.iter().all(|a| a.contains("\"fetch\"")), "{cold:?}");
    assert_eq!(sidecar_gets(&proxy), 4, "cold index: every sidecar read");

    proxy.stats.reset();
    let (_, warm) = world.plan(&proxy);
    assert_eq!(warm, cold);
    assert_eq!(sidecar_gets(&proxy), 0, "warm index: no sidecar read");
    assert!(proxy.stats.total() >= 1, "the listing still happens");

    // Another builder's engine, under the same name: new build inputs on the remote, and the
    // fingerprint they hash to.
    let changed = &world.remote_sidecars()[0];
    let mut sidecar: trtctl::identity::Sidecar =
        serde_json::from_slice(&std::fs::read(changed).unwrap()).unwrap();
    let build = sidecar.build.as_mut().unwrap();
    build.flags.workspace_mib = Some(1);
    sidecar.fingerprint = Some(build.fingerprint());
    std::fs::write(changed, sidecar.to_json()).unwrap();
    proxy.stats.reset();
    let (_, after) = world.plan(&proxy);
    assert_eq!(sidecar_gets(&proxy), 1, "only the changed sidecar is read");
    let rebuilt: Vec<&String> = after.iter().filter(|a| !a.contains("\"fetch\"")).collect();
    assert_eq!(rebuilt.len(), 1, "{after:?}");
    assert!(rebuilt[0].contains("\"build\""), "{after:?}");

    // Remembered now, but not the wanted build: read again for the build inputs that say why
    // (the index keeps none), so the plan says the same.
    proxy.stats.reset();
    let (_, again) = world.plan(&proxy);
    assert_eq!(again, after);
    assert_eq!(
        sidecar_gets(&proxy),
        1,
        "the other build's sidecar is read again"
    );
}

#[test]
fn a_damaged_index_is_ignored_and_rebuilt() {
    let world = World::new(&["sm_86"], "");
    let proxy = clean_proxy(&world.server);
    let (_, expected) = world.plan(&proxy);
    let index = world.index_files("cache-b");
    assert_eq!(index.len(), 1, "one index for the one remote");
    for damage in [&b"{\"index_version\":1,"[..], b"\x00\xff garbage", b""] {
        std::fs::write(&index[0], damage).unwrap();
        proxy.stats.reset();
        assert_eq!(world.plan(&proxy), (Some(0), expected.clone()));
        assert_eq!(
            sidecar_gets(&proxy),
            4,
            "damaged index: everything read again"
        );
        proxy.stats.reset();
        assert_eq!(world.plan(&proxy), (Some(0), expected.clone()));
        assert_eq!(sidecar_gets(&proxy), 0, "and the index is whole again");
    }
}

#[test]
fn the_index_keeps_what_another_manifest_wants_and_forgets_what_the_remote_lost() {
    let world = World::new(&["sm_86", "sm_89"], "");
    let proxy = clean_proxy(&world.server);
    assert_eq!(world.plan(&proxy).0, Some(0));
    assert_eq!(sidecar_gets(&proxy), 8, "cold index: every sidecar read");
    // A manifest of arcface on sm_86 only: arcface's sm_89 engines are listed, not wanted.
    let whole = std::fs::read_to_string(world.project.path().join("engines.toml")).unwrap();
    let (arcface, _scrfd) = whole.rsplit_once("[[model]]").unwrap();
    let narrow = world.project.path().join("arcface.toml");
    std::fs::write(&narrow, arcface.replace(", \"sm_89\"", "")).unwrap();
    let plan_narrow = |proxy: &FaultyProxy| {
        let output = world
            .machine("cache-b", &proxy.endpoint)
            .args(["plan", "-q", "--detailed-exitcode", "-f"])
            .arg(&narrow)
            .args(&world.gpus)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    };
    proxy.stats.reset();
    plan_narrow(&proxy);
    assert_eq!(sidecar_gets(&proxy), 0);
    proxy.stats.reset();
    assert_eq!(world.plan(&proxy).0, Some(0));
    assert_eq!(
        sidecar_gets(&proxy),
        0,
        "the narrow plan kept the others' memo"
    );

    let lost = world
        .remote_sidecars()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("arcface_r100_v1.0_fp16_sm_89"))
        .unwrap();
    std::fs::remove_file(&lost).unwrap();
    let engine = lost.with_extension("");
    std::fs::remove_file(&engine).unwrap();
    // The index names each engine by family and file, one line each after its header.
    let name = format!("\t{}\t", engine.file_name().unwrap().to_string_lossy());
    let index = &world.index_files("cache-b")[0];
    assert!(std::fs::read_to_string(index).unwrap().contains(&name));
    plan_narrow(&proxy);
    let kept = std::fs::read_to_string(index).unwrap();
    assert!(
        !kept.contains(&name),
        "{name} is remembered after the remote lost it"
    );
    assert_eq!(kept.lines().skip(1).count(), 7, "{kept}");
}

#[test]
fn requests_in_flight_never_exceed_the_configured_bound() {
    let world = World::new(&["sm_75", "sm_80", "sm_86", "sm_89"], "max_in_flight = 3\n");
    // The first sidecar reads are held until three are in flight: the bound is reached as an
    // event (a bound below 3 never opens the gate), and the 40 ms on every request keeps
    // the reads after it overlapping, so a bound above 3 would show.
    let proxy = FaultyProxy::start_with(
        &world.server.endpoint,
        ProxyOptions {
            gate: Some(Gate {
                needle: ".trt.json",
                count: 3,
                within: Duration::from_secs(20),
            }),
            ..ProxyOptions::latency(Duration::from_millis(40))
        },
    );
    let (code, actions) = world.plan(&proxy);
    assert_eq!((code, actions.len()), (Some(0), 16));
    assert_eq!(sidecar_gets(&proxy), 16);
    let timeouts = proxy.stats.gate_timeouts.load(Ordering::SeqCst);
    assert_eq!(
        timeouts, 0,
        "three sidecar reads were never in flight at once"
    );
    let most = proxy.stats.max_in_flight.load(Ordering::SeqCst);
    assert_eq!(most, 3, "{most} requests in flight at once");
}

/// `runs` cold plans on the machine that has every engine (a sidecar taken for absent would
/// show as an upload) through a proxy failing `percent`% of requests with `faults`: each one
/// is the right plan or exit 1. Returns the right plans, the stderr of each failed one, and the
/// requests that `Faults::AnswerTo` failed.
fn never_a_wrong_plan(
    faults: Faults,
    percent: u64,
    runs: u64,
) -> (usize, Vec<String>, Vec<String>) {
    let world = World::new(&["sm_86", "sm_89"], "");
    let (_, expected) = world.plan_on("cache-a", &clean_proxy(&world.server));
    assert!(
        expected.iter().all(|a| a.contains("up_to_date")),
        "{expected:?}"
    );
    let (mut right, mut failed, mut answered) = (0, Vec::new(), Vec::new());
    for seed in 0..runs {
        for index in world.index_files("cache-a") {
            std::fs::remove_file(index).unwrap();
        }
        let proxy = FaultyProxy::start_with(
            &world.server.endpoint,
            ProxyOptions {
                percent,
                seed,
                faults,
                ..ProxyOptions::latency(Duration::ZERO)
            },
        );
        let output = world.plan_output("cache-a", &proxy);
        match output.status.code() {
            Some(0) => {
                assert_eq!(
                    decisions(&output),
                    expected,
                    "seed {seed}: a wrong plan with exit 0"
                );
                right += 1;
            }
            Some(1) => failed.push(stderr_of(&output)),
            code => panic!("seed {seed}: exit {code:?}"),
        }
        answered.extend(proxy.stats.answered.lock().unwrap().drain(..));
    }
    (right, failed, answered)
}

#[test]
fn a_tenth_of_requests_answered_500_never_gives_a_wrong_plan() {
    let (right, failed, _) = never_a_wrong_plan(Faults::Answer(INTERNAL_ERROR), 10, 20);
    eprintln!("{right} right plans, {} failed", failed.len());
    assert!(right > 0, "retries should carry most runs through");
}

#[test]
fn listed_sidecars_answered_404_fail_the_plan_instead_of_calling_engines_legacy() {
    // Only sidecar reads are answered 404, and each is tried four times, so 404s must be
    // frequent to outlast that: at 60 % most runs fail on a sidecar, and the runs that pass
    // must have the right plan.
    let (right, failed, answered) =
        never_a_wrong_plan(Faults::AnswerTo(".trt.json", NOT_FOUND), 60, 10);
    eprintln!("{right} right plans, {} failed", failed.len());
    assert!(
        !failed.is_empty(),
        "a 404 for a listed sidecar must not pass"
    );
    assert!(
        answered
            .iter()
            .all(|r| r.starts_with("GET ") && r.contains(".trt.json")),
        "{answered:?}"
    );
    for err in &failed {
        assert!(
            err.contains(".trt.json: the listing shows the sidecar but reading it finds none"),
            "not a sidecar's failure: {err}"
        );
    }
}

#[test]
fn slow_down_is_backed_off_and_the_plan_completes() {
    let world = World::new(&["sm_86", "sm_89"], "");
    let (_, expected) = world.plan(&clean_proxy(&world.server));
    for index in world.index_files("cache-b") {
        std::fs::remove_file(index).unwrap();
    }
    let proxy = FaultyProxy::start_with(
        &world.server.endpoint,
        ProxyOptions {
            percent: 30,
            seed: 3,
            faults: Faults::Answer(UNAVAILABLE),
            ..ProxyOptions::latency(Duration::ZERO)
        },
    );
    assert_eq!(world.plan(&proxy), (Some(0), expected));
    let refused = proxy
        .stats
        .unavailable
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!(refused > 0, "no SlowDown was sent");
}

/// `plan --json` of the local cache only: each engine's decision.
fn local_plan(project: &Project) -> Vec<String> {
    let output = project
        .trtctl()
        .args(["plan", "--json", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    let plan: serde_json::Value = serde_json::from_str(&succeeded(&output)).unwrap();
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["decision"]["action"].to_string())
        .collect()
}

/// Gives a sidecar other build inputs in place: the same size, inode and mtime, so that only
/// its ctime tells.
fn rewrite_fingerprint_in_place(sidecar: &std::path::Path) {
    let mtime = std::fs::metadata(sidecar).unwrap().modified().unwrap();
    let text = std::fs::read_to_string(sidecar).unwrap();
    // Another build: other ONNX bytes, and the fingerprint its inputs hash to (a fingerprint
    // that is not its build inputs' would be refused as a bad sidecar, not read as a build).
    let parsed: trtctl::identity::Sidecar = serde_json::from_str(&text).unwrap();
    let mut build = parsed.build.unwrap();
    let onnx = std::mem::replace(&mut build.onnx_sha256, "0".repeat(64));
    let fingerprint = parsed.fingerprint.unwrap().0;
    let rewritten = text
        .replace(&onnx, &build.onnx_sha256)
        .replace(&fingerprint, &build.fingerprint().0);
    assert_eq!(rewritten.len(), text.len(), "the test keeps the size");
    std::thread::sleep(Duration::from_millis(20));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(sidecar)
        .unwrap();
    std::io::Write::write_all(&mut &file, rewritten.as_bytes()).unwrap();
    file.set_modified(mtime).unwrap();
}

#[test]
fn the_sidecar_index_of_a_directory_remote_never_hides_a_rewritten_sidecar() {
    let fleet = Fleet::new(Backend::dir());
    let a = fleet
        .machine("a")
        .args(["apply", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    succeeded(&a);
    let plan = |machine: &str| succeeded(&fleet.machine(machine).arg("plan").output().unwrap());
    assert!(plan("b").contains("↓ fetch"), "{}", plan("b"));
    let index_dir = fleet.cache("b");
    assert!(
        std::fs::read_dir(&index_dir).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".remote-sidecars-")),
        "b memoised the remote sidecar"
    );
    rewrite_fingerprint_in_place(&fleet.backend.object(&format!("{ENGINE}.json")));
    let after = plan("b");
    assert!(!after.contains("↓ fetch"), "{after}");
    assert!(after.contains("! cannot build here"), "{after}");
}

#[test]
fn the_local_sidecar_index_never_hides_a_rewritten_sidecar() {
    let project = Project::with_models(&["arcface_r100", "scrfd_10g"], TWO_MODELS_SM86);
    let built = project
        .trtctl()
        .args(["apply", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    succeeded(&built);
    let up_to_date = vec!["\"up_to_date\"".to_string(); 4];
    assert_eq!(local_plan(&project), up_to_date);
    let index = project.cache().join(".sidecar-index");
    let lines = std::fs::read_to_string(&index).unwrap().lines().count();
    assert_eq!(lines, 5, "a header and one entry per engine");

    rewrite_fingerprint_in_place(
        &project
            .cache()
            .join("arcface/arcface_r100_v1.0_fp16_sm_86_10.3.0.trt.json"),
    );
    let after = local_plan(&project);
    assert_eq!(
        after.iter().filter(|a| **a == "\"up_to_date\"").count(),
        3,
        "{after:?}"
    );

    let header = std::fs::read_to_string(&index)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    std::fs::write(&index, format!("{header}\nmodel\toops")).unwrap();
    assert_eq!(local_plan(&project), after, "a damaged index is ignored");
    let rebuilt = std::fs::read_to_string(&index).unwrap();
    assert_eq!(rebuilt.lines().count(), 5, "and rebuilt: {rebuilt}");
}

/// Every object under `prefix` (after `offset`), as object_store lists it page by page.
fn list_all(server: &S3Server, prefix: &str, offset: Option<&str>) -> Vec<(String, u64)> {
    use futures::TryStreamExt;
    use object_store::ObjectStore;
    let store = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(&server.endpoint)
        .with_allow_http(true)
        .with_bucket_name(&server.bucket)
        .with_region("us-east-1")
        .with_access_key_id(ACCESS_KEY)
        .with_secret_access_key(SECRET_KEY)
        .build()
        .unwrap();
    let prefix = object_store::path::Path::from(prefix);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listed: Vec<object_store::ObjectMeta> = runtime.block_on(async {
        match offset {
            Some(offset) => store.list_with_offset(Some(&prefix), &offset.into()),
            None => store.list(Some(&prefix)),
        }
        .try_collect()
        .await
        .unwrap()
    });
    listed
        .into_iter()
        .map(|meta| (meta.location.to_string(), meta.size))
        .collect()
}

/// The benchmarks' LIST from a sorted index answers what s3s-fs's walk answers, over several
/// pages, after the index settled, and at once after an object is added or rewritten.
#[test]
fn the_sorted_listing_of_the_bench_server_lists_what_s3s_fs_lists() {
    let walked = S3Server::start(ACCESS_KEY, SECRET_KEY, "bucket");
    let sorted = S3Server::start_sorted_listing(ACCESS_KEY, SECRET_KEY, "bucket");
    let put = |key: &str, bytes: &[u8]| {
        for server in [&walked, &sorted] {
            let path = server.object_path(key);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
    };
    for i in 0..1_100 {
        put(&format!("engines/m/m_{i:04}.trt"), &[0; 3]);
        put(&format!("engines/m/m_{i:04}.trt.json"), b"{}");
    }
    put("engines/m/m_0007.trt.sig/ci", b"sig");
    put("engines/m-2/a.trt", b"other family");
    put("engines-old/x", b"x");
    let same = |prefix: &str, offset: Option<&str>| {
        let expected = list_all(&walked, prefix, offset);
        assert!(!expected.is_empty());
        assert_eq!(
            list_all(&sorted, prefix, offset),
            expected,
            "{prefix} after {offset:?}"
        );
    };
    let check = || {
        same("engines/m", None);
        same("engines", None);
        same("engines/m", Some("engines/m/m_0999.trt"));
        same("engines/m", Some("engines/m/m_0007.trt.json"));
    };
    check();
    std::thread::sleep(Duration::from_millis(1_100));
    check();
    put("engines/m/m_0500.trt.lease", b"new");
    put("engines/m/m_0001.trt", b"rewritten, longer");
    same("engines/m", None);
    assert!(
        list_all(&sorted, "engines/m", None).contains(&("engines/m/m_0001.trt".into(), 17)),
        "a rewrite shows at once"
    );
}

/// Requests whose line names the shared timing caches (`timing/` objects or their LIST).
fn timing_requests(proxy: &FaultyProxy) -> Vec<String> {
    let requests = proxy.stats.requests.lock().unwrap();
    requests
        .iter()
        .filter(|r| r.contains("timing"))
        .cloned()
        .collect()
}

#[test]
fn a_plan_learns_every_shared_timing_cache_from_one_list() {
    let world = World::new(&["sm_86", "sm_89"], "");
    let proxy = clean_proxy(&world.server);
    let (code, _) = world.plan(&proxy);
    assert_eq!(code, Some(0));
    let timing = timing_requests(&proxy);
    assert_eq!(timing.len(), 1, "one request for two archs: {timing:?}");
    assert!(
        timing[0].starts_with("GET ") && timing[0].contains("list-type=2"),
        "{timing:?}"
    );
    let output = world
        .machine("cache-b", &proxy.endpoint)
        .arg("plan")
        .args(&world.gpus)
        .output()
        .unwrap();
    let text = stdout_of(&output);
    assert!(
        text.contains("Shared timing caches: sm_86_10.3.0.cache ")
            && text.contains(" · sm_89_10.3.0.cache ")
            && !text.contains("none yet"),
        "both caches, published by machine A, are listed: {text}"
    );
}

/// `LIST` requests of the engines' families (the timing caches' one left out).
fn family_lists(proxy: &FaultyProxy) -> usize {
    let requests = proxy.stats.requests.lock().unwrap();
    requests
        .iter()
        .filter(|r| r.contains("list-type=2") && !r.contains("timing"))
        .count()
}

/// `trtctl lock` on machine `cache`: the lock apply left is what observing everything again says.
fn lock_unchanged(world: &World, cache: &str) {
    let out = world
        .machine(cache, &world.server.endpoint)
        .arg("lock")
        .output()
        .unwrap();
    assert!(
        succeeded(&out).contains("4 engines pinned (unchanged)"),
        "{}",
        all_output(&out)
    );
}

#[test]
fn apply_keeps_the_lock_current_without_listing_the_remote_again() {
    // Machine A built and uploaded all four engines, and apply wrote the lock from its plan.
    let world = World::new(&["sm_86"], "");
    lock_unchanged(&world, "cache-a");
    let lock = std::fs::read_to_string(world.project.path().join("engines.lock")).unwrap();

    // Machine B fetches them: one LIST per family, for the plan, and none after the run.
    let proxy = clean_proxy(&world.server);
    let out = world
        .machine("cache-b", &proxy.endpoint)
        .arg("apply")
        .args(&world.gpus)
        .output()
        .unwrap();
    let fetched = succeeded(&out);
    assert!(fetched.contains("4 fetched"), "{fetched}");
    assert_eq!(family_lists(&proxy), 2, "{:?}", proxy.stats.requests);
    assert_eq!(
        std::fs::read_to_string(world.project.path().join("engines.lock")).unwrap(),
        lock
    );
    lock_unchanged(&world, "cache-b");
}
