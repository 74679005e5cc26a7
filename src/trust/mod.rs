//! Signed engines, the way a Nix binary cache signs its narinfos: builders hold an ed25519
//! secret key and sign what they publish; hosts keep a set of trusted public keys and use a
//! remote engine only when one of them signed it. See docs/trust.md for the threat model.
//!
//! Pure domain: keys (`NAME:base64`), the canonical form a signature covers, the signature
//! record and its parser, and verification against the trusted set. Where signatures live in
//! a remote is `store::remote`'s business; reading the environment and the manifest is the
//! caller's.

mod key_name;
mod keys;
mod signature;
mod verify;

pub use key_name::{BadKeyName, validate_key_name};
pub use keys::{KeyError, PublicKey, SecretKey};
pub use signature::{SIGNATURE_SUFFIX, SignatureError, SignatureRecord, SignedFacts};
pub use verify::{CachedUntrusted, TrustPolicy, Untrusted, UntrustedSigner, Verified};
