//! Two machines sharing a remote through the real binary: one builds and uploads, the other
//! fetches. Every case runs against a real S3 server (s3s-fs, signatures checked) and against
//! a `file://` remote.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::common::backend::{BUCKET, Backend};
use crate::common::faulty::{FaultyProxy, Gate, ProxyOptions};
use crate::common::fleet::{ENGINE, Fleet, both};
use crate::common::project::{plan_bytes, stderr_of, stdout_of, succeeded};
use crate::common::s3::{ACCESS_KEY, S3Server, SECRET_KEY};

#[test]
fn what_one_machine_builds_the_other_fetches() {
    both(|fleet| {
        let a = fleet
            .machine("a")
            .args(["apply", "--gpu-arch", "sm_86"])
            .output()
            .unwrap();
        succeeded(&a);
        assert!(
            stdout_of(&a).contains("1 built") && stdout_of(&a).contains("1 uploaded"),
            "{}",
            stdout_of(&a)
        );
        assert!(fleet.backend.object(ENGINE).is_file());
        assert!(fleet.backend.object(&format!("{ENGINE}.json")).is_file());

        let plan = fleet.machine("b").arg("plan").output().unwrap();
        assert!(stdout_of(&plan).contains("↓ fetch"), "{}", stdout_of(&plan));
        fleet.project.clear_builds();
        let b = fleet.machine("b").arg("apply").output().unwrap();
        succeeded(&b);
        assert!(
            stdout_of(&b).contains("0 built, 1 fetched from remote"),
            "{}",
            stdout_of(&b)
        );
        assert!(
            fleet.project.builds().is_empty(),
            "machine B built: {:?}",
            fleet.project.builds()
        );
        let ours = std::fs::read(fleet.cache("b").join(ENGINE)).unwrap();
        assert_eq!(ours, std::fs::read(fleet.cache("a").join(ENGINE)).unwrap());
    });
}

#[test]
fn a_corrupted_remote_engine_is_refused_and_nothing_is_cached() {
    both(|fleet| {
        fleet
            .machine("a")
            .args(["apply", "--gpu-arch", "sm_86"])
            .assert()
            .success();
        let object = fleet.backend.object(ENGINE);
        let mut bytes = std::fs::read(&object).unwrap();
        bytes[10] ^= 0xff;
        std::fs::write(&object, bytes).unwrap();
        let b = fleet.machine("b").arg("apply").output().unwrap();
        assert_eq!(b.status.code(), Some(1));
        let out = stdout_of(&b);
        assert!(
            out.contains("downloaded bytes do not match the sidecar"),
            "{out}"
        );
        assert!(
            out.contains("arcface/arcface_r100_v1.0_fp16_sm_86_10.3.0.trt"),
            "{out}"
        );
        assert!(
            !fleet.cache("b").join(ENGINE).exists(),
            "a corrupt engine reached the cache"
        );
        let leftovers: Vec<_> = std::fs::read_dir(fleet.cache("b").join("arcface"))
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    });
}

#[test]
fn racing_uploaders_publish_one_engine_and_both_succeed() {
    both(|fleet| {
        fleet
            .machine("a")
            .args(["apply", "--gpu-arch", "sm_86"])
            .assert()
            .success();
        // Machines B and C both hold the engine and both find the remote empty.
        for name in ["b", "c"] {
            std::fs::create_dir_all(fleet.cache(name).join("arcface")).unwrap();
            for file in [ENGINE.to_string(), format!("{ENGINE}.json")] {
                std::fs::copy(fleet.cache("a").join(&file), fleet.cache(name).join(&file)).unwrap();
            }
        }
        for file in [ENGINE.to_string(), format!("{ENGINE}.json")] {
            std::fs::remove_file(fleet.backend.object(&file)).unwrap();
        }
        // On S3 both claims of the engine's upload lease are held until both are in flight: both
        // planned the upload before either published.
        let gated = match &fleet.backend {
            Backend::S3(server) => Some(FaultyProxy::start_with(
                &server.endpoint,
                ProxyOptions {
                    gate: Some(Gate {
                        needle: ".lease",
                        count: 2,
                        within: Duration::from_secs(20),
                    }),
                    ..ProxyOptions::latency(Duration::ZERO)
                },
            )),
            Backend::Dir(_) => None,
        };
        let spawn = |name: &str| {
            let mut cmd = fleet.project.process_with_remote(&fleet.backend);
            cmd.env("TENSORRT_CACHE_DIR", fleet.cache(name))
                .arg("apply");
            if let Some(proxy) = &gated {
                cmd.env("ARTIFACTS_ENDPOINT", &proxy.endpoint);
            }
            cmd.stdout(std::process::Stdio::piped()).spawn().unwrap()
        };
        let (b, c) = (spawn("b"), spawn("c"));
        let outputs = [b.wait_with_output().unwrap(), c.wait_with_output().unwrap()];
        let mut uploaded = 0;
        for output in &outputs {
            uploaded += usize::from(succeeded(output).contains(" 1 uploaded"));
        }
        let both_said = format!("{}\n{}", stdout_of(&outputs[0]), stdout_of(&outputs[1]));
        assert_eq!(uploaded, 1, "{both_said}");
        if let Some(proxy) = &gated {
            assert_eq!(
                proxy.stats.gate_timeouts.load(Ordering::SeqCst),
                0,
                "{both_said}"
            );
        }
        // The race was run: the other one planned the upload too, and found it done.
        assert!(
            both_said.contains("ok (already uploaded by another builder)"),
            "{both_said}"
        );
        let remote = std::fs::read(fleet.backend.object(ENGINE)).unwrap();
        assert_eq!(
            remote,
            std::fs::read(fleet.cache("a").join(ENGINE)).unwrap()
        );
        assert!(fleet.backend.object(&format!("{ENGINE}.json")).is_file());
    });
}

#[test]
fn no_credentials_means_no_uploads() {
    let fleet = Fleet::new(Backend::S3(S3Server::start_public_read(
        ACCESS_KEY, SECRET_KEY, BUCKET,
    )));
    let mut cmd = fleet.project.trtctl();
    cmd.env("TENSORRT_CACHE_DIR", fleet.cache("a"));
    let Backend::S3(server) = &fleet.backend else {
        unreachable!()
    };
    cmd.env("ARTIFACTS_ENDPOINT", &server.endpoint);
    let output = cmd
        .args(["plan", "--gpu-arch", "sm_86", "--json"])
        .output()
        .unwrap();
    let plan: serde_json::Value = serde_json::from_str(&succeeded(&output)).unwrap();
    assert_eq!(plan["remote"]["writable"], false);
    assert_eq!(plan["steps"][0]["decision"]["action"], "build");
    assert_eq!(plan["steps"][0]["decision"]["upload"], false);
}

#[test]
fn a_wrong_secret_is_one_clear_line_without_the_secret() {
    let fleet = Fleet::new(Backend::s3());
    let wrong = "definitely-not-the-secret-1234";
    let output = fleet
        .machine("a")
        .env("ARTIFACTS_SECRET_KEY", wrong)
        .args(["plan", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = stderr_of(&output);
    assert_eq!(err.trim().lines().count(), 1, "not one line: {err}");
    assert!(
        err.contains("; check ARTIFACTS_ACCESS_KEY / ARTIFACTS_SECRET_KEY"),
        "{err}"
    );
    assert!(
        !err.contains(wrong) && !stdout_of(&output).contains(wrong),
        "the secret leaked: {err}"
    );
    assert!(!err.contains(SECRET_KEY));
}

#[test]
fn an_upper_case_scheme_works_and_a_bucket_in_the_endpoint_is_named() {
    let fleet = Fleet::new(Backend::s3());
    let Backend::S3(server) = &fleet.backend else {
        unreachable!()
    };
    let upper = server.endpoint.replacen("http://", "HTTP://", 1);
    let apply = fleet
        .machine("a")
        .env("ARTIFACTS_ENDPOINT", &upper)
        .args(["apply", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    succeeded(&apply);
    assert!(fleet.backend.object(&format!("{ENGINE}.json")).is_file());
    let with_bucket = format!("{}/{BUCKET}", server.endpoint);
    let plan = fleet
        .machine("b")
        .env("ARTIFACTS_ENDPOINT", &with_bucket)
        .args(["plan", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    assert_eq!(plan.status.code(), Some(1));
    let err = stderr_of(&plan);
    assert!(err.contains(&format!("has a path (`/{BUCKET}`)")), "{err}");
    assert!(!err.contains("NoSuchKey"), "{err}");
}

#[test]
fn a_legacy_engine_without_sidecar_is_fetched_and_kept() {
    both(|fleet| {
        let legacy = fleet.backend.object(ENGINE);
        std::fs::create_dir_all(legacy.parent().unwrap()).unwrap();
        let bytes = plan_bytes([10, 3, 0, 26], b"engine built by the earlier python tool");
        std::fs::write(&legacy, &bytes).unwrap();
        let plan = fleet
            .machine("a")
            .args(["plan", "--gpu-arch", "sm_86"])
            .output()
            .unwrap();
        assert!(
            stdout_of(&plan).contains(
                "↓ fetch              arcface_r100_v1.0_fp16_sm_86_10.3.0.trt (legacy, unverified)"
            ),
            "{}",
            stdout_of(&plan)
        );
        fleet
            .machine("a")
            .args(["apply", "--gpu-arch", "sm_86"])
            .assert()
            .success();
        assert!(fleet.project.builds().is_empty());
        assert_eq!(std::fs::read(fleet.cache("a").join(ENGINE)).unwrap(), bytes);
        let again = fleet
            .machine("a")
            .args(["plan", "--gpu-arch", "sm_86"])
            .output()
            .unwrap();
        assert!(
            stdout_of(&again).contains(
                "= up to date         arcface_r100_v1.0_fp16_sm_86_10.3.0.trt (legacy, unverified)"
            ),
            "{}",
            stdout_of(&again)
        );
        assert_eq!(std::fs::read(&legacy).unwrap(), bytes);
        assert!(
            !fleet.backend.object(&format!("{ENGINE}.json")).exists(),
            "the legacy engine was overwritten"
        );
    });
}

#[test]
fn an_unreachable_endpoint_says_what_to_check() {
    let fleet = Fleet::new(Backend::s3());
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let output = fleet
        .machine("a")
        .env("ARTIFACTS_ENDPOINT", format!("http://{closed}"))
        .args(["plan", "--gpu-arch", "sm_86"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr_of(&output).contains("ARTIFACTS_ENDPOINT"),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn no_upload_builds_and_publishes_nothing_until_asked() {
    both(|fleet| {
        let plan = fleet
            .machine("a")
            .args(["plan", "--gpu-arch", "sm_86", "--no-upload"])
            .output()
            .unwrap();
        assert!(
            stdout_of(&plan).contains("+ build") && !stdout_of(&plan).contains("then upload"),
            "{}",
            stdout_of(&plan)
        );
        let a = fleet
            .machine("a")
            .args(["apply", "--gpu-arch", "sm_86", "--no-upload"])
            .output()
            .unwrap();
        succeeded(&a);
        assert!(stdout_of(&a).contains("1 built"), "{}", stdout_of(&a));
        assert!(!fleet.backend.object(ENGINE).exists());
        assert!(!fleet.backend.object(&format!("{ENGINE}.lease")).exists());

        let again = fleet
            .machine("a")
            .args(["plan", "--gpu-arch", "sm_86", "--no-upload"])
            .output()
            .unwrap();
        assert!(
            stdout_of(&again).contains("not uploaded (--no-upload)"),
            "{}",
            stdout_of(&again)
        );
        let publish = fleet
            .machine("a")
            .args(["apply", "--gpu-arch", "sm_86"])
            .output()
            .unwrap();
        assert!(
            stdout_of(&publish).contains("1 uploaded"),
            "{}",
            stdout_of(&publish)
        );
        assert!(fleet.backend.object(&format!("{ENGINE}.json")).is_file());
    });
}

#[test]
fn apply_repairs_a_truncated_engine_the_plan_fetches() {
    both(|fleet| {
        fleet
            .machine("a")
            .args(["apply", "--gpu-arch", "sm_86"])
            .assert()
            .success();
        let cached = fleet.cache("a").join(ENGINE);
        let whole = std::fs::read(&cached).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&cached)
            .unwrap()
            .set_len(100)
            .unwrap();
        let plan = fleet.machine("a").arg("plan").output().unwrap();
        let planned = stdout_of(&plan);
        assert!(
            planned.contains("↓ fetch")
                && planned.contains("(sidecar unusable: engine is 100 bytes"),
            "{planned}"
        );
        let apply = fleet.machine("a").arg("apply").output().unwrap();
        let out = succeeded(&apply);
        assert!(out.contains("1 fetched"), "{out}");
        assert!(!out.contains("by another process"), "{out}");
        assert_eq!(std::fs::read(&cached).unwrap(), whole, "left truncated");
        let again = fleet.machine("a").arg("plan").output().unwrap();
        assert!(
            stdout_of(&again).contains("= up to date"),
            "{}",
            stdout_of(&again)
        );
    });
}
