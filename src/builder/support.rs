//! What each backend can build at each TensorRT version. Every planned build is checked before
//! any starts, so a manifest that asks for something the local TensorRT lacks fails at once,
//! naming the key and the version that has it, instead of after other engines were built.
//!
//! The versions: trtexec's flags from trtexec.md in the design notes; the Python API's from the
//! `tensorrt` bindings wheels on PyPI (8.6.1 has no `BuilderFlag.BF16` and no `STRONGLY_TYPED`;
//! 10.x has every name the build script uses; 11.4 has no `BuilderFlag.FP16`, `BF16`, `INT8`,
//! `FP8` and no `EXPLICIT_BATCH`: TensorRT 11 builds strongly typed networks only).

use super::{BuildError, Builder};
use crate::identity::{self, BuildInputs, Precision, TrtVersion};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Backend {
    Trtexec,
    Python,
}

/// Something an engine asks for that the builder cannot do, and the way out.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Gap {
    what: String,
    fix: String,
}

impl Gap {
    pub(super) fn refusal(self, engine: &str, builder: &dyn Builder) -> BuildError {
        BuildError::Unsupported {
            engine: engine.to_string(),
            builder: builder.describe(),
            what: self.what,
            fix: self.fix,
        }
    }
}

/// One requirement: `key` (as the manifest says it) works from `since` and before `until`.
struct Need {
    key: String,
    since: TrtVersion,
    until: Option<TrtVersion>,
    /// Why it stops at `until`, and what to do instead.
    gone: &'static str,
}

fn need(key: impl Into<String>, since: (u32, u32)) -> Need {
    Need {
        key: key.into(),
        since: TrtVersion::new(since.0, since.1, 0),
        until: None,
        gone: "",
    }
}

const NO_WEAK_TYPING: &str = "TensorRT 11 builds strongly typed networks only: give the ONNX the precisions you want and set `strongly_typed = true`, or build with TensorRT 10";

/// The oldest TensorRT the Python build script runs on (`build_serialized_network`, timing caches).
const PYTHON_SINCE: (u32, u32) = (8, 0);

/// The requirements of `inputs` on `backend`.
fn needs(backend: Backend, inputs: &BuildInputs) -> Vec<Need> {
    let flags = &inputs.flags;
    let mut needs = Vec::new();
    if backend == Backend::Python {
        needs.push(need("the python backend", PYTHON_SINCE));
    }
    if flags.strongly_typed {
        needs.push(need("`strongly_typed = true`", (9, 0)));
    } else if backend == Backend::Python && inputs.precision != Precision::Fp32 {
        let since = match inputs.precision {
            Precision::Bf16 => (9, 0),
            Precision::Fp8 => (8, 6),
            _ => PYTHON_SINCE,
        };
        needs.push(Need {
            until: Some(TrtVersion::new(11, 0, 0)),
            gone: NO_WEAK_TYPING,
            ..need(format!("precision `{}`", inputs.precision), since)
        });
    }
    if let Some(level) = flags.optimization_level {
        needs.push(need(format!("`optimization_level = {level}`"), (8, 6)));
    }
    if let Some(level) = &flags.hardware_compatibility
        && let Some(since) = identity::hardware_level_since(level)
    {
        needs.push(Need {
            since,
            ..need(format!("`hardware_compatibility = \"{level}\"`"), (0, 0))
        });
    }
    if flags.version_compatible {
        needs.push(need("`version_compatible = true`", (8, 6)));
    }
    if backend == Backend::Python && flags.workspace_mib.is_some() {
        needs.push(need("`workspace_mib`", (8, 4)));
    }
    if !flags.weights.is_embedded() {
        // --stripWeights came in 10.0, but every host refits with --refitFromOnnx (10.14).
        needs.push(need(format!("`weights = \"{}\"`", flags.weights), (10, 14)));
    }
    needs
}

/// The first thing `inputs` asks of `backend` at `version` that it cannot do.
pub(super) fn check(
    backend: Backend,
    version: TrtVersion,
    inputs: &BuildInputs,
) -> Result<(), Gap> {
    let flags = &inputs.flags;
    if let Some(level) = &flags.hardware_compatibility
        && identity::hardware_level_since(level).is_none()
    {
        return Err(Gap {
            what: format!("`hardware_compatibility = \"{level}\"` is not a level TensorRT knows"),
            fix: format!("use one of {}", identity::hardware_level_names()),
        });
    }
    if backend == Backend::Python && !flags.weights.is_embedded() {
        return Err(Gap {
            what: format!(
                "`weights = \"{}\"` is refitted with trtexec's --refitFromOnnx, which the Python backend does not run",
                flags.weights
            ),
            fix: "build with `[builder] backend = \"trtexec\"` (TensorRT 10.14 or newer), or set `weights = \"embedded\"`".into(),
        });
    }
    if backend == Backend::Python && !flags.extra_args.is_empty() {
        return Err(Gap {
            what: format!(
                "`extra_args` ({}) are trtexec arguments, which the tensorrt Python API does not take",
                flags.extra_args.join(" ")
            ),
            fix: "remove `extra_args`, or build with `[builder] backend = \"trtexec\"`".into(),
        });
    }
    for need in needs(backend, inputs) {
        if version < need.since {
            return Err(Gap {
                fix: format!(
                    "install TensorRT {}.{} or newer, or remove it from the manifest",
                    need.since.major, need.since.minor
                ),
                what: format!(
                    "{} needs TensorRT {}.{} or newer",
                    need.key, need.since.major, need.since.minor
                ),
            });
        }
        if let Some(until) = need.until.filter(|until| version >= *until) {
            return Err(Gap {
                what: format!("TensorRT {}.x has no {}", until.major, need.key),
                fix: need.gone.to_string(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{BuildFlags, GpuArch, Profile};

    fn inputs(precision: Precision, flags: BuildFlags) -> BuildInputs {
        BuildInputs {
            onnx_sha256: String::new(),
            precision,
            gpu_arch: GpuArch::new(8, 6),
            trt_version: TrtVersion::new(10, 3, 0),
            profile: Profile::Static,
            flags,
        }
    }

    fn gap(backend: Backend, version: (u32, u32), inputs: &BuildInputs) -> Option<String> {
        let version = TrtVersion::new(version.0, version.1, 0);
        check(backend, version, inputs)
            .err()
            .map(|g| format!("{}; {}", g.what, g.fix))
    }

    #[test]
    fn flags_need_the_tensorrt_that_has_them() {
        let level = inputs(
            Precision::Fp16,
            BuildFlags {
                optimization_level: Some(3),
                ..BuildFlags::default()
            },
        );
        for backend in [Backend::Trtexec, Backend::Python] {
            assert_eq!(gap(backend, (8, 6), &level), None);
            assert_eq!(
                gap(backend, (8, 5), &level).unwrap(),
                "`optimization_level = 3` needs TensorRT 8.6 or newer; install TensorRT 8.6 or newer, or remove it from the manifest"
            );
        }
        let same_cc = inputs(
            Precision::Fp16,
            BuildFlags {
                hardware_compatibility: Some("sameComputeCapability".into()),
                ..BuildFlags::default()
            },
        );
        assert!(gap(Backend::Python, (10, 8), &same_cc).is_some());
        assert_eq!(gap(Backend::Python, (10, 9), &same_cc), None);
        let typo = inputs(
            Precision::Fp16,
            BuildFlags {
                hardware_compatibility: Some("ampere".into()),
                ..BuildFlags::default()
            },
        );
        let said = gap(Backend::Trtexec, (10, 3), &typo).unwrap();
        assert!(
            said.contains("none, ampere+, sameComputeCapability"),
            "{said}"
        );
    }

    #[test]
    fn stripped_weights_need_trtexec_with_refit_from_onnx() {
        let refittable = inputs(
            Precision::Fp16,
            BuildFlags {
                weights: crate::identity::WeightsMode::Refittable,
                ..BuildFlags::default()
            },
        );
        assert_eq!(
            gap(Backend::Trtexec, (10, 13), &refittable).as_deref(),
            Some(
                "`weights = \"refittable\"` needs TensorRT 10.14 or newer; install TensorRT 10.14 or newer, or remove it from the manifest"
            )
        );
        assert_eq!(gap(Backend::Trtexec, (10, 14), &refittable), None);
        let said = gap(Backend::Python, (10, 14), &refittable).unwrap();
        assert!(said.contains("[builder] backend = \"trtexec\""), "{said}");
    }

    #[test]
    fn the_python_api_of_each_version() {
        let bf16 = inputs(Precision::Bf16, BuildFlags::default());
        assert!(gap(Backend::Python, (8, 6), &bf16).is_some());
        assert_eq!(gap(Backend::Python, (10, 3), &bf16), None);
        assert_eq!(gap(Backend::Trtexec, (8, 6), &bf16), None);
        let fp16 = inputs(Precision::Fp16, BuildFlags::default());
        let said = gap(Backend::Python, (11, 4), &fp16).unwrap();
        assert!(
            said.starts_with("TensorRT 11.x has no precision `fp16`; TensorRT 11 builds strongly typed networks only"),
            "{said}"
        );
        assert_eq!(
            gap(
                Backend::Python,
                (11, 4),
                &inputs(Precision::Fp32, BuildFlags::default())
            ),
            None
        );
        let typed = inputs(
            Precision::Fp16,
            BuildFlags {
                strongly_typed: true,
                ..BuildFlags::default()
            },
        );
        assert_eq!(gap(Backend::Python, (11, 4), &typed), None);
        assert!(
            gap(
                Backend::Python,
                (7, 2),
                &inputs(Precision::Fp32, BuildFlags::default())
            )
            .is_some()
        );
        let extra = inputs(
            Precision::Fp16,
            BuildFlags {
                extra_args: vec!["--sparsity=enable".into()],
                ..BuildFlags::default()
            },
        );
        let said = gap(Backend::Python, (10, 3), &extra).unwrap();
        assert!(
            said.contains("--sparsity=enable") && said.contains("backend = \"trtexec\""),
            "{said}"
        );
        assert_eq!(gap(Backend::Trtexec, (10, 3), &extra), None);
    }
}
