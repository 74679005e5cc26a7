//! Refitting a weight-stripped plan with the weights of an ONNX of its graph: trtexec's
//! `--loadEngine=PLAN --refitFromOnnx=ONNX --saveEngine=ENGINE` (TensorRT 10.14 and later).
//! A refit holds one GPU for a fraction of a build.

use std::path::PathBuf;

use futures::future::BoxFuture;

use super::trtexec::Trtexec;
use super::{BuildError, Builder, Built, run_logged_to};
/// One refit, with where everything goes.
#[derive(Debug, Clone)]
pub struct RefitJob {
    /// The engine's name, for messages.
    pub engine: String,
    /// The weight-stripped plan, read only.
    pub plan: PathBuf,
    /// The ONNX whose weights go in: of the plan's graph.
    pub onnx: PathBuf,
    /// The temp file the refitted engine is written to; committed by the caller.
    pub output: PathBuf,
    pub log: PathBuf,
    /// Index of the GPU that refits.
    pub device: u32,
}

impl Trtexec {
    /// The argv of one refit.
    pub fn refit_args(&self, job: &RefitJob) -> Vec<String> {
        vec![
            format!("--loadEngine={}", job.plan.display()),
            format!("--refitFromOnnx={}", job.onnx.display()),
            format!("--saveEngine={}", job.output.display()),
            "--skipInference".into(),
            format!("--device={}", job.device),
        ]
    }

    /// Runs one refit; what TensorRT version may refit was checked with the build inputs
    /// ([`Builder::check`]).
    pub(super) fn run_refit<'a>(
        &'a self,
        job: &'a RefitJob,
    ) -> BoxFuture<'a, Result<Built, BuildError>> {
        Box::pin(async move {
            let mut command = tokio::process::Command::new(&self.path);
            command.args(self.refit_args(job));
            run_logged_to(
                command,
                &job.output,
                &job.log,
                "trtexec refit",
                self.describe(),
            )
            .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::TrtVersion;

    #[test]
    fn a_refit_loads_the_plan_and_saves_the_engine_on_its_gpu() {
        let trtexec = Trtexec {
            path: "/usr/bin/trtexec".into(),
            version: TrtVersion::new(10, 14, 1),
        };
        let job = RefitJob {
            engine: "a.trt".into(),
            plan: "/c/stripped/a/a.trt".into(),
            onnx: "/m/a.onnx".into(),
            output: "/c/a/.tmp-a".into(),
            log: "/c/logs/a.log".into(),
            device: 2,
        };
        assert_eq!(
            trtexec.refit_args(&job),
            [
                "--loadEngine=/c/stripped/a/a.trt",
                "--refitFromOnnx=/m/a.onnx",
                "--saveEngine=/c/a/.tmp-a",
                "--skipInference",
                "--device=2"
            ]
        );
    }
}
