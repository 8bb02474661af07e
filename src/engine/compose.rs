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

    /// Runs it with `args` and the extra variables `env` in `cwd`: its exit code, standard
    /// output and standard error; an error when it cannot run or passes `timeout` (then it
    /// is killed).
    fn run<'a>(
        &'a self,
        args: &'a [String],
        env: &'a [(String, String)],
        cwd: &'a Path,
        timeout: Duration,
    ) -> ComposeRun<'a>;
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

    fn run<'a>(
        &'a self,
        args: &'a [String],
        env: &'a [(String, String)],
        cwd: &'a Path,
        timeout: Duration,
    ) -> ComposeRun<'a> {
        Box::pin(output(self, args, env, cwd, timeout))
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
    env: &[(String, String)],
    cwd: &Path,
    timeout: Duration,
) -> Result<(i32, String, String), String> {
    let argv = &tool.argv;
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .args(args)
        .envs(tool.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
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
            output(&tool, &["version".into(), "--short".into()], &[], &here, t).await
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
    /// The stack's `env` settings, for the files' interpolation.
    pub env: Vec<(String, String)>,
    pub dir: PathBuf,
    /// The resolved config (`compose config`), or the tool's message.
    pub config: Result<Json, String>,
    /// Its settings.
    pub spec: ComposeSpec,
    /// How `up` went, when it ran.
    pub up: Option<Result<(), SetupError>>,
    /// When the last `up` began and ended: the services started in between.
    pub up_window: std::sync::Mutex<Option<(Instant, Instant)>>,
    /// `do STACK.down()` took it down (and no `up()` brought it back yet).
    pub down: std::sync::atomic::AtomicBool,
    /// Per service: its last action (`restart()`, `kill()`...), where `within` clocks start.
    pub anchors: std::sync::Mutex<HashMap<String, Anchor>>,
    /// The last action on any of its services: an expectation on the stack that follows it
    /// counts its `within` from there (or later).
    pub last_action: std::sync::Mutex<Option<Anchor>>,
}

impl Stack {
    /// The engine's name of the stack's network `name` (its default network when `None`):
    /// the `name:` the file gives it, an external network's own name, else `PROJECT_NAME`.
    pub fn network_name(&self, name: Option<&str>) -> Result<String, String> {
        network_name(
            self.config.as_ref().map_err(Clone::clone)?,
            &self.project,
            name,
        )
    }

    /// The limit of one Compose command (`timeout`, else 5 minutes).
    pub fn timeout(&self) -> Duration {
        self.spec.timeout.unwrap_or(DEFAULT_TIMEOUT)
    }

    /// Runs a Compose command on the project (`restart web`): an error with what the tool
    /// said when it fails.
    pub async fn compose(&self, command: &[String]) -> Result<(), String> {
        let mut args = self.args.clone();
        args.extend(command.iter().cloned());
        match self
            .tool
            .run(&args, &self.env, &self.dir, self.timeout())
            .await?
        {
            (0, _, _) => Ok(()),
            (code, _, err) => Err(format!(
                "`{}` failed (exit {code}): {}",
                command.join(" "),
                tool_error(&err)
            )),
        }
    }

    /// `do STACK.down()`: the containers and networks go, the volumes stay.
    pub async fn take_down(&self) -> Result<(), String> {
        self.compose(&["down", "--remove-orphans", "-t", "10"].map(String::from))
            .await?;
        self.down.store(true, std::sync::atomic::Ordering::SeqCst);
        self.anchors.lock().expect("anchors lock").clear();
        Ok(())
    }

    /// `do STACK.up()`: up again, every service's `within` clock from now.
    pub async fn bring_back(&self, ctx: &Ctx) -> Result<(), String> {
        let began = Instant::now();
        bring_up(ctx, self, false).await.map_err(|e| e.message)?;
        *self.up_window.lock().expect("up window lock") = Some((began, Instant::now()));
        self.anchors.lock().expect("anchors lock").clear();
        // Each service's clock starts again at its new container's start.
        *self.last_action.lock().expect("last action lock") = None;
        self.down.store(false, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// Whether `do STACK.down()` left it down.
    pub fn is_down(&self) -> bool {
        self.down.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// An action on `service` just ended.
    pub fn acted(&self, service: &str, at: Anchor) {
        self.anchors
            .lock()
            .expect("anchors lock")
            .insert(service.to_string(), at);
        *self.last_action.lock().expect("last action lock") = Some(at);
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
    pub env: Vec<(String, String)>,
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
            .run(&args, &self.env, &self.dir, Duration::from_secs(120))
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
    // `env` values: text (a secret is masked from then on), an image's `ref`, a URL.
    let lookup = |name: &str| run.running(subject.file, name);
    let images = |name: &str| run.image_named(subject.file, name);
    let mut env = Vec::new();
    for (k, v) in &spec.env {
        match super::container::host_env_value(&run.ctx, v, &lookup, &images).await {
            Ok(val) => env.push((k.clone(), val)),
            Err(e) => return run.failed(subject, SetupError::subject(e)),
        }
    }
    match setup(
        &run.ctx,
        subject.file,
        &subject.name,
        spec,
        &file.dir,
        *up,
        env,
    )
    .await
    {
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

/// What matters in a Compose tool's error output: its error lines, without the progress
/// lines (`Stopping x ... done`) around them; else its last lines.
fn tool_error(err: &str) -> String {
    let lines: Vec<&str> = err
        .lines()
        .map(|l| l.rsplit('\r').next().unwrap_or(l).trim())
        .filter(|l| !l.is_empty())
        .collect();
    let errors: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.to_ascii_lowercase().contains("error"))
        .collect();
    if errors.is_empty() {
        lines[lines.len().saturating_sub(5)..].join("\n")
    } else {
        errors.join("\n")
    }
}

/// The engine's name of network `name` of a stack (see [`Stack::network_name`]).
fn network_name(config: &Json, project: &str, name: Option<&str>) -> Result<String, String> {
    let key = name.unwrap_or("default");
    let all = config.get("networks").and_then(Json::as_object);
    let names: Vec<&str> = all
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let Some(net) = all.and_then(|m| m.get(key)) else {
        // Compose makes the default network for the services that name none.
        let uses_default = config
            .get("services")
            .and_then(Json::as_object)
            .is_some_and(|s| s.values().any(|svc| svc.get("networks").is_none()));
        return match name {
            None if uses_default => Ok(format!("{}_default", project)),
            None => Err(format!(
                "the stack has no default network: every service names its networks ({}); join one with `network STACK.network(\"{}\")`",
                names.join(", "),
                names.first().copied().unwrap_or("NAME")
            )),
            Some(_) => Err(format!(
                "the stack has no network `{key}` (networks: {})",
                if names.is_empty() {
                    "only its default".to_string()
                } else {
                    names.join(", ")
                }
            )),
        };
    };
    if let Some(n) = net.get("name").and_then(Json::as_str) {
        return Ok(n.to_string());
    }
    // Compose v1 writes an external network as `external: {name: N}`.
    match net.get("external") {
        Some(Json::Object(e)) => {
            if let Some(n) = e.get("name").and_then(Json::as_str) {
                return Ok(n.to_string());
            }
            Ok(key.to_string())
        }
        Some(Json::Bool(true)) => Ok(key.to_string()),
        _ => Ok(format!("{}_{key}", project)),
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
    env: Vec<(String, String)>,
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
    let config = match tool.run(&config_args, &env, dir, timeout).await? {
        (0, out, _) => parse_config(&out),
        (_, _, err) => Err(err.trim().to_string()),
    };
    let mut stack = Stack {
        project,
        tool,
        args,
        env,
        dir: dir.to_path_buf(),
        config,
        spec: spec.clone(),
        up: None,
        up_window: std::sync::Mutex::new(None),
        down: std::sync::atomic::AtomicBool::new(false),
        anchors: std::sync::Mutex::new(HashMap::new()),
        last_action: std::sync::Mutex::new(None),
    };
    if up {
        let began = Instant::now();
        stack.up = Some(bring_up(ctx, &stack, true).await);
        *stack.up_window.lock().expect("up window lock") = Some((began, Instant::now()));
    }
    Ok(stack)
}

/// `up -d`: the services' containers, labelled for dspec's cleanup. The first time
/// (`first`), the project is registered for the teardown at the end of the run.
async fn bring_up(ctx: &Ctx, stack: &Stack, first: bool) -> Result<(), SetupError> {
    let spec = &stack.spec;
    let timeout = stack.timeout();
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
    if first {
        ctx.add_teardown(Teardown {
            project: stack.project.clone(),
            tool: stack.tool.clone(),
            args: stack.args.clone(),
            env: stack.env.clone(),
            dir: stack.dir.clone(),
            built_images,
        });
    }
    let mut args = stack.args.clone();
    args.extend(["-f".to_string(), override_file.0.display().to_string()]);
    args.extend(["up", "-d", "--build"].map(String::from));
    for (svc, n) in &spec.scale {
        args.push("--scale".into());
        args.push(format!("{svc}={n}"));
    }
    let result = stack.tool.run(&args, &stack.env, &stack.dir, timeout).await;
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
    fn names_a_stacks_networks_as_compose_does() {
        let config = parse_config(
            "services:\n  web: {image: x, networks: [back]}\n  db: {image: x}\nnetworks:\n  back: {}\n  named: {name: shared}\n  ext1: {external: true}\n  ext2: {external: {name: legacy}}\n",
        )
        .unwrap();
        let name = |n: Option<&str>| network_name(&config, "p", n);
        assert_eq!(name(None).unwrap(), "p_default");
        assert_eq!(name(Some("back")).unwrap(), "p_back");
        assert_eq!(name(Some("named")).unwrap(), "shared");
        assert_eq!(name(Some("ext1")).unwrap(), "ext1");
        assert_eq!(name(Some("ext2")).unwrap(), "legacy");
        let err = name(Some("nope")).unwrap_err();
        assert!(
            err.contains("no network `nope` (networks: back, ext1, ext2, named)"),
            "{err}"
        );
        let all_named =
            parse_config("services:\n  web: {image: x, networks: [back]}\nnetworks:\n  back: {}\n")
                .unwrap();
        let err = network_name(&all_named, "p", None).unwrap_err();
        assert!(err.contains("no default network"), "{err}");
    }

    #[test]
    fn a_tool_error_keeps_its_error_lines() {
        let err = "Stopping a_web_1 ... \r\nStopping a_web_1 ... done\r\nRemoving network a_back\nerror while removing network: network a_back has active endpoints\n";
        assert_eq!(
            tool_error(err),
            "error while removing network: network a_back has active endpoints"
        );
        assert_eq!(tool_error("one\ntwo\n"), "one\ntwo");
    }

    #[test]
    fn reads_the_config_as_json_or_yaml() {
        let json = parse_config(r#"{"services": {"web": {"image": "x"}}}"#).unwrap();
        let yaml = parse_config("services:\n  web:\n    image: x\nversion: '3.9'\n").unwrap();
        assert_eq!(json["services"], yaml["services"]);
        assert!(parse_config("services: [unclosed").is_err());
    }
}
