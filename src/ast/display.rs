//! Canonical `.dspec` text for AST nodes.

use std::fmt::{self, Display, Formatter};

use super::*;

impl Display for Literal {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Int(n) => write!(f, "{n}"),
            Literal::Float(x) => {
                let t = x.to_string();
                if t.contains('.') {
                    f.write_str(&t)
                } else {
                    write!(f, "{t}.0")
                }
            }
            Literal::Octal(m) => write!(f, "0o{m:o}"),
            Literal::Size(s) => f.write_str(&s.text),
            Literal::Duration(d) => f.write_str(&d.text),
            Literal::Percent(p) => write!(f, "{p}%"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Regex(r) => write!(f, "/{}/", r.replace('/', "\\/")),
            Literal::PortMap { host, container } => write!(f, "{host}:{container}"),
            Literal::Null => f.write_str("null"),
        }
    }
}

/// Writes text as a dspec string body (without quotes).
pub fn escape_str(text: &str, f: &mut impl fmt::Write) -> fmt::Result {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            // Only `${` interpolates: a lone `$` stays as written.
            '$' if chars.peek() == Some(&'{') => f.write_str("\\$")?,
            c => f.write_char(c)?,
        }
    }
    Ok(())
}

impl Display for StrLit {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for p in &self.parts {
            match p {
                StrPart::Text(t) => escape_str(t, f)?,
                StrPart::Interp(name) => write!(f, "${{{}}}", name.name)?,
                StrPart::Capture(path) => write!(f, "${{{path}}}")?,
            }
        }
        f.write_str("\"")
    }
}

impl Display for Value {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ValueKind::Lit(l) => write!(f, "{l}"),
            ValueKind::Str(s) => write!(f, "{s}"),
            ValueKind::Range(a, b) => write!(f, "{a}..{b}"),
            ValueKind::List(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            ValueKind::Object(members) => {
                f.write_str("{")?;
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
            ValueKind::Path(p) => write!(f, "{p}"),
        }
    }
}

impl Display for Args {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        for (i, v) in self.values.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{v}")?;
        }
        f.write_str(")")
    }
}

impl Display for Path {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&self.head.name)?;
        if let Some(a) = &self.head_args {
            write!(f, "{a}")?;
        }
        for s in &self.segments {
            match s {
                Segment::Field { name, args } => {
                    write!(f, ".{}", name.name)?;
                    if let Some(a) = args {
                        write!(f, "{a}")?;
                    }
                }
                Segment::Index { value, .. } => write!(f, "[{value}]")?,
                Segment::Each { .. } => f.write_str("[*]")?,
            }
        }
        Ok(())
    }
}

impl Display for Key {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.quoted {
            f.write_str("\"")?;
            escape_str(&self.text, f)?;
            f.write_str("\"")
        } else {
            f.write_str(&self.text)
        }
    }
}

impl Display for Setting {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name.name)?;
        match &self.arg {
            SettingArg::None => Ok(()),
            SettingArg::Value(v) => write!(f, " {v}"),
            SettingArg::KeyValue { key, value } => write!(f, " {key} = {value}"),
            SettingArg::At { from, to } => write!(f, " {from} at {to}"),
        }
    }
}

impl Display for Predicate {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.op.text())?;
        if let Some(v) = &self.value {
            write!(f, " {v}")?;
        }
        Ok(())
    }
}

impl Display for Expect {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "expect {}", self.path)?;
        if let Some(p) = &self.predicate {
            write!(f, " {p}")?;
        }
        if let Some(m) = &self.modifier {
            write!(f, " {} {}", m.kind.word(), m.value)?;
        }
        Ok(())
    }
}

impl Display for Do {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "do {}", self.path)
    }
}
