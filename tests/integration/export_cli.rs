//! `trtctl export triton`: the repository's config.pbtxt is parsed by a real protobuf
//! text-format parser against (a subset of) Triton's model_config.proto, unknown fields
//! rejected.

use std::path::Path;

use protobuf::MessageDyn;
use protobuf::reflect::{FileDescriptor, MessageDescriptor, ReflectValueRef};

use crate::common::backend::Backend;
use crate::common::deploy::{FP16_SM86, Stage};
use crate::common::manifest::{Manifest, Model};
use crate::common::project::{Project, stderr_of, succeeded};

const FP16_SM89: &str = "arcface/arcface_r100_v1.0_fp16_sm_89_10.3.0.trt";
const PROTO_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/triton");

fn model_config() -> MessageDescriptor {
    let set = protobuf_parse::Parser::new()
        .pure()
        .include(PROTO_DIR)
        .input(Path::new(PROTO_DIR).join("model_config.proto"))
        .file_descriptor_set()
        .unwrap();
    let file = FileDescriptor::new_dynamic(set.file.into_iter().next().unwrap(), &[]).unwrap();
    file.message_by_package_relative_name("ModelConfig")
        .unwrap()
}

fn parse(text: &str) -> Result<Box<dyn MessageDyn>, protobuf::text_format::ParseError> {
    let mut message = model_config().new_instance();
    protobuf::text_format::merge_from_str(&mut *message, text)?;
    Ok(message)
}

fn field<'a>(message: &'a dyn MessageDyn, name: &str) -> ReflectValueRef<'a> {
    let descriptor = message.descriptor_dyn();
    descriptor
        .field_by_name(name)
        .unwrap()
        .get_singular_field_or_default(message)
}

// protobuf's Rust text-format parser takes neither `[ ... ]` lists nor `,` between fields
// (C++'s does, and Triton's examples use both), so this config repeats fields instead; the
// pbtxt splitter's unit tests cover the list form.
const USER_CONFIG: &str = r#"name: "old-name"
platform: "onnxruntime_onnx"
max_batch_size: 4
default_model_filename: "model.plan"
# two instances per GPU
instance_group { count: 2 kind: KIND_GPU }
dynamic_batching {
  preferred_batch_size: 4
  preferred_batch_size: 8
  max_queue_delay_microseconds: 100
}
parameters { key: "owner" value { string_value: "vision-team" } }
"#;

#[test]
fn the_vendored_schema_rejects_unknown_fields() {
    assert!(parse("max_batch_size: 4\n").is_ok());
    assert!(parse("max_batch_size: 4\nmax_batch: 4\n").is_err());
    assert!(parse(USER_CONFIG).is_ok());
}

/// A host that fetched every arch the lock pins.
fn fetched_host() -> Stage {
    let stage = Stage::new(Backend::dir());
    stage.build_and_lock();
    stage
        .host()
        .args(["fetch", "--gpu-arch", "sm_86,sm_89"])
        .assert()
        .success();
    stage
}

#[test]
fn export_triton_writes_a_repository_triton_parses_and_keeps_user_fields() {
    let stage = fetched_host();
    let repo = stage.host.path().join("models-repo");
    let config_path = repo.join("arcface_r100/config.pbtxt");
    std::fs::create_dir_all(config_path.parent().unwrap()).unwrap();
    std::fs::write(&config_path, USER_CONFIG).unwrap();

    let out = stage
        .host()
        .args(["export", "triton", "--repo"])
        .arg(&repo)
        .args(["--target", "*:fp16", "--repo-version", "3"])
        .output()
        .unwrap();
    succeeded(&out);
    let version_dir = repo.join("arcface_r100/3");
    assert_eq!(
        std::fs::read(version_dir.join("model_sm_86.plan")).unwrap(),
        stage.ci_engine(FP16_SM86)
    );
    assert_eq!(
        std::fs::read(version_dir.join("model_sm_89.plan")).unwrap(),
        stage.ci_engine(FP16_SM89)
    );
    assert!(!version_dir.join("model.plan").exists());

    let text = std::fs::read_to_string(&config_path).unwrap();
    let config = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(
        field(&*config, "name"),
        ReflectValueRef::String("arcface_r100")
    );
    assert_eq!(
        field(&*config, "platform"),
        ReflectValueRef::String("tensorrt_plan")
    );
    assert_eq!(field(&*config, "max_batch_size"), ReflectValueRef::I32(16));
    assert_eq!(
        field(&*config, "default_model_filename"),
        ReflectValueRef::String("")
    );
    let descriptor = config.descriptor_dyn();
    let cc = descriptor.field_by_name("cc_model_filenames").unwrap();
    let mut files: Vec<(String, String)> = cc
        .get_map(&*config)
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            ("8.6".to_string(), "model_sm_86.plan".to_string()),
            ("8.9".to_string(), "model_sm_89.plan".to_string())
        ]
    );
    // The user's fields survive, comment included.
    let groups = descriptor.field_by_name("instance_group").unwrap();
    assert_eq!(groups.get_repeated(&*config).len(), 1);
    let batching = descriptor.field_by_name("dynamic_batching").unwrap();
    assert!(batching.has_field(&*config));
    assert!(text.contains("# two instances per GPU"), "{text}");
    assert!(text.contains("string_value: \"vision-team\""), "{text}");

    // Exporting again changes nothing.
    stage
        .host()
        .args(["export", "triton", "--repo"])
        .arg(&repo)
        .args(["--target", "*:fp16", "--repo-version", "3"])
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&config_path).unwrap(), text);
}

#[test]
fn two_engines_for_one_arch_are_refused_and_nothing_is_written() {
    let stage = Stage::new(Backend::dir());
    stage.build_and_lock();
    stage
        .host()
        .args(["fetch", "--gpu-arch", "sm_86"])
        .assert()
        .success();
    let repo = stage.host.path().join("models-repo");
    let out = stage
        .host()
        .args(["export", "triton", "--gpu-arch", "sm_86", "--repo"])
        .arg(&repo)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(
        err.contains("Triton model `arcface_r100` would get two engines for sm_86"),
        "{err}"
    );
    assert!(err.contains("--target arcface_r100:fp"), "{err}");
    assert!(!repo.exists());

    let out = stage
        .host()
        .args([
            "export",
            "triton",
            "--gpu-arch",
            "sm_89",
            "--target",
            "*:fp16",
            "--repo",
        ])
        .arg(&repo)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out)
            .contains("is not in the local cache as pinned; run `trtctl fetch --lock` first"),
        "{}",
        stderr_of(&out)
    );
}

/// The host's export of both archs' fp16 engines to version 1 of `repo`.
fn export(stage: &Stage, repo: &Path) -> std::process::Output {
    let out = stage
        .host()
        .args(["export", "triton", "--target", "*:fp16", "--repo"])
        .arg(repo)
        .output()
        .unwrap();
    succeeded(&out);
    out
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn exporting_again_leaves_no_temp_file_behind() {
    let stage = fetched_host();
    let repo = stage.host.path().join("models-repo");
    export(&stage, &repo);
    export(&stage, &repo);
    assert_eq!(
        names_in(&repo.join("arcface_r100/1")),
        ["model_sm_86.plan", "model_sm_89.plan"]
    );
}

#[test]
fn an_existing_model_plan_is_removed_so_triton_cannot_fall_back_to_it() {
    let stage = fetched_host();
    let repo = stage.host.path().join("models-repo");
    let version_dir = repo.join("arcface_r100/1");
    std::fs::create_dir_all(&version_dir).unwrap();
    std::fs::write(version_dir.join("model.plan"), b"an engine of another arch").unwrap();
    let out = export(&stage, &repo);
    assert!(
        stderr_of(&out)
            .contains("model.plan: Triton would load it on a GPU whose arch has no engine here"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(
        names_in(&version_dir),
        ["model_sm_86.plan", "model_sm_89.plan"]
    );
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn new_engines_and_exported_files_follow_the_umask_and_replaced_ones_keep_their_mode() {
    let project = Project::with_manifest(
        &Manifest::new("10.3.0").model(Model::arcface(&["fp16"], &["sm_86"]).batch(1, 8, 16)),
    );
    let run = |umask: u32, args: &[&str]| {
        succeeded(
            &project
                .trtctl_under_umask(umask)
                .args(args)
                .output()
                .unwrap(),
        );
    };
    let repo = project.path().join("models-repo");
    let repo_arg = repo.to_str().unwrap();
    let engine = project.cache().join(FP16_SM86);
    let plan = repo.join("arcface_r100/1/model_sm_86.plan");
    let config = repo.join("arcface_r100/config.pbtxt");

    run(0o027, &["apply", "--gpu-arch", "sm_86"]);
    run(0o027, &["export", "triton", "--repo", repo_arg]);
    assert_eq!(mode(&engine), 0o640, "a new engine follows the umask");
    assert_eq!(
        mode(&project.cache().join(format!("{FP16_SM86}.json"))),
        0o640
    );
    assert_eq!(mode(&plan), 0o640, "so does the plan exported from it");
    assert_eq!(mode(&config), 0o640, "and a new config.pbtxt");

    // Given other modes (Triton runs as another uid), rewrites keep them.
    chmod(&engine, 0o644);
    chmod(&config, 0o604);
    run(0o077, &["apply", "--gpu-arch", "sm_86", "--force-rebuild"]);
    assert_eq!(mode(&engine), 0o644, "a rebuilt engine keeps the mode");
    chmod(&plan, 0o664);
    run(0o077, &["export", "triton", "--repo", repo_arg]);
    assert_eq!(
        std::fs::read(&plan).unwrap(),
        std::fs::read(&engine).unwrap()
    );
    assert_eq!(mode(&plan), 0o664, "a replaced plan keeps its mode");
    assert_eq!(mode(&config), 0o604, "a rewritten config keeps its mode");
}

#[test]
fn a_version_directory_triton_would_skip_is_refused_before_anything_is_written() {
    let stage = fetched_host();
    let repo = stage.host.path().join("models-repo");
    for version in ["0", "007", "00"] {
        let out = stage
            .host()
            .args(["export", "triton", "--repo"])
            .arg(&repo)
            .args(["--target", "*:fp16", "--repo-version", version])
            .output()
            .unwrap();
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "{version}: {err}");
        assert!(
            err.contains(&format!("`{version}` is not a Triton version directory"))
                && err.contains("without leading zeros"),
            "{version}: {err}"
        );
        assert!(!repo.exists(), "{version}: nothing is exported");
    }
    export(&stage, &repo);
    assert!(repo.join("arcface_r100/1/model_sm_86.plan").exists());
}
