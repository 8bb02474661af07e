//! `dspec fmt` keeps meaning and comments and is idempotent: over every
//! spec in the repository and over generated (mutated) specs.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use dspec::format::{format, item_text};
use dspec::parse::parse_file;
use dspec::source::SourceMap;
use proptest::prelude::*;

fn specs() -> Vec<String> {
    common::spec_texts(&[
        "tests/specs",
        "tests/cases/valid",
        "tests/cases/plan",
        "examples",
        "bench",
    ])
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
    // Strings, regexes and comments are kept verbatim, once each: no `#`
    // appears or disappears.
    assert_eq!(
        once.matches('#').count(),
        text.matches('#').count(),
        "a comment was lost or repeated:\n{text}\n---\n{once}"
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

/// Every spec file of the repository that must be formatted: all of them
/// but the invalid cases (which do not parse) and fuzz corpora.
fn spec_paths(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if p.is_dir() {
            let skip = name.starts_with('.') || name == "target" || name.contains("fuzz");
            if !skip && !p.ends_with("tests/cases/invalid") {
                spec_paths(&p, out);
            }
        } else if p.extension().is_some_and(|e| e == "dspec") {
            out.push(p);
        }
    }
}

/// `dspec fmt --check` holds on the repository itself, so a spec (or a
/// change to the formatter) that is not canonical fails here.
#[test]
fn the_repository_specs_are_formatted() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    spec_paths(&root, &mut files);
    files.sort();
    let rel: Vec<PathBuf> = files
        .iter()
        .map(|f| f.strip_prefix(&root).unwrap().to_path_buf())
        .collect();
    for dir in ["tests/specs", "tests/cases/valid", "examples", "bench"] {
        assert!(
            rel.iter().any(|f| f.starts_with(dir)),
            "no spec found under {dir}: {rel:?}"
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_dspec"))
        .arg("fmt")
        .arg("--check")
        .args(&rel)
        .current_dir(&root)
        .output()
        .expect("runs dspec");
    assert_eq!(
        out.status.code(),
        Some(0),
        "run `dspec fmt` on these files:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
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

/// A file with CRLF line endings keeps them: `fmt --check` passes on a formatted CRLF file
/// (it reported a diff of identical-looking lines), and `fmt` writes CRLF back (issue 15,
/// item 8).
#[test]
fn crlf_line_endings_are_kept() {
    let dir = std::env::temp_dir().join(format!("dspec-fmt-crlf-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let formatted = "image prod = build \".\"  # the image\r\n\r\nexpect prod.size < 2MB\r\n";
    std::fs::write(dir.join("ok.dspec"), formatted).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_dspec"))
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("runs dspec")
    };
    let out = run(&["fmt", "--check", "ok.dspec"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(
        dir.join("messy.dspec"),
        "image prod = build \".\" # the image\r\n\r\nexpect   prod.size<2MB\r\n",
    )
    .unwrap();
    let out = run(&["fmt", "messy.dspec"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(dir.join("messy.dspec")).unwrap(),
        formatted
    );
    let _ = std::fs::remove_dir_all(&dir);
}
