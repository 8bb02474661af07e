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
    let mut asts: Vec<SpecFile> = Vec::new();
    let mut diagnostics = Vec::new();
    for f in &files {
        match read_bytes(f) {
            Ok(bytes) => match utf8_text(bytes) {
                Ok(text) => {
                    let id = sources.add(shown_path(f), text);
                    let (ast, mut errs) = parse::parse_file(sources.get(id));
                    let clean = errs.is_empty();
                    diagnostics.append(&mut errs);
                    if let (Some(ast), true) = (ast, clean) {
                        asts.push(ast);
                    }
                }
                Err(reason) => unreadable.push((f.clone(), reason)),
            },
            Err(e) => unreadable.push((f.clone(), e.to_string())),
        }
    }
    // The syntax trees are given up: each statement is dropped once compiled.
    let (program, mut diags) = compile::compile_owned(asts, &sources, opts);
    diagnostics.append(&mut diags);
    Loaded {
        sources,
        program,
        diagnostics,
        unreadable,
        files: files.len(),
    }
}
