//! The remote engine cache against a real S3 server (s3s + s3s-fs, signatures checked) and,
//! where the case means something there, against a `file://` remote.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crate::common::backend::{BUCKET, Backend};
use crate::common::faulty::{FaultyProxy, ProxyOptions};
use crate::common::s3::{ACCESS_KEY, S3Server, SECRET_KEY};
use trtctl::identity::{
    EngineId, EngineKey, Fingerprint, Provenance, SIDECAR_SCHEMA_VERSION, Sidecar, sha256_hex,
};
use trtctl::store::remote::{
    LeaseClaim, ListedEngine, Remote, RemoteEnv, RemoteError, RemoteListing, RemoteSettings,
    SpanSize, UploadOutcome, retrying,
};

const MIB: u64 = 1024 * 1024;

fn keys() -> RemoteEnv {
    RemoteEnv {
        access_key: Some(ACCESS_KEY.into()),
        secret_key: Some(SECRET_KEY.into()),
        ..RemoteEnv::default()
    }
}

/// One remote under test: a shared backend, opened through the library.
struct Opened {
    backend: Backend,
    remote: Remote,
}

impl Opened {
    fn new(backend: Backend, part_size: u64) -> Opened {
        let remote = match backend.server() {
            Some(server) => s3_remote(server, &keys(), part_size),
            None => Remote::open(
                &RemoteSettings {
                    url: backend.url(),
                    part_size,
                    concurrency: 3,
                    ..RemoteSettings::default()
                },
                &RemoteEnv::default(),
            )
            .unwrap(),
        };
        Opened { backend, remote }
    }

    fn both(part_size: u64) -> [Opened; 2] {
        Backend::both().map(|backend| Opened::new(backend, part_size))
    }

    fn name(&self) -> &'static str {
        self.backend.name()
    }

    /// Where an object `{family}/{file}` under the remote's prefix lives on disk.
    fn objects(&self) -> PathBuf {
        self.backend.objects()
    }

    fn server(&self) -> Option<&S3Server> {
        self.backend.server()
    }

    /// Files anywhere under the staging area: must be none after any upload finished.
    fn staged_files(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut dirs = vec![self.objects().join(".uploads")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                if entry.file_type().unwrap().is_dir() {
                    dirs.push(entry.path());
                } else {
                    found.push(entry.path());
                }
            }
        }
        found
    }
}

fn s3_remote(server: &S3Server, env: &RemoteEnv, part_size: u64) -> Remote {
    Remote::open(
        &RemoteSettings {
            url: server.url("engines"),
            endpoint: Some(server.endpoint.clone()),
            part_size,
            concurrency: 3,
            ..RemoteSettings::default()
        },
        env,
    )
    .unwrap()
}

fn engine(model: &str) -> (EngineKey, EngineId) {
    EngineKey::parse(&format!("arcface/{model}_v1.0_fp16_sm_86_10.3.0.trt")).unwrap()
}

/// Deterministic, incompressible-looking bytes.
fn engine_bytes(len: u64, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn sidecar(key: &EngineKey, id: &EngineId, bytes: &[u8], fingerprint: &str) -> Sidecar {
    Sidecar {
        schema_version: SIDECAR_SCHEMA_VERSION,
        family: key.family.clone(),
        id: id.clone(),
        fingerprint: Some(Fingerprint(fingerprint.repeat(32))),
        engine_sha256: sha256_hex(bytes),
        engine_size: bytes.len() as u64,
        build: None,
        provenance: Provenance {
            trtctl_version: "test".into(),
            ..Provenance::default()
        },
        local_trust: None,
        weights: None,
    }
}

/// A built engine in a local dir, with its sidecar.
struct Local {
    _dir: tempfile::TempDir,
    path: PathBuf,
    bytes: Vec<u8>,
    sidecar: Sidecar,
}

fn local_engine(key: &EngineKey, id: &EngineId, len: u64, seed: u64, fingerprint: &str) -> Local {
    let dir = tempfile::tempdir().unwrap();
    let bytes = engine_bytes(len, seed);
    let path = dir.path().join(&key.file);
    std::fs::write(&path, &bytes).unwrap();
    Local {
        sidecar: sidecar(key, id, &bytes, fingerprint),
        _dir: dir,
        path,
        bytes,
    }
}

/// Progress callbacks, recording the highest total seen.
struct Progress(AtomicU64);

impl Progress {
    fn new() -> Progress {
        Progress(AtomicU64::new(0))
    }
    fn callback(&self) -> impl Fn(u64) + Send + Sync + '_ {
        |total| {
            self.0.fetch_max(total, Ordering::Relaxed);
        }
    }
    fn max(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

async fn upload(
    remote: &Remote,
    key: &EngineKey,
    local: &Local,
) -> Result<UploadOutcome, RemoteError> {
    remote
        .upload(key, &local.path, &local.sidecar, false, None, &|_| {})
        .await
}

/// Fetches into a temp file: (sha256, size, bytes, highest progress reported).
async fn fetch(
    remote: &Remote,
    key: &EngineKey,
) -> Result<(String, u64, Vec<u8>, u64), RemoteError> {
    let temp = tempfile::NamedTempFile::new().unwrap();
    let mut file = tokio::fs::File::from_std(temp.reopen().unwrap());
    let progress = Progress::new();
    let (sha, size) = remote
        .fetch_engine(key, &mut file, &progress.callback())
        .await?;
    drop(file);
    Ok((
        sha,
        size,
        std::fs::read(temp.path()).unwrap(),
        progress.max(),
    ))
}

fn make_old(path: &Path) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
}

#[tokio::test]
async fn upload_list_and_fetch_round_trip() {
    for backend in Opened::both(16 * MIB) {
        let remote = &backend.remote;
        let (key, id) = engine("arcface_r100");
        let local = local_engine(&key, &id, 100_000, 1, "ab");

        let listing = remote.list_family("arcface").await.unwrap();
        assert!(
            listing.engines.is_empty() && listing.sidecars.is_empty(),
            "{}",
            backend.name()
        );
        assert_eq!(
            remote.read_sidecar(&key).await.unwrap(),
            None,
            "{}",
            backend.name()
        );

        let progress = Progress::new();
        let outcome = remote
            .upload(
                &key,
                &local.path,
                &local.sidecar,
                false,
                None,
                &progress.callback(),
            )
            .await
            .unwrap();
        assert_eq!(
            outcome,
            UploadOutcome::Uploaded { bytes: 100_000 },
            "{}",
            backend.name()
        );
        assert_eq!(progress.max(), 100_000, "{}", backend.name());

        let listing = remote.list_family("arcface").await.unwrap();
        assert_eq!(
            listing.engines.get(&key),
            Some(&100_000),
            "{}",
            backend.name()
        );
        assert!(listing.sidecars.contains_key(&key), "{}", backend.name());
        assert!(
            listing.rejected.is_empty(),
            "{}: {:?}",
            backend.name(),
            listing.rejected
        );
        assert!(
            remote
                .list_family("other")
                .await
                .unwrap()
                .engines
                .is_empty()
        );

        let stored = remote.read_sidecar(&key).await.unwrap().unwrap();
        assert_eq!(
            Sidecar::parse_for(&stored, &key).unwrap(),
            local.sidecar,
            "{}",
            backend.name()
        );

        let (sha, size, bytes, seen) = fetch(remote, &key).await.unwrap();
        assert_eq!(sha, local.sidecar.engine_sha256, "{}", backend.name());
        assert_eq!(size, 100_000);
        assert_eq!(seen, 100_000);
        assert!(
            bytes == local.bytes,
            "{}: fetched bytes differ",
            backend.name()
        );

        // Publishing it again sends nothing.
        assert_eq!(
            upload(remote, &key, &local).await.unwrap(),
            UploadOutcome::AlreadyPresent
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_engines_go_multipart_and_round_trip() {
    let len = 11 * MIB + 12_345;
    for backend in Opened::both(5 * MIB) {
        let remote = &backend.remote;
        let (key, id) = engine("arcface_r100");
        let local = local_engine(&key, &id, len, 2, "cd");
        let progress = Progress::new();
        let outcome = remote
            .upload(
                &key,
                &local.path,
                &local.sidecar,
                false,
                None,
                &progress.callback(),
            )
            .await
            .unwrap();
        assert_eq!(
            outcome,
            UploadOutcome::Uploaded { bytes: len },
            "{}",
            backend.name()
        );
        assert_eq!(progress.max(), len, "{}", backend.name());
        assert!(
            backend.staged_files().is_empty(),
            "{}: {:?}",
            backend.name(),
            backend.staged_files()
        );

        let listing = remote.list_family("arcface").await.unwrap();
        assert_eq!(listing.engines.get(&key), Some(&len), "{}", backend.name());
        assert!(listing.sidecars.contains_key(&key));
        assert!(listing.rejected.is_empty(), "{:?}", listing.rejected);

        let (sha, size, bytes, seen) = fetch(remote, &key).await.unwrap();
        assert_eq!(
            (sha.as_str(), size, seen),
            (local.sidecar.engine_sha256.as_str(), len, len)
        );
        assert!(
            bytes == local.bytes,
            "{}: fetched bytes differ",
            backend.name()
        );
        assert_eq!(
            std::fs::read(backend.objects().join(key.path()))
                .unwrap()
                .len() as u64,
            len
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_uploads_publish_once() {
    for (part_size, len) in [(16 * MIB, 300_000), (5 * MIB, 11 * MIB)] {
        for backend in Opened::both(part_size) {
            let (key, id) = engine("arcface_r100");
            let local = local_engine(&key, &id, len, 3, "ef");
            // Two builders, each with its own client.
            let other = match backend.server() {
                Some(server) => s3_remote(server, &keys(), part_size),
                None => backend.remote.clone(),
            };
            let (a, b) = tokio::join!(
                upload(&backend.remote, &key, &local),
                upload(&other, &key, &local)
            );
            let mut outcomes = [a.unwrap(), b.unwrap()];
            outcomes.sort_by_key(|o| matches!(o, UploadOutcome::AlreadyPresent));
            assert_eq!(
                outcomes,
                [
                    UploadOutcome::Uploaded { bytes: len },
                    UploadOutcome::AlreadyPresent
                ],
                "{} with {len} bytes",
                backend.name()
            );
            let (sha, ..) = fetch(&backend.remote, &key).await.unwrap();
            assert_eq!(sha, local.sidecar.engine_sha256);
            assert!(
                backend.staged_files().is_empty(),
                "{:?}",
                backend.staged_files()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_builders_with_different_bytes_never_mix_engine_and_sidecar() {
    for (part_size, len) in [(16 * MIB, 200_000), (5 * MIB, 6 * MIB)] {
        for backend in Opened::both(part_size) {
            let (key, id) = engine("arcface_r100");
            // TensorRT builds are not bit-reproducible: same inputs, different bytes.
            let first = local_engine(&key, &id, len, 10, "aa");
            let second = local_engine(&key, &id, len, 11, "aa");
            let (a, b) = tokio::join!(
                upload(&backend.remote, &key, &first),
                upload(&backend.remote, &key, &second)
            );
            let results = [a, b];
            let winners = results
                .iter()
                .filter(|r| matches!(r, Ok(UploadOutcome::Uploaded { .. })));
            assert_eq!(winners.count(), 1, "{}: {results:?}", backend.name());
            // Same build inputs: the loser's engine is as good as the winner's, and is not sent.
            let loser = results
                .iter()
                .find(|r| !matches!(r, Ok(UploadOutcome::Uploaded { .. })))
                .expect("one loses");
            assert!(
                matches!(loser, Ok(UploadOutcome::AlreadyPresent)),
                "{}: {loser:?}",
                backend.name()
            );
            // Whatever won, the sidecar describes the engine bytes beside it.
            let stored = Sidecar::parse_for(
                &backend.remote.read_sidecar(&key).await.unwrap().unwrap(),
                &key,
            )
            .unwrap();
            let (sha, size, ..) = fetch(&backend.remote, &key).await.unwrap();
            assert_eq!(
                (sha, size),
                (stored.engine_sha256, stored.engine_size),
                "{}",
                backend.name()
            );
        }
    }
}

#[tokio::test]
async fn a_different_engine_under_the_same_name_is_a_conflict() {
    for backend in Opened::both(16 * MIB) {
        let remote = &backend.remote;
        let (key, id) = engine("arcface_r100");
        let published = local_engine(&key, &id, 50_000, 4, "12");
        assert!(matches!(
            upload(remote, &key, &published).await.unwrap(),
            UploadOutcome::Uploaded { .. }
        ));

        let rebuilt = local_engine(&key, &id, 50_000, 5, "34");
        let err = upload(remote, &key, &rebuilt).await.unwrap_err();
        let RemoteError::Conflict { key: named, .. } = &err else {
            panic!("{}: expected a conflict, got {err:?}", backend.name())
        };
        assert_eq!(named, &key.to_string());
        let message = err.to_string();
        assert!(
            message.contains(&published.sidecar.engine_sha256),
            "{message}"
        );
        assert!(
            message.contains(&rebuilt.sidecar.engine_sha256),
            "{message}"
        );
        assert!(!message.contains('\n'));

        // Same bytes, other build inputs: still not the same engine.
        let mut relabelled = local_engine(&key, &id, 50_000, 4, "56");
        relabelled.sidecar.engine_sha256 = published.sidecar.engine_sha256.clone();
        assert!(matches!(
            upload(remote, &key, &relabelled).await,
            Err(RemoteError::Conflict { .. })
        ));

        // Nothing was overwritten.
        let stored = remote.read_sidecar(&key).await.unwrap().unwrap();
        assert_eq!(
            Sidecar::parse_for(&stored, &key).unwrap(),
            published.sidecar
        );
        let (sha, ..) = fetch(remote, &key).await.unwrap();
        assert_eq!(sha, published.sidecar.engine_sha256);
    }
}

#[tokio::test]
async fn an_interrupted_upload_is_finished_or_reported() {
    for backend in Opened::both(16 * MIB) {
        let remote = &backend.remote;
        let (key, id) = engine("arcface_r100");
        let local = local_engine(&key, &id, 40_000, 6, "77");
        // The engine landed, then the uploader died before the sidecar.
        let orphan = backend.objects().join(key.path());
        std::fs::create_dir_all(orphan.parent().unwrap()).unwrap();
        std::fs::write(&orphan, &local.bytes).unwrap();
        make_old(&orphan);
        let listing = remote.list_family("arcface").await.unwrap();
        assert!(listing.engines.contains_key(&key) && !listing.sidecars.contains_key(&key));

        let outcome = upload(remote, &key, &local).await.unwrap();
        assert!(
            matches!(outcome, UploadOutcome::Uploaded { .. }),
            "{}: {outcome:?}",
            backend.name()
        );
        assert!(
            remote
                .list_family("arcface")
                .await
                .unwrap()
                .sidecars
                .contains_key(&key)
        );

        // Someone else's orphan is not ours to adopt.
        let (other_key, other_id) = engine("arcface_r50");
        let other = local_engine(&other_key, &other_id, 40_000, 7, "88");
        let foreign = backend.objects().join(other_key.path());
        std::fs::write(&foreign, engine_bytes(40_000, 8)).unwrap();
        make_old(&foreign);
        let err = upload(remote, &other_key, &other).await.unwrap_err();
        assert!(
            matches!(&err, RemoteError::Conflict { theirs, .. } if theirs.contains("without a sidecar")),
            "{}: {err:?}",
            backend.name()
        );
    }
}

#[tokio::test]
async fn a_local_engine_that_does_not_match_its_sidecar_is_not_published() {
    for backend in Opened::both(16 * MIB) {
        let (key, id) = engine("arcface_r100");
        let mut local = local_engine(&key, &id, 30_000, 9, "99");
        local.sidecar.engine_sha256 = "00".repeat(32);
        let err = upload(&backend.remote, &key, &local).await.unwrap_err();
        assert!(err.to_string().contains("cache verify"), "{err}");
        let listing = backend.remote.list_family("arcface").await.unwrap();
        assert!(
            listing.engines.is_empty() && listing.sidecars.is_empty(),
            "{}",
            backend.name()
        );
    }
}

#[tokio::test]
async fn tampered_remote_bytes_hash_differently() {
    for backend in Opened::both(16 * MIB) {
        let (key, id) = engine("arcface_r100");
        let local = local_engine(&key, &id, 20_000, 12, "42");
        upload(&backend.remote, &key, &local).await.unwrap();
        let stored = backend.objects().join(key.path());
        let mut bytes = std::fs::read(&stored).unwrap();
        bytes[100] ^= 0xff;
        std::fs::write(&stored, &bytes).unwrap();
        let (sha, size, ..) = fetch(&backend.remote, &key).await.unwrap();
        assert_eq!(size, 20_000);
        assert_ne!(sha, local.sidecar.engine_sha256, "{}", backend.name());
    }
}

#[tokio::test]
async fn hostile_and_foreign_names_are_only_rejected() {
    for backend in Opened::both(16 * MIB) {
        let remote = &backend.remote;
        let (key, id) = engine("arcface_r100");
        let local = local_engine(&key, &id, 1_000, 13, "13");
        upload(remote, &key, &local).await.unwrap();

        let family = backend.objects().join("arcface");
        let valid = "arcface_r100_v1.0_fp16_sm_86_10.3.0.trt";
        let hostile = [
            "..%2f".to_string(),
            "..%2f..%2fetc%2fpasswd".to_string(),
            "not-an-engine.bin".to_string(),
            format!("nested/{valid}"),
            format!("deeper/nested/{valid}.json"),
            format!(".{valid}"),
            format!("{valid}.json.bak"),
            format!("{valid}.part"),
            "arcface_r100_v1.0_fp16_sm_86_10.3.0 .trt".to_string(),
        ];
        for name in &hostile {
            let path = family.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, b"hostile").unwrap();
        }
        // A sibling family's objects never show up.
        std::fs::create_dir_all(backend.objects().join("arcface2")).unwrap();
        std::fs::write(backend.objects().join("arcface2").join(valid), b"x").unwrap();

        let listing = remote.list_family("arcface").await.unwrap();
        assert_eq!(
            listing.engines.keys().collect::<Vec<_>>(),
            vec![&key],
            "{}",
            backend.name()
        );
        assert_eq!(
            listing.sidecars.keys().collect::<Vec<_>>(),
            vec![&key],
            "{}",
            backend.name()
        );
        assert_eq!(
            listing.rejected.len(),
            hostile.len(),
            "{}: {:?}",
            backend.name(),
            listing.rejected
        );
        let rejected: BTreeSet<&str> = listing.rejected.iter().map(String::as_str).collect();
        for name in [
            "arcface/not-an-engine.bin",
            "arcface/nested/arcface_r100_v1.0_fp16_sm_86_10.3.0.trt",
        ] {
            assert!(
                rejected.contains(name),
                "{}: {name} not in {rejected:?}",
                backend.name()
            );
        }
        assert!(
            listing.rejected.iter().all(|r| r.starts_with("arcface/")),
            "{:?}",
            listing.rejected
        );
    }
}

#[tokio::test]
async fn wrong_secret_is_a_credentials_error_that_never_shows_a_secret() {
    let server = S3Server::start(ACCESS_KEY, SECRET_KEY, BUCKET);
    let wrong = "wrong-secret-value-5c4b3a";
    let env = RemoteEnv {
        secret_key: Some(wrong.into()),
        ..keys()
    };
    let proxy = FaultyProxy::start_with(&server.endpoint, ProxyOptions::latency(Duration::ZERO));
    let refused = Remote::open(
        &RemoteSettings {
            url: server.url("engines"),
            endpoint: Some(proxy.endpoint.clone()),
            ..RemoteSettings::default()
        },
        &env,
    )
    .unwrap();
    let err = refused.list_family("arcface").await.unwrap_err();
    assert!(matches!(err, RemoteError::Credentials { .. }), "{err:?}");
    // A refusal is final: it is not sent again.
    assert_eq!(proxy.stats.total(), 1, "{:?}", proxy.stats.requests);

    let remote = s3_remote(&server, &env, 16 * MIB);
    assert!(remote.writable());

    let (key, id) = engine("arcface_r100");
    let local = local_engine(&key, &id, 1_000, 14, "14");
    let upload_err = upload(&remote, &key, &local).await.unwrap_err();
    assert!(
        matches!(upload_err, RemoteError::Credentials { .. }),
        "{upload_err:?}"
    );

    for text in [
        err.to_string(),
        format!("{err:?}"),
        upload_err.to_string(),
        format!("{upload_err:?}"),
        format!("{remote:?}"),
        format!("{env:?}"),
    ] {
        assert!(!text.contains(wrong), "{text}");
        assert!(!text.contains(SECRET_KEY), "{text}");
        assert!(!text.contains('\n'), "{text}");
    }
    assert!(err.to_string().contains("ARTIFACTS_SECRET_KEY"), "{err}");

    // A wrong access key is the same kind of error.
    let env = RemoteEnv {
        access_key: Some("nobody-we-know".into()),
        ..keys()
    };
    let err = s3_remote(&server, &env, 16 * MIB)
        .list_family("arcface")
        .await
        .unwrap_err();
    assert!(matches!(err, RemoteError::Credentials { .. }), "{err:?}");
}

#[tokio::test]
async fn without_credentials_the_remote_is_read_only() {
    let server = S3Server::start_public_read(ACCESS_KEY, SECRET_KEY, BUCKET);
    let (key, id) = engine("arcface_r100");
    let local = local_engine(&key, &id, 10_000, 15, "15");
    upload(&s3_remote(&server, &keys(), 16 * MIB), &key, &local)
        .await
        .unwrap();

    let anonymous = s3_remote(&server, &RemoteEnv::default(), 16 * MIB);
    assert!(!anonymous.writable());
    let listing = anonymous.list_family("arcface").await.unwrap();
    assert!(listing.engines.contains_key(&key) && listing.sidecars.contains_key(&key));
    assert!(anonymous.read_sidecar(&key).await.unwrap().is_some());
    let (sha, ..) = fetch(&anonymous, &key).await.unwrap();
    assert_eq!(sha, local.sidecar.engine_sha256);

    let (other, other_id) = engine("arcface_r50");
    let local = local_engine(&other, &other_id, 10_000, 16, "16");
    let err = upload(&anonymous, &other, &local).await.unwrap_err();
    assert!(matches!(err, RemoteError::Credentials { .. }), "{err:?}");
    assert!(err.to_string().contains("read-only"), "{err}");

    // A private bucket refuses anonymous reads with a message about credentials.
    let private = S3Server::start(ACCESS_KEY, SECRET_KEY, BUCKET);
    let err = s3_remote(&private, &RemoteEnv::default(), 16 * MIB)
        .list_family("arcface")
        .await
        .unwrap_err();
    assert!(matches!(err, RemoteError::Credentials { .. }), "{err:?}");
    assert!(err.to_string().contains("no credentials"), "{err}");
}

fn remote_at_port(port: u16) -> Remote {
    Remote::open(
        &RemoteSettings {
            url: format!("s3://{BUCKET}/engines"),
            ..RemoteSettings::default()
        },
        &RemoteEnv {
            endpoint: Some(format!("http://127.0.0.1:{port}")),
            ..keys()
        },
    )
    .unwrap()
}

#[tokio::test]
async fn an_unreachable_endpoint_gives_up_after_a_few_tries_and_names_the_endpoint() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let err = remote_at_port(port)
        .list_family("arcface")
        .await
        .unwrap_err();
    assert!(matches!(err, RemoteError::Unreachable { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert!(message.contains("ARTIFACTS_ENDPOINT"), "{message}");
    assert!(!message.contains(SECRET_KEY));

    // An endpoint that reads each request and closes the connection unanswered counts the
    // tries: the listing is tried 6 times (5 retries).
    let closing = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closing.local_addr().unwrap().port();
    let tries = std::sync::Arc::new(AtomicU64::new(0));
    let counted = tries.clone();
    std::thread::spawn(move || {
        for connection in closing.incoming() {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            let mut connection = connection.unwrap();
            while !head.ends_with(b"\r\n\r\n") && connection.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            if !head.is_empty() {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    let err = remote_at_port(port)
        .list_family("arcface")
        .await
        .unwrap_err();
    assert!(matches!(err, RemoteError::Unreachable { .. }), "{err:?}");
    let tries = tries.load(Ordering::SeqCst);
    assert_eq!(tries, 6);
}

#[tokio::test]
async fn a_missing_bucket_says_so() {
    let server = S3Server::start(ACCESS_KEY, SECRET_KEY, BUCKET);
    let remote = Remote::open(
        &RemoteSettings {
            url: "s3://no-such-bucket/engines".into(),
            endpoint: Some(server.endpoint.clone()),
            ..RemoteSettings::default()
        },
        &keys(),
    )
    .unwrap();
    let err = remote.list_family("arcface").await.unwrap_err();
    assert!(matches!(err, RemoteError::NoBucket { .. }), "{err:?}");
    assert!(err.to_string().contains("no-such-bucket"), "{err}");
}

#[tokio::test]
async fn keys_that_could_escape_are_refused_before_any_request() {
    let backend = Opened::new(Backend::dir(), 16 * MIB);
    let evil = EngineKey {
        family: "..".into(),
        file: "arcface_r100_v1.0_fp16_sm_86_10.3.0.trt".into(),
    };
    assert!(backend.remote.read_sidecar(&evil).await.is_err());
    assert!(backend.remote.list_family("../etc").await.is_err());
    assert!(backend.remote.list_family("a/b").await.is_err());
}

/// Another client of the same remote (another builder), with its own lease time.
fn another_builder(backend: &Opened, lease_ttl: Duration) -> Remote {
    Remote::open(
        &RemoteSettings {
            url: backend.backend.url(),
            endpoint: backend.server().map(|s| s.endpoint.clone()),
            lease_ttl,
            ..RemoteSettings::default()
        },
        &keys(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_is_held_once_renewed_released_and_taken_over_when_stale() {
    let minute = Duration::from_secs(60);
    for backend in Opened::both(16 * MIB) {
        let name = backend.name();
        let (key, _) = engine("arcface_r100");
        let a = another_builder(&backend, minute);
        let b = another_builder(&backend, minute);

        let LeaseClaim::Acquired(mut held) = a.claim_lease(&key).await.unwrap() else {
            panic!("{name}: the first claim must win");
        };
        let first = a.read_lease(&key).await.unwrap().unwrap();
        assert_eq!(first.pid, std::process::id(), "{name}");
        let LeaseClaim::HeldBy(holder) = b.claim_lease(&key).await.unwrap() else {
            panic!("{name}: a live lease must not be claimed twice");
        };
        assert_eq!(holder, first, "{name}");
        let listing = a.list_family("arcface").await.unwrap();
        assert!(listing.leases.contains(&key), "{name}: {listing:?}");
        assert!(listing.rejected.is_empty(), "{name}: {listing:?}");
        assert!(
            listing.engines.is_empty(),
            "{name}: a lease is not an engine"
        );

        std::thread::sleep(Duration::from_millis(1100));
        assert!(a.renew_lease(&mut held).await.unwrap(), "{name}");
        let renewed = a.read_lease(&key).await.unwrap().unwrap();
        assert!(renewed.expires_at > first.expires_at, "{name}");
        assert_eq!(renewed.holder, first.holder, "{name}");

        a.release_lease(held).await.unwrap();
        assert_eq!(a.read_lease(&key).await.unwrap(), None, "{name}");

        // A holder whose lease runs out (it stalled, or its machine died) loses it to the next
        // claimer, and its late renewal and release leave the new holder's lease alone.
        let stalled = another_builder(&backend, Duration::ZERO);
        let LeaseClaim::Acquired(mut late) = stalled.claim_lease(&key).await.unwrap() else {
            panic!("{name}: a released lease is free");
        };
        let LeaseClaim::Acquired(_taken) = b.claim_lease(&key).await.unwrap() else {
            panic!("{name}: an expired lease must be taken over");
        };
        let taker = b.read_lease(&key).await.unwrap().unwrap();
        assert!(!stalled.renew_lease(&mut late).await.unwrap(), "{name}");
        stalled.release_lease(late).await.unwrap();
        assert_eq!(b.read_lease(&key).await.unwrap(), Some(taker), "{name}");
        let LeaseClaim::HeldBy(_) = a.claim_lease(&key).await.unwrap() else {
            panic!("{name}: the taker holds it now");
        };
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_its_lease_a_large_engine_skips_staging() {
    for backend in Opened::both(5 * MIB) {
        let name = backend.name();
        let remote = &backend.remote;
        let (shared_key, id) = engine("arcface_r100");
        let shared = local_engine(&shared_key, &id, 11 * MIB, 21, "21");
        upload(remote, &shared_key, &shared).await.unwrap();
        assert!(
            backend.objects().join(".uploads").exists(),
            "{name}: an upload without a lease stages"
        );
        std::fs::remove_dir_all(backend.objects().join(".uploads")).unwrap();

        let (key, id) = engine("scrfd_10g");
        let local = local_engine(&key, &id, 11 * MIB, 22, "22");
        let outcome = remote
            .upload(&key, &local.path, &local.sidecar, true, None, &|_| {})
            .await
            .unwrap();
        assert_eq!(
            outcome,
            UploadOutcome::Uploaded { bytes: 11 * MIB },
            "{name}"
        );
        assert!(
            !backend.objects().join(".uploads").exists(),
            "{name}: staged under a lease"
        );
        let (sha, size, ..) = fetch(remote, &key).await.unwrap();
        assert_eq!(
            (sha, size),
            (local.sidecar.engine_sha256.clone(), 11 * MIB),
            "{name}"
        );
        // The sidecar is still create-only: a second leased upload compares, never rewrites.
        let again = remote
            .upload(&key, &local.path, &local.sidecar, true, None, &|_| {})
            .await
            .unwrap();
        assert_eq!(again, UploadOutcome::AlreadyPresent, "{name}");
    }
}

/// A remote for `server`'s bucket reached through `proxy`.
fn through_proxy(server: &S3Server, proxy: &FaultyProxy) -> Remote {
    Remote::open(
        &RemoteSettings {
            url: server.url("engines"),
            endpoint: Some(proxy.endpoint.clone()),
            concurrency: 3,
            read_timeout: Duration::from_secs(2),
            ..RemoteSettings::default()
        },
        &keys(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_ranged_fetch_through_failing_connections_gets_every_byte() {
    let server = S3Server::start_one_request_per_connection(ACCESS_KEY, SECRET_KEY, BUCKET);
    let (key, id) = engine("arcface_r100");
    let len = 40 * MIB + 4_321;
    let local = local_engine(&key, &id, len, 31, "31");
    upload(&s3_remote(&server, &keys(), 5 * MIB), &key, &local)
        .await
        .unwrap();
    // Answers refused, connections reset or stalled, and bodies cut half-way: every range
    // lands whole, resumed or asked for again, or the fetch is tried again as a whole.
    let (mut faults, mut cut) = (0, 0);
    for seed in [0x5eed, 7, 42] {
        let proxy = FaultyProxy::start(&server.endpoint, 40, seed);
        let remote = through_proxy(&server, &proxy);
        let (sha, size, bytes, seen) = retrying(|| fetch(&remote, &key)).await.unwrap();
        assert_eq!(
            (sha, size, seen),
            (local.sidecar.engine_sha256.clone(), len, len)
        );
        assert!(bytes == local.bytes, "seed {seed}: fetched bytes differ");
        faults += proxy.faults();
        cut += proxy.stats.truncated.load(Ordering::SeqCst);
    }
    assert!(faults > 0 && cut > 0, "{faults} faults, {cut} bodies cut");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dropping_a_ranged_fetch_stops_its_requests() {
    let server = S3Server::start(ACCESS_KEY, SECRET_KEY, BUCKET);
    let (key, id) = engine("arcface_r100");
    let local = local_engine(&key, &id, 100 * MIB, 32, "32");
    upload(&s3_remote(&server, &keys(), 16 * MIB), &key, &local)
        .await
        .unwrap();
    let proxy = FaultyProxy::start_with(
        &server.endpoint,
        ProxyOptions::latency(Duration::from_millis(100)),
    );
    let remote = through_proxy(&server, &proxy);
    let stats = &proxy.stats;
    // Dropped once its first range is asked for: each answer waits out the proxy's round trip,
    // so the fetch is under way with more to ask for.
    let engine_get = |r: &String| r.starts_with("GET ") && r.ends_with(&key.file);
    let mut fetching = Box::pin(fetch(&remote, &key));
    tokio::select! {
        biased;
        _ = async {
            while !stats.requests.lock().unwrap().iter().any(engine_get) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        } => {}
        _ = &mut fetching => panic!("the fetch finished before it was dropped"),
    }
    drop(fetching);
    // The proxy counts a request as soon as it reads it; a request written just before the drop
    // may take a moment to be read.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let asked = stats.count("GET ");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(stats.count("GET "), asked, "requests sent after the drop");
    for _ in 0..300 {
        if stats.in_flight.load(Ordering::SeqCst) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let open = stats.in_flight.load(Ordering::SeqCst);
    assert_eq!(open, 0, "requests still open");
}

/// What `whole` shows of the engine `file` of family `m`, as a listing of wanted engines has it.
fn as_listed(whole: &RemoteListing, file: &str) -> ListedEngine {
    let key = EngineKey {
        family: "m".into(),
        file: file.into(),
    };
    ListedEngine {
        size: whole.engines.get(&key).copied(),
        sidecar: whole.sidecars.get(&key).cloned(),
        leased: whole.leases.contains(&key),
        signers: whole.signers.get(&key).cloned().unwrap_or_default(),
    }
}

#[tokio::test]
async fn a_family_of_many_pages_lists_the_same_whole_or_in_spans_of_wanted_engines() {
    let server = S3Server::start(ACCESS_KEY, SECRET_KEY, BUCKET);
    let proxy = FaultyProxy::start_with(&server.endpoint, ProxyOptions::latency(Duration::ZERO));
    let remote = through_proxy(&server, &proxy);
    let family = server.object_path("engines").join("m");
    std::fs::create_dir_all(&family).unwrap();
    let name = |i: usize| format!("m{i:04}_v1_fp16_sm_86_10.3.0.trt");
    // 1,200 engines with sidecars, some leased and signed, one stray name: four LIST pages.
    for i in 0..1_200 {
        std::fs::write(family.join(name(i)), b"e").unwrap();
        std::fs::write(family.join(format!("{}.json", name(i))), b"{}").unwrap();
    }
    for i in [0, 450, 451, 899, 1_199] {
        std::fs::write(family.join(format!("{}.lease", name(i))), b"{}").unwrap();
        std::fs::create_dir_all(family.join(format!("{}.sig", name(i)))).unwrap();
        for signer in ["ci", "release"] {
            std::fs::write(family.join(format!("{}.sig/{signer}", name(i))), b"s").unwrap();
        }
    }
    std::fs::write(family.join("stray.bin"), b"x").unwrap();

    let whole = remote.list_family("m").await.unwrap();
    assert_eq!((whole.engines.len(), whole.sidecars.len()), (1_200, 1_200));
    assert_eq!(whole.leases.len(), 5);
    assert!(whole.signers.values().all(|s| s == &["ci", "release"]));
    assert_eq!(whole.signers.len(), 5);
    assert_eq!(whole.rejected, vec!["m/stray.bin".to_string()]);
    let absent = "m9999_v1_fp16_sm_86_10.3.0.trt".to_string();
    let all: Vec<String> = (0..1_200).map(name).collect();
    // Any order, twice over, with an engine the remote does not have.
    let some: Vec<String> = [899, 451, 450, 450, 0, 1_199, 3, 700]
        .into_iter()
        .map(name)
        .chain([absent.clone()])
        .collect();
    for (wanted, engines) in [(&all, 450), (&all, 97), (&some, 2), (&some, 450)] {
        // A first page of the span's size, and one too short for it: the span goes on.
        let mut requests = Vec::new();
        for keys in [2 * engines + 16, 7] {
            proxy.stats.reset();
            let size = SpanSize { engines, keys };
            let listed = remote.list_wanted("m", wanted.clone(), size).await.unwrap();
            requests.push(proxy.stats.distinct());
            for file in wanted {
                let shown = listed
                    .get(file)
                    .unwrap_or_else(|| panic!("{file} not wanted"));
                assert_eq!(shown, &as_listed(&whole, file), "{file}, {size:?}");
            }
            for i in 0..1_200 {
                assert_eq!(listed.get(&name(i)).is_some(), wanted.contains(&name(i)));
            }
            // Every sidecar listed is shown, wanted or not: what the memo of sidecars keeps.
            assert!((0..1_200).all(|i| listed.shows_sidecar(&name(i))));
            assert!(!listed.shows_sidecar(&absent));
        }
        // One span is one plain listing, with no first page of its own; spans of every engine
        // ask first for a page of their size (sparse ones list far past it anyway).
        let spans = wanted
            .iter()
            .collect::<BTreeSet<_>>()
            .len()
            .div_ceil(engines);
        if spans == 1 {
            assert_eq!(requests[0], requests[1], "{requests:?} requests");
        } else if wanted == &all {
            assert!(requests[0] < requests[1], "{requests:?} requests");
        }
    }
    // Three spans of 450 engines with their sidecars, leases and signatures: a page each.
    proxy.stats.reset();
    let size = SpanSize {
        engines: 450,
        keys: 916,
    };
    remote.list_wanted("m", all, size).await.unwrap();
    assert_eq!(proxy.stats.distinct(), 3);
}
