//! A shared remote for tests that play several machines: a real S3 server (s3s-fs, signatures
//! checked) or a `file://` directory, with a way to reach its objects on disk.

use std::path::PathBuf;

use super::s3::{ACCESS_KEY, S3Server, SECRET_KEY};

pub const BUCKET: &str = "screenalytics-artifacts";

/// Where the engines live and how a trtctl process reaches them.
pub enum Backend {
    S3(S3Server),
    Dir(tempfile::TempDir),
}

impl Backend {
    pub fn s3() -> Backend {
        Backend::S3(S3Server::start(ACCESS_KEY, SECRET_KEY, BUCKET))
    }

    pub fn dir() -> Backend {
        Backend::Dir(tempfile::tempdir().unwrap())
    }

    pub fn url(&self) -> String {
        match self {
            Backend::S3(server) => server.url("engines"),
            Backend::Dir(dir) => format!("file://{}/engines", dir.path().display()),
        }
    }

    /// Where the object `engines/{key}` is stored on disk, to inspect or tamper with.
    pub fn object(&self, key: &str) -> PathBuf {
        match self {
            Backend::S3(server) => server.object_path(&format!("engines/{key}")),
            Backend::Dir(dir) => dir.path().join("engines").join(key),
        }
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        match self {
            Backend::S3(server) => server.env_vars().to_vec(),
            Backend::Dir(_) => Vec::new(),
        }
    }
}
