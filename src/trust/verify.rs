//! The trusted key set and what it says of a remote engine.

use serde::{Deserialize, Serialize};

use super::keys::{KeyError, PublicKey, SecretKey};
use super::signature::{SignatureRecord, SignedFacts};
use crate::identity::{LocalTrust, Sidecar};

/// Which keys are trusted and whether a signature is required at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustPolicy {
    keys: Vec<PublicKey>,
    require: bool,
}

/// A remote engine a trusted key signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The trusted key that signed it, `NAME:base64`.
    pub signer: PublicKey,
    pub record: SignatureRecord,
}

/// Why a cached engine fails the trust check of `cache verify`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CachedUntrusted {
    #[error("its recorded signature does not hold for its sidecar (edited after it was fetched)")]
    SignatureMismatch,
    #[error("fetched without a trusted key's signature (trusted keys: {})", .0.join(", "))]
    Unverified(Vec<String>),
}

/// Why a remote engine is not trusted. Names keys, never secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Untrusted {
    #[error(
        "signatures are required but no key is trusted: set `[trust] keys` or TRTCTL_TRUSTED_KEYS"
    )]
    NoTrustedKeys,
    #[error(
        "it has no sidecar or no fingerprint (a legacy engine), so no signature can vouch for it"
    )]
    Legacy,
    #[error("it is not signed (trusted keys: {})", trusted.join(", "))]
    Unsigned { trusted: Vec<String> },
    #[error("it is signed only by {}, not a trusted key (trusted keys: {})", quoted(signers), trusted.join(", "))]
    UnknownSigners {
        signers: Vec<String>,
        trusted: Vec<String>,
    },
    #[error(
        "its signature by trusted key `{signer}` does not match it: the engine or its sidecar changed after signing"
    )]
    BadSignature { signer: String },
}

/// A signing key whose signatures this very policy would refuse: hosts that share it refuse
/// every engine it publishes. Names the key and its public half, never the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "this machine signs with `{name}`, which is not a trusted key here (trusted keys: {}), so every host that requires signatures would refuse what it publishes, and the name would stay taken; add `{public}` to `[trust] keys` (or TRTCTL_TRUSTED_KEYS) first, or sign with a trusted key",
    trusted.join(", ")
)]
pub struct UntrustedSigner {
    pub name: String,
    pub public: String,
    pub trusted: Vec<String>,
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl TrustPolicy {
    /// `require`: the explicit `require_signatures`, else required exactly when a key is trusted.
    /// The same key given twice (manifest and environment) counts once; one name for two
    /// different keys is refused.
    pub fn new(keys: Vec<PublicKey>, require: Option<bool>) -> Result<TrustPolicy, KeyError> {
        let mut unique: Vec<PublicKey> = Vec::with_capacity(keys.len());
        for key in keys {
            match unique.iter().find(|k| k.name() == key.name()) {
                Some(known) if *known == key => {}
                Some(_) => {
                    return Err(KeyError::NameClash {
                        name: key.name().to_string(),
                    });
                }
                None => unique.push(key),
            }
        }
        let require = require.unwrap_or(!unique.is_empty());
        Ok(TrustPolicy {
            keys: unique,
            require,
        })
    }

    pub fn required(&self) -> bool {
        self.require
    }

    pub fn key_names(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.name().to_string()).collect()
    }

    pub fn trusts_name(&self, name: &str) -> bool {
        self.keys.iter().any(|k| k.name() == name)
    }

    /// Whether `public_key` (`NAME:base64`, as recorded in a local sidecar) is trusted now.
    pub fn trusts(&self, public_key: &str) -> bool {
        self.keys.iter().any(|k| k.to_string() == public_key)
    }

    /// Whether a cached engine is vouched for: built here, or fetched with the signature of a
    /// key trusted now (compared as text: the signature was checked when it was fetched).
    pub fn vouches_for(&self, local: Option<&LocalTrust>) -> bool {
        match local {
            Some(LocalTrust::Built) => true,
            Some(LocalTrust::Fetched {
                signer: Some(signer),
                ..
            }) => self.trusts(signer),
            _ => false,
        }
    }

    /// Whether what `signer` signs passes this policy: a builder checks its own key before it
    /// publishes anything, since uploads are create-only and a refused engine blocks its name.
    pub fn check_signer(&self, signer: &SecretKey) -> Result<(), UntrustedSigner> {
        let public = signer.public();
        if !self.require || self.keys.contains(&public) {
            return Ok(());
        }
        Err(UntrustedSigner {
            name: signer.name().to_string(),
            public: public.to_string(),
            trusted: self.key_names(),
        })
    }

    /// `cache verify`'s check of a cached engine: a signature recorded at fetch time must still
    /// hold for the sidecar beside it, and when signatures are required the engine must be
    /// vouched for.
    pub fn check_cached(&self, sidecar: &Sidecar) -> Result<(), CachedUntrusted> {
        if let Some(LocalTrust::Fetched {
            signer: Some(signer),
            signature: Some(signature),
        }) = &sidecar.local_trust
        {
            let holds = PublicKey::parse(signer, "the recorded signer")
                .ok()
                .zip(SignatureRecord::parse(signature.as_bytes(), None).ok())
                .zip(SignedFacts::of(sidecar))
                .is_some_and(|((key, record), facts)| key.verifies(&facts, &record));
            if !holds {
                return Err(CachedUntrusted::SignatureMismatch);
            }
        }
        if self.required() && !self.vouches_for(sidecar.local_trust.as_ref()) {
            return Err(CachedUntrusted::Unverified(self.key_names()));
        }
        Ok(())
    }

    /// Checks an engine's signatures. `records`: the signatures of trusted names that could be
    /// read; `signers`: every name that has signed it (also those not trusted, or unreadable).
    pub fn verify(
        &self,
        facts: Option<&SignedFacts>,
        records: &[SignatureRecord],
        signers: &[String],
    ) -> Result<Verified, Untrusted> {
        if self.keys.is_empty() {
            return Err(Untrusted::NoTrustedKeys);
        }
        let facts = facts.ok_or(Untrusted::Legacy)?;
        for record in records {
            if let Some(key) = self.keys.iter().find(|k| k.verifies(facts, record)) {
                return Ok(Verified {
                    signer: key.clone(),
                    record: record.clone(),
                });
            }
        }
        let trusted = self.key_names();
        let mut signers: Vec<String> = signers
            .iter()
            .chain(records.iter().map(|r| &r.signer))
            .cloned()
            .collect();
        signers.sort();
        signers.dedup();
        if let Some(signer) = signers.iter().find(|s| self.trusts_name(s)) {
            return Err(Untrusted::BadSignature {
                signer: signer.clone(),
            });
        }
        match signers.is_empty() {
            true => Err(Untrusted::Unsigned { trusted }),
            false => Err(Untrusted::UnknownSigners { signers, trusted }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::SecretKey;
    use super::*;
    use crate::identity::{EngineKey, Fingerprint, Provenance, SIDECAR_SCHEMA_VERSION};

    fn sidecar(sha: &str) -> Sidecar {
        let (key, id) = EngineKey::parse("fam/m_v1_fp16_sm_86_10.3.0.trt").unwrap();
        Sidecar {
            schema_version: SIDECAR_SCHEMA_VERSION,
            family: key.family,
            id,
            fingerprint: Some(Fingerprint("f".repeat(64))),
            engine_sha256: sha.into(),
            engine_size: 3,
            build: None,
            provenance: Provenance::default(),
            local_trust: None,
            weights: None,
        }
    }

    fn sign(key: &SecretKey, sidecar: &Sidecar) -> SignatureRecord {
        key.sign(&SignedFacts::of(sidecar).unwrap())
    }

    #[test]
    fn require_defaults_to_having_keys_and_an_explicit_value_wins() {
        let key = SecretKey::generate("ci").unwrap().public();
        assert!(!TrustPolicy::new(vec![], None).unwrap().required());
        assert!(
            TrustPolicy::new(vec![key.clone()], None)
                .unwrap()
                .required()
        );
        assert!(
            !TrustPolicy::new(vec![key.clone()], Some(false))
                .unwrap()
                .required()
        );
        assert!(TrustPolicy::new(vec![], Some(true)).unwrap().required());
        let same_name = SecretKey::generate("ci").unwrap().public();
        assert!(TrustPolicy::new(vec![key.clone(), key.clone()], None).is_ok());
        assert!(matches!(
            TrustPolicy::new(vec![key, same_name], None),
            Err(KeyError::NameClash { .. })
        ));
    }

    #[test]
    fn verdicts_name_the_keys_involved() {
        let old = SecretKey::generate("ci-2026").unwrap();
        let new = SecretKey::generate("ci-2027").unwrap();
        let stranger = SecretKey::generate("evil").unwrap();
        let policy = TrustPolicy::new(vec![old.public(), new.public()], None).unwrap();
        let good = sidecar(&"a".repeat(64));
        let names = |r: &SignatureRecord| vec![r.signer.clone()];

        for key in [&old, &new] {
            let record = sign(key, &good);
            let verified = policy
                .verify(
                    SignedFacts::of(&good).as_ref(),
                    std::slice::from_ref(&record),
                    &names(&record),
                )
                .unwrap();
            assert_eq!(verified.signer, key.public());
        }
        let forged = sidecar(&"b".repeat(64));
        let record = sign(&old, &good);
        assert_eq!(
            policy.verify(
                SignedFacts::of(&forged).as_ref(),
                std::slice::from_ref(&record),
                &names(&record)
            ),
            Err(Untrusted::BadSignature {
                signer: "ci-2026".into()
            })
        );
        let theirs = sign(&stranger, &good);
        let err = policy
            .verify(SignedFacts::of(&good).as_ref(), &[], &names(&theirs))
            .unwrap_err();
        assert!(matches!(err, Untrusted::UnknownSigners { .. }));
        assert!(err.to_string().contains("`evil`"), "{err}");
        assert!(err.to_string().contains("ci-2026, ci-2027"), "{err}");
        assert!(matches!(
            policy.verify(SignedFacts::of(&good).as_ref(), &[], &[]),
            Err(Untrusted::Unsigned { .. })
        ));
        assert_eq!(policy.verify(None, &[], &[]), Err(Untrusted::Legacy));
        assert_eq!(
            TrustPolicy::new(vec![], Some(true)).unwrap().verify(
                SignedFacts::of(&good).as_ref(),
                &[],
                &[]
            ),
            Err(Untrusted::NoTrustedKeys)
        );
        // A stranger's record stored under a trusted name is a bad signature, not a pass.
        let impostor = SignatureRecord {
            signer: "ci-2026".into(),
            signature: theirs.signature,
        };
        assert!(matches!(
            policy.verify(
                SignedFacts::of(&good).as_ref(),
                &[impostor],
                &["ci-2026".into()]
            ),
            Err(Untrusted::BadSignature { .. })
        ));
    }
}
