//! The pest parser generated from `grammar/dspec.pest`. Nothing else lives
//! here: the `Rule` enum never leaves `parse/`.

#[derive(pest_derive::Parser)]
#[grammar = "grammar/dspec.pest"]
pub(crate) struct DspecParser;
