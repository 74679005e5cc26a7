//! The `tensorrt` Python API as a builder, for machines that `pip install tensorrt` and have no
//! trtexec. Each build runs the build script (embedded here, so it ships inside the binary and
//! the Python wheel) in a child process of the configured Python: a crash takes down that
//! process only, each build gets a CUDA context of its own, and no GIL is shared.

use futures::future::BoxFuture;
use serde::Serialize;

use super::support::{self, Backend};
use super::{BuildError, BuildJob, Builder, Built, profile_ranges, run_logged};
use crate::gpu::{PythonTrt, TrtFact};
use crate::identity::BuildInputs;

/// The build script; its header says what it takes and prints.
pub const BUILD_SCRIPT: &str = include_str!("build_engine.py");

/// A Python whose `tensorrt` is the TensorRT the engines are for.
#[derive(Debug, Clone)]
pub struct PythonBuilder {
    trt: PythonTrt,
}

/// The job as the build script reads it (its argv[1], JSON).
#[derive(Serialize)]
struct ScriptJob<'a> {
    onnx: &'a std::path::Path,
    output: &'a std::path::Path,
    timing_cache: Option<&'a std::path::Path>,
    precision: &'static str,
    strongly_typed: bool,
    profile: Vec<InputProfile>,
    workspace_mib: Option<u64>,
    optimization_level: Option<u8>,
    hardware_compatibility: Option<&'a str>,
    version_compatible: bool,
}

#[derive(Serialize)]
struct InputProfile {
    name: String,
    min: Vec<i64>,
    opt: Vec<i64>,
    max: Vec<i64>,
}

impl PythonBuilder {
    /// The builder of `trt`, checked to be the TensorRT the engines are for.
    pub fn new(trt: PythonTrt, wanted: &TrtFact) -> Result<PythonBuilder, BuildError> {
        // `__version__` names the exact build, which a four-part pin asks for too.
        let exact = trt.reported.parse().unwrap_or(trt.version);
        if !wanted.version.admits(exact) {
            return Err(BuildError::VersionMismatch {
                local: trt.version,
                wanted: wanted.clone(),
                builder: format!("tensorrt {} of {}", trt.reported, trt.python.display()),
            });
        }
        Ok(PythonBuilder { trt })
    }

    /// The build script's argument for one job; the ONNX is read only for a batch range.
    pub fn script_job(&self, job: &BuildJob) -> Result<String, BuildError> {
        let flags = &job.inputs.flags;
        let profile = profile_ranges(job)?
            .into_iter()
            .map(|(name, [min, opt, max])| {
                let dims = |text: &str| parse_dims(&name, text);
                Ok(InputProfile {
                    min: dims(&min)?,
                    opt: dims(&opt)?,
                    max: dims(&max)?,
                    name,
                })
            })
            .collect::<Result<Vec<_>, BuildError>>()?;
        let script_job = ScriptJob {
            onnx: &job.onnx,
            output: &job.output,
            timing_cache: job.timing_cache.as_deref(),
            precision: job.inputs.precision.as_str(),
            strongly_typed: flags.strongly_typed,
            profile,
            workspace_mib: flags.workspace_mib,
            optimization_level: flags.optimization_level,
            hardware_compatibility: flags.hardware_compatibility.as_deref(),
            version_compatible: flags.version_compatible,
        };
        Ok(serde_json::to_string(&script_job).expect("build jobs serialize"))
    }
}

/// `1x3x112x112` → `[1, 3, 112, 112]`.
fn parse_dims(input: &str, text: &str) -> Result<Vec<i64>, BuildError> {
    text.split('x')
        .map(|d| d.parse::<i64>().ok().filter(|d| *d >= 0))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| BuildError::BadShape {
            input: input.to_string(),
            dims: text.to_string(),
        })
}

/// What the build's child is shown as `CUDA_VISIBLE_DEVICES`: GPU `device` as trtctl numbers
/// them, which is within what `parent` (trtctl's own `CUDA_VISIBLE_DEVICES`) shows, if set.
fn visible_device(parent: Option<&str>, device: u32) -> String {
    let listed: Option<Vec<&str>> = parent.map(|list| {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    });
    match listed.as_ref().and_then(|l| l.get(device as usize)) {
        Some(entry) => entry.to_string(),
        None => device.to_string(),
    }
}

impl Builder for PythonBuilder {
    fn describe(&self) -> String {
        format!(
            "python tensorrt {} ({})",
            self.trt.reported,
            self.trt.python.display()
        )
    }

    fn check(&self, engine: &str, inputs: &BuildInputs) -> Result<(), BuildError> {
        support::check(Backend::Python, self.trt.version, inputs)
            .map_err(|gap| gap.refusal(engine, self))
    }

    fn build<'a>(&'a self, job: &'a BuildJob) -> BoxFuture<'a, Result<Built, BuildError>> {
        Box::pin(async move {
            let parent = std::env::var("CUDA_VISIBLE_DEVICES").ok();
            let mut command = tokio::process::Command::new(&self.trt.python);
            command
                .args(["-u", "-X", "faulthandler", "-c", BUILD_SCRIPT])
                .arg(self.script_job(job)?)
                .env(
                    "CUDA_VISIBLE_DEVICES",
                    visible_device(parent.as_deref(), job.device),
                );
            run_logged(command, job, "python builder", self.describe()).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::TrtSource;
    use crate::identity::{BuildFlags, Precision, Profile, ShapeRange, TrtVersion};
    use std::path::PathBuf;

    fn pinned(version: TrtVersion) -> TrtFact {
        TrtFact {
            version,
            source: TrtSource::Pinned,
        }
    }

    fn builder() -> PythonBuilder {
        PythonBuilder {
            trt: PythonTrt {
                python: PathBuf::from("/venv/bin/python"),
                version: TrtVersion::new(10, 3, 0),
                reported: "10.3.0.26".into(),
            },
        }
    }

    fn job(profile: Profile, flags: BuildFlags) -> BuildJob {
        super::super::tests::job(profile, flags, Precision::Fp16)
    }

    #[test]
    fn the_script_gets_every_build_input() {
        let flags = BuildFlags {
            workspace_mib: Some(4096),
            optimization_level: Some(3),
            hardware_compatibility: Some("ampere+".into()),
            version_compatible: true,
            ..BuildFlags::default()
        };
        let batch = Profile::Batch {
            min: 1,
            opt: 8,
            max: 16,
        };
        let sent: serde_json::Value =
            serde_json::from_str(&builder().script_job(&job(batch, flags)).unwrap()).unwrap();
        assert_eq!(
            sent,
            serde_json::json!({
                "onnx": concat!(env!("CARGO_MANIFEST_DIR"), "/models/arcface_r100.onnx"),
                "output": "/c/arc/.tmp-x",
                "timing_cache": "/c/timing/sm_86_10.3.0.cache",
                "precision": "fp16",
                "strongly_typed": false,
                "profile": [{
                    "name": "input",
                    "min": [1, 3, 112, 112],
                    "opt": [8, 3, 112, 112],
                    "max": [16, 3, 112, 112]
                }],
                "workspace_mib": 4096,
                "optimization_level": 3,
                "hardware_compatibility": "ampere+",
                "version_compatible": true
            })
        );
    }

    #[test]
    fn explicit_shapes_are_numbers_or_an_error() {
        let shapes = |min: &str| Profile::Shapes {
            inputs: [(
                "images".to_string(),
                ShapeRange {
                    min: min.into(),
                    opt: "4x3x640x640".into(),
                    max: "8x3x640x640".into(),
                },
            )]
            .into_iter()
            .collect(),
        };
        let sent = builder()
            .script_job(&job(shapes("1x3x640x640"), BuildFlags::default()))
            .unwrap();
        assert!(sent.contains(r#""min":[1,3,640,640]"#), "{sent}");
        let err = builder()
            .script_job(&job(shapes("1x3xHx640"), BuildFlags::default()))
            .unwrap_err();
        assert!(err.to_string().contains("`1x3xHx640`"), "{err}");
    }

    #[test]
    fn the_gpu_is_chosen_within_what_trtctl_sees() {
        assert_eq!(visible_device(None, 1), "1");
        assert_eq!(visible_device(Some("2,3"), 1), "3");
        assert_eq!(visible_device(Some("GPU-aaaa, GPU-bbbb"), 1), "GPU-bbbb");
        assert_eq!(visible_device(Some("2"), 4), "4");
    }

    #[test]
    fn the_version_must_be_the_pinned_one() {
        let trt = builder().trt;
        let err = PythonBuilder::new(trt.clone(), &pinned(TrtVersion::new(10, 4, 0))).unwrap_err();
        assert!(
            err.to_string()
                .contains("local TensorRT 10.3.0 (tensorrt 10.3.0.26 of /venv/bin/python)"),
            "{err}"
        );
        let ok = PythonBuilder::new(trt, &pinned(TrtVersion::new(10, 3, 0))).unwrap();
        assert_eq!(
            ok.describe(),
            "python tensorrt 10.3.0.26 (/venv/bin/python)"
        );
    }
}
