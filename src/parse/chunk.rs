//! Splits a file into its top-level statements before pest sees it. Each statement is then
//! parsed alone, which buys two things:
//!
//! - memory: pest's token queue holds one statement, not the whole file, so a 50 MB spec
//!   parses in memory bounded by its AST;
//! - recovery: a syntax error ends its statement only, and every statement's errors are
//!   reported (issue 15, item 1); an unclosed bracket is named at its opening (item 2).
//!
//! The scanner knows just enough of the lexical rules to find statement ends: strings and
//! regexes end at their unescaped delimiter or at the end of the line, `#` comments at the end
//! of the line, and a newline or `;` ends a statement only outside brackets. Attribute lines
//! (`@tag x`) belong to the statement after them.

/// A bracket opened and never closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Unclosed {
    /// Byte offset of the bracket.
    pub open: usize,
    pub bracket: u8,
    /// Where it should have been closed at the latest: the start of the line that begins the
    /// next statement, or the end of the file.
    pub noticed: usize,
}

/// One top-level statement (with the comments and blank lines before it).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Chunk {
    pub start: usize,
    pub end: usize,
    /// Brackets of this statement that were never closed: it is not parsed.
    pub unclosed: Vec<Unclosed>,
}

#[derive(Clone, Copy)]
struct Open {
    pos: usize,
    bracket: u8,
    /// A `{` that opens a settings block or a criterion (not a JSON object).
    block: bool,
}

/// Words that start a statement only at the top level.
fn top_level_start(text: &str, at: usize) -> bool {
    let rest = &text[at..];
    let word_end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(rest.len());
    let word = &rest[..word_end];
    let after = rest[word_end..].trim_start_matches([' ', '\t']);
    match word {
        "story" => after.starts_with('"'),
        "criterion" => after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'),
        // `NAME = ...` after the keyword: a declaration, not a setting such as `command "x"`.
        "let" | "image" | "container" | "stack" | "command" | "task" | "request" => {
            let name_end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .unwrap_or(after.len());
            name_end > 0
                && after[name_end..]
                    .trim_start_matches([' ', '\t'])
                    .starts_with('=')
                && !after[name_end..]
                    .trim_start_matches([' ', '\t'])
                    .starts_with("==")
        }
        _ => false,
    }
}

/// `expect` and `do` start a statement inside a criterion or at the top level.
fn inner_start(text: &str, at: usize) -> bool {
    let rest = &text[at..];
    ["expect", "do"]
        .iter()
        .any(|w| rest.starts_with(w) && rest[w.len()..].starts_with([' ', '\t', '\n']))
}

/// Whether a `{` at `at` opens a JSON object: it follows `=`, `:`, `,`, `[`, `(` or `contains`.
fn opens_object(text: &str, at: usize) -> bool {
    let before = text[..at].trim_end_matches([' ', '\t']);
    before.ends_with(['=', ':', ',', '[', '(', '{'])
        || before.ends_with("contains")
            && !before[..before.len() - "contains".len()]
                .ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

pub(super) fn split(text: &str) -> Vec<Chunk> {
    let b = text.as_bytes();
    let mut chunks = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut unclosed: Vec<Unclosed> = Vec::new();
    let mut start = 0;
    // The statement so far holds something besides blanks and comments; it is only
    // attribute lines (`@tag`), which belong to the next statement.
    let mut content = false;
    let mut only_attributes = true;
    let mut line_start = true;
    let mut i = 0;
    let close =
        |chunks: &mut Vec<Chunk>, start: usize, end: usize, unclosed: &mut Vec<Unclosed>| {
            chunks.push(Chunk {
                start,
                end,
                unclosed: std::mem::take(unclosed),
            });
        };
    while i < b.len() {
        let c = b[i];
        if line_start && c != b' ' && c != b'\t' && c != b'\r' {
            line_start = false;
            if c != b'\n' && c != b'#' && !stack.is_empty() {
                if top_level_start(text, i) {
                    // Everything still open belongs to the statement before this line.
                    for o in stack.drain(..) {
                        unclosed.push(Unclosed {
                            open: o.pos,
                            bracket: o.bracket,
                            noticed: i,
                        });
                    }
                    let line = text[..i].rfind('\n').map_or(0, |n| n + 1);
                    close(&mut chunks, start, line, &mut unclosed);
                    start = line;
                    content = false;
                    only_attributes = true;
                } else if inner_start(text, i) {
                    // Brackets inside a statement do not run past the next `expect`.
                    while let Some(o) = stack.last().copied().filter(|o| !o.block) {
                        stack.pop();
                        unclosed.push(Unclosed {
                            open: o.pos,
                            bracket: o.bracket,
                            noticed: i,
                        });
                    }
                    if stack.is_empty() {
                        let line = text[..i].rfind('\n').map_or(0, |n| n + 1);
                        close(&mut chunks, start, line, &mut unclosed);
                        start = line;
                        content = false;
                        only_attributes = true;
                    }
                }
            }
        }
        match c {
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' | b'/' => {
                content = true;
                only_attributes = false;
                i += 1;
                while i < b.len() && b[i] != c && b[i] != b'\n' {
                    if b[i] == b'\\' && i + 1 < b.len() && b[i + 1] != b'\n' {
                        i += 1;
                    }
                    i += 1;
                }
                if i < b.len() && b[i] == c {
                    i += 1;
                }
                continue;
            }
            b'{' | b'(' | b'[' => {
                content = true;
                only_attributes = false;
                stack.push(Open {
                    pos: i,
                    bracket: c,
                    block: c == b'{' && !opens_object(text, i),
                });
            }
            b'}' | b')' | b']' => {
                let want = match c {
                    b'}' => b'{',
                    b')' => b'(',
                    _ => b'[',
                };
                if let Some(at) = stack.iter().rposition(|o| o.bracket == want) {
                    for o in stack.drain(at + 1..) {
                        unclosed.push(Unclosed {
                            open: o.pos,
                            bracket: o.bracket,
                            noticed: i,
                        });
                    }
                    stack.pop();
                }
            }
            b'\n' | b';' => {
                if c == b'\n' {
                    line_start = true;
                }
                if stack.is_empty() && content && !only_attributes {
                    close(&mut chunks, start, i, &mut unclosed);
                    start = i;
                    content = false;
                    only_attributes = true;
                }
            }
            b' ' | b'\t' | b'\r' => {}
            b'@' if only_attributes => {
                // An attribute line: the statement it belongs to starts on a later line.
                content = true;
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            _ => {
                content = true;
                only_attributes = false;
            }
        }
        i += 1;
    }
    for o in stack.drain(..) {
        unclosed.push(Unclosed {
            open: o.pos,
            bracket: o.bracket,
            noticed: b.len(),
        });
    }
    if content || !unclosed.is_empty() {
        close(&mut chunks, start, b.len(), &mut unclosed);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(text: &str) -> Vec<&str> {
        split(text)
            .iter()
            .map(|c| text[c.start..c.end].trim_matches(|ch: char| ch.is_whitespace() || ch == ';'))
            .collect()
    }

    #[test]
    fn statements_end_at_newlines_and_semicolons_outside_brackets() {
        let text = "image a = build \".\" {\n  target \"x\"; tag \"y\"\n}\nexpect a.size < 1MB; expect a.built\n\
                    @tag smoke\ncriterion C { expect a.get(\"/;#{\").json == {\"k\": [1,\n 2]} }\n# end\n";
        assert_eq!(
            parts(text),
            [
                "image a = build \".\" {\n  target \"x\"; tag \"y\"\n}",
                "expect a.size < 1MB",
                "expect a.built",
                "@tag smoke\ncriterion C { expect a.get(\"/;#{\").json == {\"k\": [1,\n 2]} }",
            ]
        );
        assert!(split(text).iter().all(|c| c.unclosed.is_empty()));
    }

    #[test]
    fn an_unclosed_block_ends_at_the_next_declaration() {
        let text = "criterion C {\n  expect a.built\nimage a = build \".\"\nexpect a.built\n";
        let chunks = split(text);
        assert_eq!(chunks.len(), 3);
        assert_eq!(
            chunks[0].unclosed,
            [Unclosed {
                open: 12,
                bracket: b'{',
                noticed: 31
            }]
        );
        assert!(chunks[1].unclosed.is_empty());
    }

    #[test]
    fn an_unclosed_call_ends_at_the_next_expect() {
        let text = "criterion C {\n  expect a.get(\"/x\".status == 200\n  expect a.built\n}\n";
        let chunks = split(text);
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].unclosed.len(), 1);
        assert_eq!(chunks[0].unclosed[0].bracket, b'(');
        let text = "expect a.get(\"/x\".status == 200\nexpect a.built\n";
        let chunks = split(text);
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].unclosed[0].open, 12);
    }
}
