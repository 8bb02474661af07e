//! Reporters: consumers of the engine's events.

pub mod event;
mod facts;
pub mod github;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod progress;

pub use event::{CheckResult, Event, Outcome, SetupFailure};

/// A finished run as every report reads it: the specs, their sources, each expectation's
/// result, the setup failures and the run's facts.
#[derive(Clone, Copy)]
pub struct RunReport<'a> {
    pub program: &'a crate::compile::Program,
    pub sources: &'a crate::source::SourceMap,
    pub results: &'a [CheckResult],
    pub setup: &'a [SetupFailure],
    pub meta: &'a RunMeta,
}

/// Facts about a run that every report carries.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct RunMeta {
    /// `dspec.run` label value.
    pub run_id: String,
    pub dspec_version: String,
    /// Docker engine version and API version (`20.10.24`, `1.41`).
    pub engine_version: String,
    pub api_version: String,
    /// Where the engine was reached.
    pub engine_host: String,
    /// Start of the run, RFC 3339 (UTC).
    pub started_at: String,
    pub duration_ms: u64,
    /// The host name the run ran on.
    pub hostname: String,
}

/// Counts over a finished run.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub errored: usize,
    pub skipped: usize,
    pub infrastructure_failed: bool,
    pub interrupted: bool,
}

impl Summary {
    pub fn from_results(results: &[CheckResult], setup: &[SetupFailure]) -> Summary {
        let mut s = Summary::default();
        for r in results {
            match r.outcome {
                Outcome::Passed { .. } => s.passed += 1,
                Outcome::Failed { .. } => s.failed += 1,
                Outcome::Errored { .. } => s.errored += 1,
                Outcome::Skipped { .. } => s.skipped += 1,
            }
        }
        s.infrastructure_failed = setup.iter().any(|f| f.infrastructure) || s.errored > 0;
        s
    }

    /// The process exit code for this run.
    pub fn exit_code(&self) -> i32 {
        if self.interrupted {
            crate::exit_code::INTERRUPTED
        } else if self.infrastructure_failed {
            crate::exit_code::INFRA
        } else if self.failed + self.skipped > 0 {
            crate::exit_code::FAILED
        } else {
            crate::exit_code::OK
        }
    }
}
