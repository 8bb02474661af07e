//! The command line: subcommands and their output.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::compile;
use crate::diag::{self, Code, ColorChoice, RenderOptions};
use crate::exit_code;
use crate::load::{self, Loaded};
use crate::plan;

#[derive(Parser, Debug)]
#[command(
    name = "dspec",
    version,
    about = "Acceptance specs for Docker images, containers and compose stacks"
)]
pub struct Cli {
    /// When to color output (also honours NO_COLOR).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    /// A value for `${NAME}` interpolation, overriding a `let` of that name.
    #[arg(long = "var", value_name = "NAME=VALUE", global = true, value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// The docker context whose engine to use (default: DOCKER_HOST, then DOCKER_CONTEXT, then
    /// the docker CLI's current context).
    #[arg(long, value_name = "NAME", global = true)]
    pub context: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check specs without running anything (no Docker engine needed).
    Validate(ValidateArgs),
    /// Print the execution plan of specs.
    Plan(PlanArgs),
    /// Run specs against the Docker engine.
    Check(CheckArgs),
    /// Remove what finished or killed runs left in the engine.
    Clean(CleanArgs),
    /// Rewrite spec files in the canonical layout (comments kept).
    Fmt {
        /// Do not write: exit 1 and show a diff when a file is not formatted.
        #[arg(long)]
        check: bool,
        /// Spec files or directories (default `specs/`).
        #[arg(default_value = "specs")]
        paths: Vec<PathBuf>,
    },
    /// Write a starting spec from what an image in the engine is.
    Init {
        /// The image reference (never pulled).
        #[arg(long = "from-image", value_name = "REF")]
        from_image: String,
        /// Write to this file instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Overwrite the output file.
        #[arg(long)]
        force: bool,
    },
    /// Explain a diagnostic code, with a wrong and a right example.
    Explain {
        /// A code like DS0201 (or 201).
        code: String,
    },
}

#[derive(Args, Debug)]
pub struct CleanArgs {
    /// Also remove the images dspec built (they are kept as build cache).
    #[arg(long)]
    pub images: bool,
    /// Only list what would be removed.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Spec files or directories (searched for *.dspec).
    #[arg(default_value = "specs")]
    pub paths: Vec<PathBuf>,
    /// Leave containers and networks in the engine and print their label.
    #[arg(long)]
    pub keep: bool,
    /// Show the engine and tool versions.
    #[arg(short, long)]
    pub verbose: bool,
    /// Run only what this expression selects: story(ID), criterion(ID),
    /// subject(NAME), file(GLOB), tag(NAME), with & | ! and parentheses.
    #[arg(long, value_name = "EXPR", value_parser = crate::select::parse_only)]
    pub only: Option<crate::select::Expr>,
    /// Run one shard of the spec files: hash:K/N (stable) or slice:K/N (even).
    #[arg(long, value_name = "KIND:K/N", value_parser = crate::select::parse_partition)]
    pub partition: Option<crate::select::Partition>,
    /// At most N spec files set up and run at the same time (default: one per CPU core).
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Stop at the first failed expectation.
    #[arg(long)]
    pub fail_fast: bool,
    /// Exit 0 when nothing is selected (an empty shard, an --only that matches nothing);
    /// without it that is an error (exit 2).
    #[arg(long)]
    pub allow_empty: bool,
    /// Also write a report: junit:PATH, json:PATH or markdown:PATH (repeatable).
    #[arg(long = "report", value_name = "KIND:PATH", value_parser = crate::check::parse_report)]
    pub reports: Vec<crate::check::ReportTarget>,
    /// Stop the whole run after this long (like `30m`).
    #[arg(long, value_name = "DURATION", value_parser = crate::parse::duration_arg)]
    pub timeout: Option<std::time::Duration>,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Spec files or directories (searched for *.dspec).
    #[arg(default_value = "specs")]
    pub paths: Vec<PathBuf>,
    /// Output format of diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    /// Spec files or directories.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not NAME=VALUE")),
    }
}

/// Writes to stdout; a closed pipe (`dspec plan | head`) is not an error.
pub(crate) fn out(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Runs the command line; returns the exit code.
pub fn run(cli: Cli) -> i32 {
    let render = RenderOptions::for_terminal(cli.color);
    let opts = compile::Options {
        vars: cli.vars.clone(),
    };
    let context = cli.context.as_deref();
    match cli.command {
        Command::Validate(a) => validate(&a, &opts, &render),
        Command::Plan(a) => plan_cmd(&a, &opts, &render),
        Command::Clean(a) => crate::clean::clean(context, a.images, a.dry_run),
        Command::Explain { code } => crate::explain::explain(&code),
        Command::Init {
            from_image,
            output,
            force,
        } => crate::init::init(context, &from_image, output.as_deref(), force),
        Command::Fmt { check, paths } => crate::format::run(&paths, check, &render),
        Command::Check(a) => crate::check::check(
            &crate::check::CheckOptions {
                paths: a.paths,
                context: cli.context.clone(),
                keep: a.keep,
                allow_empty: a.allow_empty,
                verbose: a.verbose,
                only: a.only,
                partition: a.partition,
                reports: a.reports,
                run: crate::engine::RunOptions {
                    jobs: a.jobs,
                    fail_fast: a.fail_fast,
                    deadline: a.timeout.map(|t| std::time::Instant::now() + t),
                    keep: a.keep,
                },
            },
            &opts,
            &render,
        ),
    }
}

/// Prints diagnostics and unreadable paths to stderr.
pub(crate) fn report(loaded: &Loaded, render: &RenderOptions) {
    let mut err = std::io::stderr().lock();
    for (p, why) in &loaded.unreadable {
        let _ = writeln!(
            err,
            "error[{}]: cannot read `{}`: {why}\n",
            Code::Unreadable,
            p.display()
        );
    }
    let mut diags = loaded.diagnostics.clone();
    diags.sort_by_key(|d| (d.primary.span.file, d.primary.span.start));
    let _ = write!(err, "{}", diag::render_all(&diags, &loaded.sources, render));
}

pub(crate) fn summary(loaded: &Loaded) -> String {
    let errors =
        loaded.diagnostics.iter().filter(|d| d.is_error()).count() + loaded.unreadable.len();
    let warnings = loaded.diagnostics.len() + loaded.unreadable.len() - errors;
    format!(
        "{} file{}: {} error{}, {} warning{}",
        loaded.files,
        if loaded.files == 1 { "" } else { "s" },
        errors,
        if errors == 1 { "" } else { "s" },
        warnings,
        if warnings == 1 { "" } else { "s" },
    )
}

fn validate(a: &ValidateArgs, opts: &compile::Options, render: &RenderOptions) -> i32 {
    let loaded = load::load(&a.paths, opts);
    match a.format {
        Format::Human => {
            report(&loaded, render);
            let verdict = if loaded.has_errors() {
                "invalid"
            } else {
                "valid"
            };
            eprintln!("{verdict}: {}", summary(&loaded));
        }
        Format::Json => out(&format!("{}\n", diag::json::render(&loaded))),
    }
    if loaded.has_errors() {
        exit_code::INVALID
    } else {
        exit_code::OK
    }
}

fn plan_cmd(a: &PlanArgs, opts: &compile::Options, render: &RenderOptions) -> i32 {
    let loaded = load::load(&a.paths, opts);
    if loaded.has_errors() {
        report(&loaded, render);
        eprintln!("invalid: {}", summary(&loaded));
        return exit_code::INVALID;
    }
    let p = plan::lower(&loaded.program);
    match a.format {
        Format::Human => {
            report(&loaded, render);
            out(&plan::render_human(&p, &loaded.program));
        }
        Format::Json => {
            let doc = serde_json::json!({
                "schema": "dspec-plan/1",
                "files": loaded.program.files,
                "steps": p.steps,
            });
            out(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).expect("plan serializes")
            ));
        }
    }
    exit_code::OK
}
