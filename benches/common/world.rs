//! The benchmark world shared by the bench targets: a manifest of N engines, cached (or in a
//! `file://` remote), optionally signed.

use std::path::Path;

use trtctl::identity::{LocalTrust, Provenance, SIDECAR_SCHEMA_VERSION, Sidecar};
use trtctl::observe::HashCache;
use trtctl::plan;
use trtctl::trust::{SecretKey, SignedFacts, TrustPolicy};
use trtctl::workspace::{Environment, Workspace};

pub const ARCHS_PER_MODEL: usize = 50;
const PRECISIONS: [&str; 2] = ["fp16", "fp32"];

/// Where a world's engines are: cached here, or only in its `file://` remote.
#[derive(Clone, Copy, PartialEq)]
pub enum Place {
    Cache,
    Remote,
}

/// A manifest of `engines` engines (models × 2 precisions × 50 archs), all of them cached.
pub fn cached_world(dir: &Path, engines: usize) -> Workspace {
    world(dir, engines, None, Place::Cache)
}

/// The same world, its engines signed by `signer` (and the key trusted, so signatures are
/// required) and placed in the cache (as fetched and verified) or in a `file://` remote.
pub fn world(dir: &Path, engines: usize, signer: Option<&SecretKey>, place: Place) -> Workspace {
    let models = engines.div_ceil(ARCHS_PER_MODEL * PRECISIONS.len());
    let archs: Vec<String> = (0..ARCHS_PER_MODEL)
        .map(|i| format!("\"sm_{}\"", 10 + i))
        .collect();
    let mut manifest = format!(
        "trt_version = \"10.3.0\"\n[cache]\ndir = \"cache\"\n{}[defaults]\nprecisions = [\"fp16\", \"fp32\"]\narchs = [{}]\nbatch = {{ min = 1, opt = 8, max = 16 }}\n",
        if place == Place::Remote {
            "[remote]\nurl = \"file://remote\"\n"
        } else {
            ""
        },
        archs.join(", ")
    );
    std::fs::create_dir_all(dir.join("models")).unwrap();
    for m in 0..models {
        std::fs::write(dir.join(format!("models/m{m}.onnx")), format!("model {m}")).unwrap();
        manifest.push_str(&format!(
            "[[model]]\nname = \"model_{m}\"\nonnx = \"models/m{m}.onnx\"\nversion = \"v1\"\n"
        ));
    }
    std::fs::write(dir.join("engines.toml"), manifest).unwrap();
    let env = Environment {
        gpu_archs: vec!["sm_10".parse().unwrap()],
        ..Environment::default()
    };
    let mut workspace = Workspace::open(&dir.join("engines.toml"), &env).unwrap();
    let files: Vec<_> = workspace
        .manifest
        .models
        .iter()
        .map(|m| m.onnx.clone())
        .collect();
    let digests = HashCache::load(workspace.cache.root())
        .digest(&files)
        .unwrap();
    let desired = plan::desired_engines(
        &workspace.manifest,
        &digests.sha256,
        workspace.trt_version(),
        &workspace.gpus.models_by_arch(),
    );
    for engine in &desired {
        let bytes = engine.key.file.as_bytes();
        let sidecar = Sidecar {
            schema_version: SIDECAR_SCHEMA_VERSION,
            family: engine.key.family.clone(),
            id: engine.id.clone(),
            fingerprint: Some(engine.fingerprint.clone()),
            engine_sha256: trtctl::identity::sha256_hex(bytes),
            engine_size: bytes.len() as u64,
            build: Some(engine.build.clone()),
            provenance: Provenance::default(),
            local_trust: None,
            weights: None,
        };
        let record = signer.map(|key| key.sign(&SignedFacts::of(&sidecar).unwrap()));
        let root = match place {
            Place::Cache => workspace.cache.root().to_path_buf(),
            Place::Remote => dir.join("remote"),
        };
        let engine_path = root.join(engine.key.path());
        std::fs::create_dir_all(engine_path.parent().unwrap()).unwrap();
        std::fs::write(&engine_path, bytes).unwrap();
        let sidecar = match (place, &record) {
            (Place::Cache, Some(record)) => Sidecar {
                local_trust: Some(LocalTrust::Fetched {
                    signer: signer.map(|k| k.public().to_string()),
                    signature: Some(record.to_line()),
                }),
                ..sidecar
            },
            (Place::Remote, Some(record)) => {
                let signatures = root.join(format!("{}.sig", engine.key.path()));
                std::fs::create_dir_all(&signatures).unwrap();
                std::fs::write(signatures.join(&record.signer), record.to_bytes()).unwrap();
                sidecar
            }
            (_, None) => sidecar,
        };
        std::fs::write(root.join(engine.key.sidecar_path()), sidecar.to_json()).unwrap();
    }
    if let Some(key) = signer {
        workspace.trust = TrustPolicy::new(vec![key.public()], None).unwrap();
    }
    workspace
}
