pub mod backend;
pub mod cuda;
pub mod deploy;
pub mod faulty;
pub mod fleet;
pub mod manifest;
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

/// Writes `script` to `path` as an executable, and returns once it can be run.
pub fn write_executable(path: &std::path::Path, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, script).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Another test's child forked while the script was open for writing holds it until it
    // execs; until then running it fails with ETXTBSY. Running it once (no arguments, output
    // dropped) shows when that has passed.
    loop {
        match std::process::Command::new(path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
        {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(e) => panic!("{} cannot run: {e}", path.display()),
            Ok(_) => return,
        }
    }
}
