//! TensorRT before 10, end to end: the flags trtctl passes are the ones that version's trtexec
//! has (the stand-in refuses the others, as the real one does), the engine is named for that
//! version, and plan, apply and the plan after agree. TensorRT 7, whose banner has no version,
//! is refused with the fix. And the stand-in itself: the options, banner and devices of each
//! version, as trtexec.md gives them.

use std::process::Output;

use crate::common::backend::Backend;
use crate::common::files_under;
use crate::common::project::{Project, STUB_TRTEXEC, all_output, stdout_of, succeeded};

fn manifest(backend: &Backend, trt_version: &str) -> String {
    format!(
        "trt_version = \"{trt_version}\"\n[remote]\nurl = \"{}\"\n[[model]]\nname = \"arcface_r100\"\nfamily = \"arcface\"\nonnx = \"models/arcface_r100.onnx\"\nversion = \"v1.0\"\nprecisions = [\"fp16\"]\narchs = [\"sm_86\"]\nbuild = {{ workspace_mib = 1024 }}\n",
        backend.url()
    )
}

/// `trtctl ARGS` on a host whose trtexec is TensorRT `trt`, with the project's cache.
fn on_trt(project: &Project, backend: &Backend, trt: &str, args: &[&str]) -> Output {
    on_trt_with(project.trtctl(), backend, trt, args)
}

fn on_trt_with(
    mut cmd: assert_cmd::Command,
    backend: &Backend,
    trt: &str,
    args: &[&str],
) -> Output {
    cmd.env("STUB_TRT_VERSION", trt)
        .args(["--gpu-arch", "sm_86"])
        .args(args);
    for (key, value) in backend.env() {
        cmd.env(key, value);
    }
    cmd.output().unwrap()
}

/// The `&&&& RUNNING` line of the one build log in the cache: trtexec's banner and argv.
fn build_banner(project: &Project) -> String {
    let logs = files_under(&project.cache().join("logs"));
    assert_eq!(logs.len(), 1, "{logs:?}");
    let log = std::fs::read_to_string(&logs[0]).unwrap();
    let running = log.lines().find(|l| l.starts_with("&&&& RUNNING"));
    running.unwrap_or_else(|| panic!("{log}")).to_string()
}

#[test]
fn tensorrt_8_builds_with_the_flags_of_its_version() {
    // (version, banner code, workspace flag, build-only flag): --memPoolSize from 8.4,
    // --skipInference from 8.6, their older spellings before.
    let cases = [
        (
            "8.6.1",
            "[TensorRT v8601] #",
            "--memPoolSize=workspace:1024M",
            "--skipInference",
        ),
        (
            "8.5.3",
            "[TensorRT v8503] #",
            "--memPoolSize=workspace:1024M",
            "--buildOnly",
        ),
        (
            "8.2.5",
            "[TensorRT v8205] #",
            "--workspace=1024",
            "--buildOnly",
        ),
    ];
    let backend = Backend::s3();
    for (trt, banner, workspace, build_only) in cases {
        let project = Project::new();
        project.add_model("arcface_r100");
        project.write_manifest(&manifest(&backend, "auto"));
        let engine = format!("arcface_r100_v1.0_fp16_sm_86_{trt}.trt");

        let plan = succeeded(&on_trt(&project, &backend, trt, &["plan"]));
        assert!(
            plan.contains(&format!("+ build              {engine}")),
            "{trt}: {plan}"
        );
        let applied = succeeded(&on_trt(&project, &backend, trt, &["apply"]));
        assert!(applied.contains("1 built, 0 fetched"), "{trt}: {applied}");
        assert_eq!(project.builds().len(), 1, "{trt}: {:?}", project.builds());

        let running = build_banner(&project);
        assert!(running.contains(banner), "{trt}: {running}");
        let argv: Vec<&str> = running.split(" # ").nth(1).unwrap().split(' ').collect();
        assert!(argv.contains(&workspace), "{trt}: {running}");
        assert!(argv.contains(&build_only), "{trt}: {running}");
        for other in [
            "--memPoolSize=workspace:1024M",
            "--workspace=1024",
            "--skipInference",
            "--buildOnly",
        ] {
            if other != workspace && other != build_only {
                assert!(!argv.contains(&other), "{trt}: {running}");
            }
        }

        // Cached and published under the version's name, its plan header that version's.
        let cached = project.cache().join("arcface").join(&engine);
        let bytes = std::fs::read(&cached).unwrap();
        let parts: Vec<String> = trt.split('.').map(str::to_string).collect();
        let header: Vec<String> = bytes[24..27].iter().map(u8::to_string).collect();
        assert_eq!(header, parts, "{trt}");
        let published = backend.object(&format!("arcface/{engine}"));
        assert_eq!(std::fs::read(&published).unwrap(), bytes, "{trt}");
        assert!(published.with_extension("trt.json").is_file(), "{trt}");

        let again = succeeded(&on_trt(&project, &backend, trt, &["plan"]));
        assert!(
            again.contains(&format!("= up to date         {engine}")),
            "{trt}: {again}"
        );
        // A second host of that TensorRT fetches what the first published.
        let mut second = project.trtctl();
        second.env("TENSORRT_CACHE_DIR", project.path().join("cache-2"));
        let fetched = on_trt_with(second, &backend, trt, &["apply"]);
        assert!(succeeded(&fetched).contains("0 built, 1 fetched"), "{trt}");
        assert_eq!(
            std::fs::read(project.path().join("cache-2/arcface").join(&engine)).unwrap(),
            bytes,
            "{trt}"
        );
        assert_eq!(project.builds().len(), 1, "{trt}: {:?}", project.builds());
    }
}

#[test]
fn tensorrt_7_is_refused_by_plan_and_apply_alike_with_the_fix() {
    let backend = Backend::s3();
    let project = Project::new();
    project.add_model("arcface_r100");
    project.write_manifest(&manifest(&backend, "auto"));
    let plan = on_trt(&project, &backend, "7.2.3", &["plan"]);
    let apply = on_trt(&project, &backend, "7.2.3", &["apply"]);
    for (what, out) in [("plan", &plan), ("apply", &apply)] {
        assert_eq!(out.status.code(), Some(1), "{what}: {}", all_output(out));
        let said = all_output(out);
        assert!(
            said.contains("printed no `&&&& RUNNING TensorRT.trtexec [TensorRT vNNNN]` banner with a version: TensorRT 7 or older"),
            "{what}: {said}"
        );
        assert!(
            said.contains("the trtexec of TensorRT 8 or newer"),
            "{what}: {said}"
        );
    }
    // A pinned version names the engine without asking trtexec, so only apply meets it.
    project.write_manifest(&manifest(&backend, "7.2.3"));
    let pinned = on_trt(&project, &backend, "7.2.3", &["apply"]);
    assert_eq!(pinned.status.code(), Some(1), "{}", all_output(&pinned));
    assert!(
        all_output(&pinned).contains("the trtexec of TensorRT 8 or newer"),
        "{}",
        all_output(&pinned)
    );
    assert!(project.builds().is_empty(), "{:?}", project.builds());
    assert!(project.cached().is_empty(), "{:?}", project.cached());
    assert!(files_under(&backend.object("")).is_empty());
}

/// The stand-in trtexec of TensorRT `trt`, run with `args` and nothing of the host's STUB_*.
fn stub(trt: &str, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = std::process::Command::new(STUB_TRTEXEC);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .env("STUB_TRT_VERSION", trt)
        .args(args)
        .envs(envs.iter().copied());
    cmd.output().unwrap()
}

fn refused(out: &Output, flag: &str) -> bool {
    let name = flag.split('=').next().unwrap();
    all_output(out).contains(&format!("[E] Unknown option: {name}"))
}

#[test]
fn the_stand_in_refuses_each_option_before_its_version_and_after_its_removal() {
    // (option, the first version that has it, the last that does not), per trtexec.md and
    // tensorrt-compat.md; the compatibility and refit options among them.
    let added = [
        ("--refit", "8.0.1", "7.2.3"),
        ("--memPoolSize=workspace:64M", "8.4.0", "8.2.5"),
        ("--skipInference", "8.6.0", "8.5.3"),
        ("--builderOptimizationLevel=3", "8.6.0", "8.5.3"),
        ("--hardwareCompatibilityLevel=ampere+", "8.6.0", "8.5.3"),
        (
            "--hardwareCompatibilityLevel=sameComputeCapability",
            "10.9.0",
            "10.8.0",
        ),
        ("--versionCompatible", "8.6.0", "8.5.3"),
        ("--excludeLeanRuntime", "8.6.0", "8.5.3"),
        ("--stronglyTyped", "9.0.0", "8.6.1"),
        ("--getPlanVersionOnly", "9.0.0", "8.6.1"),
        ("--stripWeights", "10.0.0", "8.6.1"),
        ("--stripAllWeights", "10.1.0", "10.0.1"),
        ("--refitFromOnnx=m.onnx", "10.14.0", "10.13.3"),
    ];
    for (flag, first, before) in added {
        assert!(
            refused(&stub(before, &[flag], &[]), flag),
            "{flag} on {before}"
        );
        let has = stub(first, &[flag], &[]);
        assert!(
            !refused(&has, flag),
            "{flag} on {first}: {}",
            all_output(&has)
        );
    }
    // Removed in TensorRT 10.
    for flag in ["--workspace=64", "--buildOnly"] {
        assert!(
            !refused(&stub("8.6.1", &[flag], &[]), flag),
            "{flag} on 8.6.1"
        );
        assert!(
            refused(&stub("10.0.0", &[flag], &[]), flag),
            "{flag} on 10.0.0"
        );
    }
    let out = stub("8.5.3", &["--skipInference"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout_of(&out)
            .trim_end()
            .ends_with("&&&& FAILED TensorRT.trtexec [TensorRT v8503] # trtexec --skipInference"),
        "{}",
        stdout_of(&out)
    );
}

#[test]
fn the_stand_in_banner_and_version_line_are_those_of_its_version() {
    // (version, banner, version log line): no build tag before 10.3, no version line in
    // TensorRT 7, an encoded one in 8.0 and 8.1.
    let cases = [
        ("7.2.3", "&&&& RUNNING TensorRT.trtexec # trtexec", None),
        (
            "8.0.1",
            "&&&& RUNNING TensorRT.trtexec [TensorRT v8001] # trtexec",
            Some("8001"),
        ),
        (
            "8.6.1",
            "&&&& RUNNING TensorRT.trtexec [TensorRT v8601] # trtexec",
            Some("8.6.1"),
        ),
        (
            "10.2.0",
            "&&&& RUNNING TensorRT.trtexec [TensorRT v100200] # trtexec",
            Some("10.2.0"),
        ),
        (
            "10.3.0",
            "&&&& RUNNING TensorRT.trtexec [TensorRT v100300] [b10] # trtexec",
            Some("10.3.0"),
        ),
    ];
    for (trt, banner, version_line) in cases {
        let out = stdout_of(&stub(trt, &["--version"], &[]));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], format!("{banner} --version"), "{trt}: {out}");
        let tag = banner.strip_prefix("&&&& RUNNING ").unwrap();
        assert_eq!(
            lines.last().unwrap(),
            &format!("&&&& FAILED {tag} --version"),
            "{trt}"
        );
        let logged: Vec<&str> = lines
            .iter()
            .filter_map(|l| l.split("] [I] TensorRT version: ").nth(1))
            .collect();
        assert_eq!(
            logged,
            version_line.into_iter().collect::<Vec<_>>(),
            "{trt}: {out}"
        );
    }
}

#[test]
fn the_stand_in_fails_a_device_the_driver_does_not_have() {
    let two = "NVIDIA A10,8.6,22731;NVIDIA H100 80GB HBM3,9.0,81559";
    let on = |device: &str, envs: &[(&str, &str)]| {
        all_output(&stub("10.3.0", &[&format!("--device={device}")], envs))
    };
    // In range: the run goes on to want a model, on the GPU named.
    let second = on("1", &[("STUB_CUDA_GPUS", two)]);
    assert!(
        second.contains("[I] Selected Device: NVIDIA H100 80GB HBM3"),
        "{second}"
    );
    assert!(second.contains("Model missing"), "{second}");
    for (device, envs) in [
        ("2", vec![("STUB_CUDA_GPUS", two)]),
        (
            "1",
            vec![("STUB_CUDA_GPUS", two), ("CUDA_VISIBLE_DEVICES", "1")],
        ),
    ] {
        let said = on(device, &envs);
        assert!(
            said.contains("[E] Cuda failure: invalid device ordinal"),
            "{device} {envs:?}: {said}"
        );
        assert!(!said.contains("Model missing"), "{said}");
    }
    let none = on("0", &[("STUB_CUDA_GPUS", "")]);
    assert!(
        none.contains("[E] Cuda failure: no CUDA-capable device is detected"),
        "{none}"
    );
}
