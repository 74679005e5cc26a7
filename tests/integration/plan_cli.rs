//! `trtctl plan` driven as a user would: the real binary on temp projects.

use crate::common::manifest::{Manifest, Model};
use crate::common::project::{Project, stderr_of, stdout_of, succeeded};

const TWO_BY_TWO_BY_THREE: &str = r#"
trt_version = "10.3.0"

[remote]
url = "file://remote"

[defaults]
precisions = ["fp16", "fp32"]
archs = ["sm_80", "sm_86", "sm_89"]

[[model]]
name = "arcface_r100"
family = "arcface"
onnx = "models/arcface_r100.onnx"
version = "v1.0"
batch = { min = 1, opt = 8, max = 16 }

[[model]]
name = "scrfd_10g"
onnx = "models/scrfd_10g.onnx"
version = "v2"
"#;

fn two_models() -> Project {
    Project::with_models(&["arcface_r100", "scrfd_10g"], TWO_BY_TWO_BY_THREE)
}

/// [`two_models`], with machine A (sm_86) having built and uploaded its engines.
fn two_models_built_on_sm86() -> Project {
    let project = two_models();
    project
        .trtctl()
        .args(["apply", "--gpu-arch", "sm_86", "--allow-missing"])
        .assert()
        .success();
    project
}

#[test]
fn the_example_manifest_plans_on_a_fresh_machine() {
    let project = Project::new();
    std::fs::create_dir_all(project.path().join("models")).unwrap();
    project.add_model("arcface_r100");
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/engines.toml.example"))
            .unwrap();
    std::fs::write(project.path().join("engines.toml.example"), example).unwrap();
    let output = project
        .trtctl()
        .env_remove("TENSORRT_CACHE_DIR")
        .args(["plan", "-f", "engines.toml.example", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    succeeded(&output);
    insta::assert_snapshot!("example_plan", project.redact(&stdout_of(&output)));
}

#[test]
fn a_partly_cached_world_is_planned_like_terraform() {
    // Machine A (sm_86) builds and uploads its engines; machine B (sm_89) builds arcface's.
    let project = two_models_built_on_sm86();
    let other_cache = project.path().join("cache-b");
    project
        .trtctl()
        .env("TENSORRT_CACHE_DIR", &other_cache)
        .args([
            "apply",
            "--gpu-arch",
            "sm_89",
            "--target",
            "arcface_r100",
            "--allow-missing",
        ])
        .assert()
        .success();
    // Locally lost: one engine; remotely lost: another.
    let cache = project.cache();
    std::fs::remove_file(cache.join("arcface/arcface_r100_v1.0_fp32_sm_86_10.3.0.trt.json"))
        .unwrap();
    std::fs::remove_file(
        project
            .path()
            .join("remote/scrfd/scrfd_10g_v2_fp32_sm_86_10.3.0.trt.json"),
    )
    .unwrap();
    std::fs::remove_file(
        project
            .path()
            .join("remote/scrfd/scrfd_10g_v2_fp32_sm_86_10.3.0.trt"),
    )
    .unwrap();

    let output = project
        .trtctl()
        .args(["plan", "--gpu-arch", "sm_86", "--gpu-arch", "sm_89"])
        .output()
        .unwrap();
    succeeded(&output);
    let text = without_ages(&project.redact(&stdout_of(&output)));
    insta::assert_snapshot!("partly_cached_plan", text);

    let json = project
        .trtctl()
        .args([
            "plan",
            "--json",
            "--gpu-arch",
            "sm_86",
            "--gpu-arch",
            "sm_89",
        ])
        .output()
        .unwrap();
    let plan: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(plan["format_version"], 1);
    assert_eq!(plan["trt_version"], "10.3.0");
    let steps = plan["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 12);
    let actions: Vec<&str> = steps
        .iter()
        .map(|s| s["decision"]["action"].as_str().unwrap())
        .collect();
    let count = |a: &str| actions.iter().filter(|x| **x == a).count();
    assert_eq!(
        (
            count("build"),
            count("fetch"),
            count("upload"),
            count("up_to_date"),
            count("cannot_build")
        ),
        (2, 3, 1, 2, 4),
        "{actions:?}"
    );
    let fetched = steps
        .iter()
        .find(|s| s["key"]["file"] == "arcface_r100_v1.0_fp32_sm_86_10.3.0.trt")
        .unwrap();
    assert_eq!(fetched["decision"]["action"], "fetch");
    assert_eq!(fetched["key"]["family"], "arcface");
    assert_eq!(fetched["fingerprint"].as_str().unwrap().len(), 64);
}

#[test]
fn detailed_exit_codes_say_what_is_pending() {
    let project = two_models();
    let plan = |archs: &[&str]| {
        let mut cmd = project.trtctl();
        cmd.args(["plan", "--detailed-exitcode", "--target", "*:*:sm_86"]);
        for arch in archs {
            cmd.args(["--gpu-arch", arch]);
        }
        cmd.output().unwrap().status.code()
    };
    assert_eq!(
        plan(&["sm_80"]),
        Some(3),
        "nothing can be built: unsatisfiable"
    );
    assert_eq!(plan(&["sm_86"]), Some(2), "changes pending");
    project
        .trtctl()
        .args(["apply", "--gpu-arch", "sm_86", "--target", "*:*:sm_86"])
        .assert()
        .success();
    assert_eq!(plan(&["sm_86"]), Some(0), "nothing to do");
}

#[test]
fn targets_select_engines_and_graph_shows_the_dag() {
    let project = two_models();
    let output = project
        .trtctl()
        .args([
            "plan",
            "--gpu-arch",
            "sm_86",
            "--target",
            "arcface_r100:fp16",
            "--graph",
        ])
        .output()
        .unwrap();
    let dot = stdout_of(&output);
    assert!(dot.starts_with("digraph plan {"), "{dot}");
    assert!(dot.contains("hash arcface_r100.onnx"), "{dot}");
    assert!(
        dot.contains("build arcface_r100_v1.0_fp16_sm_86_10.3.0.trt"),
        "{dot}"
    );
    assert!(
        dot.contains("upload arcface_r100_v1.0_fp16_sm_86_10.3.0.trt"),
        "{dot}"
    );
    assert!(!dot.contains("scrfd"), "{dot}");
    assert!(!dot.contains("fp32"), "{dot}");
}

#[test]
fn bad_manifests_fail_with_file_line_and_fix() {
    let project = two_models();
    project.write_manifest(&TWO_BY_TWO_BY_THREE.replace("precisions = [", "precison = ["));
    let output = project.trtctl().arg("plan").output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = stderr_of(&output);
    assert!(
        err.contains("engines.toml:8:1: unknown field `precison`"),
        "{err}"
    );
    assert!(err.contains("help: did you mean `precisions`?"), "{err}");
    assert!(stdout_of(&output).is_empty());
}

#[test]
fn a_missing_manifest_says_how_to_point_at_one() {
    let project = Project::new();
    let output = project.trtctl().arg("plan").output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = stderr_of(&output);
    assert!(err.contains("cannot read manifest engines.toml"), "{err}");
    assert!(err.contains("-f path/to/engines.toml"), "{err}");
}

#[test]
fn color_follows_the_terminal_and_no_color() {
    let project = two_models();
    let plain = project
        .trtctl()
        .args(["plan", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    assert!(
        !stdout_of(&plain).contains('\x1b'),
        "non-TTY output must not be colored"
    );
    let forced = project
        .trtctl()
        .args(["plan", "--gpu-arch", "sm_86", "--color", "always"])
        .output()
        .unwrap();
    assert!(
        stdout_of(&forced).contains("\x1b[32m+"),
        "{}",
        stdout_of(&forced)
    );
}

#[test]
fn the_second_plan_hashes_nothing() {
    let project = two_models();
    let hashed = || {
        let mut plan = project.trtctl();
        let output = plan
            .args(["plan", "--gpu-arch", "sm_86", "-v"])
            .output()
            .unwrap();
        succeeded(&output);
        let said = stderr_of(&output);
        said.lines()
            .find_map(|line| line.strip_prefix("ONNX files hashed: "))
            .unwrap_or_else(|| panic!("no count of hashed ONNX files: {said}"))
            .to_string()
    };
    assert_eq!(hashed(), "2", "the first plan reads both models");
    assert_eq!(hashed(), "0", "an unchanged ONNX was hashed again");
}

/// The cache never vouches for bytes outside it: an engine or sidecar that is a symlink counts
/// as absent, even when it points at a perfectly good copy.
#[test]
fn symlinked_engines_and_sidecars_in_the_cache_are_not_trusted() {
    let project = Project::with_manifest(
        &Manifest::new("10.3.0").model(Model::arcface(&["fp16", "fp32"], &["sm_86"])),
    );
    project
        .trtctl()
        .args(["apply", "--gpu-arch", "sm_86"])
        .assert()
        .success();
    let outside = tempfile::tempdir().unwrap();
    let family = project.cache().join("arcface");
    for (file, link) in [
        ("arcface_r100_v1.0_fp16_sm_86_10.3.0.trt", "engine"),
        ("arcface_r100_v1.0_fp32_sm_86_10.3.0.trt.json", "sidecar"),
    ] {
        let moved = outside.path().join(link);
        std::fs::rename(family.join(file), &moved).unwrap();
        std::os::unix::fs::symlink(&moved, family.join(file)).unwrap();
    }
    let plan = project
        .trtctl()
        .args(["plan", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    let text = stdout_of(&plan);
    assert!(
        text.contains("Plan: 2 to build"),
        "{text}{}",
        stderr_of(&plan)
    );
}

#[test]
fn a_selector_that_matches_nothing_is_an_error_with_a_hint() {
    let project = two_models();
    for (args, expected) in [
        (
            vec!["plan", "--target", "arcfce_r100"],
            "`arcfce_r100` matches no engine of",
        ),
        (
            vec!["plan", "--target", "arcfce_r100"],
            "did you mean `arcface_r100`?",
        ),
        (
            vec!["plan", "--target", "nosuch"],
            "its models are `arcface_r100`, `scrfd_10g`",
        ),
        (
            vec!["plan", "--target", "scrfd_10g:int8"],
            "check its precision and arch",
        ),
        (
            vec![
                "apply",
                "--gpu-arch",
                "sm_86",
                "--force-rebuild",
                "scrfd_10",
            ],
            "did you mean `scrfd_10g`?",
        ),
    ] {
        let output = project.trtctl().args(&args).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let err = stderr_of(&output);
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(err.contains("engines.toml"), "{args:?}: {err}");
    }
    assert!(project.builds().is_empty());
}

#[test]
fn a_relative_cache_dir_with_an_s3_remote_and_nothing_configured_plans() {
    let project = Project::new();
    let work = project.path().join("w1");
    std::fs::create_dir_all(work.join("models")).unwrap();
    std::fs::copy(
        crate::common::project::TINY_ONNX,
        work.join("models/arcface_r100.onnx"),
    )
    .unwrap();
    let manifest = Manifest::new("10.3.0")
        .raw("[cache]\ndir = \"cache\"\n")
        .remote("s3://bucket/engines")
        .model(Model::named("arcface_r100").archs(&["sm_86"]))
        .text();
    std::fs::write(work.join("engines.toml"), manifest).unwrap();
    // The manifest's relative `[cache] dir`, and the environment's, both run from the parent.
    for env_cache in [None, Some("relcache")] {
        let mut cmd = project.trtctl();
        cmd.env_remove("TENSORRT_CACHE_DIR");
        if let Some(dir) = env_cache {
            cmd.env("TENSORRT_CACHE_DIR", dir);
        }
        let output = cmd
            .args(["plan", "-f", "w1/engines.toml", "--gpu-arch", "sm_86"])
            .output()
            .unwrap();
        succeeded(&output);
        let out = stdout_of(&output);
        // The stand-in sits beside the cache, which is absolute now: `w1/cache` or `relcache`.
        let beside = match env_cache {
            None => work.join("remote/bucket/engines"),
            Some(_) => project.path().join("remote/bucket/engines"),
        };
        assert!(
            out.contains(&format!("remote: file://{}", beside.display())),
            "{env_cache:?}: {out}"
        );
    }
}

#[test]
fn engine_names_are_checked_against_the_file_system_limit_at_load() {
    // name + `_v1_fp16_sm_86_10.3.0.trt` (25 bytes) is the engine's file name; the names
    // derived from it add up to 25 more, and 255 is the limit: 205 fits, 206 does not.
    for (name_len, fits) in [(205, true), (206, false)] {
        let name = "a".repeat(name_len);
        let project = Project::with_models(
            &["m"],
            &Manifest::new("10.3.0")
                .remote("file://remote")
                .model(Model::named(&name).onnx("models/m.onnx").archs(&["sm_86"]))
                .text(),
        );
        let output = project
            .trtctl()
            .args(["apply", "--gpu-arch", "sm_86"])
            .output()
            .unwrap();
        if fits {
            succeeded(&output);
            assert_eq!(project.builds().len(), 1);
        } else {
            assert_eq!(output.status.code(), Some(1));
            let err = stderr_of(&output);
            assert!(err.contains("engines.toml:5:"), "{err}");
            assert!(err.contains("reach 231 bytes"), "{err}");
            assert!(
                err.contains("shorten the model name to at most 205 characters"),
                "{err}"
            );
            assert!(project.builds().is_empty());
        }
    }
}

/// Rewrites the sidecar at `path` with `change` applied to its JSON.
fn tamper(path: &std::path::Path, change: impl FnOnce(&mut serde_json::Value)) {
    let mut sidecar: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    change(&mut sidecar);
    std::fs::write(path, serde_json::to_vec_pretty(&sidecar).unwrap()).unwrap();
}

#[test]
fn a_sidecar_whose_fingerprint_is_not_its_build_inputs_is_unusable_here_and_remote() {
    let project = two_models_built_on_sm86();
    const ARC16: &str = "arcface/arcface_r100_v1.0_fp16_sm_86_10.3.0.trt";
    const SCR16: &str = "scrfd/scrfd_10g_v2_fp16_sm_86_10.3.0.trt";
    // Remote: build inputs edited under the wanted fingerprint; the local copy is gone.
    tamper(&project.path().join(format!("remote/{ARC16}.json")), |s| {
        s["build"]["flags"]["workspace_mib"] = 1.into();
    });
    std::fs::remove_file(project.cache().join(ARC16)).unwrap();
    std::fs::remove_file(project.cache().join(format!("{ARC16}.json"))).unwrap();
    // Local: a fingerprint that no build inputs hash to, the build inputs wanted.
    tamper(&project.cache().join(format!("{SCR16}.json")), |s| {
        s["fingerprint"] = "0".repeat(64).into();
    });

    let output = project
        .trtctl()
        .args(["plan", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    let text = stdout_of(&output);
    succeeded(&output);
    let line = |file: &str| {
        let file = file.split('/').nth(1).unwrap();
        text.lines().find(|l| l.contains(file)).unwrap().to_string()
    };
    let unusable = "sidecar unusable: sidecar's fingerprint does not match its own build inputs";
    let remote = line(ARC16);
    assert!(
        remote.contains("+ build") && remote.contains(unusable) && !remote.contains("fetch"),
        "{text}"
    );
    let local = line(SCR16);
    assert!(
        local.contains("↓ fetch") && local.contains(unusable) && !local.contains("flags"),
        "{text}"
    );
    // Apply does what the plan says: it builds the one and fetches the other.
    project
        .trtctl()
        .args(["apply", "--gpu-arch", "sm_86", "--allow-missing"])
        .assert()
        .success();
}

/// The shared timing caches line says when each cache was written: never the same on two runs.
fn without_ages(text: &str) -> String {
    let words: Vec<String> = text
        .split(' ')
        .map(|word| {
            let age = word
                .strip_suffix(['s', 'm', 'h', 'd'])
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if age {
                "[AGE]".to_string()
            } else {
                word.to_string()
            }
        })
        .collect();
    words.join(" ")
}
