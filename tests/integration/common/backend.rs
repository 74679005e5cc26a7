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

    /// A real S3 server and a `file://` remote, to run a test against each.
    pub fn both() -> [Backend; 2] {
        [Backend::s3(), Backend::dir()]
    }

    /// `s3` or `file`: which one a failing assertion is about.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::S3(_) => "s3",
            Backend::Dir(_) => "file",
        }
    }

    /// The S3 server, for a backend that has one.
    pub fn server(&self) -> Option<&S3Server> {
        match self {
            Backend::S3(server) => Some(server),
            Backend::Dir(_) => None,
        }
    }

    pub fn url(&self) -> String {
        match self {
            Backend::S3(server) => server.url("engines"),
            Backend::Dir(dir) => format!("file://{}/engines", dir.path().display()),
        }
    }

    /// Where the object `engines/{key}` is stored on disk, to inspect or tamper with.
    pub fn object(&self, key: &str) -> PathBuf {
        self.objects().join(key)
    }

    /// Where the objects under `engines/` are stored on disk.
    pub fn objects(&self) -> PathBuf {
        match self {
            Backend::S3(server) => server.object_path("engines"),
            Backend::Dir(dir) => dir.path().join("engines"),
        }
    }

    /// The variables a trtctl process needs to reach this backend (none for a directory).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        match self {
            Backend::S3(server) => server.remote_env(),
            Backend::Dir(_) => Vec::new(),
        }
    }
}

/// `test` on a fixture that `make` builds around a real S3 server, then around a `file://`
/// remote.
pub fn on_both<T>(make: impl Fn(Backend) -> T, test: impl Fn(T)) {
    for backend in Backend::both() {
        test(make(backend));
    }
}

/// A remote a trtctl process reaches: the environment (endpoint and keys) it needs for that.
pub trait Remote {
    fn remote_env(&self) -> Vec<(&'static str, String)>;
}

impl Remote for Backend {
    fn remote_env(&self) -> Vec<(&'static str, String)> {
        self.env()
    }
}

impl Remote for S3Server {
    fn remote_env(&self) -> Vec<(&'static str, String)> {
        self.env_vars().to_vec()
    }
}
