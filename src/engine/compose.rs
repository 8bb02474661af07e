//! Compose stacks through the real Compose tool: `docker compose` (v2)
//! when present, else `docker-compose` (v1). dspec waits for services
//! itself through the engine, so both versions behave the same.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use tokio::process::Command;

use super::Ctx;
use super::container::Anchor;
use super::failure::SetupError;
use super::scheduler::{Output, Run, State};
use crate::compile::ComposeSpec;
use crate::compile::SubjectSpec;
use crate::plan::{StepId, StepKind};
use crate::report::event::Activity;
use crate::report::{Event, SetupFailure};
use std::sync::Arc;

/// How long `up` may take unless the stack's `timeout` says.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// What running the Compose tool gives: its exit code, standard output and standard error, or
/// why it could not run.
pub type ComposeRun<'a> =
    Pin<Box<dyn Future<Output = Result<(i32, String, String), String>> + Send + 'a>>;

/// A Compose tool: what runs `config`, `up` and `down` for dspec. The real one is a process
/// ([`Tool`]); tests put a fake behind this trait to schedule stacks without Compose.
pub trait Compose: Send + Sync {
    /// Its name and version, for `-v` and messages.
    fn describe(&self) -> String;

    /// The arguments of `config` that print the resolved config: as JSON where the tool can
    /// (Compose v2's `--format json`), else as YAML.
    fn config_args(&self) -> Vec<String> {
        vec!["config".into()]
    }

    /// Runs it with `args` in `cwd`: its exit code, standard output and standard error; an
    /// error when it cannot run or passes `timeout` (then it is killed).
    fn run<'a>(&'a self, args: &'a [String], cwd: &'a Path, timeout: Duration) -> ComposeRun<'a>;
}

/// The Compose program found on this machine.
#[derive(Clone, Debug)]
pub struct Tool {
    pub argv: Vec<String>,
    pub version: String,
    /// Variables that point it at the run's engine (`DOCKER_HOST`, TLS).
    pub env: Vec<(String, String)>,
}

impl Compose for Tool {
    fn describe(&self) -> String {
        format!("{} {}", self.argv.join(" "), self.version)
    }

    fn config_args(&self) -> Vec<String> {
        // `docker compose` (v2) prints JSON on request; docker-compose v1 only YAML.
        if self.argv.len() > 1 {
            vec!["config".into(), "--format".into(), "json".into()]
        } else {
            vec!["config".into()]
        }
    }

    fn run<'a>(&'a self, args: &'a [String], cwd: &'a Path, timeout: Duration) -> ComposeRun<'a> {
        Box::pin(output(self, args, cwd, timeout))
    }
}

/// The resolved config `config` printed: JSON (Compose v2), or YAML (v1), which a
/// maintained YAML crate reads.
fn parse_config(out: &str) -> Result<Json, String> {
    serde_json::from_str::<Json>(out)
        .or_else(|_| yaml_serde::from_str::<Json>(out))
        .map_err(|e| format!("cannot read `config` output: {e}"))
}

/// Runs the tool's process; killed at `timeout` or when dropped.
async fn output(
    tool: &Tool,
    args: &[String],
    cwd: &Path,
    timeout: Duration,
) -> Result<(i32, String, String), String> {
    let argv = &tool.argv;
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .args(args)
        .envs(tool.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot run `{}`: {e}", argv.join(" ")))?;
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(o)) => Ok((
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).to_string(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "`{} {}` did not finish within {}s",
            argv.join(" "),
            args.join(" "),
            timeout.as_secs()
        )),
    }
}

/// Finds the Compose tool: v2 first, then v1. `env` points it at the run's engine.
pub async fn detect(mut env: Vec<(String, String)>) -> Result<Tool, String> {
    // docker-compose v1 talks through Python's requests, which lets a REQUESTS_CA_BUNDLE in
    // the environment replace the engine's CA given by DOCKER_CERT_PATH.
    if let Some((_, dir)) = env.iter().find(|(k, _)| k == "DOCKER_CERT_PATH") {
        let ca = Path::new(dir).join("ca.pem").display().to_string();
        env.push(("REQUESTS_CA_BUNDLE".into(), ca));
    }
    let here = std::env::temp_dir();
    let t = Duration::from_secs(20);
    for argv in [vec!["docker", "compose"], vec!["docker-compose"]] {
        let mut tool = Tool {
            argv: argv.into_iter().map(String::from).collect(),
            version: String::new(),
            env: env.clone(),
        };
        if let Ok((0, out, _)) =
            output(&tool, &["version".into(), "--short".into()], &here, t).await
        {
            tool.version = out.trim().to_string();
            if !tool.version.is_empty() {
                return Ok(tool);
            }
        }
    }
    Err("no Compose tool found: install `docker compose` (v2) or `docker-compose` (v1)".into())
}

/// A stack of this run.
pub struct Stack {
    pub project: String,
    pub tool: Arc<dyn Compose>,
    /// `-p P -f F...` and the other global options.
    pub args: Vec<String>,
    pub dir: PathBuf,
    /// The resolved config (`compose config`), or the tool's message.
    pub config: Result<Json, String>,
    /// How `up` went, when it ran.
    pub up: Option<Result<(), SetupError>>,
    /// When `up` began and ended: the services started in between.
    pub up_window: Option<(Instant, Instant)>,
    /// Per service: its last action (`restart()`, `kill()`...), where `within` clocks start.
    pub anchors: std::sync::Mutex<HashMap<String, Anchor>>,
}

impl Stack {
    /// An action on `service` just ended.
    pub fn acted(&self, service: &str, at: Anchor) {
        self.anchors
            .lock()
            .expect("anchors lock")
            .insert(service.to_string(), at);
    }
}

/// A file removed when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A stack to take down at the end of the run.
#[derive(Clone)]
pub struct Teardown {
    pub project: String,
    pub tool: Arc<dyn Compose>,
    pub args: Vec<String>,
    pub dir: PathBuf,
    /// Names Compose gives the images it builds for this project (`P_svc` for v1, `P-svc`
    /// for v2): untagged after `down`.
    pub built_images: Vec<String>,
}

impl Teardown {
    /// `down`, then the project's own image names go. Not with `--rmi local`, which also
    /// prunes the images' untagged parents: the layer cache the next run's build needs.
    pub async fn down(
        &self,
        engine: &std::sync::Arc<dyn super::docker::DockerApi>,
    ) -> Result<(), String> {
        let mut args = self.args.clone();
        args.extend(["down", "-v", "--remove-orphans", "-t", "10"].map(String::from));
        let result = match self
            .tool
            .run(&args, &self.dir, Duration::from_secs(120))
            .await?
        {
            (0, _, _) => Ok(()),
            (_, _, err) => Err(err),
        };
        for name in &self.built_images {
            if let Ok(Some(_)) = engine.inspect_image(name).await {
                let _ = engine.remove_image(name, true).await;
            }
        }
        result
    }
}

/// A `Compose` step: resolves the config and, when a check looks at running services, brings
/// the stack up. A stack that does not come up is reported once; its service checks are
/// skipped, its config checks still run.
pub(super) async fn setup_step(run: &Run, id: StepId) -> State {
    let step = &run.plan.steps[id];
    let subject = &step.subjects[0];
    let file = &run.program.files[subject.file];
    let (Some(SubjectSpec::Compose(spec)), StepKind::Compose { up, .. }) =
        (file.subject(&subject.name).map(|s| &s.spec), &step.kind)
    else {
        return State::Done;
    };
    run.progress(
        subject,
        Activity::Working {
            text: if *up { "compose up" } else { "compose config" }.into(),
        },
    );
    let started = std::time::Instant::now();
    match setup(&run.ctx, subject.file, &subject.name, spec, &file.dir, *up).await {
        Ok(stack) => {
            let text = match &stack.up {
                Some(Ok(())) => "up",
                Some(Err(_)) => "did not come up",
                None => "config read",
            };
            run.ready(subject, text, started.elapsed());
            if let Some(Err(e)) = &stack.up {
                // Shown once; service expectations point at it.
                let mut lines = e.message.lines().map(str::to_string);
                let message = lines.next().unwrap_or_default();
                run.emit(Event::SetupFailed(SetupFailure {
                    file: subject.file,
                    subject: subject.name.clone(),
                    message,
                    output: lines.collect(),
                    infrastructure: e.is_infrastructure(),
                }));
            }
            run.keep(id, Output::Stack(Arc::new(stack)));
            State::Done
        }
        Err(e) => run.failed(subject, SetupError::infrastructure(e)),
    }
}

/// Resolves the config and, when `up` is asked for, brings the stack up.
pub async fn setup(
    ctx: &Ctx,
    file: usize,
    name: &str,
    spec: &ComposeSpec,
    dir: &Path,
    up: bool,
) -> Result<Stack, String> {
    let tool = ctx.compose_tool().await?;
    let project: String = ctx
        .resource_name(file, name)
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut args = vec!["-p".to_string(), project.clone()];
    for f in &spec.files {
        args.push("-f".into());
        args.push(f.display().to_string());
    }
    if let Some(e) = spec.env_files.last() {
        args.push("--env-file".into());
        args.push(e.display().to_string());
    }
    for p in &spec.profiles {
        args.push("--profile".into());
        args.push(p.clone());
    }
    let timeout = spec.timeout.unwrap_or(DEFAULT_TIMEOUT);
    let mut config_args = args.clone();
    config_args.extend(tool.config_args());
    let config = match tool.run(&config_args, dir, timeout).await? {
        (0, out, _) => parse_config(&out),
        (_, _, err) => Err(err.trim().to_string()),
    };
    let mut stack = Stack {
        project,
        tool,
        args,
        dir: dir.to_path_buf(),
        config,
        up: None,
        up_window: None,
        anchors: std::sync::Mutex::new(HashMap::new()),
    };
    if up {
        let began = Instant::now();
        stack.up = Some(bring_up(ctx, &mut stack, spec, timeout).await);
        stack.up_window = Some((began, Instant::now()));
    }
    Ok(stack)
}

async fn bring_up(
    ctx: &Ctx,
    stack: &mut Stack,
    spec: &ComposeSpec,
    timeout: Duration,
) -> Result<(), SetupError> {
    let config = stack
        .config
        .clone()
        .map_err(|e| SetupError::subject(format!("the compose files are invalid:\n{e}")))?;
    let services = config
        .get("services")
        .and_then(Json::as_object)
        .cloned()
        .unwrap_or_default();
    let never = spec.pull.as_deref() == Some("never");
    for (name, svc) in &services {
        let image = svc.get("image").and_then(Json::as_str);
        let build = svc.get("build");
        if let Some(b) = build {
            // The builder would pull a missing base image: check first.
            let context = PathBuf::from(b.get("context").and_then(Json::as_str).unwrap_or("."));
            let dockerfile = context.join(
                b.get("dockerfile")
                    .and_then(Json::as_str)
                    .unwrap_or("Dockerfile"),
            );
            if let Ok(text) = std::fs::read_to_string(&dockerfile) {
                for (base, line) in super::dockerfile::base_images(&text, &[]) {
                    if ctx
                        .engine
                        .inspect_image(&base)
                        .await
                        .ok()
                        .flatten()
                        .is_none()
                    {
                        return Err(SetupError::infrastructure(format!(
                            "service `{name}`: the base image `{base}` ({}:{line}) is not in the engine; dspec never pulls",
                            dockerfile.display()
                        )));
                    }
                }
            }
        } else if let Some(image) = image
            && never
            && ctx
                .engine
                .inspect_image(image)
                .await
                .ok()
                .flatten()
                .is_none()
        {
            return Err(SetupError::infrastructure(format!(
                "service `{name}`: the image `{image}` is not in the engine and `pull \"never\"` forbids pulling it"
            )));
        }
    }
    // Labels dspec's cleanup can find, in an override file of its own.
    let mut labels = String::from("services:\n");
    for name in services.keys() {
        labels.push_str(&format!("  {name:?}:\n    labels:\n"));
        for (k, v) in &ctx.labels {
            labels.push_str(&format!("      {k:?}: {v:?}\n"));
        }
    }
    // Compose reads it only during `up`: it goes right after (or when `up` is abandoned);
    // `dspec clean` removes one that a killed run left.
    let override_file =
        TempFile(std::env::temp_dir().join(format!("{}-labels.yml", stack.project)));
    std::fs::write(&override_file.0, labels).map_err(|e| {
        SetupError::subject(format!("cannot write {}: {e}", override_file.0.display()))
    })?;
    let built_images = services
        .iter()
        .filter(|(_, svc)| svc.get("build").is_some() && svc.get("image").is_none())
        .flat_map(|(name, _)| {
            [
                format!("{}_{name}", stack.project),
                format!("{}-{name}", stack.project),
            ]
        })
        .collect();
    ctx.add_teardown(Teardown {
        project: stack.project.clone(),
        tool: stack.tool.clone(),
        args: stack.args.clone(),
        dir: stack.dir.clone(),
        built_images,
    });
    let mut args = stack.args.clone();
    args.extend(["-f".to_string(), override_file.0.display().to_string()]);
    args.extend(["up", "-d", "--build"].map(String::from));
    for (svc, n) in &spec.scale {
        args.push("--scale".into());
        args.push(format!("{svc}={n}"));
    }
    let result = stack.tool.run(&args, &stack.dir, timeout).await;
    drop(override_file);
    let result = match result {
        Ok((0, _, _)) => return Ok(()),
        Ok((code, _, err)) => format!("`up` failed (exit {code}):\n{}", err.trim()),
        Err(e) => e,
    };
    // The stack's fault, unless the engine itself stopped answering meanwhile.
    match ctx.engine.ping(super::scheduler::ENGINE_PING).await {
        Ok(()) => Err(SetupError::subject(result)),
        Err(e) => Err(SetupError::infrastructure(format!(
            "the Docker engine stopped answering during `up` ({e}):\n{result}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_config_as_json_or_yaml() {
        let json = parse_config(r#"{"services": {"web": {"image": "x"}}}"#).unwrap();
        let yaml = parse_config("services:\n  web:\n    image: x\nversion: '3.9'\n").unwrap();
        assert_eq!(json["services"], yaml["services"]);
        assert!(parse_config("services: [unclosed").is_err());
    }
}
