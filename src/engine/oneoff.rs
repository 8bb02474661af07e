//! `IMAGE.run(CMD)`: a one-off container of the image.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Ctx;
use super::actual::Actual;
use super::docker::{ContainerSpec, DockerApi, LogStream};
use super::observe::{ObsError, Observed, first, process_text, tail};
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
    let started = Instant::now();
    let id = engine.create_container(&spec).await?;
    ctx.made("container", &id);
    let result = async {
        engine
            .start_container(&id)
            .await
            .map_err(|e| ObsError::Missing(format!("the container did not start: {e}")))?;
        let code = match tokio::time::timeout(RUN_TIMEOUT, engine.wait_exit(&id)).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(ObsError::Missing(format!(
                    "it did not exit within {}s",
                    RUN_TIMEOUT.as_secs()
                )));
            }
        };
        let duration = started.elapsed();
        let logs = engine.logs(&id, None).await?;
        let mut stdout = String::new();
        let mut stderr = String::new();
        for l in logs {
            let target = if l.stream == LogStream::Stderr {
                &mut stderr
            } else {
                &mut stdout
            };
            target.push_str(&l.text);
            target.push('\n');
        }
        Ok((code, duration, stdout, stderr))
    }
    .await;
    if engine.remove_container(&id).await.is_ok() {
        ctx.gone("container", &id);
    }
    let (code, duration, stdout, stderr) = result?;
    let Some((Key::RunResult(prop), _, after)) = first(rest) else {
        // `do prod.run(...)`: it ran; its exit code is reported.
        return Ok(Actual::Int(code));
    };
    let value = match prop {
        RunResultProp::ExitCode => Actual::Int(code),
        RunResultProp::Stdout => Actual::Text(process_text(&stdout)),
        RunResultProp::Stderr => Actual::Text(process_text(&stderr)),
        RunResultProp::Duration => Actual::Duration(duration),
    };
    tail(value, after)
}
