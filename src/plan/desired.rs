//! What the manifest wants: its engines, named and fingerprinted.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::identity::{
    BuildFlags, BuildInputs, EngineId, EngineKey, Fingerprint, GpuArch, GpuModelPolicy, GpuModels,
    ModelFingerprints, Precision, TrtVersion,
};
use crate::manifest::{Manifest, ModelSpec};

/// One engine the manifest wants, with everything its bytes depend on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredEngine {
    pub key: EngineKey,
    pub id: EngineId,
    pub fingerprint: Fingerprint,
    pub build: BuildInputs,
    pub onnx: PathBuf,
    /// What the plan says of a copy built on another GPU model of the arch.
    #[serde(default, skip_serializing_if = "GpuModelPolicy::is_warn")]
    pub gpu_model: GpuModelPolicy,
    /// For an `sm_80-plus` engine, the model's archs it serves; empty for one arch's engine.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub serves: Vec<GpuArch>,
    /// Set for an engine whose weights are stripped, once its ONNX's graph is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<super::desired_weights::DesiredWeights>,
}

impl DesiredEngine {
    /// The GPU archs this engine is for: its own, or those of the model's archs that an
    /// `sm_80-plus` engine serves.
    pub fn serves(&self) -> Vec<GpuArch> {
        self.id.gpu_arch.serving(&self.serves)
    }
}

/// One model's fingerprints: `ampere+` models have a second set for the archs the level does
/// not serve, which are built without it.
struct ModelPrints<'a> {
    model: &'a ModelSpec,
    sha: &'a String,
    own_arch: ModelFingerprints,
    and_later: Option<ModelFingerprints>,
}

impl ModelPrints<'_> {
    fn of(&self, precision: Precision, target: GpuArch) -> Fingerprint {
        match &self.and_later {
            Some(prints) if target.is_and_later() => prints.of(precision, target),
            _ => self.own_arch.of(precision, target),
        }
    }
}

/// Expands the manifest into engines, given each ONNX file's sha256, the TensorRT version and
/// the GPU models of this host's archs (what `gpu_model = "exact"` models are built for).
pub fn desired_engines(
    manifest: &Manifest,
    onnx_sha256: &BTreeMap<PathBuf, String>,
    trt: TrtVersion,
    gpu_models: &GpuModels,
) -> Vec<DesiredEngine> {
    // Each model's share of the fingerprints, hashed once.
    let models: Vec<_> = manifest
        .models
        .iter()
        .filter_map(|model| onnx_sha256.get(&model.onnx).map(|sha| (model, sha)))
        .map(|(model, sha)| {
            let prints =
                |flags: &BuildFlags| ModelFingerprints::new(sha, trt, &model.profile, flags);
            let targets = model.engine_targets(gpu_models);
            let and_later =
                (targets.iter().any(|t| t.arch.is_and_later())).then(|| prints(&model.flags));
            let own_arch = prints(&model.one_arch_flags());
            let prints = ModelPrints {
                model,
                sha,
                own_arch,
                and_later,
            };
            (prints, targets)
        })
        .collect();
    // Every (model, precision, arch), in manifest order; fingerprints are hashed in parallel.
    let combos: Vec<_> = models
        .iter()
        .flat_map(|(prints, targets)| {
            (prints.model.precisions.iter())
                .flat_map(move |&p| targets.iter().map(move |t| (prints, p, t)))
        })
        .collect();
    combos
        .into_par_iter()
        .map(|(prints, precision, target)| {
            let (model, sha, arch) = (prints.model, prints.sha, target.arch);
            let id = Manifest::engine_id(model, sha, precision, target, trt);
            let build = BuildInputs {
                onnx_sha256: sha.clone(),
                precision,
                gpu_arch: arch,
                trt_version: trt,
                profile: model.profile.clone(),
                flags: model.flags_for(arch).into_owned(),
            };
            DesiredEngine {
                key: EngineKey::new(&model.family, &id),
                fingerprint: prints.of(precision, arch),
                id,
                build,
                onnx: model.onnx.clone(),
                gpu_model: model.gpu_model,
                serves: if arch.is_and_later() {
                    model.served_archs(arch)
                } else {
                    Vec::new()
                },
                weights: None,
            }
        })
        .collect()
}

/// The names of the engines the manifest wants, per family: what the remote is listed for,
/// known from the ONNX digests alone, before any fingerprint is hashed.
pub fn wanted_names(
    manifest: &Manifest,
    onnx_sha256: &BTreeMap<PathBuf, String>,
    trt: TrtVersion,
    gpu_models: &GpuModels,
) -> BTreeMap<String, Vec<String>> {
    let mut families: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for model in &manifest.models {
        let Some(sha) = onnx_sha256.get(&model.onnx) else {
            continue;
        };
        let version = model.version.resolve(sha);
        families
            .entry(model.family.clone())
            .or_default()
            .extend(EngineId::file_names(
                &model.name,
                &version,
                &model.precisions,
                &model.engine_targets(gpu_models),
                trt,
            ));
    }
    families
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_wanted_before_hashing_are_the_desired_engines_names() {
        let dir = tempfile::tempdir().unwrap();
        for file in ["a.onnx", "b.onnx", "c.onnx"] {
            std::fs::write(dir.path().join(file), b"x").unwrap();
        }
        let manifest = Manifest::parse(
            &dir.path().join("engines.toml"),
            "trt_version = \"10.3.0\"\n\
             [defaults]\narchs = [\"sm_86\", \"sm_89\"]\nbatch = { min = 1, opt = 8, max = 16 }\n\
             [[model]]\nname = \"a\"\nonnx = \"a.onnx\"\nversion = \"v1\"\nprecisions = [\"fp16\", \"fp32\"]\n\
             [[model]]\nname = \"b\"\nfamily = \"other\"\nonnx = \"b.onnx\"\nversion = \"auto\"\n\
             [[model]]\nname = \"unhashed\"\nonnx = \"c.onnx\"\n",
        )
        .unwrap();
        let hashes = BTreeMap::from([
            (manifest.models[0].onnx.clone(), "ab".repeat(32)),
            (manifest.models[1].onnx.clone(), "12345678".repeat(8)),
        ]);
        let trt = TrtVersion::new(10, 3, 0);
        let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let no_gpus = GpuModels::default();
        for engine in desired_engines(&manifest, &hashes, trt, &no_gpus) {
            let names = expected.entry(engine.key.family).or_default();
            names.push(engine.key.file);
        }
        assert_eq!(expected.values().map(Vec::len).sum::<usize>(), 6);
        assert!(
            expected["other"]
                .iter()
                .all(|n| n.starts_with("b_12345678_"))
        );
        assert_eq!(wanted_names(&manifest, &hashes, trt, &no_gpus), expected);
    }
}
