//! CI and a deploy host around one remote: CI has the ONNX files and the stand-in trtexec and
//! builds, uploads and locks; the deploy host has only engines.toml and engines.lock.

use std::path::{Path, PathBuf};

use super::backend::Backend;
use super::manifest::{Manifest, Model};
use super::project::{Project, succeeded};

/// arcface_r100 (declared version, batch 1..16) × fp16/fp32 × sm_86/sm_89: four engines.
pub const FP16_SM86: &str = "arcface/arcface_r100_v1.0_fp16_sm_86_10.3.0.trt";

pub struct Stage {
    pub ci: Project,
    pub host: Project,
    pub backend: Backend,
}

impl Stage {
    pub fn new(backend: Backend) -> Stage {
        let manifest = Manifest::new("10.3.0")
            .remote(&backend.url())
            .model(Model::arcface(&["fp16", "fp32"], &["sm_86", "sm_89"]).batch(1, 8, 16));
        let ci = Project::with_manifest(&manifest);
        let host = Project::new();
        host.write_manifest(&manifest.text());
        Stage { ci, host, backend }
    }

    /// `trtctl` on the CI machine (GPUs of both archs simulated).
    pub fn ci(&self) -> assert_cmd::Command {
        let mut cmd = self.ci.with_remote(&self.backend);
        cmd.env("TRTCTL_GPU_ARCH", "sm_86,sm_89");
        cmd
    }

    /// `trtctl` on the deploy host: no ONNX files, no trtexec anywhere, an empty cache.
    pub fn host(&self) -> assert_cmd::Command {
        let mut cmd = self.host.with_remote(&self.backend);
        cmd.env("TRTEXEC", "/nonexistent/trtexec")
            .env("PATH", "/usr/bin:/bin");
        cmd
    }

    /// CI builds, uploads and writes the lock; the host gets a copy of it.
    pub fn build_and_lock(&self) {
        let out = self.ci().arg("apply").output().unwrap();
        succeeded(&out);
        std::fs::copy(self.ci_lock(), self.host_lock()).unwrap();
    }

    pub fn ci_lock(&self) -> PathBuf {
        self.ci.path().join("engines.lock")
    }

    pub fn host_lock(&self) -> PathBuf {
        self.host.path().join("engines.lock")
    }

    /// The CI machine's cached copy of an engine.
    pub fn ci_engine(&self, key: &str) -> Vec<u8> {
        std::fs::read(self.ci.cache().join(key)).unwrap()
    }

    pub fn host_engine(&self, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.host.cache().join(key)).ok()
    }

    pub fn remote_object(&self, key: &str) -> PathBuf {
        self.backend.object(key)
    }
}

pub fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from:?} not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}
