//! An image's files without running it: the build context as `docker build`
//! sends it, and the image's filesystem from its layers.

pub mod access;
pub mod cache;
pub mod codec;
pub mod config;
pub mod context;
pub mod ecosystems;
pub mod index;
pub mod layers;
pub mod loader;
pub mod packages;
pub mod sha256;
pub mod tree;
pub mod users;
