//! Fuzzing the front end: arbitrary token soups and mutated real specs go
//! through parse → compile → plan → render; nothing may panic.
//! `PROPTEST_CASES=100000 cargo test --release --test fuzz` for a long run.

mod common;

use dspec::compile::{self, Options};
use dspec::diag::{RenderOptions, render};
use dspec::source::SourceMap;
use dspec::{parse, plan};
use proptest::prelude::*;

const TOKENS: &[&str] = &[
    "story",
    "let",
    "image",
    "container",
    "stack",
    "command",
    "criterion",
    "expect",
    "do",
    "build",
    "existing",
    "run",
    "compose",
    "host",
    "in",
    "is",
    "not",
    "matches",
    "contains",
    "within",
    "for",
    "at",
    "empty",
    "json",
    "true",
    "false",
    "prod",
    "api",
    "app",
    "sdk",
    "x",
    "AC-1",
    "size",
    "file",
    "files",
    "health",
    "get",
    "stop",
    "exec",
    "url",
    "env",
    "secret",
    "memory",
    "publish",
    "target",
    "tag",
    "arg",
    "mount",
    "read_only",
    "scale",
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "=>",
    ".",
    "..",
    ",",
    ";",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "\n",
    "\n",
    " ",
    " ",
    "\t",
    "#c",
    "\"s\"",
    "\"/app\"",
    "\"${x}\"",
    "\"\\q\"",
    "\"",
    "/re/",
    "/(/",
    "/a/i",
    "42",
    "0",
    "0o755",
    "0755",
    "0o9",
    "1.5",
    "200MB",
    "1.5GiB",
    "200 MB",
    "30s",
    "1m30s",
    "5Mb",
    "10%",
    "18080:8000",
    "99999999999999999999",
    "0x1f",
    "é",
    "\u{0}",
    "\r\n",
    "${",
    "\\",
];

fn seeds() -> &'static [String] {
    static SEEDS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(|| {
        let out = common::spec_texts(&[
            "tests/cases/valid",
            "tests/cases/invalid",
            "tests/cases/plan",
            "examples",
        ]);
        assert!(!out.is_empty());
        out
    })
}

/// Everything the front end does with a file, rendering included.
fn front_end(text: &str) {
    let mut sources = SourceMap::new();
    let id = sources.add("fuzz.dspec", text.to_string());
    let (ast, mut diags) = parse::parse_file(sources.get(id));
    if let Some(ast) = ast {
        let opts = Options {
            vars: vec![("x".into(), "1".into())],
        };
        let (program, mut more) = compile::compile(&[ast], &sources, &opts);
        diags.append(&mut more);
        let p = plan::lower(&program);
        let _ = plan::render_human(&p, &program);
        let _ = serde_json::to_string(&p).unwrap();
    }
    for d in &diags {
        let _ = render(d, &sources, &RenderOptions::plain());
    }
}

#[derive(Clone, Debug)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, &'static str),
    Duplicate(usize, usize),
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for e in edits {
        let n = chars.len().max(1);
        match e {
            Edit::Delete(at, len) => {
                let at = at % n;
                let end = (at + len % 8).min(chars.len());
                if at < chars.len() {
                    chars.drain(at..end);
                }
            }
            Edit::Insert(at, tok) => {
                let at = (at % (chars.len() + 1)).min(chars.len());
                for (i, c) in tok.chars().enumerate() {
                    chars.insert(at + i, c);
                }
            }
            Edit::Duplicate(at, len) => {
                let at = at % n;
                let end = (at + len % 40).min(chars.len());
                if at < end {
                    let piece: Vec<char> = chars[at..end].to_vec();
                    for (i, c) in piece.into_iter().enumerate() {
                        chars.insert(end + i, c);
                    }
                }
            }
        }
    }
    chars.into_iter().collect()
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<usize>()).prop_map(|(a, l)| Edit::Delete(a, l)),
        (any::<usize>(), prop::sample::select(TOKENS)).prop_map(|(a, t)| Edit::Insert(a, t)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, l)| Edit::Duplicate(a, l)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..120)) {
        front_end(&tokens.join(" "));
        front_end(&tokens.concat());
    }

    #[test]
    fn mutated_specs_never_panic(seed in any::<prop::sample::Index>(), edits in prop::collection::vec(edit(), 1..6)) {
        let seeds = seeds();
        let text = &seeds[seed.index(seeds.len())];
        front_end(&apply(text, &edits));
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        front_end(&text);
    }
}
