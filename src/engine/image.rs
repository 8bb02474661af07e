//! Images: build or find them, then answer image properties from the
//! engine's inspect data and the image's own layers (never a shell).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use super::Ctx;
use super::actual::{Actual, resolve_text};
use super::docker::{BuildContext, BuildOptions, BuildProgress, EngineError, ImageInfo};
use super::failure::SetupError;
use super::imagefs::access::Access;
use super::imagefs::cache::Cache;
use super::imagefs::config;
use super::imagefs::context;
use super::imagefs::ecosystems::Ecosystem;
use super::imagefs::index::ImageIndex;
use super::imagefs::loader::{self, ContentError, LoadedImage};
use super::observe::{ObsError, Observed, arg_text, first, map_property, tail};
use super::scheduler::{Output, Run, State};
use crate::compile::property::{
    AccountProp, BuildInfoProp, ContextProp, FileProp, GroupProp, HealthcheckProp, ImageProp, Key,
    PackageProp,
};
use crate::compile::value::Val;
use crate::compile::{BuildSpec, PathStep, SubjectSpec};
use crate::plan::{StepId, StepKind};
use crate::report::event::Activity;

/// Everything known about one image of the run.
pub struct ImageFacts {
    pub info: ImageInfo,
    /// The reference dspec gave it (`ref`): the first `tag` setting, else dspec's own tag;
    /// for `existing`, the reference named.
    pub reference: String,
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
        reference: String,
        build_duration: Option<Duration>,
        context: Option<context::Context>,
        wanted: BTreeSet<String>,
    ) -> ImageFacts {
        ImageFacts {
            info,
            reference,
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
        r.clone().map_err(ObsError::Internal)
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
            ContentError::Engine(m) => ObsError::Internal(m),
        })
    }
}

/// The tag dspec gives a build: `dspec/<context dir>[-<target>]:<hash>`.
fn build_tag(spec: &BuildSpec, hash: &str) -> String {
    let base = spec
        .context
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_else(|| "image".into());
    let name: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let target = spec
        .target
        .as_deref()
        .map(|t| format!("-{}", t.to_lowercase()))
        .unwrap_or_default();
    format!(
        "dspec/{}{target}:{}",
        name.trim_matches(['-', '.', '_']),
        &hash[..12.min(hash.len())]
    )
}

/// A `Build` or `Inspect` step: builds the image (once for every subject that shares the
/// build) or finds it in the engine (never pulled).
pub(super) async fn setup(run: &Run, id: StepId) -> State {
    let step = &run.plan.steps[id];
    let first = &step.subjects[0];
    let Some(def) = run.program.files[first.file].subject(&first.name) else {
        return State::Done;
    };
    let (wanted, hash) = match &step.kind {
        StepKind::Build { contents, hash, .. } => (contents, hash.as_str()),
        StepKind::Inspect { contents, .. } => (contents, ""),
        _ => return State::Done,
    };
    let wanted: BTreeSet<String> = wanted.iter().cloned().collect();
    let facts = match &def.spec {
        SubjectSpec::Build(spec) => {
            let mut progress = |p: BuildProgress| {
                if let BuildProgress::Step {
                    number,
                    total,
                    instruction,
                } = p
                {
                    run.progress(
                        first,
                        Activity::Working {
                            text: format!("build step {number}/{total}: {instruction}"),
                        },
                    );
                }
            };
            let label = format!("build-{}", &hash[..12.min(hash.len())]);
            let tag = build_tag(spec, hash);
            match build(&run.ctx, spec, &tag, &label, &mut progress).await {
                Ok((info, duration, ctx, _log)) => {
                    for s in &step.subjects {
                        run.ready(s, "built", duration);
                    }
                    let reference = spec.tags.first().cloned().unwrap_or(tag);
                    ImageFacts::new(info, reference, Some(duration), Some(ctx), wanted)
                }
                Err(e) => return run.failed_all(&step.subjects, e),
            }
        }
        SubjectSpec::Existing { reference } => {
            let reference = reference.to_string();
            let started = Instant::now();
            match run.ctx.engine.inspect_image(&reference).await {
                Ok(Some(info)) => {
                    for s in &step.subjects {
                        run.ready(s, "present", started.elapsed());
                    }
                    ImageFacts::new(info, reference, None, None, wanted)
                }
                Ok(None) => {
                    return run.failed_all(
                        &step.subjects,
                        SetupError::infrastructure(format!(
                            "`{reference}` is not in the engine; dspec never pulls: build it or `docker load` it first"
                        )),
                    );
                }
                Err(e) => return run.failed_all(&step.subjects, e.into()),
            }
        }
        _ => return State::Done,
    };
    run.keep(id, Output::Image(Arc::new(facts)));
    State::Done
}

/// Builds an image; returns the facts and the build log.
pub async fn build(
    run: &Ctx,
    spec: &BuildSpec,
    tag: &str,
    run_label: &str,
    on_progress: &mut (dyn FnMut(BuildProgress) + Send),
) -> Result<(ImageInfo, Duration, context::Context, Vec<String>), SetupError> {
    let started = Instant::now();
    let ctx_root = spec.context.clone();
    let dockerfile = spec
        .dockerfile
        .clone()
        .unwrap_or_else(|| ctx_root.join("Dockerfile"));
    if !ctx_root.is_dir() {
        return Err(SetupError::subject(format!(
            "the build context `{}` is not a directory",
            ctx_root.display()
        )));
    }
    if !dockerfile.is_file() {
        return Err(SetupError::subject(format!(
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
    .map_err(|e| SetupError::subject(e.to_string()))?
    .map_err(|e| SetupError::subject(format!("reading the build context: {e}")))?;
    let df_name = plan.dockerfile_name().to_string();
    let tar = BuildContext::from_writer(move |w| plan.write(w));
    let mut args = Vec::new();
    for (k, v) in &spec.args {
        args.push((k.clone(), resolve_text(v).map_err(SetupError::subject)?));
    }
    let mut labels = BTreeMap::new();
    for (k, v) in &spec.labels {
        labels.insert(k.clone(), resolve_text(v).map_err(SetupError::subject)?);
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
                    return Err(SetupError::infrastructure(format!(
                        "the base image `{base}` (FROM, line {line}) is not in the engine; dspec never pulls: build or `docker load` it first"
                    )));
                }
                Err(e) => return Err(e.into()),
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
                return Err(SetupError::subject(format!(
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
            return Err(SetupError::subject(message).with_output(lines));
        }
        // The context could not be read while it was sent (a file vanished, or unreadable).
        Err(EngineError::Io(e)) => {
            return Err(SetupError::subject(format!(
                "reading the build context: {e}"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let duration = started.elapsed();
    if let Some(old) = previous.filter(|old| *old != out.image_id) {
        let _ = engine.remove_image(&old, true).await;
    }
    for extra in &spec.tags {
        engine.tag_image(&out.image_id, extra).await.map_err(|e| {
            SetupError::infrastructure(format!("cannot tag the image `{extra}`: {e}"))
        })?;
    }
    // The images of the other stages of a multi-stage build are the build cache of those
    // stages (perhaps made by the team's own `docker build`): they stay. The legacy builder
    // leaves them untagged; a `dspec/` tag beside the image's own lets `dspec clean --images`
    // find them.
    let (repo, version) = tag.rsplit_once(':').unwrap_or((tag, "latest"));
    for (n, id) in out.stage_ids.iter().enumerate() {
        let _ = engine
            .tag_image(id, &format!("{repo}:{version}-stage{}", n + 1))
            .await;
    }
    let info = engine
        .inspect_image(&out.image_id)
        .await?
        .ok_or_else(|| SetupError::infrastructure("the built image disappeared"))?;
    Ok((info, duration, ctx, out.log))
}

fn text(s: &str) -> Actual {
    Actual::Text(s.to_string())
}

/// Answers an image property (`steps` after the subject).
/// `others` finds the other images of the file by subject name (`based_on(base)`).
pub async fn observe(
    ctx: &Ctx,
    facts: &ImageFacts,
    steps: &[PathStep],
    others: &(dyn Fn(&str) -> Option<Arc<ImageFacts>> + Sync),
) -> Observed {
    let Some((Key::Image(prop), args, rest)) = first(steps) else {
        return Err(ObsError::Missing("not an image property".into()));
    };
    let info = &facts.info;
    let value = match prop {
        ImageProp::Built => Actual::Bool(true),
        ImageProp::Id => text(&info.id),
        ImageProp::Size => Actual::Size(info.size),
        ImageProp::Layers => Actual::Int(info.layers as i64),
        ImageProp::User => text(&info.user),
        ImageProp::Uid | ImageProp::Gid => {
            let index = facts.index(ctx).await?;
            let (uid, gid) = resolve_user(&index, &info.user)?;
            Actual::Int(if prop == ImageProp::Uid { uid } else { gid } as i64)
        }
        ImageProp::Env => {
            return map_property(
                info.env.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                "the image's environment",
                rest,
            );
        }
        ImageProp::Labels => {
            return map_property(
                info.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                "the image's labels",
                rest,
            );
        }
        ImageProp::Entrypoint => Actual::List(info.entrypoint.clone().unwrap_or_default()),
        ImageProp::Cmd => Actual::List(info.cmd.clone().unwrap_or_default()),
        ImageProp::Workdir => text(&info.working_dir),
        ImageProp::Ports => Actual::List(info.exposed_ports.clone()),
        ImageProp::Volumes => Actual::List(info.volumes.clone()),
        ImageProp::Arch => text(&info.arch),
        ImageProp::Os => text(&info.os),
        ImageProp::Healthcheck => {
            let Some(h) = &info.healthcheck else {
                return Err(ObsError::Missing("the image has no HEALTHCHECK".into()));
            };
            let Some((Key::Healthcheck(field), _, after)) = first(rest) else {
                return Err(ObsError::Missing("no healthcheck field".into()));
            };
            // Docker's defaults for fields the Dockerfile left unset.
            let v = match field {
                HealthcheckProp::Test => Actual::List(h.test.clone()),
                HealthcheckProp::Interval => {
                    Actual::Duration(h.interval.unwrap_or(Duration::from_secs(30)))
                }
                HealthcheckProp::Timeout => {
                    Actual::Duration(h.timeout.unwrap_or(Duration::from_secs(30)))
                }
                HealthcheckProp::Retries => Actual::Int(h.retries.unwrap_or(3) as i64),
                HealthcheckProp::StartPeriod => {
                    Actual::Duration(h.start_period.unwrap_or(Duration::ZERO))
                }
            };
            return tail(v, after);
        }
        ImageProp::Build => {
            let Some(d) = facts.build_duration else {
                return Err(ObsError::Missing(
                    "the image was not built by this run (`existing`)".into(),
                ));
            };
            return match first(rest) {
                Some((Key::BuildInfo(BuildInfoProp::Duration), _, after)) => {
                    tail(Actual::Duration(d), after)
                }
                _ => Err(ObsError::Missing("`build` needs `.duration`".into())),
            };
        }
        ImageProp::Context => {
            let Some(ctx) = &facts.context else {
                return Err(ObsError::Missing(
                    "the image was not built by this run (`existing`)".into(),
                ));
            };
            let Some((Key::Context(field), a, after)) = first(rest) else {
                return Err(ObsError::Missing("`context` needs a property".into()));
            };
            let v = match field {
                ContextProp::Size => Actual::Size(ctx.total_size),
                ContextProp::Files => Actual::List(
                    context::glob_files(ctx, &arg_text(a, 0))
                        .into_iter()
                        .map(|e| e.rel_path.clone())
                        .collect(),
                ),
            };
            return tail(v, after);
        }
        ImageProp::Files => {
            let index = facts.index(ctx).await?;
            let pat = arg_text(args, 0);
            Actual::List(
                index
                    .fs()
                    .glob(&pat)
                    .into_iter()
                    .map(|e| e.path.clone())
                    .collect(),
            )
        }
        ImageProp::File => {
            let Some((Key::File(field), _, after)) = first(rest) else {
                return Err(ObsError::Missing("no file property".into()));
            };
            return tail(
                file_property(ctx, facts, &arg_text(args, 0), field).await?,
                after,
            );
        }
        ImageProp::Packages => {
            let index = facts.index(ctx).await?;
            let eco = match args.first() {
                Some(_) => ecosystem(&arg_text(args, 0))?,
                None => Ecosystem::Os,
            };
            Actual::List(index.package_names(eco))
        }
        ImageProp::Package => {
            let index = facts.index(ctx).await?;
            let name = arg_text(args, 0);
            let found = match args.get(1) {
                Some(_) => index.package(&name, ecosystem(&arg_text(args, 1))?),
                None => [Ecosystem::Os, Ecosystem::Pip, Ecosystem::Npm]
                    .into_iter()
                    .find_map(|eco| index.package(&name, eco)),
            };
            let Some((Key::Package(field), _, after)) = first(rest) else {
                return Err(ObsError::Missing("`package` needs a property".into()));
            };
            let v = match (field, found) {
                (PackageProp::Exists, p) => Actual::Bool(p.is_some()),
                (PackageProp::Version, Some(p)) => text(&p.version),
                (PackageProp::Version, None) => {
                    return Err(ObsError::Missing(format!(
                        "no package `{name}` is installed in the image"
                    )));
                }
            };
            return tail(v, after);
        }
        ImageProp::Account => {
            let index = facts.index(ctx).await?;
            let name = arg_text(args, 0);
            let Some((Key::Account(field), _, after)) = first(rest) else {
                return Err(ObsError::Missing("`account` needs a property".into()));
            };
            let account = index.account(&name);
            let v = match (field, account) {
                (AccountProp::Exists, a) => Actual::Bool(a.is_some()),
                (_, None) => {
                    return Err(ObsError::Missing(format!(
                        "the image's /etc/passwd has no account `{name}`"
                    )));
                }
                (AccountProp::Uid, Some(a)) => Actual::Int(a.uid.into()),
                (AccountProp::Gid, Some(a)) => Actual::Int(a.gid.into()),
                (AccountProp::Home, Some(a)) => text(&a.home),
                (AccountProp::Shell, Some(a)) => text(&a.shell),
                (AccountProp::Groups, Some(a)) => Actual::List(a.groups),
            };
            return tail(v, after);
        }
        ImageProp::Group => {
            let index = facts.index(ctx).await?;
            let name = arg_text(args, 0);
            let Some((Key::Group(field), _, after)) = first(rest) else {
                return Err(ObsError::Missing("`group` needs a property".into()));
            };
            let group = index.group(&name);
            let v = match (field, group) {
                (GroupProp::Exists, g) => Actual::Bool(g.is_some()),
                (_, None) => {
                    return Err(ObsError::Missing(format!(
                        "the image's /etc/group has no group `{name}`"
                    )));
                }
                (GroupProp::Gid, Some(g)) => Actual::Int(g.gid.into()),
                (GroupProp::Members, Some(g)) => Actual::List(g.members.clone()),
            };
            return tail(v, after);
        }
        ImageProp::BasedOn => {
            let Some(Val::Subject(name)) = args.first() else {
                return Err(ObsError::Internal("`based_on` needs an image".into()));
            };
            let other = others(name).ok_or_else(|| {
                ObsError::Internal(format!("the image `{name}` is not available"))
            })?;
            Actual::Bool(config::based_on(&info.diff_ids, &other.info.diff_ids))
        }
        ImageProp::History => {
            let index = facts.index(ctx).await?;
            Actual::List(index.created_by().into_iter().map(str::to_string).collect())
        }
        ImageProp::Ref => text(&facts.reference),
        ImageProp::Run => return super::oneoff::observe(ctx, &info.id, args, rest).await,
    };
    tail(value, rest)
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
    field: FileProp,
) -> Result<Actual, ObsError> {
    let index = facts.index(ctx).await?;
    let entry = index.fs().get(path);
    if field == FileProp::Exists {
        return Ok(Actual::Bool(entry.is_some()));
    }
    let Some(e) = entry else {
        return Err(ObsError::Missing(format!(
            "`{path}` does not exist in the image"
        )));
    };
    let users = index.users();
    Ok(match field {
        FileProp::Type => text(e.kind.word()),
        FileProp::Mode => Actual::Mode(e.mode),
        FileProp::Uid => Actual::Int(e.uid as i64),
        FileProp::Gid => Actual::Int(e.gid as i64),
        FileProp::Owner => text(
            &users
                .user_name(e.uid as u32)
                .map(str::to_string)
                .unwrap_or_else(|| e.uid.to_string()),
        ),
        FileProp::Group => text(
            &users
                .group_name(e.gid as u32)
                .map(str::to_string)
                .unwrap_or_else(|| e.gid.to_string()),
        ),
        FileProp::Size => Actual::Size(e.size),
        FileProp::Target => match &e.link_target {
            Some(t) => text(t),
            None => return Err(ObsError::Missing(format!("`{path}` is not a link"))),
        },
        FileProp::Content => {
            let c = facts.content(ctx, path).await?;
            text(&String::from_utf8_lossy(&c))
        }
        FileProp::Exists => Actual::Bool(true),
        FileProp::Executable | FileProp::Writable | FileProp::Readable => {
            let user = index.image_user().map_err(ObsError::Missing)?;
            let want = match field {
                FileProp::Executable => Access::Exec,
                FileProp::Writable => Access::Write,
                _ => Access::Read,
            };
            Actual::Bool(
                index
                    .access(path, &user, want)
                    .map_err(|e| ObsError::Missing(e.to_string()))?,
            )
        }
        FileProp::Sha256 => match index.sha256(path) {
            Ok(Some(hex)) => text(&hex),
            Ok(None) => {
                return Err(ObsError::Missing(format!(
                    "`{path}` is not a regular file: it has no content to hash"
                )));
            }
            Err(e) => return Err(ObsError::Missing(e.to_string())),
        },
    })
}

/// The ecosystem a spec names (checked when the spec compiled).
fn ecosystem(name: &str) -> Result<Ecosystem, ObsError> {
    Ecosystem::parse(name)
        .ok_or_else(|| ObsError::Internal(format!("`{name}` is not a package ecosystem")))
}
