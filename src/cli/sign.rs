//! `trtctl sign`.

use super::args::{GlobalArgs, SignArgs};
use super::exit::EXIT_ERROR;
use super::setup::runtime;
use crate::workspace::{Environment, SignOutcome, Workspace};

fn describe(outcome: &SignOutcome) -> String {
    match outcome {
        SignOutcome::Signed => "signed".into(),
        SignOutcome::AlreadySigned => "already signed by this key".into(),
        SignOutcome::NotInRemote => "not in the remote".into(),
        SignOutcome::OtherBuild => {
            "the remote holds other build inputs under this name: not signed".into()
        }
        SignOutcome::Corrupt { sha256, size } => format!(
            "refused: the remote bytes (sha256 {sha256}, {size} bytes) do not match their sidecar"
        ),
        SignOutcome::Tampered(why) => format!("refused: {why}"),
    }
}

pub(super) fn run(global: &GlobalArgs, env: &Environment, args: SignArgs) -> anyhow::Result<u8> {
    let workspace = Workspace::open(&global.manifest, env)?;
    let outcomes = runtime()?.block_on(workspace.sign(&args.target))?;
    let signed = outcomes
        .iter()
        .filter(|(_, o)| *o == SignOutcome::Signed)
        .count();
    let refused = outcomes.iter().filter(|(_, o)| o.is_refusal()).count();
    for (key, outcome) in &outcomes {
        if !global.quiet || outcome.is_refusal() {
            println!("{key}: {}", describe(outcome));
        }
    }
    if !global.quiet {
        println!(
            "{signed} signed, {refused} refused, {} engines looked at.",
            outcomes.len()
        );
    }
    Ok(if refused == 0 { 0 } else { EXIT_ERROR })
}
