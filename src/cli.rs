//! The command line: subcommands, their options and help, and the defaults
//! `dspec.toml` and `DSPEC_*` give them.

use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::diag::{self, Code, ColorChoice, RenderOptions};
use crate::exit_code;
use crate::load::{self, Loaded};
use crate::output::{Stream, errln, noteln};
use crate::{compile, plan};

const AFTER_HELP: &str = "\
Examples, exit codes and environment variables: `dspec --help`. The book has the rest.";

const AFTER_LONG_HELP: &str = "\
Examples:
  dspec validate                   check every spec under specs/ (no Docker needed)
  dspec check                      run them against the Docker engine
  dspec check --only 'tag(smoke)' --report junit:reports/junit.xml
  dspec fmt --check                fail when a spec is not formatted
  dspec explain DS0201             what a diagnostic code means
  dspec completions bash > ~/.local/share/bash-completion/completions/dspec

Exit codes:
  0    every expectation held; the specs are valid
  1    an expectation failed or was not run; `fmt --check`: a file is not
       formatted; `validate --strict`: a warning
  2    a spec is invalid or the command line (or dspec.toml) is wrong; nothing ran
  3    the Docker engine or the infrastructure failed
  130  interrupted (Ctrl-C, SIGTERM); what the run started is removed

Environment:
  DOCKER_HOST, DOCKER_CONTEXT, DOCKER_CONFIG   which engine (as for the docker CLI)
  DOCKER_TLS_VERIFY, DOCKER_CERT_PATH          TLS to a tcp:// engine
  DSPEC_PUBLISH_IP                             where containers' ports are published
  DSPEC_CONFIG                                 the config file (default: dspec.toml in
                                               this folder or a parent, up to the
                                               repository's root)
  DSPEC_PATHS, DSPEC_JOBS, DSPEC_FAIL_FAST,    defaults for the options of the same
  DSPEC_TIMEOUT, DSPEC_REPORT, DSPEC_CONTEXT,  name (they win over dspec.toml; the
  DSPEC_COLOR, DSPEC_VAR_<NAME>                command line wins over both)
  NO_COLOR, CLICOLOR, CLICOLOR_FORCE, TERM     colour (see --color)
  GITHUB_ACTIONS, GITHUB_STEP_SUMMARY          annotations and the job summary in
                                               GitHub Actions";

#[derive(Parser, Debug)]
#[command(
    name = "dspec",
    version,
    about = "Acceptance specs for Docker images, containers and compose stacks",
    after_help = AFTER_HELP,
    after_long_help = AFTER_LONG_HELP,
    max_term_width = 100
)]
pub struct Cli {
    /// When to colour output. `auto` colours what goes to a terminal, unless
    /// NO_COLOR is set, CLICOLOR=0 or TERM=dumb; CLICOLOR_FORCE forces it.
    #[arg(long, value_enum, value_name = "WHEN", global = true)]
    pub color: Option<ColorChoice>,
    /// No progress or status lines: only diagnostics, failures and results.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// `dspec --var N=V check` (before the command) still works.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var, hide = true)]
    pub vars: Vec<(String, String)>,
    /// `dspec --context C check` (before the command) still works.
    #[arg(long, value_name = "NAME", hide = true)]
    pub context: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check specs without running anything (no Docker engine needed).
    #[command(after_long_help = VALIDATE_HELP)]
    Validate(ValidateArgs),
    /// Print the execution plan of specs.
    #[command(after_long_help = PLAN_HELP)]
    Plan(PlanArgs),
    /// Run specs against the Docker engine.
    #[command(after_long_help = CHECK_HELP)]
    Check(CheckArgs),
    /// Rewrite spec files in the canonical layout (comments kept).
    #[command(after_long_help = FMT_HELP)]
    Fmt(FmtArgs),
    /// Remove what finished or killed runs left in the engine.
    #[command(after_long_help = CLEAN_HELP)]
    Clean(CleanArgs),
    /// Write a starting spec from what an image in the engine is.
    #[command(after_long_help = INIT_HELP)]
    Init(InitArgs),
    /// Explain a diagnostic code, with a wrong and a right example.
    #[command(after_long_help = EXPLAIN_HELP)]
    Explain(ExplainArgs),
    /// Serve the language server protocol on standard input and output (for editors).
    #[command(after_long_help = LSP_HELP)]
    Lsp(LspArgs),
    /// Print a shell completion script.
    #[command(after_long_help = COMPLETIONS_HELP)]
    Completions(CompletionsArgs),
    /// Print the manual page (roff), or write one page per command.
    #[command(after_long_help = MAN_HELP)]
    Man(ManArgs),
}

const VALIDATE_HELP: &str = "\
Examples:
  dspec validate                         every *.dspec under specs/
  dspec validate specs/api.dspec examples/
  dspec validate --format short          one line per problem: file:line:col: error[DS0201]: ...
  dspec validate --format sarif > dspec.sarif    for GitHub code scanning
  cat x.dspec | dspec validate -         a spec on standard input

Exit codes: 0 valid (warnings allowed), 1 a warning with --strict, 2 invalid or unreadable.
In GitHub Actions (GITHUB_ACTIONS=true) each problem is also a workflow annotation.";

const PLAN_HELP: &str = "\
Examples:
  dspec plan specs/api.dspec
  dspec plan specs/ --format json > plan.json

Exit codes: 0 printed, 2 invalid spec or command line.";

const CHECK_HELP: &str = "\
Examples:
  dspec check                                  every spec under specs/
  dspec check examples/hello -v                one folder; show the engine first
  dspec check --only 'tag(smoke) & !subject(db)'
  dspec check --partition hash:2/4 -j 2 --timeout 30m --report junit:reports/junit.xml
  dspec check --report json:- > report.json    the JSON report on standard output

Exit codes: 0 all held, 1 an expectation failed or was not run, 2 invalid spec or
command line, 3 engine or infrastructure failure, 130 interrupted.";

const FMT_HELP: &str = "\
Examples:
  dspec fmt                        rewrite every spec under specs/
  dspec fmt --check                print a diff and exit 1 when a file is not formatted
  dspec fmt - < x.dspec            format standard input to standard output

Exit codes: 0 formatted, 1 not formatted (--check), 2 syntax error or unreadable path,
3 a file could not be written.";

const CLEAN_HELP: &str = "\
Examples:
  dspec clean --dry-run            what would be removed
  dspec clean                      remove the leftovers of dead runs
  dspec clean --images             and the images dspec built (the build cache)

Exit codes: 0 done (also when there was nothing to remove), 2 command line, 3 engine.";

const INIT_HELP: &str = "\
Examples:
  dspec init --from-image api:1.4 -o specs/api.dspec

Exit codes: 0 written, 2 the output exists (no --force), 3 engine or image absent.";

const EXPLAIN_HELP: &str = "\
Examples:
  dspec explain DS0201             (also ds0201, 0201 or 201)
  dspec explain --list             every code with its summary

Exit codes: 0 explained, 2 not a dspec code.";

const COMPLETIONS_HELP: &str = "\
Examples:
  dspec completions bash > ~/.local/share/bash-completion/completions/dspec
  dspec completions zsh > \"${fpath[1]}/_dspec\"
  dspec completions fish > ~/.config/fish/completions/dspec.fish
  dspec completions powershell >> $PROFILE";

const MAN_HELP: &str = "\
Examples:
  dspec man | man -l -             read it now
  dspec man --dir /usr/local/share/man/man1    dspec.1, dspec-check.1, ...";

/// `--var NAME=VALUE`, for the commands that compile specs.
#[derive(Args, Debug, Default)]
pub struct VarArgs {
    /// A value for `${NAME}` interpolation, overriding a `let` of that name (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
}

/// `--context NAME`, for the commands that talk to the engine.
#[derive(Args, Debug, Default)]
pub struct EngineArgs {
    /// The docker context whose engine to use (default: DOCKER_HOST, then
    /// DOCKER_CONTEXT, then the docker CLI's current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Spec files or folders (searched for *.dspec); `-` reads standard input.
    /// Default: dspec.toml's `paths`, else `specs/`.
    pub paths: Vec<PathBuf>,
    /// How to print the diagnostics.
    #[arg(long, value_enum, default_value_t = ValidateFormat::Human)]
    pub format: ValidateFormat,
    /// Warnings fail too (exit 1).
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub vars: VarArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    /// Diagnostics with their source snippet, on standard error.
    Human,
    /// One JSON document on standard output (`dspec-diagnostics/1`).
    Json,
    /// SARIF 2.1.0 on standard output, for code scanning.
    Sarif,
    /// One line per diagnostic on standard output: `file:line:col: error[DSxxxx]: message`.
    Short,
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    /// Spec files or folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// How to print the plan.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    #[command(flatten)]
    pub vars: VarArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Spec files or folders (searched for *.dspec).
    /// Default: dspec.toml's `paths`, else `specs/`.
    pub paths: Vec<PathBuf>,
    /// Leave containers and networks in the engine and print their label.
    #[arg(long)]
    pub keep: bool,
    /// Show the engine and tool versions, and every step as it happens.
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
    /// Stop at the first expectation that does not pass.
    #[arg(long, overrides_with = "no_fail_fast")]
    pub fail_fast: bool,
    /// Exit 0 when nothing is selected (an empty shard, an --only that matches nothing);
    /// without it that is an error (exit 2).
    #[arg(long)]
    pub allow_empty: bool,
    /// Run everything even when dspec.toml or DSPEC_FAIL_FAST says fail-fast.
    #[arg(long, overrides_with = "fail_fast")]
    pub no_fail_fast: bool,
    /// Also write a report: junit:PATH, json:PATH or markdown:PATH; PATH `-`
    /// is standard output (repeatable).
    #[arg(long = "report", value_name = "KIND:PATH", value_parser = crate::check::parse_report)]
    pub reports: Vec<crate::check::ReportTarget>,
    /// Stop the whole run after this long (like `30m`).
    #[arg(long, value_name = "DURATION", value_parser = crate::parse::duration_arg)]
    pub timeout: Option<std::time::Duration>,
    #[command(flatten)]
    pub vars: VarArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Args, Debug)]
pub struct FmtArgs {
    /// Do not write: print a diff and exit 1 when a file is not formatted.
    #[arg(long)]
    pub check: bool,
    /// Spec files or folders; `-` formats standard input to standard output.
    /// Default: dspec.toml's `paths`, else `specs/`.
    pub paths: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CleanArgs {
    /// Also remove the images dspec built (they are kept as build cache).
    #[arg(long)]
    pub images: bool,
    /// Only list what would be removed.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// The image reference (never pulled).
    #[arg(long = "from-image", value_name = "REF")]
    pub from_image: String,
    /// Write to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub engine: EngineArgs,
}

const LSP_HELP: &str = "\
Editors start it and speak JSON-RPC on its standard input and output; see the book's
\"Editor and language server\" page for VS Code, Neovim and Helix.
  diagnostics as you type   the codes and help of `dspec validate`
  completion, hover         subjects, settings, properties (with their docs), units, values
  definition, symbols       where a subject or `let` is declared; the file's outline
  formatting, quick fixes   `dspec fmt`; each did-you-mean as a code action

Exit codes: 0 after the client's shutdown and exit, 2 if the client never initialized.";

#[derive(Args, Debug)]
pub struct LspArgs {
    /// Accepted for editors that pass it: standard input and output are the only transport.
    #[arg(long)]
    pub stdio: bool,
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// A code like DS0201 (or 201).
    #[arg(required_unless_present = "list", conflicts_with = "list")]
    pub code: Option<String>,
    /// List every code with its summary.
    #[arg(long)]
    pub list: bool,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write dspec.1 and one page per command (dspec-check.1, ...) into this
    /// folder instead of printing dspec.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not NAME=VALUE")),
    }
}

/// Writes to stdout; a closed pipe (`dspec plan | head`) is not an error.
pub(crate) fn out(text: &str) {
    crate::output::out(text);
}

/// What every command is run with once the command line, the environment and
/// dspec.toml are merged.
struct Ctx {
    config: Config,
    color: ColorChoice,
    /// `--var`/`--context` written before the command.
    vars: Vec<(String, String)>,
    context: Option<String>,
}

impl Ctx {
    /// Diagnostics on standard error.
    fn render(&self) -> RenderOptions {
        RenderOptions::for_stream(self.color, Stream::Stderr)
    }

    fn compile_options(&self, given: &VarArgs) -> compile::Options {
        let mut flags = given.vars.clone();
        flags.extend(self.vars.iter().cloned());
        compile::Options {
            vars: self.config.vars(&flags),
        }
    }

    /// `--context`, else DSPEC_CONTEXT or dspec.toml's `context`.
    fn context(&self, given: &EngineArgs) -> Option<String> {
        given
            .context
            .clone()
            .or_else(|| self.context.clone())
            .or_else(|| self.config.context.clone())
    }

    /// The spec paths of a command; with none given and none configured, a
    /// missing `specs/` is explained.
    fn paths(&self, given: Vec<PathBuf>, command: &str) -> Result<Vec<PathBuf>, String> {
        let defaulted = given.is_empty() && self.config.paths.is_none();
        let paths = self.config.paths(given);
        if defaulted && !Path::new("specs").exists() {
            return Err(format!(
                "no spec path given, and there is no `specs/` folder here: `specs/` is the \
                 default.\n  help: name spec files or folders (`dspec {command} path/to/specs`), \
                 or set `paths` in dspec.toml"
            ));
        }
        Ok(paths)
    }
}

/// Parses the command line and runs it; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // Help and version go to stdout (exit 0), usage errors to stderr
            // (exit 2); a closed pipe is not an error.
            let _ = e.print();
            return e.exit_code();
        }
    };
    run(cli)
}

/// Runs the command line; returns the exit code.
pub fn run(cli: Cli) -> i32 {
    crate::output::set_quiet(cli.quiet);
    // Commands that need no settings do not read dspec.toml: a broken file
    // does not stop `dspec explain` or `dspec completions`.
    match &cli.command {
        Command::Explain(a) => {
            let color = cli.color.unwrap_or_default();
            return match &a.code {
                _ if a.list => crate::explain::list(),
                Some(code) => crate::explain::explain(code, color),
                None => exit_code::INVALID,
            };
        }
        Command::Completions(a) => return completions(a.shell),
        Command::Man(a) => return man(a.dir.as_deref()),
        _ => {}
    }
    let config = match Config::load() {
        Ok(c) => c,
        Err(e) => {
            errln!("error: {e}");
            return exit_code::INVALID;
        }
    };
    let ctx = Ctx {
        color: cli.color.or(config.color).unwrap_or_default(),
        config,
        vars: cli.vars,
        context: cli.context,
    };
    let name = command_name(&cli.command);
    let before_command = |what: &str| {
        errln!("error: `{what}` does not apply to `dspec {name}`");
        exit_code::INVALID
    };
    match cli.command {
        Command::Validate(a) => {
            if ctx.context.is_some() {
                return before_command("--context");
            }
            validate(a, &ctx)
        }
        Command::Plan(a) => {
            if ctx.context.is_some() {
                return before_command("--context");
            }
            plan_cmd(&a, &ctx)
        }
        Command::Fmt(a) => {
            if !ctx.vars.is_empty() {
                return before_command("--var");
            }
            if ctx.context.is_some() {
                return before_command("--context");
            }
            let paths = match ctx.paths(a.paths, "fmt") {
                Ok(p) => p,
                Err(e) => return usage(&e),
            };
            crate::format::run(
                &paths,
                a.check,
                &ctx.render(),
                crate::output::color(ctx.color, Stream::Stdout),
            )
        }
        Command::Clean(a) => {
            if !ctx.vars.is_empty() {
                return before_command("--var");
            }
            let context = ctx.context(&a.engine);
            if let Err(code) = known_context(context.as_deref()) {
                return code;
            }
            crate::clean::clean(context.as_deref(), a.images, a.dry_run)
        }
        Command::Init(a) => {
            if !ctx.vars.is_empty() {
                return before_command("--var");
            }
            let context = ctx.context(&a.engine);
            if let Err(code) = known_context(context.as_deref()) {
                return code;
            }
            crate::init::init(
                context.as_deref(),
                &a.from_image,
                a.output.as_deref(),
                a.force,
            )
        }
        Command::Check(a) => check(a, &ctx),
        Command::Lsp(_) => {
            if ctx.context.is_some() {
                return before_command("--context");
            }
            crate::lsp::run(ctx.compile_options(&VarArgs::default()))
        }
        Command::Explain(_) | Command::Completions(_) | Command::Man(_) => unreachable!(),
    }
}

fn command_name(c: &Command) -> &'static str {
    match c {
        Command::Validate(_) => "validate",
        Command::Plan(_) => "plan",
        Command::Check(_) => "check",
        Command::Fmt(_) => "fmt",
        Command::Clean(_) => "clean",
        Command::Init(_) => "init",
        Command::Lsp(_) => "lsp",
        Command::Explain(_) => "explain",
        Command::Completions(_) => "completions",
        Command::Man(_) => "man",
    }
}

fn usage(message: &str) -> i32 {
    errln!("error: {message}");
    exit_code::INVALID
}

/// A context named by `--context`, DSPEC_CONTEXT or dspec.toml must exist:
/// an unknown name is a usage error (exit 2) listing the contexts there are,
/// not an unreachable engine.
fn known_context(context: Option<&str>) -> Result<(), i32> {
    use crate::engine::docker::endpoint;
    let Some(name) = context.filter(|c| *c != "default") else {
        return Ok(());
    };
    let known = endpoint::context_names(&endpoint::process_env);
    if known.iter().any(|k| k == name) {
        return Ok(());
    }
    let mut all = vec!["default".to_string()];
    all.extend(known);
    let hint = diag::suggest::closest(name, all.iter().map(String::as_str))
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default();
    errln!(
        "error: there is no docker context `{name}`{hint}\n  help: the contexts are: {} \
         (`docker context ls`)",
        all.join(", ")
    );
    Err(exit_code::INVALID)
}

fn check(a: CheckArgs, ctx: &Ctx) -> i32 {
    let paths = match ctx.paths(a.paths, "check") {
        Ok(p) => p,
        Err(e) => return usage(&e),
    };
    let context = ctx.context(&a.engine);
    let reports = if a.reports.is_empty() {
        ctx.config.reports.clone().unwrap_or_default()
    } else {
        a.reports
    };
    let to_stdout = reports.iter().filter(|r| r.to_stdout()).count();
    if to_stdout > 1 {
        return usage("only one --report can go to standard output (`-`)");
    }
    let fail_fast = if a.fail_fast {
        true
    } else if a.no_fail_fast {
        false
    } else {
        ctx.config.fail_fast.unwrap_or(false)
    };
    let timeout = a.timeout.or(ctx.config.timeout);
    let jobs = a.jobs.or(ctx.config.jobs);
    let opts = ctx.compile_options(&a.vars);
    // The console report goes to standard output, unless a --report takes it.
    let report_stream = if to_stdout == 1 {
        Stream::Stderr
    } else {
        Stream::Stdout
    };
    if let Err(code) = known_context(context.as_deref()) {
        return code;
    }
    crate::check::check(
        &crate::check::CheckOptions {
            paths,
            context,
            keep: a.keep,
            allow_empty: a.allow_empty,
            verbose: a.verbose,
            only: a.only,
            partition: a.partition,
            reports,
            report_stream,
            report_render: RenderOptions::for_stream(ctx.color, report_stream),
            run: crate::engine::RunOptions {
                jobs,
                fail_fast,
                deadline: timeout.map(|t| std::time::Instant::now() + t),
                keep: a.keep,
            },
        },
        &opts,
        &ctx.render(),
    )
}

/// Prints diagnostics and unreadable paths to stderr.
pub(crate) fn report(loaded: &Loaded, render: &RenderOptions) {
    let mut text = String::new();
    for (p, why) in &loaded.unreadable {
        text.push_str(&format!(
            "error[{}]: cannot read `{}`: {why}\n\n",
            Code::Unreadable,
            p.display()
        ));
    }
    let mut diags = loaded.diagnostics.clone();
    diags.sort_by_key(|d| (d.primary.span.file, d.primary.span.start));
    text.push_str(&diag::render_all(&diags, &loaded.sources, render));
    crate::output::err(&text);
}

pub(crate) fn summary(loaded: &Loaded) -> String {
    let errors = error_count(loaded);
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

fn error_count(loaded: &Loaded) -> usize {
    loaded.diagnostics.iter().filter(|d| d.is_error()).count() + loaded.unreadable.len()
}

fn validate(a: ValidateArgs, ctx: &Ctx) -> i32 {
    let paths = match ctx.paths(a.paths, "validate") {
        Ok(p) => p,
        Err(e) => return usage(&e),
    };
    let loaded = load::load(&paths, &ctx.compile_options(&a.vars));
    let github = std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true");
    let document = match a.format {
        ValidateFormat::Human => {
            report(&loaded, &ctx.render());
            None
        }
        ValidateFormat::Json => Some(format!("{}\n", diag::json::render(&loaded))),
        ValidateFormat::Sarif => Some(format!("{}\n", diag::sarif::render(&loaded))),
        ValidateFormat::Short => {
            crate::output::out(&diag::short::render(&loaded));
            None
        }
    };
    if let Some(doc) = &document {
        crate::output::out(doc);
    }
    if github {
        // Workflow commands are read from both streams; keep standard output
        // a clean document when it holds one.
        let lines = diag::short::github(&loaded);
        if document.is_some() || a.format == ValidateFormat::Short {
            crate::output::err(&lines);
        } else {
            crate::output::out(&lines);
        }
    }
    let warnings = loaded.diagnostics.len() + loaded.unreadable.len() - error_count(&loaded);
    let verdict = if loaded.has_errors() {
        "invalid"
    } else if a.strict && warnings > 0 {
        "failed (--strict)"
    } else {
        "valid"
    };
    if matches!(a.format, ValidateFormat::Human | ValidateFormat::Short) {
        if loaded.has_errors() {
            errln!("{verdict}: {}", summary(&loaded));
        } else {
            noteln!("{verdict}: {}", summary(&loaded));
        }
    }
    if loaded.has_errors() {
        exit_code::INVALID
    } else if a.strict && warnings > 0 {
        exit_code::FAILED
    } else {
        exit_code::OK
    }
}

fn plan_cmd(a: &PlanArgs, ctx: &Ctx) -> i32 {
    let loaded = load::load(&a.paths, &ctx.compile_options(&a.vars));
    let render = ctx.render();
    if loaded.has_errors() {
        report(&loaded, &render);
        errln!("invalid: {}", summary(&loaded));
        return exit_code::INVALID;
    }
    let p = plan::lower(&loaded.program);
    match a.format {
        Format::Human => {
            report(&loaded, &render);
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

/// `dspec completions SHELL`.
fn completions(shell: clap_complete::Shell) -> i32 {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "dspec", &mut buf);
    out(&String::from_utf8_lossy(&buf));
    exit_code::OK
}

/// `dspec man [--dir DIR]`.
fn man(dir: Option<&Path>) -> i32 {
    let cmd = Cli::command();
    let render = |cmd: clap::Command| -> Vec<u8> {
        let mut buf = Vec::new();
        let _ = clap_mangen::Man::new(cmd).render(&mut buf);
        buf
    };
    let Some(dir) = dir else {
        out(&String::from_utf8_lossy(&render(cmd)));
        return exit_code::OK;
    };
    if let Err(e) = std::fs::create_dir_all(dir) {
        errln!("error: cannot create `{}`: {e}", dir.display());
        return exit_code::INFRA;
    }
    let mut cmd = cmd;
    cmd.build();
    let mut pages = vec![("dspec.1".to_string(), cmd.clone())];
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("dspec-{}", sub.get_name());
        let page = sub.clone().display_name(name.clone());
        pages.push((format!("{name}.1"), page));
    }
    for (file, page) in pages {
        let path = dir.join(&file);
        if let Err(e) = std::fs::write(&path, render(page)) {
            errln!("error: cannot write `{}`: {e}", path.display());
            return exit_code::INFRA;
        }
        noteln!("wrote {}", path.display());
    }
    exit_code::OK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn engine_and_var_options_appear_only_where_they_apply() {
        let cmd = Cli::command();
        let has = |sub: &str, long: &str| {
            cmd.find_subcommand(sub)
                .unwrap()
                .get_arguments()
                .any(|a| a.get_long() == Some(long) && !a.is_hide_set())
        };
        for sub in ["check", "clean", "init"] {
            assert!(has(sub, "context"), "{sub}");
        }
        for sub in ["validate", "plan", "check"] {
            assert!(has(sub, "var"), "{sub}");
        }
        for sub in ["fmt", "explain", "validate", "plan", "completions", "man"] {
            assert!(!has(sub, "context"), "{sub}");
        }
        for sub in ["fmt", "explain", "clean", "init", "completions", "man"] {
            assert!(!has(sub, "var"), "{sub}");
        }
    }
}
