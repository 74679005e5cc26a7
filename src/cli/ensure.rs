//! `trtctl ensure`.

use super::args::EnsureArgs;
use super::setup::runtime;
use crate::store::remote::RemoteSettings;
use crate::workspace::{EngineRequest, Environment, ensure_engine};

pub(super) fn run(env: &Environment, args: EnsureArgs) -> anyhow::Result<u8> {
    let request = EngineRequest {
        onnx: args.onnx,
        precision: args.precision,
        batch_size: args.batch_size,
        name: args.name,
        version: args.version,
        family: None,
        remote: args.remote.map(|url| RemoteSettings {
            url,
            ..RemoteSettings::default()
        }),
        env: env.clone(),
    };
    let (path, source) = runtime()?.block_on(ensure_engine(&request))?;
    if args.json {
        println!("{}", serde_json::json!({ "path": path, "source": source }));
    } else {
        println!("{}\t{source}", path.display());
    }
    Ok(0)
}
