//! `dspec plan` for humans.

use std::fmt::Write;
use std::path::Path;

use super::{Plan, StepKind};
use crate::compile::{Program, SubjectSpec};

/// `p` relative to the current directory (with `..` where needed).
fn rel(p: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    let a: Vec<_> = cwd.components().collect();
    let b: Vec<_> = p.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return p.display().to_string();
    }
    let mut out = std::path::PathBuf::new();
    for _ in common..a.len() {
        out.push("..");
    }
    for c in &b[common..] {
        out.push(c.as_os_str());
    }
    if out.as_os_str().is_empty() {
        ".".to_string()
    } else {
        out.display().to_string()
    }
}

/// The plan as text: what is built and started, which checks are static,
/// and which steps run at the same time (one wave).
pub fn render_human(plan: &Plan, program: &Program) -> String {
    let mut out = String::new();
    let count = |f: &dyn Fn(&StepKind) -> bool| plan.steps.iter().filter(|s| f(&s.kind)).count();
    let builds = count(&|k| matches!(k, StepKind::Build { .. }));
    let inspects = count(&|k| matches!(k, StepKind::Inspect { .. }));
    let runs = count(&|k| matches!(k, StepKind::Run { .. }));
    let stacks = count(&|k| matches!(k, StepKind::Compose { .. }));
    let hosts = count(&|k| matches!(k, StepKind::Host { .. }));
    let requests = count(&|k| matches!(k, StepKind::Request { .. }));
    let tasks = count(&|k| matches!(k, StepKind::Task { .. }));
    let checks: Vec<_> = plan.steps.iter().filter(|s| s.check.is_some()).collect();
    let statics = checks.iter().filter(|s| s.is_static).count();
    let _ = writeln!(
        out,
        "plan: {} file{}, {} steps in {} waves",
        program.files.len(),
        if program.files.len() == 1 { "" } else { "s" },
        plan.steps.len(),
        plan.waves()
    );
    let _ = writeln!(
        out,
        "  {builds} build{}, {inspects} existing image{}, {runs} container{}, {stacks} stack{}, {hosts} host command{}{}",
        s(builds),
        s(inspects),
        s(runs),
        s(stacks),
        s(hosts),
        if tasks > 0 {
            format!(", {tasks} task{}", s(tasks))
        } else {
            String::new()
        }
    );
    if requests > 0 {
        let _ = writeln!(out, "  {requests} HTTP request{}", s(requests));
    }
    let _ = writeln!(
        out,
        "  {} checks: {statics} static (no container needed), {} at run time",
        checks.len(),
        checks.len() - statics
    );
    for f in &program.files {
        let unused: Vec<&str> = f
            .subjects
            .iter()
            .filter(|s| !s.used)
            .map(|s| s.name.as_str())
            .collect();
        if !unused.is_empty() {
            let _ = writeln!(
                out,
                "  not set up (unused) in {}: {}",
                f.path,
                unused.join(", ")
            );
        }
    }
    for wave in 0..plan.waves() {
        let steps: Vec<_> = plan.steps.iter().filter(|s| s.wave == wave).collect();
        let _ = writeln!(
            out,
            "\nwave {} ({} step{}{})",
            wave + 1,
            steps.len(),
            s(steps.len()),
            if steps.len() > 1 {
                ", concurrently"
            } else {
                ""
            }
        );
        for st in steps {
            let subjects: Vec<String> = st
                .subjects
                .iter()
                .map(|r| {
                    if program.files.len() > 1 {
                        format!("{} ({})", r.name, program.files[r.file].path)
                    } else {
                        r.name.clone()
                    }
                })
                .collect();
            let what = match &st.kind {
                StepKind::Build {
                    context,
                    dockerfile,
                    target,
                    args,
                    platform,
                    ..
                } => {
                    let mut t = format!(
                        "build {}: context {}, dockerfile {}",
                        subjects.join(", "),
                        rel(context),
                        rel(dockerfile)
                    );
                    if let Some(tg) = target {
                        let _ = write!(t, ", target {tg}");
                    }
                    for (k, v) in args {
                        let _ = write!(t, ", arg {k}={v}");
                    }
                    if let Some(p) = platform {
                        let _ = write!(t, ", platform {p}");
                    }
                    t
                }
                StepKind::Inspect { reference, .. } => format!(
                    "find existing image {} = {reference} (never pulled)",
                    subjects.join(", ")
                ),
                StepKind::Run { .. } => {
                    let r = &st.subjects[0];
                    match program.files[r.file].subject(&r.name).map(|s| &s.spec) {
                        Some(SubjectSpec::Run(spec)) => {
                            let mut t =
                                format!("start container {} from image {}", r.name, spec.image);
                            for p in &spec.publish {
                                let _ = write!(
                                    t,
                                    ", publish 127.0.0.1:{}:{}/{}",
                                    p.host.map(|h| h.to_string()).unwrap_or_default(),
                                    p.container,
                                    p.proto
                                );
                            }
                            t
                        }
                        _ => format!("start container {}", r.name),
                    }
                }
                StepKind::Ready { .. } => format!(
                    "wait until container {} is ready (healthy, or running without a HEALTHCHECK)",
                    subjects.join(", ")
                ),
                StepKind::Compose { files, .. } => {
                    let f: Vec<String> = files.iter().map(|p| rel(p)).collect();
                    format!("bring up stack {}: {}", subjects.join(", "), f.join(" + "))
                }
                StepKind::Host { command } => {
                    format!("run host command {}: {command}", subjects.join(", "))
                }
                StepKind::Request {
                    method,
                    target,
                    captures,
                } => {
                    let mut t = format!("make request {}: {method} {target}", subjects.join(", "));
                    if !captures.is_empty() {
                        let _ = write!(t, " (captures from {})", captures.join(", "));
                    }
                    t
                }
                StepKind::Task { .. } => {
                    let r = &st.subjects[0];
                    match program.files[r.file].subject(&r.name).map(|s| &s.spec) {
                        Some(SubjectSpec::Task(t)) => format!(
                            "run task {} from image {} to completion",
                            r.name, t.run.image
                        ),
                        _ => format!("run task {}", r.name),
                    }
                }
                StepKind::Observe | StepKind::Action => {
                    let c = st.check.expect("a check step");
                    let f = &program.files[c.file];
                    let chk = &f.checks[c.index];
                    let crit = chk
                        .criterion
                        .map(|i| format!("{} ", f.criteria[i].id))
                        .unwrap_or_default();
                    let mut t = format!("{crit}{}", chk.text);
                    if st.is_static {
                        t.push_str("  [static]");
                    }
                    let _ = write!(t, "  ({}:{})", f.path, chk.line);
                    t
                }
                StepKind::Cleanup => {
                    "clean up: remove containers, networks and volumes of this run".to_string()
                }
            };
            let deps = if st.deps.is_empty() || matches!(st.kind, StepKind::Cleanup) {
                String::new()
            } else {
                format!(
                    "  after {}",
                    st.deps
                        .iter()
                        .map(|d| format!("#{d}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            };
            let quiet = if st.quiet {
                "  [quiet: nothing else runs meanwhile]"
            } else {
                ""
            };
            let _ = writeln!(out, "  #{} {what}{quiet}{deps}", st.id);
        }
    }
    out
}

fn s(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
