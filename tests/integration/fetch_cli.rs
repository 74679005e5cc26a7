//! `trtctl fetch --lock` on a deploy host: no ONNX files, no trtexec, an empty cache; exactly
//! the pinned bytes or a clear refusal. Against a real S3 server and a `file://` remote.

use crate::common::backend::{Backend, on_both};
use crate::common::deploy::{FP16_SM86, Stage, edit};
use crate::common::files_under;
use crate::common::project::{stderr_of, stdout_of, succeeded};

const FP32_SM86: &str = "arcface/arcface_r100_v1.0_fp32_sm_86_10.3.0.trt";
const FP16_SM89: &str = "arcface/arcface_r100_v1.0_fp16_sm_89_10.3.0.trt";

#[test]
fn fetch_installs_exactly_the_pinned_bytes_for_the_hosts_arch() {
    on_both(Stage::new, |stage| {
        stage.build_and_lock();
        assert!(
            !stage
                .host
                .path()
                .join("models")
                .read_dir()
                .unwrap()
                .any(|_| true)
        );
        let out = stage
            .host()
            .args(["fetch", "--gpu-arch", "sm_86"])
            .output()
            .unwrap();
        let shown = succeeded(&out);
        assert!(
            shown.contains(&format!("↓ fetched  {FP16_SM86}")),
            "{shown}"
        );
        assert_eq!(
            stage.host_engine(FP16_SM86).unwrap(),
            stage.ci_engine(FP16_SM86)
        );
        assert_eq!(
            stage.host_engine(FP32_SM86).unwrap(),
            stage.ci_engine(FP32_SM86)
        );
        assert!(
            stage.host_engine(FP16_SM89).is_none(),
            "fetched another arch"
        );
        assert_eq!(stage.host.cached().len(), 2);

        // Again: the cache already holds the pinned bytes.
        let out = stage
            .host()
            .args(["fetch", "--gpu-arch", "sm_86", "--json"])
            .output()
            .unwrap();
        succeeded(&out);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let engines = report["engines"].as_array().unwrap();
        assert_eq!(engines.len(), 2);
        assert!(engines.iter().all(|e| e["status"] == "cached"), "{report}");
        assert!(report["unpinned"].as_array().unwrap().is_empty());
    });
}

/// Replaces a remote engine by other bytes, and its sidecar by one that vouches for them.
fn replace_remote_engine(stage: &Stage, key: &str, rewrite_sidecar: bool) {
    let object = stage.remote_object(key);
    let mut bytes = std::fs::read(&object).unwrap();
    bytes.extend_from_slice(b"another build");
    std::fs::write(&object, &bytes).unwrap();
    if rewrite_sidecar {
        let sidecar_path = stage.remote_object(&format!("{key}.json"));
        let mut sidecar: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&sidecar_path).unwrap()).unwrap();
        sidecar["engine_sha256"] = trtctl::identity::sha256_hex(&bytes).into();
        sidecar["engine_size"] = bytes.len().into();
        std::fs::write(&sidecar_path, serde_json::to_vec(&sidecar).unwrap()).unwrap();
    }
}

#[test]
fn a_replaced_remote_engine_is_refused_even_when_its_sidecar_matches() {
    on_both(Stage::new, |stage| {
        stage.build_and_lock();
        replace_remote_engine(&stage, FP16_SM86, true);
        replace_remote_engine(&stage, FP32_SM86, false);
        let out = stage
            .host()
            .args(["fetch", "--gpu-arch", "sm_86"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stdout_of(&out));
        let err = stderr_of(&out);
        assert!(
            err.contains(&format!(
                "{FP16_SM86}: the remote holds other bytes than the lock pins"
            )),
            "{err}"
        );
        assert!(
            err.contains(&format!(
                "{FP32_SM86}: the downloaded bytes are not the pinned ones"
            )),
            "{err}"
        );
        assert!(stage.host.cached().is_empty(), "{:?}", stage.host.cached());
        let leftovers: Vec<String> = files_under(&stage.host.cache())
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert!(
            leftovers.iter().all(|p| !p.ends_with(".trt")),
            "{leftovers:?}"
        );
    });
}

#[test]
fn an_engine_missing_on_the_remote_is_named() {
    let stage = Stage::new(Backend::dir());
    stage.build_and_lock();
    std::fs::remove_file(stage.remote_object(&format!("{FP16_SM89}.json"))).unwrap();
    let out = stage
        .host()
        .args(["fetch", "--gpu-arch", "sm_89"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains(&format!("{FP16_SM89} is not on the remote")),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(
        stage.host.cached(),
        ["arcface/arcface_r100_v1.0_fp32_sm_89_10.3.0.trt"]
    );
}

#[test]
fn a_pinned_engine_gone_from_the_remote_beside_its_sidecar_is_not_on_the_remote() {
    on_both(Stage::new, |stage| {
        stage.build_and_lock();
        std::fs::remove_file(stage.remote_object(FP16_SM89)).unwrap();
        let out = stage
            .host()
            .args(["fetch", "--gpu-arch", "sm_89"])
            .output()
            .unwrap();
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!(
                "{FP16_SM89} is not on the remote; rebuild and upload it"
            )),
            "{err}"
        );
        assert!(
            !err.contains("plan again"),
            "a deploy host never plans: {err}"
        );
        assert_eq!(
            stage.host.cached(),
            ["arcface/arcface_r100_v1.0_fp32_sm_89_10.3.0.trt"]
        );
    });
}

/// Runs fetch against a damaged lock: exit 2, the expected message, nothing fetched.
fn refused(stage: &Stage, args: &[&str], expected: &str) {
    let out = stage.host().arg("fetch").args(args).output().unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(expected), "expected {expected:?} in {err}");
    assert!(stage.host.cached().is_empty());
    assert!(
        !stage.host.cache().join("arcface").exists(),
        "something was fetched half"
    );
}

#[test]
fn bad_locks_and_requests_are_refused_before_anything_is_fetched() {
    let stage = Stage::new(Backend::dir());
    stage.build_and_lock();
    let lock = stage.host_lock();
    let pristine = std::fs::read_to_string(&lock).unwrap();
    let arch = ["--gpu-arch", "sm_86"];

    refused(
        &stage,
        &["--gpu-arch", "sm_75"],
        "pins no engine for sm_75 (it pins sm_86, sm_89); build that arch on CI",
    );
    refused(
        &stage,
        &["--gpu-arch", "sm_86", "--target", "arcfce_r100"],
        "`arcfce_r100` matches no engine pinned by",
    );
    // The model is right: what is wrong is the arch fetched for, or the precision.
    refused(
        &stage,
        &["--gpu-arch", "sm_86", "--target", "arcface_r100:fp16:sm_89"],
        "for sm_86; it matches engines for sm_89 only: pass `--gpu-arch sm_89`",
    );
    refused(
        &stage,
        &["--gpu-arch", "sm_86", "--target", "arcface_r100:int8"],
        "check its precision (the lock pins fp16, fp32 of `arcface_r100`)",
    );

    let digest = pristine
        .lines()
        .find_map(|l| l.strip_prefix("desired_sha256 = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_string();
    std::fs::write(&lock, pristine.replace(&digest, &"0".repeat(64))).unwrap();
    refused(
        &stage,
        &arch,
        "does not match the engines it lists (hand-edited?)",
    );

    std::fs::write(
        &lock,
        pristine.replacen("\nsha256 = \"", "\nsha256 = \"zz", 1),
    )
    .unwrap();
    refused(&stage, &arch, "`sha256` must be 64 lowercase hex digits");

    std::fs::write(
        &lock,
        pristine.replacen(
            "fingerprint = \"",
            "signed_by = \"ci\"\nfingerprint = \"",
            1,
        ),
    )
    .unwrap();
    refused(&stage, &arch, "unknown field `signed_by`");

    std::fs::write(&lock, &pristine).unwrap();
    let manifest = stage.host.path().join("engines.toml");
    edit(&manifest, "version = \"v1.0\"", "version = \"v2.0\"");
    refused(&stage, &arch, "was not written for");
    edit(&manifest, "version = \"v2.0\"", "version = \"v1.0\"");

    std::fs::remove_file(&lock).unwrap();
    refused(&stage, &arch, "engines.lock does not exist");

    // A pinned sha256 edited to another valid digest: the remote has no such bytes.
    let first_sha = pristine
        .lines()
        .find_map(|l| l.strip_prefix("sha256 = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_string();
    std::fs::write(&lock, pristine.replace(&first_sha, &"0".repeat(64))).unwrap();
    let out = stage.host().arg("fetch").args(arch).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("the remote holds other bytes than the lock pins"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn cache_commands_and_doctor_read_the_manifest_of_a_deploy_host() {
    on_both(Stage::new, |stage| {
        stage.build_and_lock();
        // The cache dir comes from the manifest alone, as on a host without TENSORRT_CACHE_DIR.
        let cache = stage.host.path().join("engines-cache");
        edit(
            &stage.host.path().join("engines.toml"),
            "[remote]",
            &format!("[cache]\ndir = \"{}\"\n[remote]", cache.display()),
        );
        let host = || {
            let mut cmd = stage.host();
            cmd.env_remove("TENSORRT_CACHE_DIR");
            cmd
        };
        succeeded(
            &host()
                .args(["fetch", "--gpu-arch", "sm_86"])
                .output()
                .unwrap(),
        );

        let ls = succeeded(&host().args(["cache", "ls", "--json"]).output().unwrap());
        let listing: serde_json::Value = serde_json::from_str(&ls).unwrap();
        assert_eq!(listing["count"], 2, "{listing}");
        assert_eq!(listing["cache_dir"], cache.display().to_string());
        succeeded(&host().args(["cache", "verify"]).output().unwrap());
        // What the lock pins is wanted: clean keeps it.
        succeeded(&host().args(["cache", "clean"]).output().unwrap());
        assert!(cache.join(FP16_SM86).is_file() && cache.join(FP32_SM86).is_file());

        let doctor = succeeded(&host().arg("doctor").output().unwrap());
        assert!(
            doctor.contains(&format!("cache: {} (2 engines", cache.display())),
            "{doctor}"
        );
        assert!(
            doctor.contains(&format!("remote: {} (", stage.backend.url())),
            "{doctor}"
        );
        assert!(doctor.contains(", reachable)"), "{doctor}");
        assert!(doctor.contains("TensorRT: 10.3.0 ("), "{doctor}");
    });
}
