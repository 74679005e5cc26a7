//! What the benchmarks share: timing one child process with its rusage, medians, the
//! environment knobs and the AWS CLI run against the test S3 server.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Instant;

use trtctl::store::remote::RemoteEnv;
use trtctl::workspace::Environment;

use crate::s3::{ACCESS_KEY, S3Server, SECRET_KEY};

/// `struct rusage` on 64-bit Linux: two `timeval`s, then 14 `long`s.
#[repr(C)]
#[derive(Default)]
struct Rusage {
    utime: [i64; 2],
    stime: [i64; 2],
    rest: [i64; 14],
}

unsafe extern "C" {
    fn wait4(pid: i32, status: *mut i32, options: i32, rusage: *mut Rusage) -> i32;
    fn sync();
}

/// Flushes every dirty page first, so no run pays for the previous run's writeback.
fn settle_disk() {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { sync() };
}

/// One finished process: wall time, peak RSS, user + system CPU, and the CPU that other
/// processes of the machine used meanwhile (noise: a figure with much of it is not one to quote).
#[derive(Clone, Copy)]
pub struct Sample {
    pub seconds: f64,
    pub rss_mib: f64,
    pub cpu_seconds: f64,
    pub other_cpu: f64,
    /// CPU this process used meanwhile: an in-process server's work for the command.
    pub in_process_cpu: f64,
}

/// (CPU seconds the whole machine was busy, CPU seconds of this process and its reaped
/// children: the server, and the measured child once `wait4` returned), from /proc in USER_HZ.
fn cpu_clock() -> (f64, f64) {
    const USER_HZ: f64 = 100.0;
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let machine: u64 = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .take(8)
        .enumerate()
        // user nice system [idle iowait] irq softirq steal
        .filter(|(i, _)| !matches!(i, 3 | 4))
        .filter_map(|(_, v)| v.parse::<u64>().ok())
        .sum();
    let me = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let ours: u64 = me
        .rsplit_once(") ")
        .map(|(_, rest)| {
            rest.split_whitespace()
                .skip(11)
                .take(4) // utime stime cutime cstime
                .filter_map(|v| v.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    (machine as f64 / USER_HZ, ours as f64 / USER_HZ)
}

/// CPU seconds used by everything but this process tree since `since`.
fn others_since(since: (f64, f64)) -> f64 {
    let now = cpu_clock();
    ((now.0 - since.0) - (now.1 - since.1)).max(0.0)
}

/// Waits (up to a minute) for half a second in which other processes use under 5% of a core:
/// builds and tests of other people on a small machine skew every figure.
fn wait_for_quiet() {
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let since = cpu_clock();
        std::thread::sleep(std::time::Duration::from_millis(500));
        if others_since(since) < 0.025 || Instant::now() > deadline {
            return;
        }
    }
}

/// GNU time, which reports the peak RSS of a child it forked itself.
const GNU_TIME: &str = "/usr/bin/time";

/// Spawns `cmd` under GNU time, waits for it with `wait4` and returns its wall time, its peak
/// RSS and the CPU of it and its child. (`stdout` is discarded, `stderr` shown.) Without GNU
/// time the command runs directly and its peak RSS is not known (NaN).
///
/// The peak RSS cannot come from this process's `wait4`: a child spawned from here starts as
/// (or, with vfork, in) this process's address space, which holds the in-process S3 server,
/// and exec records that space's high-water mark as the child's, so every figure would read at
/// least this process's peak. GNU time is small when it forks the command.
// The child is reaped by wait4 (for its rusage), which clippy cannot see.
#[allow(clippy::zombie_processes)]
pub fn measure(cmd: &mut Command, what: &str) -> Sample {
    let report = tempfile::NamedTempFile::new().unwrap();
    let mut timed = match Path::new(GNU_TIME).exists() {
        true => {
            let mut timed = Command::new(GNU_TIME);
            timed
                .args(["-f", "%M", "-o"])
                .arg(report.path())
                .arg(cmd.get_program());
            timed
        }
        false => Command::new(cmd.get_program()),
    };
    timed
        .args(cmd.get_args())
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    for (name, value) in cmd.get_envs() {
        match value {
            Some(value) => timed.env(name, value),
            None => timed.env_remove(name),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        timed.current_dir(dir);
    }
    settle_disk();
    wait_for_quiet();
    let since = cpu_clock();
    let start = Instant::now();
    let child = timed.spawn().unwrap_or_else(|e| {
        panic!("cannot start {what} under {GNU_TIME} (apt-get install time): {e}")
    });
    let mut status = 0i32;
    let mut usage = Rusage::default();
    // SAFETY: waits for our own child, once; `status` and `usage` outlive the call.
    let pid = unsafe { wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let seconds = start.elapsed().as_secs_f64();
    assert_eq!(
        pid,
        child.id() as i32,
        "wait4: {}",
        std::io::Error::last_os_error()
    );
    let status = ExitStatus::from_raw(status);
    assert!(status.success(), "{what} failed: {status}");
    let peak_kib: f64 = std::fs::read_to_string(report.path())
        .ok()
        .and_then(|text| text.lines().last()?.trim().parse().ok())
        .unwrap_or(f64::NAN);
    let timeval = |t: [i64; 2]| t[0] as f64 + t[1] as f64 / 1e6;
    let cpu_seconds = timeval(usage.utime) + timeval(usage.stime);
    Sample {
        seconds,
        rss_mib: peak_kib / 1024.0,
        cpu_seconds,
        other_cpu: others_since(since),
        in_process_cpu: (cpu_clock().1 - since.1 - cpu_seconds).max(0.0),
    }
}

pub fn median(samples: &[Sample]) -> Sample {
    let pick = |f: fn(&Sample) -> f64| {
        let mut v: Vec<f64> = samples.iter().map(f).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    Sample {
        seconds: pick(|s| s.seconds),
        rss_mib: pick(|s| s.rss_mib),
        cpu_seconds: pick(|s| s.cpu_seconds),
        other_cpu: samples.iter().map(|s| s.other_cpu).fold(0.0, f64::max),
        in_process_cpu: pick(|s| s.in_process_cpu),
    }
}

pub fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number")),
        _ => default,
    }
}

pub fn find_aws() -> Option<PathBuf> {
    let candidate = std::env::var_os("AWSCLI")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("aws"));
    let works = Command::new(&candidate)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    works.then_some(candidate)
}

/// `aws --endpoint-url … s3 …` with the server's keys and a config of our own (path-style
/// addressing; nothing from the user's ~/.aws).
pub fn aws(aws: &Path, config_dir: &Path, server: &S3Server, args: &[&str]) -> Command {
    let config = config_dir.join("aws-config");
    if !config.exists() {
        std::fs::write(
            &config,
            "[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n",
        )
        .unwrap();
    }
    let mut cmd = Command::new(aws);
    cmd.args(["--endpoint-url", &server.endpoint])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", config_dir.join("none"))
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    for var in [
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// The `trtctl` binary in `dir` against `server`, as a user runs it: nothing of the host's
/// environment that would change what it does, output discarded.
pub fn trtctl(dir: &Path, server: &S3Server, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trtctl"));
    cmd.current_dir(dir)
        .args(args)
        .envs(server.env_vars())
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    for var in [
        "TENSORRT_CACHE_DIR",
        "TRTCTL_GPU_ARCH",
        "TRTCTL_TRT_VERSION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// The library's view of a machine with a GPU of `arch` and `server`'s keys.
pub fn environment(server: &S3Server, arch: &str) -> Environment {
    Environment {
        gpu_archs: vec![arch.parse().unwrap()],
        remote: RemoteEnv::from_lookup(|name| {
            server
                .env_vars()
                .into_iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v)
        }),
        ..Environment::default()
    }
}
