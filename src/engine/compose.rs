//! Compose stacks through the real Compose tool: `docker compose` (v2)
//! when present, else `docker-compose` (v1). dspec waits for services
//! itself through the engine, so both versions behave the same.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use tokio::process::Command;

use super::Ctx;
use super::actual::Actual;
use super::container::{self, Anchor, Running};
use super::observe::{ObsError, Observed, arg_text, tail};
use crate::compile::{ComposeSpec, PathStep};

/// How long `up` may take unless the stack's `timeout` says.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// The Compose program found on this machine.
#[derive(Clone, Debug)]
pub struct Tool {
    pub argv: Vec<String>,
    pub version: String,
    /// Variables that point it at the run's engine (`DOCKER_HOST`, TLS).
    pub env: Vec<(String, String)>,
}

impl Tool {
    pub fn describe(&self) -> String {
        format!("{} {}", self.argv.join(" "), self.version)
    }
}

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
    pub tool: Tool,
    /// `-p P -f F...` and the other global options.
    pub args: Vec<String>,
    pub dir: PathBuf,
    /// The resolved config (`compose config`), or the tool's message.
    pub config: Result<Json, String>,
    /// How `up` went, when it ran.
    pub up: Option<Result<(), UpError>>,
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

/// Where a service's `within` clocks start: its last action, else its first container's
/// start (on the engine's clock, kept inside the `up` that started it).
pub async fn service_anchor(ctx: &Ctx, stack: &Stack, service: &str) -> Option<Anchor> {
    if let Some(a) = stack.anchors.lock().expect("anchors lock").get(service) {
        return Some(*a);
    }
    let (lo, hi) = stack.up_window?;
    let first = service_containers(ctx, stack, service).await.ok()?;
    let started = first.first()?.started_at?;
    Some(Anchor::engine_time(started, lo, hi.max(lo)))
}

/// Why a stack did not come up.
#[derive(Clone, Debug)]
pub struct UpError {
    pub message: String,
    /// An image the engine lacks (never pulled), rather than the stack's fault.
    pub infrastructure: bool,
}

impl UpError {
    fn spec(message: String) -> UpError {
        UpError {
            message,
            infrastructure: false,
        }
    }

    fn missing_image(message: String) -> UpError {
        UpError {
            message,
            infrastructure: true,
        }
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
#[derive(Clone, Debug)]
pub struct Teardown {
    pub project: String,
    pub tool: Tool,
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
        let result = match output(&self.tool, &args, &self.dir, Duration::from_secs(120)).await? {
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
    config_args.push("config".into());
    let config = match output(&tool, &config_args, dir, timeout).await? {
        (0, out, _) => serde_yaml::from_str::<Json>(&out)
            .map_err(|e| format!("cannot read `config` output: {e}")),
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
) -> Result<(), UpError> {
    let config = stack
        .config
        .clone()
        .map_err(|e| UpError::spec(format!("the compose files are invalid:\n{e}")))?;
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
                        return Err(UpError::missing_image(format!(
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
            return Err(UpError::missing_image(format!(
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
    std::fs::write(&override_file.0, labels)
        .map_err(|e| UpError::spec(format!("cannot write {}: {e}", override_file.0.display())))?;
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
    let result = output(&stack.tool, &args, &stack.dir, timeout).await;
    drop(override_file);
    let result = match result {
        Ok((0, _, _)) => return Ok(()),
        Ok((code, _, err)) => format!("`up` failed (exit {code}):\n{}", err.trim()),
        Err(e) => e,
    };
    // The stack's fault, unless the engine itself stopped answering meanwhile.
    match ctx.engine.ping(super::run::ENGINE_PING).await {
        Ok(()) => Err(UpError::spec(result)),
        Err(e) => Err(UpError {
            message: format!("the Docker engine stopped answering during `up` ({e}):\n{result}"),
            infrastructure: true,
        }),
    }
}

/// Start to healthy of a service's container, which Compose started: from the container's
/// start time and the engine's `health_status: healthy` event.
async fn service_startup(ctx: &Ctx, service: &str, id: &str) -> Result<Duration, ObsError> {
    let engine = &ctx.engine;
    let info = engine.inspect_container(id).await?;
    let Some(started) = info.started_at else {
        return Err(ObsError::Missing(format!(
            "service `{service}` never started"
        )));
    };
    if info.health.is_none() {
        return Err(ObsError::Missing(format!(
            "service `{service}` has no health check: `startup` is the time from start to healthy"
        )));
    }
    match engine.first_healthy_since(id, started).await? {
        Some(at) => Ok(at.duration_since(started).unwrap_or_default()),
        None => Err(ObsError::Missing(format!(
            "service `{service}` has not turned healthy since it started (or the engine no longer holds that event); check `health == \"healthy\" within D` first"
        ))),
    }
}

/// The containers of a service, in replica order, found by Compose's own labels (never by
/// the names Compose would generate: `container_name:` replaces those).
pub async fn service_containers(
    ctx: &Ctx,
    stack: &Stack,
    service: &str,
) -> Result<Vec<super::docker::ContainerInfo>, ObsError> {
    let res = ctx
        .engine
        .list_by_label(&format!("com.docker.compose.project={}", stack.project))
        .await?;
    let mut found = Vec::new();
    for id in res.containers {
        let Ok(info) = ctx.engine.inspect_container(&id).await else {
            continue;
        };
        if info
            .labels
            .get("com.docker.compose.service")
            .map(String::as_str)
            != Some(service)
        {
            continue;
        }
        // One-off containers (`compose run`) are not replicas.
        if info
            .labels
            .get("com.docker.compose.oneoff")
            .map(String::as_str)
            == Some("True")
        {
            continue;
        }
        let n = info
            .labels
            .get("com.docker.compose.container-number")
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0);
        found.push((n, info));
    }
    found.sort_by_key(|(n, _)| *n);
    Ok(found.into_iter().map(|(_, i)| i).collect())
}

/// Why a service has no container, as precisely as the resolved config tells.
fn no_container(stack: &Stack, service: &str) -> String {
    let config = stack.config.as_ref().ok();
    let services: Vec<String> = config
        .and_then(|c| c.get("services"))
        .and_then(Json::as_object)
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let Some(svc) = config
        .and_then(|c| c.get("services"))
        .and_then(|s| s.get(service))
    else {
        return format!(
            "the stack has no service `{service}` (its services: {})",
            if services.is_empty() {
                "none".to_string()
            } else {
                services.join(", ")
            }
        );
    };
    let profiles = list_of(svc.get("profiles"));
    if !profiles.is_empty() {
        return format!(
            "service `{service}` has no container: it belongs to the profile{} {}, which the stack does not enable (add `profile \"{}\"`)",
            if profiles.len() == 1 { "" } else { "s" },
            profiles.join(", "),
            profiles[0]
        );
    }
    format!("service `{service}` has no container (scaled to 0, or its container was removed)")
}

fn list_of(v: Option<&Json>) -> Vec<String> {
    match v {
        Some(Json::Array(items)) => items
            .iter()
            .map(|i| match i {
                Json::String(s) => s.clone(),
                Json::Object(o) => {
                    // Long port and volume syntax.
                    if let Some(t) = o.get("target") {
                        let published = o
                            .get("published")
                            .map(|p| p.to_string().trim_matches('"').to_string())
                            .unwrap_or_default();
                        let ip = o
                            .get("host_ip")
                            .and_then(Json::as_str)
                            .map(|s| format!("{s}:"))
                            .unwrap_or_default();
                        let source = o.get("source").and_then(Json::as_str);
                        match source {
                            Some(s) => format!("{s}:{}", t.as_str().unwrap_or("")),
                            None => format!("{ip}{published}:{t}"),
                        }
                    } else {
                        i.to_string()
                    }
                }
                other => other.to_string(),
            })
            .collect(),
        Some(Json::Object(o)) => o.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

fn duration_of(v: Option<&Json>) -> Option<Duration> {
    let s = v?.as_str()?;
    let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic())?);
    let n: f64 = num.parse().ok()?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "us" => n / 1e6,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

fn service_config<'a>(config: &'a Json, name: &str) -> Result<&'a Json, ObsError> {
    config
        .get("services")
        .and_then(|s| s.get(name))
        .ok_or_else(|| ObsError::Missing(format!("the stack has no service `{name}`")))
}

/// Answers a stack property.
pub async fn observe(
    ctx: &Ctx,
    stack: &Stack,
    steps: &[PathStep],
    until: Option<std::time::Instant>,
) -> Observed {
    let Some(PathStep::Field { name, args }) = steps.first() else {
        return Err(ObsError::Missing("empty path".into()));
    };
    let rest = &steps[1..];
    match name.as_str() {
        "valid" => tail(Actual::Bool(stack.config.is_ok()), rest),
        "services" => {
            let config = stack
                .config
                .as_ref()
                .map_err(|e| ObsError::Missing(format!("the compose files are invalid: {e}")))?;
            let mut names: Vec<String> = config
                .get("services")
                .and_then(Json::as_object)
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
            names.sort();
            tail(Actual::List(names), rest)
        }
        "config" => {
            let config = stack
                .config
                .as_ref()
                .map_err(|e| ObsError::Missing(format!("the compose files are invalid: {e}")))?;
            let Some(PathStep::Field { name, args }) = rest.first() else {
                return Err(ObsError::Missing("`config` needs `.service(NAME)`".into()));
            };
            if name != "service" {
                return Err(ObsError::Missing(format!(
                    "unknown config property `{name}`"
                )));
            }
            let svc = service_config(config, &arg_text(args, 0))?;
            let Some(PathStep::Field { name: field, .. }) = rest.get(1) else {
                return Err(ObsError::Missing(
                    "a service config needs a property".into(),
                ));
            };
            let after = &rest[2..];
            let value = match field.as_str() {
                "env" => {
                    let Some(PathStep::Field { name: var, .. }) = after.first() else {
                        return Err(ObsError::Missing("no variable named".into()));
                    };
                    let env = svc.get("environment");
                    let v = match env {
                        Some(Json::Object(o)) => o.get(var).map(|v| match v {
                            Json::String(s) => s.clone(),
                            Json::Null => String::new(),
                            other => other.to_string(),
                        }),
                        Some(Json::Array(a)) => a.iter().filter_map(Json::as_str).find_map(|kv| {
                            kv.split_once('=')
                                .filter(|(k, _)| k == var)
                                .map(|(_, v)| v.to_string())
                        }),
                        _ => None,
                    };
                    return match v {
                        Some(v) => tail(Actual::Text(ctx.redact(&v)), &after[1..]),
                        None => Err(ObsError::Missing(format!(
                            "the service does not set `{var}`"
                        ))),
                    };
                }
                "ports" => Actual::List(list_of(svc.get("ports"))),
                "image" => Actual::Text(
                    svc.get("image")
                        .and_then(Json::as_str)
                        .unwrap_or("")
                        .to_string(),
                ),
                "depends_on" => Actual::List(list_of(svc.get("depends_on"))),
                "networks" => Actual::List(list_of(svc.get("networks"))),
                "volumes" => Actual::List(list_of(svc.get("volumes"))),
                "healthcheck" => {
                    let h = svc.get("healthcheck").ok_or_else(|| {
                        ObsError::Missing("the service has no healthcheck".into())
                    })?;
                    let Some(PathStep::Field { name: f, .. }) = after.first() else {
                        return Err(ObsError::Missing("no healthcheck field".into()));
                    };
                    let v = match f.as_str() {
                        "test" => Actual::List(list_of(h.get("test"))),
                        "retries" => {
                            Actual::Int(h.get("retries").and_then(Json::as_i64).unwrap_or(3))
                        }
                        "interval" | "timeout" | "start_period" => {
                            let default = if f == "start_period" { 0 } else { 30 };
                            Actual::Duration(
                                duration_of(h.get(f.as_str()))
                                    .unwrap_or(Duration::from_secs(default)),
                            )
                        }
                        other => {
                            return Err(ObsError::Missing(format!(
                                "no healthcheck field `{other}`"
                            )));
                        }
                    };
                    return tail(v, &after[1..]);
                }
                other => {
                    return Err(ObsError::Missing(format!(
                        "a service config has no `{other}`"
                    )));
                }
            };
            tail(value, after)
        }
        "service" => {
            match &stack.up {
                Some(Ok(())) => {}
                Some(Err(e)) => {
                    return Err(ObsError::Missing(format!(
                        "the stack did not come up: {}",
                        e.message
                    )));
                }
                None => return Err(ObsError::Engine("the stack was not brought up".into())),
            }
            let service = arg_text(args, 0);
            let containers = service_containers(ctx, stack, &service).await?;
            if let Some(PathStep::Field { name, .. }) = rest.first()
                && name == "replicas"
            {
                let running = containers.iter().filter(|c| c.running).count();
                return tail(Actual::Int(running as i64), &rest[1..]);
            }
            let Some(first) = containers.first() else {
                return Err(ObsError::Missing(no_container(stack, &service)));
            };
            if matches!(rest.first(), Some(PathStep::Field { name, .. }) if name == "startup") {
                let startup = service_startup(ctx, &service, &first.id).await?;
                return tail(Actual::Duration(startup), &rest[1..]);
            }
            let anchor = service_anchor(ctx, stack, &service)
                .await
                .unwrap_or_else(Anchor::now);
            let running = Running::adopted(first.id.clone(), anchor);
            container::observe(ctx, &running, rest, until).await
        }
        other => Err(ObsError::Missing(format!(
            "unknown stack property `{other}`"
        ))),
    }
}

/// Evidence for a failed service expectation: its first container's logs.
pub async fn evidence(ctx: &Ctx, stack: &Stack, steps: &[PathStep]) -> Vec<String> {
    let mut out = Vec::new();
    if let (Some(PathStep::Field { name, .. }), Some(config_err)) =
        (steps.first(), stack.config.as_ref().err())
        && (name == "valid" || name == "config" || name == "services")
    {
        out.push(format!("{} says:\n{config_err}", stack.tool.describe()));
        return out;
    }
    if let Some(Err(e)) = &stack.up {
        out.push(e.message.clone());
    }
    if let Some(PathStep::Field { name, args }) = steps.first()
        && name == "service"
        && let Ok(cs) = service_containers(ctx, stack, &arg_text(args, 0)).await
        && let Some(c) = cs.first()
    {
        out.extend(container::evidence(&ctx.engine, &c.id).await);
    }
    out
}
