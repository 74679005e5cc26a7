//! Weight-stripped and refittable engines: how an engine holds its weights, and what a sidecar
//! records of the stripped plan that the remote holds and a host refits from its ONNX.

use serde::{Deserialize, Serialize};

use super::{BuildInputs, Fingerprint};

/// The oldest TensorRT whose trtexec does all a stripped engine needs: `--stripWeights` (10.0)
/// to build its plan and `--refitFromOnnx` (10.14) to refit it on every host that uses it.
pub const STRIPPED_SINCE: super::TrtVersion = super::TrtVersion::new(10, 14, 0);

/// `weights` in the manifest: where an engine's weights live.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum WeightsMode {
    /// In the engine, as TensorRT builds by default.
    #[default]
    Embedded,
    /// Built with `--stripWeights`: the plan holds no weights and is refitted with the very
    /// weights it was built from (no performance cost); never with others.
    Stripped,
    /// Built with `--stripWeights --refit`: refitted with the weights of any ONNX of the same
    /// graph, so a weights-only update costs a refit instead of a build (TensorRT may pick
    /// slower kernels for a refittable engine).
    Refittable,
}

impl WeightsMode {
    pub fn is_embedded(&self) -> bool {
        *self == WeightsMode::Embedded
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WeightsMode::Embedded => "embedded",
            WeightsMode::Stripped => "stripped",
            WeightsMode::Refittable => "refittable",
        }
    }
}

impl std::str::FromStr for WeightsMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [
            WeightsMode::Embedded,
            WeightsMode::Stripped,
            WeightsMode::Refittable,
        ]
        .into_iter()
        .find(|mode| mode.as_str() == text)
        .ok_or_else(|| {
            format!("unknown weights `{text}`: use \"embedded\", \"stripped\" or \"refittable\"")
        })
    }
}

impl std::fmt::Display for WeightsMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// In the sidecar of an engine whose weights are stripped: the stripped plan it was refitted
/// from. The remote holds that plan under the engine's name, and its sidecar's `engine_sha256`
/// and `engine_size` are the plan's (what a fetch verifies); a cached copy's are those of the
/// refitted engine here (what `cache verify` checks), and this record keeps the plan's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightsRecord {
    pub mode: WeightsMode,
    /// The structure hash of the ONNX graph, without weight values (`onnx::graph_sha256`).
    pub graph_sha256: String,
    /// What the stripped plan is, whatever weights it is refitted with: see [`plan_fingerprint`].
    pub plan_fingerprint: Fingerprint,
    pub plan_sha256: String,
    pub plan_size: u64,
    /// Refits of this copy since its plan was built or fetched (0 on the remote).
    #[serde(default)]
    pub refits: u32,
}

/// The identity of the stripped plan an engine is refitted from. A refittable plan is the same
/// for every ONNX of its graph: its identity is the engine's build inputs with the ONNX digest
/// replaced by the graph's. A stripped (identical-weights) plan may only be refitted with its
/// own weights: its identity is the engine's fingerprint.
pub fn plan_fingerprint(
    mode: WeightsMode,
    inputs: &BuildInputs,
    graph_sha256: &str,
) -> Fingerprint {
    match mode {
        WeightsMode::Refittable => BuildInputs {
            onnx_sha256: format!("graph:{graph_sha256}"),
            ..inputs.clone()
        }
        .fingerprint(),
        WeightsMode::Embedded | WeightsMode::Stripped => inputs.fingerprint(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{BuildFlags, GpuArch, Precision, Profile, TrtVersion};

    fn inputs(onnx: &str, weights: WeightsMode) -> BuildInputs {
        BuildInputs {
            onnx_sha256: onnx.repeat(64),
            precision: Precision::Fp16,
            gpu_arch: GpuArch::new(8, 6),
            trt_version: TrtVersion::new(10, 14, 1),
            profile: Profile::Static,
            flags: BuildFlags {
                weights,
                ..BuildFlags::default()
            },
        }
    }

    #[test]
    fn a_refittable_plan_is_one_for_all_weights_of_its_graph_a_stripped_one_is_not() {
        let graph = "g".repeat(64);
        let [a, b] = ["a", "b"].map(|onnx| inputs(onnx, WeightsMode::Refittable));
        let refittable = |i| plan_fingerprint(WeightsMode::Refittable, i, &graph);
        assert_eq!(refittable(&a), refittable(&b));
        assert_ne!(
            refittable(&a),
            plan_fingerprint(WeightsMode::Refittable, &a, "other")
        );
        assert_ne!(a.fingerprint(), b.fingerprint());
        let [a, b] = ["a", "b"].map(|onnx| inputs(onnx, WeightsMode::Stripped));
        let stripped = |i| plan_fingerprint(WeightsMode::Stripped, i, &graph);
        assert_ne!(stripped(&a), stripped(&b));
        assert_eq!(stripped(&a), a.fingerprint());
    }

    #[test]
    fn embedded_weights_leave_the_fingerprint_as_it_was() {
        let flags = serde_json::to_string(&BuildFlags::default()).unwrap();
        assert_eq!(flags, "{}");
        let refittable = BuildFlags {
            weights: WeightsMode::Refittable,
            ..BuildFlags::default()
        };
        assert_eq!(
            serde_json::to_string(&refittable).unwrap(),
            r#"{"weights":"refittable"}"#
        );
    }
}
