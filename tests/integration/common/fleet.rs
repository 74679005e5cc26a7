//! Several "machines" sharing a remote: one project and manifest, a cache dir per machine, and
//! the backend's environment on every command.

use std::path::PathBuf;

use super::backend::{Backend, on_both};
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
        let project = Project::new();
        project.add_model("arcface_r100");
        let archs = archs
            .iter()
            .map(|a| format!("\"{a}\""))
            .collect::<Vec<_>>()
            .join(", ");
        project.write_manifest(&format!(
            "trt_version = \"10.3.0\"\n[remote]\nurl = \"{}\"\npart_size_mib = 5\n[[model]]\nname = \"arcface_r100\"\nfamily = \"arcface\"\nonnx = \"models/arcface_r100.onnx\"\nversion = \"v1.0\"\nprecisions = [\"fp16\"]\narchs = [{archs}]\nbatch = {{ min = 1, opt = 8, max = 16 }}\n",
            backend.url()
        ));
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
