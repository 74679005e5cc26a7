//! `trtctl fleet plan` and `fleet node-args` driven as a user would: units of work, the
//! Kubernetes Jobs and the GitHub Actions matrix rendered from them.

use crate::common::backend::Backend;
use crate::common::fleet::Fleet;
use crate::common::manifest::{Manifest, Model};
use crate::common::project::{Project, all_output, stderr_of, stdout_of, succeeded};
use crate::common::s3::SECRET_KEY;

const TWO_MODELS_TWO_ARCHS: &str = r#"
trt_version = "10.3.0"

[remote]
url = "file://remote"

[defaults]
precisions = ["fp16", "fp32"]
archs = ["sm_86", "sm_89"]

[[model]]
name = "arcface_r100"
family = "arcface"
onnx = "models/arcface_r100.onnx"
version = "v1.0"

[[model]]
name = "scrfd_10g"
onnx = "models/scrfd_10g.onnx"
version = "v2"
"#;

/// Two models × fp16/fp32 × sm_86/sm_89, with `scrfd_10g:fp16:sm_86` already in the remote.
fn partly_built(table: &str) -> Project {
    let project = Project::with_models(
        &["arcface_r100", "scrfd_10g"],
        &format!("{TWO_MODELS_TWO_ARCHS}{table}"),
    );
    build_on_sm86(&project, "scrfd_10g:fp16:sm_86");
    project
}

/// A machine with an sm_86 GPU builds and uploads the engine of `selector`.
fn build_on_sm86(project: &Project, selector: &str) {
    let mut command = project.trtctl();
    command.args(["apply", "--gpu-arch", "sm_86", "--target", selector]);
    command.assert().success();
}

fn fleet_plan(project: &Project, args: &[&str]) -> String {
    succeeded(
        &project
            .trtctl()
            .args(["fleet", "plan"])
            .args(args)
            .output()
            .unwrap(),
    )
}

/// The stderr of a command that must have failed (exit 1) and printed nothing on stdout.
fn refused(command: &mut assert_cmd::Command) -> String {
    let out = command.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    assert_eq!(stdout_of(&out), "");
    stderr_of(&out)
}

fn units(project: &Project) -> serde_json::Value {
    serde_json::from_str(&fleet_plan(project, &["--json"])).unwrap()
}

#[test]
fn units_group_by_arch_and_leave_out_what_the_remote_holds() {
    let project = partly_built("");
    let plan = units(&project);
    let units = plan["units"].as_array().unwrap();
    assert_eq!(units.len(), 2, "{plan:#}");
    assert_eq!(units[0]["gpu"]["arch"], "sm_86");
    assert_eq!(units[0]["count"], 3);
    assert_eq!(
        units[0]["selectors"],
        serde_json::json!([
            "arcface_r100:fp16:sm_86",
            "arcface_r100:fp32:sm_86",
            "scrfd_10g:fp32:sm_86"
        ])
    );
    assert_eq!(units[1]["gpu"]["arch"], "sm_89");
    assert_eq!(units[1]["count"], 4);
    insta::assert_snapshot!("fleet_plan_text", fleet_plan(&project, &[]));
}

#[test]
fn names_hold_for_the_same_engines_and_change_with_them() {
    let project = partly_built("");
    let before = units(&project);
    assert_eq!(
        before,
        units(&project),
        "the same plan renders the same names"
    );
    build_on_sm86(&project, "arcface_r100:fp16:sm_86");
    let after = units(&project);
    assert_eq!(after["units"][0]["count"], 2);
    assert_ne!(after["units"][0]["name"], before["units"][0]["name"]);
    assert_eq!(after["units"][1]["name"], before["units"][1]["name"]);
    assert_ne!(after["digest"], before["digest"]);
}

#[test]
fn nothing_to_build_renders_no_unit() {
    let project = partly_built("");
    project
        .trtctl()
        .args(["apply", "--gpu-arch", "sm_86,sm_89"])
        .assert()
        .success();
    assert_eq!(units(&project)["units"], serde_json::json!([]));
    assert!(fleet_plan(&project, &[]).starts_with("Nothing to build"));
    let out = (project.trtctl())
        .args(["fleet", "plan", "--format", "k8s", "--image", "i"])
        .output()
        .unwrap();
    assert_eq!(succeeded(&out), "");
    assert!(
        stderr_of(&out).starts_with("Nothing to build"),
        "{}",
        stderr_of(&out)
    );
    let matrix = fleet_plan(&project, &["--format", "github-matrix"]);
    assert_eq!(matrix, "{\"include\":[]}\n");
}

#[test]
fn kubernetes_jobs_select_gpu_nodes_and_take_credentials_from_a_secret() {
    let project = partly_built("");
    let yaml = fleet_plan(
        &project,
        &[
            "--format",
            "k8s",
            "--image",
            "registry.example.com/trtctl:1.4",
            "--namespace",
            "engines",
            "--secret",
            "trtctl-remote",
            "--service-account",
            "engine-builder",
            "--cache-volume-claim",
            "trtctl-cache",
            "--job-manifest",
            "/srv/engines.toml",
        ],
    );
    insta::assert_snapshot!("fleet_k8s_jobs", yaml);
    let list: serde_json::Value = serde_json::from_str(&fleet_plan(
        &project,
        &["--format", "k8s-json", "--image", "i"],
    ))
    .unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        list["items"][1]["spec"]["template"]["spec"]["nodeSelector"],
        serde_json::json!({"nvidia.com/gpu.compute.major": "8", "nvidia.com/gpu.compute.minor": "9"})
    );
}

/// An `ampere+` model's sm_80-plus engines are one unit, for any node of compute capability
/// 8 or later: an affinity in the Job, its own runner label and Ray resource.
#[test]
fn an_ampere_plus_unit_runs_on_any_gpu_of_sm_80_or_later() {
    let project = Project::new();
    project.add_model("arcface_r100");
    project.add_model("scrfd_10g");
    let manifest = TWO_MODELS_TWO_ARCHS.replace(
        "archs = [\"sm_86\", \"sm_89\"]",
        "archs = [\"sm_75\", \"sm_86\", \"sm_89\"]\nbuild = { hardware_compatibility = \"ampere+\" }",
    );
    project.write_manifest(&manifest);
    let units = units(&project);
    let units = units["units"].as_array().unwrap();
    let gpus: Vec<&str> = units
        .iter()
        .map(|u| u["gpu"]["arch"].as_str().unwrap())
        .collect();
    assert_eq!(gpus, ["sm_75", "sm_80-plus"], "{units:?}");
    assert_eq!(units[1]["count"], 4);
    assert!(
        units[1]["name"]
            .as_str()
            .unwrap()
            .starts_with("trtctl-sm80-plus-")
    );
    let list: serde_json::Value = serde_json::from_str(&fleet_plan(
        &project,
        &["--format", "k8s-json", "--image", "i"],
    ))
    .unwrap();
    let pod = &list["items"][1]["spec"]["template"]["spec"];
    assert_eq!(pod["nodeSelector"], serde_json::json!({}));
    assert_eq!(
        pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
            [0]["matchExpressions"],
        serde_json::json!([{"key": "nvidia.com/gpu.compute.major", "operator": "Gt", "values": ["7"]}])
    );
    let matrix = fleet_plan(&project, &["--format", "github-matrix"]);
    assert!(matrix.contains("\"runner\":\"gpu-sm80-plus\""), "{matrix}");
}

#[test]
fn the_fleet_kubernetes_table_sets_the_jobs_and_flags_override_it() {
    let project = partly_built(
        "\n[fleet.kubernetes]\nimage = \"from-table:1\"\nsecret = \"table-secret\"\nmanifest = \"/app/engines.toml\"\n",
    );
    let json = fleet_plan(&project, &["--format", "k8s-json"]);
    assert!(json.contains("\"image\": \"from-table:1\""), "{json}");
    assert!(json.contains("\"name\": \"table-secret\""), "{json}");
    assert!(json.contains("\"/app/engines.toml\""), "{json}");
    let matrix = fleet_plan(&project, &["--format", "github-matrix"]);
    assert!(
        matrix.contains("trtctl apply -f engines.toml --target"),
        "{matrix}"
    );
    let json = fleet_plan(&project, &["--format", "k8s-json", "--image", "flag:2"]);
    assert!(json.contains("\"image\": \"flag:2\""), "{json}");
    assert!(!json.contains("from-table"), "{json}");
}

#[test]
fn jobs_without_an_image_are_refused_with_the_fix() {
    let project = partly_built("");
    let text = refused(project.trtctl().args(["fleet", "plan", "--format", "k8s"]));
    let fix = "pass `--image REGISTRY/IMAGE:TAG` or set `image` in `[fleet.kubernetes]`";
    assert!(text.contains(fix), "{text}");
}

#[test]
fn an_unknown_key_in_the_fleet_table_is_located() {
    let project = partly_built("");
    let manifest =
        format!("{TWO_MODELS_TWO_ARCHS}\n[fleet.kubernetes]\nimage = \"i\"\nimage_pull = \"x\"\n");
    project.write_manifest(&manifest);
    let line = 1 + manifest
        .lines()
        .position(|l| l.starts_with("image_pull"))
        .unwrap();
    let text = refused(project.trtctl().args(["fleet", "plan"]));
    assert!(
        text.contains(&format!(
            "engines.toml:{line}:1: unknown field `image_pull`"
        )),
        "{text}"
    );
    assert!(text.contains("did you mean `image`?"), "{text}");
}

#[test]
fn the_github_matrix_has_one_job_per_unit_on_its_runner_label() {
    let project = partly_built("");
    let matrix = fleet_plan(&project, &["--format", "github-matrix"]);
    insta::assert_snapshot!("fleet_github_matrix", matrix);
    let custom = fleet_plan(
        &project,
        &["--format", "github-matrix", "--runner-label", "trt-{arch}"],
    );
    assert!(custom.contains("\"runner\":\"trt-sm_89\""), "{custom}");
    let mut command = project.trtctl();
    command.args(["fleet", "plan", "--format", "github-matrix"]);
    let text = refused(command.args(["--runner-label", "gpu"]));
    assert!(text.contains("has no `{sm}` or `{arch}`"), "{text}");
}

#[test]
fn a_fleet_needs_a_remote_for_its_builds_to_land_in() {
    let project = Project::with_manifest(
        &Manifest::new("10.3.0").model(Model::named("arcface_r100").archs(&["sm_86"])),
    );
    let text = refused(project.trtctl().args(["fleet", "plan"]));
    assert!(text.contains("add a `[remote]` table"), "{text}");
}

#[test]
fn credentials_of_the_environment_never_reach_a_rendered_job() {
    let fleet = Fleet::with_archs(Backend::s3(), &["sm_86", "sm_89"]);
    for format in ["text", "json", "k8s", "k8s-json", "github-matrix"] {
        let out = fleet
            .machine("a")
            .args([
                "fleet", "plan", "--format", format, "--image", "i", "--secret", "s",
            ])
            .output()
            .unwrap();
        let text = all_output(&out);
        succeeded(&out);
        assert!(text.contains("arcface_r100:fp16:sm_89"), "{text}");
        assert!(!text.contains(SECRET_KEY), "{format}: {text}");
    }
}

#[test]
fn a_plan_with_an_untrusted_remote_copy_renders_no_job() {
    let fleet = Fleet::with_archs(Backend::s3(), &["sm_86", "sm_89"]);
    fleet
        .machine("a")
        .args(["apply", "--gpu-arch", "sm_86", "--allow-missing"])
        .assert()
        .success();
    let key = fleet.project.path().join("ci.key");
    let generated = fleet
        .project
        .trtctl()
        .args(["key", "generate", "ci-2026", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    let public = succeeded(&generated).trim().to_string();
    for format in ["text", "k8s", "github-matrix"] {
        let mut command = fleet.machine("b");
        command.env("TRTCTL_TRUSTED_KEYS", &public);
        let text = refused(command.args(["fleet", "plan", "--image", "i", "--format", format]));
        assert!(
            text.contains("refusing to fan out: the remote holds untrusted copies of arcface/arcface_r100_v1.0_fp16_sm_86_10.3.0.trt"),
            "{text}"
        );
    }
    // Refused before any Ray is asked: nothing listens on the discard port.
    let mut command = fleet.machine("b");
    command.env("TRTCTL_TRUSTED_KEYS", &public);
    let text = refused(command.args(["fleet", "apply", "--ray", "http://127.0.0.1:9"]));
    assert!(text.contains("refusing to fan out"), "{text}");
}

#[test]
fn node_args_offer_each_local_arch_as_a_ray_resource() {
    let project = Project::new();
    let out = project
        .trtctl()
        .args(["fleet", "node-args", "--gpu-arch", "sm_89,sm_86"])
        .output()
        .unwrap();
    assert_eq!(
        succeeded(&out),
        "--resources={\"trtctl/sm_80-plus\":1,\"trtctl/sm_86\":1,\"trtctl/sm_89\":1}\n"
    );
    let turing = project
        .trtctl()
        .args(["fleet", "node-args", "--gpu-arch", "sm_75"])
        .output()
        .unwrap();
    assert_eq!(succeeded(&turing), "--resources={\"trtctl/sm_75\":1}\n");
    let text = refused(project.trtctl().args(["fleet", "node-args"]));
    assert!(text.contains("pass --gpu-arch sm_NN"), "{text}");
}

#[test]
fn fleet_apply_names_a_ray_address_it_cannot_use() {
    let project = partly_built("");
    let text = refused(
        project
            .trtctl()
            .args(["fleet", "apply", "--ray", "ray://head:10001"]),
    );
    assert!(
        text.contains("bad Ray address `ray://head:10001`: expected http://HOST:PORT"),
        "{text}"
    );
    // Port 9 (discard) on the loopback: nothing listens there.
    let text = refused(
        project
            .trtctl()
            .args(["fleet", "apply", "--ray", "http://127.0.0.1:9"]),
    );
    assert!(
        text.starts_with(
            "error: cannot reach Ray's Jobs API at http://127.0.0.1:9/api/jobs/trtctl-sm86-"
        ),
        "{text}"
    );
}
