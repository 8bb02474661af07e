//! Images: build or find them, then answer image properties from the
//! engine's inspect data and the image's own layers (never a shell).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use super::Ctx;
use super::actual::{Actual, resolve_text};
use super::docker::{BuildContext, BuildOptions, BuildProgress, DockerApi, EngineError, ImageInfo};
use super::imagefs::{context, layers, packages, users};
use super::observe::{ObsError, Observed, arg_text};
use crate::compile::value::Val;
use crate::compile::{BuildSpec, PathStep};

/// Everything known about one image of the run.
pub struct ImageFacts {
    pub info: ImageInfo,
    /// Set when dspec built it.
    pub build_duration: Option<Duration>,
    pub context: Option<context::Context>,
    /// Paths whose content the checks read.
    pub wanted: BTreeSet<String>,
    fs: OnceCell<Result<Arc<layers::ImageFs>, String>>,
}

/// Paths read for users and packages.
const SYSTEM_FILES: &[&str] = &[
    "/etc/passwd",
    "/etc/group",
    "/var/lib/dpkg/status",
    "/lib/apk/db/installed",
];

impl ImageFacts {
    pub fn new(
        info: ImageInfo,
        build_duration: Option<Duration>,
        context: Option<context::Context>,
        wanted: BTreeSet<String>,
    ) -> ImageFacts {
        ImageFacts {
            info,
            build_duration,
            context,
            wanted,
            fs: OnceCell::new(),
        }
    }

    /// The image's filesystem, read from its layers once per run.
    pub async fn fs(&self, engine: &Arc<dyn DockerApi>) -> Result<Arc<layers::ImageFs>, ObsError> {
        let r = self
            .fs
            .get_or_init(|| async {
                let reader = engine
                    .save_image(&self.info.id)
                    .await
                    .map_err(|e| e.to_string())?;
                let wanted = self.wanted.clone();
                tokio::task::spawn_blocking(move || {
                    let want = |p: &str| {
                        SYSTEM_FILES.contains(&p)
                            || p.starts_with("/var/lib/dpkg/status.d/")
                            || wanted.contains(p)
                    };
                    layers::read_saved_image(reader, &want, 16 << 20)
                        .map(Arc::new)
                        .map_err(|e| format!("reading the image's layers: {e}"))
                })
                .await
                .map_err(|e| e.to_string())?
            })
            .await;
        r.clone().map_err(ObsError::Engine)
    }
}

/// Builds an image; returns the facts and the build log.
pub async fn build(
    run: &Ctx,
    spec: &BuildSpec,
    tag: &str,
    run_label: &str,
    on_progress: &mut (dyn FnMut(BuildProgress) + Send),
) -> Result<(ImageInfo, Duration, context::Context, Vec<String>), BuildFailure> {
    let started = Instant::now();
    let ctx_root = spec.context.clone();
    let dockerfile = spec
        .dockerfile
        .clone()
        .unwrap_or_else(|| ctx_root.join("Dockerfile"));
    if !ctx_root.is_dir() {
        return Err(BuildFailure::spec(format!(
            "the build context `{}` is not a directory",
            ctx_root.display()
        )));
    }
    if !dockerfile.is_file() {
        return Err(BuildFailure::spec(format!(
            "the Dockerfile `{}` does not exist",
            dockerfile.display()
        )));
    }
    // The scan lists the context (metadata only); the tar itself is written while it is sent.
    let (ctx, plan) = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
        let ctx = context::scan(&ctx_root)?;
        let plan = context::plan_tar(&ctx, &dockerfile)?;
        Ok((ctx, plan))
    })
    .await
    .map_err(|e| BuildFailure::spec(e.to_string()))?
    .map_err(|e| BuildFailure::spec(format!("reading the build context: {e}")))?;
    let df_name = plan.dockerfile_name().to_string();
    let tar = BuildContext::from_writer(move |w| plan.write(w));
    let mut args = Vec::new();
    for (k, v) in &spec.args {
        args.push((k.clone(), resolve_text(v).map_err(BuildFailure::spec)?));
    }
    let mut labels = BTreeMap::new();
    for (k, v) in &spec.labels {
        labels.insert(k.clone(), resolve_text(v).map_err(BuildFailure::spec)?);
    }
    labels.insert("dspec.run".to_string(), run_label.to_string());
    // The legacy builder pulls a missing base image: check them first so a
    // spec fails fast instead of waiting on a registry.
    if let Ok(text) = std::fs::read_to_string(
        spec.dockerfile
            .clone()
            .unwrap_or_else(|| spec.context.join("Dockerfile")),
    ) {
        for (base, line) in super::dockerfile::base_images(&text, &args) {
            match run.engine.inspect_image(&base).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    return Err(BuildFailure {
                        message: format!(
                            "the base image `{base}` (FROM, line {line}) is not in the engine; dspec never pulls: build or `docker load` it first"
                        ),
                        output: Vec::new(),
                        infrastructure: true,
                    });
                }
                Err(e) => {
                    return Err(BuildFailure {
                        message: e.to_string(),
                        output: Vec::new(),
                        infrastructure: true,
                    });
                }
            }
        }
    }
    let opts = BuildOptions {
        dockerfile: df_name,
        target: spec.target.clone(),
        args,
        tag: Some(tag.to_string()),
        labels,
        platform: spec.platform.clone(),
        no_cache: spec.no_cache,
    };
    let engine = &run.engine;
    // The image this tag named before: replaced by the build, it would be
    // left dangling.
    // Only when no other name points at it.
    let previous = engine
        .inspect_image(tag)
        .await
        .ok()
        .flatten()
        .filter(|i| i.tags.iter().all(|t| t == tag || spec.tags.contains(t)))
        .map(|i| i.id);
    let fut = engine.build(tar, opts, on_progress);
    let out = match spec.timeout {
        Some(t) => match tokio::time::timeout(t, fut).await {
            Ok(r) => r,
            Err(_) => {
                return Err(BuildFailure::spec(format!(
                    "the build took longer than its timeout ({}s)",
                    t.as_secs_f64()
                )));
            }
        },
        None => fut.await,
    };
    let out = match out {
        Ok(o) => o,
        Err(EngineError::BuildFailed {
            message,
            step,
            output_tail,
        }) => {
            let mut lines = Vec::new();
            if let Some(s) = step {
                lines.push(s);
            }
            lines.extend(output_tail);
            return Err(BuildFailure {
                message,
                output: lines,
                infrastructure: false,
            });
        }
        // The context could not be read while it was sent (a file vanished, or unreadable).
        Err(EngineError::Io(e)) => {
            return Err(BuildFailure::spec(format!(
                "reading the build context: {e}"
            )));
        }
        Err(e) => {
            return Err(BuildFailure {
                message: e.to_string(),
                output: Vec::new(),
                infrastructure: true,
            });
        }
    };
    let duration = started.elapsed();
    if let Some(old) = previous.filter(|old| *old != out.image_id) {
        let _ = engine.remove_image(&old, true).await;
    }
    for extra in &spec.tags {
        engine
            .tag_image(&out.image_id, extra)
            .await
            .map_err(|e| BuildFailure {
                message: format!("cannot tag the image `{extra}`: {e}"),
                output: Vec::new(),
                infrastructure: true,
            })?;
    }
    // Stage images of a multi-stage build are left untagged by the legacy
    // builder; the run removes the unused ones when it ends (not now: a
    // concurrent build of another target may be about to tag one).
    run.stage_images
        .lock()
        .expect("stage images lock")
        .extend(out.stage_ids.iter().cloned());
    let info = engine
        .inspect_image(&out.image_id)
        .await
        .map_err(|e| BuildFailure {
            message: e.to_string(),
            output: Vec::new(),
            infrastructure: true,
        })?
        .ok_or_else(|| BuildFailure {
            message: "the built image disappeared".into(),
            output: Vec::new(),
            infrastructure: true,
        })?;
    Ok((info, duration, ctx, out.log))
}

pub struct BuildFailure {
    pub message: String,
    pub output: Vec<String>,
    pub infrastructure: bool,
}

impl BuildFailure {
    fn spec(message: String) -> BuildFailure {
        BuildFailure {
            message,
            output: Vec::new(),
            infrastructure: false,
        }
    }
}

fn text(s: &str) -> Actual {
    Actual::Text(s.to_string())
}

/// Answers an image property (`steps` after the subject).
pub async fn observe(ctx: &Ctx, facts: &ImageFacts, steps: &[PathStep]) -> Observed {
    let engine = &ctx.engine;
    let Some(PathStep::Field { name, args }) = steps.first() else {
        return Err(ObsError::Missing("empty path".into()));
    };
    let info = &facts.info;
    let rest = &steps[1..];
    let next_field = || match rest.first() {
        Some(PathStep::Field { name, args }) => Some((name.as_str(), args.as_slice())),
        _ => None,
    };
    let (value, used) = match name.as_str() {
        "built" => (Actual::Bool(true), 0),
        "id" => (text(&info.id), 0),
        "size" => (Actual::Size(info.size), 0),
        "layers" => (Actual::Int(info.layers as i64), 0),
        "user" => (text(&info.user), 0),
        "uid" | "gid" => {
            let fs = facts.fs(engine).await?;
            let (uid, gid) = resolve_user(&fs, &info.user)?;
            (Actual::Int(if name == "uid" { uid } else { gid } as i64), 0)
        }
        "env" => {
            let (var, _) =
                next_field().ok_or_else(|| ObsError::Missing("no variable named".into()))?;
            match info.env.iter().find(|(k, _)| k == var) {
                Some((_, v)) => (text(v), 1),
                None => return Err(ObsError::Missing(format!("the image does not set `{var}`"))),
            }
        }
        "labels" => match rest.first() {
            Some(PathStep::Index(Val::Text(k))) => {
                let k = k.to_string();
                match info.labels.get(&k) {
                    Some(v) => (text(v), 1),
                    None => return Err(ObsError::Missing(format!("the image has no label `{k}`"))),
                }
            }
            _ => {
                return Err(ObsError::Missing(
                    "a label is indexed by name: labels[\"k\"]".into(),
                ));
            }
        },
        "entrypoint" => (Actual::List(info.entrypoint.clone().unwrap_or_default()), 0),
        "cmd" => (Actual::List(info.cmd.clone().unwrap_or_default()), 0),
        "workdir" => (text(&info.working_dir), 0),
        "ports" => (Actual::List(info.exposed_ports.clone()), 0),
        "volumes" => (Actual::List(info.volumes.clone()), 0),
        "arch" => (text(&info.arch), 0),
        "os" => (text(&info.os), 0),
        "healthcheck" => {
            let Some(h) = &info.healthcheck else {
                return Err(ObsError::Missing("the image has no HEALTHCHECK".into()));
            };
            let (field, _) =
                next_field().ok_or_else(|| ObsError::Missing("no healthcheck field".into()))?;
            // Docker's defaults for fields the Dockerfile left unset.
            let v = match field {
                "test" => Actual::List(h.test.clone()),
                "interval" => Actual::Duration(h.interval.unwrap_or(Duration::from_secs(30))),
                "timeout" => Actual::Duration(h.timeout.unwrap_or(Duration::from_secs(30))),
                "retries" => Actual::Int(h.retries.unwrap_or(3) as i64),
                "start_period" => Actual::Duration(h.start_period.unwrap_or(Duration::ZERO)),
                other => return Err(ObsError::Missing(format!("no healthcheck field `{other}`"))),
            };
            (v, 1)
        }
        "build" => match facts.build_duration {
            Some(d) => (Actual::Duration(d), 1),
            None => {
                return Err(ObsError::Missing(
                    "the image was not built by this run (`existing`)".into(),
                ));
            }
        },
        "context" => {
            let Some(ctx) = &facts.context else {
                return Err(ObsError::Missing(
                    "the image was not built by this run (`existing`)".into(),
                ));
            };
            match next_field() {
                Some(("size", _)) => (Actual::Size(ctx.total_size), 1),
                Some(("files", a)) => {
                    let pat = arg_text(a, 0);
                    let files = context::glob_files(ctx, &pat)
                        .into_iter()
                        .map(|e| e.rel_path.clone())
                        .collect();
                    (Actual::List(files), 1)
                }
                _ => return Err(ObsError::Missing("unknown context property".into())),
            }
        }
        "files" => {
            let fs = facts.fs(engine).await?;
            let pat = arg_text(args, 0);
            (
                Actual::List(fs.glob(&pat).into_iter().map(|e| e.path.clone()).collect()),
                0,
            )
        }
        "file" => {
            let fs = facts.fs(engine).await?;
            let path = arg_text(args, 0);
            let (field, _) =
                next_field().ok_or_else(|| ObsError::Missing("no file property".into()))?;
            (file_property(&fs, &path, field)?, 1)
        }
        "packages" => {
            let fs = facts.fs(engine).await?;
            (Actual::List(installed_packages(&fs)), 0)
        }
        "run" => return super::oneoff::observe(ctx, facts, args, rest).await,
        other => {
            return Err(ObsError::Missing(format!(
                "unknown image property `{other}`"
            )));
        }
    };
    super::observe::tail(value, &rest[used..])
}

fn users_of(fs: &layers::ImageFs) -> users::Users {
    users::Users::parse_bytes(
        fs.content("/etc/passwd").unwrap_or_default(),
        fs.content("/etc/group").unwrap_or_default(),
    )
}

/// uid and gid of an image's `USER` (empty means root).
fn resolve_user(fs: &layers::ImageFs, user: &str) -> Result<(u32, u32), ObsError> {
    if user.is_empty() {
        return Ok((0, 0));
    }
    users_of(fs).resolve_user_spec(user).ok_or_else(|| {
        ObsError::Missing(format!(
            "the user `{user}` is not in the image's /etc/passwd (or its group in /etc/group)"
        ))
    })
}

fn installed_packages(fs: &layers::ImageFs) -> Vec<String> {
    let mut names: BTreeSet<String> = BTreeSet::new();
    if let Some(s) = fs.content("/var/lib/dpkg/status") {
        names.extend(packages::dpkg_installed(&String::from_utf8_lossy(s)));
    }
    let status_d: Vec<String> = fs
        .glob("/var/lib/dpkg/status.d/*")
        .into_iter()
        .filter_map(|e| {
            fs.content(&e.path)
                .map(|c| String::from_utf8_lossy(c).to_string())
        })
        .collect();
    names.extend(
        packages::dpkg_status_d_packages(status_d.iter().map(String::as_str))
            .into_iter()
            .map(|p| p.name),
    );
    if let Some(s) = fs.content("/lib/apk/db/installed") {
        names.extend(packages::apk_installed(&String::from_utf8_lossy(s)));
    }
    names.into_iter().collect()
}

fn file_property(fs: &layers::ImageFs, path: &str, field: &str) -> Result<Actual, ObsError> {
    let entry = fs.get(path);
    if field == "exists" {
        return Ok(Actual::Bool(entry.is_some()));
    }
    let Some(e) = entry else {
        return Err(ObsError::Missing(format!(
            "`{path}` does not exist in the image"
        )));
    };
    Ok(match field {
        "type" => text(e.kind.word()),
        "mode" => Actual::Mode(e.mode),
        "uid" => Actual::Int(e.uid as i64),
        "gid" => Actual::Int(e.gid as i64),
        "owner" => text(
            &users_of(fs)
                .user_name(e.uid as u32)
                .map(str::to_string)
                .unwrap_or_else(|| e.uid.to_string()),
        ),
        "group" => text(
            &users_of(fs)
                .group_name(e.gid as u32)
                .map(str::to_string)
                .unwrap_or_else(|| e.gid.to_string()),
        ),
        "size" => Actual::Size(e.size),
        "target" => match &e.link_target {
            Some(t) => text(t),
            None => return Err(ObsError::Missing(format!("`{path}` is not a link"))),
        },
        "content" => match fs.content(path) {
            Some(c) => text(&String::from_utf8_lossy(c)),
            None if e.kind == layers::EntryKind::Symlink => {
                return Err(ObsError::Missing(format!(
                    "`{path}` is a symlink to `{}`: read the target",
                    e.link_target.clone().unwrap_or_default()
                )));
            }
            None => {
                return Err(ObsError::Missing(format!(
                    "`{path}` has no readable content (a directory, or over 16MiB)"
                )));
            }
        },
        other => {
            return Err(ObsError::Missing(format!(
                "unknown file property `{other}`"
            )));
        }
    })
}
