//! Rebuilds are not bitwise identical (TensorRT's tactic timing is not reproducible, and the
//! stand-in mixes a nonce into every build): a lock pins the build the remote holds, a later
//! rebuild never stands in for it, and of two builds of one engine the remote publishes one,
//! its sidecar describing its bytes.

use std::path::Path;

use std::process::Stdio;
use std::time::Duration;

use crate::common::backend::{BUCKET, Backend};
use crate::common::deploy::{FP16_SM86, Stage};
use crate::common::faulty::{FaultyProxy, ProxyOptions};
use crate::common::project::{Project, succeeded};
use crate::common::s3::{ACCESS_KEY, S3Server, SECRET_KEY};

fn sha256(path: &Path) -> String {
    trtctl::store::hash_file(path).unwrap().0
}

/// The sha256 the remote sidecar of `key` gives, and the sha256 of the remote engine's bytes.
fn remote_sidecar_and_bytes(server: &S3Server, key: &str) -> (String, String) {
    let object = |key: &str| server.object_path(&format!("engines/{key}"));
    let sidecar = std::fs::read(object(&format!("{key}.json"))).unwrap();
    let sidecar: serde_json::Value = serde_json::from_slice(&sidecar).unwrap();
    let claimed = sidecar["engine_sha256"].as_str().unwrap().to_string();
    (claimed, sha256(&object(key)))
}

/// The sha256 engines.lock pins for `key`.
fn pinned(lock: &Path, key: &str) -> String {
    let text = std::fs::read_to_string(lock).unwrap();
    let entry = text
        .split("[[engine]]")
        .find(|entry| entry.contains(&format!("key = \"{key}\"")))
        .unwrap_or_else(|| panic!("{key} not pinned: {text}"));
    let line = entry.lines().find(|l| l.starts_with("sha256 = ")).unwrap();
    line.trim_start_matches("sha256 = ")
        .trim_matches('"')
        .to_string()
}

#[test]
fn a_lock_pins_the_published_build_and_a_later_rebuild_never_satisfies_it() {
    let stage = Stage::new(Backend::s3());
    let Backend::S3(server) = &stage.backend else {
        unreachable!()
    };
    stage.build_and_lock();
    let published = sha256(&stage.remote_object(FP16_SM86));
    assert_eq!(pinned(&stage.ci_lock(), FP16_SM86), published);

    // A forced rebuild of the same inputs: other bytes, kept local (it takes no lease and
    // publishes nothing), the remote's build untouched.
    let rebuilt = succeeded(
        &stage
            .ci()
            .args(["apply", "--force-rebuild", "arcface_r100:fp16:sm_86"])
            .output()
            .unwrap(),
    );
    assert!(rebuilt.contains("1 built"), "{rebuilt}");
    let local = stage.ci.cache().join(FP16_SM86);
    assert_ne!(
        sha256(&local),
        published,
        "the rebuild is not bitwise identical"
    );
    assert_eq!(
        remote_sidecar_and_bytes(server, FP16_SM86),
        (published.clone(), published.clone())
    );

    // The lock still pins the published build, whether kept or written anew.
    succeeded(&stage.ci().arg("lock").output().unwrap());
    assert_eq!(pinned(&stage.ci_lock(), FP16_SM86), published);
    std::fs::remove_file(stage.ci_lock()).unwrap();
    succeeded(&stage.ci().arg("lock").output().unwrap());
    assert_eq!(pinned(&stage.ci_lock(), FP16_SM86), published);
    std::fs::copy(stage.ci_lock(), stage.host_lock()).unwrap();

    // Installing the lock replaces the local rebuild with the pinned bytes, on CI as on a host.
    let lock = stage.ci_lock().display().to_string();
    succeeded(
        &stage
            .ci()
            .args(["fetch", "--lock", &lock])
            .output()
            .unwrap(),
    );
    assert_eq!(sha256(&local), published);
    succeeded(
        &stage
            .host()
            .args(["fetch", "--gpu-arch", "sm_86"])
            .output()
            .unwrap(),
    );
    assert_eq!(sha256(&stage.host.cache().join(FP16_SM86)), published);
}

#[test]
fn two_builders_that_both_built_race_to_publish_one_engine_with_a_sidecar_of_its_bytes() {
    let server = S3Server::start(ACCESS_KEY, SECRET_KEY, BUCKET);
    // A network's round trip: each upload takes several, the listing of a plan one, so two
    // applies started together both plan the upload before either lands.
    let proxy = FaultyProxy::start_with(
        &server.endpoint,
        ProxyOptions::latency(Duration::from_millis(150)),
    );
    let project = Project::new();
    project.add_model("arcface_r100");
    project.write_manifest(&format!(
        "trt_version = \"10.3.0\"\n[remote]\nurl = \"{}\"\n[[model]]\nname = \"arcface_r100\"\nfamily = \"arcface\"\nonnx = \"models/arcface_r100.onnx\"\nversion = \"v1.0\"\nprecisions = [\"fp16\"]\narchs = [\"sm_86\"]\n",
        server.url("engines")
    ));
    let key = "arcface/arcface_r100_v1.0_fp16_sm_86_10.3.0.trt";
    let machine = |name: &str| {
        let mut cmd = project.trtctl_process();
        cmd.envs(server.env_vars())
            .env("ARTIFACTS_ENDPOINT", &proxy.endpoint)
            .env("TENSORRT_CACHE_DIR", project.path().join(name))
            .env("TRTCTL_GPU_ARCH", "sm_86");
        cmd
    };
    // Both build while the remote has none (as two builders whose lease writes failed).
    for name in ["b", "c"] {
        succeeded(
            &machine(name)
                .args(["apply", "--no-upload"])
                .output()
                .unwrap(),
        );
    }
    assert_eq!(project.builds().len(), 2, "{:?}", project.builds());
    let own = |name: &str| sha256(&project.path().join(name).join(key));
    assert_ne!(own("b"), own("c"), "two builds, two byte strings");

    let spawn = |name: &str| {
        let mut cmd = machine(name);
        cmd.arg("apply")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.spawn().unwrap()
    };
    let (b, c) = (spawn("b"), spawn("c"));
    let outputs = [b.wait_with_output().unwrap(), c.wait_with_output().unwrap()];
    let said: Vec<String> = outputs.iter().map(succeeded).collect();
    // The race happened: one published, the other found it there when its own upload ran.
    let winner = said
        .iter()
        .position(|out| out.contains(" 1 uploaded"))
        .unwrap_or_else(|| panic!("{said:?}"));
    let loser = &said[1 - winner];
    assert!(
        loser.contains("ok (already uploaded by another builder)") && loser.contains(" 0 uploaded"),
        "{said:?}"
    );
    let published = own(["b", "c"][winner]);
    assert_eq!(
        remote_sidecar_and_bytes(&server, key),
        (published.clone(), published.clone())
    );
    // The loser keeps its own build, of equal worth; the lock it wrote pins the published one.
    assert_ne!(own(["b", "c"][1 - winner]), published);
    assert_eq!(pinned(&project.path().join("engines.lock"), key), published);
}
