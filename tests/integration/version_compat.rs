//! `version_compatible = true`: a host whose TensorRT is newer than any engine's, and has no
//! engine of its own version, uses the newest older version-compatible engine that TensorRT
//! loads (same major, or 8 → 10, 10 → 11), where the manifest trusts its embedded lean runtime.

use crate::common::backend::Backend;
use crate::common::manifest::{Manifest, Model};
use crate::common::project::{Project, succeeded};

const OLD: &str = "arcface_r100_v1.0_fp16_sm_86_10.3.0.trt";

fn manifest(project: &Project, backend: &Backend, trust: &str) {
    project.write_manifest(
        &Manifest::new("auto")
            .remote(&backend.url())
            .raw(trust)
            .model(
                Model::arcface(&["fp16"], &["sm_86"]).line("build = { version_compatible = true }"),
            )
            .text(),
    );
}

fn host(project: &Project, backend: &Backend, trt: &str) -> assert_cmd::Command {
    let mut cmd = project.with_remote(backend);
    cmd.env(
        "TENSORRT_CACHE_DIR",
        project.path().join(format!("cache-{trt}")),
    )
    .env("STUB_TRT_VERSION", trt)
    .args(["--gpu-arch", "sm_86"]);
    cmd
}

fn plan_of(project: &Project, backend: &Backend, trt: &str) -> String {
    succeeded(&host(project, backend, trt).arg("plan").output().unwrap())
}

#[test]
fn a_version_compatible_engine_serves_a_newer_tensorrt_and_no_older_one() {
    for backend in Backend::both() {
        let project = Project::new();
        project.add_model("arcface_r100");
        let opt_in = "[trust]\nlean_runtime = \"any\"\n";
        manifest(&project, &backend, opt_in);
        succeeded(
            &host(&project, &backend, "10.3.0")
                .arg("apply")
                .output()
                .unwrap(),
        );
        let built = project.builds();
        assert_eq!(built.len(), 1, "{built:?}");

        // 10.8 has no engine of its own: 10.3's is fetched and used, nothing is built.
        project.clear_builds();
        let plan = plan_of(&project, &backend, "10.8.0");
        assert!(
            plan.contains(&format!("↓ fetch              {OLD} (no 10.8.0 engine: TensorRT 10.3.0's version-compatible engine serves this TensorRT 10.8.0)")),
            "{plan}"
        );
        let applied = succeeded(
            &host(&project, &backend, "10.8.0")
                .arg("apply")
                .output()
                .unwrap(),
        );
        assert!(applied.contains("0 built, 1 fetched"), "{applied}");
        assert!(project.builds().is_empty(), "{:?}", project.builds());
        assert!(
            project
                .path()
                .join("cache-10.8.0/arcface")
                .join(OLD)
                .is_file()
        );
        // Once cached, it is this host's engine: up to date, still saying why.
        let again = plan_of(&project, &backend, "10.8.0");
        assert!(
            again.contains(&format!("= up to date         {OLD} (no 10.8.0 engine")),
            "{again}"
        );

        // Never an older TensorRT, never across 10 → 8: they build their own.
        for older in ["10.2.0", "8.6.1"] {
            let plan = plan_of(&project, &backend, older);
            assert!(
                plan.contains(&format!(
                    "+ build              arcface_r100_v1.0_fp16_sm_86_{older}.trt"
                )),
                "{older}: {plan}"
            );
        }

        // Without the opt-in (and no signatures required), its lean runtime is not trusted.
        manifest(&project, &backend, "");
        let plan = plan_of(&project, &backend, "10.9.0");
        assert!(
            plan.contains("+ build              arcface_r100_v1.0_fp16_sm_86_10.9.0.trt"),
            "{plan}"
        );
    }
}

#[test]
fn an_engine_built_without_version_compatibility_serves_only_its_own_tensorrt() {
    let backend = Backend::dir();
    let project = Project::new();
    project.add_model("arcface_r100");
    manifest(&project, &backend, "[trust]\nlean_runtime = \"any\"\n");
    let text = std::fs::read_to_string(project.path().join("engines.toml")).unwrap();
    project.write_manifest(&text.replace("build = { version_compatible = true }\n", ""));
    succeeded(
        &host(&project, &backend, "10.3.0")
            .arg("apply")
            .output()
            .unwrap(),
    );
    let plan = plan_of(&project, &backend, "10.8.0");
    assert!(
        plan.contains("+ build              arcface_r100_v1.0_fp16_sm_86_10.8.0.trt"),
        "{plan}"
    );
}
