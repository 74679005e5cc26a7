//! `trtctl ensure`: the seed's one-engine call from the command line — its default remote, the
//! expert flags, and several processes asking for one engine at once.

use std::process::Output;

use crate::common::project::{Project, stderr_of, stdout_of};
use crate::common::s3::S3Server;

const ENGINE: &str = "arcface/arcface_r100_v1.0_fp16_sm_86_10.3.0.trt";

fn project() -> Project {
    let project = Project::new();
    project.add_model("arcface_r100");
    project
}

fn ensure(project: &Project, extra: &[&str], env: &[(&str, String)]) -> Output {
    let mut cmd = project.trtctl_process();
    cmd.env("TRTCTL_TRT_VERSION", "10.3.0").args([
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
    ]);
    cmd.args(extra).envs(env.iter().map(|(k, v)| (*k, v)));
    cmd.output().unwrap()
}

fn source_of(output: &Output) -> String {
    assert!(output.status.success(), "{}", stderr_of(output));
    let stdout = stdout_of(output);
    let (_, source) = stdout.trim_end().split_once('\t').expect("path<TAB>source");
    source.to_string()
}

#[test]
fn trtctl_remote_is_the_default_remote_and_no_remote_turns_it_off() {
    let project = project();
    let shared = project.path().join("shared");
    let remote = [("TRTCTL_REMOTE", format!("file://{}", shared.display()))];
    assert_eq!(source_of(&ensure(&project, &[], &remote)), "built");
    assert!(shared.join(ENGINE).is_file(), "uploaded to TRTCTL_REMOTE");

    let elsewhere = |dir: &str| {
        (
            "TENSORRT_CACHE_DIR",
            project.path().join(dir).display().to_string(),
        )
    };
    let fetched = ensure(&project, &[], &[remote[0].clone(), elsewhere("cache2")]);
    assert_eq!(source_of(&fetched), "remote");
    let offline = ensure(
        &project,
        &["--no-remote"],
        &[remote[0].clone(), elsewhere("cache3")],
    );
    assert_eq!(source_of(&offline), "built");
    assert_eq!(project.builds().len(), 2);
}

#[test]
fn the_seeds_bucket_at_artifacts_endpoint_is_the_default_remote() {
    let server = S3Server::start("AKIDENSURE", "ensure-secret", "screenalytics-artifacts");
    let project = project();
    let env = server.env_vars();
    assert_eq!(source_of(&ensure(&project, &[], &env)), "built");
    assert!(server.object_path(&format!("engines/{ENGINE}")).is_file());
    assert!(
        server
            .object_path(&format!("engines/{ENGINE}.json"))
            .is_file()
    );
    let no_endpoint = ensure(&project, &["--force-rebuild"], &[]);
    assert_eq!(
        source_of(&no_endpoint),
        "built",
        "no remote without an endpoint"
    );
}

#[test]
fn force_rebuild_builds_again_and_no_upload_publishes_nothing() {
    let project = project();
    let shared = project.path().join("shared");
    let remote = [
        "--remote".to_string(),
        format!("file://{}", shared.display()),
    ];
    let remote: Vec<&str> = remote.iter().map(String::as_str).collect();
    let no_upload = [remote.clone(), vec!["--no-upload"]].concat();
    assert_eq!(source_of(&ensure(&project, &no_upload, &[])), "built");
    assert!(!shared.join(ENGINE).exists());
    assert_eq!(source_of(&ensure(&project, &remote, &[])), "local_cache");
    let forced = [remote.clone(), vec!["--force-rebuild"]].concat();
    assert_eq!(source_of(&ensure(&project, &forced, &[])), "built");
    assert!(shared.join(ENGINE).is_file());
    assert_eq!(project.builds().len(), 2);
}

#[test]
fn of_two_processes_asking_at_once_only_the_builder_says_built() {
    let project = project();
    let spawn = || {
        let mut cmd = project.trtctl_process();
        cmd.env("TRTCTL_TRT_VERSION", "10.3.0")
            .env("STUB_SLEEP", "1")
            .args([
                "ensure",
                "--onnx",
                "models/arcface_r100.onnx",
                "--precision",
                "fp16",
            ])
            .args([
                "--batch-size",
                "32",
                "--version",
                "v1.0",
                "--gpu-arch",
                "sm_86",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd.spawn().unwrap()
    };
    let children = [spawn(), spawn()];
    let mut sources: Vec<String> = children
        .into_iter()
        .map(|child| source_of(&child.wait_with_output().unwrap()))
        .collect();
    sources.sort();
    assert_eq!(sources, ["built", "local_cache"]);
    assert_eq!(project.builds().len(), 1);
}

#[test]
fn a_timeout_gives_up_cleanly() {
    let project = project();
    let out = ensure(
        &project,
        &["--timeout", "0.5"],
        &[("STUB_SLEEP", "30".into())],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out)
            .contains("gave up after 0.5s (the timeout); nothing half-written was committed"),
        "{}",
        stderr_of(&out)
    );
    assert!(project.cached().is_empty());
}

#[test]
fn a_gpu_index_that_is_not_there_is_refused_with_the_ones_that_are() {
    let project = project();
    let out = ensure(&project, &["--gpu", "2"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr_of(&out),
        "error: no GPU with index 2; this machine has 0 (simulated sm_86, sm_86)\n"
    );
}
