//! Documented features that no other module exercises: each test fails when the behaviour its
//! docs describe breaks.

mod cli;
mod manifest;

use crate::common::project::{Project, succeeded};

pub const FP32_SM86: &str = "arcface/arcface_r100_v1.0_fp32_sm_86_10.3.0.trt";

/// arcface_r100 at fp16 and fp32 for sm_86; `tables` go before the model (`[builder]`, ...).
pub fn arcface(remote: Option<&str>, tables: &str) -> Project {
    let project = Project::new();
    project.add_model("arcface_r100");
    let remote = remote.map_or(String::new(), |url| format!("[remote]\nurl = \"{url}\"\n"));
    project.write_manifest(&format!(
        "trt_version = \"10.3.0\"\n{remote}{tables}\n[[model]]\nname = \"arcface_r100\"\nfamily = \"arcface\"\nonnx = \"models/arcface_r100.onnx\"\nversion = \"v1.0\"\nprecisions = [\"fp16\", \"fp32\"]\narchs = [\"sm_86\"]\nbatch = {{ min = 1, opt = 8, max = 16 }}\n"
    ));
    project
}

/// The stdout of `cmd` run with `args`, which must succeed.
pub fn ok(mut cmd: assert_cmd::Command, args: &[&str]) -> String {
    succeeded(&cmd.args(args).output().unwrap())
}

/// Makes a key with `trtctl key generate`; returns the secret key file and the public key.
pub fn generate(project: &Project, name: &str) -> (std::path::PathBuf, String) {
    std::fs::create_dir_all(project.path().join("keys")).unwrap();
    let file = project.path().join(format!("keys/{name}.key"));
    let out = project
        .trtctl()
        .args(["key", "generate", name, "--out"])
        .arg(&file)
        .output()
        .unwrap();
    (file, succeeded(&out).trim().to_string())
}
