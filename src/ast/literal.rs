//! Literal values as written: sizes, durations, numbers...

use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum SizeUnit {
    B,
    KB,
    MB,
    GB,
    TB,
    KiB,
    MiB,
    GiB,
    TiB,
}

impl SizeUnit {
    pub const ALL: &'static [(&'static str, SizeUnit)] = &[
        ("B", SizeUnit::B),
        ("kB", SizeUnit::KB),
        ("KB", SizeUnit::KB),
        ("MB", SizeUnit::MB),
        ("GB", SizeUnit::GB),
        ("TB", SizeUnit::TB),
        ("KiB", SizeUnit::KiB),
        ("MiB", SizeUnit::MiB),
        ("GiB", SizeUnit::GiB),
        ("TiB", SizeUnit::TiB),
    ];

    pub fn bytes(self) -> u64 {
        match self {
            SizeUnit::B => 1,
            SizeUnit::KB => 1000,
            SizeUnit::MB => 1_000_000,
            SizeUnit::GB => 1_000_000_000,
            SizeUnit::TB => 1_000_000_000_000,
            SizeUnit::KiB => 1 << 10,
            SizeUnit::MiB => 1 << 20,
            SizeUnit::GiB => 1 << 30,
            SizeUnit::TiB => 1 << 40,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            SizeUnit::B => "B",
            SizeUnit::KB => "KB",
            SizeUnit::MB => "MB",
            SizeUnit::GB => "GB",
            SizeUnit::TB => "TB",
            SizeUnit::KiB => "KiB",
            SizeUnit::MiB => "MiB",
            SizeUnit::GiB => "GiB",
            SizeUnit::TiB => "TiB",
        }
    }

    /// Whether the unit is a power of 1024 (as `docker stats` prints).
    pub fn binary(self) -> bool {
        matches!(
            self,
            SizeUnit::KiB | SizeUnit::MiB | SizeUnit::GiB | SizeUnit::TiB
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SizeLit {
    pub bytes: u64,
    /// As written: `200MB`.
    pub text: String,
    pub unit: SizeUnit,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DurationLit {
    pub duration: Duration,
    /// As written: `30s`.
    pub text: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Int(u64),
    Float(f64),
    /// `0o755`
    Octal(u32),
    Size(SizeLit),
    Duration(DurationLit),
    /// `10%`
    Percent(f64),
    Bool(bool),
    /// `/re/` with `\/` already unescaped.
    Regex(String),
    /// `18080:8000`
    PortMap {
        host: u16,
        container: u16,
    },
    /// JSON's `null`.
    Null,
}

impl Literal {
    /// What kind of literal it is, for messages: "a size", "a duration".
    pub fn describe(&self) -> &'static str {
        match self {
            Literal::Int(_) => "a number",
            Literal::Float(_) => "a number",
            Literal::Octal(_) => "an octal mode",
            Literal::Size(_) => "a size",
            Literal::Duration(_) => "a duration",
            Literal::Percent(_) => "a percentage",
            Literal::Bool(_) => "a boolean",
            Literal::Regex(_) => "a regex",
            Literal::PortMap { .. } => "a port mapping",
            Literal::Null => "null",
        }
    }
}
