//! An image's files without running it: the build context as `docker build`
//! sends it, and the image's filesystem from its layers.

pub mod context;
pub mod layers;
pub mod packages;
pub mod users;
