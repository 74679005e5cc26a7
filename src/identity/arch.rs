//! What an engine is built for: a GPU arch (or the `sm_80-plus` of `ampere+` engines), the
//! hardware compatibility levels, and GPU models within an arch.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{NameError, TrtVersion};

/// A CUDA compute capability as `sm_{major}{minor}`: `sm_86`, `sm_90`, `sm_120`. As an
/// engine's target it may also be [`GpuArch::AMPERE_PLUS`], `sm_80-plus`: one engine built with
/// TensorRT's hardware compatibility level `ampere+`, which loads on every GPU of sm_80 or later
/// except Jetson and DRIVE. (ONNX Runtime writes `sm80+`; a `+` is not safe in every S3 client's
/// URLs, so the name spells it out.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GpuArch {
    major: u32,
    minor: u32,
    and_later: bool,
}

/// How `sm_80-plus` ends.
const AND_LATER_SUFFIX: &str = "-plus";

/// The compute capabilities of NVIDIA's integrated GPUs (Jetson and DRIVE: TX1, TX2, Xavier,
/// Orin, Thor under CUDA 12.8 and under CUDA 13), where hardware-compatible engines do not run
/// (sources: docs/gpu.md#gpu-archs).
const INTEGRATED: [(u32, u32); 6] = [(5, 3), (6, 2), (7, 2), (8, 7), (10, 1), (11, 0)];

impl GpuArch {
    /// The target of engines built with `hardware_compatibility = "ampere+"`.
    pub const AMPERE_PLUS: GpuArch = GpuArch {
        major: 8,
        minor: 0,
        and_later: true,
    };

    pub fn new(major: u32, minor: u32) -> Self {
        GpuArch {
            major,
            minor,
            and_later: false,
        }
    }
    pub fn major(self) -> u32 {
        self.major
    }
    pub fn minor(self) -> u32 {
        self.minor
    }

    /// Whether this is a hardware-compatible target (`sm_80-plus`) rather than one arch.
    pub fn is_and_later(self) -> bool {
        self.and_later
    }

    /// Whether this is the arch of a Jetson or DRIVE GPU.
    pub fn is_integrated(self) -> bool {
        !self.and_later && INTEGRATED.contains(&(self.major, self.minor))
    }

    /// The archs an engine of this target is for, given those recorded for an `sm_80-plus` one
    /// (none for one arch's engine).
    pub fn serving(self, recorded: &[GpuArch]) -> Vec<GpuArch> {
        if recorded.is_empty() {
            vec![self]
        } else {
            recorded.to_vec()
        }
    }

    /// Whether a GPU of arch `gpu` builds and loads engines of this target: the same arch, or
    /// for `sm_80-plus` any arch from sm_80 on but Jetson's and DRIVE's.
    pub fn accepts(self, gpu: GpuArch) -> bool {
        if self.and_later {
            !gpu.and_later
                && (gpu.major, gpu.minor) >= (self.major, self.minor)
                && !gpu.is_integrated()
        } else {
            self == gpu
        }
    }
}

impl fmt::Display for GpuArch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sm_{}{}", self.major, self.minor)?;
        if self.and_later {
            f.write_str(AND_LATER_SUFFIX)?;
        }
        Ok(())
    }
}

impl FromStr for GpuArch {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        if let Some(base) = s.strip_suffix(AND_LATER_SUFFIX) {
            return match base.parse::<GpuArch>() {
                Ok(arch) if arch == GpuArch::new(8, 0) => Ok(GpuArch::AMPERE_PLUS),
                _ => Err(NameError::Arch {
                    value: s.to_string(),
                    hint: "; the one hardware-compatible target is `sm_80-plus` (ampere+)".into(),
                }),
            };
        }
        let digits = s.strip_prefix("sm_").filter(|d| {
            (2..=3).contains(&d.len())
                && d.bytes().all(|b| b.is_ascii_digit())
                && !d.starts_with('0')
        });
        match digits {
            Some(d) => {
                let (major, minor) = d.split_at(d.len() - 1);
                Ok(GpuArch::new(
                    major.parse().unwrap_or(0),
                    minor.parse().unwrap_or(0),
                ))
            }
            None => {
                let fixed = s
                    .strip_prefix("sm")
                    .map(|rest| format!("sm_{}", rest.trim_start_matches('_')));
                let hint = fixed
                    .filter(|f| f != s && f.parse::<GpuArch>().is_ok())
                    .map(|f| format!("; did you mean `{f}`?"))
                    .unwrap_or_default();
                Err(NameError::Arch {
                    value: s.to_string(),
                    hint,
                })
            }
        }
    }
}

/// `hardware_compatibility` as trtexec spells its levels (`--hardwareCompatibilityLevel`).
pub const AMPERE_PLUS_LEVEL: &str = "ampere+";
pub const SAME_COMPUTE_CAPABILITY_LEVEL: &str = "sameComputeCapability";
/// Every level, and the TensorRT that first has it.
pub const HARDWARE_LEVELS: [(&str, (u32, u32)); 3] = [
    ("none", (8, 6)),
    (AMPERE_PLUS_LEVEL, (8, 6)),
    (SAME_COMPUTE_CAPABILITY_LEVEL, (10, 9)),
];

/// The TensorRT that first has hardware compatibility level `level`; `None` for no level.
pub fn hardware_level_since(level: &str) -> Option<TrtVersion> {
    (HARDWARE_LEVELS.iter())
        .find(|(name, _)| *name == level)
        .map(|(_, (major, minor))| TrtVersion::new(*major, *minor, 0))
}

/// `none, ampere+, sameComputeCapability`, for messages.
pub fn hardware_level_names() -> String {
    HARDWARE_LEVELS.map(|(name, _)| name).join(", ")
}

/// What a plan does when a host would use an engine built on another GPU model of its arch,
/// which TensorRT allows with a warning ("not recommended and is likely to affect performance
/// or even cause errors").
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum GpuModelPolicy {
    /// Say so, naming both models (the default).
    #[default]
    Warn,
    /// Say nothing: the engines are known to be portable across the arch's models.
    Any,
    /// An engine per GPU model (`…_sm_86-a10g_…`): each host builds or fetches its own model's.
    Exact,
}

impl GpuModelPolicy {
    pub fn is_warn(&self) -> bool {
        *self == GpuModelPolicy::Warn
    }
}

/// The GPU models of each arch on a host, by their model keys.
pub type GpuModels = std::collections::HashMap<GpuArch, Vec<String>>;

/// What an engine is built for: an arch (or `sm_80-plus`), and under `gpu_model = "exact"`
/// one GPU model of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EngineTarget {
    pub arch: GpuArch,
    pub gpu_model: Option<String>,
}

impl EngineTarget {
    pub fn arch(arch: GpuArch) -> EngineTarget {
        EngineTarget {
            arch,
            gpu_model: None,
        }
    }
}

/// Whether `value` is a GPU model key as `trtctl gpus` shows them: lowercase ASCII letters and
/// digits in runs joined by `-` (`a10g`, `h100-80gb-hbm3`).
pub fn is_gpu_model_key(value: &str) -> bool {
    !value.is_empty()
        && value.split('-').all(|run| {
            !run.is_empty()
                && run
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}
