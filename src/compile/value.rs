//! Checked values: literals with `let`s and `${}` resolved. Host
//! environment reads (`env()`, `secret()`) stay symbolic until run time.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::types::Ty;

/// A piece of text: literal, or read from the host at run time.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TextPart {
    Lit(String),
    Env {
        var: String,
        default: Option<String>,
    },
    Secret {
        var: String,
    },
    /// `${login.json.token}`: read from another request's response when this one is made.
    Capture {
        subject: String,
        path: Vec<super::model::PathStep>,
        /// As written between `${` and `}`.
        text: String,
    },
}

/// Text that may contain host reads.
#[derive(Clone, Debug, PartialEq, Default, Serialize)]
#[serde(transparent)]
pub struct Text {
    pub parts: Vec<TextPart>,
}

impl Text {
    pub fn lit(s: impl Into<String>) -> Text {
        Text {
            parts: vec![TextPart::Lit(s.into())],
        }
    }

    /// The text when it holds no host reads.
    pub fn as_lit(&self) -> Option<String> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                TextPart::Lit(s) => out.push_str(s),
                _ => return None,
            }
        }
        Some(out)
    }

    pub fn is_secret(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, TextPart::Secret { .. }))
    }

    /// The request subjects its captures read.
    pub fn captures(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            TextPart::Capture { subject, .. } => Some(subject.as_str()),
            _ => None,
        })
    }

    pub fn push(&mut self, part: TextPart) {
        if let (Some(TextPart::Lit(a)), TextPart::Lit(b)) = (self.parts.last_mut(), &part) {
            a.push_str(b);
            return;
        }
        // Most texts are one part: no room for four (a large spec holds many texts).
        if self.parts.capacity() == 0 {
            self.parts.reserve_exact(1);
        }
        self.parts.push(part);
    }

    pub fn append(&mut self, other: &Text) {
        for p in &other.parts {
            self.push(p.clone());
        }
    }
}

/// Shows host reads symbolically and secrets masked: safe to print.
impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.parts {
            match p {
                TextPart::Lit(s) => f.write_str(s)?,
                TextPart::Env { var, .. } => write!(f, "${{env:{var}}}")?,
                TextPart::Secret { .. } => f.write_str("***")?,
                TextPart::Capture { text, .. } => write!(f, "${{{text}}}")?,
            }
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Val {
    Text(Text),
    Int(u64),
    Float(f64),
    Mode(u32),
    Size {
        bytes: u64,
        text: String,
    },
    Duration {
        ms: u64,
        text: String,
    },
    Percent(f64),
    Bool(bool),
    Regex(String),
    PortMap {
        host: u16,
        container: u16,
    },
    Range(Box<Val>, Box<Val>),
    List(Vec<Val>),
    /// `api.url(8000)`: the host-side URL of a published port.
    Url {
        subject: String,
        port: u16,
    },
    /// Another subject of the file, by name: `based_on(base)`.
    Subject(String),
    /// `prod.ref` or `prod.id`: an image's reference or id, known once it is built.
    ImageRef {
        subject: String,
        id: bool,
    },
    /// `app` or `app.network("backend")` as a container's `network`: a stack's network.
    StackNetwork {
        subject: String,
        network: Option<String>,
    },
    /// A JSON object literal, its members in the order written.
    Object(Vec<(String, Val)>),
    /// JSON's `null`.
    Null,
}

impl Val {
    pub fn duration(&self) -> Option<Duration> {
        match self {
            Val::Duration { ms, .. } => Some(Duration::from_millis(*ms)),
            _ => None,
        }
    }

    /// A noun for messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Val::Text(_) => "text",
            Val::Int(_) | Val::Float(_) => "a number",
            Val::Mode(_) => "an octal mode",
            Val::Size { .. } => "a size",
            Val::Duration { .. } => "a duration",
            Val::Percent(_) => "a percentage",
            Val::Bool(_) => "a boolean",
            Val::Regex(_) => "a regex",
            Val::PortMap { .. } => "a port mapping",
            Val::Range(..) => "a range",
            Val::List(_) => "a list",
            Val::Url { .. } => "a URL",
            Val::Subject(_) => "a subject",
            Val::ImageRef { .. } => "an image reference",
            Val::StackNetwork { .. } => "a stack's network",
            Val::Object(_) => "a JSON object",
            Val::Null => "null",
        }
    }

    pub fn is_secret(&self) -> bool {
        match self {
            Val::Text(t) => t.is_secret(),
            Val::List(items) => items.iter().any(Val::is_secret),
            Val::Object(members) => members.iter().any(|(_, v)| v.is_secret()),
            Val::Range(a, b) => a.is_secret() || b.is_secret(),
            _ => false,
        }
    }

    /// Whether this value can stand for the property type `ty`.
    pub fn fits(&self, ty: Ty) -> bool {
        match (ty, self) {
            (Ty::Bool, Val::Bool(_)) => true,
            (Ty::Int, Val::Int(_)) => true,
            (Ty::Size, Val::Size { .. }) => true,
            (Ty::Duration, Val::Duration { .. }) => true,
            (Ty::Percent, Val::Percent(_)) => true,
            (Ty::Number, Val::Int(_) | Val::Float(_)) => true,
            (Ty::Mode, Val::Mode(_)) => true,
            (Ty::Text, Val::Text(_) | Val::Url { .. }) => true,
            (Ty::Json, Val::Text(_) | Val::Int(_) | Val::Float(_) | Val::Bool(_)) => true,
            (Ty::Json, Val::Null) => true,
            (Ty::Json, Val::List(items)) => items.iter().all(|v| v.fits(Ty::Json)),
            (Ty::Json, Val::Object(members)) => members.iter().all(|(_, v)| v.fits(Ty::Json)),
            (Ty::List, Val::List(items)) => items.iter().all(|v| v.fits(Ty::Text)),
            _ => false,
        }
    }

    /// A number to order by, for ranges and ordering comparisons.
    pub fn magnitude(&self) -> Option<f64> {
        match self {
            Val::Int(n) => Some(*n as f64),
            Val::Float(x) | Val::Percent(x) => Some(*x),
            Val::Size { bytes, .. } => Some(*bytes as f64),
            Val::Duration { ms, .. } => Some(*ms as f64),
            _ => None,
        }
    }
}

/// Values as written in a spec (units kept, secrets masked).
impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Text(t) => {
                f.write_str("\"")?;
                crate::ast::escape_str(&t.to_string(), f)?;
                f.write_str("\"")
            }
            Val::Int(n) => write!(f, "{n}"),
            Val::Float(x) => write!(f, "{x}"),
            Val::Mode(m) => write!(f, "0o{m:o}"),
            Val::Size { text, .. } | Val::Duration { text, .. } => f.write_str(text),
            Val::Percent(p) => write!(f, "{p}%"),
            Val::Bool(b) => write!(f, "{b}"),
            Val::Regex(r) => write!(f, "/{}/", r.replace('/', "\\/")),
            Val::PortMap { host, container } => write!(f, "{host}:{container}"),
            Val::Range(a, b) => write!(f, "{a}..{b}"),
            Val::List(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Val::Url { subject, port } => write!(f, "{subject}.url({port})"),
            Val::Subject(name) => f.write_str(name),
            Val::ImageRef { subject, id } => {
                write!(f, "{subject}.{}", if *id { "id" } else { "ref" })
            }
            Val::Object(members) => {
                f.write_str("{")?;
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str("\"")?;
                    crate::ast::escape_str(k, f)?;
                    write!(f, "\": {v}")?;
                }
                f.write_str("}")
            }
            Val::Null => f.write_str("null"),
            Val::StackNetwork { subject, network } => match network {
                Some(n) => write!(f, "{subject}.network({n:?})"),
                None => f.write_str(subject),
            },
        }
    }
}

/// A capability as dspec compares it: upper case, without the `CAP_` prefix (`cap_net_raw`,
/// `CAP_NET_RAW` and `NET_RAW` are one capability).
pub fn capability(name: &str) -> String {
    let up = name.trim().to_ascii_uppercase();
    up.strip_prefix("CAP_").map(str::to_string).unwrap_or(up)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_compare_without_their_prefix() {
        assert_eq!(capability("CAP_NET_RAW"), "NET_RAW");
        assert_eq!(capability("net_raw"), "NET_RAW");
        assert_eq!(capability("ALL"), "ALL");
    }
}
