pub mod backend;
pub mod cuda;
pub mod deploy;
pub mod faulty;
pub mod fleet;
pub mod onnx_model;
pub mod project;
pub mod responder;
pub mod s3;
pub mod s3_listing;

/// Every file under `dir` (none when it does not exist), at any depth.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|entry| !entry.file_type().is_dir())
        .map(walkdir::DirEntry::into_path)
        .collect()
}

/// The SHA-256 of `bytes` in lowercase hex, computed apart from trtctl's own hashing so a test
/// checks the digests trtctl records against a second opinion.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}
