//! The digest of a desired set: what a lock was written for.
//!
//! It covers each engine's identity (its key) and fingerprint, nothing else: editing a
//! comment in engines.toml, reordering its models or moving an ONNX file leaves it alone,
//! while a changed ONNX, profile, flag, arch or TensorRT version changes it.

use sha2::{Digest, Sha256};

use crate::identity::{EngineKey, Fingerprint, hex};

/// Bumped if the encoding below ever changes, so old and new digests never collide.
const DOMAIN: &str = "trtctl desired set v1\n";

/// sha256 over the sorted `key fingerprint` lines of a desired set.
pub fn desired_digest<'a>(
    engines: impl IntoIterator<Item = (&'a EngineKey, &'a Fingerprint)>,
) -> String {
    let mut lines: Vec<String> = engines
        .into_iter()
        .map(|(key, fingerprint)| format!("{key} {}\n", fingerprint.0))
        .collect();
    lines.sort_unstable();
    let mut hasher = Sha256::new();
    hasher.update(DOMAIN.as_bytes());
    for line in &lines {
        hasher.update(line.as_bytes());
    }
    hex(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(file: &str) -> EngineKey {
        EngineKey::parse(&format!("arcface/{file}")).unwrap().0
    }

    #[test]
    fn order_does_not_matter_but_fingerprints_do() {
        let a = key("arcface_r100_v1.0_fp16_sm_86_10.3.0.trt");
        let b = key("arcface_r100_v1.0_fp32_sm_86_10.3.0.trt");
        let f1 = Fingerprint("1".repeat(64));
        let f2 = Fingerprint("2".repeat(64));
        let forward = desired_digest([(&a, &f1), (&b, &f2)]);
        assert_eq!(forward, desired_digest([(&b, &f2), (&a, &f1)]));
        assert_ne!(forward, desired_digest([(&a, &f1), (&b, &f1)]));
        assert_ne!(forward, desired_digest([(&a, &f1)]));
        assert_eq!(forward.len(), 64);
    }
}
