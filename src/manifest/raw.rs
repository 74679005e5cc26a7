//! The manifest as TOML has it, before validation; its JSON Schema comes from these types.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::identity::{GpuArch, GpuModelPolicy, Precision, ShapeRange, WeightsMode};

/// engines.toml: the TensorRT engines a deployment needs (see docs/manifest.md).
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "engines.toml")]
pub(super) struct RawManifest {
    /// The TensorRT version engines are built for, `major.minor.patch`, or "auto" for the local TensorRT.
    #[schemars(with = "Option<String>")]
    pub(super) trt_version: Option<Spanned<String>>,
    pub(super) cache: Option<RawCache>,
    pub(super) remote: Option<RawRemote>,
    pub(super) builder: Option<RawBuilder>,
    pub(super) trust: Option<super::trust::RawTrust>,
    pub(super) fleet: Option<super::fleet::RawFleet>,
    pub(super) defaults: Option<RawDefaults>,
    /// The models, one table each.
    #[serde(default)]
    pub(super) model: Vec<RawModel>,
}

/// The local engine cache.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Cache")]
pub(super) struct RawCache {
    /// Cache directory (default ~/.cache/screenalytics/engines; TENSORRT_CACHE_DIR overrides).
    pub(super) dir: Option<String>,
}

/// The remote engine cache shared by every machine.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Remote")]
pub(super) struct RawRemote {
    /// "s3://bucket/prefix" or "file:///dir" ("file://dir" is relative to the manifest).
    #[schemars(with = "String")]
    pub(super) url: Spanned<String>,
    /// S3 endpoint (default: ARTIFACTS_ENDPOINT).
    pub(super) endpoint: Option<String>,
    /// S3 region (default: AWS_REGION, else us-east-1).
    pub(super) region: Option<String>,
    /// Multipart part size in MiB (default 8).
    #[schemars(with = "Option<u64>")]
    pub(super) part_size_mib: Option<Spanned<u64>>,
    /// Parts (uploads) or ranges (fetches) in flight per transfer (default 6).
    #[schemars(with = "Option<usize>")]
    pub(super) concurrency: Option<Spanned<usize>>,
    /// Requests in flight to the remote at once, all operations together (default 64).
    #[schemars(with = "Option<usize>")]
    pub(super) max_in_flight: Option<Spanned<usize>>,
    /// Seconds a build lease lasts unless renewed (default 300, at least 3).
    #[schemars(with = "Option<u64>")]
    pub(super) lease_ttl_secs: Option<Spanned<u64>>,
    /// Seconds without a byte from the remote before a request is retried (default 120).
    #[schemars(with = "Option<u64>")]
    pub(super) read_timeout_secs: Option<Spanned<u64>>,
    /// Keep an s3:// remote that nothing points at (no keys, endpoint, region, AWS profile,
    /// web identity, container or EC2 role) in a local stand-in directory (default true);
    /// false makes that an error, for CI. TRTCTL_REMOTE_EMBEDDED wins.
    pub(super) embedded: Option<bool>,
}

/// The builder backend.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Builder")]
pub(super) struct RawBuilder {
    /// What builds: "trtexec", "python" (the tensorrt Python API) or "auto" (default): trtexec where found, else a Python whose tensorrt imports.
    pub(super) backend: Option<super::BuilderBackend>,
    /// Path of trtexec (default: TRTEXEC, PATH, /usr/src/tensorrt/bin/trtexec).
    pub(super) trtexec: Option<String>,
    /// The Python of the python backend (default: TRTCTL_PYTHON, the Python package's own interpreter, python3 on PATH).
    pub(super) python: Option<String>,
    /// Keep one timing cache per arch and TensorRT version (default true).
    pub(super) timing_cache: Option<bool>,
    /// Share the timing caches with other builders through the remote (default true).
    pub(super) shared_timing_cache: Option<bool>,
}

/// Values every model gets unless it sets its own.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Defaults")]
pub(super) struct RawDefaults {
    /// Precisions to build (default ["fp16"]).
    #[schemars(with = "Option<Vec<Precision>>")]
    pub(super) precisions: Option<Spanned<Vec<Precision>>>,
    /// GPU archs to build for, like "sm_86".
    #[schemars(with = "Option<Vec<GpuArch>>")]
    pub(super) archs: Option<Spanned<Vec<GpuArch>>>,
    #[schemars(with = "Option<RawBatch>")]
    pub(super) batch: Option<Spanned<RawBatch>>,
    pub(super) build: Option<RawFlags>,
    /// When a host would use an engine built on another GPU model of its arch: "warn" (default) or "any".
    pub(super) gpu_model: Option<GpuModelPolicy>,
    /// Where the engines' weights live: "embedded" (default), "stripped" (--stripWeights: the remote holds weightless plans, each host refits them from its ONNX) or "refittable" (--stripWeights --refit: a weights-only ONNX change is refitted, not rebuilt; may cost some speed). Needs TensorRT >= 10.14.
    #[schemars(with = "Option<WeightsMode>")]
    pub(super) weights: Option<Spanned<WeightsMode>>,
}

/// One model: its ONNX file and the engines wanted of it.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Model")]
pub(super) struct RawModel {
    /// Model name: letters, digits, `.`, `-`, `_`.
    #[schemars(with = "String")]
    pub(super) name: Spanned<String>,
    /// Directory under the cache and the remote prefix (default: the name up to its first `_`, or the whole name when it starts with `_`).
    #[schemars(with = "Option<String>")]
    pub(super) family: Option<Spanned<String>>,
    /// The ONNX file, relative to the manifest.
    #[schemars(with = "String")]
    pub(super) onnx: Spanned<String>,
    /// A declared version like "v1.0", or "auto": the first 8 hex digits of the ONNX sha256 (default).
    #[schemars(with = "Option<String>")]
    pub(super) version: Option<Spanned<String>>,
    /// Precisions to build (overrides [defaults]).
    #[schemars(with = "Option<Vec<Precision>>")]
    pub(super) precisions: Option<Spanned<Vec<Precision>>>,
    /// GPU archs to build for (overrides [defaults]).
    #[schemars(with = "Option<Vec<GpuArch>>")]
    pub(super) archs: Option<Spanned<Vec<GpuArch>>>,
    #[schemars(with = "Option<RawBatch>")]
    pub(super) batch: Option<Spanned<RawBatch>>,
    /// Explicit min/opt/max shapes per input, like "1x3x112x112" (instead of `batch`).
    #[schemars(with = "Option<BTreeMap<String, ShapeRange>>")]
    pub(super) shapes: Option<Spanned<BTreeMap<String, ShapeRange>>>,
    pub(super) build: Option<RawFlags>,
    /// When a host would use an engine built on another GPU model of its arch (overrides [defaults]).
    pub(super) gpu_model: Option<GpuModelPolicy>,
    /// Where the engines' weights live (overrides [defaults]).
    #[schemars(with = "Option<WeightsMode>")]
    pub(super) weights: Option<Spanned<WeightsMode>>,
}

/// A batch range over the leading dim of the ONNX inputs: 1 <= min <= opt <= max.
#[derive(Deserialize, Clone, Copy, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Batch")]
pub(super) struct RawBatch {
    pub(super) min: u32,
    pub(super) opt: u32,
    pub(super) max: u32,
}

/// Builder flags; each changes the engine's fingerprint.
#[derive(Deserialize, Clone, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "BuildFlags")]
pub(super) struct RawFlags {
    /// Workspace limit in MiB (--memPoolSize=workspace:NM).
    pub(super) workspace_mib: Option<u64>,
    /// Builder optimization level 0..5 (TensorRT >= 8.6).
    #[schemars(with = "Option<u8>")]
    pub(super) optimization_level: Option<Spanned<u8>>,
    /// Hardware compatibility level, like "ampere+" (TensorRT >= 8.6).
    pub(super) hardware_compatibility: Option<String>,
    /// Build version-compatible engines (TensorRT >= 8.6).
    pub(super) version_compatible: Option<bool>,
    /// Take precisions from the ONNX types (--stronglyTyped).
    pub(super) strongly_typed: Option<bool>,
    /// More trtexec arguments, passed as they are.
    pub(super) extra_args: Option<Vec<String>>,
}

/// The JSON Schema of engines.toml, for editors (taplo, Even Better TOML).
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(RawManifest)).expect("schema serializes")
}

impl RawFlags {
    /// Field by field: what the model sets wins over `[defaults.build]`.
    pub(super) fn over(self, defaults: &RawFlags) -> RawFlags {
        RawFlags {
            workspace_mib: self.workspace_mib.or(defaults.workspace_mib),
            optimization_level: self
                .optimization_level
                .or_else(|| defaults.optimization_level.clone()),
            hardware_compatibility: self
                .hardware_compatibility
                .or_else(|| defaults.hardware_compatibility.clone()),
            version_compatible: self.version_compatible.or(defaults.version_compatible),
            strongly_typed: self.strongly_typed.or(defaults.strongly_typed),
            extra_args: self.extra_args.or_else(|| defaults.extra_args.clone()),
        }
    }
}
