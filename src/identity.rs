//! Engine identity: the seed's file name, the `{family}/{file}` key, the build
//! fingerprint and the sidecar that commits an engine.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

mod arch;
mod fingerprint;
mod hex;
mod plan_header;
mod sidecar;
mod summary;
mod trt_version;
mod weights;

pub use arch::{
    AMPERE_PLUS_LEVEL, EngineTarget, GpuArch, GpuModelPolicy, GpuModels, HARDWARE_LEVELS,
    SAME_COMPUTE_CAPABILITY_LEVEL, hardware_level_names, hardware_level_since, is_gpu_model_key,
};
pub use fingerprint::ModelFingerprints;
pub use hex::{hex, sha256_hex};
pub use plan_header::{PLAN_HEADER_LEN, PlanHeader, PlanHeaderError, PlanMismatch};
pub use sidecar::{LocalTrust, Provenance, Sidecar, SidecarError};
pub use summary::SidecarSummary;
pub use trt_version::TrtVersion;
pub use weights::{STRIPPED_SINCE, WeightsMode, WeightsRecord, plan_fingerprint};

/// Bumped whenever the sidecar layout changes incompatibly.
pub const SIDECAR_SCHEMA_VERSION: u32 = 1;
/// Part of every fingerprint, so a change of the encoding invalidates all of them.
const FINGERPRINT_DOMAIN: &str = "trtctl-fingerprint-v1";
pub const ENGINE_EXTENSION: &str = ".trt";
pub const SIDECAR_SUFFIX: &str = ".json";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("{what} is empty")]
    Empty { what: &'static str },
    #[error(
        "{what} `{}` contains `{}`; allowed are ASCII letters (a-z, A-Z), digits, `.` and `-`{underscore}",
        crate::sys::shown(value),
        crate::sys::shown(&bad.to_string())
    )]
    BadChar {
        what: &'static str,
        value: String,
        bad: char,
        underscore: &'static str,
    },
    #[error("{what} `{value}` could escape its directory (`..` or a leading `.`)")]
    Escapes { what: &'static str, value: String },
    #[error("unknown precision `{value}`; expected one of {expected}{hint}")]
    Precision {
        value: String,
        expected: String,
        hint: String,
    },
    #[error(
        "`{value}` is not a GPU arch; expected `sm_` and the compute capability, like `sm_86`{hint}"
    )]
    Arch { value: String, hint: String },
    #[error("`{value}` is not a GPU's arch{hint}")]
    NotAGpu { value: String, hint: String },
    #[error(
        "`{value}` is not a TensorRT version; expected `major.minor.patch`, like `10.3.0`, or the exact build `major.minor.patch.build`, like `10.3.0.30`"
    )]
    TrtVersion { value: String },
    #[error(
        "`{value}` is not an engine file name `{{model}}_{{version}}_{{precision}}_sm_{{NN}}_{{trt}}.trt`: {why}"
    )]
    FileName { value: String, why: String },
}

/// Whether a name component may contain `_`. Model names and families may (the seed
/// names `arcface_r100`); the other components may not, so a file name parses from the right.
#[derive(Clone, Copy)]
enum Underscore {
    Allowed,
    Forbidden,
}

fn validate_component(
    what: &'static str,
    value: &str,
    underscore: Underscore,
) -> Result<(), NameError> {
    if value.is_empty() {
        return Err(NameError::Empty { what });
    }
    if value.starts_with('.') || value.contains("..") {
        return Err(NameError::Escapes {
            what,
            value: value.to_string(),
        });
    }
    let underscore_ok = matches!(underscore, Underscore::Allowed);
    if let Some(bad) = value.chars().find(|&c| {
        !(c.is_ascii_alphanumeric() || c == '.' || c == '-' || (c == '_' && underscore_ok))
    }) {
        return Err(NameError::BadChar {
            what,
            value: value.to_string(),
            bad,
            underscore: if underscore_ok { " and `_`" } else { "" },
        });
    }
    Ok(())
}

pub fn validate_model_name(value: &str) -> Result<(), NameError> {
    validate_component("model name", value, Underscore::Allowed)
}

pub fn validate_family(value: &str) -> Result<(), NameError> {
    validate_component("family", value, Underscore::Allowed)
}

pub fn validate_model_version(value: &str) -> Result<(), NameError> {
    validate_component("model version", value, Underscore::Forbidden)
}

/// The closest candidate to `value`, when it is close enough to be a likely typo.
pub fn nearest<'a>(value: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(value, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Precision {
    Fp32,
    Fp16,
    Bf16,
    Int8,
    Fp8,
    Best,
}

impl Precision {
    pub const ALL: [Precision; 6] = [
        Precision::Fp32,
        Precision::Fp16,
        Precision::Bf16,
        Precision::Int8,
        Precision::Fp8,
        Precision::Best,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Fp32 => "fp32",
            Precision::Fp16 => "fp16",
            Precision::Bf16 => "bf16",
            Precision::Int8 => "int8",
            Precision::Fp8 => "fp8",
            Precision::Best => "best",
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Precision {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        Precision::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| NameError::Precision {
                value: s.to_string(),
                expected: Precision::ALL
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                hint: did_you_mean(nearest(s, Precision::ALL.iter().map(|p| p.as_str()))),
            })
    }
}

macro_rules! string_serde {
    ($ty:ty) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
string_serde!(Precision);
string_serde!(GpuArch);
string_serde!(TrtVersion);

/// JSON Schemas of the string-encoded types, for `docs/engines.schema.json`.
macro_rules! string_schema {
    ($ty:ty, $name:literal, $schema:tt) => {
        impl schemars::JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!($schema)
            }
        }
    };
}
string_schema!(Precision, "Precision", {
    "type": "string",
    "enum": ["fp32", "fp16", "bf16", "int8", "fp8", "best"]
});
string_schema!(GpuArch, "GpuArch", {
    "type": "string",
    "pattern": "^sm_[1-9][0-9]{1,2}$",
    "description": "CUDA compute capability, e.g. sm_86"
});
string_schema!(TrtVersion, "TrtVersion", {
    "type": "string",
    "pattern": "^[0-9]+\\.[0-9]+\\.[0-9]+$"
});

/// What names one engine: the five components of the seed's file name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EngineId {
    pub model_name: String,
    pub model_version: String,
    pub precision: Precision,
    pub gpu_arch: GpuArch,
    pub trt_version: TrtVersion,
    /// Under `gpu_model = "exact"`, the GPU model the engine is for, written after its arch:
    /// `sm_86-a10g`. `None` (the seed's name) for every other engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_model: Option<String>,
}

/// The longest engine file name: the file system allows 255 bytes, and the longest name derived
/// from an engine's is the remote staging object `{file}.{24 hex}` (25 more; the local temp
/// file `.tmp-{file}.XXXXXX` adds 12).
pub const MAX_ENGINE_FILE_NAME: usize = 255 - 25;

/// `{model_name}_{model_version}_{precision}_`: the part of an engine's file name before its arch.
fn write_name_head(out: &mut String, model_name: &str, model_version: &str, precision: Precision) {
    use std::fmt::Write;
    let _ = write!(out, "{model_name}_{model_version}_{precision}_");
}

/// `{gpu_arch}[-{gpu_model}]_{trt_version}.trt`: the rest of an engine's file name.
fn write_name_tail(out: &mut String, target: &EngineTarget, trt_version: TrtVersion) {
    use std::fmt::Write;
    let _ = write!(out, "{}", target.arch);
    if let Some(model) = &target.gpu_model {
        let _ = write!(out, "-{model}");
    }
    let _ = write!(out, "_{trt_version}{ENGINE_EXTENSION}");
}

impl EngineId {
    /// `{model_name}_{model_version}_{precision}_{gpu_arch}_{trt_version}.trt`, as the seed named them.
    pub fn file_name(&self) -> String {
        // Allocated once at about its final size (`format!` regrew it), 10,000 times a plan.
        let mut name = String::with_capacity(self.model_name.len() + self.model_version.len() + 32);
        write_name_head(
            &mut name,
            &self.model_name,
            &self.model_version,
            self.precision,
        );
        write_name_tail(&mut name, &self.target(), self.trt_version);
        name
    }

    /// What the engine is built for: its arch, and the GPU model under `gpu_model = "exact"`.
    pub fn target(&self) -> EngineTarget {
        EngineTarget {
            arch: self.gpu_arch,
            gpu_model: self.gpu_model.clone(),
        }
    }

    /// The file names of one model version's engines, arch by arch within precision by
    /// precision (the order a manifest expands them in), each its `EngineId`'s `file_name`.
    /// What the names share is formatted once: a plan sends for 10,000 of them first thing.
    pub fn file_names(
        model_name: &str,
        model_version: &str,
        precisions: &[Precision],
        targets: &[EngineTarget],
        trt: TrtVersion,
    ) -> Vec<String> {
        let tails: Vec<String> = targets
            .iter()
            .map(|target| {
                let mut tail = String::new();
                write_name_tail(&mut tail, target, trt);
                tail
            })
            .collect();
        let mut names = Vec::with_capacity(precisions.len() * targets.len());
        for &precision in precisions {
            let mut head = String::new();
            write_name_head(&mut head, model_name, model_version, precision);
            names.extend(tails.iter().map(|tail| {
                let mut name = String::with_capacity(head.len() + tail.len());
                name.push_str(&head);
                name.push_str(tail);
                name
            }));
        }
        names
    }

    /// Parses a file name back, from the right: model names may contain `_`, the other parts may not.
    pub fn parse_file_name(file: &str) -> Result<EngineId, NameError> {
        let fail = |why: &str| NameError::FileName {
            value: file.to_string(),
            why: why.to_string(),
        };
        let stem = file
            .strip_suffix(ENGINE_EXTENSION)
            .ok_or_else(|| fail("it does not end in `.trt`"))?;
        let mut parts = stem.rsplitn(6, '_');
        let mut next = |what: &str| {
            parts
                .next()
                .ok_or_else(|| fail(&format!("the {what} is missing")))
        };
        let trt = next("TensorRT version")?;
        let arch_digits = next("GPU arch")?;
        let arch_prefix = next("GPU arch")?;
        let precision = next("precision")?;
        let version = next("model version")?;
        let model = next("model name")?;
        let trt_version = trt.parse().map_err(|e: NameError| fail(&e.to_string()))?;
        if arch_prefix != "sm" {
            return Err(fail("the GPU arch is not `sm_NN`"));
        }
        // `86-a10g`: an engine for one GPU model; `80-plus` is the ampere+ target.
        let (arch_digits, gpu_model) = match arch_digits.split_once('-') {
            Some((digits, model)) if model != "plus" => {
                // `80-plus-a10` would read as a model `plus-a10` of sm_80.
                if !is_gpu_model_key(model) || model.starts_with("plus-") {
                    return Err(fail(&format!(
                        "`{model}` is not a GPU model key, like `a10g`"
                    )));
                }
                (digits, Some(model.to_string()))
            }
            _ => (arch_digits, None),
        };
        let gpu_arch: GpuArch = format!("sm_{arch_digits}")
            .parse()
            .map_err(|e: NameError| fail(&e.to_string()))?;
        if gpu_model.is_some() && gpu_arch.is_and_later() {
            return Err(fail("an sm_80-plus engine is for no one GPU model"));
        }
        let precision = precision
            .parse()
            .map_err(|e: NameError| fail(&e.to_string()))?;
        validate_model_version(version).map_err(|e| fail(&e.to_string()))?;
        validate_model_name(model).map_err(|e| fail(&e.to_string()))?;
        let id = EngineId {
            model_name: model.to_string(),
            model_version: version.to_string(),
            precision,
            gpu_arch,
            trt_version,
            gpu_model,
        };
        // One engine, one name: `sm_086` or `10.03.0` would alias the canonical name.
        let canonical = id.file_name();
        if canonical != file {
            return Err(fail(&format!(
                "it is not written the one way trtctl writes it, `{canonical}`"
            )));
        }
        Ok(id)
    }

    /// The family a model belongs to when the manifest names none: its name up to the first
    /// `_`, or the whole name when that is empty (`_probe`): an empty family would put the
    /// engines in the cache dir itself, where nothing lists them.
    pub fn default_family(model_name: &str) -> &str {
        match model_name.split('_').next() {
            Some(prefix) if !prefix.is_empty() => prefix,
            _ => model_name,
        }
    }
}

/// Where an engine lives, locally under the cache dir and remotely under the prefix:
/// `{family}/{file}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EngineKey {
    pub family: String,
    pub file: String,
}

impl EngineKey {
    pub fn new(family: &str, id: &EngineId) -> Self {
        EngineKey {
            family: family.to_string(),
            file: id.file_name(),
        }
    }

    /// Parses `{family}/{file}` as found in a listing, refusing anything that could name a
    /// path outside the store (absolute paths, `..`, nested directories, foreign names).
    pub fn parse(relative: &str) -> Result<(EngineKey, EngineId), NameError> {
        let (family, file) = relative
            .split_once('/')
            .ok_or_else(|| NameError::FileName {
                value: relative.to_string(),
                why: "it is not under a family directory".to_string(),
            })?;
        validate_family(family)?;
        let id = EngineId::parse_file_name(file)?;
        Ok((
            EngineKey {
                family: family.to_string(),
                file: file.to_string(),
            },
            id,
        ))
    }

    pub fn sidecar_file(&self) -> String {
        // One allocation of the right size (`format!` grew it twice), 10,000 times a plan.
        [self.file.as_str(), SIDECAR_SUFFIX].concat()
    }

    /// `{family}/{file}`, relative to a cache dir or remote prefix.
    pub fn path(&self) -> String {
        format!("{}/{}", self.family, self.file)
    }

    pub fn sidecar_path(&self) -> String {
        format!("{}/{}", self.family, self.sidecar_file())
    }
}

impl fmt::Display for EngineKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.family, self.file)
    }
}

/// An optimization profile in trtexec's terms: per input, min/opt/max dims like `1x3x112x112`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Profile {
    /// The ONNX file's own static shapes.
    Static,
    /// A range over the leading (batch) dim of every dynamic input; the other dims come from the ONNX.
    Batch { min: u32, opt: u32, max: u32 },
    /// Explicit shapes per input name, each a `min`/`opt`/`max` dims string.
    Shapes {
        inputs: std::collections::BTreeMap<String, ShapeRange>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShapeRange {
    pub min: String,
    pub opt: String,
    pub max: String,
}

/// Builder settings that change the engine's bytes, hence its fingerprint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BuildFlags {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_mib: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimization_level: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware_compatibility: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub version_compatible: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub strongly_typed: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_args: Vec<String>,
    /// Absent for `embedded`, so the fingerprints of engines built before it stay what they were.
    #[serde(default, skip_serializing_if = "WeightsMode::is_embedded")]
    pub weights: WeightsMode,
}

/// Everything that goes into an engine's bytes. Its canonical JSON is what the fingerprint hashes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BuildInputs {
    pub onnx_sha256: String,
    pub precision: Precision,
    pub gpu_arch: GpuArch,
    pub trt_version: TrtVersion,
    pub profile: Profile,
    pub flags: BuildFlags,
}

impl BuildInputs {
    pub fn fingerprint(&self) -> Fingerprint {
        // Struct fields serialize in declaration order and maps are BTreeMaps: the encoding is
        // canonical, identical on every machine and run.
        // Sized for the usual encoding (about 300 bytes): no regrowing, 10,000 times a plan.
        let mut canonical = Vec::with_capacity(512);
        serde_json::to_writer(&mut canonical, self).expect("build inputs serialize");
        let mut hasher = Sha256::new();
        hasher.update(FINGERPRINT_DOMAIN.as_bytes());
        hasher.update([0]);
        hasher.update(&canonical);
        Fingerprint(hex(&hasher.finalize()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fingerprint(pub String);

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Fingerprint {
    pub fn short(&self) -> &str {
        &self.0[..self.0.len().min(12)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(name: &str, version: &str, precision: Precision, arch: &str, trt: &str) -> EngineId {
        EngineId {
            model_name: name.into(),
            model_version: version.into(),
            precision,
            gpu_arch: arch.parse().unwrap(),
            trt_version: trt.parse().unwrap(),
            gpu_model: None,
        }
    }

    #[test]
    fn names_formatted_together_are_each_engines_file_name() {
        let target = |arch: &str, model: Option<&str>| EngineTarget {
            arch: arch.parse().unwrap(),
            gpu_model: model.map(str::to_string),
        };
        let targets = [
            target("sm_75", None),
            target("sm_86", None),
            target("sm_86", Some("a10g")),
            target("sm_80-plus", None),
        ];
        let precisions = [Precision::Fp16, Precision::Int8];
        let trt: TrtVersion = "10.3.0".parse().unwrap();
        let names = EngineId::file_names("arcface_r100", "v1.0", &precisions, &targets, trt);
        let one_by_one: Vec<String> = precisions
            .iter()
            .flat_map(|&precision| {
                targets.iter().map(move |target| EngineId {
                    model_name: "arcface_r100".into(),
                    model_version: "v1.0".into(),
                    precision,
                    gpu_arch: target.arch,
                    trt_version: trt,
                    gpu_model: target.gpu_model.clone(),
                })
            })
            .map(|id| id.file_name())
            .collect();
        assert_eq!(names, one_by_one);
        assert_eq!(names[1], "arcface_r100_v1.0_fp16_sm_86_10.3.0.trt");
        assert_eq!(names[2], "arcface_r100_v1.0_fp16_sm_86-a10g_10.3.0.trt");
        assert_eq!(names[3], "arcface_r100_v1.0_fp16_sm_80-plus_10.3.0.trt");
        for name in &names {
            assert_eq!(&EngineId::parse_file_name(name).unwrap().file_name(), name);
        }
        for bad in ["sm_86-A10G", "sm_86-", "sm_86-a_b", "sm_80-plus-a10"] {
            let file = format!("m_v1_fp16_{bad}_10.3.0.trt");
            assert!(EngineId::parse_file_name(&file).is_err(), "{file}");
        }
    }

    #[test]
    fn the_default_family_is_the_name_up_to_its_first_underscore_and_never_empty() {
        assert_eq!(EngineId::default_family("arcface_r100"), "arcface");
        assert_eq!(EngineId::default_family("yolo"), "yolo");
        assert_eq!(EngineId::default_family("_probe"), "_probe");
        assert_eq!(EngineId::default_family("__probe_x"), "__probe_x");
    }

    #[test]
    fn file_names_match_the_seed_bit_for_bit() {
        let a = id("arcface_r100", "v1.0", Precision::Fp16, "sm_86", "8.6.1");
        assert_eq!(a.file_name(), "arcface_r100_v1.0_fp16_sm_86_8.6.1.trt");
        let b = id(
            "arcface_r100",
            "a1b2c3d4",
            Precision::Fp32,
            "sm_75",
            "8.5.3",
        );
        assert_eq!(b.file_name(), "arcface_r100_a1b2c3d4_fp32_sm_75_8.5.3.trt");
    }

    #[test]
    fn file_names_round_trip_with_underscores_in_model_names() {
        for engine in [
            id("arcface_r100", "v1.0", Precision::Fp16, "sm_86", "8.6.1"),
            id("a_b_c_d", "a1b2c3d4", Precision::Int8, "sm_120", "10.16.2"),
            id("yolo", "2024.1-rc1", Precision::Best, "sm_90", "10.3.0"),
        ] {
            assert_eq!(
                EngineId::parse_file_name(&engine.file_name()).unwrap(),
                engine
            );
        }
    }

    #[test]
    fn foreign_file_names_are_refused() {
        for bad in [
            "arcface_r100_v1.0_fp16_sm_86_8.6.1",
            "arcface_r100_v1.0_fp61_sm_86_8.6.1.trt",
            "arcface_r100_v1.0_fp16_sm86_8.6.1.trt",
            "arcface_r100_v1.0_fp16_sm_86_8.6.trt",
            "_v1.0_fp16_sm_86_8.6.1.trt",
            "fp16_sm_86_8.6.1.trt",
            "a_.._fp16_sm_86_8.6.1.trt",
            // Aliases of a real name (found by the `engine_name` fuzz target).
            "scrfd_v1_bf16_sm_89_00.3.0.trt",
            "scrfd_v1_bf16_sm_89_10.03.0.trt",
            "scrfd_v1_bf16_sm_089_10.3.0.trt",
        ] {
            assert!(EngineId::parse_file_name(bad).is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn keys_refuse_paths_that_escape() {
        for bad in [
            "../x/arcface_r100_v1.0_fp16_sm_86_8.6.1.trt",
            "/etc/arcface_r100_v1.0_fp16_sm_86_8.6.1.trt",
            "a/b/arcface_r100_v1.0_fp16_sm_86_8.6.1.trt",
            "arcface_r100_v1.0_fp16_sm_86_8.6.1.trt",
        ] {
            assert!(EngineKey::parse(bad).is_err(), "{bad} parsed");
        }
        let (key, _) = EngineKey::parse("arcface/arcface_r100_v1.0_fp16_sm_86_8.6.1.trt").unwrap();
        assert_eq!(key.path(), "arcface/arcface_r100_v1.0_fp16_sm_86_8.6.1.trt");
    }

    #[test]
    fn arch_parsing_and_hints() {
        assert_eq!("sm_86".parse::<GpuArch>().unwrap(), GpuArch::new(8, 6));
        assert_eq!("sm_120".parse::<GpuArch>().unwrap(), GpuArch::new(12, 0));
        assert_eq!(GpuArch::new(10, 0).to_string(), "sm_100");
        let err = "sm86".parse::<GpuArch>().unwrap_err().to_string();
        assert!(err.contains("did you mean `sm_86`"), "{err}");
        assert!("sm_8".parse::<GpuArch>().is_err());
        assert!("sm_086".parse::<GpuArch>().is_err());
    }

    #[test]
    fn precision_suggests_the_nearest() {
        let err = "fp61".parse::<Precision>().unwrap_err().to_string();
        assert!(err.contains("did you mean `fp16`"), "{err}");
    }

    #[test]
    fn an_exact_build_is_named_with_all_four_parts() {
        let exact: TrtVersion = "10.3.0.30".parse().unwrap();
        assert_eq!(exact, TrtVersion::new(10, 3, 0).with_build(30));
        assert_eq!(exact.to_string(), "10.3.0.30");
        let engine = id(
            "arcface_r100",
            "v1.0",
            Precision::Fp16,
            "sm_86",
            "10.3.0.30",
        );
        let name = engine.file_name();
        assert_eq!(name, "arcface_r100_v1.0_fp16_sm_86_10.3.0.30.trt");
        assert_eq!(EngineId::parse_file_name(&name).unwrap(), engine);
        let release = TrtVersion::new(10, 3, 0);
        assert!(release.admits(exact) && exact.admits(exact));
        assert!(!exact.admits(release.with_build(26)));
        assert!(!release.admits(TrtVersion::new(10, 3, 1).with_build(30)));
        assert!("10.3.0.30.1".parse::<TrtVersion>().is_err());
        assert!("10.3".parse::<TrtVersion>().is_err());
    }

    #[test]
    fn trt_versions_decode_both_encodings() {
        assert_eq!(
            TrtVersion::from_encoded(100300),
            Some(TrtVersion::new(10, 3, 0))
        );
        assert_eq!(
            TrtVersion::from_encoded(101602),
            Some(TrtVersion::new(10, 16, 2))
        );
        assert_eq!(
            TrtVersion::from_encoded(8601),
            Some(TrtVersion::new(8, 6, 1))
        );
        assert_eq!(
            TrtVersion::from_encoded(8402),
            Some(TrtVersion::new(8, 4, 2))
        );
        assert_eq!(TrtVersion::from_encoded(7), None);
    }

    fn inputs() -> BuildInputs {
        BuildInputs {
            onnx_sha256: "ab".repeat(32),
            precision: Precision::Fp16,
            gpu_arch: GpuArch::new(8, 6),
            trt_version: TrtVersion::new(10, 3, 0),
            profile: Profile::Batch {
                min: 1,
                opt: 32,
                max: 64,
            },
            flags: BuildFlags {
                workspace_mib: Some(4096),
                ..BuildFlags::default()
            },
        }
    }

    #[test]
    fn fingerprint_is_stable_across_runs_and_machines() {
        // A literal: any change of the encoding shows here, and must bump FINGERPRINT_DOMAIN.
        assert_eq!(
            inputs().fingerprint().0,
            "af79c732da86244e7fd152cd45de699226719462d13ff42391a2c1abd943e802"
        );
    }

    #[test]
    fn every_build_input_changes_the_fingerprint() {
        let base = inputs().fingerprint();
        type Change = Box<dyn Fn(&mut BuildInputs)>;
        let variants: Vec<Change> = vec![
            Box::new(|i| i.onnx_sha256 = "cd".repeat(32)),
            Box::new(|i| i.precision = Precision::Fp32),
            Box::new(|i| i.gpu_arch = GpuArch::new(8, 9)),
            Box::new(|i| i.trt_version = TrtVersion::new(10, 3, 1)),
            Box::new(|i| {
                i.profile = Profile::Batch {
                    min: 1,
                    opt: 16,
                    max: 64,
                }
            }),
            Box::new(|i| i.profile = Profile::Static),
            Box::new(|i| i.flags.workspace_mib = Some(2048)),
            Box::new(|i| i.flags.optimization_level = Some(5)),
            Box::new(|i| i.flags.version_compatible = true),
            Box::new(|i| i.flags.extra_args = vec!["--sparsity=enable".into()]),
        ];
        for (n, change) in variants.iter().enumerate() {
            let mut changed = inputs();
            change(&mut changed);
            assert_ne!(
                changed.fingerprint(),
                base,
                "variant {n} kept the fingerprint"
            );
        }
    }

    #[test]
    fn sidecars_are_checked_against_their_engine() {
        let engine = id("arcface_r100", "v1.0", Precision::Fp16, "sm_86", "10.3.0");
        let build = inputs();
        let sidecar = Sidecar {
            schema_version: SIDECAR_SCHEMA_VERSION,
            family: "arcface".into(),
            id: engine.clone(),
            fingerprint: Some(build.fingerprint()),
            engine_sha256: "00".repeat(32),
            engine_size: 3,
            build: Some(build),
            provenance: Provenance::default(),
            local_trust: None,
            weights: None,
        };
        let key = sidecar.key();
        assert_eq!(
            Sidecar::parse_for(&sidecar.to_json(), &key).unwrap(),
            sidecar
        );
        let other = EngineKey::new("other", &engine);
        assert!(matches!(
            Sidecar::parse_for(&sidecar.to_json(), &other),
            Err(SidecarError::WrongEngine { .. })
        ));
        let json = String::from_utf8(sidecar.to_json()).unwrap();
        let old = json.replace("\"schema_version\": 1", "\"schema_version\": 99");
        assert!(matches!(
            Sidecar::parse_for(old.as_bytes(), &key),
            Err(SidecarError::Schema { found: 99 })
        ));
        let truncated = &sidecar.to_json()[..40];
        assert!(matches!(
            Sidecar::parse_for(truncated, &key),
            Err(SidecarError::Malformed(_))
        ));
        let mut tampered = sidecar.clone();
        tampered.fingerprint = Some(Fingerprint("ff".repeat(32)));
        assert!(matches!(
            Sidecar::parse_for(&tampered.to_json(), &key),
            Err(SidecarError::Inconsistent)
        ));
        assert!(matches!(
            tampered.check_consistent(),
            Err(SidecarError::Inconsistent)
        ));
        assert!(sidecar.check_consistent().is_ok());
    }
}
