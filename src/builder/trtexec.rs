//! NVIDIA's `trtexec`: one run per build, with an argv of its flags (see trtexec.md in the
//! design notes for the flags by TensorRT version).

use std::path::{Path, PathBuf};

use futures::future::BoxFuture;

use super::support::{self, Backend};
use super::{BuildError, BuildJob, Builder, Built, RefitJob, profile_ranges, run_logged};
use crate::gpu::{self, TrtFact};
use crate::identity::{BuildInputs, Precision, TrtVersion, WeightsMode};
use crate::onnx;

/// NVIDIA's trtexec, found and version-checked once.
#[derive(Debug, Clone)]
pub struct Trtexec {
    pub(super) path: PathBuf,
    pub(super) version: TrtVersion,
}

impl Trtexec {
    /// Finds trtexec and checks that it is the TensorRT the engines are for.
    pub fn locate(configured: Option<&Path>, wanted: &TrtFact) -> Result<Trtexec, BuildError> {
        // A configured trtexec that is not there is a mistake to report, not a reason to use another.
        if let Some(path) = configured.filter(|p| !gpu::is_executable(p)) {
            return Err(BuildError::NotExecutable {
                key: "trtexec",
                path: path.to_path_buf(),
            });
        }
        let path = gpu::find_trtexec(configured).ok_or(BuildError::NotFound)?;
        Trtexec::at(path, wanted)
    }

    /// The trtexec at `path`, checked to be the TensorRT the engines are for.
    pub fn at(path: PathBuf, wanted: &TrtFact) -> Result<Trtexec, BuildError> {
        let version = gpu::trtexec_version(&path)?;
        // The banner names three parts; an exact build is checked in the plan it writes.
        if version != wanted.version.release() {
            return Err(BuildError::VersionMismatch {
                local: version,
                wanted: wanted.clone(),
                builder: path.display().to_string(),
            });
        }
        Ok(Trtexec { path, version })
    }

    /// The argv for one build; the ONNX is read only for a batch range, to learn its inputs.
    pub fn args(&self, job: &BuildJob) -> Result<Vec<String>, BuildError> {
        let inputs = &job.inputs;
        let mut args = vec![
            format!("--onnx={}", job.onnx.display()),
            format!("--saveEngine={}", job.output.display()),
        ];
        if inputs.flags.strongly_typed {
            args.push("--stronglyTyped".into());
        } else if let Some(flag) = precision_flag(inputs.precision) {
            args.push(flag.into());
        }
        if let Some((min, opt, max)) = self.shapes(job)? {
            args.push(format!("--minShapes={min}"));
            args.push(format!("--optShapes={opt}"));
            args.push(format!("--maxShapes={max}"));
        }
        let modern = self.version >= TrtVersion::new(8, 6, 0);
        if let Some(mib) = inputs.flags.workspace_mib {
            args.push(if self.version >= TrtVersion::new(8, 4, 0) {
                format!("--memPoolSize=workspace:{mib}M")
            } else {
                format!("--workspace={mib}")
            });
        }
        if let Some(cache) = &job.timing_cache {
            args.push(format!("--timingCacheFile={}", cache.display()));
        }
        if let Some(level) = inputs.flags.optimization_level {
            args.push(format!("--builderOptimizationLevel={level}"));
        }
        if let Some(level) = &inputs.flags.hardware_compatibility {
            args.push(format!("--hardwareCompatibilityLevel={level}"));
        }
        if inputs.flags.version_compatible {
            args.push("--versionCompatible".into());
        }
        match inputs.flags.weights {
            WeightsMode::Embedded => {}
            WeightsMode::Stripped => args.push("--stripWeights".into()),
            WeightsMode::Refittable => args.extend(["--stripWeights".into(), "--refit".into()]),
        }
        args.extend(inputs.flags.extra_args.iter().cloned());
        args.push(
            if modern {
                "--skipInference"
            } else {
                "--buildOnly"
            }
            .into(),
        );
        args.push(format!("--device={}", job.device));
        Ok(args)
    }

    fn shapes(&self, job: &BuildJob) -> Result<Option<(String, String, String)>, BuildError> {
        let ranges = profile_ranges(job)?;
        Ok((!ranges.is_empty()).then(|| onnx::join_shapes(&ranges)))
    }
}

impl Builder for Trtexec {
    fn describe(&self) -> String {
        format!("trtexec {} ({})", self.version, self.path.display())
    }

    fn check(&self, engine: &str, inputs: &BuildInputs) -> Result<(), BuildError> {
        support::check(Backend::Trtexec, self.version, inputs)
            .map_err(|gap| gap.refusal(engine, self))
    }

    fn build<'a>(&'a self, job: &'a BuildJob) -> BoxFuture<'a, Result<Built, BuildError>> {
        Box::pin(async move {
            let mut command = tokio::process::Command::new(&self.path);
            command.args(self.args(job)?);
            run_logged(command, job, "trtexec", self.describe()).await
        })
    }

    fn refit<'a>(&'a self, job: &'a RefitJob) -> BoxFuture<'a, Result<Built, BuildError>> {
        self.run_refit(job)
    }
}

fn precision_flag(precision: Precision) -> Option<&'static str> {
    match precision {
        Precision::Fp32 => None,
        Precision::Fp16 => Some("--fp16"),
        Precision::Bf16 => Some("--bf16"),
        Precision::Int8 => Some("--int8"),
        Precision::Fp8 => Some("--fp8"),
        Precision::Best => Some("--best"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::job;
    use super::*;
    use crate::identity::{BuildFlags, Profile, ShapeRange};

    fn trtexec(version: TrtVersion) -> Trtexec {
        Trtexec {
            path: PathBuf::from("/usr/bin/trtexec"),
            version,
        }
    }

    #[test]
    fn argv_for_a_batch_range_reads_the_onnx_inputs() {
        let flags = BuildFlags {
            workspace_mib: Some(4096),
            optimization_level: Some(3),
            ..BuildFlags::default()
        };
        let args = trtexec(TrtVersion::new(10, 3, 0))
            .args(&job(
                Profile::Batch {
                    min: 1,
                    opt: 32,
                    max: 64,
                },
                flags,
                Precision::Fp16,
            ))
            .unwrap();
        let shown = args.join(" ");
        assert!(shown.contains("--fp16 --minShapes=input:1x3x112x112 --optShapes=input:32x3x112x112 --maxShapes=input:64x3x112x112"), "{shown}");
        assert!(shown.contains("--memPoolSize=workspace:4096M"), "{shown}");
        assert!(
            shown.contains("--timingCacheFile=/c/timing/sm_86_10.3.0.cache"),
            "{shown}"
        );
        assert!(shown.contains("--builderOptimizationLevel=3"), "{shown}");
        assert!(shown.ends_with("--skipInference --device=1"), "{shown}");
    }

    #[test]
    fn argv_follows_older_tensorrt() {
        let flags = BuildFlags {
            workspace_mib: Some(1024),
            ..BuildFlags::default()
        };
        let args = trtexec(TrtVersion::new(8, 2, 1))
            .args(&job(Profile::Static, flags, Precision::Fp32))
            .unwrap();
        assert!(args.contains(&"--workspace=1024".to_string()), "{args:?}");
        assert!(args.contains(&"--buildOnly".to_string()), "{args:?}");
        assert!(
            !args
                .iter()
                .any(|a| a.starts_with("--fp") || a.contains("Shapes")),
            "{args:?}"
        );
    }

    #[test]
    fn stripped_weights_strip_and_refittable_ones_refit_too() {
        let args = |weights| {
            let flags = BuildFlags {
                weights,
                ..BuildFlags::default()
            };
            let job = job(Profile::Static, flags, Precision::Fp16);
            let args = trtexec(TrtVersion::new(10, 14, 1)).args(&job).unwrap();
            args.into_iter()
                .filter(|a| a == "--stripWeights" || a == "--refit")
                .collect::<Vec<_>>()
        };
        assert!(args(WeightsMode::Embedded).is_empty());
        assert_eq!(args(WeightsMode::Stripped), ["--stripWeights"]);
        assert_eq!(args(WeightsMode::Refittable), ["--stripWeights", "--refit"]);
    }

    #[test]
    fn explicit_shapes_and_strong_typing() {
        let inputs = [(
            "images".to_string(),
            ShapeRange {
                min: "1x3x640x640".into(),
                opt: "4x3x640x640".into(),
                max: "8x3x640x640".into(),
            },
        )]
        .into_iter()
        .collect();
        let flags = BuildFlags {
            strongly_typed: true,
            ..BuildFlags::default()
        };
        let args = trtexec(TrtVersion::new(10, 3, 0))
            .args(&job(Profile::Shapes { inputs }, flags, Precision::Fp16))
            .unwrap();
        assert!(args.contains(&"--stronglyTyped".to_string()));
        assert!(!args.contains(&"--fp16".to_string()));
        assert!(args.contains(&"--maxShapes=images:8x3x640x640".to_string()));
    }
}
