//! The `--only` expression language: `story(ID)`, `criterion(ID)`,
//! `subject(NAME)`, `file(GLOB)`, `tag(NAME)`, combined with `&`, `|`, `!`
//! and parentheses (`!` binds tightest, then `&`, then `|`). Values may be
//! globs (`criterion(AC*)`).

/// What an expression is matched against: one expectation.
pub struct Item<'a> {
    pub story: Option<&'a str>,
    pub criterion: Option<&'a str>,
    pub tags: &'a [String],
    /// The expectation's own subject, and the others it touches.
    pub subject: &'a str,
    pub also: &'a [String],
    pub file: &'a str,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Story(String),
    Criterion(String),
    Subject(String),
    File(String),
    Tag(String),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

fn glob_match(pattern: &str, text: &str) -> bool {
    match globset::Glob::new(pattern) {
        Ok(g) => g.compile_matcher().is_match(text),
        Err(_) => pattern == text,
    }
}

impl Expr {
    pub fn matches(&self, it: &Item<'_>) -> bool {
        match self {
            Expr::Story(p) => it.story.is_some_and(|s| glob_match(p, s)),
            Expr::Criterion(p) => it.criterion.is_some_and(|c| glob_match(p, c)),
            Expr::Subject(p) => {
                glob_match(p, it.subject) || it.also.iter().any(|s| glob_match(p, s))
            }
            Expr::File(p) => glob_match(p, it.file) || glob_match(&format!("**/{p}"), it.file),
            Expr::Tag(p) => it.tags.iter().any(|t| glob_match(p, t)),
            Expr::Not(e) => !e.matches(it),
            Expr::And(a, b) => a.matches(it) && b.matches(it),
            Expr::Or(a, b) => a.matches(it) || b.matches(it),
        }
    }
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn skip(&mut self) {
        while self.text[self.pos..].starts_with(char::is_whitespace) {
            self.pos += self.text[self.pos..]
                .chars()
                .next()
                .map(char::len_utf8)
                .unwrap_or(1);
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip();
        if self.text[self.pos..].starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn error(&self, what: &str) -> String {
        format!("{what} at column {} of `{}`", self.pos + 1, self.text)
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut e = self.and()?;
        while self.eat('|') {
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut e = self.not()?;
        while self.eat('&') {
            e = Expr::And(Box::new(e), Box::new(self.not()?));
        }
        Ok(e)
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.eat('!') {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Expr, String> {
        if self.eat('(') {
            let e = self.or()?;
            if !self.eat(')') {
                return Err(self.error("expected `)`"));
            }
            return Ok(e);
        }
        self.skip();
        let rest = &self.text[self.pos..];
        let name_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let name = &rest[..name_len];
        self.pos += name_len;
        if !self.eat('(') {
            return Err(self.error(
                "expected `story(..)`, `criterion(..)`, `subject(..)`, `file(..)` or `tag(..)`",
            ));
        }
        let rest = &self.text[self.pos..];
        let end = rest.find(')').ok_or_else(|| self.error("expected `)`"))?;
        let value = rest[..end].trim().trim_matches('"').to_string();
        self.pos += end + 1;
        if value.is_empty() {
            return Err(self.error("empty value"));
        }
        Ok(match name {
            "story" => Expr::Story(value),
            "criterion" => Expr::Criterion(value),
            "subject" => Expr::Subject(value),
            "file" => Expr::File(value),
            "tag" => Expr::Tag(value),
            other => {
                return Err(format!(
                    "unknown selector `{other}` in `{}`: use story, criterion, subject, file or tag",
                    self.text
                ));
            }
        })
    }
}

/// Parses an `--only` expression.
pub fn parse_only(text: &str) -> Result<Expr, String> {
    let mut p = Parser { text, pos: 0 };
    let e = p.or()?;
    p.skip();
    if p.pos != text.len() {
        return Err(p.error("unexpected text"));
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item<'a>(crit: &'a str, tags: &'a [String], subjects: &'a [String]) -> Item<'a> {
        Item {
            story: Some("3.6.5"),
            criterion: Some(crit),
            tags,
            subject: subjects.first().map_or("", String::as_str),
            also: subjects.get(1..).unwrap_or(&[]),
            file: "specs/proxy.dspec",
        }
    }

    #[test]
    fn parses_and_matches() {
        let tags = vec!["security".to_string()];
        let subjects = vec!["api".to_string()];
        let e = parse_only("criterion(AC8) | tag(smoke) & !subject(db)").unwrap();
        assert!(e.matches(&item("AC8", &[], &[])));
        assert!(!e.matches(&item("AC1", &tags, &subjects)));
        let e = parse_only("(tag(security) | criterion(AC1)) & file(proxy.dspec)").unwrap();
        assert!(e.matches(&item("AC9", &tags, &subjects)));
        assert!(
            parse_only("criterion(AC*)")
                .unwrap()
                .matches(&item("AC12", &[], &[]))
        );
        assert!(
            parse_only("story(3.6.5)")
                .unwrap()
                .matches(&item("AC1", &[], &[]))
        );
        assert!(parse_only("crit(AC1)").is_err());
        assert!(parse_only("tag(a) |").is_err());
        assert!(parse_only("tag(a").is_err());
    }
}
