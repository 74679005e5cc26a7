//! Everything people see: the plan as text, and (for apply) progress and the summary.
//! Logic never prints; it hands values to this module.

use std::fmt::Write;
use std::io::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::exec::{ActionKind, ApplyReport, Outcome};
use crate::gpu;
use crate::plan::{BuildLease, Decision, Plan};

/// How text output is decorated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

#[derive(Clone, Copy)]
enum Paint {
    Green,
    Yellow,
    Red,
    Cyan,
    Dim,
    Bold,
}

impl Style {
    fn paint(self, paint: Paint, text: &str) -> String {
        if !self.color {
            return text.to_string();
        }
        let code = match paint {
            Paint::Green => "32",
            Paint::Yellow => "33",
            Paint::Red => "31",
            Paint::Cyan => "36",
            Paint::Dim => "2",
            Paint::Bold => "1",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }
}

/// Color when asked, or when writing to a terminal and `NO_COLOR` is unset.
pub fn use_color(choice: ColorChoice, is_terminal: bool, no_color_env: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => is_terminal && !no_color_env,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

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
        Decision::Fetch { stale: s, legacy } => (
            "↓",
            "fetch",
            Paint::Cyan,
            format!(
                "{}{}",
                stale(s),
                if *legacy { " (legacy, unverified)" } else { "" }
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
    let state = if lease.expired {
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
fn utc(unix_secs: u64) -> String {
    chrono::DateTime::from_timestamp(unix_secs as i64, 0).map_or_else(
        || format!("unix time {unix_secs}"),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
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
        Some(r) => format!("{}{}", r.url, if r.writable { "" } else { " (read-only)" }),
        None => "none".to_string(),
    };
    let _ = writeln!(
        out,
        "TensorRT {} · local GPUs: {archs} · remote: {remote}",
        plan.trt_version
    );
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
            "  {} {:<18} {}{}",
            style.paint(paint, symbol),
            style.paint(paint, verb),
            step.engine.key.file,
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

/// What the executor tells the reporter, as it happens.
#[derive(Debug, Clone, Copy, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum Event<'a> {
    Begin {
        total: usize,
    },
    Started {
        action: ActionKind,
        file: &'a str,
        bytes_total: Option<u64>,
    },
    Bytes {
        file: &'a str,
        done: u64,
    },
    Finished {
        ordinal: usize,
        action: ActionKind,
        file: &'a str,
        outcome: &'a Outcome,
        #[serde(rename = "elapsed_ms", serialize_with = "millis")]
        elapsed: Duration,
    },
    /// Another builder holds the engine's lease: this process waits to fetch its engine.
    Waiting {
        file: &'a str,
        host: &'a str,
        pid: u32,
    },
    Summary(&'a ApplyReport),
}

fn waiting_text(file: &str, host: &str, pid: u32) -> String {
    format!("wait  {file} ... being built by {host} (pid {pid}); fetching it when it lands")
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

/// Receives executor events; implementations decide how (and whether) to show them.
pub trait Reporter: Send + Sync {
    fn event(&self, event: &Event);
}

/// `2m14s`, `3.2s`, `850ms`.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else if secs >= 1 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// `1.5 GiB`, `12.0 MiB`, `512 B`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Done { .. } => "ok".to_string(),
        Outcome::AlreadyDone(why) => format!("ok ({why})"),
        Outcome::Failed(_) => "FAILED".to_string(),
        Outcome::Skipped(why) => format!("skipped ({why})"),
    }
}

/// The closing summary, the same for every output mode but JSON.
pub fn render_summary(report: &ApplyReport, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        style.paint(
            Paint::Bold,
            &format!(
                "Apply: {} built, {} fetched from remote, {} from local_cache, {} uploaded{}; {} failed, {} skipped, {} cannot be built here.",
                report.built,
                report.fetched,
                report.local_cache,
                report.uploaded,
                if report.already_uploaded > 0 {
                    format!(" ({} already uploaded by another builder)", report.already_uploaded)
                } else {
                    String::new()
                },
                report.failures.len(),
                report.skipped,
                report.cannot_build.len()
            )
        )
    );
    let _ = writeln!(
        out,
        "Moved {} down, {} up in {}.",
        human_bytes(report.bytes_fetched),
        human_bytes(report.bytes_uploaded),
        human_duration(Duration::from_millis(report.wall_ms))
    );
    for failure in &report.failures {
        let _ = writeln!(
            out,
            "{} {} {}: {}",
            style.paint(Paint::Red, "failed:"),
            failure.action.as_str(),
            failure.file,
            failure.reason
        );
    }
    for file in &report.cannot_build {
        let _ = writeln!(
            out,
            "{} {file}: needs a builder of its arch",
            style.paint(Paint::Red, "missing:")
        );
    }
    if report.interrupted {
        let _ = writeln!(
            out,
            "Interrupted: nothing half-written was committed; run apply again to finish."
        );
    }
    out
}

/// make-style lines for logs and CI: `[3/12] build FILE ... ok (2m14s)`.
pub struct PlainReporter {
    style: Style,
    /// Only what went wrong: failed actions, and the summary when anything did.
    quiet: bool,
    total: AtomicUsize,
    out: Mutex<Box<dyn std::io::Write + Send>>,
}

impl PlainReporter {
    pub fn new(style: Style, quiet: bool, out: Box<dyn std::io::Write + Send>) -> Self {
        PlainReporter {
            style,
            quiet,
            total: AtomicUsize::new(0),
            out: Mutex::new(out),
        }
    }

    fn line(&self, text: &str) {
        let mut out = self.out.lock().expect("reporter output");
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
}

impl Reporter for PlainReporter {
    fn event(&self, event: &Event) {
        match event {
            Event::Begin { total } => self.total.store(*total, Ordering::SeqCst),
            Event::Finished {
                ordinal,
                action,
                file,
                outcome,
                elapsed,
            } => {
                if self.quiet && !matches!(outcome, Outcome::Failed(_)) {
                    return;
                }
                let mut text = format!(
                    "[{ordinal}/{}] {} {file} ... {} ({})\n",
                    self.total.load(Ordering::SeqCst),
                    action.as_str(),
                    outcome_text(outcome),
                    human_duration(*elapsed)
                );
                if let Outcome::Failed(reason) = outcome {
                    text.push_str(&indent(first_line(reason)));
                }
                self.line(&text);
            }
            Event::Summary(report) => {
                let clean = report.failures.is_empty()
                    && report.cannot_build.is_empty()
                    && !report.interrupted;
                if !(self.quiet && clean) {
                    self.line(&format!("\n{}", render_summary(report, self.style)));
                }
            }
            Event::Waiting { file, host, pid } if !self.quiet => {
                self.line(&format!("{}\n", waiting_text(file, host, *pid)));
            }
            Event::Started { .. } | Event::Bytes { .. } | Event::Waiting { .. } => {}
        }
    }
}

/// The reason alone; the log tail that follows it is shown once, in the summary.
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

/// One JSON object per line, for scripts.
pub struct JsonReporter {
    out: Mutex<Box<dyn std::io::Write + Send>>,
}

impl JsonReporter {
    pub fn new(out: Box<dyn std::io::Write + Send>) -> Self {
        JsonReporter {
            out: Mutex::new(out),
        }
    }
}

impl Reporter for JsonReporter {
    fn event(&self, event: &Event) {
        if matches!(event, Event::Bytes { .. }) {
            return;
        }
        let mut out = self.out.lock().expect("reporter output");
        let _ = serde_json::to_writer(&mut *out, event);
        let _ = out.write_all(b"\n");
        let _ = out.flush();
    }
}

/// Progress bars on a terminal: an overall bar and one line per running action.
pub struct TtyReporter {
    style: Style,
    bars: indicatif::MultiProgress,
    overall: indicatif::ProgressBar,
    running: Mutex<std::collections::HashMap<String, indicatif::ProgressBar>>,
}

impl TtyReporter {
    pub fn new(style: Style) -> Self {
        let bars = indicatif::MultiProgress::new();
        let overall = bars.add(indicatif::ProgressBar::new(0));
        overall.set_style(
            indicatif::ProgressStyle::with_template("[{pos}/{len}] {elapsed} {wide_bar}")
                .expect("progress template"),
        );
        TtyReporter {
            style,
            bars,
            overall,
            running: Mutex::new(std::collections::HashMap::new()),
        }
    }
}

impl Reporter for TtyReporter {
    fn event(&self, event: &Event) {
        match event {
            Event::Begin { total } => {
                self.overall.set_length(*total as u64);
                self.overall.enable_steady_tick(Duration::from_millis(200));
            }
            Event::Started {
                action,
                file,
                bytes_total,
            } => {
                let bar = match bytes_total {
                    Some(total) => {
                        let bar = indicatif::ProgressBar::new(*total);
                        bar.set_style(
                            indicatif::ProgressStyle::with_template(
                                "  {msg} {bytes}/{total_bytes} {binary_bytes_per_sec}",
                            )
                            .expect("progress template"),
                        );
                        bar
                    }
                    None => {
                        let bar = indicatif::ProgressBar::new_spinner();
                        bar.set_style(
                            indicatif::ProgressStyle::with_template("  {spinner} {msg} {elapsed}")
                                .expect("progress template"),
                        );
                        bar.enable_steady_tick(Duration::from_millis(120));
                        bar
                    }
                };
                let bar = self.bars.add(bar);
                bar.set_message(format!("{} {file}", action.as_str()));
                self.running
                    .lock()
                    .expect("bars")
                    .insert(format!("{}{file}", action.as_str()), bar);
            }
            Event::Bytes { file, done } => {
                for (name, bar) in self.running.lock().expect("bars").iter() {
                    if name.ends_with(file) {
                        bar.set_position(*done);
                    }
                }
            }
            Event::Finished {
                action,
                file,
                outcome,
                elapsed,
                ..
            } => {
                if let Some(bar) = self
                    .running
                    .lock()
                    .expect("bars")
                    .remove(&format!("{}{file}", action.as_str()))
                {
                    bar.finish_and_clear();
                    self.bars.remove(&bar);
                }
                self.overall.inc(1);
                let mut text = format!(
                    "{} {file} ... {} ({})",
                    action.as_str(),
                    outcome_text(outcome),
                    human_duration(*elapsed)
                );
                if let Outcome::Failed(reason) = outcome {
                    text.push('\n');
                    text.push_str(indent(first_line(reason)).trim_end());
                }
                let _ = self.bars.println(text);
            }
            Event::Waiting { file, host, pid } => {
                let _ = self.bars.println(waiting_text(file, host, *pid));
            }
            Event::Summary(report) => {
                self.overall.finish_and_clear();
                let _ = self.bars.clear();
                print!("\n{}", render_summary(report, self.style));
            }
        }
    }
}

/// Left-aligned columns, two spaces apart.
pub fn table(header: &[String], rows: &[impl AsRef<[String]>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row.as_ref()) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(header);
    for row in rows {
        out.push_str(&line(row.as_ref()));
    }
    out
}
