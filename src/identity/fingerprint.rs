//! The fingerprints of one model's engines, which differ only in precision and GPU arch: the
//! model's share of the canonical encoding is written and hashed once, not once per engine.

use sha2::{Digest, Sha256};

use super::{BuildFlags, FINGERPRINT_DOMAIN, Fingerprint, GpuArch, Precision, Profile, TrtVersion};

/// The canonical encoding of [`super::BuildInputs`] around its precision and GPU arch, for
/// one model (ONNX digest, TensorRT version, shapes and flags). `of` equals
/// `BuildInputs::fingerprint` of the same inputs (tested); that serde encoding stays the
/// definition, this only skips re-encoding and re-hashing what the engines share.
pub struct ModelFingerprints {
    /// The domain, then the encoding up to the precision's value.
    head: Sha256,
    /// The encoding after the GPU arch's value.
    tail: Vec<u8>,
}

impl ModelFingerprints {
    pub fn new(
        onnx_sha256: &str,
        trt_version: TrtVersion,
        profile: &Profile,
        flags: &BuildFlags,
    ) -> ModelFingerprints {
        let mut head = Sha256::new();
        head.update(FINGERPRINT_DOMAIN.as_bytes());
        head.update([0]);
        head.update(b"{\"onnx_sha256\":");
        encode(&mut head, &onnx_sha256);
        head.update(b",\"precision\":");
        let mut tail = b",\"trt_version\":".to_vec();
        encode(&mut tail, &trt_version);
        tail.extend_from_slice(b",\"profile\":");
        encode(&mut tail, profile);
        tail.extend_from_slice(b",\"flags\":");
        encode(&mut tail, flags);
        tail.push(b'}');
        ModelFingerprints { head, tail }
    }

    pub fn of(&self, precision: Precision, gpu_arch: GpuArch) -> Fingerprint {
        let mut hasher = self.head.clone();
        encode(&mut hasher, &precision);
        hasher.update(b",\"gpu_arch\":");
        encode(&mut hasher, &gpu_arch);
        hasher.update(&self.tail);
        Fingerprint(super::hex(&hasher.finalize()))
    }
}

/// `value` as serde_json writes it, into a buffer or straight into a hasher.
fn encode(out: &mut impl std::io::Write, value: &impl serde::Serialize) {
    serde_json::to_writer(out, value).expect("build inputs serialize");
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::identity::{BuildInputs, ShapeRange};

    #[test]
    fn a_model_fingerprint_is_the_fingerprint_of_its_build_inputs() {
        let shapes = BTreeMap::from([(
            "in\"put".to_string(),
            ShapeRange {
                min: "1x3".into(),
                opt: "4x3".into(),
                max: "8x3".into(),
            },
        )]);
        let flags = BuildFlags {
            workspace_mib: Some(4096),
            optimization_level: Some(5),
            hardware_compatibility: Some("ampere+".into()),
            version_compatible: true,
            strongly_typed: true,
            extra_args: vec!["--noTF32".into(), "--x=\"é\"".into()],
            weights: crate::identity::WeightsMode::Refittable,
        };
        let profiles = [
            Profile::Static,
            Profile::Batch {
                min: 1,
                opt: 8,
                max: 16,
            },
            Profile::Shapes { inputs: shapes },
        ];
        for profile in &profiles {
            for flags in [&BuildFlags::default(), &flags] {
                let trt = TrtVersion::new(10, 3, 0);
                let model = ModelFingerprints::new(&"ab".repeat(32), trt, profile, flags);
                for precision in [Precision::Fp16, Precision::Int8, Precision::Best] {
                    for gpu_arch in [GpuArch::new(8, 6), GpuArch::new(12, 0)] {
                        let inputs = BuildInputs {
                            onnx_sha256: "ab".repeat(32),
                            precision,
                            gpu_arch,
                            trt_version: trt,
                            profile: profile.clone(),
                            flags: flags.clone(),
                        };
                        assert_eq!(model.of(precision, gpu_arch), inputs.fingerprint());
                    }
                }
            }
        }
    }
}
