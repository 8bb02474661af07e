//! `dspec fmt` keeps meaning and comments and is idempotent: over every
//! spec in the repository and over generated (mutated) specs.

use std::path::{Path, PathBuf};

use dspec::format::{format, item_text};
use dspec::parse::parse_file;
use dspec::source::SourceMap;
use proptest::prelude::*;

fn specs() -> Vec<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in [
        "tests/specs",
        "tests/cases/valid",
        "tests/cases/plan",
        "examples",
        "bench",
    ] {
        collect(&root.join(dir), &mut out);
    }
    out
}

fn collect(dir: &Path, out: &mut Vec<String>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "dspec") {
            out.push(std::fs::read_to_string(p).unwrap());
        }
    }
}

/// Canonical statements of a text, or None when it does not parse cleanly.
fn items(text: &str) -> Option<Vec<String>> {
    let mut sources = SourceMap::new();
    let id = sources.add("x.dspec", text.to_string());
    let (ast, errors) = parse_file(sources.get(id));
    let ast = ast.filter(|_| errors.is_empty())?;
    Some(ast.items.iter().map(item_text).collect())
}

fn fmt(text: &str) -> Option<String> {
    let mut sources = SourceMap::new();
    let id = sources.add("x.dspec", text.to_string());
    let (ast, errors) = parse_file(sources.get(id));
    let ast = ast.filter(|_| errors.is_empty())?;
    Some(format(sources.get(id), &ast))
}

fn comments(text: &str) -> usize {
    text.lines().filter(|l| l.contains('#')).count()
}

fn holds(text: &str) {
    let Some(before) = items(text) else { return };
    let once = fmt(text).expect("formats");
    let after = items(&once).unwrap_or_else(|| panic!("formatted text does not parse:\n{once}"));
    assert_eq!(before, after, "meaning changed:\n{text}\n---\n{once}");
    assert_eq!(
        fmt(&once).as_deref(),
        Some(once.as_str()),
        "not idempotent:\n{once}"
    );
    assert!(
        comments(&once) >= comments(text).min(1) || comments(text) == 0,
        "comments lost:\n{text}\n---\n{once}"
    );
}

#[test]
fn every_spec_in_the_repository_round_trips() {
    let all = specs();
    assert!(all.len() >= 10);
    for text in &all {
        holds(text);
        // Every comment line survives.
        let once = fmt(text).unwrap();
        for line in text.lines() {
            if let Some(i) = line.find('#') {
                let c = line[i..].trim_end();
                if line[..i].matches('"').count() % 2 == 0 && !line[..i].contains('/') {
                    assert!(once.contains(c), "comment `{c}` lost:\n{once}");
                }
            }
        }
    }
}

const TOKENS: &[&str] = &[
    "\n",
    "\n\n",
    " ",
    "# note",
    "  # trailing",
    ";",
    "expect app.built\n",
    "do api.restart()\n",
    "@tag smoke\n",
    "{ target \"x\" }",
    "\"a$b\"",
    "\"${v}\"",
    "1.0",
    "0o755",
    "10%",
];

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_specs_round_trip(seed in any::<prop::sample::Index>(), at in any::<prop::sample::Index>(), tok in prop::sample::select(TOKENS)) {
        let all = specs();
        let text = &all[seed.index(all.len())];
        let lines: Vec<&str> = text.lines().collect();
        let i = at.index(lines.len() + 1);
        let mut mutated = lines[..i].join("\n");
        mutated.push('\n');
        mutated.push_str(tok);
        mutated.push('\n');
        mutated.push_str(&lines[i..].join("\n"));
        holds(&mutated);
    }
}
