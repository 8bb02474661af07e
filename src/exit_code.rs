//! The exit codes users and CI scripts rely on. Documented in the book
//! (`reference/exit-codes.md`); never renumber.

/// Every expectation held (or the spec is valid).
pub const OK: i32 = 0;
/// At least one expectation failed.
pub const FAILED: i32 = 1;
/// The spec is invalid or the command line is wrong; nothing was run.
pub const INVALID: i32 = 2;
/// The engine or the infrastructure failed.
pub const INFRA: i32 = 3;
/// Interrupted (Ctrl-C, SIGTERM).
pub const INTERRUPTED: i32 = 130;
