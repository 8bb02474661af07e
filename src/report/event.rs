//! Events: the only way the engine tells reporters what happened.

use std::time::Duration;

use serde::Serialize;

use crate::engine::actual::Actual;

/// How one expectation or action ended.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Passed {
        actual: Option<Actual>,
        samples: u32,
    },
    Failed {
        /// What was seen last (`within`), first wrongly (`for`), or once.
        actual: Option<Actual>,
        /// One line: why it failed.
        message: String,
        samples: u32,
        /// When the deciding sample was taken, from the check's start.
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

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Progress { subject: String, text: String },
    SetupFailed(SetupFailure),
    CheckDone(CheckResult),
}
