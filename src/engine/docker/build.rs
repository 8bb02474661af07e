//! Image builds with the daemon's legacy builder.

use std::collections::HashMap;

use bollard::errors::Error as BollardError;
use bollard::models::BuildInfo;
use bollard::query_parameters::BuildImageOptionsBuilder;
use futures_util::StreamExt;

use super::api::BuildContext;
use super::bollard_impl::Engine;
use super::build_log::BuildLog;
use super::context_stream;
use super::errmap::Subject;
use super::error::EngineError;
use super::types::{BuildOptions, BuildOutput, BuildProgress};

/// Builds `context`, streamed to the daemon while it is written (see
/// [`super::api::DockerApi::build`]).
pub(crate) async fn build(
    engine: &Engine,
    context: BuildContext,
    opts: BuildOptions,
    on_progress: &mut (dyn FnMut(BuildProgress) + Send),
) -> Result<BuildOutput, EngineError> {
    let args: HashMap<String, String> = opts.args.into_iter().collect();
    let labels: HashMap<String, String> = opts.labels.into_iter().collect();
    let mut builder = BuildImageOptionsBuilder::default()
        .dockerfile(&opts.dockerfile)
        .rm(true)
        .forcerm(true)
        .nocache(opts.no_cache)
        .platform(opts.platform.as_deref().unwrap_or(""))
        .target(opts.target.as_deref().unwrap_or(""));
    if let Some(tag) = &opts.tag {
        builder = builder.t(tag);
    }
    if !args.is_empty() {
        builder = builder.buildargs(&args);
    }
    if !labels.is_empty() {
        builder = builder.labels(&labels);
    }

    let (body, producer) = context_stream::spawn(context);
    let mut log = BuildLog::default();
    let mut aux_ids: Vec<String> = Vec::new();
    let outcome = {
        // Dropping this stream (e.g. on Ctrl-C) cancels the build on the daemon, and drops
        // the body, which stops the context's writer.
        let mut stream =
            engine
                .docker
                .build_image(builder.build(), None, Some(bollard::body_try_stream(body)));
        read_stream(engine, &mut stream, &mut log, &mut aux_ids, on_progress).await
    };
    // A context that could not be read is the cause of whatever the daemon said about it
    // (an aborted upload, a truncated tar).
    if let Some(e) = producer.failure().await {
        return Err(EngineError::Io(e));
    }
    outcome?;
    log.finish(on_progress);

    let image_id = match aux_ids.pop() {
        Some(id) => id,
        None => fallback_id(engine, &log).await?,
    };
    let mut stage_ids: Vec<String> = Vec::new();
    for id in aux_ids {
        if id != image_id && !stage_ids.contains(&id) {
            stage_ids.push(id);
        }
    }
    Ok(BuildOutput {
        image_id,
        stage_ids,
        log: log.into_lines(),
    })
}

/// Reads the build's answer until it ends; the step output goes to `log`.
async fn read_stream(
    engine: &Engine,
    stream: &mut (impl futures_util::Stream<Item = Result<BuildInfo, BollardError>> + Unpin),
    log: &mut BuildLog,
    aux_ids: &mut Vec<String>,
    on_progress: &mut (dyn FnMut(BuildProgress) + Send),
) -> Result<(), EngineError> {
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(text) = info.stream {
                    log.push(&text, on_progress);
                }
                if let Some(status) = info.status {
                    log.push(&format!("{status}\n"), on_progress);
                }
                if let Some(id) = info.aux.and_then(|aux| aux.id) {
                    aux_ids.push(id);
                }
            }
            // A step failed while the build ran.
            Err(BollardError::DockerStreamError { error }) => {
                log.finish(on_progress);
                return Err(EngineError::BuildFailed {
                    message: error.trim().to_string(),
                    step: log.current_step(),
                    output_tail: log.step_tail(),
                });
            }
            // Refused before any step: Dockerfile parse error, unknown target, missing
            // Dockerfile, bad platform, …
            Err(BollardError::DockerResponseServerError { message, .. }) => {
                return Err(EngineError::BuildFailed {
                    message: message.trim().to_string(),
                    step: None,
                    output_tail: Vec::new(),
                });
            }
            Err(e) => return Err(engine.err(e, Subject::Other)),
        }
    }
    Ok(())
}

/// Daemons that send no `aux` ID still print `Successfully built <short id>`.
async fn fallback_id(engine: &Engine, log: &BuildLog) -> Result<String, EngineError> {
    let no_id = || EngineError::Api {
        status: 0,
        message: "the build ended without reporting an image ID".to_string(),
    };
    let short = log.built_short_id().ok_or_else(no_id)?;
    let image = engine
        .docker
        .inspect_image(&short)
        .await
        .map_err(|e| engine.err(e, Subject::Image(&short)))?;
    image.id.ok_or_else(no_id)
}
