//! ed25519 keys in Nix's text form: a public key is `NAME:base64(32 bytes)`, a secret key file
//! holds `NAME:base64(64 bytes)` (the seed, then the public half).

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

use super::key_name::{BadKeyName, validate_key_name};
use super::signature::{SignatureRecord, SignedFacts};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    BadName(#[from] BadKeyName),
    /// Never quotes the text: it may be a secret key pasted in the wrong place.
    #[error("{what} is not a {kind} key: expected `NAME:base64` ({why})")]
    Malformed {
        what: String,
        kind: &'static str,
        why: &'static str,
    },
    #[error("{}: already exists; refusing to overwrite a key (choose another --out, or remove it first)", path.display())]
    Exists { path: PathBuf },
    #[error(
        "{}: secret key file is readable by others (mode {mode:04o}); run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    Permissions { path: PathBuf, mode: u32 },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no randomness from the operating system: {0}")]
    Random(getrandom::Error),
    #[error(
        "trusted key `{name}` is given twice with different values; rotate by giving the new key a new name"
    )]
    NameClash { name: String },
}

/// Splits `NAME:base64` and decodes the payload to exactly `N` bytes.
fn split_key<const N: usize>(
    text: &str,
    what: &str,
    kind: &'static str,
) -> Result<(String, [u8; N]), KeyError> {
    let malformed = |why| KeyError::Malformed {
        what: what.to_string(),
        kind,
        why,
    };
    let (name, payload) = text.trim().split_once(':').ok_or(malformed("no `:`"))?;
    validate_key_name(name)?;
    let bytes = BASE64
        .decode(payload)
        .map_err(|_| malformed("the part after `:` is not base64"))?;
    let bytes: [u8; N] = bytes
        .try_into()
        .map_err(|_| malformed("the key has the wrong length"))?;
    Ok((name.to_string(), bytes))
}

/// A trusted key, as configured: `ci-2026:base64…`.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    name: String,
    key: VerifyingKey,
}

impl PublicKey {
    /// `what` names where the text came from, for the error (`TRTCTL_TRUSTED_KEYS`, a file).
    pub fn parse(text: &str, what: &str) -> Result<PublicKey, KeyError> {
        let (name, bytes) = split_key::<32>(text, what, "public")?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::Malformed {
            what: what.to_string(),
            kind: "public",
            why: "the bytes are not an ed25519 point",
        })?;
        Ok(PublicKey { name, key })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether `record` is this key's signature over `facts`.
    pub fn verifies(&self, facts: &SignedFacts, record: &SignatureRecord) -> bool {
        let signature = ed25519_dalek::Signature::from_bytes(&record.signature);
        record.signer == self.name
            && self
                .key
                .verify_strict(&facts.canonical(), &signature)
                .is_ok()
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name, BASE64.encode(self.key.as_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

/// A signing key. Its bytes never reach `Debug`, `Display` or an error.
pub struct SecretKey {
    name: String,
    key: SigningKey,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({}, redacted)", self.name)
    }
}

impl SecretKey {
    /// A fresh key from the operating system's randomness.
    pub fn generate(name: &str) -> Result<SecretKey, KeyError> {
        validate_key_name(name)?;
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::getrandom(seed.as_mut()).map_err(KeyError::Random)?;
        Ok(SecretKey {
            name: name.to_string(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// Reads a secret key file, refusing one that others may read (as ssh does).
    pub fn load(path: &Path) -> Result<SecretKey, KeyError> {
        use std::os::unix::fs::PermissionsExt;
        let io_err = |source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mode = std::fs::metadata(path)
            .map_err(io_err)?
            .permissions()
            .mode()
            & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyError::Permissions {
                path: path.to_path_buf(),
                mode,
            });
        }
        let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(io_err)?);
        Self::parse(&text, &path.display().to_string())
    }

    fn parse(text: &str, what: &str) -> Result<SecretKey, KeyError> {
        let (name, bytes) = split_key::<64>(text, what, "secret")?;
        let bytes = zeroize::Zeroizing::new(bytes);
        let key = SigningKey::from_keypair_bytes(&bytes).map_err(|_| KeyError::Malformed {
            what: what.to_string(),
            kind: "secret",
            why: "its public half does not belong to its secret half",
        })?;
        Ok(SecretKey { name, key })
    }

    /// Writes the key to a new file of mode 0600; an existing file is never overwritten.
    pub fn write_new(&self, path: &Path) -> Result<(), KeyError> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|source| match source.kind() {
                std::io::ErrorKind::AlreadyExists => KeyError::Exists {
                    path: path.to_path_buf(),
                },
                _ => KeyError::Io {
                    path: path.to_path_buf(),
                    source,
                },
            })?;
        let text = zeroize::Zeroizing::new(format!(
            "{}:{}\n",
            self.name,
            BASE64.encode(self.key.to_keypair_bytes())
        ));
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|source| KeyError::Io {
                path: path.to_path_buf(),
                source,
            })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn public(&self) -> PublicKey {
        PublicKey {
            name: self.name.clone(),
            key: self.key.verifying_key(),
        }
    }

    pub fn sign(&self, facts: &SignedFacts) -> SignatureRecord {
        SignatureRecord {
            signer: self.name.clone(),
            signature: self.key.sign(&facts.canonical()).to_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> SignedFacts {
        SignedFacts {
            key: "arcface/arcface_r100_v1.0_fp16_sm_86_10.3.0.trt".into(),
            sha256: "ab".into(),
            size: 3,
            fingerprint: "cd".into(),
        }
    }

    #[test]
    fn a_generated_key_round_trips_through_its_file_and_verifies_its_signatures() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ci.key");
        let key = SecretKey::generate("ci-2026").unwrap();
        key.write_new(&path).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let loaded = SecretKey::load(&path).unwrap();
        assert_eq!(loaded.public(), key.public());
        let public = PublicKey::parse(&key.public().to_string(), "test").unwrap();
        let record = loaded.sign(&facts());
        assert!(public.verifies(&facts(), &record));
        let other = SignedFacts { size: 4, ..facts() };
        assert!(!public.verifies(&other, &record));
        assert!(matches!(key.write_new(&path), Err(KeyError::Exists { .. })));
    }

    #[test]
    fn a_secret_key_readable_by_others_is_refused_with_the_fix() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ci.key");
        SecretKey::generate("ci").unwrap().write_new(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = SecretKey::load(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        assert!(err.contains("0644"), "{err}");
    }

    #[test]
    fn secrets_never_reach_debug_or_errors() {
        let key = SecretKey::generate("ci").unwrap();
        let encoded = BASE64.encode(key.key.to_keypair_bytes());
        assert!(!format!("{key:?}").contains(&encoded[..20]));
        let err = PublicKey::parse(&format!("ci:{encoded}"), "TRTCTL_TRUSTED_KEYS")
            .unwrap_err()
            .to_string();
        assert!(!err.contains(&encoded[..20]), "{err}");
        assert!(err.contains("TRTCTL_TRUSTED_KEYS"), "{err}");
    }

    #[test]
    fn key_names_are_object_name_safe() {
        for good in ["ci-2026", "a", "host.example.org-1", "CI_key"] {
            validate_key_name(good).unwrap();
        }
        for bad in ["", ".hidden", "a/b", "..", "a b", "ü", &"x".repeat(65)] {
            assert!(validate_key_name(bad).is_err(), "{bad}");
        }
    }
}
