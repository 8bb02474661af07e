//! dspec: acceptance specs for Docker images, containers and compose stacks.
//!
//! The pipeline runs one way: [`parse`] → [`ast`] → [`compile`] → [`plan`]
//! → engine → events → reports. `parse`, `ast`, `compile` and `plan` never
//! touch the Docker engine.

// Diagnostics are large values passed by value on error paths only, and
// AST/model enums are built once per file: size differences do not matter.
#![allow(clippy::result_large_err, clippy::large_enum_variant)]
#![forbid(unsafe_code)]
// Output goes through `output::{out, err}`: `println!` panics on a closed pipe.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod actual;
pub mod ast;
pub mod check;
pub mod clean;
pub mod cli;
pub mod compile;
pub mod config;
pub mod diag;
pub mod engine;
pub mod exit_code;
pub mod explain;
pub mod fnv;
pub mod format;
pub mod glob;
pub mod init;
pub mod liveness;
pub mod load;
pub mod lsp;
pub mod output;
pub mod parse;
pub mod plan;
pub mod prometheus;
pub mod report;
pub mod select;
pub mod source;
