//! Timing caches shared through the remote: builders on separate machines (separate processes
//! and cache dirs) against one S3 server, the stand-in trtexec proving what it read.

use std::path::Path;
use std::process::{Output, Stdio};

use serde_json::Value;

use crate::common::manifest::{Manifest, Model};
use crate::common::project::{Project, stderr_of, stdout_of, succeeded};
use crate::common::s3::{ACCESS_KEY, S3Server, SECRET_KEY};
use crate::common::sha256_hex;

const REMOTE_CACHE: &str = "engines/timing/sm_86_10.3.0.cache";
const MODELS: [&str; 4] = ["arcface_r100", "scrfd_10g", "yolo_v8", "retina_r50"];

/// Four models with different bytes, fp16, for sm_86 and sm_89, published to `server`.
fn project(server: &S3Server) -> Project {
    let defaults = Manifest::new("10.3.0")
        .remote(&server.url("engines"))
        .raw("[defaults]\nprecisions = [\"fp16\"]\narchs = [\"sm_86\", \"sm_89\"]\n");
    let manifest = MODELS.iter().fold(defaults, |manifest, model| {
        manifest.model(Model::named(model))
    });
    let project = Project::with_manifest(&manifest);
    for (i, model) in MODELS.iter().enumerate() {
        project.touch_model(model, i as u8 + 1);
    }
    project
}

/// `trtctl apply` as builder `name` (its own cache dir and cost log) with a GPU of `arch`,
/// building `model` only.
fn builder(
    project: &Project,
    server: &S3Server,
    name: &str,
    arch: &str,
    model: &str,
) -> std::process::Command {
    let mut cmd = project.process_with_remote(server);
    cmd.env("TENSORRT_CACHE_DIR", project.path().join(name))
        .env("STUB_COST_LOG", project.path().join(format!("{name}.cost")))
        .args([
            "apply",
            "--json",
            "--gpu-arch",
            arch,
            "--target",
            &format!("{model}:*:{arch}"),
        ]);
    cmd
}

fn json_events(output: Output) -> Vec<Value> {
    succeeded(&output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The timing-cache events of one apply's JSON output.
fn timing_events(events: &[Value]) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| e["event"] == "timing_cache")
        .collect()
}

fn summary(events: &[Value]) -> &Value {
    events.iter().find(|e| e["event"] == "summary").unwrap()
}

/// `(simulated seconds, layers found in the timing cache, layers)` of each build the stand-in
/// ran for `name`.
fn costs(project: &Project, name: &str) -> Vec<(f64, u32, u32)> {
    std::fs::read_to_string(project.path().join(format!("{name}.cost")))
        .unwrap()
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            (
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
            )
        })
        .collect()
}

/// The remote cache is what its metadata says it is.
fn remote_cache_verified(server: &S3Server) -> Vec<u8> {
    let bytes = std::fs::read(server.object_path(REMOTE_CACHE)).unwrap();
    let meta: Value = serde_json::from_slice(
        &std::fs::read(server.object_path(&format!("{REMOTE_CACHE}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(meta["sha256"], sha256_hex(&bytes));
    assert_eq!(meta["size"], bytes.len());
    assert!(meta["host"].is_string(), "{meta}");
    bytes
}

#[test]
fn a_published_timing_cache_warms_another_builder_of_its_arch_and_no_other() {
    let server = S3Server::start(ACCESS_KEY, SECRET_KEY, "screenalytics-artifacts");
    let project = project(&server);

    let a = json_events(
        builder(&project, &server, "a", "sm_86", "arcface_r100")
            .output()
            .unwrap(),
    );
    let events = timing_events(&a);
    assert_eq!(events.len(), 1, "{a:?}");
    assert_eq!(events[0]["outcome"], "uploaded");
    assert_eq!(events[0]["cache"], "sm_86_10.3.0.cache");
    let published = remote_cache_verified(&server);
    assert_eq!(
        published,
        std::fs::read(project.path().join("a/timing/sm_86_10.3.0.cache")).unwrap()
    );
    assert_eq!(costs(&project, "a")[0].1, 0, "A starts cold");

    // The plan of any builder shows, per arch, whether the fleet has a cache and how big it is.
    let output = project
        .process_with_remote(&server)
        .env("TENSORRT_CACHE_DIR", project.path().join("b"))
        .args(["plan", "--gpu-arch", "sm_86", "--gpu-arch", "sm_89"])
        .output()
        .unwrap();
    let text = stdout_of(&output);
    assert!(
        text.contains(&format!(
            "Shared timing caches: sm_86_10.3.0.cache {} B, written ",
            published.len()
        )) && text.contains(" · sm_89_10.3.0.cache none yet"),
        "{text}{}",
        stderr_of(&output)
    );

    // B: same arch, empty cache dir, another model.
    let b = json_events(
        builder(&project, &server, "b", "sm_86", "scrfd_10g")
            .output()
            .unwrap(),
    );
    let events = timing_events(&b);
    assert_eq!(events[0]["outcome"], "fetched", "{b:?}");
    assert_eq!(events[0]["bytes"], published.len());
    assert_eq!(
        events[1]["outcome"], "uploaded",
        "B publishes the grown cache"
    );
    assert_eq!(summary(&b)["timing"]["warm_builds"], 1);
    let (b_secs, b_hits, b_layers) = costs(&project, "b")[0];
    assert!(
        b_hits > 0,
        "B's build found A's layers: {b_hits}/{b_layers}"
    );
    assert!(b_secs < 34.6, "a warm build is simulated faster: {b_secs}");
    let log = std::fs::read_to_string(
        project
            .path()
            .join("b/logs/scrfd_10g_v1_fp16_sm_86_10.3.0.trt.log"),
    )
    .unwrap();
    assert!(
        log.contains(&format!("Loaded {} bytes of timing cache", published.len())),
        "{log}"
    );
    assert!(remote_cache_verified(&server).len() > published.len());

    // C: another arch; A's and B's cache is not its own.
    let c = json_events(
        builder(&project, &server, "c", "sm_89", "yolo_v8")
            .output()
            .unwrap(),
    );
    let events = timing_events(&c);
    assert_eq!(events.len(), 1, "{c:?}");
    assert_eq!(events[0]["outcome"], "uploaded");
    assert_eq!(events[0]["cache"], "sm_89_10.3.0.cache");
    assert_eq!(costs(&project, "c")[0].1, 0, "C starts cold");
    assert!(
        server
            .object_path("engines/timing/sm_89_10.3.0.cache")
            .is_file()
    );

    // Sharing off: D neither fetches nor publishes, and still builds with its local cache.
    let mut d = builder(&project, &server, "d", "sm_86", "retina_r50");
    let d = json_events(d.arg("--no-shared-timing-cache").output().unwrap());
    assert!(timing_events(&d).is_empty(), "{d:?}");
    assert_eq!(costs(&project, "d")[0].1, 0, "D starts cold");
    assert!(project.path().join("d/timing/sm_86_10.3.0.cache").is_file());
}

#[test]
fn two_builders_publishing_at_once_never_clobber_and_the_larger_cache_wins() {
    let server = S3Server::start(ACCESS_KEY, SECRET_KEY, "screenalytics-artifacts");
    let project = project(&server);
    let barrier = project.path().join("barrier");
    // Both builds run at once: each fetched (nothing) before either published.
    let children: Vec<_> = [("a", "arcface_r100"), ("b", "scrfd_10g")]
        .into_iter()
        .map(|(name, model)| {
            builder(&project, &server, name, "sm_86", model)
                .env("STUB_BARRIER", format!("{}:2", barrier.display()))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<Vec<Value>> = children
        .into_iter()
        .map(|c| json_events(c.wait_with_output().unwrap()))
        .collect();
    let outcomes: Vec<&Value> = outputs
        .iter()
        .map(|events| {
            let timing = timing_events(events);
            assert_eq!(timing.len(), 1, "{events:?}");
            timing[0]
        })
        .collect();
    let conflicts = |e: &Value| e["conflicts"].as_u64().unwrap();
    let (winner, loser) = match conflicts(outcomes[0]) {
        0 => (outcomes[0], outcomes[1]),
        _ => (outcomes[1], outcomes[0]),
    };
    assert_eq!(winner["outcome"], "uploaded", "{outcomes:?}");
    assert_eq!(conflicts(winner), 0, "{outcomes:?}");
    assert!(
        conflicts(loser) >= 1,
        "the loser's write was refused: {outcomes:?}"
    );
    for events in &outputs {
        assert_eq!(summary(events)["built"], 1);
    }
    let loser_summary = outputs
        .iter()
        .map(|events| summary(events))
        .find(|s| s["timing"]["conflicts"].as_u64() >= Some(1))
        .unwrap();
    assert!(loser_summary["failures"].as_array().unwrap().is_empty());

    // The rule: the larger of the two caches is the one on the remote.
    let local = |name: &str| {
        std::fs::read(project.path().join(name).join("timing/sm_86_10.3.0.cache")).unwrap()
    };
    let (a, b) = (local("a"), local("b"));
    let larger = if a.len() >= b.len() { &a } else { &b };
    let remote = remote_cache_verified(&server);
    assert_eq!(remote.len(), larger.len(), "{outcomes:?}");
    match loser["outcome"].as_str() {
        Some("kept_remote") => {
            assert!(loser["remote_bytes"].as_u64() >= loser["local_bytes"].as_u64())
        }
        Some("uploaded") => assert_eq!(loser["bytes"], remote.len()),
        other => panic!("unexpected loser outcome {other:?}"),
    }
}

/// A cache that passes the remote's checks but that this TensorRT cannot use: written by
/// another TensorRT build.
const FOREIGN_CACHE: &[u8] = b"TRTSTUBCACHE2 10.3.1\nlayer1 fp16\nlayer2 fp16\nlayer3 fp16\n";

fn plant_foreign_cache(server: &S3Server) {
    let bytes = FOREIGN_CACHE;
    let path = server.object_path(REMOTE_CACHE);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    let meta = serde_json::json!({
        "schema_version": 1,
        "sha256": sha256_hex(bytes),
        "size": bytes.len(),
        "host": "builder-with-another-tensorrt",
        "written_at": 1_700_000_000u64,
    });
    std::fs::write(
        server.object_path(&format!("{REMOTE_CACHE}.json")),
        meta.to_string(),
    )
    .unwrap();
}

#[test]
fn a_timing_cache_trtexec_fails_with_is_set_aside_and_the_build_retried_without_it() {
    let server = S3Server::start(ACCESS_KEY, SECRET_KEY, "screenalytics-artifacts");
    let project = project(&server);
    plant_foreign_cache(&server);
    let mut cmd = builder(&project, &server, "a", "sm_86", "arcface_r100");
    let output = cmd
        .env("STUB_BAD_CACHE", "fail")
        .args(["--target", "scrfd_10g:*:sm_86"])
        .output()
        .unwrap();
    let events = json_events(output);
    let timing = timing_events(&events);
    let outcomes: Vec<&str> = timing
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    // Two builds of the arch: the first fails with the cache and is retried without it; the
    // second starts from the fresh cache the retry wrote.
    assert_eq!(outcomes, ["fetched", "rejected", "uploaded"], "{events:?}");
    let rejected = timing[1];
    let set_aside = Path::new(rejected["set_aside"].as_str().unwrap());
    assert_eq!(std::fs::read(set_aside).unwrap(), FOREIGN_CACHE);
    assert_eq!(summary(&events)["timing"]["rejected"], 1);
    assert_eq!(summary(&events)["built"], 2);
    assert_eq!(
        project.builds().len(),
        3,
        "one retry: {:?}",
        project.builds()
    );
    // The remote now holds a cache this TensorRT wrote, over the foreign one.
    assert!(remote_cache_verified(&server).starts_with(b"TRTSTUBCACHE2 10.3.0\n"));

    // The cache commands know both: the one in use and the one set aside, which clean removes.
    let set_aside_name = set_aside.file_name().unwrap().to_str().unwrap();
    let cache_cmd = |args: &[&str]| {
        let output = project
            .trtctl()
            .env("TENSORRT_CACHE_DIR", project.path().join("a"))
            .args(args)
            .output()
            .unwrap();
        succeeded(&output)
    };
    let ls = cache_cmd(&["cache", "ls"]);
    assert!(ls.contains("TIMING CACHE"), "{ls}");
    assert!(
        ls.lines()
            .any(|l| l.starts_with("sm_86_10.3.0.cache ") && l.ends_with("in use")),
        "{ls}"
    );
    assert!(
        ls.lines()
            .any(|l| l.starts_with(set_aside_name)
                && l.contains("set aside: trtexec failed with it")),
        "{ls}"
    );
    let verify = cache_cmd(&["cache", "verify"]);
    assert!(
        verify.contains(&format!("timing cache {set_aside_name}: set aside"))
            && verify.contains("1 timing caches, 1 set aside."),
        "{verify}"
    );
    let clean = cache_cmd(&["cache", "clean"]);
    assert!(
        clean.contains(&format!(
            "removed timing/{set_aside_name} ({} B, a timing cache trtexec failed with)",
            FOREIGN_CACHE.len()
        )),
        "{clean}"
    );
    assert!(!set_aside.exists());
    assert!(project.path().join("a/timing/sm_86_10.3.0.cache").is_file());
}

#[test]
fn the_plain_report_says_a_timing_cache_was_rejected() {
    let server = S3Server::start(ACCESS_KEY, SECRET_KEY, "screenalytics-artifacts");
    let project = project(&server);
    plant_foreign_cache(&server);
    let output = project
        .with_remote(&server)
        .env("STUB_BAD_CACHE", "fail")
        .args([
            "apply",
            "--gpu-arch",
            "sm_86",
            "--target",
            "arcface_r100:*:sm_86",
        ])
        .output()
        .unwrap();
    let stdout = project.redact(&succeeded(&output));
    assert!(
        stdout.contains("timing cache sm_86_10.3.0.cache: trtexec failed with it building arcface_r100_v1_fp16_sm_86_10.3.0.trt; built again without it, the cache set aside as [PROJECT]/cache/timing/sm_86_10.3.0.cache.rejected-"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Timing caches: 1 fetched (1 builds started warm), 1 uploaded, 0 write conflicts, 1 rejected by trtexec"),
        "{stdout}"
    );
}

#[test]
fn a_remote_cache_that_does_not_match_its_metadata_is_not_used_and_is_replaced() {
    let server = S3Server::start(ACCESS_KEY, SECRET_KEY, "screenalytics-artifacts");
    let project = project(&server);
    json_events(
        builder(&project, &server, "a", "sm_86", "arcface_r100")
            .output()
            .unwrap(),
    );
    // Damaged on the remote after it was written: same size, other bytes.
    let path = server.object_path(REMOTE_CACHE);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 1;
    std::fs::write(&path, &bytes).unwrap();

    let b = json_events(
        builder(&project, &server, "b", "sm_86", "scrfd_10g")
            .output()
            .unwrap(),
    );
    let outcomes: Vec<&str> = timing_events(&b)
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["unverified", "uploaded"], "{b:?}");
    assert_eq!(costs(&project, "b")[0].1, 0, "B did not start from it");
    assert_eq!(
        remote_cache_verified(&server),
        std::fs::read(project.path().join("b/timing/sm_86_10.3.0.cache")).unwrap()
    );
}

#[test]
fn a_build_that_fails_without_its_timing_cache_too_puts_the_cache_back() {
    let server = S3Server::start(ACCESS_KEY, SECRET_KEY, "screenalytics-artifacts");
    let project = project(&server);
    let local = project.path().join("a/timing/sm_86_10.3.0.cache");
    std::fs::create_dir_all(local.parent().unwrap()).unwrap();
    let cache = b"TRTSTUBCACHE2 10.3.0\nlayer1 fp16\n";
    std::fs::write(&local, cache).unwrap();
    let output = builder(&project, &server, "a", "sm_86", "arcface_r100")
        .arg("--no-shared-timing-cache")
        .env("STUB_FAIL_MODEL", "arcface")
        .output()
        .unwrap();
    assert!(!output.status.success(), "{}", stdout_of(&output));
    assert_eq!(
        project.builds().len(),
        2,
        "tried once more without the cache"
    );
    let events: Vec<Value> = stdout_of(&output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(timing_events(&events).is_empty(), "{events:?}");
    assert_eq!(std::fs::read(&local).unwrap(), cache);
    let files = std::fs::read_dir(local.parent().unwrap()).unwrap().count();
    assert_eq!(files, 1, "nothing set aside");
}

#[test]
fn no_upload_reads_the_fleets_timing_cache_and_publishes_none() {
    let server = S3Server::start(ACCESS_KEY, SECRET_KEY, "screenalytics-artifacts");
    let project = project(&server);
    json_events(
        builder(&project, &server, "a", "sm_86", "arcface_r100")
            .output()
            .unwrap(),
    );
    let published = remote_cache_verified(&server);

    let mut b = builder(&project, &server, "b", "sm_86", "scrfd_10g");
    let b = json_events(b.arg("--no-upload").output().unwrap());
    let outcomes: Vec<&Value> = timing_events(&b).iter().map(|e| &e["outcome"]).collect();
    assert_eq!(outcomes, ["fetched"], "{b:?}");
    assert!(costs(&project, "b")[0].1 > 0, "B built with A's timings");
    let grown = std::fs::read(project.path().join("b/timing/sm_86_10.3.0.cache")).unwrap();
    assert!(grown.len() > published.len(), "B's local cache grew");
    assert_eq!(remote_cache_verified(&server), published);
    assert!(
        !server
            .object_path("engines/scrfd_10g/scrfd_10g_v1_fp16_sm_86_10.3.0.trt")
            .exists()
    );
}
