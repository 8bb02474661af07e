//! Images: build or find them, then answer image properties from the
//! engine's inspect data and the image's own layers (never a shell).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use super::Ctx;
use super::actual::{Actual, resolve_text};
use super::docker::{BuildContext, BuildOptions, BuildProgress, EngineError, ImageInfo};
use super::imagefs::cache::Cache;
use super::imagefs::context;
use super::imagefs::ecosystems::Ecosystem;
use super::imagefs::index::ImageIndex;
use super::imagefs::loader::{self, ContentError, LoadedImage};
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
    loaded: OnceCell<Result<Arc<LoadedImage>, String>>,
}

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
            loaded: OnceCell::new(),
        }
    }

    /// The image's filesystem index, once per run: from the user's cache when it has this
    /// image id, else read from the layers (and cached).
    pub async fn image(&self, ctx: &Ctx) -> Result<Arc<LoadedImage>, ObsError> {
        let r = self
            .loaded
            .get_or_init(|| async {
                let engine = loader::Engine {
                    api: &ctx.engine,
                    labels: &ctx.labels,
                };
                loader::load(&engine, &self.info.id, &self.wanted, Cache::from_env())
                    .await
                    .map(Arc::new)
            })
            .await;
        r.clone().map_err(ObsError::Engine)
    }

    /// The image's index.
    pub async fn index(&self, ctx: &Ctx) -> Result<Arc<ImageIndex>, ObsError> {
        Ok(self.image(ctx).await?.index.clone())
    }

    /// The bytes of the file at `path` (symlinks followed).
    pub async fn content(&self, ctx: &Ctx, path: &str) -> Result<Arc<Vec<u8>>, ObsError> {
        let image = self.image(ctx).await?;
        let engine = loader::Engine {
            api: &ctx.engine,
            labels: &ctx.labels,
        };
        image.content(&engine, path).await.map_err(|e| match e {
            ContentError::Missing(m) => ObsError::Missing(m),
            ContentError::Engine(m) => ObsError::Engine(m),
        })
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
            let index = facts.index(ctx).await?;
            let (uid, gid) = resolve_user(&index, &info.user)?;
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
            let index = facts.index(ctx).await?;
            let pat = arg_text(args, 0);
            (
                Actual::List(
                    index
                        .fs()
                        .glob(&pat)
                        .into_iter()
                        .map(|e| e.path.clone())
                        .collect(),
                ),
                0,
            )
        }
        "file" => {
            let path = arg_text(args, 0);
            let (field, _) =
                next_field().ok_or_else(|| ObsError::Missing("no file property".into()))?;
            (file_property(ctx, facts, &path, field).await?, 1)
        }
        "packages" => {
            let index = facts.index(ctx).await?;
            (Actual::List(index.package_names(Ecosystem::Os)), 0)
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

/// uid and gid of an image's `USER` (empty means root).
fn resolve_user(index: &ImageIndex, user: &str) -> Result<(u32, u32), ObsError> {
    if user.is_empty() {
        return Ok((0, 0));
    }
    index.users().resolve_user_spec(user).ok_or_else(|| {
        ObsError::Missing(format!(
            "the user `{user}` is not in the image's /etc/passwd (or its group in /etc/group)"
        ))
    })
}

/// `file(PATH).FIELD`: metadata describes the path itself (lstat), `content` reads the file
/// it leads to (stat; see `imagefs::tree`).
async fn file_property(
    ctx: &Ctx,
    facts: &ImageFacts,
    path: &str,
    field: &str,
) -> Result<Actual, ObsError> {
    let index = facts.index(ctx).await?;
    let entry = index.fs().get(path);
    if field == "exists" {
        return Ok(Actual::Bool(entry.is_some()));
    }
    let Some(e) = entry else {
        return Err(ObsError::Missing(format!(
            "`{path}` does not exist in the image"
        )));
    };
    let users = index.users();
    Ok(match field {
        "type" => text(e.kind.word()),
        "mode" => Actual::Mode(e.mode),
        "uid" => Actual::Int(e.uid as i64),
        "gid" => Actual::Int(e.gid as i64),
        "owner" => text(
            &users
                .user_name(e.uid as u32)
                .map(str::to_string)
                .unwrap_or_else(|| e.uid.to_string()),
        ),
        "group" => text(
            &users
                .group_name(e.gid as u32)
                .map(str::to_string)
                .unwrap_or_else(|| e.gid.to_string()),
        ),
        "size" => Actual::Size(e.size),
        "target" => match &e.link_target {
            Some(t) => text(t),
            None => return Err(ObsError::Missing(format!("`{path}` is not a link"))),
        },
        "content" => {
            let c = facts.content(ctx, path).await?;
            text(&String::from_utf8_lossy(&c))
        }
        other => {
            return Err(ObsError::Missing(format!(
                "unknown file property `{other}`"
            )));
        }
    })
}
