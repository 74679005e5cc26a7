//! The exact TensorRT build, as the plan header (its first 28 bytes) says: recorded when an
//! engine is built, checked before one is committed, fetched, verified or handed out, and kept
//! apart by name where the manifest pins all four parts.

use serde_json::Value;

use crate::common::backend::Backend;
use crate::common::fleet::{ENGINE, Fleet};
use crate::common::manifest::{Manifest, Model};
use crate::common::project::{Project, all_output, stand_in_trtexec, stdout_of, succeeded};

fn one_model(project: &Project, trt_version: &str) {
    project.add_model("arcface_r100");
    project.write_manifest(
        &Manifest::new(trt_version)
            .model(Model::arcface(&["fp16"], &["sm_86"]))
            .text(),
    );
}

fn sidecar_path(cache: &std::path::Path, engine: &str) -> std::path::PathBuf {
    cache.join(format!("{engine}.json"))
}

fn edit_json(path: &std::path::Path, edit: impl FnOnce(&mut Value)) {
    let mut value: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    edit(&mut value);
    std::fs::write(path, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
}

#[test]
fn a_build_whose_plan_header_names_another_tensorrt_is_not_committed() {
    let project = Project::new();
    one_model(&project, "10.3.0");
    let apply = project
        .trtctl()
        .args(["apply", "--gpu-arch", "sm_86"])
        .env("STUB_PLAN_TRT", "10.4.0.26")
        .output()
        .unwrap();
    let out = all_output(&apply);
    assert_eq!(apply.status.code(), Some(1), "{out}");
    assert!(
        out.contains("its plan header says TensorRT 10.4.0.26 built it, not 10.3.0 as its name says; nothing was committed"),
        "{out}"
    );
    assert_eq!(project.builds().len(), 1, "it was built");
    assert!(project.cached().is_empty(), "{:?}", project.cached());

    // The same build under its own TensorRT is committed, with the exact build recorded.
    succeeded(
        &project
            .trtctl()
            .args(["apply", "--gpu-arch", "sm_86"])
            .env("STUB_TRT_BUILD", "30")
            .output()
            .unwrap(),
    );
    let sidecar: Value =
        serde_json::from_slice(&std::fs::read(sidecar_path(&project.cache(), ENGINE)).unwrap())
            .unwrap();
    assert_eq!(sidecar["provenance"]["trt_build"], "10.3.0.30", "{sidecar}");
}

#[test]
fn a_four_part_pin_names_and_builds_the_exact_build_only() {
    let project = Project::new();
    one_model(&project, "10.3.0.30");
    let exact = "arcface/arcface_r100_v1.0_fp16_sm_86_10.3.0.30.trt";
    let plan = succeeded(
        &project
            .trtctl()
            .args(["plan", "--gpu-arch", "sm_86"])
            .output()
            .unwrap(),
    );
    assert!(plan.contains("TensorRT 10.3.0.30 ·"), "{plan}");
    assert!(
        plan.contains("+ build              arcface_r100_v1.0_fp16_sm_86_10.3.0.30.trt"),
        "{plan}"
    );
    // The local TensorRT is 10.3.0 build 26: its plan is no 10.3.0.30 engine.
    let other = project
        .trtctl()
        .args(["apply", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    let out = all_output(&other);
    assert_eq!(other.status.code(), Some(1), "{out}");
    assert!(
        out.contains("its plan header says TensorRT 10.3.0.26 built it, not 10.3.0.30"),
        "{out}"
    );
    assert!(project.cached().is_empty());

    succeeded(
        &project
            .trtctl()
            .args(["apply", "--gpu-arch", "sm_86"])
            .env("STUB_TRT_BUILD", "30")
            .output()
            .unwrap(),
    );
    assert_eq!(project.cached(), [exact]);
    let verify = succeeded(&project.trtctl().args(["cache", "verify"]).output().unwrap());
    assert!(verify.contains("1 engines checked, 0 corrupt."), "{verify}");
    // The pin comes from the environment too, for `trt_version = "auto"`.
    project.write_manifest(
        &std::fs::read_to_string(project.path().join("engines.toml"))
            .unwrap()
            .replace("10.3.0.30", "auto"),
    );
    let auto = succeeded(
        &project
            .trtctl()
            .args(["plan", "--gpu-arch", "sm_86"])
            .env("TRTCTL_TRT_VERSION", "10.3.0.30")
            .output()
            .unwrap(),
    );
    assert!(
        auto.contains("= up to date         arcface_r100_v1.0_fp16_sm_86_10.3.0.30.trt"),
        "{auto}"
    );
}

/// A remote engine whose sidecar records another exact build than its plan header says (an
/// older trtctl's upload, a hand edit): fetched by nobody, verified by nobody.
#[test]
fn a_plan_whose_header_disagrees_with_its_sidecar_is_never_fetched_or_verified() {
    for backend in Backend::both() {
        let fleet = Fleet::new(backend);
        succeeded(
            &fleet
                .machine("a")
                .args(["apply", "--gpu-arch", "sm_86"])
                .output()
                .unwrap(),
        );
        succeeded(&fleet.machine("a").arg("lock").output().unwrap());
        let claims_30 =
            |sidecar: &mut Value| sidecar["provenance"]["trt_build"] = "10.3.0.30".into();
        edit_json(&fleet.backend.object(&format!("{ENGINE}.json")), claims_30);

        // A fetch by apply, and by `fetch` from the lock: refused, nothing cached.
        let refused = |machine: &str, command: &str, says: &str| {
            let output = fleet
                .machine(machine)
                .args([command, "--gpu-arch", "sm_86"])
                .output()
                .unwrap();
            let out = all_output(&output);
            assert_eq!(output.status.code(), Some(1), "{out}");
            assert!(out.contains(says), "{out}");
            assert!(
                !fleet.cache(machine).join(ENGINE).exists(),
                "{machine} cached it"
            );
        };
        refused(
            "b",
            "apply",
            "its plan header says TensorRT 10.3.0.26 built it, not 10.3.0.30 as its sidecar says",
        );
        refused("deploy", "fetch", "as its sidecar says; nothing was cached");

        // The builder's own copy: `cache verify` flags it, `ensure`-style hand-outs refuse it.
        edit_json(&sidecar_path(&fleet.cache("a"), ENGINE), claims_30);
        let verify = fleet
            .machine("a")
            .args(["cache", "verify"])
            .output()
            .unwrap();
        assert_eq!(verify.status.code(), Some(1));
        assert!(
            stdout_of(&verify).contains(&format!(
                "corrupt: {ENGINE}: its plan header says TensorRT 10.3.0.26 built it, not 10.3.0.30 as its sidecar says"
            )),
            "{}",
            stdout_of(&verify)
        );
    }
}

#[test]
fn ensure_never_hands_out_a_plan_whose_header_disagrees() {
    let project = Project::new();
    let onnx = project.add_model("arcface_r100");
    let ensure = || {
        project
            .trtctl()
            .args(["ensure", "--onnx"])
            .arg(&onnx)
            .args(["--precision", "fp16", "--batch-size", "8", "--no-remote"])
            .args(["--gpu-arch", "sm_86"])
            .output()
            .unwrap()
    };
    let first = succeeded(&ensure());
    let path = first
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    edit_json(std::path::Path::new(&format!("{path}.json")), |sidecar| {
        sidecar["provenance"]["trt_build"] = "10.3.0.1".into()
    });
    let refused = ensure();
    let out = all_output(&refused);
    assert_eq!(refused.status.code(), Some(1), "{out}");
    assert!(
        out.contains(
            "its plan header says TensorRT 10.3.0.26 built it, not 10.3.0.1 as its sidecar says"
        ),
        "{out}"
    );
}

/// The stand-in trtexec keeps TensorRT's rules about plans, so the checks above face what the
/// real one would do: the header layout, `--getPlanVersionOnly`, and loading a plan only in its
/// exact build unless it is version-compatible and the loader newer.
#[test]
fn the_stand_in_writes_and_reads_plan_headers_as_trtexec_does() {
    let project = Project::new();
    let onnx = project.add_model("arcface_r100");
    let stand_in = |version: &str, args: &[String]| {
        stand_in_trtexec(project.path())
            .args(args)
            .env("STUB_TRT_VERSION", version)
            .output()
            .unwrap()
    };
    let build = |version: &str, plan: &str, extra: &[&str]| {
        let mut args = vec![
            format!("--onnx={}", onnx.display()),
            format!("--saveEngine={plan}"),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        succeeded(&stand_in(version, &args));
        std::fs::read(project.path().join(plan)).unwrap()
    };
    let plain = build("10.3.0.30", "plain.plan", &[]);
    assert_eq!(&plain[..4], b"ftrt");
    assert_eq!(&plain[4..8], &[0, 0, 0, 0]);
    assert_eq!(&plain[24..28], &[10, 3, 0, 30]);
    build("10.3.0.30", "vc.plan", &["--versionCompatible"]);

    let load = |version: &str, plan: &str, extra: &[&str]| {
        let mut args = vec![format!("--loadEngine={plan}")];
        args.extend(extra.iter().map(|a| a.to_string()));
        stand_in(version, &args)
    };
    let asked = load("10.8.0", "plain.plan", &["--getPlanVersionOnly"]);
    assert!(
        stdout_of(&asked).contains("[I] Plan was created with TensorRT version 10.3.0.30"),
        "{}",
        stdout_of(&asked)
    );
    assert!(
        !load("8.6.1", "plain.plan", &["--getPlanVersionOnly"])
            .status
            .success(),
        "trtexec 8.6 has no --getPlanVersionOnly"
    );
    succeeded(&load("10.3.0.30", "plain.plan", &[]));
    let other_build = load("10.3.0.26", "plain.plan", &[]);
    assert!(!other_build.status.success());
    assert!(
        String::from_utf8_lossy(&other_build.stderr)
            .contains("expecting library version 10.3.0.26 got 10.3.0.30, please rebuild")
    );
    assert!(!load("10.8.0", "plain.plan", &[]).status.success());
    assert!(
        load("10.8.0", "vc.plan", &[]).status.success(),
        "newer, version-compatible"
    );
    assert!(load("11.0.0", "vc.plan", &[]).status.success(), "10 -> 11");
    assert!(
        !load("10.2.0", "vc.plan", &[]).status.success(),
        "never older"
    );
}
