//! `--format k8s`: one `batch/v1` Job per unit, placed by GPU Feature Discovery's labels.

use serde_json::{Value, json};

use super::{FleetPlan, JOB_ENV, JobCommand, Unit};
use crate::manifest::KubernetesSettings;

/// Where the cache volume is mounted, and TENSORRT_CACHE_DIR with it.
const CACHE_MOUNT: &str = "/var/cache/trtctl";

#[derive(Debug, thiserror::Error)]
#[error(
    "the Jobs need an image\n  = help: pass `--image REGISTRY/IMAGE:TAG` or set `image` in `[fleet.kubernetes]`"
)]
pub struct NoImage;

/// The Jobs of `plan`, one per unit. Credentials come from `settings.secret` through
/// `envFrom`; nothing secret is in the Jobs themselves.
pub fn jobs(
    plan: &FleetPlan,
    settings: &KubernetesSettings,
    command: &JobCommand,
) -> Result<Vec<Value>, NoImage> {
    let image = settings.image.as_deref().ok_or(NoImage)?;
    Ok((plan.units.iter())
        .map(|unit| job(plan, unit, settings, image, command))
        .collect())
}

/// The Jobs as one `v1` List, the JSON `kubectl apply -f` takes.
pub fn list(jobs: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": "List", "items": jobs})
}

fn job(
    plan: &FleetPlan,
    unit: &Unit,
    settings: &KubernetesSettings,
    image: &str,
    command: &JobCommand,
) -> Value {
    let labels = json!({
        "app.kubernetes.io/name": "trtctl",
        "app.kubernetes.io/component": "engine-build",
        "trtctl.io/plan": plan.digest,
        "trtctl.io/gpu": unit.gpu.slug(),
    });
    let mut metadata = json!({"name": unit.name, "labels": labels});
    if let Some(namespace) = &settings.namespace {
        metadata["namespace"] = json!(namespace);
    }
    let mut container = json!({
        "name": "trtctl",
        "image": image,
        "command": [command.program],
        "args": command.args(unit),
        "resources": {"limits": {"nvidia.com/gpu": 1}},
    });
    let mut env: Vec<Value> = (JOB_ENV.iter())
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    if let Some(secret) = &settings.secret {
        container["envFrom"] = json!([{"secretRef": {"name": secret}}]);
    }
    let mut pod = json!({
        "restartPolicy": "Never",
        "nodeSelector": node_selector(unit),
        "containers": [],
    });
    if let Some(affinity) = node_affinity(unit) {
        pod["affinity"] = affinity;
    }
    if let Some(account) = &settings.service_account {
        pod["serviceAccountName"] = json!(account);
    }
    if let Some(claim) = &settings.cache_volume_claim {
        env.push(json!({"name": "TENSORRT_CACHE_DIR", "value": CACHE_MOUNT}));
        container["volumeMounts"] = json!([{"name": "engine-cache", "mountPath": CACHE_MOUNT}]);
        pod["volumes"] =
            json!([{"name": "engine-cache", "persistentVolumeClaim": {"claimName": claim}}]);
    }
    container["env"] = json!(env);
    pod["containers"] = json!([container]);
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": {
            // A build that fails fails the same way again: one retry covers a lost node.
            "backoffLimit": 1,
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    })
}

/// GPU Feature Discovery's labels for the unit's GPU: compute capability, and the product
/// where the unit names a GPU model (GFD writes the CUDA name with `-` for spaces,
/// `NVIDIA-A10G`; from a model key that is `NVIDIA-` and the key in capitals). An `sm_80-plus`
/// unit takes any GPU of compute capability 8 or later: an affinity, not a selector.
fn node_selector(unit: &Unit) -> Value {
    if unit.gpu.arch.is_and_later() {
        return json!({});
    }
    let mut selector = json!({
        "nvidia.com/gpu.compute.major": unit.gpu.arch.major().to_string(),
        "nvidia.com/gpu.compute.minor": unit.gpu.arch.minor().to_string(),
    });
    if let Some(model) = &unit.gpu.gpu_model {
        selector["nvidia.com/gpu.product"] = json!(format!("NVIDIA-{}", model.to_uppercase()));
    }
    selector
}

/// For an `sm_80-plus` unit, nodes whose GPU's compute capability major is 8 or more.
fn node_affinity(unit: &Unit) -> Option<Value> {
    let arch = unit.gpu.arch;
    arch.is_and_later().then(|| {
        let term = json!({"matchExpressions": [{
            "key": "nvidia.com/gpu.compute.major",
            "operator": "Gt",
            "values": [(arch.major() - 1).to_string()],
        }]});
        json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}})
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::UnitKey;

    #[test]
    fn a_unit_of_one_gpu_model_also_selects_its_product() {
        let unit = |gpu_model: Option<&str>| Unit {
            gpu: UnitKey {
                arch: "sm_86".parse().unwrap(),
                gpu_model: gpu_model.map(str::to_string),
            },
            name: "trtctl-sm86-0123456789".into(),
            count: 1,
            selectors: vec![],
            engines: vec![],
        };
        let selector = node_selector(&unit(Some("a10g")));
        assert_eq!(selector["nvidia.com/gpu.product"], "NVIDIA-A10G");
        assert_eq!(selector["nvidia.com/gpu.compute.minor"], "6");
        assert!(
            node_selector(&unit(None))
                .get("nvidia.com/gpu.product")
                .is_none()
        );
    }
}
