//! `trtctl ensure`: the seed's one-engine call from the command line — its default remote, the
//! expert flags, and several processes asking for one engine at once.

use std::process::Output;

use crate::common::project::{Project, stderr_of, succeeded};
use crate::common::s3::S3Server;

const ENGINE: &str = "arcface/arcface_r100_v1.0_fp16_sm_86_10.3.0.trt";

fn project() -> Project {
    Project::with_onnx(&["arcface_r100"])
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
    let stdout = succeeded(output);
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

/// Whether process `pid` is blocked waiting for a `flock` (a `->` line of /proc/locks).
fn blocked_on_a_lock(pid: u32) -> bool {
    let pid = pid.to_string();
    let locks = std::fs::read_to_string("/proc/locks").unwrap();
    locks.lines().any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.get(1) == Some(&"->") && fields.contains(&pid.as_str())
    })
}

#[test]
fn of_two_processes_asking_at_once_only_the_builder_says_built() {
    let project = project();
    // The stand-in's barrier as a gate: the build waits for a second arrival, which this test
    // supplies once the second process is seen waiting for the engine's lock.
    let gate = project.path().join("gate");
    std::fs::create_dir(&gate).unwrap();
    let spawn = || {
        let mut cmd = project.trtctl_process();
        cmd.env("TRTCTL_TRT_VERSION", "10.3.0")
            .env("STUB_BARRIER", format!("{}:2", gate.display()))
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
    let until = |what: &str, event: &mut dyn FnMut() -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !event() {
            assert!(std::time::Instant::now() < deadline, "never: {what}");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    };
    let first = spawn();
    until("the first build started", &mut || {
        project.builds().len() == 1
    });
    let mut second = spawn();
    until("the second process waits for the lock", &mut || {
        assert!(
            second.try_wait().unwrap().is_none(),
            "the second process finished without waiting for the first"
        );
        blocked_on_a_lock(second.id())
    });
    std::fs::write(gate.join("open"), "").unwrap();
    let mut sources: Vec<String> = [first, second]
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

/// A remote endpoint on 127.0.0.1 that accepts connections and never answers, holding each one
/// open: the remote client's own timeout (120 s) is the only way out of a request to it.
struct SilentEndpoint {
    url: String,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl SilentEndpoint {
    fn start() -> SilentEndpoint {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = std::sync::Arc::clone(&accepted);
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                held.push(stream);
            }
        });
        SilentEndpoint { url, accepted }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The seed's remote at this endpoint, with keys, as a service would set it.
    fn env(&self) -> [(&'static str, String); 3] {
        [
            ("ARTIFACTS_ENDPOINT", self.url.clone()),
            ("ARTIFACTS_ACCESS_KEY", "silent-access".into()),
            ("ARTIFACTS_SECRET_KEY", "silent-secret".into()),
        ]
    }
}

/// Far below the remote client's 120 s timeout, far above the few seconds a stop takes: ending
/// before it means the deadline or the signal ended the command, not the remote's own error.
const WELL_BEFORE_THE_CLIENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

#[test]
fn a_timeout_interrupts_planning_against_a_remote_that_never_answers() {
    let project = project();
    let silent = SilentEndpoint::start();
    let started = std::time::Instant::now();
    let out = ensure(&project, &["--timeout", "3"], &silent.env());
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("gave up after 3s (the timeout)"),
        "{}",
        stderr_of(&out)
    );
    assert!(silent.accepted() > 0, "the remote was never asked");
    assert!(took < WELL_BEFORE_THE_CLIENT_TIMEOUT, "took {took:?}");
    assert!(project.builds().is_empty() && project.cached().is_empty());
}

#[test]
fn ctrl_c_and_sigterm_interrupt_planning_against_a_remote_that_never_answers() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let project = project();
        let silent = SilentEndpoint::start();
        let mut cmd = project.trtctl_process();
        cmd.env("TRTCTL_TRT_VERSION", "10.3.0")
            .envs(silent.env())
            .args(["ensure", "--onnx", "models/arcface_r100.onnx"])
            .args(["--precision", "fp16", "--batch-size", "32"])
            .args(["--version", "v1.0", "--gpu-arch", "sm_86"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let child = cmd.spawn().unwrap();
        // Signalled once the remote holds a request of its: the plan is waiting on it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while silent.accepted() == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(silent.accepted() > 0, "the remote was never asked");
        let signalled = std::time::Instant::now();
        // SAFETY: signals a child this test spawned and has not reaped yet.
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        let out = child.wait_with_output().unwrap();
        let took = signalled.elapsed();
        assert_eq!(
            out.status.code(),
            Some(130),
            "{signal}: {}",
            stderr_of(&out)
        );
        assert!(
            stderr_of(&out).contains("interrupted; nothing half-written was committed"),
            "{}",
            stderr_of(&out)
        );
        assert!(took < WELL_BEFORE_THE_CLIENT_TIMEOUT, "took {took:?}");
        assert!(project.builds().is_empty() && project.cached().is_empty());
    }
}
