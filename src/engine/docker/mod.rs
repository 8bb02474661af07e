//! Docker engine access for dspec: the engine trait and its bollard implementation.
//!
//! - [`connect()`] reaches the daemon (`--context`, `DOCKER_HOST`, docker contexts, TLS) and checks its API.
//! - [`DockerApi`] is the trait the scheduler uses; [`Engine`] implements it with bollard.
//! - [`types`] holds the plain data types; no bollard type appears in the public API.
//!
//! Every module refers to its siblings through `super::`, so the folder can be moved under
//! another module unchanged.

#![warn(missing_docs)]

pub mod api;
pub mod bollard_impl;
pub mod connect;
pub mod endpoint;
pub mod error;
pub mod types;

mod build;
mod build_log;
mod cleanup;
mod container;
mod container_create;
mod container_info;
mod context_stream;
mod errmap;
mod exec;
mod health_wait;
mod image;
mod logs;
mod network;
mod save_reader;
mod stats;
mod timestamp;

pub use api::{BuildContext, DockerApi, EngineFuture, ImageTarReader};
pub use bollard_impl::Engine;
pub use connect::{connect, connect_endpoint, connect_to};
pub use endpoint::Endpoint;
pub use error::EngineError;
pub use timestamp::{format_rfc3339, parse_rfc3339};
pub use types::*;
