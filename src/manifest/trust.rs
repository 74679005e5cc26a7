//! `[trust]`: which keys' signatures make a remote engine usable, and the key this machine
//! signs with.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::{ManifestError, Source, resolve_path};
use crate::trust::PublicKey;

/// Signed engines (see docs/trust.md).
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Trust")]
pub(super) struct RawTrust {
    /// Public keys whose signatures are trusted, `NAME:base64` (TRTCTL_TRUSTED_KEYS adds more).
    #[schemars(with = "Option<Vec<String>>")]
    keys: Option<Vec<Spanned<String>>>,
    /// Refuse remote engines no trusted key signed (default: true when a key is trusted).
    require_signatures: Option<bool>,
    /// Secret key that signs what this machine publishes (TRTCTL_SIGNING_KEY_FILE overrides).
    signing_key_file: Option<String>,
    /// Which version-compatible engines of an older TensorRT may serve this one: their plans
    /// embed the lean runtime, code that runs when they load. "signed" (the default): only
    /// where signatures are required, so a trusted key signed it; "any": every one.
    lean_runtime: Option<LeanRuntime>,
}

/// `[trust] lean_runtime`: whose version-compatible plans may run their embedded runtime here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LeanRuntime {
    /// Only plans a trusted key signed (signatures required).
    #[default]
    Signed,
    /// Any version-compatible plan of the remote or cache.
    Any,
}

/// `[trust]`, validated; the environment adds to it when the workspace is assembled.
#[derive(Debug, Clone, Default)]
pub struct TrustSettings {
    pub keys: Vec<PublicKey>,
    pub require_signatures: Option<bool>,
    pub signing_key_file: Option<PathBuf>,
    pub lean_runtime: LeanRuntime,
}

pub(super) fn resolve_trust(
    source: &Source,
    dir: &Path,
    raw: RawTrust,
) -> Result<TrustSettings, ManifestError> {
    let keys = raw
        .keys
        .unwrap_or_default()
        .into_iter()
        .map(|key| {
            PublicKey::parse(key.get_ref(), "this trusted key").map_err(|e| {
                source.error(
                    key.span(),
                    e.to_string(),
                    Some("print a key with `trtctl key public SECRET_KEY_FILE`".into()),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(TrustSettings {
        keys,
        require_signatures: raw.require_signatures,
        signing_key_file: raw.signing_key_file.map(|f| resolve_path(dir, &f)),
        lean_runtime: raw.lean_runtime.unwrap_or_default(),
    })
}
