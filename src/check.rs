//! `dspec check`: the front end, then the plan run against the engine, then
//! the report. Ctrl-C, SIGTERM, SIGHUP and SIGQUIT clean up and exit 130.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::compile::Options;
use crate::diag::RenderOptions;
use crate::engine::{self, Ctx};
use crate::exit_code;
use crate::load;
use crate::output::{Stream, errln, noteln};
use crate::plan;
use crate::report::{self, Event};

/// A report file to write: `--report KIND:PATH`.
#[derive(Clone, Debug)]
pub struct ReportTarget {
    pub kind: ReportKind,
    pub path: std::path::PathBuf,
}

impl ReportTarget {
    /// `KIND:-`: the report goes to standard output.
    pub fn to_stdout(&self) -> bool {
        self.path.as_os_str() == "-"
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportKind {
    Junit,
    Json,
    Markdown,
}

pub fn parse_report(text: &str) -> Result<ReportTarget, String> {
    let (kind, path) = text.split_once(':').ok_or_else(|| {
        format!(
            "`{text}` is not KIND:PATH (junit:report.xml, json:report.json, markdown:report.md)"
        )
    })?;
    let kind = match kind {
        "junit" => ReportKind::Junit,
        "json" => ReportKind::Json,
        "markdown" | "md" => ReportKind::Markdown,
        other => {
            return Err(format!(
                "unknown report kind `{other}`: use junit, json or markdown"
            ));
        }
    };
    if path.is_empty() {
        return Err("the report needs a path".into());
    }
    Ok(ReportTarget {
        kind,
        path: path.into(),
    })
}

/// RFC 3339 (UTC, seconds) of a moment.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    crate::engine::docker::format_rfc3339(t)
}

pub struct CheckOptions {
    pub paths: Vec<std::path::PathBuf>,
    /// `--context`: the docker context whose engine runs the specs.
    pub context: Option<String>,
    pub keep: bool,
    /// A run that selects no expectation passes instead of failing.
    pub allow_empty: bool,
    pub verbose: bool,
    pub only: Option<crate::select::Expr>,
    pub partition: Option<crate::select::Partition>,
    pub reports: Vec<ReportTarget>,
    /// Where the console report goes: standard output, or standard error
    /// when a `--report KIND:-` takes standard output.
    pub report_stream: Stream,
    /// Colour of the console report, decided for its stream.
    pub report_render: RenderOptions,
    pub run: engine::RunOptions,
}

/// Runs `dspec check`; returns the exit code.
pub fn check(args: &CheckOptions, opts: &Options, render: &RenderOptions) -> i32 {
    let loaded = load::load_partition(&args.paths, opts, args.partition);
    if loaded.has_errors() {
        crate::cli::report(&loaded, render);
        errln!("invalid: {}", crate::cli::summary(&loaded));
        return exit_code::INVALID;
    }
    crate::cli::report(&loaded, render);
    let program = match &args.only {
        Some(expr) => crate::select::apply(&loaded.program, expr),
        None => loaded.program.clone(),
    };
    if program.files.iter().all(|f| f.checks.is_empty()) {
        let why = if args.only.is_some() {
            "no expectation is selected by --only (a misspelt tag, story or criterion?)"
        } else if args.partition.is_some() && loaded.program.files.is_empty() {
            "no spec file is in this partition"
        } else {
            "the spec files hold no expectation"
        };
        if args.allow_empty {
            noteln!("nothing to run: {why}");
            write_to(args.report_stream, "0 passed, 0 failed\n");
            return exit_code::OK;
        }
        errln!(
            "error: nothing to run: {why}\n  help: a run that checks nothing would pass without testing anything; pass --allow-empty if that is intended"
        );
        return exit_code::INVALID;
    }
    let program = Arc::new(program);
    let plan = Arc::new(plan::lower(&program));
    engine::with_engine(args.context.as_deref(), |engine| async move {
        if args.verbose {
            let v = engine.versions();
            errln!(
                "engine: Docker {} (API {}) at {}; ports published on {}, probed at {}",
                v.server_version,
                v.api_version,
                v.engine_text(),
                v.publish_ip,
                v.probe_host
            );
        }
        let versions = engine.versions().clone();
        let started = std::time::SystemTime::now();
        let ctx = Arc::new(Ctx::new(engine));
        if args.verbose {
            errln!("compose: {}", ctx.compose_version().await);
        }
        let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
        let live = crate::output::live(Stream::Stderr);
        let quiet = crate::output::quiet();
        let width = terminal_size::terminal_size_of(std::io::stderr())
            .map_or(80, |(w, _)| usize::from(w.0));
        let mut view =
            report::progress::ProgressView::new(program.clone(), live, args.verbose, width);
        let progress = tokio::spawn(async move {
            let write = |text: String| {
                if !text.is_empty() && !quiet {
                    crate::output::err(&text);
                }
            };
            let mut clock = tokio::time::interval(Duration::from_millis(250));
            loop {
                tokio::select! {
                    e = rx.recv() => match e {
                        Some(e) => write(view.event(&e.visible(), std::time::Instant::now())),
                        None => break,
                    },
                    _ = clock.tick(), if live => write(view.tick(std::time::Instant::now())),
                }
            }
            write(view.finish());
        });
        // `--timeout` bounds the whole run, cleanup included: part of it is kept for the
        // cleanup: a quarter, at least 2 s (removing containers takes that on a loaded
        // machine) but at most half, and never more than 15 s.
        let cleanup_deadline = args.run.deadline;
        let mut run_options = args.run.clone();
        if let Some(d) = cleanup_deadline {
            let total = d.saturating_duration_since(std::time::Instant::now());
            let reserve = (total / 4)
                .max(Duration::from_secs(2))
                .min(total / 2)
                .min(Duration::from_secs(15));
            run_options.deadline = Some(d - reserve);
        }
        let run = engine::run(program.clone(), plan.clone(), ctx.clone(), tx, run_options);
        let (output, interrupted) = tokio::select! {
            out = run => (out, None),
            s = engine::signals::interrupted() => (engine::RunOutput::default(), Some(s)),
        };
        let _ = progress.await;
        let cleanup_limit = if output.engine_lost {
            engine::scheduler::ENGINE_PING
        } else {
            cleanup_deadline
                .map(|d| d.saturating_duration_since(std::time::Instant::now()))
                .unwrap_or(Duration::from_secs(90))
                .max(Duration::from_secs(1))
        };
        let cleanup = if args.keep {
            tokio::time::timeout(cleanup_limit, ctx.kept()).await
        } else {
            tokio::time::timeout(cleanup_limit, async {
                let mut removed = ctx.cleanup().await?;
                // A run cut short may have had creations in flight that the
                // engine completes after the first sweep: sweep until clean.
                if interrupted.is_some() || output.stopped.is_some() {
                    for _ in 0..3 {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        let more = ctx.cleanup().await?;
                        if more.is_empty() {
                            break;
                        }
                        removed.extend(more);
                    }
                }
                Ok(removed)
            })
            .await
        };
        let cleanup_timed_out = cleanup.is_err();
        let cleanup = cleanup.unwrap_or_else(|_| {
            Err(format!(
                "the engine did not answer the cleanup within {}",
                crate::actual::format_duration(cleanup_limit)
            ))
        });
        // Cleanup failed: say what is left and how to remove it later, and whether the engine
        // is gone. A cleanup cut short by --timeout is not a lost engine when it still
        // answers (a quick ping: the run's time is up).
        let mut lost = output.engine_lost;
        if let Err(e) = &cleanup
            && !args.keep
        {
            let ping = if cleanup_timed_out {
                Duration::from_secs(1)
            } else {
                engine::scheduler::ENGINE_PING
            };
            lost |= ctx.engine.ping(ping).await.is_err();
            let left = ctx.left();
            errln!("warning: {e}");
            if !left.is_empty() {
                errln!(
                    "left in the engine{}: {}\n  help: run `dspec clean` once the engine answers again (or `docker ps -a --filter label={}`)",
                    if lost { " (it stopped answering)" } else { "" },
                    left.join(", "),
                    ctx.label_filter()
                );
            }
        }
        if let Some(signal) = interrupted {
            if args.keep {
                errln!(
                    "interrupted ({signal}): kept the run's resources (label {})",
                    ctx.label_filter()
                );
            } else if cleanup.is_ok() {
                errln!("interrupted ({signal}): removed the run's containers and networks");
            } else {
                errln!("interrupted ({signal})");
            }
            return exit_code::INTERRUPTED;
        }
        if lost {
            errln!(
                "error[{}]: the Docker engine stopped answering during the run",
                crate::diag::Code::EngineUnreachable
            );
        }
        let (text, summary) = report::human::render_report(
            &program,
            &loaded.sources,
            &output.results,
            &output.setup,
            &args.report_render,
        );
        let meta = report::RunMeta {
            run_id: ctx.run_id.clone(),
            dspec_version: env!("CARGO_PKG_VERSION").to_string(),
            engine_version: versions.server_version.clone(),
            api_version: versions.api_version.clone(),
            engine_host: versions.host.clone(),
            started_at: rfc3339(started),
            duration_ms: started.elapsed().map(|d| d.as_millis() as u64).unwrap_or(0),
            hostname: crate::liveness::hostname(),
        };
        let mut infra_error = false;
        for r in &args.reports {
            let body = match r.kind {
                ReportKind::Junit => report::junit::render(
                    &program,
                    &loaded.sources,
                    &output.results,
                    &output.setup,
                    &meta,
                ),
                ReportKind::Json => report::json::render(
                    &program,
                    &loaded.sources,
                    &output.results,
                    &output.setup,
                    &meta,
                ),
                ReportKind::Markdown => report::markdown::render(
                    &program,
                    &loaded.sources,
                    &output.results,
                    &output.setup,
                    &meta,
                ),
            };
            if r.to_stdout() {
                crate::output::out(&body);
                continue;
            }
            if let Some(dir) = r.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                let _ = std::fs::create_dir_all(dir);
            }
            if let Err(e) = std::fs::write(&r.path, body) {
                errln!("error: cannot write the report `{}`: {e}", r.path.display());
                infra_error = true;
            }
        }
        if std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true") {
            // Workflow commands are read from both streams: they stay out
            // of a report written to standard output.
            write_to(
                args.report_stream,
                &report::github::annotations(
                    &program,
                    &loaded.sources,
                    &output.results,
                    &output.setup,
                ),
            );
            if let Ok(summary_path) = std::env::var("GITHUB_STEP_SUMMARY") {
                let md = report::markdown::render(
                    &program,
                    &loaded.sources,
                    &output.results,
                    &output.setup,
                    &meta,
                );
                let appended = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&summary_path)
                    .and_then(|mut f| f.write_all(md.as_bytes()));
                if let Err(e) = appended {
                    errln!("warning: cannot append to GITHUB_STEP_SUMMARY ({summary_path}): {e}");
                }
            }
        }
        write_to(args.report_stream, &text);
        match cleanup {
            Ok(kept) if args.keep => {
                write_to(
                    args.report_stream,
                    &format!("kept (label {}): {}\n", ctx.label_filter(), kept.join(", ")),
                );
            }
            Ok(_) => {}
            Err(e) if args.keep => errln!("warning: {e}"),
            Err(_) => {}
        }
        if lost || (infra_error && summary.exit_code() == exit_code::OK) {
            return exit_code::INFRA;
        }
        summary.exit_code()
    })
}

fn write_to(stream: Stream, text: &str) {
    match stream {
        Stream::Stdout => crate::output::out(text),
        Stream::Stderr => crate::output::err(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_times() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_000_000);
        assert_eq!(rfc3339(t), "2026-11-18T11:06:40Z");
        assert_eq!(rfc3339(std::time::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert!(parse_report("junit:out/j.xml").is_ok());
        assert!(parse_report("xml:j.xml").is_err());
    }
}
