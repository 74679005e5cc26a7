//! The plan as text, like terraform's: one line per engine, grouped by model.

use std::fmt::Write;

use super::format::{human_age, human_bytes};
use super::style::{Paint, Style};
use crate::gpu;
use crate::plan::{BuildLease, Decision, Plan, RefitSource, SharedTimingCache};

/// The symbol, verb, color and explanation of one decision.
fn describe(decision: &Decision) -> (&'static str, &'static str, Paint, String) {
    let stale = |s: &Option<crate::plan::Staleness>| {
        s.as_ref()
            .map(|why| format!(" ({why})"))
            .unwrap_or_default()
    };
    match decision {
        Decision::UpToDate { note } => (
            "=",
            "up to date",
            Paint::Dim,
            note.as_ref().map(|n| format!(" ({n})")).unwrap_or_default(),
        ),
        Decision::Fetch {
            stale: s,
            legacy,
            note,
        } => (
            "↓",
            "fetch",
            Paint::Cyan,
            format!(
                "{}{}{}",
                stale(s),
                if *legacy { " (legacy, unverified)" } else { "" },
                note.as_ref().map(|n| format!(" ({n})")).unwrap_or_default(),
            ),
        ),
        Decision::Build {
            stale: s,
            upload,
            note,
            lease,
        } => {
            let then = if *upload { ", then upload" } else { "" };
            let note = note
                .iter()
                .cloned()
                .chain(lease.as_ref().map(|l| describe_lease(l, *upload)))
                .map(|n| format!("; {n}"))
                .collect::<String>();
            match s {
                Some(_) => (
                    "~",
                    "rebuild",
                    Paint::Yellow,
                    format!("{}{then}{note}", stale(s)),
                ),
                None => ("+", "build", Paint::Green, format!("{then}{note}")),
            }
        }
        Decision::Upload => ("↑", "upload", Paint::Cyan, String::new()),
        Decision::Refit { from, .. } => (
            "~",
            "refit",
            Paint::Yellow,
            match from {
                RefitSource::Cache => " (weights changed)".to_string(),
                RefitSource::Remote => {
                    " (weights changed; the remote's stripped plan, fetched)".to_string()
                }
            },
        ),
        Decision::Untrusted { why, stale: s } => (
            "!",
            "untrusted",
            Paint::Red,
            format!("{}: {why}; not fetched", stale(s)),
        ),
        Decision::CannotBuild { arch, stale: s } => (
            "!",
            "cannot build here",
            Paint::Red,
            format!(
                "{} (needs a GPU of {}; not in the remote)",
                stale(s),
                gpu::describe_arch(*arch)
            ),
        ),
    }
}

fn describe_lease(lease: &BuildLease, waits: bool) -> String {
    let holder = format!("{} (pid {})", lease.host, lease.pid);
    let state = if lease.holder_gone {
        format!(
            "its builder (pid {} on this host) is gone, leaving its lease",
            lease.pid
        )
    } else if lease.expired {
        format!("the lease of {holder} expired at {}", utc(lease.expires_at))
    } else {
        format!("being built by {holder} since {}", utc(lease.started_at))
    };
    match (waits, lease.expired) {
        (false, _) => state,
        (true, true) => format!("{state}: apply takes it over"),
        (true, false) => format!("{state}: apply waits for it, then fetches"),
    }
}

/// `2026-11-24 12:03:04 UTC`.
pub(super) fn utc(unix_secs: u64) -> String {
    chrono::DateTime::from_timestamp(unix_secs as i64, 0).map_or_else(
        || format!("unix time {unix_secs}"),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

/// ` [ampere+: sm_80, sm_86]`: the archs one hardware-compatible engine serves.
fn serves(archs: &[crate::identity::GpuArch]) -> String {
    if archs.is_empty() {
        return String::new();
    }
    let archs: Vec<String> = archs.iter().map(ToString::to_string).collect();
    format!(" [ampere+: {}]", archs.join(", "))
}

/// `Shared timing caches: sm_86_10.3.0.cache 2.0 MiB, written 3h ago · …`.
fn timing_caches_line(caches: &[SharedTimingCache]) -> Option<String> {
    if caches.is_empty() {
        return None;
    }
    let each: Vec<String> = caches
        .iter()
        .map(|cache| match &cache.remote {
            Some(remote) => format!(
                "{} {}, written {} ago",
                cache.name,
                human_bytes(remote.size),
                human_age(remote.age_secs),
            ),
            None => format!("{} none yet (the first build publishes one)", cache.name),
        })
        .collect();
    Some(format!("Shared timing caches: {}", each.join(" · ")))
}

/// The plan as terraform shows one: grouped by model, one line per engine, a summary last.
pub fn render_plan(plan: &Plan, style: Style) -> String {
    let mut out = String::new();
    let archs = if plan.gpu_archs.is_empty() {
        "none".to_string()
    } else {
        plan.gpu_archs
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let remote = match &plan.remote {
        Some(r) => format!(
            "{}{}{}",
            r.url,
            if r.writable { "" } else { " (read-only)" },
            r.access
                .as_ref()
                .map_or(String::new(), |a| format!(" ({a})"))
        ),
        None => "none".to_string(),
    };
    let as_if = if plan.host_gpus.is_empty() {
        String::new()
    } else {
        format!(
            " (as if, by --gpu-arch; only this host's {} build)",
            plan.host_gpus.join(", ")
        )
    };
    let _ = writeln!(
        out,
        "TensorRT {} · local GPUs: {archs}{as_if} · remote: {remote}",
        plan.trt_version
    );
    if let Some(line) = timing_caches_line(&plan.timing_caches) {
        let _ = writeln!(out, "{line}");
    }
    let mut current_model: Option<&str> = None;
    for step in &plan.steps {
        let id = &step.engine.id;
        if current_model != Some(id.model_name.as_str()) {
            current_model = Some(&id.model_name);
            let _ = writeln!(
                out,
                "\n{} {}",
                style.paint(Paint::Bold, &id.model_name),
                style.paint(
                    Paint::Dim,
                    &format!(
                        "({}/, version {})",
                        step.engine.key.family, id.model_version
                    )
                )
            );
        }
        let (symbol, verb, paint, detail) = describe(&step.decision);
        let _ = writeln!(
            out,
            "  {} {:<18} {}{}{}",
            style.paint(paint, symbol),
            style.paint(paint, verb),
            step.engine.key.file,
            serves(&step.engine.serves),
            detail
        );
    }
    if plan.steps.is_empty() {
        let _ = writeln!(out, "\nNo engines selected.");
    }
    let _ = writeln!(
        out,
        "\n{}",
        style.paint(Paint::Bold, &plan.summary().to_string())
    );
    out
}
