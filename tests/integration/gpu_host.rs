//! Hosts whose CUDA shows real GPUs, through the stand-in driver: `--gpu-arch` plans as if and
//! never builds as if, engines built under simulation never reach such a host, and every build
//! runs on a GPU of its engine's arch.

use serde_json::Value;

use crate::common::backend::Backend;
use crate::common::cuda::{A10, H100, stub_libcuda_dir};
use crate::common::fleet::Fleet;
use crate::common::project::{Project, TWO_MODELS_SM86, all_output, stdout_of, succeeded};

const SM86: &str = "arcface/arcface_r100_v1.0_fp16_sm_86_10.3.0.trt";
const SM89: &str = "arcface/arcface_r100_v1.0_fp16_sm_89_10.3.0.trt";
const SM90: &str = "arcface/arcface_r100_v1.0_fp16_sm_90_10.3.0.trt";

fn json(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn gpus_shows_what_the_driver_shows_as_cuda_visible_devices_numbers_them() {
    let project = Project::new();
    let gpus = |visible: Option<&str>, extra: &[&str]| {
        let mut cmd = project.trtctl();
        cmd.args(["gpus", "--json"])
            .args(extra)
            .env("STUB_CUDA_GPUS", format!("{H100};{A10}"));
        if let Some(visible) = visible {
            cmd.env("CUDA_VISIBLE_DEVICES", visible);
        }
        let doctor: Value = serde_json::from_str(&succeeded(&cmd.output().unwrap())).unwrap();
        doctor["gpus"].clone()
    };
    let both = gpus(None, &[]);
    assert_eq!(both["source"]["kind"], "cuda", "{both}");
    assert_eq!(both["cuda_driver_version"], "12.8");
    let seen: Vec<(u64, &str, &str, u64)> = both["gpus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["index"].as_u64().unwrap(),
                g["name"].as_str().unwrap(),
                g["arch"].as_str().unwrap(),
                g["memory_bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (0, "NVIDIA H100 80GB HBM3", "sm_90", 81559 << 20),
            (1, "NVIDIA A10", "sm_86", 22731 << 20)
        ]
    );

    let renumbered = gpus(Some("1"), &[]);
    assert_eq!(both["gpus"][0]["model"], "h100-80gb-hbm3");
    assert_eq!(both["gpus"][1]["model"], "a10");
    assert_eq!(renumbered["gpus"].as_array().unwrap().len(), 1);
    assert_eq!(renumbered["gpus"][0]["index"], 0);
    assert_eq!(renumbered["gpus"][0]["name"], "NVIDIA A10");

    let hidden = gpus(Some(""), &[]);
    assert_eq!(hidden["source"]["kind"], "unavailable");
    let reason = hidden["source"]["reason"].as_str().unwrap();
    assert!(reason.contains("no CUDA-capable device"), "{reason}");

    let as_if = gpus(None, &["--gpu-arch", "sm_86", "--gpu-model", "NVIDIA A10G"]);
    assert_eq!(as_if["source"]["kind"], "override");
    assert_eq!(as_if["gpus"][0]["name"], "simulated sm_86");
    assert_eq!(as_if["gpus"][0]["model"], "a10g");
    assert_eq!(as_if["host_gpus"].as_array().unwrap().len(), 2);
    assert_eq!(as_if["host_gpus"][0]["name"], "NVIDIA H100 80GB HBM3");

    let text = project
        .trtctl()
        .args(["doctor", "--gpu-arch", "sm_86"])
        .env("STUB_CUDA_GPUS", H100)
        .output()
        .unwrap();
    let text = succeeded(&text);
    assert!(
        text.contains("GPUs of this host (the only ones that build):\n  0  NVIDIA H100 80GB HBM3  sm_90 (H100, H200, GH200)  79.6 GiB  model h100-80gb-hbm3\n"),
        "{text}"
    );
}

/// The reproduction: an H100 host asked to apply as an sm_86 builder.
#[test]
fn gpu_arch_on_an_h100_host_plans_as_if_and_builds_and_publishes_nothing() {
    let fleet = Fleet::with_archs(Backend::s3(), &["sm_86", "sm_90"]);
    let plan = fleet
        .machine("h100")
        .args(["plan", "--gpu-arch", "sm_86"])
        .env("STUB_CUDA_GPUS", H100)
        .output()
        .unwrap();
    let plan = succeeded(&plan);
    assert!(
        plan.contains("local GPUs: sm_86 (as if, by --gpu-arch; only this host's 0: NVIDIA H100 80GB HBM3 (sm_90) build)"),
        "{plan}"
    );
    assert!(plan.contains("+ build"), "{plan}");

    for (flag, env) in [(Some("sm_86"), None), (None, Some("sm_86"))] {
        let mut apply = fleet.machine("h100");
        apply.arg("apply").env("STUB_CUDA_GPUS", H100);
        if let Some(arch) = flag {
            apply.args(["--gpu-arch", arch]);
        }
        if let Some(arch) = env {
            apply.env("TRTCTL_GPU_ARCH", arch);
        }
        let apply = apply.output().unwrap();
        let out = all_output(&apply);
        assert_eq!(apply.status.code(), Some(1), "{out}");
        assert!(
            out.contains(&format!(
                "refusing to build {SM86}: this host's GPUs are 0: NVIDIA H100 80GB HBM3 (sm_90), none of them sm_86"
            )),
            "{out}"
        );
        assert!(out.contains("--target"), "the fix is named: {out}");
        assert!(
            fleet.project.builds().is_empty(),
            "{:?}",
            fleet.project.builds()
        );
        assert!(!fleet.backend.object(SM86).exists(), "nothing uploaded");
        assert!(!fleet.backend.object(&format!("{SM86}.json")).exists());
        assert!(!fleet.cache("h100").join(SM86).exists());
    }
}

#[test]
fn a_refused_build_stops_no_fetch_and_no_real_build() {
    let fleet = Fleet::with_archs(Backend::dir(), &["sm_86", "sm_89", "sm_90"]);
    let a10 = fleet
        .machine("a10")
        .args(["apply", "--target", "*:*:sm_86"])
        .env("STUB_CUDA_GPUS", A10)
        .output()
        .unwrap();
    succeeded(&a10);
    fleet.project.clear_builds();

    let h100 = fleet
        .machine("h100")
        .args(["apply", "--gpu-arch", "sm_86", "--gpu-arch", "sm_89"])
        .args(["--gpu-arch", "sm_90"])
        .env("STUB_CUDA_GPUS", H100)
        .output()
        .unwrap();
    let out = all_output(&h100);
    assert_eq!(h100.status.code(), Some(1), "{out}");
    assert!(out.contains(&format!("refusing to build {SM89}")), "{out}");
    assert!(
        out.contains("1 built, 1 fetched from remote, 0 from local_cache, 1 uploaded; 1 failed"),
        "{out}"
    );
    assert!(fleet.cache("h100").join(SM86).is_file(), "fetched");
    assert!(fleet.backend.object(SM90).is_file(), "built and uploaded");
    assert!(!fleet.backend.object(SM89).exists());
    let builds = fleet.project.builds();
    assert_eq!(builds.len(), 1, "{builds:?}");
    let fields: Vec<&str> = builds[0].split(' ').collect();
    assert!(fields[1].contains("_sm_90_"), "{builds:?}");
    assert_eq!(fields[2], "0", "on the H100, device 0: {builds:?}");
    let sidecar = json(&fleet.cache("h100").join(format!("{SM90}.json")));
    assert_eq!(sidecar["provenance"]["gpu_name"], "NVIDIA H100 80GB HBM3");
    assert_eq!(sidecar["provenance"].get("simulated"), None, "{sidecar}");
}

#[test]
fn an_engine_built_under_simulation_never_reaches_a_gpu_host() {
    for backend in Backend::both() {
        let fleet = Fleet::new(backend);
        // A GPU-less CI job builds "as if" an A10 were there and publishes: the sidecar says so.
        succeeded(
            &fleet
                .machine("ci")
                .args(["apply", "--gpu-arch", "sm_86", "--gpu-model", "a10"])
                .output()
                .unwrap(),
        );
        let published = json(&fleet.backend.object(&format!("{SM86}.json")));
        assert_eq!(published["provenance"]["simulated"], true, "{published}");
        assert_eq!(published["provenance"]["gpu_model"], "a10", "{published}");
        fleet.project.clear_builds();

        let a10 = |args: &[&str]| {
            fleet
                .machine("a10")
                .args(args)
                .env("STUB_CUDA_GPUS", A10)
                .output()
                .unwrap()
        };
        let plan = succeeded(&a10(&["plan"]));
        assert!(!plan.contains("↓ fetch"), "{plan}");
        assert!(
            plan.contains("the remote copy was built under simulation, without a GPU: not fetched, not replaced"),
            "{plan}"
        );
        let applied = succeeded(&a10(&["apply"]));
        assert!(applied.contains("1 built, 0 fetched"), "{applied}");
        // Nor does the shared timing cache the simulated builds wrote; a real one replaces it.
        assert!(
            applied.contains("timing cache sm_86_a10_10.3.0.cache: the remote's copy was written under simulation, without a GPU: not used"),
            "{applied}"
        );
        assert!(
            applied.contains("Timing caches: 0 fetched (0 builds started warm), 1 uploaded"),
            "{applied}"
        );
        assert_eq!(fleet.project.builds().len(), 1);
        let ours = json(&fleet.cache("a10").join(format!("{SM86}.json")));
        assert_eq!(ours["provenance"]["gpu_name"], "NVIDIA A10");
        assert_eq!(ours["provenance"]["gpu_model"], "a10");
        assert_eq!(ours["provenance"].get("simulated"), None, "{ours}");
        let still = json(&fleet.backend.object(&format!("{SM86}.json")));
        assert_eq!(still, published, "the remote copy is not replaced");

        // The GPU host's own cache verify flags a simulated engine; a GPU-less host does not.
        let verify = |gpus: Option<&str>| {
            let mut cmd = fleet.machine("ci");
            cmd.args(["cache", "verify"]);
            if let Some(gpus) = gpus {
                cmd.env("STUB_CUDA_GPUS", gpus);
            }
            cmd.output().unwrap()
        };
        let flagged = verify(Some(A10));
        assert_eq!(flagged.status.code(), Some(1), "{}", all_output(&flagged));
        assert!(
            stdout_of(&flagged).contains(&format!("simulated: {SM86}: built under simulation")),
            "{}",
            stdout_of(&flagged)
        );
        assert!(stdout_of(&flagged).contains("1 engines checked, 0 corrupt, 1 simulated."));
        succeeded(&verify(None));

        // A GPU-less host fetches it as before.
        let ci2 = succeeded(
            &fleet
                .machine("ci2")
                .args(["apply", "--gpu-arch", "sm_86"])
                .output()
                .unwrap(),
        );
        assert!(ci2.contains("0 built, 1 fetched from remote"), "{ci2}");
        // The timing cache the A10 published is a real one: the next GPU host starts warm.
        let second = succeeded(
            &fleet
                .machine("a10-b")
                .args(["apply", "--force-rebuild"])
                .env("STUB_CUDA_GPUS", A10)
                .output()
                .unwrap(),
        );
        assert!(
            second.contains("timing cache sm_86_a10_10.3.0.cache: fetched from the remote"),
            "{second}"
        );
    }
}

#[test]
fn a_lock_of_a_simulated_engine_is_refused_by_fetch_on_a_gpu_host() {
    let fleet = Fleet::new(Backend::s3());
    succeeded(
        &fleet
            .machine("ci")
            .args(["apply", "--gpu-arch", "sm_86"])
            .output()
            .unwrap(),
    );
    succeeded(&fleet.machine("ci").arg("lock").output().unwrap());
    let refused = fleet
        .machine("a10")
        .arg("fetch")
        .env("STUB_CUDA_GPUS", A10)
        .output()
        .unwrap();
    let out = all_output(&refused);
    assert_eq!(refused.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "{SM86}: the remote engine was built under simulation, without a GPU"
        )),
        "{out}"
    );
    assert!(!fleet.cache("a10").join(SM86).exists());
    let gpu_less = fleet
        .machine("deploy")
        .args(["fetch", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    succeeded(&gpu_less);
    assert!(fleet.cache("deploy").join(SM86).is_file());

    // A GPU host's lock pins no engine built under simulation.
    let lock = fleet
        .machine("a10")
        .args(["lock", "--allow-missing"])
        .env("STUB_CUDA_GPUS", A10)
        .output()
        .unwrap();
    succeeded(&lock);
    let text = std::fs::read_to_string(fleet.project.path().join("engines.lock")).unwrap();
    assert!(
        text.contains(&format!("[[missing]]\nkey = \"{SM86}\"")),
        "{text}"
    );
}

/// Eight engines over three GPUs of two archs: each build on a GPU of its arch, as the
/// driver numbers them, three at once, never two on one GPU.
#[test]
fn each_build_runs_on_a_gpu_of_its_arch_as_cuda_visible_devices_numbers_them() {
    let project = Project::with_models(
        &["arcface_r100", "scrfd_10g"],
        &TWO_MODELS_SM86.replace("archs = [\"sm_86\"]", "archs = [\"sm_86\", \"sm_90\"]"),
    );
    let exclusive = project.path().join("exclusive");
    std::fs::create_dir_all(&exclusive).unwrap();
    // `at_once` builds wait for each other: as many as there are GPUs, or the stand-in fails them.
    let run = |visible: Option<&str>, at_once: usize, extra: &[&str]| {
        project.clear_builds();
        let mut cmd = project.trtctl();
        cmd.arg("apply")
            .args(extra)
            .env("STUB_CUDA_GPUS", format!("{A10};{H100};{A10}"))
            .env("STUB_GPU_EXCLUSIVE", &exclusive)
            .env(
                "STUB_BARRIER",
                format!(
                    "{}:{at_once}",
                    project.path().join(format!("barrier-{at_once}")).display()
                ),
            )
            .env("STUB_SLEEP", "0.2");
        if let Some(visible) = visible {
            cmd.env("CUDA_VISIBLE_DEVICES", visible);
        }
        succeeded(&cmd.output().unwrap());
        project.builds()
    };
    let devices_of = |builds: &[String], arch: &str| -> Vec<String> {
        let mut devices: Vec<String> = builds
            .iter()
            .filter(|b| b.contains(arch))
            .map(|b| b.split(' ').nth(2).unwrap().to_string())
            .collect();
        devices.sort();
        devices.dedup();
        devices
    };

    let builds = run(None, 3, &[]);
    assert_eq!(builds.len(), 8, "{builds:?}");
    assert_eq!(devices_of(&builds, "_sm_86_"), ["0", "2"], "{builds:?}");
    assert_eq!(devices_of(&builds, "_sm_90_"), ["1"], "{builds:?}");

    // GPU 2 (an A10) and GPU 1 (the H100), renumbered 0 and 1 by the driver.
    let builds = run(Some("2,1"), 2, &["--force-rebuild"]);
    assert_eq!(builds.len(), 8, "{builds:?}");
    assert_eq!(devices_of(&builds, "_sm_86_"), ["0"], "{builds:?}");
    assert_eq!(devices_of(&builds, "_sm_90_"), ["1"], "{builds:?}");
    // The engines say which compute capability built them.
    let engine = |arch: &str| {
        std::fs::read_to_string(
            project
                .cache()
                .join(format!("arcface/arcface_r100_v1.0_fp16_{arch}_10.3.0.trt")),
        )
        .unwrap()
    };
    assert!(engine("sm_86").contains("\ncompute 8.6\n"));
    assert!(engine("sm_90").contains("\ncompute 9.0\n"));
}

#[test]
fn the_builder_gpus_model_is_recorded_and_simulated_gpus_take_the_model_asked_for() {
    let fleet = Fleet::new(Backend::dir());
    succeeded(
        &fleet
            .machine("ci")
            .args(["apply", "--gpu-arch", "sm_86", "--gpu-model", "NVIDIA A10G"])
            .output()
            .unwrap(),
    );
    let published = json(&fleet.backend.object(&format!("{SM86}.json")));
    assert_eq!(published["provenance"]["gpu_model"], "a10g", "{published}");
    let env = fleet
        .machine("ci2")
        .args(["gpus", "--json", "--gpu-arch", "sm_86"])
        .env("TRTCTL_GPU_MODEL", "a10")
        .output()
        .unwrap();
    let doctor: Value = serde_json::from_str(&succeeded(&env)).unwrap();
    assert_eq!(doctor["gpus"]["gpus"][0]["model"], "a10", "{doctor}");
}

/// An engine built on an A10G (through the stand-in driver), planned for by A10 and A10G hosts
/// (simulated with --gpu-model, and an A10 through the stand-in driver).
#[test]
fn a_host_of_another_gpu_model_is_told_so_unless_the_manifest_says_any() {
    let fleet = Fleet::new(Backend::s3());
    succeeded(
        &fleet
            .machine("a10g-builder")
            .arg("apply")
            .env("STUB_CUDA_GPUS", "NVIDIA A10G,8.6,22731")
            .output()
            .unwrap(),
    );
    let plan = |machine: &str, args: &[&str], gpus: Option<&str>| {
        let mut cmd = fleet.machine(machine);
        cmd.arg("plan").args(args);
        if let Some(gpus) = gpus {
            cmd.env("STUB_CUDA_GPUS", gpus);
        }
        succeeded(&cmd.output().unwrap())
    };
    let warning = "(built on a10g, this host's sm_86 GPU is a10: TensorRT warns that a plan used across GPU models may be slower or fail; set `gpu_model = \"any\"` if it is known to be portable)";
    let a10 = plan("a10", &["--gpu-arch", "sm_86", "--gpu-model", "a10"], None);
    assert!(
        a10.contains(&format!(
            "↓ fetch              arcface_r100_v1.0_fp16_sm_86_10.3.0.trt {warning}"
        )),
        "{a10}"
    );
    let real_a10 = plan("a10", &[], Some(A10));
    assert!(real_a10.contains(warning), "{real_a10}");
    let a10g = plan(
        "a10g",
        &["--gpu-arch", "sm_86", "--gpu-model", "NVIDIA A10G"],
        None,
    );
    assert!(
        a10g.contains("↓ fetch") && !a10g.contains("TensorRT warns"),
        "{a10g}"
    );

    let manifest = fleet.project.path().join("engines.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, format!("{text}gpu_model = \"any\"\n")).unwrap();
    let any = plan("a10", &["--gpu-arch", "sm_86", "--gpu-model", "a10"], None);
    assert!(
        any.contains("↓ fetch") && !any.contains("TensorRT warns"),
        "{any}"
    );

    std::fs::write(&manifest, format!("{text}gpu_model = \"exactly\"\n")).unwrap();
    let bad = fleet.machine("a10").arg("plan").output().unwrap();
    let out = all_output(&bad);
    assert_eq!(bad.status.code(), Some(1), "{out}");
    assert!(
        out.contains("engines.toml:") && out.contains("gpu_model"),
        "{out}"
    );
    assert!(out.contains("`warn`") && out.contains("`any`"), "{out}");
}

/// `gpu_model = "exact"`: an A10G host and an A10 host (both sm_86) each build and publish an
/// engine of their own model, named for it, and each plans only its own; their shared timing
/// caches are kept apart too.
#[test]
fn under_gpu_model_exact_each_gpu_model_builds_and_uses_its_own_engine() {
    for backend in Backend::both() {
        let fleet = Fleet::new(backend);
        let manifest = fleet.project.path().join("engines.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        std::fs::write(&manifest, format!("{text}gpu_model = \"exact\"\n")).unwrap();
        let host = |machine: &str, model: &str, command: &str| {
            let out = fleet
                .machine(machine)
                .args([command, "--gpu-arch", "sm_86", "--gpu-model", model])
                .output()
                .unwrap();
            succeeded(&out)
        };
        const A10G: &str = "arcface_r100_v1.0_fp16_sm_86-a10g_10.3.0.trt";
        const A10: &str = "arcface_r100_v1.0_fp16_sm_86-a10_10.3.0.trt";
        let plan = host("a10g", "a10g", "plan");
        assert!(
            plan.contains(&format!("+ build              {A10G}, then upload")),
            "{plan}"
        );
        assert!(
            !plan.contains("sm_86_10.3.0.trt"),
            "no engine of no model: {plan}"
        );
        let applied = host("a10g", "a10g", "apply");
        assert!(
            applied.contains("timing cache sm_86_a10g_10.3.0.cache: uploaded"),
            "{applied}"
        );

        // The A10 host does not take the A10G's engine, nor its timings: it builds its own.
        let plan = host("a10", "a10", "plan");
        assert!(
            plan.contains(&format!("+ build              {A10}, then upload")),
            "{plan}"
        );
        assert!(
            !plan.contains(A10G) && !plan.contains("TensorRT warns"),
            "{plan}"
        );
        let applied = host("a10", "a10", "apply");
        assert!(applied.contains("1 built, 0 fetched"), "{applied}");
        assert!(
            applied.contains("timing cache sm_86_a10_10.3.0.cache: uploaded"),
            "{applied}"
        );
        for engine in [A10G, A10] {
            assert!(fleet.backend.object(&format!("arcface/{engine}")).is_file());
        }
        // A second A10G host fetches its model's engine.
        let plan = host("a10g-2", "a10g", "plan");
        assert!(
            plan.contains(&format!("↓ fetch              {A10G}")),
            "{plan}"
        );
        let built_by: Value = json(&fleet.backend.object(&format!("arcface/{A10G}.json")));
        assert_eq!(built_by["gpu_model"], "a10g", "{built_by}");
        assert_eq!(built_by["provenance"]["gpu_model"], "a10g", "{built_by}");
    }
}

/// A Jetson keeps libcuda in `tegra/`, beyond the loader's default search: detection loads it
/// from there, and CUDA answers (here: the stand-in driver, which shows no GPU in this process).
#[test]
fn the_driver_is_found_where_l4t_keeps_it() {
    let root = tempfile::tempdir().unwrap();
    let tegra = root.path().join("usr/lib/aarch64-linux-gnu/tegra");
    std::fs::create_dir_all(&tegra).unwrap();
    let driver = tegra.join("libcuda.so");
    std::fs::copy(stub_libcuda_dir().join("libcuda.so.1"), &driver).unwrap();
    assert_eq!(trtctl::gpu::find_libcuda(root.path()), Some(driver.clone()));
    assert_eq!(trtctl::gpu::preload_libcuda(root.path()), Some(driver));
    match trtctl::gpu::GpuInventory::detect().source {
        trtctl::gpu::GpuSource::Unavailable { reason } => {
            assert!(reason.contains("CUDA_ERROR_NO_DEVICE"), "{reason}")
        }
        other => panic!("the stand-in driver shows no GPU here, yet: {other:?}"),
    }
}
