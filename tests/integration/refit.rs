//! Weight-stripped, refittable engines (`weights = "refittable"`) on a real S3 server: the
//! remote holds stripped plans, a host fetches one and refits it from its ONNX, and a
//! weights-only change of the ONNX is refitted, not rebuilt.

use std::path::Path;

use crate::common::backend::Backend;
use crate::common::manifest::{Manifest, Model};
use crate::common::onnx_model::conv_model;
use crate::common::project::{Project, stand_in_trtexec, stderr_of, stdout_of, succeeded};

const ENGINE: &str = "arcface/arcface_r100_v1.0_fp16_sm_86_10.14.1.trt";
/// Large weights: the stand-in's engine embeds them, its stripped plan does not.
const WEIGHT_BYTES: usize = 1 << 20;

fn manifest(backend: &Backend, weights: &str) -> String {
    Manifest::new("10.14.1")
        .remote(&backend.url())
        .raw(&format!("[defaults]\nweights = \"{weights}\"\n"))
        .model(Model::arcface(&["fp16"], &["sm_86"]))
        .text()
}

/// A machine with the manifest and an ONNX of `seed`'s weights and `op`.
fn machine(backend: &Backend, weights: &str, seed: u32, op: &str) -> Project {
    let project = Project::new();
    project.write_manifest(&manifest(backend, weights));
    write_model(&project, seed, op);
    project
}

fn write_model(project: &Project, seed: u32, op: &str) {
    let path = project.path().join("models/arcface_r100.onnx");
    std::fs::write(path, conv_model(seed, WEIGHT_BYTES, op)).unwrap();
}

fn trtctl(project: &Project, backend: &Backend) -> assert_cmd::Command {
    let mut cmd = project.with_remote(backend);
    cmd.env("TRTCTL_GPU_ARCH", "sm_86")
        .env("STUB_TRT_VERSION", "10.14.1");
    cmd
}

fn run(project: &Project, backend: &Backend, args: &[&str]) -> String {
    let out = trtctl(project, backend).args(args).output().unwrap();
    succeeded(&out)
}

/// The stand-in's refits, one `onnx engine device pid` line each.
fn refits(project: &Project) -> usize {
    std::fs::read_to_string(project.path().join("runs/refits.log"))
        .unwrap_or_default()
        .lines()
        .count()
}

fn sidecar(project: &Project) -> serde_json::Value {
    let path = project.cache().join(format!("{ENGINE}.json"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The lock's lines by their key (one engine).
fn lock_lines(project: &Project) -> std::collections::HashMap<String, String> {
    let text = std::fs::read_to_string(project.path().join("engines.lock")).unwrap();
    text.lines()
        .filter_map(|l| {
            l.split_once("= ")
                .map(|(k, v)| (format!("{k}= "), v.to_string()))
        })
        .collect()
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

#[test]
fn the_remote_holds_a_small_stripped_plan_that_a_second_host_refits_into_the_same_engine() {
    let backend = Backend::s3();
    let builder = machine(&backend, "refittable", 3, "Relu");
    let shown = run(&builder, &backend, &["apply"]);
    assert!(shown.contains("1 uploaded"), "{shown}");
    assert!(
        shown.contains("Stripped weights: 1 refit(s) here (0 instead of a build)"),
        "{shown}"
    );
    assert_eq!(builder.builds().len(), 1);
    assert_eq!(
        refits(&builder),
        1,
        "the built plan is refitted into the engine"
    );

    let engine = builder.cache().join(ENGINE);
    let remote = backend.object(ENGINE);
    assert!(
        size(&remote) * 10 <= size(&engine),
        "remote plan {} bytes, engine {} bytes",
        size(&remote),
        size(&engine)
    );
    assert!(
        size(&engine) > WEIGHT_BYTES as u64,
        "the engine holds the weights"
    );
    let recorded = sidecar(&builder);
    assert_eq!(recorded["weights"]["mode"], "refittable");
    assert_eq!(recorded["weights"]["plan_size"], size(&remote));
    assert_eq!(recorded["engine_size"], size(&engine));
    let published: serde_json::Value =
        serde_json::from_slice(&std::fs::read(backend.object(&format!("{ENGINE}.json"))).unwrap())
            .unwrap();
    assert_eq!(published["engine_size"], size(&remote), "{published}");
    assert_eq!(published["weights"]["refits"], 0);

    let host = machine(&backend, "refittable", 3, "Relu");
    let plan = run(&host, &backend, &["plan"]);
    assert!(plan.contains("(refittable plan, refitted here)"), "{plan}");
    let shown = run(&host, &backend, &["apply"]);
    assert!(shown.contains("1 fetched"), "{shown}");
    assert!(
        shown.contains("the stripped plans moved 1.0 MiB less"),
        "{shown}"
    );
    let listed = run(&host, &backend, &["cache", "ls"]);
    assert!(listed.contains("verified, refittable (plan 4."), "{listed}");
    let listed: serde_json::Value =
        serde_json::from_str(&run(&host, &backend, &["cache", "ls", "--json"])).unwrap();
    assert_eq!(
        listed["engines"][0]["weights"]["mode"], "refittable",
        "{listed}"
    );
    assert_eq!(listed["engines"][0]["weights"]["refits"], 1, "{listed}");
    assert!(host.builds().is_empty(), "{:?}", host.builds());
    assert_eq!(refits(&host), 1);
    assert_eq!(
        std::fs::read(host.cache().join(ENGINE)).unwrap(),
        std::fs::read(&engine).unwrap(),
        "the host's refit is byte-identical to the builder's"
    );
    let verify = trtctl(&host, &backend)
        .args(["cache", "verify"])
        .output()
        .unwrap();
    succeeded(&verify);
}

#[test]
fn a_weights_only_change_is_refitted_and_a_node_change_rebuilt() {
    let backend = Backend::s3();
    let builder = machine(&backend, "refittable", 3, "Relu");
    run(&builder, &backend, &["apply"]);
    let remote_plan = std::fs::read(backend.object(ENGINE)).unwrap();
    let engine_before = std::fs::read(builder.cache().join(ENGINE)).unwrap();
    let lock_before = lock_lines(&builder);
    builder.clear_builds();

    write_model(&builder, 5, "Relu");
    let plan = run(&builder, &backend, &["plan"]);
    assert!(plan.contains("~ refit"), "{plan}");
    assert!(plan.contains("(weights changed)"), "{plan}");
    assert!(!plan.contains("rebuild"), "{plan}");
    let json: serde_json::Value =
        serde_json::from_str(&run(&builder, &backend, &["plan", "--json"])).unwrap();
    assert_eq!(json["steps"][0]["decision"]["action"], "refit", "{json}");
    assert_eq!(json["steps"][0]["decision"]["from"], "cache", "{json}");
    assert_eq!(
        json["steps"][0]["build"]["flags"]["weights"], "refittable",
        "{json}"
    );

    let shown = run(&builder, &backend, &["apply"]);
    assert!(
        shown.contains("1 refit(s) here (1 instead of a build)"),
        "{shown}"
    );
    assert!(
        shown.contains("0 built") && shown.contains("0 uploaded"),
        "{shown}"
    );
    assert!(
        builder.builds().is_empty(),
        "a refit, no build: {:?}",
        builder.builds()
    );
    assert_eq!(refits(&builder), 2, "{shown}");
    let engine_after = std::fs::read(builder.cache().join(ENGINE)).unwrap();
    assert_ne!(engine_after, engine_before, "the new weights are in");
    assert_eq!(sidecar(&builder)["weights"]["refits"], 2);
    assert_eq!(
        std::fs::read(backend.object(ENGINE)).unwrap(),
        remote_plan,
        "the remote's stripped plan is reused"
    );
    let again = run(&builder, &backend, &["plan"]);
    assert!(again.contains("up to date"), "{again}");
    // The lock pins the same remote plan, refitted with the new ONNX.
    let lock_after = lock_lines(&builder);
    for same in ["sha256 = ", "size = ", "plan_fingerprint = "] {
        assert_eq!(lock_before[same], lock_after[same], "{same}");
    }
    for changed in ["onnx_sha256 = ", "fingerprint = "] {
        assert_ne!(lock_before[changed], lock_after[changed], "{changed}");
    }

    // A second host with the new weights refits the remote's plan too.
    let host = machine(&backend, "refittable", 5, "Relu");
    let plan = run(&host, &backend, &["plan"]);
    assert!(plan.contains("~ refit"), "{plan}");
    run(&host, &backend, &["apply"]);
    assert!(host.builds().is_empty());
    assert_eq!(
        std::fs::read(host.cache().join(ENGINE)).unwrap(),
        engine_after
    );

    write_model(&builder, 5, "Sigmoid");
    let plan = run(&builder, &backend, &["plan"]);
    assert!(plan.contains("~ rebuild"), "{plan}");
    assert!(!plan.contains("~ refit"), "{plan}");
}

#[test]
fn identical_weights_plans_are_never_refitted_with_other_weights() {
    let backend = Backend::s3();
    let builder = machine(&backend, "stripped", 3, "Relu");
    run(&builder, &backend, &["apply"]);
    assert!(size(&backend.object(ENGINE)) * 10 <= size(&builder.cache().join(ENGINE)));
    write_model(&builder, 5, "Relu");
    let plan = run(&builder, &backend, &["plan"]);
    assert!(plan.contains("~ rebuild"), "{plan}");
    assert!(!plan.contains("~ refit"), "{plan}");
}

#[test]
fn a_tensorrt_that_cannot_refit_is_refused_at_the_manifest_key() {
    let backend = Backend::dir();
    let project = machine(&backend, "refittable", 3, "Relu");
    let text = manifest(&backend, "refittable").replace("10.14.1", "10.3.0");
    project.write_manifest(&text);
    let out = trtctl(&project, &backend).arg("plan").output().unwrap();
    assert!(!out.status.success());
    let said = stderr_of(&out);
    assert!(said.contains("engines.toml:5:11"), "{said}");
    assert!(said.contains("needs TensorRT 10.14.0 or later"), "{said}");
}

#[test]
fn a_deploy_host_needs_the_onnx_to_fetch_a_stripped_engine_by_the_lock() {
    let backend = Backend::s3();
    let builder = machine(&backend, "refittable", 3, "Relu");
    run(&builder, &backend, &["apply"]);
    let lock = std::fs::read_to_string(builder.path().join("engines.lock")).unwrap();
    assert!(lock.contains("weights = \"refittable\""), "{lock}");
    assert!(lock.contains("onnx_sha256 = "), "{lock}");
    let remote = std::fs::read(backend.object(ENGINE)).unwrap();
    assert!(
        lock.contains(&format!("size = {}", remote.len())),
        "the lock pins the stripped plan: {lock}"
    );

    let host = Project::new();
    host.write_manifest(&manifest(&backend, "refittable"));
    std::fs::write(host.path().join("engines.lock"), &lock).unwrap();
    let out = trtctl(&host, &backend)
        .args(["fetch", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = format!("{}{}", stdout_of(&out), stderr_of(&out));
    assert!(said.contains("its weights are stripped"), "{said}");
    assert!(
        said.contains("models/arcface_r100.onnx is not there"),
        "{said}"
    );
    assert!(said.contains("copy the model's ONNX there"), "{said}");
    assert!(!host.cache().join(ENGINE).exists());

    write_model(&host, 3, "Relu");
    let shown = run(&host, &backend, &["fetch", "--gpu-arch", "sm_86"]);
    assert_eq!(refits(&host), 1, "{shown}");
    assert_eq!(
        std::fs::read(host.cache().join(ENGINE)).unwrap(),
        std::fs::read(builder.cache().join(ENGINE)).unwrap()
    );
    let again = trtctl(&host, &backend)
        .args(["fetch", "--gpu-arch", "sm_86", "--json"])
        .output()
        .unwrap();
    assert!(
        stdout_of(&again).contains("\"cached\""),
        "{}",
        stdout_of(&again)
    );
}

/// The stand-in trtexec at TensorRT `version`, in `dir`; its output and whether it passed.
fn stand_in(dir: &Path, version: &str, args: &[&str]) -> (bool, String) {
    let out = stand_in_trtexec(dir)
        .env("STUB_TRT_VERSION", version)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!("{}{}", stdout_of(&out), stderr_of(&out)),
    )
}

#[test]
fn the_stand_in_strips_and_refits_as_tensorrt_does_and_only_from_the_versions_that_can() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    for (name, seed, op) in [("a", 3, "Relu"), ("b", 5, "Relu"), ("c", 3, "Sigmoid")] {
        std::fs::write(
            dir.join(format!("{name}.onnx")),
            conv_model(seed, 1 << 16, op),
        )
        .unwrap();
    }
    let trt = "10.14.1";
    let build = |out: &str, flags: &[&str]| {
        let mut args = vec!["--onnx=a.onnx", out, "--skipInference"];
        args.extend(flags);
        let (passed, log) = stand_in(dir, trt, &args);
        assert!(passed, "{log}");
    };
    build("--saveEngine=full.trt", &[]);
    build("--saveEngine=refit.plan", &["--stripWeights", "--refit"]);
    build("--saveEngine=identical.plan", &["--stripWeights"]);
    build("--saveEngine=all.plan", &["--stripAllWeights", "--refit"]);
    let size = |f: &str| size(&dir.join(f));
    assert!(size("full.trt") > 1 << 16);
    for plan in ["refit.plan", "identical.plan", "all.plan"] {
        assert!(size(plan) * 10 <= size("full.trt"), "{plan}");
    }

    let refit = |plan: &str, onnx: &str, out: &str| {
        stand_in(
            dir,
            trt,
            &[
                &format!("--loadEngine={plan}"),
                &format!("--refitFromOnnx={onnx}"),
                &format!("--saveEngine={out}"),
            ],
        )
    };
    let (passed, log) = refit("refit.plan", "b.onnx", "b.trt");
    assert!(passed, "{log}");
    assert!(
        size("b.trt") > 1 << 16,
        "the refitted engine holds the weights"
    );
    let (passed, log) = refit("refit.plan", "c.onnx", "c.trt");
    assert!(
        !passed && log.contains("the ONNX's graph is not the engine's"),
        "{log}"
    );
    let (passed, log) = refit("full.trt", "a.onnx", "x.trt");
    assert!(!passed && log.contains("engine is not refittable"), "{log}");
    let (passed, log) = refit("identical.plan", "b.onnx", "x.trt");
    assert!(!passed && log.contains("identical weights"), "{log}");
    let (passed, log) = refit("identical.plan", "a.onnx", "a.trt");
    assert!(passed, "{log}");

    for (version, flag) in [
        ("9.3.0", "--stripWeights"),
        ("10.0.1", "--stripAllWeights"),
        ("10.13.0", "--refitFromOnnx=a.onnx"),
    ] {
        let (passed, log) = stand_in(dir, version, &["--onnx=a.onnx", flag]);
        let name = flag.split('=').next().unwrap();
        assert!(
            !passed && log.contains(&format!("Unknown option: {name}")),
            "{version}: {log}"
        );
    }
    let (passed, log) = stand_in(
        dir,
        "10.0.1",
        &["--onnx=a.onnx", "--stripWeights", "--skipInference"],
    );
    assert!(passed, "{log}");
}

#[test]
fn refits_take_the_gpu_one_at_a_time() {
    let backend = Backend::dir();
    let project = Project::new();
    let mut text = manifest(&backend, "refittable");
    for name in ["scrfd_a", "scrfd_b"] {
        text.push_str(&format!(
            "[[model]]\nname = \"{name}\"\nonnx = \"models/{name}.onnx\"\nversion = \"v1\"\nprecisions = [\"fp16\"]\narchs = [\"sm_86\"]\n"
        ));
    }
    project.write_manifest(&text);
    let write_all = |seed| {
        for name in ["arcface_r100", "scrfd_a", "scrfd_b"] {
            let path = project.path().join(format!("models/{name}.onnx"));
            std::fs::write(path, conv_model(seed, 1 << 12, "Relu")).unwrap();
        }
    };
    write_all(3);
    let exclusive = tempfile::tempdir().unwrap();
    let apply = |scale| {
        let out = trtctl(&project, &backend)
            .args(["apply", "-j", "4"])
            // A refit takes 0.35 s at 0.1: long enough for a second one on the GPU to be caught.
            .env("STUB_TIME_SCALE", scale)
            .env("STUB_GPU_EXCLUSIVE", exclusive.path())
            .output()
            .unwrap();
        succeeded(&out)
    };
    apply("0");
    assert_eq!(refits(&project), 3);
    write_all(5);
    let shown = apply("0.1");
    assert!(
        shown.contains("3 refit(s) here (3 instead of a build)"),
        "{shown}"
    );
    assert_eq!(
        refits(&project),
        6,
        "each refit ran, none overlapping another on the GPU"
    );
    assert_eq!(project.builds().len(), 3, "the first release's builds only");
}
