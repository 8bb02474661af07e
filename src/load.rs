//! Finds spec files, reads, parses and compiles them.

use std::path::{Path, PathBuf};

use crate::ast::SpecFile;
use crate::compile::{self, Program};
use crate::diag::Diagnostic;
use crate::parse;
use crate::source::SourceMap;

/// Everything known after the front end ran.
pub struct Loaded {
    pub sources: SourceMap,
    pub program: Program,
    pub diagnostics: Vec<Diagnostic>,
    /// Paths that could not be read, with the reason.
    pub unreadable: Vec<(PathBuf, String)>,
    pub files: usize,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        !self.unreadable.is_empty() || self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// The path `-`: standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// How a path is named in diagnostics: `<stdin>` for `-`.
pub fn shown_path(path: &Path) -> PathBuf {
    if is_stdin(path) {
        PathBuf::from("<stdin>")
    } else {
        path.to_path_buf()
    }
}

/// The bytes of a spec file, or of standard input for `-`.
pub fn read_bytes(path: &Path) -> std::io::Result<Vec<u8>> {
    if is_stdin(path) {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut buf)?;
        Ok(buf)
    } else {
        std::fs::read(path)
    }
}

/// The text of a spec file, or of standard input for `-`.
pub fn read_text(path: &Path) -> std::io::Result<String> {
    utf8_text(read_bytes(path)?)
        .map_err(|reason| std::io::Error::new(std::io::ErrorKind::InvalidData, reason))
}

/// The bytes as text, or why they are not UTF-8: where the first invalid sequence starts, as a
/// line, a column (in characters) and a byte offset, and the bytes found there.
pub fn utf8_text(bytes: Vec<u8>) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        let before = &bytes[..at];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        // Everything before `at` is valid UTF-8.
        let column = std::str::from_utf8(&before[line_start..]).map_or(0, |t| t.chars().count()) + 1;
        let len = e.utf8_error().error_len().unwrap_or(bytes.len() - at);
        let shown: Vec<String> = bytes[at..at + len.min(4)]
            .iter()
            .map(|b| format!("0x{b:02X}"))
            .collect();
        format!(
            "the file is not UTF-8 text: invalid byte{} {} at line {line}, column {column} (byte offset {at}); save it as UTF-8",
            if shown.len() == 1 { "" } else { "s" },
            shown.join(" ")
        )
    })
}

/// Expands files and directories (recursively, `*.dspec`, sorted); `-`
/// (standard input) is kept as it is.
pub fn expand(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        if is_stdin(p) {
            if !files.iter().any(|f: &PathBuf| is_stdin(f)) {
                files.push(p.clone());
            }
            continue;
        }
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => {
                let mut found = Vec::new();
                walk(p, &mut found, &mut errors);
                found.sort();
                if found.is_empty() {
                    errors.push((
                        p.clone(),
                        "the directory holds no `.dspec` files".to_string(),
                    ));
                }
                files.extend(found);
            }
            Ok(_) => files.push(p.clone()),
            Err(e) => errors.push((p.clone(), e.to_string())),
        }
    }
    (files, errors)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<(PathBuf, String)>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push((dir.to_path_buf(), e.to_string()));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let hidden = name.to_string_lossy().starts_with('.');
        match entry.file_type() {
            Ok(t) if t.is_dir() && !hidden && name != "target" => walk(&path, out, errors),
            Ok(t) if !t.is_dir() && path.extension().is_some_and(|e| e == "dspec") => {
                out.push(path)
            }
            _ => {}
        }
    }
}

/// Parses and compiles one spec held in memory (an editor's buffer), as [`load`] does a file:
/// the same diagnostics as `dspec validate`. Relative paths resolve against `path`'s folder.
pub fn load_text(
    path: PathBuf,
    text: String,
    opts: &compile::Options,
) -> (Loaded, Option<SpecFile>) {
    let mut sources = SourceMap::new();
    let id = sources.add(path, text);
    let (ast, mut diagnostics) = parse::parse_file(sources.get(id));
    let program = if diagnostics.is_empty()
        && let Some(ast) = &ast
    {
        let (program, mut diags) = compile::compile(std::slice::from_ref(ast), &sources, opts);
        diagnostics.append(&mut diags);
        program
    } else {
        Program::default()
    };
    (
        Loaded {
            sources,
            program,
            diagnostics,
            unreadable: Vec::new(),
            files: 1,
        },
        ast,
    )
}

/// Reads, parses and compiles every spec under `paths`.
pub fn load(paths: &[PathBuf], opts: &compile::Options) -> Loaded {
    load_partition(paths, opts, None)
}

/// [`load`] of one CI shard of the files.
pub fn load_partition(
    paths: &[PathBuf],
    opts: &compile::Options,
    partition: Option<crate::select::Partition>,
) -> Loaded {
    let (files, mut unreadable) = expand(paths);
    let files = match partition {
        Some(p) => p.select(files),
        None => files,
    };
    let mut sources = SourceMap::new();
    let mut program = Program::default();
    let mut diagnostics = Vec::new();
    // One file at a time, parsed lean and compiled: only one file's syntax tree is held, and
    // not even that whole (see `parse::parse_file_lean`).
    for f in &files {
        match read_bytes(f) {
            Ok(bytes) => match utf8_text(bytes) {
                Ok(text) => {
                    let id = sources.add(shown_path(f), text);
                    let (ast, mut errs) = parse::parse_file_lean(sources.get(id));
                    let clean = errs.is_empty();
                    diagnostics.append(&mut errs);
                    if let (Some(ast), true) = (ast, clean) {
                        let (compiled, mut diags) =
                            compile::compile_owned(vec![ast], &sources, opts);
                        diagnostics.append(&mut diags);
                        program.files.extend(compiled.files);
                    }
                }
                Err(reason) => unreadable.push((f.clone(), reason)),
            },
            Err(e) => unreadable.push((f.clone(), e.to_string())),
        }
    }
    Loaded {
        sources,
        program,
        diagnostics,
        unreadable,
        files: files.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lean path (`parse_file_lean`, statements parsed again as they compile) compiles
    /// to exactly what the whole tree compiles to: top-level expectations and actions,
    /// criteria, several statements on one line, subjects declared after their use.
    #[test]
    fn a_lean_parse_compiles_like_the_whole_tree() {
        let text = r#"story "S-1" "lean"
let budget = 200MB
expect prod.size < budget
criterion AC1 "first" {
  expect prod.user == "appuser"
  do web.restart()
  expect web.health == "healthy" within 30s
}
let x = "a"; expect web.get("/${x}").status == 200
expect smoke.exit_code == 0
@tag slow
criterion AC2 "second" {
  expect web.stop(10s).exit_code == 0
  expect web.stop(10s).duration < 10s
}
image prod = build "."
container web = run prod { publish 8000 }
command smoke = host "curl -s $URL" { env URL = web.url(8000) }
"#;
        let opts = compile::Options::default();
        let mut sources = SourceMap::new();
        let id = sources.add(PathBuf::from("lean.dspec"), text.to_string());
        let (whole, errs) = parse::parse_file(sources.get(id));
        assert!(errs.is_empty(), "{errs:?}");
        let whole = whole.expect("parses");
        assert!(whole.deferred.is_empty());
        let (lean, errs) = parse::parse_file_lean(sources.get(id));
        assert!(errs.is_empty(), "{errs:?}");
        let lean = lean.expect("parses");
        assert_eq!(lean.deferred.len(), 5, "{:?}", lean.deferred);
        assert!(lean.items.iter().all(|i| match i {
            crate::ast::Item::Criterion(c) => c.body.is_empty(),
            i => !matches!(i, crate::ast::Item::Expect(_) | crate::ast::Item::Do(_)),
        }));
        let (a, da) = compile::compile(std::slice::from_ref(&whole), &sources, &opts);
        let (b, db) = compile::compile_owned(vec![lean], &sources, &opts);
        assert_eq!(format!("{da:?}"), format!("{db:?}"));
        assert_eq!(a.files.len(), 1);
        assert_eq!(a.files[0].checks.len(), 8);
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
    }
}
