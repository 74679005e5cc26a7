//! `trtctl ensure`.

use super::args::EnsureArgs;
use super::exit::EXIT_INTERRUPTED;
use super::setup::runtime;
use crate::exec::{StopSignal, with_signals};
use crate::identity::BuildFlags;
use crate::store::remote::RemoteSettings;
use crate::workspace::{
    EngineRequest, EnsureError, Environment, MachineProbe, RemoteChoice, ensure_engine,
    timeout_from_secs,
};

fn request(env: &Environment, args: EnsureArgs) -> anyhow::Result<EngineRequest> {
    let remote = match (args.remote, args.no_remote) {
        (_, true) => RemoteChoice::Off,
        (Some(url), false) => RemoteChoice::At(RemoteSettings {
            url,
            ..RemoteSettings::default()
        }),
        (None, false) => RemoteChoice::FromEnvironment,
    };
    let timeout = args.timeout.map(timeout_from_secs).transpose()?;
    Ok(EngineRequest {
        name: args.name,
        version: args.version,
        gpu: args.gpu,
        remote,
        force_rebuild: args.force_rebuild,
        upload: !args.no_upload,
        timeout,
        flags: BuildFlags {
            hardware_compatibility: args.hardware_compatibility,
            version_compatible: args.version_compatible,
            ..BuildFlags::default()
        },
        ..EngineRequest::new(args.onnx, args.precision, args.batch_size, env.clone())
    })
}

pub(super) fn run(env: &Environment, args: EnsureArgs) -> anyhow::Result<u8> {
    let json = args.json;
    let request = request(env, args)?;
    let stop = StopSignal::default();
    let probe = MachineProbe::default();
    let ensured = runtime()?.block_on(with_signals(&stop, ensure_engine(&request, &probe, &stop)));
    let engine = match ensured {
        Err(EnsureError::Interrupted) => {
            eprintln!("{}", EnsureError::Interrupted);
            return Ok(EXIT_INTERRUPTED);
        }
        other => other?,
    };
    if json {
        println!(
            "{}",
            serde_json::json!({ "path": engine.path, "source": engine.source })
        );
    } else {
        println!("{}\t{}", engine.path.display(), engine.source);
    }
    Ok(0)
}
