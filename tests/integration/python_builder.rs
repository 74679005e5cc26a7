//! The python builder backend: engines built with the `tensorrt` Python API (the stand-in in
//! tests/fixtures/tensorrt) by the real binary, on machines with no trtexec anywhere; `auto`
//! choosing between the backends; and the guarantees of the trtexec backend kept: the parser's
//! messages, timing caches, the GPU per build, timeouts, Ctrl-C, crashes committing nothing and
//! flags the TensorRT lacks refused before any build.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::common::project::{Project, STUB_TRTEXEC, stderr_of, stdout_of, succeeded};
use crate::common::sha256_hex;

const STUB_TENSORRT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tensorrt");
/// Where NVIDIA's packages put trtexec: a host that has it cannot show "no trtexec anywhere".
const DEFAULT_TRTEXEC: &str = "/usr/src/tensorrt/bin/trtexec";
const ENGINE: &str = "arcface/arcface_r100_v1.0_fp16_sm_86_10.3.0.trt";

const MANIFEST: &str = r#"
trt_version = "auto"

[defaults]
precisions = ["fp16"]
archs = ["sm_86"]

[[model]]
name = "arcface_r100"
family = "arcface"
onnx = "models/arcface_r100.onnx"
version = "v1.0"
batch = { min = 1, opt = 8, max = 16 }
"#;

/// The interpreter behind the host's `python3` (not a shim that needs the rest of PATH).
fn real_python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let output = Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .expect("the python builder tests need python3 on PATH");
        PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
    })
}

fn project(manifest: &str) -> Project {
    Project::with_models(&["arcface_r100"], manifest)
}

/// `trtctl` on a machine that has Python and `pip install tensorrt` (the stand-in) and nothing
/// else: PATH holds only `python3`, and there is no TRTEXEC.
fn python_only(project: &Project) -> std::process::Command {
    let bin = project.path().join("python-bin");
    if !bin.exists() {
        std::fs::create_dir(&bin).unwrap();
        std::os::unix::fs::symlink(real_python(), bin.join("python3")).unwrap();
    }
    let mut cmd = with_stand_in(project);
    cmd.env_remove("TRTEXEC").env("PATH", &bin);
    cmd
}

/// `trtctl` with the stand-in tensorrt importable, recording its calls.
fn with_stand_in(project: &Project) -> std::process::Command {
    let mut cmd = project.trtctl_process();
    cmd.env("PYTHONPATH", STUB_TENSORRT)
        .env("STUB_TRT_CALLS", project.path().join("calls.jsonl"));
    cmd
}

fn no_default_trtexec() -> bool {
    let absent = !Path::new(DEFAULT_TRTEXEC).exists();
    if !absent {
        eprintln!("{DEFAULT_TRTEXEC} exists on this host: no-trtexec test not run");
    }
    absent
}

/// The stand-in tensorrt's calls, one JSON object each.
fn calls(project: &Project) -> Vec<serde_json::Value> {
    std::fs::read_to_string(project.path().join("calls.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn calls_named(project: &Project, name: &str) -> Vec<serde_json::Value> {
    calls(project)
        .into_iter()
        .filter(|c| c["call"] == name)
        .collect()
}

fn run(mut cmd: std::process::Command, args: &[&str]) -> Output {
    cmd.args(args).output().unwrap()
}

/// `trtctl ensure` of the tiny model for an sm_86, without a remote.
fn ensure_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "ensure",
        "--onnx",
        "models/arcface_r100.onnx",
        "--precision",
        "fp16",
        "--batch-size",
        "4",
        "--gpu-arch",
        "sm_86",
        "--no-remote",
    ];
    args.extend_from_slice(extra);
    args
}

/// The build log of engine `file`.
fn log_of(project: &Project, file: &str) -> String {
    std::fs::read_to_string(project.cache().join("logs").join(format!("{file}.log"))).unwrap()
}

fn said(output: &Output) -> String {
    format!("{}{}", stdout_of(output), stderr_of(output))
}

#[test]
fn plan_apply_and_gpus_with_only_pip_tensorrt() {
    if !no_default_trtexec() {
        return;
    }
    let project = project(MANIFEST);
    let gpus = succeeded(&run(
        python_only(&project),
        &["gpus", "--gpu-arch", "sm_86"],
    ));
    let python = project.path().join("python-bin/python3");
    assert!(
        gpus.contains(&format!(
            "TensorRT: 10.3.0 (from tensorrt.__version__ of {})",
            python.display()
        )),
        "{gpus}"
    );
    assert!(
        gpus.contains(&format!(
            "builder: python ({0}): auto: no trtexec was found, and {0} imports tensorrt",
            python.display()
        )),
        "{gpus}"
    );
    let plan = succeeded(&run(
        python_only(&project),
        &["plan", "--gpu-arch", "sm_86"],
    ));
    assert!(
        plan.contains("+ build              arcface_r100_v1.0_fp16_sm_86_10.3.0.trt"),
        "{plan}"
    );
    succeeded(&run(
        python_only(&project),
        &["apply", "--gpu-arch", "sm_86"],
    ));
    assert_eq!(project.cached(), [ENGINE]);
    let engine = std::fs::read(project.cache().join(ENGINE)).unwrap();
    assert_eq!(
        &engine[..8],
        b"ftrt\0\0\0\0",
        "the plan tag, serialization 0"
    );
    assert_eq!(
        engine[24..28],
        [10, 3, 0, 26],
        "built by tensorrt 10.3.0.26"
    );
    let sidecar: serde_json::Value = serde_json::from_slice(
        &std::fs::read(project.cache().join(format!("{ENGINE}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(
        sidecar["provenance"]["builder"],
        format!("python tensorrt 10.3.0.26 ({})", python.display())
    );
    let flags: Vec<_> = calls_named(&project, "set_flag")
        .iter()
        .map(|c| c["flag"].clone())
        .collect();
    assert_eq!(flags, ["FP16"]);
    let shapes = calls_named(&project, "set_shape");
    assert_eq!(
        shapes,
        [serde_json::json!({"call": "set_shape", "input": "input",
            "min": [1, 3, 112, 112], "opt": [8, 3, 112, 112], "max": [16, 3, 112, 112]})]
    );
    let log = log_of(&project, "arcface_r100_v1.0_fp16_sm_86_10.3.0.trt");
    assert!(log.contains("&&&& PASSED trtctl.build_engine"), "{log}");
    let again = succeeded(&run(
        python_only(&project),
        &["plan", "--gpu-arch", "sm_86"],
    ));
    assert!(
        again.contains("= up to date         arcface_r100_v1.0_fp16_sm_86_10.3.0.trt"),
        "{again}"
    );
}

#[test]
fn ensure_builds_with_python_then_hands_out_the_cached_engine() {
    if !no_default_trtexec() {
        return;
    }
    let project = project(MANIFEST);
    let ensure = |project: &Project| {
        let out = succeeded(&run(python_only(project), &ensure_args(&[])));
        let (path, source) = out.trim_end().split_once('\t').unwrap();
        (PathBuf::from(path), source.to_string())
    };
    let (path, source) = ensure(&project);
    assert_eq!(source, "built");
    assert_eq!(&std::fs::read(&path).unwrap()[..4], b"ftrt");
    assert_eq!(ensure(&project).1, "local_cache");
    assert_eq!(calls_named(&project, "build_serialized_network").len(), 1);
}

#[test]
fn auto_picks_trtexec_when_both_are_there_and_python_when_asked() {
    let project = project(MANIFEST);
    let gpus = succeeded(&run(
        with_stand_in(&project),
        &["gpus", "--gpu-arch", "sm_86"],
    ));
    assert!(
        gpus.contains(&format!(
            "builder: trtexec ({STUB_TRTEXEC}): auto: trtexec was found"
        )),
        "{gpus}"
    );
    succeeded(&run(
        with_stand_in(&project),
        &["apply", "--gpu-arch", "sm_86"],
    ));
    assert_eq!(project.builds().len(), 1, "trtexec built it");
    assert!(calls(&project).is_empty(), "{:?}", calls(&project));

    project.write_manifest(&format!("{MANIFEST}\n[builder]\nbackend = \"python\"\n"));
    let gpus = succeeded(&run(
        with_stand_in(&project),
        &["gpus", "--gpu-arch", "sm_86"],
    ));
    assert!(gpus.contains("builder: python ("), "{gpus}");
    assert!(gpus.contains("`[builder] backend = \"python\"`"), "{gpus}");
    succeeded(&run(
        with_stand_in(&project),
        &[
            "apply",
            "--gpu-arch",
            "sm_86",
            "--force-rebuild",
            "arcface_r100",
        ],
    ));
    assert_eq!(calls_named(&project, "build_serialized_network").len(), 1);
}

#[test]
fn an_onnx_that_does_not_parse_fails_with_the_parsers_message() {
    let project = project(&MANIFEST.replace(
        "batch = { min = 1, opt = 8, max = 16 }",
        "shapes = { input = { min = \"1x3x112x112\", opt = \"8x3x112x112\", max = \"16x3x112x112\" } }",
    ));
    std::fs::write(
        project.path().join("models/arcface_r100.onnx"),
        b"\xff\xff not a protobuf",
    )
    .unwrap();
    let out = run(python_only(&project), &["apply", "--gpu-arch", "sm_86"]);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    let onnx = project.path().join("models/arcface_r100.onnx");
    // The reason names the parser's first error; the log's tail follows.
    let reason = format!(
        "] [E] ONNX parser: Cannot read from input file: {}\n",
        onnx.display()
    );
    assert!(
        said(&out).contains("python builder failed: [") && said(&out).contains(&reason),
        "{}",
        said(&out)
    );
    assert!(said(&out).contains("--- last lines of "), "{}", said(&out));
    assert!(project.cached().is_empty());
}

#[test]
fn the_timing_cache_is_loaded_and_saved() {
    let project = project(MANIFEST);
    succeeded(&run(
        python_only(&project),
        &["apply", "--gpu-arch", "sm_86"],
    ));
    let cache_file = project.cache().join("timing/sm_86_10.3.0.cache");
    let first = std::fs::read(&cache_file).unwrap();
    assert!(first.starts_with(b"TRTSTUBPYCACHE1 10.3.0\n"), "{first:?}");
    let created = calls_named(&project, "create_timing_cache");
    assert_eq!(created[0]["bytes"], 0, "a cold start");

    project.add_model("scrfd_10g");
    project.touch_model("scrfd_10g", 7);
    project.write_manifest(&format!(
        "{MANIFEST}\n[[model]]\nname = \"scrfd_10g\"\nonnx = \"models/scrfd_10g.onnx\"\nversion = \"v2\"\nbatch = {{ min = 1, opt = 8, max = 16 }}\n"
    ));
    succeeded(&run(
        python_only(&project),
        &["apply", "--gpu-arch", "sm_86"],
    ));
    let created = calls_named(&project, "create_timing_cache");
    assert_eq!(created.len(), 2);
    assert_eq!(created[1]["bytes"], first.len(), "{created:?}");
    assert_eq!(
        created[1]["sha256"],
        sha256_hex(&first),
        "the second build loaded what the first saved"
    );
    assert_eq!(
        calls_named(&project, "set_timing_cache")[1]["accepted"],
        true
    );
    let grown = std::fs::read(&cache_file).unwrap();
    assert!(
        grown.len() > first.len(),
        "the second build's layers were added"
    );
    let log = log_of(&project, "scrfd_10g_v2_fp16_sm_86_10.3.0.trt");
    assert!(
        log.contains(&format!(
            "Loaded {} bytes of timing cache from {}",
            first.len(),
            cache_file.display()
        )),
        "{log}"
    );
}

#[test]
fn a_crash_of_the_build_process_commits_nothing() {
    let project = project(MANIFEST);
    let mut cmd = python_only(&project);
    cmd.env("STUB_CRASH", "1");
    let out = run(cmd, &["apply", "--gpu-arch", "sm_86"]);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(
        said(&out).contains("python builder was killed by signal 11"),
        "{}",
        said(&out)
    );
    assert!(
        said(&out).contains("Fatal Python error: Segmentation fault"),
        "{}",
        said(&out)
    );
    assert!(project.cached().is_empty());
    let family = project.cache().join("arcface");
    let left: Vec<_> = std::fs::read_dir(&family)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "nothing half-written is left: {left:?}");
    let plan = succeeded(&run(
        python_only(&project),
        &["plan", "--gpu-arch", "sm_86"],
    ));
    assert!(plan.contains("+ build              arcface_r100"), "{plan}");
}

#[test]
fn what_the_tensorrt_lacks_is_refused_before_any_build() {
    let project = project(MANIFEST);
    project.add_model("scrfd_10g");
    project.write_manifest(&format!(
        "{MANIFEST}\n[[model]]\nname = \"scrfd_10g\"\nonnx = \"models/scrfd_10g.onnx\"\nversion = \"v2\"\nbuild = {{ optimization_level = 3 }}\n"
    ));
    let mut cmd = python_only(&project);
    cmd.env("STUB_TRT_VERSION", "8.5.3.1");
    let out = run(cmd, &["apply", "--gpu-arch", "sm_86"]);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(
        stderr_of(&out).contains("scrfd_10g_v2_fp16_sm_86_8.5.3.trt: python tensorrt 8.5.3.1 (")
            && stderr_of(&out)
                .contains("cannot build it: `optimization_level = 3` needs TensorRT 8.6 or newer"),
        "{}",
        said(&out)
    );
    assert!(
        calls_named(&project, "build_serialized_network").is_empty(),
        "not even the engine it could build"
    );

    project.write_manifest(&format!(
        "{MANIFEST}\n[[model]]\nname = \"scrfd_10g\"\nonnx = \"models/scrfd_10g.onnx\"\nversion = \"v2\"\nbuild = {{ extra_args = [\"--sparsity=enable\"] }}\n"
    ));
    let out = run(python_only(&project), &["apply", "--gpu-arch", "sm_86"]);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(
        stderr_of(&out).contains("`extra_args` (--sparsity=enable) are trtexec arguments"),
        "{}",
        said(&out)
    );
    assert!(calls_named(&project, "build_serialized_network").is_empty());
}

#[test]
fn each_tensorrt_generation_gets_the_api_it_has() {
    let project = project(MANIFEST);
    // 8.x parses ONNX into explicit-batch networks only, and has BuilderFlag.FP16.
    let mut cmd = python_only(&project);
    cmd.env("STUB_TRT_VERSION", "8.6.1.6");
    succeeded(&run(cmd, &["apply", "--gpu-arch", "sm_86"]));
    assert_eq!(
        project.cached(),
        ["arcface/arcface_r100_v1.0_fp16_sm_86_8.6.1.trt"]
    );
    assert_eq!(calls_named(&project, "create_network")[0]["flags"], 1);
    // 11 has neither EXPLICIT_BATCH nor weakly typed precision flags: strongly typed builds.
    project.write_manifest(&MANIFEST.replace(
        "version = \"v1.0\"",
        "version = \"v1.0\"\nbuild = { strongly_typed = true }",
    ));
    let mut cmd = python_only(&project);
    cmd.env("STUB_TRT_VERSION", "11.4.0.106");
    succeeded(&run(cmd, &["apply", "--gpu-arch", "sm_86"]));
    let networks = calls_named(&project, "create_network");
    assert_eq!(networks[1]["flags"], 2, "STRONGLY_TYPED alone");
    assert_eq!(
        calls_named(&project, "set_flag").len(),
        1,
        "FP16 for 8.6 only"
    );
}

#[test]
fn each_build_runs_on_its_gpu_within_what_trtctl_sees() {
    let project =
        project(&MANIFEST.replace("archs = [\"sm_86\"]", "archs = [\"sm_86\", \"sm_89\"]"));
    let mut cmd = python_only(&project);
    cmd.env("CUDA_VISIBLE_DEVICES", "5,7");
    succeeded(&run(cmd, &["apply", "--gpu-arch", "sm_86,sm_89"]));
    let mut devices: Vec<String> = calls_named(&project, "build_serialized_network")
        .iter()
        .map(|c| c["device"].as_str().unwrap().to_string())
        .collect();
    devices.sort();
    assert_eq!(devices, ["5", "7"], "GPU 0 and 1 of the two trtctl sees");
    let engine = std::fs::read(
        project
            .cache()
            .join("arcface/arcface_r100_v1.0_fp16_sm_89_10.3.0.trt"),
    )
    .unwrap();
    assert!(
        String::from_utf8_lossy(&engine).contains("\"device\": \"7\""),
        "the sm_89 engine was built on the sm_89 GPU"
    );
}

#[test]
fn a_python_without_tensorrt_says_how_to_get_it() {
    if !no_default_trtexec() {
        return;
    }
    let project = project(&format!("{MANIFEST}\n[builder]\nbackend = \"python\"\n"));
    let mut cmd = python_only(&project);
    cmd.env_remove("PYTHONPATH");
    let out = run(cmd, &["apply", "--gpu-arch", "sm_86"]);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(
        stderr_of(&out).contains("cannot import tensorrt (ModuleNotFoundError: No module named 'tensorrt'): `pip install tensorrt` into it"),
        "{}",
        said(&out)
    );
    project.write_manifest(&MANIFEST.replace("\"auto\"", "\"10.3.0\""));
    let mut cmd = python_only(&project);
    cmd.env_remove("PYTHONPATH");
    let out = run(cmd, &["apply", "--gpu-arch", "sm_86"]);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(
        stderr_of(&out).contains("no builder here: no trtexec")
            && stderr_of(&out).contains("No module named 'tensorrt'"),
        "{}",
        said(&out)
    );
}

/// The pid of the build process the stand-in started (from its runs log), once it started.
fn build_pid(project: &Project) -> u32 {
    let started = Instant::now();
    loop {
        if let Some(line) = project.builds().first() {
            return line.split_whitespace().nth(3).unwrap().parse().unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no build started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether `pid` still runs (a zombie waiting for its reaper does not).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .is_some_and(|s| !s.trim_start().starts_with('Z'))
    })
}

fn gone_soon(pid: u32) -> bool {
    let started = Instant::now();
    while running(pid) {
        if started.elapsed() > Duration::from_secs(5) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

#[test]
fn ctrl_c_stops_the_build_process() {
    let project = project(MANIFEST);
    let mut cmd = python_only(&project);
    cmd.env("STUB_SLEEP", "60")
        .args(["apply", "--gpu-arch", "sm_86"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = build_pid(&project);
    // SAFETY: signals a child this test spawned and has not reaped yet.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", said(&out));
    assert!(
        gone_soon(pid),
        "the python build process {pid} outlived the apply"
    );
    assert!(project.cached().is_empty());
}

#[test]
fn a_timeout_stops_the_build_process() {
    let project = project(MANIFEST);
    let mut cmd = python_only(&project);
    cmd.env("STUB_SLEEP", "60");
    // Long enough for the build to start on a loaded machine, far shorter than the build.
    let out = run(cmd, &ensure_args(&["--timeout", "4"]));
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(
        stderr_of(&out).contains("gave up after 4s (the timeout)"),
        "{}",
        said(&out)
    );
    assert!(
        gone_soon(build_pid(&project)),
        "the build process outlived the timeout"
    );
    assert!(project.cached().is_empty());
}
