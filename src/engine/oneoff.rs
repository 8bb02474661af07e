//! `IMAGE.run(CMD)`: a one-off container of the image, the shorthand for a task with no
//! settings (run to completion by [`super::task::complete`]) within 120 s.

use std::sync::Arc;
use std::time::Duration;

use super::Ctx;
use super::actual::Actual;
use super::docker::{ContainerSpec, DockerApi};
use super::observe::{ObsError, Observed, first, process_text, tail};
use super::task::{Incomplete, complete};
use crate::compile::PathStep;
use crate::compile::argv;
use crate::compile::property::{Key, RunResultProp};
use crate::compile::value::Val;

/// How long a one-off run may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// A one-off container of image `image` running `args` (or its default command), then
/// the run result's property `rest` names.
pub async fn observe(ctx: &Ctx, image: &str, args: &[Val], rest: &[PathStep]) -> Observed {
    let cmd = args.first().and_then(argv::of);
    let engine: &Arc<dyn DockerApi> = &ctx.engine;
    let spec = ContainerSpec {
        image: image.to_string(),
        cmd,
        labels: ctx.labels.clone(),
        ..ContainerSpec::default()
    };
    let id = engine.create_container(&spec).await?;
    ctx.made("container", &id);
    let result = complete(ctx, &id, None, RUN_TIMEOUT).await;
    if engine.remove_container(&id).await.is_ok() {
        ctx.gone("container", &id);
    }
    let done = match result {
        Ok(d) => d,
        Err(Incomplete::Engine(e)) => return Err(e.into()),
        Err(Incomplete::NotStarted(e)) => {
            return Err(ObsError::Missing(format!(
                "the container did not start: {e}"
            )));
        }
        Err(Incomplete::TimedOut(d)) => {
            return Err(ObsError::Missing(format!(
                "it did not exit within {}s",
                d.as_secs()
            )));
        }
    };
    let Some((Key::RunResult(prop), _, after)) = first(rest) else {
        // `do prod.run(...)`: it ran; its exit code is reported.
        return Ok(Actual::Int(done.exit_code));
    };
    let value = match prop {
        RunResultProp::ExitCode => Actual::Int(done.exit_code),
        RunResultProp::Stdout => Actual::Text(process_text(&done.stdout)),
        RunResultProp::Stderr => Actual::Text(process_text(&done.stderr)),
        RunResultProp::Duration => Actual::Duration(done.duration),
    };
    tail(value, after)
}
