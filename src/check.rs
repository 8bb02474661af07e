//! `dspec check`: the front end, then the plan run against the engine, then
//! the report. Ctrl-C and SIGTERM clean up and exit 130.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::compile::Options;
use crate::diag::{Code, RenderOptions};
use crate::engine::{self, Ctx, docker};
use crate::exit_code;
use crate::load;
use crate::plan;
use crate::report::{self, Event};

pub struct CheckOptions {
    pub paths: Vec<std::path::PathBuf>,
    pub keep: bool,
    pub verbose: bool,
    pub only: Option<crate::select::Expr>,
    pub partition: Option<crate::select::Partition>,
    pub run: engine::RunOptions,
}

/// Runs `dspec check`; returns the exit code.
pub fn check(args: &CheckOptions, opts: &Options, render: &RenderOptions) -> i32 {
    let loaded = load::load_partition(&args.paths, opts, args.partition);
    if loaded.has_errors() {
        crate::cli::report(&loaded, render);
        eprintln!("invalid: {}", crate::cli::summary(&loaded));
        return exit_code::INVALID;
    }
    crate::cli::report(&loaded, render);
    let program = match &args.only {
        Some(expr) => crate::select::apply(&loaded.program, expr),
        None => loaded.program.clone(),
    };
    if program.files.is_empty() {
        eprintln!(
            "nothing to run: no spec file{}",
            if args.only.is_some() {
                " has an expectation that --only selects"
            } else {
                " in this partition"
            }
        );
        println!("0 passed, 0 failed");
        return exit_code::OK;
    }
    let program = Arc::new(program);
    let plan = Arc::new(plan::lower(&program));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit_code::INFRA;
        }
    };
    runtime.block_on(async {
        let engine = match docker::connect().await {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error[{}]: cannot reach the Docker engine: {e}", Code::EngineUnreachable);
                eprintln!("  help: start the daemon, or point DOCKER_HOST at it (unix:///path or tcp://host:port)");
                return exit_code::INFRA;
            }
        };
        if args.verbose {
            let v = engine.versions();
            eprintln!(
                "engine: Docker {} (API {}) at {}",
                v.server_version, v.api_version, v.host
            );
        }
        let ctx = Arc::new(Ctx::new(Arc::new(engine)));
        if args.verbose {
            eprintln!("compose: {}", ctx.compose_version().await);
        }
        let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
        let progress = tokio::spawn(async move {
            let tty = std::io::stderr().is_terminal();
            while let Some(e) = rx.recv().await {
                if let Event::Progress { subject, text } = e {
                    if tty {
                        eprint!("\r\x1b[2K{subject}: {text}");
                    } else {
                        eprintln!("{subject}: {text}");
                    }
                }
            }
            if tty {
                eprint!("\r\x1b[2K");
            }
        });
        let run = engine::run(program.clone(), plan.clone(), ctx.clone(), tx, args.run.clone());
        let (output, interrupted) = tokio::select! {
            out = run => (out, false),
            _ = interrupt() => (engine::RunOutput::default(), true),
        };
        let _ = progress.await;
        ctx.remove_stage_images().await;
        let cleanup = if args.keep {
            ctx.engine
                .list_by_label(&ctx.label_filter())
                .await
                .map(|r| {
                    let mut names = r.containers;
                    names.extend(r.networks);
                    names.extend(r.volumes);
                    names
                })
                .map_err(|e| e.to_string())
        } else {
            tokio::time::timeout(Duration::from_secs(90), async {
                let mut removed = ctx.cleanup().await?;
                // A run cut short may have had creations in flight that the
                // engine completes after the first sweep: sweep until clean.
                if interrupted || output.stopped.is_some() {
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
            .unwrap_or_else(|_| Err("cleanup timed out".into()))
        };
        if interrupted {
            if args.keep {
                eprintln!("interrupted: kept the run's resources (label {})", ctx.label_filter());
            } else {
                eprintln!("interrupted: removed the run's containers and networks");
            }
            return exit_code::INTERRUPTED;
        }
        let (text, summary) = report::human::render_report(&program, &loaded.sources, &output.results, &output.setup, render);
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        match cleanup {
            Ok(kept) if args.keep => {
                let _ = writeln!(out, "kept (label {}): {}", ctx.label_filter(), kept.join(", "));
            }
            Ok(_) => {}
            Err(e) => eprintln!("warning: cleanup failed: {e}; see `docker ps -a --filter label={}`", ctx.label_filter()),
        }
        summary.exit_code()
    })
}

/// Resolves on Ctrl-C or SIGTERM.
async fn interrupt() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}
