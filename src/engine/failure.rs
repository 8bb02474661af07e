//! Why a subject could not be set up: one type for builds, containers, stacks and host
//! commands, with its cause (the spec's subject, or the infrastructure) and what it printed.

use super::docker::EngineError;

/// Whose fault a failed setup is: it decides the exit code (`1` or `3`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The subject itself: a failing build step, a container that exits, a stack that does
    /// not come up, a missing file the spec names.
    Subject,
    /// The engine or the machine: an absent image (never pulled), no Compose tool, an engine
    /// error.
    Infrastructure,
}

/// A failed setup.
#[derive(Clone, Debug)]
pub struct SetupError {
    pub cause: Cause,
    /// One line.
    pub message: String,
    /// Build output, a log tail, the tool's error output.
    pub output: Vec<String>,
}

impl SetupError {
    /// The subject's fault.
    pub fn subject(message: impl Into<String>) -> SetupError {
        SetupError {
            cause: Cause::Subject,
            message: message.into(),
            output: Vec::new(),
        }
    }

    /// The infrastructure's fault.
    pub fn infrastructure(message: impl Into<String>) -> SetupError {
        SetupError {
            cause: Cause::Infrastructure,
            message: message.into(),
            output: Vec::new(),
        }
    }

    /// With what the failing thing printed.
    pub fn with_output(mut self, output: Vec<String>) -> SetupError {
        self.output = output;
        self
    }

    pub fn is_infrastructure(&self) -> bool {
        self.cause == Cause::Infrastructure
    }
}

impl From<EngineError> for SetupError {
    /// An engine error is the infrastructure's fault.
    fn from(e: EngineError) -> SetupError {
        SetupError::infrastructure(e.to_string())
    }
}
