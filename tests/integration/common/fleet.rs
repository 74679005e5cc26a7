//! Several "machines" sharing a remote: one project and manifest, a cache dir per machine, and
//! the backend's environment on every command.

use std::path::PathBuf;

use super::backend::{Backend, on_both};
use super::manifest::{Manifest, Model};
use super::project::Project;

pub const ENGINE: &str = "arcface/arcface_r100_v1.0_fp16_sm_86_10.3.0.trt";

pub struct Fleet {
    pub project: Project,
    pub backend: Backend,
}

impl Fleet {
    /// One model at fp16 for sm_86.
    pub fn new(backend: Backend) -> Fleet {
        Fleet::with_archs(backend, &["sm_86"])
    }

    pub fn with_archs(backend: Backend, archs: &[&str]) -> Fleet {
        let project = Project::with_manifest(
            &Manifest::new("10.3.0")
                .remote(&backend.url())
                .raw("part_size_mib = 5\n")
                .model(Model::arcface(&["fp16"], archs).batch(1, 8, 16)),
        );
        Fleet { project, backend }
    }

    pub fn machine(&self, name: &str) -> assert_cmd::Command {
        let mut cmd = self.project.with_remote(&self.backend);
        cmd.env("TENSORRT_CACHE_DIR", self.cache(name));
        cmd
    }

    pub fn cache(&self, name: &str) -> PathBuf {
        self.project.path().join(format!("cache-{name}"))
    }
}

/// The test against a real S3 server, then against a `file://` remote.
pub fn both(test: impl Fn(Fleet)) {
    on_both(Fleet::new, test);
}
