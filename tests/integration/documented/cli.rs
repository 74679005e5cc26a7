//! Documented commands and flags: help, color, dry runs, exit codes, ensure, keys, fetch and
//! export.

use std::collections::BTreeMap;
use std::path::Path;

use super::{FP32_SM86, arcface, generate, ok};
use crate::common::backend::Backend;
use crate::common::deploy::{FP16_SM86, Stage, edit};
use crate::common::files_under;
use crate::common::fleet::Fleet;
use crate::common::project::{Project, stderr_of, stdout_of, succeeded};

/// Applies the manifest's fp16 engine alone.
fn apply_fp16(project: &Project) {
    let args = [
        "apply",
        "--gpu-arch",
        "sm_86",
        "--target",
        "arcface_r100:fp16",
    ];
    ok(project.trtctl(), &args);
}

/// Every file under `dir` with its bytes, by path; but not the memos of hashes and listings
/// that `plan` keeps (dot files).
fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    files_under(dir)
        .into_iter()
        .filter(|file| {
            !file
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .starts_with('.')
        })
        .map(|file| (file.display().to_string(), std::fs::read(&file).unwrap()))
        .collect()
}

/// The `&&&& RUNNING` line of each trtexec log in the cache: the argv trtctl gave it.
fn trtexec_argv(project: &Project) -> Vec<String> {
    files_under(&project.cache().join("logs"))
        .iter()
        .filter_map(|log| {
            let text = std::fs::read_to_string(log).unwrap();
            text.lines()
                .find(|l| l.starts_with("&&&& RUNNING"))
                .map(str::to_string)
        })
        .collect()
}

// --- help -----------------------------------------------------------------------------------

/// The subcommands a `--help` lists, with the start of each one's description.
fn listed_commands(help: &str) -> Vec<(String, String)> {
    help.lines()
        .skip_while(|line| *line != "Commands:")
        .skip(1)
        .take_while(|line| !line.is_empty())
        .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
        .map(|line| {
            let (name, about) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
            (name.to_string(), about.trim().to_string())
        })
        .filter(|(name, _)| name != "help")
        .collect()
}

#[test]
fn every_command_has_help_that_describes_it() {
    let project = Project::new();
    let help = |path: &[String]| {
        let out = project.trtctl().args(path).arg("--help").output().unwrap();
        succeeded(&out)
    };
    let mut walked = Vec::new();
    let mut pending: Vec<(Vec<String>, String)> = vec![(Vec::new(), String::new())];
    while let Some((path, listed_about)) = pending.pop() {
        let text = help(&path);
        let about = text.lines().next().unwrap_or_default();
        assert!(
            !about.is_empty() && !about.starts_with("Usage:"),
            "`trtctl {} --help` does not describe the command:\n{text}",
            path.join(" ")
        );
        let words: String = listed_about.chars().take(24).collect();
        assert!(
            about.starts_with(words.trim_end()),
            "`trtctl {}`: listed as {listed_about:?}, its help says {about:?}",
            path.join(" ")
        );
        let usage = format!(
            "Usage: {}",
            ["trtctl"]
                .iter()
                .copied()
                .chain(path.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert!(text.contains(&usage), "{text}");
        for (name, about) in listed_commands(&text) {
            let mut sub = path.clone();
            sub.push(name);
            pending.push((sub, about));
        }
        walked.push(path.join(" "));
    }
    for command in [
        "plan",
        "apply",
        "ensure",
        "lock",
        "fetch",
        "export triton",
        "key generate",
        "key public",
        "sign",
        "man",
        "gpus",
        "cache ls",
        "fleet plan",
        "completions",
        "schema",
    ] {
        assert!(
            walked.iter().any(|w| w == command),
            "{command} not walked: {walked:?}"
        );
    }
    // `doctor` is another name of `gpus`, with the same help.
    let doctor = help(&["doctor".to_string()]);
    assert_eq!(doctor, help(&["gpus".to_string()]));
}

// --- color ----------------------------------------------------------------------------------

/// Runs `cmd` with stdout and stderr on a pseudo-terminal; returns what it printed there.
fn on_a_terminal(mut cmd: std::process::Command) -> (Option<i32>, String) {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    let (mut leader, mut follower) = (0, 0);
    // SAFETY: openpty writes two new descriptors into the two ints; the rest may be null.
    let opened = unsafe {
        libc::openpty(
            &mut leader,
            &mut follower,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(opened, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned by nothing else.
    let (leader, follower) =
        unsafe { (OwnedFd::from_raw_fd(leader), OwnedFd::from_raw_fd(follower)) };
    cmd.stdout(follower.try_clone().unwrap())
        .stderr(follower)
        .stdin(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    let reader = std::thread::spawn(move || {
        let mut shown = Vec::new();
        let mut leader = std::fs::File::from(leader);
        let mut chunk = [0u8; 4096];
        // Ends with EIO once the child, the last holder of the follower, has exited.
        while let Ok(n @ 1..) = leader.read(&mut chunk) {
            shown.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8_lossy(&shown).into_owned()
    });
    let status = child.wait().unwrap();
    (status.code(), reader.join().unwrap())
}

#[test]
fn color_never_and_no_color_keep_escapes_off_a_terminal() {
    let project = arcface(None, "");
    let plan = |color: Option<&str>, no_color: bool| {
        let mut cmd = project.trtctl_process();
        cmd.args(["plan", "--gpu-arch", "sm_86"]);
        if let Some(color) = color {
            cmd.args(["--color", color]);
        }
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        let (code, shown) = on_a_terminal(cmd);
        assert_eq!(code, Some(0), "{shown}");
        assert!(shown.contains("arcface_r100_v1.0_fp16_sm_86"), "{shown}");
        shown
    };
    assert!(
        plan(None, false).contains("\x1b[32m+"),
        "a terminal gets color by default"
    );
    assert!(
        plan(Some("always"), true).contains("\x1b[32m+"),
        "--color always wins over NO_COLOR"
    );
    for shown in [plan(Some("never"), false), plan(None, true)] {
        assert!(!shown.contains('\x1b'), "{shown:?}");
    }

    // The error line too.
    let failing = |color: &str, no_color: bool| {
        let mut cmd = project.trtctl_process();
        cmd.args([
            "plan",
            "--gpu-arch",
            "sm_86",
            "--color",
            color,
            "-f",
            "missing.toml",
        ]);
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        let (code, shown) = on_a_terminal(cmd);
        assert_eq!(code, Some(1), "{shown}");
        assert!(shown.contains("error:"), "{shown}");
        shown
    };
    assert!(failing("auto", false).contains("\x1b[31;1merror:"));
    for shown in [failing("never", false), failing("auto", true)] {
        assert!(!shown.contains('\x1b'), "{shown:?}");
    }
    // Off a terminal, `--color always` still colors.
    let piped = project
        .trtctl()
        .args([
            "plan",
            "--gpu-arch",
            "sm_86",
            "--color",
            "always",
            "-f",
            "missing.toml",
        ])
        .output()
        .unwrap();
    assert!(
        stderr_of(&piped).contains("\x1b[31;1merror:"),
        "{}",
        stderr_of(&piped)
    );
}

// --- apply ----------------------------------------------------------------------------------

#[test]
fn apply_dry_run_shows_the_plan_and_builds_fetches_and_uploads_nothing() {
    let fleet = Fleet::new(Backend::s3());
    ok(fleet.machine("a"), &["apply", "--gpu-arch", "sm_86"]);
    // Machine b wants one more engine than the remote holds.
    edit(
        &fleet.project.path().join("engines.toml"),
        "precisions = [\"fp16\"]",
        "precisions = [\"fp16\", \"fp32\"]",
    );
    fleet.project.clear_builds();
    let Backend::S3(server) = &fleet.backend else {
        unreachable!()
    };
    let remote_before = contents(&server.root);
    let cache_before = contents(&fleet.cache("b"));

    let dry = ok(
        fleet.machine("b"),
        &["apply", "--gpu-arch", "sm_86", "--dry-run"],
    );
    assert!(dry.contains("↓ fetch") && dry.contains("+ build"), "{dry}");
    let plan = ok(fleet.machine("b"), &["plan", "--gpu-arch", "sm_86"]);
    // The same, but for the age of the remote's timing cache, which ticks between the two.
    let steady = |shown: &str| {
        let lines = shown
            .lines()
            .filter(|l| !l.starts_with("Shared timing caches:"));
        lines.collect::<Vec<_>>().join("\n")
    };
    assert_eq!(
        steady(&dry),
        steady(&plan),
        "--dry-run shows what `trtctl plan` shows"
    );

    assert!(
        fleet.project.builds().is_empty(),
        "{:?}",
        fleet.project.builds()
    );
    assert_eq!(
        contents(&fleet.cache("b")),
        cache_before,
        "the cache changed"
    );
    assert_eq!(contents(&server.root), remote_before, "the remote changed");
}

#[test]
fn apply_no_upload_publishes_neither_engines_nor_timing_caches() {
    let remote = tempfile::tempdir().unwrap();
    let url = format!("file://{}", remote.path().display());
    let project = arcface(Some(&url), "");
    let shown = ok(
        project.trtctl(),
        &["apply", "--gpu-arch", "sm_86", "--no-upload"],
    );
    assert_eq!(project.cached().len(), 2, "{shown}");
    assert_eq!(
        files_under(remote.path()),
        Vec::<std::path::PathBuf>::new(),
        "{shown}"
    );
    // Without it, both engines and the arch's timing cache are published.
    let other = arcface(Some(&url), "");
    ok(other.trtctl(), &["apply", "--gpu-arch", "sm_86"]);
    let published = files_under(remote.path());
    assert!(
        published
            .iter()
            .any(|f| f.starts_with(remote.path().join("timing"))),
        "{published:?}"
    );
    assert_eq!(
        published
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "trt"))
            .count(),
        2
    );
}

/// Starts `apply` with a slow build, signals it once the stand-in has started, and returns how
/// it exited.
fn interrupted_apply(signal: libc::c_int) -> (Option<i32>, Project) {
    let project = arcface(None, "");
    let mut child = project
        .trtctl_process()
        .env("STUB_SLEEP", "20")
        .args(["apply", "--gpu-arch", "sm_86"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while project.builds().is_empty() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the build never started"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "apply ended before its build started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // SAFETY: kill(2) on the child's own pid.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
    let status = child.wait().unwrap();
    (status.code(), project)
}

#[test]
fn apply_exits_130_on_ctrl_c_and_on_sigterm_and_commits_nothing() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let (code, project) = interrupted_apply(signal);
        assert_eq!(code, Some(130), "signal {signal}");
        assert_eq!(
            project.builds().len(),
            1,
            "the signal landed during the first build"
        );
        assert!(project.cached().is_empty(), "{:?}", project.cached());
    }
}

#[test]
fn builder_timing_cache_false_passes_no_timing_cache_to_trtexec() {
    let with = arcface(None, "");
    let without = arcface(None, "[builder]\ntiming_cache = false\n");
    for project in [&with, &without] {
        apply_fp16(project);
    }
    let [used] = &trtexec_argv(&with)[..] else {
        panic!("{:?}", trtexec_argv(&with))
    };
    assert!(used.contains(" --timingCacheFile="), "{used}");
    let [unused] = &trtexec_argv(&without)[..] else {
        panic!("{:?}", trtexec_argv(&without))
    };
    assert!(!unused.contains("timingCache"), "{unused}");
    assert!(!without.cache().join("timing").exists());
}

#[test]
fn version_compatible_reaches_trtexecs_argv() {
    let project = arcface(None, "");
    edit(
        &project.path().join("engines.toml"),
        "batch = { min = 1, opt = 8, max = 16 }",
        "batch = { min = 1, opt = 8, max = 16 }\nbuild = { version_compatible = true }",
    );
    apply_fp16(&project);
    let argv = trtexec_argv(&project);
    assert_eq!(argv.len(), 1, "{argv:?}");
    assert!(
        argv[0].split(' ').any(|a| a == "--versionCompatible"),
        "{}",
        argv[0]
    );
}

// --- ensure ---------------------------------------------------------------------------------

#[test]
fn ensure_name_sets_the_engine_name_and_json_says_where_it_came_from() {
    let project = Project::new();
    project.add_model("m");
    let ensure = || {
        let out = project
            .ensure("models/m.onnx")
            .args([
                "--name",
                "arcface_r100",
                "--version",
                "v3",
                "--json",
                "--no-remote",
            ])
            .output()
            .unwrap();
        let shown = succeeded(&out);
        let answer: serde_json::Value = serde_json::from_str(&shown)
            .unwrap_or_else(|e| panic!("not one JSON object ({e}): {shown}"));
        assert_eq!(answer.as_object().unwrap().len(), 2, "{answer}");
        answer
    };
    let first = ensure();
    assert_eq!(first["source"], "built", "{first}");
    let path = Path::new(first["path"].as_str().unwrap());
    assert_eq!(
        path.file_name().unwrap(),
        "arcface_r100_v3_fp16_sm_86_10.3.0.trt",
        "{first}"
    );
    assert!(path.is_file());
    let second = ensure();
    assert_eq!(second["source"], "local_cache", "{second}");
    assert_eq!(second["path"], first["path"]);
}

// --- keys and signatures --------------------------------------------------------------------

#[test]
fn key_public_prints_exactly_the_public_key_generate_printed() {
    let project = Project::new();
    let (file, public) = generate(&project, "ci-2026");
    let shown = succeeded(
        &project
            .trtctl()
            .args(["key", "public"])
            .arg(&file)
            .output()
            .unwrap(),
    );
    assert_eq!(shown, format!("{public}\n"));
    let (name, key) = public.split_once(':').unwrap();
    assert_eq!(name, "ci-2026");
    assert_eq!(key.len(), 44, "an ed25519 key in base64: {key}");
    let secret = std::fs::read_to_string(&file).unwrap();
    assert!(
        !secret.contains(key),
        "the secret file is not the public key"
    );
}

#[test]
fn sign_target_signs_only_the_engines_it_selects() {
    let backend = Backend::dir();
    let fleet = Fleet {
        project: arcface(Some(&backend.url()), ""),
        backend,
    };
    ok(fleet.machine("a"), &["apply", "--gpu-arch", "sm_86"]);
    let (key, _) = generate(&fleet.project, "ci-2026");
    let signed = fleet
        .machine("a")
        .env("TRTCTL_SIGNING_KEY_FILE", &key)
        .args([
            "sign",
            "--gpu-arch",
            "sm_86",
            "--target",
            "arcface_r100:fp16",
        ])
        .output()
        .unwrap();
    succeeded(&signed);
    let signature = |key: &str| fleet.backend.object(&format!("{key}.sig/ci-2026"));
    assert!(signature(FP16_SM86).is_file(), "{}", stdout_of(&signed));
    assert!(!signature(FP32_SM86).exists(), "{}", stdout_of(&signed));
}

// --- fetch ----------------------------------------------------------------------------------

#[test]
fn fetch_lock_installs_a_lock_kept_elsewhere() {
    let stage = Stage::new(Backend::dir());
    stage.build_and_lock();
    let elsewhere = stage.host.path().join("locks/prod.lock");
    std::fs::create_dir_all(elsewhere.parent().unwrap()).unwrap();
    std::fs::rename(stage.host_lock(), &elsewhere).unwrap();

    let default = stage
        .host()
        .args(["fetch", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    assert_eq!(default.status.code(), Some(2), "{}", stderr_of(&default));
    assert!(
        stderr_of(&default).contains("engines.lock does not exist"),
        "{}",
        stderr_of(&default)
    );

    ok(
        stage.host(),
        &["fetch", "--gpu-arch", "sm_86", "--lock", "locks/prod.lock"],
    );
    assert_eq!(
        stage.host_engine(FP16_SM86).unwrap(),
        stage.ci_engine(FP16_SM86)
    );
    assert_eq!(stage.host.cached().len(), 2);
}

#[test]
fn fetch_exits_2_without_a_remote_and_3_when_the_lock_leaves_wanted_engines_unpinned() {
    let stage = Stage::new(Backend::dir());
    // A builder of fp16 only: the lock pins fp16 and lists fp32 as missing.
    ok(
        stage.ci(),
        &["apply", "--target", "*:fp16", "--allow-missing"],
    );
    let lock = std::fs::read_to_string(stage.ci_lock()).unwrap();
    assert!(lock.contains("[[missing]]"), "{lock}");
    std::fs::copy(stage.ci_lock(), stage.host_lock()).unwrap();

    let out = stage
        .host()
        .args(["fetch", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}{}",
        stdout_of(&out),
        stderr_of(&out)
    );
    assert!(
        stdout_of(&out).contains(&format!("↓ fetched  {FP16_SM86}")),
        "{}",
        stdout_of(&out)
    );
    assert!(
        stderr_of(&out).contains(&format!(
            "warning: {FP32_SM86} is wanted here but the lock does not pin it"
        )),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(stage.host.cached(), [FP16_SM86]);

    // The same lock and manifest without `[remote]`.
    let remote = format!("[remote]\nurl = \"{}\"\n", stage.backend.url());
    edit(&stage.host.path().join("engines.toml"), &remote, "");
    std::fs::remove_dir_all(stage.host.cache()).unwrap();
    let out = stage
        .host()
        .args(["fetch", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("has no [remote]"),
        "{}",
        stderr_of(&out)
    );
    assert!(stage.host.cached().is_empty());
}

// --- export triton --------------------------------------------------------------------------

#[test]
fn export_triton_reads_the_given_lock_and_names_models_after_their_family() {
    let stage = Stage::new(Backend::dir());
    stage.build_and_lock();
    ok(stage.host(), &["fetch", "--gpu-arch", "sm_86"]);
    std::fs::rename(stage.host_lock(), stage.host.path().join("prod.lock")).unwrap();
    let repo = stage.host.path().join("repo");
    let export = |args: &[&str]| {
        stage
            .host()
            .args([
                "export",
                "triton",
                "--gpu-arch",
                "sm_86",
                "--target",
                "*:fp16",
                "--repo",
            ])
            .arg(&repo)
            .args(args)
            .output()
            .unwrap()
    };
    let without = export(&[]);
    assert_eq!(without.status.code(), Some(1), "{}", stderr_of(&without));
    assert!(
        stderr_of(&without).contains("engines.lock"),
        "{}",
        stderr_of(&without)
    );

    succeeded(&export(&["--lock", "prod.lock"]));
    let plan = repo.join("arcface_r100/1/model_sm_86.plan");
    assert_eq!(std::fs::read(&plan).unwrap(), stage.ci_engine(FP16_SM86));
    let config = std::fs::read_to_string(repo.join("arcface_r100/config.pbtxt")).unwrap();
    assert!(config.contains("name: \"arcface_r100\""), "{config}");

    succeeded(&export(&[
        "--lock",
        "prod.lock",
        "--model-name-from",
        "family",
    ]));
    let plan = repo.join("arcface/1/model_sm_86.plan");
    assert_eq!(std::fs::read(&plan).unwrap(), stage.ci_engine(FP16_SM86));
    let config = std::fs::read_to_string(repo.join("arcface/config.pbtxt")).unwrap();
    assert!(config.contains("name: \"arcface\""), "{config}");
}
