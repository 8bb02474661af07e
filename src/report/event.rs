//! Events: the only way the engine tells reporters what happened.

use std::time::Duration;

use serde::Serialize;

use crate::actual::Actual;

/// How one expectation or action ended.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Passed {
        actual: Option<Actual>,
        samples: u32,
        /// For `within`: when the condition first held, from the subject's start or last
        /// action.
        #[serde(skip_serializing_if = "Option::is_none")]
        at_ms: Option<u64>,
    },
    Failed {
        /// What was seen last (`within`), first wrongly (`for`), or once.
        actual: Option<Actual>,
        /// One line: why it failed.
        message: String,
        samples: u32,
        /// When the deciding sample was taken: for `within`, from the subject's start or last
        /// action; for `for`, from the window's start.
        at_ms: Option<u64>,
        /// Log tails, health logs, diffs.
        evidence: Vec<String>,
    },
    /// The infrastructure failed while observing (engine error).
    Errored { message: String },
    /// Not run: a subject it needs failed to set up.
    Skipped { subject: String, reason: String },
}

impl Outcome {
    pub fn passed(&self) -> bool {
        matches!(self, Outcome::Passed { .. })
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct CheckResult {
    pub file: usize,
    pub index: usize,
    pub outcome: Outcome,
    pub duration: Duration,
    /// A time budget measured in a quiet slot: nothing else of the run was in flight.
    pub quiet: bool,
}

/// A subject that could not be set up.
#[derive(Clone, Debug, Serialize)]
pub struct SetupFailure {
    pub file: usize,
    pub subject: String,
    /// One line.
    pub message: String,
    /// Build output or log tail.
    pub output: Vec<String>,
    /// An engine problem (exit 3) rather than the spec's own failure.
    pub infrastructure: bool,
}

/// What a subject or a check is doing now, for the progress view.
#[derive(Clone, Debug, Serialize)]
pub struct Progress {
    pub file: usize,
    pub task: Task,
    pub activity: Activity,
}

/// Who is busy: a subject being set up, or a check that waits (`within`/`for`).
#[derive(Clone, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Task {
    Subject(String),
    /// Index of the check in its file.
    Check(usize),
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Activity {
    /// `build step 3/8: COPY ...`, `starting`, `compose up`.
    Working { text: String },
    /// Sampling until `limit` has passed: a `within` or `for` check.
    Waiting { limit: Duration },
    /// Set up: `built`, `started`, `up`, `exited 0`, after `took`.
    Ready { text: String, took: Duration },
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Progress(Progress),
    SetupFailed(SetupFailure),
    CheckDone(CheckResult),
    /// Every step of the spec file has finished.
    FileDone {
        file: usize,
    },
}

impl Event {
    /// The event with the texts it carries from outside (build steps, commands, messages)
    /// made safe for a terminal (see [`crate::diag::visible`]).
    pub fn visible(&self) -> Event {
        let v = |t: &str| crate::diag::visible(t).into_owned();
        match self {
            Event::Progress(p) => Event::Progress(Progress {
                activity: match &p.activity {
                    Activity::Working { text } => Activity::Working { text: v(text) },
                    Activity::Ready { text, took } => Activity::Ready {
                        text: v(text),
                        took: *took,
                    },
                    other => other.clone(),
                },
                ..p.clone()
            }),
            Event::SetupFailed(f) => Event::SetupFailed(SetupFailure {
                message: v(&f.message),
                output: f.output.iter().map(|l| v(l)).collect(),
                ..f.clone()
            }),
            other => other.clone(),
        }
    }
}
