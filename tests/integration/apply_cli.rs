//! `trtctl apply` and `trtctl ensure` with the stand-in trtexec: what gets built, how often,
//! and what a crash leaves behind.

use std::process::Stdio;
use std::time::Duration;

use crate::common::files_under;
use crate::common::manifest::{Manifest, Model};
use crate::common::project::{
    Project, TWO_MODELS_SM86 as MANIFEST, stderr_of, stdout_of, succeeded,
};

fn project() -> Project {
    Project::with_models(&["arcface_r100", "scrfd_10g"], MANIFEST)
}

fn built_engines(project: &Project) -> Vec<String> {
    let mut engines: Vec<String> = project
        .builds()
        .iter()
        .map(|line| line.split_whitespace().nth(1).unwrap().to_string())
        .map(|temp| {
            temp.trim_start_matches(".tmp-")
                .split(".trt")
                .next()
                .unwrap()
                .to_string()
                + ".trt"
        })
        .collect();
    engines.sort();
    engines
}

#[test]
fn apply_builds_the_plan_once_then_nothing() {
    let project = project();
    let output = project
        .trtctl()
        .args(["apply", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    let out = succeeded(&output);
    assert!(
        out.contains("] build arcface_r100_v1.0_fp16_sm_86_10.3.0.trt ... ok ("),
        "{out}"
    );
    assert!(
        out.contains("Apply: 4 built, 0 fetched from remote, 0 from local_cache"),
        "{out}"
    );
    assert_eq!(
        built_engines(&project),
        [
            "arcface_r100_v1.0_fp16_sm_86_10.3.0.trt",
            "arcface_r100_v1.0_fp32_sm_86_10.3.0.trt",
            "scrfd_10g_v2_fp16_sm_86_10.3.0.trt",
            "scrfd_10g_v2_fp32_sm_86_10.3.0.trt",
        ]
    );
    assert_eq!(project.cached().len(), 4);
    // The build was pinned to the GPU and given the profile from the ONNX inputs.
    let log = std::fs::read_to_string(
        project
            .cache()
            .join("logs/arcface_r100_v1.0_fp16_sm_86_10.3.0.trt.log"),
    )
    .unwrap();
    assert!(log.contains("--device=0"), "{log}");
    assert!(log.contains("--optShapes=input:8x3x112x112"), "{log}");
    assert!(
        log.lines().last().unwrap().starts_with("&&&& PASSED"),
        "{log}"
    );
    assert!(
        project.cache().join("timing/sm_86_10.3.0.cache").is_file(),
        "no timing cache kept"
    );

    project.clear_builds();
    let again = project
        .trtctl()
        .args(["apply", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    let out = succeeded(&again);
    assert!(
        out.contains("Apply: 0 built, 0 fetched from remote, 4 from local_cache"),
        "{out}"
    );
    assert!(project.builds().is_empty());
}

#[test]
fn quiet_says_only_what_went_wrong() {
    let project = project();
    let ok = project
        .trtctl()
        .args(["apply", "-q", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    assert_eq!(succeeded(&ok), "", "a clean quiet apply printed something");
    let failed = project
        .trtctl()
        .env("STUB_FAIL_MODEL", "arcface")
        .args([
            "apply",
            "-q",
            "--gpu-arch",
            "sm_86",
            "--force-rebuild",
            "arcface_r100",
        ])
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(1));
    let out = stdout_of(&failed);
    assert!(
        out.contains("FAILED") && out.contains("failed: build arcface_r100"),
        "{out}"
    );
    assert!(!out.contains("... ok"), "{out}");
}

#[test]
fn a_configured_trtexec_that_is_not_there_is_an_error() {
    let project = project();
    project.write_manifest(&format!(
        "{MANIFEST}\n[builder]\ntrtexec = \"/nonexistent/trtexec\"\n"
    ));
    let output = project
        .trtctl()
        .args(["apply", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr_of(&output).contains("/nonexistent/trtexec is not an executable file"),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn a_changed_onnx_rebuilds_only_its_engines() {
    let project = project();
    project
        .trtctl()
        .args(["apply", "--gpu-arch", "sm_86"])
        .assert()
        .success();
    // This plan leaves every sidecar in the local index, which keeps no build inputs: the
    // reason below must still be found.
    project
        .trtctl()
        .args(["plan", "--gpu-arch", "sm_86"])
        .assert()
        .success();
    assert!(project.cache().join(".sidecar-index").is_file());
    project.clear_builds();
    project.touch_model("scrfd_10g", 7);
    let plan = project
        .trtctl()
        .args(["plan", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    let shown = stdout_of(&plan);
    let line = shown
        .lines()
        .find(|l| l.contains("scrfd_10g_v2_fp16_sm_86_10.3.0.trt"))
        .unwrap();
    assert!(line.trim_start().starts_with("~ rebuild"), "{shown}");
    assert!(
        line.ends_with("scrfd_10g_v2_fp16_sm_86_10.3.0.trt (ONNX changed)"),
        "{shown}"
    );
    project
        .trtctl()
        .args(["apply", "--gpu-arch", "sm_86"])
        .assert()
        .success();
    assert_eq!(
        built_engines(&project),
        [
            "scrfd_10g_v2_fp16_sm_86_10.3.0.trt",
            "scrfd_10g_v2_fp32_sm_86_10.3.0.trt"
        ]
    );
}

#[test]
fn force_rebuild_takes_a_selector() {
    let project = project();
    project
        .trtctl()
        .args(["apply", "--gpu-arch", "sm_86"])
        .assert()
        .success();
    project.clear_builds();
    project
        .trtctl()
        .args([
            "apply",
            "--gpu-arch",
            "sm_86",
            "--force-rebuild",
            "arcface_r100:fp16",
        ])
        .assert()
        .success();
    assert_eq!(
        built_engines(&project),
        ["arcface_r100_v1.0_fp16_sm_86_10.3.0.trt"]
    );
    project.clear_builds();
    project
        .trtctl()
        .args(["apply", "--gpu-arch", "sm_86", "--force-rebuild"])
        .assert()
        .success();
    assert_eq!(built_engines(&project).len(), 4);
}

#[test]
fn keep_going_builds_the_rest_and_still_fails() {
    let project = project();
    let output = project
        .trtctl()
        .env("STUB_FAIL_MODEL", "scrfd")
        .args(["apply", "--gpu-arch", "sm_86", "--keep-going"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let out = stdout_of(&output);
    assert!(out.contains("Apply: 2 built"), "{out}");
    assert!(out.contains("2 failed"), "{out}");
    assert!(
        out.contains("failed: build scrfd_10g_v2_fp16_sm_86_10.3.0.trt: trtexec failed:"),
        "{out}"
    );
    assert!(out.contains("--- last lines of "), "{out}");
    assert_eq!(
        project.cached(),
        [
            "arcface/arcface_r100_v1.0_fp16_sm_86_10.3.0.trt",
            "arcface/arcface_r100_v1.0_fp32_sm_86_10.3.0.trt"
        ]
    );
}

#[test]
fn without_keep_going_a_failure_stops_new_work() {
    let project = project();
    let output = project
        .trtctl()
        .env("STUB_FAIL_MODEL", "arcface")
        .args(["apply", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let out = stdout_of(&output);
    // One GPU: builds run one at a time, so the first failure leaves the rest unstarted.
    assert!(out.contains("1 failed, 3 skipped"), "{out}");
    assert_eq!(project.builds().len(), 1);
}

#[test]
fn extra_args_reach_trtexec() {
    let project = Project::with_manifest(
        &Manifest::new("10.3.0").model(
            Model::named("arcface_r100")
                .version("v1.0")
                .precisions(&["fp16"])
                .archs(&["sm_86"])
                .line("build = { extra_args = [\"--verbose\"] }"),
        ),
    );
    let mut apply = project.trtctl();
    succeeded(
        &apply
            .args(["apply", "--gpu-arch", "sm_86"])
            .output()
            .unwrap(),
    );
    let logs: Vec<String> = files_under(&project.cache().join("logs"))
        .iter()
        .map(|log| std::fs::read_to_string(log).unwrap())
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    let running = logs[0].lines().find(|l| l.starts_with("&&&& RUNNING"));
    assert!(
        running.is_some_and(|line| line.split(' ').any(|arg| arg == "--verbose")),
        "{}",
        logs[0]
    );
    // The stand-in acted on it: its verbose lines are there.
    assert!(logs[0].contains("] [V] "), "{}", logs[0]);
}

#[test]
fn a_build_killed_by_a_signal_fails_and_says_so() {
    let said = failed_build_with("STUB_KILL_SELF");
    assert!(said.contains("trtexec was killed by signal 9"), "{said}");
}

#[test]
fn a_build_that_passes_without_an_engine_fails() {
    for stub_env in ["STUB_EMPTY_ENGINE", "STUB_NO_ENGINE"] {
        let said = failed_build_with(stub_env);
        assert!(said.contains("wrote no engine"), "{stub_env}: {said}");
    }
}

/// What `apply` of one engine reports when the stand-in, with `stub_env=1`, fails it: exit 1
/// and nothing cached.
fn failed_build_with(stub_env: &str) -> String {
    let project = project();
    let output = project
        .trtctl()
        .env(stub_env, "1")
        .args([
            "apply",
            "--gpu-arch",
            "sm_86",
            "--target",
            "arcface_r100:fp16",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{stub_env}");
    assert!(project.cached().is_empty(), "{stub_env}");
    stdout_of(&output)
}

#[test]
fn engines_that_cannot_be_built_fail_unless_allowed() {
    let project = project();
    let output = project
        .trtctl()
        .args(["apply", "--gpu-arch", "sm_89"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout_of(&output).contains("4 cannot be built here"),
        "{}",
        stdout_of(&output)
    );
    project
        .trtctl()
        .args(["apply", "--gpu-arch", "sm_89", "--allow-missing"])
        .assert()
        .success();
}

#[test]
fn a_trtexec_of_another_version_refuses_to_build() {
    let project = project();
    let output = project
        .trtctl()
        .env("STUB_TRT_VERSION", "10.2.0")
        .args(["apply", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = stderr_of(&output);
    assert!(err.contains("local TensorRT 10.2.0"), "{err}");
    assert!(err.contains("differs from trt_version = 10.3.0"), "{err}");
}

#[test]
fn two_concurrent_applies_build_each_engine_once() {
    let project = project();
    let spawn = || {
        project
            .trtctl_process()
            .env("STUB_SLEEP", "0.3")
            .args(["apply", "--gpu-arch", "sm_86"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = spawn();
    let second = spawn();
    let mut found_built = 0;
    for child in [first, second] {
        found_built += succeeded(&child.wait_with_output().unwrap())
            .matches("ok (built by another process)")
            .count();
    }
    // An engine one apply planned to build and found built by the other once it held the
    // lock: the two ran at once.
    assert!(found_built >= 1, "the applies never overlapped");
    assert_eq!(built_engines(&project).len(), 4, "{:?}", project.builds());
    assert_eq!(project.cached().len(), 4);
}

#[test]
fn with_a_remote_two_applies_on_one_cache_say_who_built_what() {
    let project = project();
    project.write_manifest(&format!("{MANIFEST}\n[remote]\nurl = \"file://remote\"\n"));
    let spawn = || {
        project
            .trtctl_process()
            .env("STUB_SLEEP", "0.3")
            .args(["apply", "--gpu-arch", "sm_86"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let children = [spawn(), spawn()];
    let mut built = 0;
    for child in children {
        let out = succeeded(&child.wait_with_output().unwrap());
        assert!(!out.contains("fetched by another process"), "{out}");
        let summary = out.lines().find_map(|l| l.strip_prefix("Apply: ")).unwrap();
        // What this process did not build, it got from the other one: every engine is counted.
        let count = |what: &str| {
            summary
                .split([',', ';'])
                .find_map(|part| part.trim().strip_suffix(what)?.trim().parse::<usize>().ok())
                .unwrap_or(0)
        };
        assert_eq!(
            count("built") + count("from local_cache") + count("fetched from remote"),
            4,
            "{summary}"
        );
        built += count("built");
    }
    assert_eq!(built, 4, "each engine built once, by one of them");
    assert_eq!(built_engines(&project).len(), 4, "{:?}", project.builds());
}

#[test]
fn a_killed_apply_leaves_nothing_that_looks_complete() {
    let project = project();
    let mut child = project
        .trtctl_process()
        .env("STUB_SLEEP", "30")
        .args(["apply", "--gpu-arch", "sm_86"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until a build is running, then kill -9.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while project.builds().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!project.builds().is_empty(), "no build started");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(project.cached().is_empty(), "{:?}", project.cached());
    // The orphaned stand-in may still be sleeping; the next apply does not wait for it.
    project.clear_builds();
    let output = project
        .trtctl()
        .args(["apply", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    succeeded(&output);
    assert_eq!(project.cached().len(), 4);
    for engine in project.cached() {
        let path = project.cache().join(&engine);
        let sidecar: serde_json::Value =
            serde_json::from_slice(&std::fs::read(format!("{}.json", path.display())).unwrap())
                .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(sidecar["engine_size"], bytes.len());
        assert_eq!(
            sidecar["engine_sha256"],
            trtctl::identity::sha256_hex(&bytes)
        );
    }
}

#[test]
fn saved_plans_are_applied_or_refused() {
    let project = project();
    // A saved plan carries its targets: applying it builds just those.
    project
        .trtctl()
        .args([
            "plan",
            "--gpu-arch",
            "sm_86",
            "--target",
            "scrfd_10g:fp16",
            "--out",
            "one.json",
        ])
        .assert()
        .success();
    project
        .trtctl()
        .args(["apply", "one.json", "--gpu-arch", "sm_86"])
        .assert()
        .success();
    assert_eq!(
        built_engines(&project),
        ["scrfd_10g_v2_fp16_sm_86_10.3.0.trt"]
    );
    project
        .trtctl()
        .args(["plan", "--gpu-arch", "sm_86", "--out", "plan.json"])
        .assert()
        .success();
    project
        .trtctl()
        .args(["apply", "plan.json", "--gpu-arch", "sm_86"])
        .assert()
        .success();
    assert_eq!(project.cached().len(), 4);
    assert_eq!(built_engines(&project).len(), 4, "{:?}", project.builds());
    // The world moved on: the saved plan no longer describes it.
    let output = project
        .trtctl()
        .args(["apply", "plan.json", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr_of(&output).contains(
            "refusing the saved plan: the local cache, the remote or an ONNX file changed since"
        ),
        "{}",
        stderr_of(&output)
    );
    project
        .trtctl()
        .args(["plan", "--gpu-arch", "sm_86", "--out", "plan.json"])
        .assert()
        .success();
    project.write_manifest(&MANIFEST.replace("v2", "v3"));
    let output = project
        .trtctl()
        .args(["apply", "plan.json", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    assert!(
        stderr_of(&output).contains("the manifest changed since"),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn json_events_are_one_object_per_line() {
    let project = project();
    let output = project
        .trtctl()
        .args([
            "apply",
            "--gpu-arch",
            "sm_86",
            "--json",
            "--target",
            "scrfd_10g",
        ])
        .output()
        .unwrap();
    let events: Vec<serde_json::Value> = succeeded(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.first().unwrap()["event"], "begin");
    assert_eq!(events.first().unwrap()["total"], 2);
    assert_eq!(events.last().unwrap()["event"], "summary");
    assert_eq!(events.last().unwrap()["built"], 2);
    assert_eq!(
        events.iter().filter(|e| e["event"] == "finished").count(),
        2
    );
}

#[test]
fn ensure_builds_then_reuses() {
    let project = project();
    let ensure = || {
        project
            .trtctl()
            .env("TRTCTL_TRT_VERSION", "10.3.0")
            .args([
                "ensure",
                "--onnx",
                "models/arcface_r100.onnx",
                "--precision",
                "fp16",
                "--batch-size",
                "32",
                "--version",
                "v1.0",
                "--gpu-arch",
                "sm_86",
            ])
            .output()
            .unwrap()
    };
    let first = ensure();
    let shown = succeeded(&first);
    let expected = project
        .cache()
        .join("arcface/arcface_r100_v1.0_fp16_sm_86_10.3.0.trt");
    assert_eq!(shown, format!("{}\tbuilt\n", expected.display()));
    assert!(expected.is_file());
    let second = ensure();
    assert_eq!(
        stdout_of(&second),
        format!("{}\tlocal_cache\n", expected.display())
    );
    assert_eq!(project.builds().len(), 1);
}

/// `trtctl ARGS`, building 300 KB engines, with `cache` on a tmpfs of `size` of its own, mounted in a mount namespace of
/// this one command (so nothing outside it sees the mount).
fn on_small_disk(
    project: &Project,
    cache: &std::path::Path,
    size: &str,
    args: &[&str],
) -> std::process::Output {
    std::fs::create_dir_all(cache).unwrap();
    let trtctl = project.trtctl_process();
    let mut cmd = std::process::Command::new("unshare");
    cmd.arg("--mount")
        .args([
            "sh",
            "-c",
            &format!("mount -t tmpfs -o size={size} tmpfs \"$0\" && exec \"$@\""),
        ])
        .arg(cache)
        .arg(trtctl.get_program())
        .args(args)
        .current_dir(project.path());
    for (key, value) in trtctl.get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    // Engines larger than the small disk.
    cmd.env("TENSORRT_CACHE_DIR", cache)
        .env("STUB_ENGINE_BYTES", "300000");
    cmd.output().unwrap()
}

const ARC16_ONLY: [&str; 5] = [
    "apply",
    "--gpu-arch",
    "sm_86",
    "--target",
    "arcface_r100:fp16",
];

#[test]
fn a_full_disk_during_a_build_is_named() {
    let project = project();
    let output = on_small_disk(&project, &project.cache(), "32k", &ARC16_ONLY);
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    let out = stdout_of(&output);
    assert!(
        out.contains(&format!(
            "no space left on the disk holding {}",
            project.cache().join("arcface").display()
        )),
        "{out}"
    );
    assert!(project.cached().is_empty());
}

#[test]
fn a_full_disk_during_a_fetch_is_named_once() {
    let project = project();
    project.write_manifest(&format!("{MANIFEST}\n[remote]\nurl = \"file://remote\"\n"));
    project
        .trtctl()
        .env("STUB_ENGINE_BYTES", "300000")
        .args(ARC16_ONLY)
        .assert()
        .success();
    // A second machine, whose cache sits on a 160 KiB file system: the 300 KB engine cannot land.
    let cache = project.path().join("small-cache");
    let output = on_small_disk(&project, &cache, "160k", &ARC16_ONLY);
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    let out = stdout_of(&output);
    let dir = cache.join("arcface").display().to_string();
    let failed = out
        .lines()
        .find(|l| l.starts_with("failed: fetch"))
        .unwrap();
    assert_eq!(failed.matches(&dir).count(), 1, "{out}");
    assert!(
        failed.contains(&format!("no space left on the disk holding {dir}")),
        "{out}"
    );
}
