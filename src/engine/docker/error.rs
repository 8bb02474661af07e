//! Errors of the engine layer, shaped so that a CLI can print a clear message for each.

use std::time::Duration;

/// Everything that can go wrong when talking to the Docker engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The daemon could not be reached (no socket, connection refused, no answer in time).
    #[error("cannot reach the Docker daemon at {host}: {reason}")]
    Unreachable {
        /// The address tried, e.g. `unix:///var/run/docker.sock`.
        host: String,
        /// Why, in a few words.
        reason: String,
    },

    /// The daemon speaks an API older than the one this program needs.
    #[error("the Docker daemon speaks API {server}, but at least {required} is needed")]
    ApiTooOld {
        /// The daemon's API version.
        server: String,
        /// The minimum this program needs.
        required: String,
    },

    /// The image does not exist locally (nothing is ever pulled).
    #[error("image not found: {reference} (images are never pulled; build or load it first)")]
    ImageNotFound {
        /// The reference asked for.
        reference: String,
    },

    /// The build failed: Dockerfile error, failing `RUN`, missing file in the context, …
    #[error("{}", build_failed_message(.message, .step.as_deref()))]
    BuildFailed {
        /// The daemon's message, e.g. `The command '/bin/sh -c exit 3' returned a non-zero code: 3`.
        message: String,
        /// The failing step header, e.g. `Step 3/7 : RUN exit 3`; `None` if the build failed
        /// before any step (parse error, unknown target, …).
        step: Option<String>,
        /// The last output lines of the failing step (at most 20).
        output_tail: Vec<String>,
    },

    /// The container does not exist.
    #[error("container not found: {id}")]
    ContainerNotFound {
        /// The ID or name asked for.
        id: String,
    },

    /// An operation did not finish in time.
    #[error("{what} did not finish within {:.1} s", .after.as_secs_f64())]
    Timeout {
        /// What was being waited for.
        what: String,
        /// How long it was given.
        after: Duration,
    },

    /// An exec'd command ran past its limit; it was left running (the caller may kill it).
    #[error("the command did not finish within {}", crate::actual::format_duration(*.after))]
    ExecTimedOut {
        /// Its limit.
        after: Duration,
        /// Its process on the engine's host (0 when the engine did not say).
        pid: i64,
        /// What it had written by then.
        stdout: String,
        /// What it had written to stderr by then.
        stderr: String,
    },

    /// Any other error answered by the daemon.
    #[error("Docker daemon error (HTTP {status}): {message}")]
    Api {
        /// HTTP status (0 when the error did not come with one, e.g. a bad answer).
        status: u16,
        /// The daemon's message.
        message: String,
    },

    /// A local I/O error (reading a streamed image, …).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

fn build_failed_message(message: &str, step: Option<&str>) -> String {
    match step {
        Some(step) => format!("build failed at {step}: {message}"),
        None => format!("build failed: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_failed_names_the_step() {
        let e = EngineError::BuildFailed {
            message: "The command '/bin/sh -c exit 3' returned a non-zero code: 3".into(),
            step: Some("Step 3/7 : RUN exit 3".into()),
            output_tail: vec![],
        };
        assert_eq!(
            e.to_string(),
            "build failed at Step 3/7 : RUN exit 3: The command '/bin/sh -c exit 3' returned a non-zero code: 3"
        );
    }

    #[test]
    fn timeout_prints_seconds() {
        let e = EngineError::Timeout {
            what: "health".into(),
            after: Duration::from_millis(2500),
        };
        assert_eq!(e.to_string(), "health did not finish within 2.5 s");
    }
}
