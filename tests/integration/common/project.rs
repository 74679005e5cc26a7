//! A throwaway project for driving the real `trtctl` binary: a manifest, ONNX models, a cache
//! dir, the stand-in trtexec and the stand-in CUDA driver, with an environment that nothing on
//! the host leaks into.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

use super::backend::Remote;
use super::manifest::Manifest;

pub const TINY_ONNX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models/arcface_r100.onnx");
/// Two models × fp16/fp32 × sm_86: four engines, one of them with a batch range.
pub const TWO_MODELS_SM86: &str = r#"
trt_version = "10.3.0"

[defaults]
precisions = ["fp16", "fp32"]
archs = ["sm_86"]

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

/// `trtctl ensure` of the tiny model at fp16, the seed's default batch and version `v1.0`.
pub const ENSURE_ARCFACE: [&str; 9] = [
    "ensure",
    "--onnx",
    "models/arcface_r100.onnx",
    "--precision",
    "fp16",
    "--batch-size",
    "32",
    "--version",
    "v1.0",
];

pub const STUB_TRTEXEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/trtexec");

/// Variables of the host that would change what trtctl does (and every `STUB_*` variable, which
/// steers the stand-ins: see [`remove_stub_vars`]).
const SCRUBBED: &[&str] = &[
    "TENSORRT_CACHE_DIR",
    "TRTCTL_GPU_ARCH",
    "TRTCTL_TRT_VERSION",
    "TRTCTL_REMOTE",
    "TRTEXEC",
    "ARTIFACTS_ENDPOINT",
    "ARTIFACTS_ACCESS_KEY",
    "ARTIFACTS_SECRET_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_STS",
    "TRTCTL_REMOTE_EMBEDDED",
    "NO_COLOR",
    "TRTCTL_TRUSTED_KEYS",
    "TRTCTL_SIGNING_KEY_FILE",
    "CUDA_VISIBLE_DEVICES",
    "TRTCTL_GPU_MODEL",
    "TRTCTL_PYTHON",
    "PYTHONPATH",
];

pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("models")).unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        std::fs::create_dir_all(dir.path().join("runs")).unwrap();
        Project { dir }
    }

    /// A project with the tiny model copied in as each of `models` and `manifest` written.
    pub fn with_models(models: &[&str], manifest: &str) -> Project {
        let project = Project::with_onnx(models);
        project.write_manifest(manifest);
        project
    }

    /// A project with the tiny model copied in as each of `models`, and no manifest.
    pub fn with_onnx(models: &[&str]) -> Project {
        let project = Project::new();
        for name in models {
            project.add_model(name);
        }
        project
    }

    /// A project with `manifest` written, and the tiny model in for each of its models that
    /// reads the usual `models/{name}.onnx`.
    pub fn with_manifest(manifest: &Manifest) -> Project {
        let models: Vec<&str> = manifest.usual_onnx_names().collect();
        Project::with_models(&models, &manifest.text())
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn cache(&self) -> PathBuf {
        self.path().join("cache")
    }

    /// Copies the tiny ONNX model in as `models/{name}.onnx`.
    pub fn add_model(&self, name: &str) -> PathBuf {
        let path = self.path().join("models").join(format!("{name}.onnx"));
        std::fs::copy(TINY_ONNX, &path).unwrap();
        path
    }

    /// Changes the model's bytes while keeping it valid ONNX: a repeated protobuf field
    /// (ModelProto.model_version) overrides the earlier one.
    pub fn touch_model(&self, name: &str, version: u8) {
        let path = self.path().join("models").join(format!("{name}.onnx"));
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(&[0x28, version]);
        std::fs::write(path, bytes).unwrap();
    }

    pub fn write_manifest(&self, text: &str) -> PathBuf {
        let path = self.path().join("engines.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `trtctl` in the project dir, with a scrubbed environment and the stand-in trtexec.
    pub fn trtctl(&self) -> Command {
        Command::from_std(self.trtctl_process())
    }

    /// The same as [`Project::trtctl`], for tests that spawn and kill it.
    pub fn trtctl_process(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("trtctl"));
        for var in SCRUBBED {
            cmd.env_remove(var);
        }
        remove_stub_vars(&mut cmd, std::env::vars_os().map(|(name, _)| name));
        cmd.current_dir(self.path())
            .env("HOME", self.path().join("home"))
            .env("TENSORRT_CACHE_DIR", self.cache())
            .env("TRTEXEC", STUB_TRTEXEC)
            .env("STUB_COUNT_DIR", self.path().join("runs"))
            // The stand-in CUDA driver, showing no GPU until a test sets STUB_CUDA_GPUS: a
            // host's real GPUs never steer a test.
            .env("LD_LIBRARY_PATH", super::cuda::stub_libcuda_dir())
            // Never a packet to the real metadata address, even on an EC2 test host; tests
            // of the instance role point it at their own responder.
            .env("AWS_EC2_METADATA_DISABLED", "true");
        cmd
    }

    /// [`Project::trtctl`] reaching `remote`: its endpoint and keys in the environment.
    pub fn with_remote(&self, remote: &impl Remote) -> Command {
        Command::from_std(self.process_with_remote(remote))
    }

    /// The same as [`Project::with_remote`], for tests that spawn it.
    pub fn process_with_remote(&self, remote: &impl Remote) -> std::process::Command {
        let mut cmd = self.trtctl_process();
        cmd.envs(remote.remote_env());
        cmd
    }

    /// The same as [`Project::trtctl_process`], run under `umask` as a shell's `umask` would.
    pub fn trtctl_under_umask(&self, umask: u32) -> std::process::Command {
        use std::os::unix::process::CommandExt;
        let mut cmd = self.trtctl_process();
        // SAFETY: umask(2) is async-signal-safe and changes only the child's own mask.
        unsafe {
            cmd.pre_exec(move || {
                libc::umask(umask as libc::mode_t);
                Ok(())
            });
        }
        cmd
    }

    /// `trtctl ensure` of `onnx` at fp16 and the seed's default batch (32, so the seed's name), for
    /// a simulated sm_86 GPU.
    pub fn ensure(&self, onnx: &str) -> Command {
        let mut cmd = self.trtctl();
        cmd.args([
            "ensure",
            "--onnx",
            onnx,
            "--precision",
            "fp16",
            "--batch-size",
            "32",
        ])
        .args(["--gpu-arch", "sm_86"]);
        cmd
    }

    /// The builds the stand-in trtexec ran, one `onnx engine device pid` line each.
    pub fn builds(&self) -> Vec<String> {
        std::fs::read_to_string(self.path().join("runs/runs.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub fn clear_builds(&self) {
        let _ = std::fs::remove_file(self.path().join("runs/runs.log"));
    }

    /// Every committed engine in the cache: `family/file` names with a sidecar beside them.
    pub fn cached(&self) -> Vec<String> {
        let mut found = Vec::new();
        let Ok(families) = std::fs::read_dir(self.cache()) else {
            return found;
        };
        for family in families.flatten() {
            let name = family.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name == "logs" || name == "timing" {
                continue;
            }
            for file in std::fs::read_dir(family.path()).unwrap().flatten() {
                let file = file.file_name().to_string_lossy().into_owned();
                if file.ends_with(".trt") && family.path().join(format!("{file}.json")).exists() {
                    found.push(format!("{name}/{file}"));
                }
            }
        }
        found.sort();
        found
    }

    /// Replaces the temp dir's path in output, so snapshots hold on every machine.
    pub fn redact(&self, text: &str) -> String {
        text.replace(&self.path().display().to_string(), "[PROJECT]")
    }
}

/// The stand-in trtexec itself, run in `dir` with no `STUB_*` variable of the host.
pub fn stand_in_trtexec(dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(STUB_TRTEXEC);
    cmd.current_dir(dir);
    remove_stub_vars(&mut cmd, std::env::vars_os().map(|(name, _)| name));
    cmd
}

/// Removes each `STUB_*` variable among `host_vars` from `cmd`: a stand-in's knob set in the
/// developer's shell, today's or one added later, never changes a test.
fn remove_stub_vars(
    cmd: &mut std::process::Command,
    host_vars: impl Iterator<Item = std::ffi::OsString>,
) {
    for name in host_vars {
        if name.to_string_lossy().starts_with("STUB_") {
            cmd.env_remove(name);
        }
    }
}

/// The bytes of a TensorRT plan made by `trt` (major, minor, patch, build), as its 28-byte
/// header says, followed by `payload`: an engine written by some other tool than trtctl.
pub fn plan_bytes(trt: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut bytes = b"ftrt".to_vec();
    bytes.extend([0; 20]);
    bytes.extend(trt);
    bytes.extend(payload);
    bytes
}

pub fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Both streams, stdout first: where a test looks for a message, not for which stream has it.
pub fn all_output(output: &std::process::Output) -> String {
    format!("{}{}", stdout_of(output), stderr_of(output))
}

pub fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The stdout of a command that must have succeeded; both streams are shown when it did not.
pub fn succeeded(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "{}{}",
        stdout_of(output),
        stderr_of(output)
    );
    stdout_of(output)
}

#[test]
fn every_stub_variable_of_the_host_is_removed() {
    let mut cmd = std::process::Command::new("true");
    let host = ["STUB_SLEEP", "STUB_NOT_YET_INVENTED", "PATH", "NOT_STUB_X"];
    remove_stub_vars(&mut cmd, host.iter().map(std::ffi::OsString::from));
    let mut removed: Vec<_> = cmd
        .get_envs()
        .filter(|(_, value)| value.is_none())
        .map(|(name, _)| name.to_string_lossy().into_owned())
        .collect();
    removed.sort();
    assert_eq!(removed, ["STUB_NOT_YET_INVENTED", "STUB_SLEEP"]);
}
