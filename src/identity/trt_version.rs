//! TensorRT versions, three-part releases and four-part exact builds.

use std::fmt;
use std::str::FromStr;

use super::NameError;

/// A TensorRT version, `major.minor.patch`, or an exact build `major.minor.patch.build`:
/// TensorRT loads a plan only in the exact build that made it (unless it is version-compatible),
/// so a fleet with mixed builds pins all four parts to keep their engines apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrtVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    pub build: Option<u32>,
}

impl TrtVersion {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        TrtVersion {
            major,
            minor,
            patch,
            build: None,
        }
    }

    pub fn with_build(self, build: u32) -> Self {
        TrtVersion {
            build: Some(build),
            ..self
        }
    }

    /// `major.minor.patch`, without the build.
    pub fn release(self) -> Self {
        TrtVersion {
            build: None,
            ..self
        }
    }

    /// Whether an engine of the exact build `exact` is one of this version: the same release,
    /// and the same build where this version names one.
    pub fn admits(self, exact: TrtVersion) -> bool {
        self.release() == exact.release() && self.build.is_none_or(|b| exact.build == Some(b))
    }

    /// Whether a version-compatible plan built by this TensorRT loads in the newer `host`: from
    /// 8.6 on, in a later release of the same major, or across the majors 8 → 10 and 10 → 11
    /// (TensorRT's support matrix); never in an older one.
    pub fn compatible_plan_serves(self, host: TrtVersion) -> bool {
        let newer = self.release() < host.release();
        let majors =
            self.major == host.major || matches!((self.major, host.major), (8, 10) | (10, 11));
        newer && majors && (self.major, self.minor) >= (8, 6)
    }

    /// Decodes the integer TensorRT reports (`getInferLibVersion`, trtexec's `[TensorRT vNNNN]`):
    /// `major·10000 + minor·100 + patch` from TensorRT 10 on, `major·1000 + minor·100 + patch` before.
    pub fn from_encoded(code: u32) -> Option<Self> {
        let version = if code >= 100_000 {
            TrtVersion::new(code / 10_000, code / 100 % 100, code % 100)
        } else if code >= 1_000 {
            TrtVersion::new(code / 1_000, code / 100 % 10, code % 100)
        } else {
            return None;
        };
        Some(version)
    }
}

impl fmt::Display for TrtVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        match self.build {
            Some(build) => write!(f, ".{build}"),
            None => Ok(()),
        }
    }
}

impl FromStr for TrtVersion {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        let parts: Vec<&str> = s.split('.').collect();
        let numbers: Option<Vec<u32>> = parts
            .iter()
            .map(|p| {
                (!p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| p.parse().ok())
                    .flatten()
            })
            .collect();
        match numbers.as_deref() {
            Some([major, minor, patch]) => Ok(TrtVersion::new(*major, *minor, *patch)),
            Some([major, minor, patch, build]) => {
                Ok(TrtVersion::new(*major, *minor, *patch).with_build(*build))
            }
            _ => Err(NameError::TrtVersion {
                value: s.to_string(),
            }),
        }
    }
}
