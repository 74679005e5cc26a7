//! `hardware_compatibility = "ampere+"`: one engine, `sm_80-plus`, for every arch of the model
//! from sm_80 on, built by any GPU of those archs and used by all of them; the archs before
//! sm_80 keep engines of their own, built without the level.

use std::path::Path;

use serde_json::Value;

use crate::common::backend::Backend;
use crate::common::manifest::{Manifest, Model};
use crate::common::project::{
    ENSURE_ARCFACE, Project, all_output, stand_in_trtexec, stdout_of, succeeded,
};

const PLUS: &str = "arcface/arcface_r100_v1.0_fp16_sm_80-plus_10.3.0.trt";
const TURING: &str = "arcface/arcface_r100_v1.0_fp16_sm_75_10.3.0.trt";

fn ampere_plus_project(backend: &Backend) -> Project {
    Project::with_manifest(
        &Manifest::new("10.3.0").remote(&backend.url()).model(
            Model::arcface(&["fp16"], &["sm_75", "sm_80", "sm_86", "sm_89", "sm_90"])
                .line("build = { hardware_compatibility = \"ampere+\" }"),
        ),
    )
}

fn machine(project: &Project, backend: &Backend, name: &str) -> assert_cmd::Command {
    let mut cmd = project.with_remote(backend);
    cmd.env(
        "TENSORRT_CACHE_DIR",
        project.path().join(format!("cache-{name}")),
    );
    cmd
}

fn cached_in(dir: &Path) -> Vec<String> {
    let mut found: Vec<String> = walk(dir)
        .into_iter()
        .filter(|name| name.ends_with(".trt"))
        .collect();
    found.sort();
    found
}

fn walk(dir: &Path) -> Vec<String> {
    let Ok(families) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    for family in families.flatten().filter(|f| f.path().is_dir()) {
        for file in std::fs::read_dir(family.path()).unwrap().flatten() {
            let family_name = family.file_name().to_string_lossy().into_owned();
            names.push(format!(
                "{family_name}/{}",
                file.file_name().to_string_lossy()
            ));
        }
    }
    names
}

#[test]
fn one_ampere_plus_engine_serves_every_arch_from_sm_80_and_is_fetched_by_an_sm_90_host() {
    for backend in Backend::both() {
        let project = ampere_plus_project(&backend);
        let builder = || {
            let mut cmd = machine(&project, &backend, "builder");
            cmd.args(["--gpu-arch", "sm_75,sm_86"]);
            cmd
        };
        let plan = succeeded(&builder().arg("plan").output().unwrap());
        let builds: Vec<&str> = plan.lines().filter(|l| l.contains("+ build")).collect();
        assert_eq!(
            builds,
            [
                "  + build              arcface_r100_v1.0_fp16_sm_75_10.3.0.trt, then upload",
                "  + build              arcface_r100_v1.0_fp16_sm_80-plus_10.3.0.trt [ampere+: sm_80, sm_86, sm_89, sm_90], then upload",
            ],
            "{plan}"
        );
        assert!(plan.contains("2 to build"), "{plan}");

        succeeded(&builder().arg("apply").output().unwrap());
        // The sm_75 engine is built without the level, which its GPU would refuse.
        let runs = project.builds();
        assert_eq!(runs.len(), 2, "{runs:?}");
        let argv = |engine: &str| {
            let file = engine.split_once('/').unwrap().1;
            let log = project
                .path()
                .join("cache-builder/logs")
                .join(format!("{file}.log"));
            std::fs::read_to_string(log).unwrap()
        };
        assert!(argv(PLUS).contains("--hardwareCompatibilityLevel=ampere+"));
        assert!(!argv(TURING).contains("--hardwareCompatibilityLevel"));

        // An sm_90 host with an empty cache builds nothing: the ampere+ engine is its engine.
        project.clear_builds();
        let deploy = || {
            let mut cmd = machine(&project, &backend, "h100");
            cmd.args(["--gpu-arch", "sm_90"]);
            cmd
        };
        let plan = succeeded(&deploy().arg("plan").output().unwrap());
        assert!(
            plan.contains("↓ fetch              arcface_r100_v1.0_fp16_sm_80-plus_10.3.0.trt [ampere+: sm_80, sm_86, sm_89, sm_90]"),
            "{plan}"
        );
        assert!(plan.contains("Plan: 0 to build, 2 to fetch"), "{plan}");
        succeeded(&deploy().arg("apply").output().unwrap());
        assert!(project.builds().is_empty(), "{:?}", project.builds());
        assert!(cached_in(&project.path().join("cache-h100")).contains(&PLUS.to_string()));

        // A deploy host of sm_89 installs the locked ampere+ engine, and only it.
        succeeded(
            &machine(&project, &backend, "builder")
                .arg("lock")
                .output()
                .unwrap(),
        );
        let lock = std::fs::read_to_string(project.path().join("engines.lock")).unwrap();
        assert!(
            lock.contains("arch = \"sm_80-plus\"")
                && lock.contains("serves = [\"sm_80\", \"sm_86\", \"sm_89\", \"sm_90\"]"),
            "{lock}"
        );
        succeeded(
            &machine(&project, &backend, "l4")
                .args(["fetch", "--lock", "engines.lock", "--gpu-arch", "sm_89"])
                .output()
                .unwrap(),
        );
        assert_eq!(cached_in(&project.path().join("cache-l4")), [PLUS]);

        // Triton gets one plan file, named for each compute capability it serves.
        let repo = project.path().join("triton");
        let export = machine(&project, &backend, "builder")
            .args(["export", "triton", "--repo"])
            .arg(&repo)
            .output()
            .unwrap();
        succeeded(&export);
        let config = std::fs::read_to_string(repo.join("arcface_r100/config.pbtxt")).unwrap();
        for cc in ["8.0", "8.6", "8.9", "9.0"] {
            assert!(
                config.contains(&format!(
                    "cc_model_filenames {{ key: \"{cc}\" value: \"model_sm_80-plus.plan\" }}"
                )),
                "{config}"
            );
        }
        assert!(
            config.contains("cc_model_filenames { key: \"7.5\" value: \"model_sm_75.plan\" }"),
            "{config}"
        );
        let mut plans: Vec<String> = std::fs::read_dir(repo.join("arcface_r100/1"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        plans.sort();
        assert_eq!(plans, ["model_sm_75.plan", "model_sm_80-plus.plan"]);
    }
}

#[test]
fn an_ampere_plus_engine_is_built_only_by_a_gpu_of_sm_80_or_later() {
    let project = ampere_plus_project(&Backend::dir());
    // A host whose only GPU is an sm_75: the sm_80-plus engine cannot be built here.
    let out = project
        .trtctl()
        .args(["apply", "--no-upload"])
        .env("STUB_CUDA_GPUS", "Tesla T4,7.5,15360")
        .output()
        .unwrap();
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("1 cannot be built here"), "{text}");
    let plan = project
        .trtctl()
        .arg("plan")
        .env("STUB_CUDA_GPUS", "Tesla T4,7.5,15360")
        .output()
        .unwrap();
    assert!(
        stdout_of(&plan).contains("! cannot build here  arcface_r100_v1.0_fp16_sm_80-plus_10.3.0.trt [ampere+: sm_80, sm_86, sm_89, sm_90] (needs a GPU of sm_80-plus (any of sm_80 or later but Jetson and DRIVE); not in the remote)"),
        "{}",
        stdout_of(&plan)
    );
    let built: Vec<String> = project.builds();
    assert_eq!(built.len(), 1, "only the sm_75 engine: {built:?}");
    assert!(built[0].contains("sm_75"), "{built:?}");

    // On an A10 (sm_86), the same engine builds on it, device 0.
    project.clear_builds();
    succeeded(
        &project
            .trtctl()
            .args(["apply", "--no-upload", "--target", "*:*:sm_80-plus"])
            .env("STUB_CUDA_GPUS", "NVIDIA A10,8.6,23028")
            .output()
            .unwrap(),
    );
    let built = project.builds();
    assert_eq!(built.len(), 1, "{built:?}");
    assert!(
        built[0].contains("sm_80-plus") && built[0].contains(" 0 "),
        "{built:?}"
    );
    let sidecar: Value = serde_json::from_slice(
        &std::fs::read(project.cache().join(format!("{PLUS}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(sidecar["provenance"]["gpu_model"], "a10", "{sidecar}");
}

#[test]
fn the_stand_in_refuses_ampere_plus_below_sm_80_and_levels_its_version_lacks() {
    let project = Project::new();
    let onnx = project.add_model("m");
    let run = |level: &str, gpus: &str, version: &str| {
        let out = stand_in_trtexec(project.path())
            .arg(format!("--onnx={}", onnx.display()))
            .arg(format!(
                "--saveEngine={}",
                project.path().join("m.trt").display()
            ))
            .arg(format!("--hardwareCompatibilityLevel={level}"))
            .env("STUB_CUDA_GPUS", gpus)
            .env("STUB_TRT_VERSION", version)
            .env_remove("CUDA_VISIBLE_DEVICES")
            .output()
            .unwrap();
        (out.status.success(), all_output(&out))
    };
    let (ok, out) = run("ampere+", "Tesla T4,7.5,15360", "10.3.0");
    assert!(
        !ok && out.contains("AMPERE_PLUS requires a GPU of compute capability 8.0"),
        "{out}"
    );
    assert!(run("ampere+", "NVIDIA A10,8.6,23028", "10.3.0").0);
    assert!(!run("sameComputeCapability", "NVIDIA A10,8.6,23028", "10.8.0").0);
    assert!(run("sameComputeCapability", "NVIDIA A10,8.6,23028", "10.9.0").0);
}

#[test]
fn sm_80_plus_names_engines_not_gpus() {
    let project = ampere_plus_project(&Backend::dir());
    let out = project
        .trtctl()
        .args(["plan", "--gpu-arch", "sm_80-plus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    assert!(
        all_output(&out).contains(
            "`sm_80-plus` names the engine of `hardware_compatibility = \"ampere+\"`, not a GPU"
        ),
        "{}",
        all_output(&out)
    );
    let manifest = std::fs::read_to_string(project.path().join("engines.toml")).unwrap();
    project.write_manifest(&manifest.replace("\"sm_80\", ", "\"sm_80-plus\", "));
    let out = project
        .trtctl()
        .args(["plan", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("engines.toml:10"), "{text}");
    assert!(
        text.contains("set `build = { hardware_compatibility = \"ampere+\" }`"),
        "{text}"
    );
}

/// `ensure --hardware-compatibility ampere+` (Python's `hardware_compatibility=`): an sm_86
/// host builds the sm_80-plus engine, and an sm_90 host is handed the same engine from the
/// remote; an sm_75 host gets an engine of its own arch, built without the level.
#[test]
fn ensure_hands_out_the_ampere_plus_engine_to_every_arch_it_serves() {
    let project = Project::new();
    project.add_model("arcface_r100");
    let shared = project.path().join("shared");
    let ensure = |arch: &str, cache: &str| {
        let out = project
            .trtctl()
            .args(ENSURE_ARCFACE)
            .args(["--gpu-arch", arch])
            .args(["--hardware-compatibility", "ampere+"])
            .env("TRTCTL_TRT_VERSION", "10.3.0")
            .env("TRTCTL_REMOTE", format!("file://{}", shared.display()))
            .env("TENSORRT_CACHE_DIR", project.path().join(cache))
            .output()
            .unwrap();
        let text = succeeded(&out);
        let (path, source) = text.trim_end().split_once('\t').unwrap();
        (path.to_string(), source.to_string())
    };
    let (built, source) = ensure("sm_86", "cache-a");
    assert_eq!(source, "built");
    assert!(built.ends_with(PLUS), "{built}");
    let (fetched, source) = ensure("sm_90", "cache-b");
    assert_eq!(source, "remote");
    assert!(fetched.ends_with(PLUS), "{fetched}");
    assert_eq!(
        std::fs::read(&built).unwrap(),
        std::fs::read(&fetched).unwrap()
    );
    let (turing, source) = ensure("sm_75", "cache-c");
    assert_eq!(source, "built");
    assert!(turing.ends_with(TURING), "{turing}");
}
