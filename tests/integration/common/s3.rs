//! A real S3 server in-process on 127.0.0.1 for tests: `s3s` + `s3s-fs`, with SigV4 signatures
//! checked against one access/secret key pair, on its own tokio runtime in a background thread
//! (so sync tests, async tests and tests that run the `trtctl` binary can all use it).
//!
//! s3s-fs checks `If-None-Match: *` on PutObject and CompleteMultipartUpload, but as "does the
//! file exist" followed later by the write, so two racing requests can both pass. Real S3 (and
//! MinIO) decide atomically; [`Atomic`] gives the fixture the same guarantee by serializing
//! conditional writes. Real S3 also names every listed object's ETag, which s3s-fs leaves out;
//! [`Atomic`] fills one in from the file's inode, modification time and size (new with every
//! write, as S3's is). Everything else goes to s3s-fs untouched.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use hyper_util::server::graceful::GracefulShutdown;
use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::SimpleAuth;
use s3s::dto::*;
use s3s::service::S3ServiceBuilder;
use s3s::{S3, S3Request, S3Response, S3Result};

use super::s3_listing::SortedListing;

pub const ACCESS_KEY: &str = "trtctl-test-access";
pub const SECRET_KEY: &str = "trtctl-test-secret-9f8e7d";

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// s3s-fs with atomic conditional writes and ETags in listings.
struct Atomic {
    inner: s3s_fs::FileSystem,
    root: PathBuf,
    conditional: tokio::sync::Mutex<()>,
    /// Set, LIST pages without a delimiter come from a sorted index (as S3's do).
    sorted: Option<SortedListing>,
}

// `S3` is an `#[async_trait]` trait; the methods below are what that macro would generate,
// written out because `async-trait` is not a dependency of this crate.
macro_rules! delegate {
    ($($name:ident($input:ty) -> $output:ty;)*) => {
        $(
            fn $name<'life0, 'async_trait>(
                &'life0 self,
                req: S3Request<$input>,
            ) -> BoxFut<'async_trait, S3Result<S3Response<$output>>>
            where
                'life0: 'async_trait,
                Self: 'async_trait,
            {
                self.inner.$name(req)
            }
        )*
    };
}

impl S3 for Atomic {
    delegate! {
        create_bucket(CreateBucketInput) -> CreateBucketOutput;
        copy_object(CopyObjectInput) -> CopyObjectOutput;
        delete_bucket(DeleteBucketInput) -> DeleteBucketOutput;
        delete_object(DeleteObjectInput) -> DeleteObjectOutput;
        delete_objects(DeleteObjectsInput) -> DeleteObjectsOutput;
        get_bucket_location(GetBucketLocationInput) -> GetBucketLocationOutput;
        get_object(GetObjectInput) -> GetObjectOutput;
        head_bucket(HeadBucketInput) -> HeadBucketOutput;
        head_object(HeadObjectInput) -> HeadObjectOutput;
        list_buckets(ListBucketsInput) -> ListBucketsOutput;
        list_objects(ListObjectsInput) -> ListObjectsOutput;
        create_multipart_upload(CreateMultipartUploadInput) -> CreateMultipartUploadOutput;
        upload_part(UploadPartInput) -> UploadPartOutput;
        upload_part_copy(UploadPartCopyInput) -> UploadPartCopyOutput;
        list_parts(ListPartsInput) -> ListPartsOutput;
        abort_multipart_upload(AbortMultipartUploadInput) -> AbortMultipartUploadOutput;
    }

    fn put_object<'life0, 'async_trait>(
        &'life0 self,
        req: S3Request<PutObjectInput>,
    ) -> BoxFut<'async_trait, S3Result<S3Response<PutObjectOutput>>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let _serial = match req.input.if_none_match.is_some() || req.input.if_match.is_some() {
                true => Some(self.conditional.lock().await),
                false => None,
            };
            self.inner.put_object(req).await
        })
    }

    fn list_objects_v2<'life0, 'async_trait>(
        &'life0 self,
        req: S3Request<ListObjectsV2Input>,
    ) -> BoxFut<'async_trait, S3Result<S3Response<ListObjectsV2Output>>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let bucket = self.root.join(&req.input.bucket);
            if let Some(sorted) = &self.sorted
                && req.input.delimiter.is_none()
            {
                return match sorted.page(&bucket, req.input) {
                    Ok(page) => Ok(S3Response::new(page)),
                    Err(e) => Err(s3s::s3_error!(e, InternalError)),
                };
            }
            let mut response = self.inner.list_objects_v2(req).await?;
            for object in response.output.contents.iter_mut().flatten() {
                if let Some(key) = &object.key {
                    object.e_tag = file_e_tag(&bucket.join(key));
                }
            }
            Ok(response)
        })
    }

    fn complete_multipart_upload<'life0, 'async_trait>(
        &'life0 self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> BoxFut<'async_trait, S3Result<S3Response<CompleteMultipartUploadOutput>>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let _serial = match req.input.if_none_match.is_some() || req.input.if_match.is_some() {
                true => Some(self.conditional.lock().await),
                false => None,
            };
            self.inner.complete_multipart_upload(req).await
        })
    }
}

/// An ETag from the file's inode, modification time and size: new with every write.
fn file_e_tag(path: &std::path::Path) -> Option<ETag> {
    Some(e_tag_of(&std::fs::metadata(path).ok()?))
}

/// The ETag of a file with `meta`, for a lister that has already stat'ed it.
pub(crate) fn e_tag_of(meta: &std::fs::Metadata) -> ETag {
    use std::os::unix::fs::MetadataExt;
    let version = format!(
        "{:x}-{:x}.{:x}-{:x}",
        meta.ino(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.size()
    );
    ETag::Strong(version)
}

/// A public-read bucket: anonymous GET/HEAD/LIST are allowed, everything else needs a signature.
struct PublicRead;

impl S3Access for PublicRead {
    fn check<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        cx: &'life1 mut S3AccessContext<'life2>,
    ) -> BoxFut<'async_trait, S3Result<()>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        let allowed = cx.credentials().is_some()
            || matches!(
                cx.s3_op().name(),
                "GetObject" | "HeadObject" | "ListObjects" | "ListObjectsV2" | "HeadBucket"
            );
        Box::pin(async move {
            match allowed {
                true => Ok(()),
                false => Err(s3s::s3_error!(AccessDenied, "Signature is required")),
            }
        })
    }
}

#[derive(Default)]
struct Options {
    public_read: bool,
    one_request_per_connection: bool,
    sorted_listing: bool,
}

pub struct S3Server {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    /// s3s-fs data dir; the bucket is a subdirectory.
    pub root: PathBuf,
    pub bucket: String,
    access_key: String,
    secret_key: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl S3Server {
    /// A private bucket: every request must be signed with `access_key` / `secret_key`.
    pub fn start(access_key: &str, secret_key: &str, bucket: &str) -> S3Server {
        S3Server::start_with(access_key, secret_key, bucket, Options::default())
    }

    /// A private bucket whose LIST pages cost the page, not the bucket ([`SortedListing`]).
    pub fn start_sorted_listing(access_key: &str, secret_key: &str, bucket: &str) -> S3Server {
        let options = Options {
            sorted_listing: true,
            ..Options::default()
        };
        S3Server::start_with(access_key, secret_key, bucket, options)
    }

    /// A bucket that anyone may read, and only `access_key` / `secret_key` may write.
    pub fn start_public_read(access_key: &str, secret_key: &str, bucket: &str) -> S3Server {
        let options = Options {
            public_read: true,
            ..Options::default()
        };
        S3Server::start_with(access_key, secret_key, bucket, options)
    }

    /// A private bucket that closes every connection after one response, so a proxy in front
    /// of it sees (and can fail) each request on a connection of its own.
    pub fn start_one_request_per_connection(
        access_key: &str,
        secret_key: &str,
        bucket: &str,
    ) -> S3Server {
        let options = Options {
            one_request_per_connection: true,
            ..Options::default()
        };
        S3Server::start_with(access_key, secret_key, bucket, options)
    }

    fn start_with(access_key: &str, secret_key: &str, bucket: &str, options: Options) -> S3Server {
        let dir = tempfile::tempdir().expect("temp dir for the S3 server");
        let root = dir.path().canonicalize().expect("canonical temp dir");
        std::fs::create_dir_all(root.join(bucket)).expect("bucket dir");
        let fs = s3s_fs::FileSystem::new(&root).expect("s3s-fs");
        let mut builder = S3ServiceBuilder::new(Atomic {
            inner: fs,
            root: root.clone(),
            conditional: tokio::sync::Mutex::new(()),
            sorted: options.sorted_listing.then(SortedListing::default),
        });
        builder.set_auth(SimpleAuth::from_single(access_key, secret_key));
        if options.public_read {
            builder.set_access(PublicRead);
        }
        let service = builder.build();

        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let endpoint = format!("http://{}", listener.local_addr().expect("local addr"));
        let (shutdown, mut stop) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("s3-test-server".into())
            .spawn(move || {
                // The bench's server answers on every core, as s3s-fs's own binary does; the
                // tests' servers on two threads each.
                let threads = match options.sorted_listing {
                    true => std::thread::available_parallelism().map_or(2, |n| n.get()),
                    false => 2,
                };
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(threads)
                    .enable_all()
                    .build()
                    .expect("server runtime");
                runtime.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    let mut http = ConnBuilder::new(TokioExecutor::new());
                    http.http1().keep_alive(!options.one_request_per_connection);
                    let graceful = GracefulShutdown::new();
                    loop {
                        let socket = tokio::select! {
                            accepted = listener.accept() => match accepted {
                                Ok((socket, _)) => socket,
                                Err(_) => continue,
                            },
                            _ = &mut stop => break,
                        };
                        // As servers do: no response waits out the client's delayed ACK.
                        let _ = socket.set_nodelay(true);
                        let conn = http.serve_connection(TokioIo::new(socket), service.clone());
                        let conn = graceful.watch(conn.into_owned());
                        tokio::spawn(async move {
                            let _ = conn.await;
                        });
                    }
                    let _ = tokio::time::timeout(Duration::from_secs(2), graceful.shutdown()).await;
                });
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .expect("server thread");
        S3Server {
            endpoint,
            root,
            bucket: bucket.to_string(),
            access_key: access_key.to_string(),
            secret_key: secret_key.to_string(),
            shutdown: Some(shutdown),
            thread: Some(thread),
            _dir: dir,
        }
    }

    /// Where s3s-fs keeps the object `key` (e.g. `engines/arcface/x.trt`): tamper with it here.
    pub fn object_path(&self, key: &str) -> PathBuf {
        self.root.join(&self.bucket).join(key)
    }

    /// The variables that point a `trtctl` process at this server, with the right keys.
    pub fn env_vars(&self) -> [(&'static str, String); 3] {
        [
            ("ARTIFACTS_ENDPOINT", self.endpoint.clone()),
            ("ARTIFACTS_ACCESS_KEY", self.access_key.clone()),
            ("ARTIFACTS_SECRET_KEY", self.secret_key.clone()),
        ]
    }

    /// The `s3://` URL of `prefix` in this server's bucket.
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{}/{}", self.bucket, prefix.trim_matches('/'))
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
