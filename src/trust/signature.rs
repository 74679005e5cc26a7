//! What a signature covers (the canonical form) and how one is stored (the record).
//!
//! Canonical form, UTF-8, each line ending in `\n`:
//!
//! ```text
//! trtctl-engine-signature-v1
//! key: {family}/{file}
//! sha256: {engine sha256, lowercase hex}
//! size: {engine size in bytes, decimal}
//! fingerprint: {fingerprint, lowercase hex}
//! ```
//!
//! The remote key binds the signature to its name (an engine cannot be moved to another
//! name), sha256 and size bind it to the bytes, the fingerprint to the build inputs.
//!
//! Record: one line `NAME:base64(64-byte ed25519 signature)`, stored as the object
//! `{family}/{file}.sig/{NAME}`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::key_name::validate_key_name;
use crate::identity::{EngineKey, Sidecar, SidecarSummary};

/// Signatures of `{family}/{file}` live under `{family}/{file}{SIGNATURE_SUFFIX}/{NAME}`.
pub const SIGNATURE_SUFFIX: &str = ".sig";
const DOMAIN: &str = "trtctl-engine-signature-v1";
/// A record is one short line; anything longer is not one.
const MAX_RECORD_BYTES: usize = 256;

/// The facts a signature vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedFacts {
    /// `{family}/{file}`.
    pub key: String,
    pub sha256: String,
    pub size: u64,
    pub fingerprint: String,
}

impl SignedFacts {
    /// `None` for a legacy sidecar: without a fingerprint there is nothing to vouch for.
    pub fn of(sidecar: &Sidecar) -> Option<SignedFacts> {
        let fingerprint = sidecar.fingerprint.as_ref()?;
        Some(SignedFacts {
            key: sidecar.key().path(),
            sha256: sidecar.engine_sha256.clone(),
            size: sidecar.engine_size,
            fingerprint: fingerprint.0.clone(),
        })
    }

    /// The same facts from what a plan keeps of the sidecar of `key`.
    pub fn of_summary(key: &EngineKey, summary: &SidecarSummary) -> Option<SignedFacts> {
        let fingerprint = summary.fingerprint.as_ref()?;
        Some(SignedFacts {
            key: key.path(),
            sha256: summary.engine_sha256.clone(),
            size: summary.engine_size,
            fingerprint: fingerprint.0.clone(),
        })
    }

    pub fn canonical(&self) -> Vec<u8> {
        format!(
            "{DOMAIN}\nkey: {}\nsha256: {}\nsize: {}\nfingerprint: {}\n",
            self.key, self.sha256, self.size, self.fingerprint
        )
        .into_bytes()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("a signature record is at most {MAX_RECORD_BYTES} bytes, this one is {0}")]
    TooLong(usize),
    #[error("a signature record is one line `NAME:base64`, {0}")]
    Malformed(&'static str),
    #[error("the signature record names key `{inside}` but is stored as `{outside}`")]
    WrongName { inside: String, outside: String },
}

/// One signer's signature: `NAME:base64(64 bytes)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureRecord {
    pub signer: String,
    pub signature: [u8; 64],
}

impl SignatureRecord {
    /// Parses a record; `stored_as` is the NAME of the object it was read from, which the record
    /// must repeat (a record copied to another signer's name is refused).
    pub fn parse(bytes: &[u8], stored_as: Option<&str>) -> Result<SignatureRecord, SignatureError> {
        if bytes.len() > MAX_RECORD_BYTES {
            return Err(SignatureError::TooLong(bytes.len()));
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|_| SignatureError::Malformed("and this one is not UTF-8"))?;
        let line = text.strip_suffix('\n').unwrap_or(text);
        if line.contains(['\n', '\r']) {
            return Err(SignatureError::Malformed("and this one has several lines"));
        }
        let (signer, payload) = line
            .split_once(':')
            .ok_or(SignatureError::Malformed("and this one has no `:`"))?;
        validate_key_name(signer)
            .map_err(|_| SignatureError::Malformed("and its NAME is not a valid key name"))?;
        let signature: [u8; 64] = BASE64
            .decode(payload)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(SignatureError::Malformed(
                "and its part after `:` is not base64 of 64 bytes",
            ))?;
        if let Some(outside) = stored_as.filter(|o| *o != signer) {
            return Err(SignatureError::WrongName {
                inside: signer.to_string(),
                outside: outside.to_string(),
            });
        }
        Ok(SignatureRecord {
            signer: signer.to_string(),
            signature,
        })
    }

    pub fn to_line(&self) -> String {
        format!("{}:{}", self.signer, BASE64.encode(self.signature))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        format!("{}\n", self.to_line()).into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::super::SecretKey;
    use super::*;

    fn facts() -> SignedFacts {
        SignedFacts {
            key: "arcface/arcface_r100_v1.0_fp16_sm_86_10.3.0.trt".into(),
            sha256: "ab".repeat(32),
            size: 1234,
            fingerprint: "cd".repeat(32),
        }
    }

    #[test]
    fn the_canonical_form_is_as_documented() {
        let text = String::from_utf8(facts().canonical()).unwrap();
        assert_eq!(
            text,
            format!(
                "trtctl-engine-signature-v1\nkey: arcface/arcface_r100_v1.0_fp16_sm_86_10.3.0.trt\nsha256: {}\nsize: 1234\nfingerprint: {}\n",
                "ab".repeat(32),
                "cd".repeat(32)
            )
        );
    }

    #[test]
    fn records_round_trip_and_must_repeat_their_object_name() {
        let record = SecretKey::generate("ci-2026").unwrap().sign(&facts());
        let parsed = SignatureRecord::parse(&record.to_bytes(), Some("ci-2026")).unwrap();
        assert_eq!(parsed, record);
        assert!(matches!(
            SignatureRecord::parse(&record.to_bytes(), Some("ci-2027")),
            Err(SignatureError::WrongName { .. })
        ));
    }

    /// xorshift64*: a seeded, dependency-free source of test inputs.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Bounded property test of the parser: random bytes and mutations of a valid record never
    /// panic, and a mutated record that still parses never verifies unless it is the original
    /// signature (same signer, same bytes).
    #[test]
    fn mutated_and_random_records_never_panic_and_never_verify_falsely() {
        let key = SecretKey::generate("ci-2026").unwrap();
        let public = key.public();
        let facts = facts();
        let original = key.sign(&facts);
        let valid = original.to_bytes();
        let alphabet =
            b"ci-2026:+/=ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789\n\r\0\xff.";
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut parsed_mutants = 0;
        for round in 0..20_000 {
            let input: Vec<u8> = if round % 4 == 0 {
                let len = rng.below(120);
                (0..len)
                    .map(|_| alphabet[rng.below(alphabet.len())])
                    .collect()
            } else {
                let mut bytes = valid.clone();
                for _ in 0..1 + rng.below(3) {
                    match rng.below(3) {
                        0 if !bytes.is_empty() => {
                            let at = rng.below(bytes.len());
                            bytes[at] = alphabet[rng.below(alphabet.len())];
                        }
                        1 if !bytes.is_empty() => {
                            bytes.remove(rng.below(bytes.len()));
                        }
                        _ => {
                            let at = rng.below(bytes.len() + 1);
                            bytes.insert(at, alphabet[rng.below(alphabet.len())]);
                        }
                    }
                }
                bytes
            };
            if let Ok(record) = SignatureRecord::parse(&input, None) {
                parsed_mutants += 1;
                assert_eq!(
                    SignatureRecord::parse(&record.to_bytes(), Some(&record.signer)).as_ref(),
                    Ok(&record),
                    "a parsed record round-trips"
                );
                if public.verifies(&facts, &record) {
                    assert_eq!(record, original, "only the original verifies: {input:?}");
                }
            }
        }
        // Some mutations (a trailing newline removed, base64 padding variants) still parse:
        // the test exercises the verifying branch, not only the refusals.
        assert!(parsed_mutants > 0);
    }
}
