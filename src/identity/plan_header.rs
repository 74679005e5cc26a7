//! The first 28 bytes of every TensorRT plan, which say which TensorRT built it: bytes 0–3 the
//! plan tag (`ftrt`, 0x74727466 little-endian), bytes 4–7 the serialization version (0 is the
//! only one), bytes 24–27 the builder's major, minor, patch and build numbers. trtexec's
//! `--getPlanVersionOnly` reads the same bytes (`printPlanVersion` in TensorRT's
//! `samples/common/sampleEngines.cpp`); reading them here needs no TensorRT at all.

use super::TrtVersion;

/// How many bytes of a plan say who built it.
pub const PLAN_HEADER_LEN: usize = 28;

const PLAN_TAG: u32 = 0x7472_7466;
const SERIALIZATION_VERSION: u32 = 0;

/// What a plan's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanHeader {
    /// The exact TensorRT build that serialized the plan, all four parts.
    pub built_by: TrtVersion,
}

/// Why a plan's header disagrees with what the engine is said to be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanMismatch {
    #[error("{0}")]
    Unreadable(#[from] PlanHeaderError),
    #[error("its plan header says TensorRT {built_by} built it, not {named} as its name says")]
    Name {
        built_by: TrtVersion,
        named: TrtVersion,
    },
    #[error(
        "its plan header says TensorRT {built_by} built it, not {recorded} as its sidecar says"
    )]
    Sidecar {
        built_by: TrtVersion,
        recorded: TrtVersion,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanHeaderError {
    #[error("{len} bytes are too few for a TensorRT plan, whose header alone is 28")]
    Short { len: usize },
    #[error("not a TensorRT plan: it starts with {found:#010x}, not the plan tag `ftrt`")]
    Tag { found: u32 },
    #[error("a plan of serialization version {found}, which no TensorRT this reads writes")]
    Serialization { found: u32 },
}

impl PlanHeader {
    /// Reads the header from the first bytes of a plan (at least 28 of them).
    pub fn parse(bytes: &[u8]) -> Result<PlanHeader, PlanHeaderError> {
        let Some(header) = bytes.first_chunk::<PLAN_HEADER_LEN>() else {
            return Err(PlanHeaderError::Short { len: bytes.len() });
        };
        let word = |at: usize| u32::from_le_bytes([0, 1, 2, 3].map(|i| header[at + i]));
        match (word(0), word(4)) {
            (PLAN_TAG, SERIALIZATION_VERSION) => {}
            (PLAN_TAG, found) => return Err(PlanHeaderError::Serialization { found }),
            (found, _) => return Err(PlanHeaderError::Tag { found }),
        }
        let [major, minor, patch, build] = [24, 25, 26, 27].map(|i| u32::from(header[i]));
        Ok(PlanHeader {
            built_by: TrtVersion::new(major, minor, patch).with_build(build),
        })
    }

    /// The exact build that made the plan starting with `head`, checked against the version
    /// the engine is named for (three parts, or an exact four-part build) and the build its
    /// sidecar records. `None` for versions before 8.6, whose header this does not know.
    pub fn check(
        head: &[u8],
        named: TrtVersion,
        recorded: Option<TrtVersion>,
    ) -> Result<Option<TrtVersion>, PlanMismatch> {
        if named < TrtVersion::new(8, 6, 0) {
            return Ok(None);
        }
        let built_by = PlanHeader::parse(head)?.built_by;
        if !named.admits(built_by) {
            return Err(PlanMismatch::Name { built_by, named });
        }
        match recorded {
            Some(recorded) if recorded != built_by => {
                Err(PlanMismatch::Sidecar { built_by, recorded })
            }
            _ => Ok(Some(built_by)),
        }
    }

    /// [`PlanHeader::check`] of the plan at `path`.
    pub fn check_file(
        path: &std::path::Path,
        named: TrtVersion,
        recorded: Option<TrtVersion>,
    ) -> std::io::Result<Result<Option<TrtVersion>, PlanMismatch>> {
        use std::io::Read;
        let mut head = Vec::with_capacity(PLAN_HEADER_LEN);
        std::fs::File::open(path)?
            .take(PLAN_HEADER_LEN as u64)
            .read_to_end(&mut head)?;
        Ok(PlanHeader::check(&head, named, recorded))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(tag: &[u8; 4], serialization: u32, version: [u8; 4]) -> Vec<u8> {
        let mut bytes = tag.to_vec();
        bytes.extend(serialization.to_le_bytes());
        bytes.extend([0xa5; 16]);
        bytes.extend(version);
        bytes.extend(b"the rest of the plan");
        bytes
    }

    #[test]
    fn the_builder_version_is_read_from_bytes_24_to_27() {
        let plan = header(b"ftrt", 0, [10, 3, 0, 26]);
        assert_eq!(
            PlanHeader::parse(&plan),
            Ok(PlanHeader {
                built_by: TrtVersion::new(10, 3, 0).with_build(26)
            })
        );
        assert_eq!(
            PlanHeader::parse(&plan[..PLAN_HEADER_LEN])
                .unwrap()
                .built_by,
            "10.3.0.26".parse().unwrap()
        );
    }

    #[test]
    fn a_plan_is_checked_against_its_name_and_its_sidecar() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.trt");
        std::fs::write(&path, header(b"ftrt", 0, [10, 3, 0, 26])).unwrap();
        let check = |named: &str, recorded: Option<&str>| {
            PlanHeader::check_file(
                &path,
                named.parse().unwrap(),
                recorded.map(|r| r.parse().unwrap()),
            )
            .unwrap()
        };
        let exact = TrtVersion::new(10, 3, 0).with_build(26);
        assert_eq!(check("10.3.0", None), Ok(Some(exact)));
        assert_eq!(check("10.3.0.26", Some("10.3.0.26")), Ok(Some(exact)));
        assert!(matches!(
            check("10.3.0.30", None),
            Err(PlanMismatch::Name { .. })
        ));
        assert!(matches!(
            check("10.4.0", None),
            Err(PlanMismatch::Name { .. })
        ));
        let recorded = check("10.3.0", Some("10.3.0.30")).unwrap_err();
        assert_eq!(
            recorded.to_string(),
            "its plan header says TensorRT 10.3.0.26 built it, not 10.3.0.30 as its sidecar says"
        );
        assert_eq!(check("8.5.3", None), Ok(None), "before 8.6: not checked");
        std::fs::write(&path, b"engine built by an earlier tool").unwrap();
        assert!(matches!(
            check("10.3.0", None),
            Err(PlanMismatch::Unreadable(_))
        ));
    }

    #[test]
    fn what_is_no_plan_says_why() {
        assert_eq!(
            PlanHeader::parse(&header(b"ftrt", 0, [8, 6, 1, 6])[..27]),
            Err(PlanHeaderError::Short { len: 27 })
        );
        assert_eq!(
            PlanHeader::parse(&header(b"TRTS", 0, [10, 3, 0, 26])),
            Err(PlanHeaderError::Tag { found: 0x5354_5254 })
        );
        assert_eq!(
            PlanHeader::parse(&header(b"ftrt", 7, [10, 3, 0, 26])),
            Err(PlanHeaderError::Serialization { found: 7 })
        );
    }
}
