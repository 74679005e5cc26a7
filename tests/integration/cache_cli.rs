//! `trtctl cache ls | clean | verify`, `trtctl gpus`, completions, the man page and help,
//! through the real binary on temp caches.

use std::time::{Duration, SystemTime};

use crate::common::manifest::{Manifest, Model};
use crate::common::project::{
    Project, TWO_MODELS_SM86 as MANIFEST, stderr_of, stdout_of, succeeded,
};

const ARC16: &str = "arcface/arcface_r100_v1.0_fp16_sm_86_10.3.0.trt";
const ARC32: &str = "arcface/arcface_r100_v1.0_fp32_sm_86_10.3.0.trt";
const SCR16: &str = "scrfd/scrfd_10g_v2_fp16_sm_86_10.3.0.trt";
const SCR32: &str = "scrfd/scrfd_10g_v2_fp32_sm_86_10.3.0.trt";

/// A cache holding the four engines of MANIFEST.
fn built() -> Project {
    let project = Project::with_models(&["arcface_r100", "scrfd_10g"], MANIFEST);
    project
        .trtctl()
        .args(["apply", "--gpu-arch", "sm_86"])
        .assert()
        .success();
    assert_eq!(project.cached(), [ARC16, ARC32, SCR16, SCR32]);
    project
}

/// Marks an engine as last used `days_ago`.
fn used(project: &Project, engine: &str, days_ago: u64) {
    let when = SystemTime::now() - Duration::from_secs(days_ago * 86_400);
    let file = std::fs::File::options()
        .write(true)
        .open(project.cache().join(engine))
        .unwrap();
    file.set_times(
        std::fs::FileTimes::new()
            .set_accessed(when)
            .set_modified(when),
    )
    .unwrap();
}

#[test]
fn ls_lists_filters_and_totals() {
    let project = built();
    let output = project.trtctl().args(["cache", "ls"]).output().unwrap();
    let out = stdout_of(&output);
    assert!(out.starts_with("MODEL "), "{out}");
    assert!(
        out.contains("arcface_r100  v1.0     fp16       sm_86  10.3.0"),
        "{out}"
    );
    let verified = out.lines().filter(|row| row.ends_with(" verified")).count();
    assert_eq!(verified, 4, "{out}");
    assert!(
        out.lines().last().unwrap().starts_with("4 engines, "),
        "{out}"
    );

    let json = project
        .trtctl()
        .args(["cache", "ls", "--json", "--target", "scrfd_10g:fp32"])
        .output()
        .unwrap();
    let listing: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(listing["count"], 1);
    assert_eq!(
        listing["engines"][0]["key"]["file"],
        "scrfd_10g_v2_fp32_sm_86_10.3.0.trt"
    );
    assert_eq!(listing["engines"][0]["state"]["status"], "verified");
    assert!(listing["total_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn clean_removes_what_the_manifest_dropped_and_leftovers() {
    let project = built();
    std::fs::write(
        project
            .cache()
            .join("arcface/.tmp-arcface_r100_v1.0_fp16_sm_86_10.3.0.trt.abc123"),
        b"half",
    )
    .unwrap();
    std::fs::remove_file(project.cache().join(format!("{SCR32}.json"))).unwrap();
    // Not trtctl's: a cache dir shared with other tools keeps their files.
    std::fs::create_dir_all(project.cache().join("fontconfig")).unwrap();
    std::fs::write(project.cache().join("fontconfig/cache-7"), b"theirs").unwrap();
    // The manifest drops scrfd_10g.
    let without_scrfd = MANIFEST
        .split("[[model]]\nname = \"scrfd_10g\"")
        .next()
        .unwrap();
    project.write_manifest(without_scrfd);
    let dry = project
        .trtctl()
        .args(["cache", "clean", "--dry-run"])
        .output()
        .unwrap();
    succeeded(&dry);
    let out = stdout_of(&dry);
    assert!(out.contains(&format!("would remove {SCR16}")), "{out}");
    assert!(out.contains("no longer in the manifest"), "{out}");
    assert!(out.contains(".tmp-arcface_r100"), "{out}");
    assert_eq!(
        project.cached(),
        [ARC16, ARC32, SCR16],
        "a dry run removed something"
    );

    project.trtctl().args(["cache", "clean"]).assert().success();
    assert_eq!(project.cached(), [ARC16, ARC32]);
    assert!(
        !project.cache().join(SCR32).exists(),
        "an engine without sidecar survived"
    );
    assert!(
        project.cache().join("fontconfig/cache-7").exists(),
        "clean removed a foreign file"
    );
    let families: Vec<_> = std::fs::read_dir(project.cache().join("arcface"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(families.len(), 4, "{families:?}");
}

#[test]
fn clean_keeps_an_engine_whose_lock_another_process_holds() {
    let project = built();
    let cache = trtctl::store::Cache::new(project.cache());
    let (key, _) = trtctl::identity::EngineKey::parse(ARC16).unwrap();
    let _held = cache.lock(&key).unwrap();
    let output = project
        .trtctl()
        .args(["cache", "clean", "--all"])
        .output()
        .unwrap();
    succeeded(&output);
    assert!(
        stdout_of(&output).contains(&format!("kept {ARC16}: another trtctl holds its lock")),
        "{}",
        stdout_of(&output)
    );
    assert_eq!(project.cached(), [ARC16]);
}

#[test]
fn max_size_evicts_the_least_recently_used_first() {
    let project = built();
    used(&project, ARC16, 1);
    used(&project, ARC32, 4);
    used(&project, SCR16, 2);
    used(&project, SCR32, 3);
    let size = std::fs::metadata(project.cache().join(ARC16))
        .unwrap()
        .len();
    project
        .trtctl()
        .args([
            "cache",
            "clean",
            "--max-size",
            &format!("{}", size * 2 + size / 2),
        ])
        .assert()
        .success();
    assert_eq!(project.cached(), [ARC16, SCR16]);
}

#[test]
fn older_than_removes_engines_unused_for_that_long() {
    let project = built();
    used(&project, ARC32, 40);
    used(&project, SCR32, 31);
    project
        .trtctl()
        .args(["cache", "clean", "--older-than", "30d"])
        .assert()
        .success();
    assert_eq!(project.cached(), [ARC16, SCR16]);
    let bad = project
        .trtctl()
        .args(["cache", "clean", "--older-than", "30 days"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(
        stderr_of(&bad).lines().next(),
        Some(
            "error: invalid value '30 days' for '--older-than <AGE>': `30 days`: use a unit of s, m, h, d or w (e.g. `30d`)"
        ),
        "{}",
        stderr_of(&bad)
    );
}

#[test]
fn verify_leaves_the_lru_order_alone() {
    let project = built();
    used(&project, ARC32, 40);
    project
        .trtctl()
        .args(["cache", "verify"])
        .assert()
        .success();
    let listed = project
        .trtctl()
        .args(["cache", "clean", "--older-than", "20d", "--dry-run"])
        .output()
        .unwrap();
    assert!(
        stdout_of(&listed).contains("arcface_r100_v1.0_fp32_sm_86"),
        "verify read the engine and made it look used today: {}",
        stdout_of(&listed)
    );
}

#[test]
fn verify_finds_a_flipped_byte_and_fix_removes_it() {
    let project = built();
    let path = project.cache().join(SCR16);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[100] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    let output = project.trtctl().args(["cache", "verify"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let out = stdout_of(&output);
    assert!(out.contains(&format!("corrupt: {SCR16}: sha256 ")), "{out}");
    assert!(out.contains("4 engines checked, 1 corrupt."), "{out}");
    assert_eq!(
        project.cached().len(),
        4,
        "verify without --fix removed something"
    );
    project
        .trtctl()
        .args(["cache", "verify", "--fix"])
        .assert()
        .code(1);
    assert_eq!(project.cached(), [ARC16, ARC32, SCR32]);
    project
        .trtctl()
        .args(["cache", "verify"])
        .assert()
        .success();
    // The next apply rebuilds exactly the removed engine.
    project.clear_builds();
    project
        .trtctl()
        .args(["apply", "--gpu-arch", "sm_86"])
        .assert()
        .success();
    assert_eq!(project.builds().len(), 1);
}

#[test]
fn clean_refuses_the_root_and_home() {
    let project = Project::new();
    for dir in [
        "/".to_string(),
        project.path().join("home").display().to_string(),
    ] {
        let output = project
            .trtctl()
            .env("TENSORRT_CACHE_DIR", &dir)
            .args(["cache", "clean", "--all"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{dir}");
        assert!(
            stderr_of(&output).contains("refusing to clean"),
            "{}",
            stderr_of(&output)
        );
    }
    assert!(project.path().join("home").exists());
}

#[test]
fn gpus_without_a_gpu_says_so_and_succeeds() {
    let project = built();
    let output = project.trtctl().arg("gpus").output().unwrap();
    succeeded(&output);
    let out = stdout_of(&output);
    assert!(out.contains("GPUs: none"), "{out}");
    assert!(out.contains("TensorRT: 10.3.0"), "{out}");
    assert!(
        out.contains("trtexec: ") && out.contains("(TensorRT 10.3.0)"),
        "{out}"
    );
    assert!(out.contains("(4 engines, "), "{out}");
    let json = project
        .trtctl()
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    let doctor: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doctor["gpus"]["gpus"], serde_json::json!([]));
    assert_eq!(doctor["gpus"]["source"]["kind"], "unavailable");
    let simulated = project
        .trtctl()
        .args(["gpus", "--gpu-arch", "sm_89"])
        .output()
        .unwrap();
    assert!(
        stdout_of(&simulated).contains("sm_89 (RTX 4090/4080, L4, L40)"),
        "{}",
        stdout_of(&simulated)
    );
}

#[test]
fn a_model_name_starting_with_an_underscore_is_its_own_family() {
    let project = Project::with_manifest(
        &Manifest::new("10.3.0").model(
            Model::named("_probe")
                .precisions(&["fp16"])
                .archs(&["sm_86"]),
        ),
    );
    let key = "_probe/_probe_v1_fp16_sm_86_10.3.0.trt";
    project
        .trtctl()
        .args(["apply", "--gpu-arch", "sm_86"])
        .assert()
        .success();
    assert!(
        project.cache().join(key).is_file(),
        "not under its family: {:?}",
        crate::common::files_under(&project.cache())
    );
    let ls = project
        .trtctl()
        .args(["cache", "ls", "--json"])
        .output()
        .unwrap();
    let listing: serde_json::Value = serde_json::from_slice(&ls.stdout).unwrap();
    assert_eq!(listing["count"], 1, "{listing}");
    assert_eq!(listing["engines"][0]["key"]["family"], "_probe");
    let lock = std::fs::read_to_string(project.path().join("engines.lock")).unwrap();
    assert!(lock.contains(&format!("key = \"{key}\"")), "{lock}");
}

/// `trtctl ensure` of the tiny model with `TENSORRT_CACHE_DIR` set to `cache_dir`.
fn ensure_into(project: &Project, cache_dir: &str) -> std::process::Output {
    let mut ensure = project.ensure("models/arcface_r100.onnx");
    ensure.env("TENSORRT_CACHE_DIR", cache_dir);
    ensure.args(["--version", "v1"]).output().unwrap()
}

#[test]
fn a_cache_dir_under_tilde_is_in_home_and_the_root_or_home_is_refused() {
    let project = Project::new();
    project.add_model("arcface_r100");
    let home = project.path().join("home");
    let key = "arcface/arcface_r100_v1_fp16_sm_86_10.3.0.trt";

    let out = ensure_into(&project, "~/tc");
    succeeded(&out);
    assert!(home.join("tc").join(key).is_file(), "{}", stdout_of(&out));
    assert!(!project.path().join("~").exists(), "a directory named `~`");

    // ensure would write its engine into HOME itself; `cache ls` would list `/` as a cache.
    // (No test ever writes into `/`, even against a trtctl that would.)
    let refusals = [
        (ensure_into(&project, "~"), "the home directory"),
        (
            project
                .trtctl()
                .env("TENSORRT_CACHE_DIR", "/")
                .args(["cache", "ls"])
                .output()
                .unwrap(),
            "the filesystem root",
        ),
    ];
    for (out, what) in refusals {
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "{what}: {err}");
        assert!(
            err.contains(&format!("is {what}, not a directory of its own"))
                && err.contains("TENSORRT_CACHE_DIR"),
            "{what}: {err}"
        );
    }
    assert!(!home.join("arcface").exists(), "nothing written into HOME");
}

fn committed(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|_| panic!("{path} is missing: regenerate it (see docs/README)"))
}

#[test]
fn completions_man_page_and_schema_are_current() {
    let project = Project::new();
    for (shell, file) in [
        ("bash", "completions/trtctl.bash"),
        ("zsh", "completions/_trtctl"),
        ("fish", "completions/trtctl.fish"),
        ("powershell", "completions/_trtctl.ps1"),
        ("elvish", "completions/trtctl.elv"),
    ] {
        let output = project
            .trtctl()
            .args(["completions", shell])
            .output()
            .unwrap();
        succeeded(&output);
        assert!(
            stdout_of(&output) == committed(file),
            "{file} is out of date with the CLI: run `cargo run -q -- completions {shell} > {file}`"
        );
    }
    let schema = project.trtctl().arg("schema").output().unwrap();
    assert!(
        stdout_of(&schema) == committed("docs/engines.schema.json"),
        "docs/engines.schema.json is out of date: run `cargo run -q -- schema > docs/engines.schema.json`"
    );
    let man = project.trtctl().arg("man").output().unwrap();
    assert!(
        stdout_of(&man) == committed("docs/man/trtctl.1"),
        "docs/man/trtctl.1 is out of date: run `cargo run -q -- man > docs/man/trtctl.1`"
    );
}

#[test]
fn every_flag_is_explained_and_every_command_has_examples() {
    let project = Project::new();
    for command in [
        vec![],
        vec!["plan"],
        vec!["apply"],
        vec!["ensure"],
        vec!["cache"],
        vec!["cache", "ls"],
        vec!["cache", "clean"],
        vec!["cache", "verify"],
        vec!["gpus"],
        vec!["completions"],
        vec!["schema"],
    ] {
        let mut args = command.clone();
        args.push("-h");
        let output = project.trtctl().args(&args).output().unwrap();
        let help = stdout_of(&output);
        assert!(output.status.success(), "{command:?}");
        let options = help.split("Examples:").next().unwrap();
        for line in options.lines().filter(|l| l.trim_start().starts_with('-')) {
            let flag_and_text: Vec<&str> = line.trim().splitn(2, "  ").collect();
            assert!(
                flag_and_text.len() == 2 && !flag_and_text[1].trim().is_empty(),
                "`trtctl {}` does not explain `{}`",
                command.join(" "),
                line.trim()
            );
        }
        if !command.is_empty() && command != ["cache"] {
            assert!(
                help.contains("Examples:"),
                "`trtctl {} -h` has no examples",
                command.join(" ")
            );
        }
    }
}
