//! The build context, exactly as `docker build` (the CLI with the legacy
//! builder) sends it to the daemon.
//!
//! * [`DockerIgnore`] implements the `.dockerignore` semantics of moby's
//!   `patternmatcher` (as used by the docker CLI's `archive.TarWithOptions`):
//!   line reading as in `ignorefile.ReadAll`, pattern cleaning, `!`
//!   exceptions where the last matching rule wins, a rule matching a path or
//!   any of its parent directories, `*`/`?` not crossing `/`, `**` crossing
//!   directories, `[...]` classes, `\` escapes, and the exact-, prefix- and
//!   suffix-match shortcuts that `patternmatcher` takes for some patterns.
//! * [`scan`] walks a context directory the way the CLI's tar writer does
//!   (lstat only, lexical order, the per-directory "parent matched" state,
//!   and the pruning rule for excluded directories).
//! * [`write_tar`] writes the tar the CLI would send, including the
//!   `Dockerfile`/`.dockerignore` that the daemon needs even when ignored,
//!   and a Dockerfile that lives outside the context.
//! * [`glob_files`] answers `context.files("<glob>")` questions.
//!
//! Only `std`, `tar`, `globset` and `regex` are used.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use regex::Regex;

// ---------------------------------------------------------------------------
// .dockerignore
// ---------------------------------------------------------------------------

/// A parsed `.dockerignore` file with Docker's (moby `patternmatcher`)
/// matching semantics.
#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
    exclusions: bool,
}

#[derive(Debug, Clone)]
struct Pattern {
    /// The cleaned pattern without its leading `!`.
    cleaned: String,
    exclusion: bool,
    matcher: Matcher,
}

#[derive(Debug, Clone)]
enum Matcher {
    /// `path == cleaned`
    Exact,
    /// `path.starts_with(cleaned minus the trailing "**")`
    Prefix,
    /// Pattern starting with `**` whose rest is literal.
    Suffix,
    Regex(Regex),
}

impl DockerIgnore {
    /// Parses the text of a `.dockerignore` file.
    ///
    /// Follows `ignorefile.ReadAll` + `patternmatcher.New`: a UTF-8 BOM on the
    /// first line is dropped; lines whose first character is `#` are comments
    /// (a `#` after leading blanks is a pattern); lines are trimmed; blank
    /// lines are skipped; a leading `!` marks an exception; each pattern is
    /// cleaned like Go's `filepath.Clean` and a leading `/` is removed.
    ///
    /// Returns `Err` where `docker build` would fail: a lone `!`, or a
    /// pattern that Go's `filepath.Match` or `regexp` rejects (unclosed
    /// `[`, trailing `\`, `[]`, a reversed range, ...).
    pub fn parse(text: &str) -> Result<DockerIgnore, String> {
        let mut lines: Vec<(usize, String)> = Vec::new();
        for (i, raw) in text.split('\n').enumerate() {
            let mut line = raw.strip_suffix('\r').unwrap_or(raw);
            if i == 0 {
                line = line.strip_prefix('\u{feff}').unwrap_or(line);
            }
            if line.starts_with('#') {
                continue;
            }
            let mut pattern = line.trim();
            if pattern.is_empty() {
                continue;
            }
            let invert = pattern.starts_with('!');
            if invert {
                pattern = pattern[1..].trim();
            }
            let mut p = String::new();
            if !pattern.is_empty() {
                p = go_clean(pattern);
                if p.len() > 1 && p.starts_with('/') {
                    p.remove(0);
                }
            }
            if invert {
                p.insert(0, '!');
            }
            lines.push((i + 1, p));
        }
        Self::build(lines.iter().map(|(n, p)| (Some(*n), p.as_str())))
    }

    /// Builds a matcher from already-read pattern lines (the list that
    /// `ignorefile.ReadAll` returns), like `patternmatcher.New`.
    pub fn from_patterns<S: AsRef<str>>(patterns: &[S]) -> Result<DockerIgnore, String> {
        Self::build(patterns.iter().map(|p| (None, p.as_ref())))
    }

    /// Errors name the line (when known) and quote at most the pattern's first
    /// [`QUOTE_MAX`] characters.
    fn build<'a>(
        patterns: impl Iterator<Item = (Option<usize>, &'a str)>,
    ) -> Result<DockerIgnore, String> {
        let mut out = DockerIgnore::default();
        for (line, p) in patterns {
            let p = p.trim();
            if p.is_empty() {
                continue;
            }
            let fail = |what: String| match line {
                Some(n) => format!("line {n}: {what}"),
                None => what,
            };
            let mut p = go_clean(p);
            let mut exclusion = false;
            if p.starts_with('!') {
                if p.len() == 1 {
                    return Err(fail("illegal exclusion pattern: \"!\"".to_string()));
                }
                exclusion = true;
                p.remove(0);
                out.exclusions = true;
            }
            validate_glob(&p).map_err(|e| fail(format!("{e}: {}", quote_capped(&p))))?;
            let matcher = compile(&p)
                .map_err(|e| fail(format!("syntax error in pattern {}: {e}", quote_capped(&p))))?;
            out.patterns.push(Pattern {
                cleaned: p,
                exclusion,
                matcher,
            });
        }
        Ok(out)
    }

    /// True when the file has no patterns.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The cleaned patterns, exceptions prefixed with `!`, in file order.
    pub fn patterns(&self) -> Vec<String> {
        self.patterns
            .iter()
            .map(|p| {
                if p.exclusion {
                    format!("!{}", p.cleaned)
                } else {
                    p.cleaned.clone()
                }
            })
            .collect()
    }

    /// Would `docker build` leave `rel_path` (slash-separated, relative to
    /// the context root) out of the context?
    ///
    /// This replays the CLI's walk along the path's ancestors (which are
    /// assumed to be directories): each ancestor is matched with its parent's
    /// per-pattern results, and an excluded ancestor that is *pruned* (no `!`
    /// exception starts with `<dir>/`) excludes everything below it, even
    /// paths that a later `!` rule matches (e.g. `dir` + `!**/keep` keeps
    /// nothing under `dir`). For a directory, `true` means its own entry is
    /// not sent (children may still be).
    pub fn excludes(&self, rel_path: &str) -> bool {
        let cleaned = go_clean(rel_path);
        let cleaned = cleaned.trim_start_matches('/');
        if cleaned.is_empty() || cleaned == "." || self.patterns.is_empty() {
            return false;
        }
        let comps: Vec<&str> = cleaned.split('/').collect();
        let mut parent: Option<Vec<bool>> = None;
        let mut prefix = String::new();
        for (i, c) in comps.iter().enumerate() {
            if i > 0 {
                prefix.push('/');
            }
            prefix.push_str(c);
            let (skip, info) = self.match_with_parent(&prefix, parent.as_deref());
            if i + 1 == comps.len() {
                return skip;
            }
            if skip && self.prunes_dir(&prefix) {
                return true;
            }
            parent = Some(info);
        }
        false
    }

    /// `patternmatcher.MatchesOrParentMatches`: true when `path` or one of
    /// its parent directories matches, and no later exception un-matches it.
    /// This ignores directory pruning; see [`DockerIgnore::excludes`].
    pub fn matches_or_parent_matches(&self, path: &str) -> bool {
        self.match_with_parent(path, None).0
    }

    /// `MatchesUsingParentResults`: `parent` is the per-pattern vector that
    /// was returned for the parent directory (None for top-level entries,
    /// which makes it check every parent directory itself).
    fn match_with_parent(&self, file: &str, parent: Option<&[bool]>) -> (bool, Vec<bool>) {
        let mut matched = false;
        let mut info = vec![false; self.patterns.len()];
        for (i, pat) in self.patterns.iter().enumerate() {
            let mut m = parent.map(|p| p[i]).unwrap_or(false);
            if !m {
                if pat.exclusion != matched {
                    continue;
                }
                m = pat.matches(file);
                if !m
                    && parent.is_none()
                    && let Some(pos) = file.rfind('/')
                {
                    let parent_path = &file[..pos];
                    // Every proper prefix made of whole components.
                    let mut end = 0;
                    loop {
                        let next = parent_path[end..].find('/').map(|x| end + x);
                        let candidate = match next {
                            Some(n) => &parent_path[..n],
                            None => parent_path,
                        };
                        if pat.matches(candidate) {
                            m = true;
                            break;
                        }
                        match next {
                            Some(n) => end = n + 1,
                            None => break,
                        }
                    }
                }
            }
            info[i] = m;
            if m {
                matched = !pat.exclusion;
            }
        }
        (matched, info)
    }

    /// Is an excluded directory skipped whole (`filepath.SkipDir`)?
    fn prunes_dir(&self, rel_dir: &str) -> bool {
        if !self.exclusions {
            return true;
        }
        let dir_slash = format!("{rel_dir}/");
        !self
            .patterns
            .iter()
            .any(|p| p.exclusion && format!("{}/", p.cleaned).starts_with(&dir_slash))
    }
}

impl Pattern {
    fn matches(&self, path: &str) -> bool {
        match &self.matcher {
            Matcher::Exact => path == self.cleaned,
            Matcher::Prefix => path.starts_with(&self.cleaned[..self.cleaned.len() - 2]),
            Matcher::Suffix => {
                let suffix = &self.cleaned[2..];
                if path.ends_with(suffix) {
                    return true;
                }
                // "**/foo" matches "foo"
                suffix.starts_with('/') && path == &suffix[1..]
            }
            Matcher::Regex(re) => re.is_match(path),
        }
    }
}

/// Go's `path.Clean` (`filepath.Clean` on Unix).
fn go_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for comp in p.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                if matches!(out.last(), Some(&last) if last != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            c => out.push(c),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// The syntax check `patternmatcher.New` does with `filepath.Match(p, ".")`
/// (Go >= 1.16 validates the whole pattern).
fn validate_glob(pattern: &str) -> Result<(), &'static str> {
    const BAD: &str = "syntax error in pattern";
    let b = pattern.as_bytes();
    let mut rest = b;
    while !rest.is_empty() {
        // scanChunk
        while let [b'*', tail @ ..] = rest {
            rest = tail;
        }
        let mut inrange = false;
        let mut i = 0;
        while i < rest.len() {
            match rest[i] {
                b'\\' if i + 1 < rest.len() => i += 1,
                b'[' => inrange = true,
                b']' => inrange = false,
                b'*' if !inrange => break,
                _ => {}
            }
            i += 1;
        }
        let chunk = &rest[..i];
        rest = &rest[i..];
        // matchChunk's well-formedness checks
        let mut c = chunk;
        while !c.is_empty() {
            match c[0] {
                b'[' => {
                    c = &c[1..];
                    if let [b'^', tail @ ..] = c {
                        c = tail;
                    }
                    let mut nrange = 0;
                    loop {
                        if !c.is_empty() && c[0] == b']' && nrange > 0 {
                            c = &c[1..];
                            break;
                        }
                        c = get_esc(c).ok_or(BAD)?;
                        if c[0] == b'-' {
                            c = get_esc(&c[1..]).ok_or(BAD)?;
                        }
                        nrange += 1;
                    }
                }
                b'\\' => {
                    c = &c[1..];
                    if c.is_empty() {
                        return Err(BAD);
                    }
                    c = &c[1..];
                }
                _ => c = &c[1..],
            }
        }
    }
    Ok(())
}

/// Go's `filepath.getEsc`: returns the remaining chunk, None on error.
fn get_esc(chunk: &[u8]) -> Option<&[u8]> {
    let mut c = chunk;
    if c.is_empty() || c[0] == b'-' || c[0] == b']' {
        return None;
    }
    if c[0] == b'\\' {
        c = &c[1..];
        if c.is_empty() {
            return None;
        }
    }
    let n = utf8_len(c)?;
    let rest = &c[n..];
    if rest.is_empty() {
        return None;
    }
    Some(rest)
}

fn utf8_len(b: &[u8]) -> Option<usize> {
    let n = match b[0] {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => return None,
    };
    if b.len() < n || std::str::from_utf8(&b[..n]).is_err() {
        return None;
    }
    Some(n)
}

/// `Pattern.compile`: builds the Go regexp string exactly as
/// `patternmatcher` does and picks the same match type.
fn compile(pattern: &str) -> Result<Matcher, String> {
    #[derive(PartialEq)]
    enum T {
        Exact,
        Prefix,
        Suffix,
        Regexp,
    }
    let mut re = String::from("^");
    let mut ty = T::Exact;
    let chars: Vec<char> = pattern.chars().collect();
    let mut k = 0;
    let mut i = 0;
    while k < chars.len() {
        let ch = chars[k];
        k += 1;
        let peek = chars.get(k).copied();
        if ch == '*' {
            if peek == Some('*') {
                k += 1;
                if chars.get(k) == Some(&'/') {
                    k += 1;
                }
                if k >= chars.len() {
                    if ty == T::Exact {
                        ty = T::Prefix;
                    } else {
                        re.push_str(".*");
                        ty = T::Regexp;
                    }
                } else {
                    re.push_str("(.*/)?");
                    ty = T::Regexp;
                }
                if i == 0 {
                    ty = T::Suffix;
                }
            } else {
                re.push_str("[^/]*");
                ty = T::Regexp;
            }
        } else if ch == '?' {
            re.push_str("[^/]");
            ty = T::Regexp;
        } else if ".+()|{}$".contains(ch) {
            re.push('\\');
            re.push(ch);
        } else if ch == '\\' {
            if let Some(next) = peek {
                k += 1;
                re.push('\\');
                re.push(next);
                ty = T::Regexp;
            } else {
                re.push('\\');
            }
        } else if ch == '[' || ch == ']' {
            re.push(ch);
            ty = T::Regexp;
        } else {
            re.push(ch);
        }
        i += 1;
    }
    Ok(match ty {
        T::Exact => Matcher::Exact,
        T::Prefix => Matcher::Prefix,
        T::Suffix => Matcher::Suffix,
        T::Regexp => {
            re.push('$');
            let rust = go_regex_to_rust(&re)?;
            Matcher::Regex(Regex::new(&rust).map_err(|e| short_regex_error(&e))?)
        }
    })
}

/// How much of a pattern an error message quotes.
const QUOTE_MAX: usize = 60;

/// `"pattern"`, or its first [`QUOTE_MAX`] characters and its length when longer.
fn quote_capped(p: &str) -> String {
    if p.chars().count() <= QUOTE_MAX {
        return format!("{p:?}");
    }
    let head: String = p.chars().take(QUOTE_MAX).collect();
    format!("{:?}… ({} bytes)", head, p.len())
}

/// The regex crate's error without the regex it echoes (which can be huge).
fn short_regex_error(e: &regex::Error) -> String {
    match e {
        regex::Error::CompiledTooBig(limit) => {
            format!("the pattern is too large (its regex compiles to over {limit} bytes)")
        }
        regex::Error::Syntax(text) => text
            .lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix("error:"))
            .map(|l| l.trim().to_string())
            .unwrap_or_else(|| "invalid pattern".to_string()),
        _ => "invalid pattern".to_string(),
    }
}

/// Translates the Go (RE2) regexp produced by [`compile`] into the `regex`
/// crate's syntax, keeping Go's meaning: `[` inside a class is literal,
/// `&&`/`--`/`~~` are not set operators, `\d`/`\s`/`\w`/`\b` are ASCII,
/// octal escapes exist, unknown escapes are errors.
fn go_regex_to_rust(go: &str) -> Result<String, String> {
    let c: Vec<char> = go.chars().collect();
    let mut out = String::with_capacity(go.len() + 8);
    let mut k = 0;
    while k < c.len() {
        let ch = c[k];
        k += 1;
        match ch {
            '\\' => {
                let (s, nk) = translate_escape(&c, k, false)?;
                out.push_str(&s);
                k = nk;
            }
            '[' => {
                // character class
                out.push('[');
                if c.get(k) == Some(&'^') {
                    out.push('^');
                    k += 1;
                }
                let mut first = true;
                let mut closed = false;
                while k < c.len() {
                    let ch = c[k];
                    if ch == ']' && !first {
                        k += 1;
                        closed = true;
                        break;
                    }
                    first = false;
                    // POSIX class [:name:]
                    if ch == '[' && c.get(k + 1) == Some(&':') {
                        let rest: String = c[k..].iter().collect();
                        if let Some(end) = rest[2..].find(":]") {
                            let item = &rest[..end + 4];
                            out.push_str(item);
                            k += item.chars().count();
                            continue;
                        }
                    }
                    let (lo, nk) = class_char(&c, k)?;
                    k = nk;
                    out.push_str(&lo);
                    if c.get(k) == Some(&'-') && c.get(k + 1).is_some_and(|&n| n != ']') {
                        let (hi, nk) = class_char(&c, k + 1)?;
                        k = nk;
                        out.push('-');
                        out.push_str(&hi);
                    }
                }
                if !closed {
                    return Err("missing closing ]".to_string());
                }
                out.push(']');
            }
            ']' => out.push_str("\\]"),
            _ => out.push(ch),
        }
    }
    Ok(out)
}

/// One class member (a char or an escape) from Go syntax, escaped for Rust.
fn class_char(c: &[char], k: usize) -> Result<(String, usize), String> {
    let ch = c[k];
    if ch == '\\' {
        return translate_escape(c, k + 1, true);
    }
    let s = if "[]\\&~-^".contains(ch) {
        format!("\\{ch}")
    } else {
        ch.to_string()
    };
    Ok((s, k + 1))
}

/// Translates a Go escape whose backslash was just consumed (`k` points at
/// the escaped char). Returns the Rust text and the next index.
fn translate_escape(c: &[char], k: usize, in_class: bool) -> Result<(String, usize), String> {
    let Some(&e) = c.get(k) else {
        return Err("trailing backslash at end of expression".to_string());
    };
    let k = k + 1;
    let ascii = |set: &str, neg: bool| -> String {
        match (in_class, neg) {
            (true, false) => set.to_string(),
            (false, false) => format!("[{set}]"),
            (_, true) => format!("[^{set}]"),
        }
    };
    let s = match e {
        'a' => "\\x07".to_string(),
        'f' | 't' | 'n' | 'r' | 'v' => format!("\\{e}"),
        'd' => ascii("0-9", false),
        'D' => ascii("0-9", true),
        's' => ascii("\\t\\n\\x0C\\r ", false),
        'S' => ascii("\\t\\n\\x0C\\r ", true),
        'w' => ascii("0-9A-Za-z_", false),
        'W' => ascii("0-9A-Za-z_", true),
        'b' | 'B' | 'A' | 'z' if !in_class => match e {
            'b' => "(?-u:\\b)".to_string(),
            'B' => "(?-u:\\B)".to_string(),
            _ => format!("\\{e}"),
        },
        'p' | 'P' => {
            // \pL or \p{Name}; the next char is part of the escape.
            let Some(&n) = c.get(k) else {
                return Err("invalid character class range".to_string());
            };
            if n == '{' {
                let mut j = k;
                let mut s = format!("\\{e}");
                while j < c.len() {
                    s.push(c[j]);
                    j += 1;
                    if c[j - 1] == '}' {
                        return Ok((s, j));
                    }
                }
                return Err("invalid character class range".to_string());
            }
            return Ok((format!("\\{e}{n}"), k + 1));
        }
        'x' => {
            let mut j = k;
            let mut s = String::from("\\x");
            if c.get(j) == Some(&'{') {
                while j < c.len() {
                    s.push(c[j]);
                    j += 1;
                    if c[j - 1] == '}' {
                        return Ok((s, j));
                    }
                }
                return Err("invalid escape sequence".to_string());
            }
            for _ in 0..2 {
                match c.get(j) {
                    Some(h) if h.is_ascii_hexdigit() => {
                        s.push(*h);
                        j += 1;
                    }
                    _ => return Err("invalid escape sequence".to_string()),
                }
            }
            return Ok((s, j));
        }
        '0'..='7' => {
            // Go: \0, \0NN, \NNN octal; a single non-zero digit is a
            // (unsupported) backreference.
            let mut j = k;
            let mut v = e.to_digit(8).unwrap_or(0);
            let mut digits = 1;
            while digits < 3 {
                match c.get(j).and_then(|d| d.to_digit(8)) {
                    Some(d) => {
                        v = v * 8 + d;
                        j += 1;
                        digits += 1;
                    }
                    None => break,
                }
            }
            if e != '0' && digits == 1 {
                return Err("invalid escape sequence".to_string());
            }
            return Ok((format!("\\x{{{v:x}}}"), j));
        }
        e if e.is_ascii() && !e.is_ascii_alphanumeric() => {
            // Go: an escaped ASCII non-alphanumeric char is that literal char. (Rust
            // gives `\<`/`\>` a meaning, so re-escape only what Rust needs.)
            if in_class {
                if "[]\\&~-^".contains(e) {
                    format!("\\{e}")
                } else {
                    e.to_string()
                }
            } else {
                regex::escape(&e.to_string())
            }
        }
        e if e.is_ascii() => return Err(format!("invalid escape sequence: \\{e}")),
        // Go rejects escaping non-ASCII characters too.
        _ => return Err(format!("invalid escape sequence: \\{e}")),
    };
    Ok((s, k))
}

// ---------------------------------------------------------------------------
// Context scan
// ---------------------------------------------------------------------------

/// What kind of filesystem object a context entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContextKind {
    File,
    Dir,
    Symlink,
    Fifo,
    CharDevice,
    BlockDevice,
}

/// One path that `COPY . /x` would see (relative to the context root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextEntry {
    /// Slash-separated path relative to the context root, e.g. `src/main.rs`.
    pub rel_path: String,
    pub kind: ContextKind,
    /// Bytes of data for regular files, 0 otherwise.
    pub size: u64,
    /// Permission bits incl. setuid/setgid/sticky (`st_mode & 0o7777`).
    pub mode: u32,
    /// Target of a symlink, verbatim.
    pub link_target: Option<String>,
    /// (st_dev, st_ino) for hardlink detection.
    dev_ino: (u64, u64),
    nlink: u64,
}

/// A scanned build context.
#[derive(Debug, Clone)]
pub struct Context {
    /// The context directory as given to [`scan`].
    pub root: PathBuf,
    /// Every entry the CLI puts in the tar, minus an ignored `Dockerfile` /
    /// `.dockerignore` (the daemon deletes those after reading them), i.e.
    /// exactly what `COPY . /x` would see, sorted by `rel_path` (byte
    /// order). Directories that are excluded but not pruned (because a `!`
    /// rule may re-include something below them) have no entry of their
    /// own: the daemon re-creates them implicitly when it unpacks a child,
    /// so `COPY . /x` shows them (as it shows the parents of every entry).
    /// One more implicit directory is not listed here: when the build's
    /// Dockerfile lies in an ignored directory (`-f docker/Dockerfile` with
    /// `docker` ignored), the daemon deletes the Dockerfile but the directory
    /// it was unpacked into stays, empty, in `COPY . /x` (measured).
    pub files: Vec<ContextEntry>,
    /// Bytes of regular-file data in `files` (a hardlinked file counts once,
    /// as the tar carries its data once). Not counted: a Dockerfile or
    /// `.dockerignore` that is sent only because the daemon needs it.
    pub total_size: u64,
    /// The parsed `.dockerignore` (empty when the file does not exist).
    pub ignore: DockerIgnore,
}

/// Scans a context directory the way `docker build <dir>` does.
///
/// Reads `<root>/.dockerignore` if present (following a symlink, like the
/// CLI) and walks the tree in lexical order without following symlinks.
/// Sockets are skipped (the CLI skips them). An excluded directory is pruned
/// only when no `!` exception pattern starts with `<dir>/`; otherwise its
/// children are matched one by one.
///
/// Errors: an unreadable `.dockerignore`, an invalid pattern
/// (`InvalidData`), or an unreadable directory that is not pruned.
pub fn scan(root: &Path) -> io::Result<Context> {
    let ignore_path = root.join(".dockerignore");
    let ignore = match fs::read(&ignore_path) {
        Ok(bytes) => DockerIgnore::parse(&String::from_utf8_lossy(&bytes)).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}, {e}", ignore_path.display()),
            )
        })?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => DockerIgnore::default(),
        Err(e) => return Err(at(&ignore_path, e)),
    };
    let mut files = Vec::new();
    walk(root, "", None, &ignore, &mut files)?;
    files.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
    let mut seen = std::collections::HashSet::new();
    let mut total_size = 0;
    for f in &files {
        if f.kind == ContextKind::File && (f.nlink <= 1 || seen.insert(f.dev_ino)) {
            total_size += f.size;
        }
    }
    Ok(Context {
        root: root.to_path_buf(),
        files,
        total_size,
        ignore,
    })
}

fn walk(
    dir: &Path,
    prefix: &str,
    parent: Option<&[bool]>,
    ignore: &DockerIgnore,
    out: &mut Vec<ContextEntry>,
) -> io::Result<()> {
    let mut names: Vec<std::ffi::OsString> = fs::read_dir(dir)
        .and_then(|rd| rd.map(|e| e.map(|e| e.file_name())).collect())
        .map_err(|e| at(dir, e))?;
    names.sort();
    for name in names {
        let name_str = name.to_str().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("non-UTF-8 file name in context: {:?}", dir.join(&name)),
            )
        })?;
        let rel = if prefix.is_empty() {
            name_str.to_string()
        } else {
            format!("{prefix}/{name_str}")
        };
        let path = dir.join(&name);
        let meta = fs::symlink_metadata(&path).map_err(|e| at(&path, e))?;
        let ft = meta.file_type();
        let (skip, info) = if ignore.is_empty() {
            (false, Vec::new())
        } else {
            ignore.match_with_parent(&rel, parent)
        };
        if skip {
            if !ft.is_dir() || ignore.prunes_dir(&rel) {
                continue;
            }
            walk(&path, &rel, Some(&info), ignore, out)?;
            continue;
        }
        let kind = if ft.is_dir() {
            ContextKind::Dir
        } else if ft.is_symlink() {
            ContextKind::Symlink
        } else if ft.is_file() {
            ContextKind::File
        } else if ft.is_fifo() {
            ContextKind::Fifo
        } else if ft.is_char_device() {
            ContextKind::CharDevice
        } else if ft.is_block_device() {
            ContextKind::BlockDevice
        } else {
            continue; // socket
        };
        let link_target = if kind == ContextKind::Symlink {
            Some(
                fs::read_link(&path)
                    .map_err(|e| at(&path, e))?
                    .to_string_lossy()
                    .into_owned(),
            )
        } else {
            None
        };
        out.push(ContextEntry {
            rel_path: rel.clone(),
            kind,
            size: if kind == ContextKind::File {
                meta.len()
            } else {
                0
            },
            mode: meta.mode() & 0o7777,
            link_target,
            dev_ino: (meta.dev(), meta.ino()),
            nlink: meta.nlink(),
        });
        if kind == ContextKind::Dir {
            walk(&path, &rel, Some(&info), ignore, out)?;
        }
    }
    Ok(())
}

/// Context entries whose `rel_path` matches `pattern` (relative glob; a
/// leading `/` or `./` is ignored; `*` and `?` do not cross `/`, `**`
/// matches any number of directories, `[...]` classes, `\` escapes).
/// Directories are not returned. An invalid pattern matches nothing.
///
/// Example: `glob_files(&ctx, ".git/**")`.
pub fn glob_files<'a>(ctx: &'a Context, pattern: &str) -> Vec<&'a ContextEntry> {
    let pat = pattern.trim_start_matches("./").trim_start_matches('/');
    let Ok(m) = crate::glob::compile(pat) else {
        return Vec::new();
    };
    ctx.files
        .iter()
        .filter(|e| e.kind != ContextKind::Dir && m.is_match(&e.rel_path))
        .collect()
}

// ---------------------------------------------------------------------------
// Context tar
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Source {
    /// A file inside the context, by relative path.
    Disk,
    /// Generated bytes (outside Dockerfile, rewritten .dockerignore).
    Bytes(Vec<u8>),
}

/// What [`write_tar`] will write, decided before any byte is written: the entries in order
/// and the Dockerfile's name inside the tar. Cheap to make (no file data is read, only a
/// Dockerfile outside the context and `.dockerignore`); [`TarPlan::write`] then streams the
/// tar into any writer, so a build can send the context while it is being read.
#[derive(Debug, Clone)]
pub struct TarPlan {
    root: PathBuf,
    items: Vec<(String, Source)>,
    dockerfile: String,
    now: u64,
}

/// `<path>: <error>`, keeping the error's kind: every I/O error of the context names the path
/// it happened on.
fn at(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Decides the context tar the docker CLI would send for `ctx` (see [`write_tar`]).
pub fn plan_tar(ctx: &Context, dockerfile: &Path) -> io::Result<TarPlan> {
    let root = fs::canonicalize(&ctx.root).map_err(|e| at(&ctx.root, e))?;
    let df_abs = if dockerfile.is_absolute() {
        dockerfile.to_path_buf()
    } else {
        ctx.root.join(dockerfile)
    };
    let df_abs = fs::canonicalize(&df_abs)
        .map_err(|e| io::Error::new(e.kind(), format!("Dockerfile {}: {e}", df_abs.display())))?;
    let inside = df_abs
        .strip_prefix(&root)
        .ok()
        .and_then(|p| p.to_str())
        .map(|s| s.to_string());

    let mut items: Vec<(String, Source)> = ctx
        .files
        .iter()
        .map(|e| (e.rel_path.clone(), Source::Disk))
        .collect();
    let in_files = |items: &Vec<(String, Source)>, p: &str| items.iter().any(|(r, _)| r == p);

    let ignore_path = ctx.root.join(".dockerignore");
    let dockerignore_exists = fs::symlink_metadata(&ignore_path).is_ok();
    let df_name;
    match inside {
        Some(rel) if !rel.is_empty() => {
            if !in_files(&items, &rel) {
                items.push((rel.clone(), Source::Disk));
            }
            if dockerignore_exists && !in_files(&items, ".dockerignore") {
                items.push((".dockerignore".to_string(), Source::Disk));
            }
            df_name = rel;
        }
        _ => {
            let content = fs::read(&df_abs).map_err(|e| at(&df_abs, e))?;
            let mut name = format!(".dspec-Dockerfile-{:016x}", crate::fnv::fnv1a(&content));
            let mut n = 0;
            while in_files(&items, &name) {
                n += 1;
                name = format!(".dspec-Dockerfile-{:016x}-{n}", crate::fnv::fnv1a(&content));
            }
            let mut ignore_text = if dockerignore_exists {
                fs::read(&ignore_path).map_err(|e| at(&ignore_path, e))?
            } else {
                b".dockerignore".to_vec()
            };
            ignore_text.extend_from_slice(format!("\n{name}\n").as_bytes());
            items.retain(|(r, _)| r != ".dockerignore");
            items.push((".dockerignore".to_string(), Source::Bytes(ignore_text)));
            items.push((name.clone(), Source::Bytes(content)));
            df_name = name;
        }
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Ok(TarPlan {
        root: ctx.root.clone(),
        items,
        dockerfile: df_name,
        now,
    })
}

impl TarPlan {
    /// The Dockerfile's path inside the tar (the build's `dockerfile` option).
    pub fn dockerfile_name(&self) -> &str {
        &self.dockerfile
    }

    /// Writes the tar, reading each file as it goes: memory stays bounded whatever the
    /// context's size. Every I/O error names the path it happened on.
    pub fn write<W: Write>(self, w: W) -> io::Result<()> {
        let mut builder = tar::Builder::new(w);
        let mut seen: HashMap<(u64, u64), String> = HashMap::new();
        for (rel, src) in self.items {
            let path = self.root.join(&rel);
            match src {
                Source::Bytes(data) => {
                    let mut h = tar::Header::new_gnu();
                    match fs::metadata(&path) {
                        // keep the original .dockerignore's mode and mtime
                        Ok(meta) if rel == ".dockerignore" => {
                            h.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
                            h.set_mode(meta.mode() & 0o7777);
                        }
                        _ => {
                            h.set_mode(0o600);
                            h.set_mtime(self.now);
                        }
                    }
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_uid(0);
                    h.set_gid(0);
                    h.set_size(data.len() as u64);
                    builder.append_data(&mut h, &rel, &data[..])?;
                }
                Source::Disk => {
                    append_disk(&mut builder, &path, &rel, &mut seen).map_err(|e| at(&path, e))?;
                }
            }
        }
        builder.into_inner()?.flush()
    }
}

/// Appends one file of the context, from `lstat` at write time.
fn append_disk<W: Write>(
    builder: &mut tar::Builder<W>,
    path: &Path,
    rel: &str,
    seen: &mut HashMap<(u64, u64), String>,
) -> io::Result<()> {
    let meta = fs::symlink_metadata(path)?;
    let ft = meta.file_type();
    let mut h = tar::Header::new_gnu();
    h.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
    h.set_mode(meta.mode() & 0o7777);
    h.set_uid(0);
    h.set_gid(0);
    if ft.is_dir() {
        h.set_size(0);
        builder.append_data(&mut h, format!("{rel}/"), io::empty())?;
    } else if ft.is_symlink() {
        h.set_size(0);
        let target = fs::read_link(path)?;
        builder.append_link(&mut h, rel, target)?;
    } else if ft.is_file() {
        if meta.nlink() > 1 {
            if let Some(first) = seen.get(&(meta.dev(), meta.ino())) {
                h.set_entry_type(tar::EntryType::Link);
                h.set_size(0);
                builder.append_link(&mut h, rel, first)?;
                return Ok(());
            }
            seen.insert((meta.dev(), meta.ino()), rel.to_string());
        }
        h.set_size(meta.len());
        let f = fs::File::open(path)?;
        builder.append_data(&mut h, rel, ExactLen::new(f, meta.len()))?;
    } else if ft.is_char_device() || ft.is_block_device() || ft.is_fifo() {
        h.set_size(0);
        if !ft.is_fifo() {
            let rdev = meta.rdev();
            let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
            let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
            h.set_device_major(major as u32)?;
            h.set_device_minor(minor as u32)?;
        }
        builder.append_data(&mut h, rel, io::empty())?;
    }
    // sockets: skipped, like the CLI
    Ok(())
}

/// Writes the context tar the docker CLI would send for `ctx` and returns
/// the Dockerfile's path inside the tar (the build's `dockerfile` option).
///
/// * Entries: every `ctx.files` entry, in `rel_path` order, with headers
///   filled from `lstat` at write time (`HeaderMode::Complete`: mode bits and
///   mtime kept), uid/gid 0, no user/group names; directories end in `/`;
///   symlinks stay symlinks; a regular file with several links in the
///   context is sent once and then as hardlinks (like the CLI).
/// * `dockerfile` relative paths are relative to `ctx.root` (the CLI takes
///   `-f` relative to the current directory: pass an absolute path to get
///   that). Symlinks in both paths are resolved, as the CLI does.
/// * A Dockerfile inside the context is always sent under its relative path,
///   even when `.dockerignore` excludes it; so is `.dockerignore`. The
///   legacy daemon reads both and deletes the ignored ones.
/// * A Dockerfile outside the context is added as
///   `.dspec-Dockerfile-<hash of its content>`, and that name is appended to
///   the tar's `.dockerignore` (which is created as `.dockerignore\n<name>\n`
///   when the context has none), exactly as the CLI does with its
///   `.dockerfile.<random>` name, so the daemon deletes it and `COPY . /x`
///   does not see it.
///
/// The same as [`plan_tar`] followed by [`TarPlan::write`].
pub fn write_tar<W: Write>(ctx: &Context, dockerfile: &Path, w: W) -> io::Result<String> {
    let plan = plan_tar(ctx, dockerfile)?;
    let name = plan.dockerfile_name().to_string();
    plan.write(w)?;
    Ok(name)
}

/// A reader that yields exactly `len` bytes or fails (a file that changed
/// size between stat and read must not corrupt the tar).
struct ExactLen<R> {
    inner: R,
    left: u64,
}

impl<R: Read> ExactLen<R> {
    fn new(inner: R, len: u64) -> Self {
        ExactLen { inner, left: len }
    }
}

impl<R: Read> Read for ExactLen<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let max = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..max])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file shrank while it was being sent",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    fn di(text: &str) -> DockerIgnore {
        DockerIgnore::parse(text).unwrap()
    }

    #[test]
    fn clean() {
        assert_eq!(go_clean("a/b/../c/./d/"), "a/c/d");
        assert_eq!(go_clean("../a"), "../a");
        assert_eq!(go_clean("/../a"), "/a");
        assert_eq!(go_clean("./"), ".");
        assert_eq!(go_clean("//x//"), "/x");
        assert_eq!(go_clean("!a/../b"), "b");
    }

    #[test]
    fn parse_lines() {
        let d = di(
            "\u{feff}# comment\n\n  *.log  \r\n /abs/x \n!  keep.log\n #not-a-comment\n./a/../b/\n/\n",
        );
        assert_eq!(
            d.patterns(),
            vec!["*.log", "abs/x", "!keep.log", "#not-a-comment", "b", "/"]
        );
        assert!(DockerIgnore::parse("!\n").is_err());
        assert!(DockerIgnore::parse("! \n").is_err());
        assert!(DockerIgnore::parse("!/\n").is_err());
        assert!(DockerIgnore::parse("").unwrap().is_empty());
    }

    #[test]
    fn pattern_errors_name_the_line_and_quote_little() {
        // A 40 KB pattern whose regex is over the size limit.
        let huge = "*a".repeat(20_000);
        let err = DockerIgnore::parse(&format!("# big\nok\n\n{huge}\n")).unwrap_err();
        assert!(err.starts_with("line 4: "), "{err}");
        assert!(err.contains("too large"), "{err}");
        assert!(err.contains("(40000 bytes)"), "{err}");
        assert!(err.len() < 300, "{} bytes: {err}", err.len());
        // A syntax error: the line, the pattern, and a one-line reason.
        let err = DockerIgnore::parse("a\nb\n  [z-a]\n").unwrap_err();
        assert!(err.starts_with("line 3: "), "{err}");
        assert!(err.contains("\"[z-a]\""), "{err}");
        assert!(!err.contains('\n'), "{err}");
        let err = DockerIgnore::parse("x\n!\n").unwrap_err();
        assert_eq!(err, "line 2: illegal exclusion pattern: \"!\"");
        // Without lines (from_patterns), no line is named.
        let err = DockerIgnore::from_patterns(&["["]).unwrap_err();
        assert!(err.starts_with("syntax error in pattern"), "{err}");
    }

    #[test]
    fn scan_errors_name_the_path() {
        let dir = std::env::temp_dir().join(format!("dspec-ctx-err-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("sub")).unwrap();
        fs::write(dir.join("Dockerfile"), "FROM scratch\n").unwrap();
        fs::write(dir.join("sub/gone.txt"), "x").unwrap();
        // A file that vanishes between the scan and the tar.
        let ctx = scan(&dir).unwrap();
        fs::remove_file(dir.join("sub/gone.txt")).unwrap();
        let err = write_tar(&ctx, &dir.join("Dockerfile"), io::sink()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(
            err.to_string()
                .contains(&format!("{}", dir.join("sub/gone.txt").display())),
            "{err}"
        );
        // An invalid .dockerignore names the file and the line.
        fs::write(
            dir.join(".dockerignore"),
            format!("ok\n{}\n", "*a".repeat(20_000)),
        )
        .unwrap();
        let err = scan(&dir).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "{}, line 2: ",
                dir.join(".dockerignore").display()
            )),
            "{err}"
        );
        assert!(err.len() < 400, "{err}");
        // A context that is not a directory.
        let err = scan(&dir.join("Dockerfile")).unwrap_err().to_string();
        assert!(err.contains("Dockerfile"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_patterns() {
        for p in [
            "[", "a[", "[]", "[]a]", "[^]", "[-a]", "[a-]", "a\\", "[a\\]", "[z-a]", "\\q", "\\1",
        ] {
            assert!(DockerIgnore::parse(p).is_err(), "{p:?} should be rejected");
        }
        for p in [
            "]",
            "a]b",
            "[!a]",
            "[a-z]",
            "[\\]]",
            "[*]",
            "\\[x",
            "\\*",
            "\\01",
            "[[:alpha:]]x*",
        ] {
            assert!(DockerIgnore::parse(p).is_ok(), "{p:?} should be accepted");
        }
    }

    #[test]
    fn star_does_not_cross_slash() {
        let d = di("*.log");
        assert!(d.excludes("a.log"));
        assert!(!d.excludes("logs/b.log"));
        assert!(!d.excludes("sub/deep/c.log"));
        let d = di("*/*.log");
        assert!(!d.excludes("a.log"));
        assert!(d.excludes("logs/b.log"));
        assert!(!d.excludes("sub/deep/c.log"));
    }

    #[test]
    fn double_star() {
        let d = di("**/*.tmp");
        assert!(d.excludes("x.tmp"));
        assert!(d.excludes("a/b/c/x.tmp"));
        assert!(!d.excludes("a/b/x.tmpl"));
        let d = di("a/**/b");
        assert!(d.excludes("a/b"));
        assert!(d.excludes("a/x/y/b"));
        assert!(d.excludes("a/x/y/b/inner"));
        assert!(!d.excludes("ab"));
        let d = di("foo/**");
        assert!(d.excludes("foo/x"));
        assert!(d.excludes("foo/x/y"));
        assert!(!d.excludes("foo"));
        // ** alone excludes everything
        let d = di("**");
        assert!(d.excludes("anything"));
        assert!(d.excludes("a/b"));
    }

    #[test]
    fn suffix_shortcut_quirk() {
        // patternmatcher's suffix shortcut: "**foo" is HasSuffix("foo"), so it
        // matches "xfoo" although the regexp it would build would not.
        let d = di("**foo");
        assert!(d.excludes("xfoo"));
        assert!(d.excludes("a/bfoo"));
        let d = di("**/foo.txt");
        assert!(d.excludes("foo.txt"));
        assert!(d.excludes("a/b/foo.txt"));
        assert!(!d.excludes("a/xfoo.txt"));
        // prefix shortcut: "foo**" matches anything starting with foo
        let d = di("foo**");
        assert!(d.excludes("foobar"));
        assert!(d.excludes("foo"));
        assert!(d.excludes("foo/x"));
    }

    #[test]
    fn question_and_classes() {
        let d = di("?.txt\n[a-c]*.md\n[^x]y\n[!q]z");
        assert!(d.excludes("a.txt"));
        assert!(!d.excludes("ab.txt"));
        assert!(!d.excludes("/.txt"));
        assert!(d.excludes("b-readme.md"));
        assert!(!d.excludes("d.md"));
        assert!(d.excludes("ay"));
        assert!(!d.excludes("xy"));
        // Go's regexp class [!q] is "! or q", not a negation
        assert!(d.excludes("qz"));
        assert!(d.excludes("!z"));
        assert!(!d.excludes("az"));
    }

    #[test]
    fn escapes_and_regex_specials() {
        let d = di("a\\*b\nfile(1).txt\nx+y\n\\[literal\\]\nweird{1}$");
        assert!(d.excludes("a*b"));
        assert!(!d.excludes("axb"));
        assert!(d.excludes("file(1).txt"));
        assert!(!d.excludes("file1.txt"));
        assert!(d.excludes("x+y"));
        assert!(!d.excludes("xxy"));
        assert!(d.excludes("[literal]"));
        assert!(d.excludes("weird{1}$"));
        // the "." is literal
        let d = di("a.b");
        assert!(!d.excludes("axb"));
        // \d is Go regexp's ASCII digit class after the escape
        let d = di("v\\d");
        assert!(d.excludes("v1"));
        assert!(!d.excludes("vd"));
        // `*` inside a class becomes "[^/]*" in Go's regexp: [*] is
        // class{[,^,/} repeated, followed by a literal ']'
        let d = di("[*]");
        assert!(d.excludes("]"));
        assert!(d.excludes("[^]"));
        assert!(!d.excludes("*"));
    }

    #[test]
    fn parent_directory_matches() {
        let d = di("build");
        assert!(d.excludes("build"));
        assert!(d.excludes("build/x/y"));
        assert!(!d.excludes("src/build"));
        let d = di("src/gen");
        assert!(d.excludes("src/gen/a.rs"));
        assert!(!d.excludes("gen/a.rs"));
    }

    #[test]
    fn exceptions_last_rule_wins() {
        let d = di("*.md\n!README.md\nREADME*");
        assert!(d.excludes("a.md"));
        assert!(d.excludes("README.md"));
        let d = di("*.md\n!README.md");
        assert!(!d.excludes("README.md"));
        // Re-including a file inside an excluded dir needs an exception that
        // starts with "<dir>/" to stop the dir from being pruned.
        let d = di("logs\n!logs/keep.log");
        assert!(d.excludes("logs"));
        assert!(d.excludes("logs/other.log"));
        assert!(!d.excludes("logs/keep.log"));
        // ...otherwise the dir is pruned and the exception cannot reach in.
        let d = di("logs\n!**/keep.log");
        assert!(d.excludes("logs/keep.log"));
        assert!(!d.excludes("keep.log"));
        // Without the walk (matches_or_parent_matches) it would be kept.
        assert!(!d.matches_or_parent_matches("logs/keep.log"));
        // exception with a wildcard under the dir prefix keeps the dir open
        let d = di("logs\n!logs/*.keep");
        assert!(!d.excludes("logs/a.keep"));
        assert!(d.excludes("logs/a.log"));
    }

    #[test]
    fn walk_parent_results_differ_from_or_parent() {
        // MatchesUsingParentResults does not re-check parents for a pattern
        // that was skipped at the parent level: with "a/b" then "!a", "a/b"
        // stays excluded during the walk, while MatchesOrParentMatches says
        // it is included.
        let d = di("a/b\n!a");
        assert!(d.excludes("a/b"));
        assert!(!d.matches_or_parent_matches("a/b"));
        assert!(!d.excludes("a"));
        assert!(!d.excludes("a/c"));
    }

    #[test]
    fn anchored_and_dot_patterns() {
        let d = di("/secret.txt\n./tmp/\n/");
        assert!(d.excludes("secret.txt"));
        assert!(!d.excludes("sub/secret.txt"));
        assert!(d.excludes("tmp/x"));
        assert!(!d.excludes("x"));
        let d = di(".");
        assert!(!d.excludes("x"));
        let d = di("*");
        assert!(d.excludes("x"));
        assert!(d.excludes("x/y"));
    }

    #[test]
    fn glob_over_context() {
        let mk = |p: &str, kind| ContextEntry {
            rel_path: p.to_string(),
            kind,
            size: 1,
            mode: 0o644,
            link_target: None,
            dev_ino: (0, 0),
            nlink: 1,
        };
        let ctx = Context {
            root: PathBuf::from("/nonexistent"),
            files: vec![
                mk(".git", ContextKind::Dir),
                mk(".git/HEAD", ContextKind::File),
                mk(".git/refs", ContextKind::Dir),
                mk(".git/refs/main", ContextKind::File),
                mk("a.rs", ContextKind::File),
                mk("src/b.rs", ContextKind::File),
            ],
            total_size: 4,
            ignore: DockerIgnore::default(),
        };
        let names =
            |v: Vec<&ContextEntry>| v.iter().map(|e| e.rel_path.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(glob_files(&ctx, ".git/**")),
            vec![".git/HEAD", ".git/refs/main"]
        );
        assert_eq!(names(glob_files(&ctx, "*.rs")), vec!["a.rs"]);
        assert_eq!(names(glob_files(&ctx, "**/*.rs")), vec!["a.rs", "src/b.rs"]);
        assert_eq!(names(glob_files(&ctx, "/src/*")), vec!["src/b.rs"]);
        assert!(glob_files(&ctx, "[").is_empty());
    }
}
