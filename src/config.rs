//! `dspec.toml` and the `DSPEC_*` environment: defaults for the command line.
//!
//! The file is looked for in the current folder and its parents, up to the
//! folder that holds `.git` (the repository's root) or the filesystem's root;
//! `DSPEC_CONFIG` names one explicitly. Each setting has an environment
//! equivalent. The command line wins over the environment, which wins over
//! the file, which wins over the built-in default.
//!
//! ```toml
//! paths = ["specs", "examples"]   # what check, validate and fmt run on with no PATH
//! jobs = 4                        # --jobs
//! fail-fast = false               # --fail-fast
//! timeout = "30m"                 # --timeout
//! reports = ["junit:reports/junit.xml"]
//! context = "ci"                  # --context
//! color = "auto"                  # --color
//!
//! [vars]                          # --var NAME=VALUE
//! version = "1.5.0"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::check::ReportTarget;
use crate::diag::ColorChoice;

/// The file's name.
pub const FILE_NAME: &str = "dspec.toml";

/// The file as written. Keys are kebab-case; an unknown key is an error.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileConfig {
    paths: Option<Vec<PathBuf>>,
    jobs: Option<usize>,
    fail_fast: Option<bool>,
    timeout: Option<String>,
    reports: Option<Vec<String>>,
    context: Option<String>,
    color: Option<String>,
    vars: Option<BTreeMap<String, Scalar>>,
}

/// A `[vars]` value: text, or a number or boolean taken as its text.
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Text(s) => s.clone(),
            Scalar::Integer(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

/// The settings from the file and the environment, before the command line.
#[derive(Debug, Default, Clone)]
pub struct Config {
    /// The file read, if any.
    pub file: Option<PathBuf>,
    /// Spec paths used when a command is given none (relative to the current folder).
    pub paths: Option<Vec<PathBuf>>,
    pub jobs: Option<usize>,
    pub fail_fast: Option<bool>,
    pub timeout: Option<Duration>,
    pub reports: Option<Vec<ReportTarget>>,
    pub context: Option<String>,
    pub color: Option<ColorChoice>,
    /// `NAME=VALUE` pairs, the environment's before the file's.
    pub vars: Vec<(String, String)>,
}

/// How an environment variable is read (the process environment, or a map in tests).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment; an empty value counts as unset.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Config {
    /// Reads `dspec.toml` (found from the current folder) and the `DSPEC_*`
    /// variables. The error is one line for the user (exit 2).
    pub fn load() -> Result<Config, String> {
        let cwd = std::env::current_dir().map_err(|e| format!("no current folder: {e}"))?;
        Config::load_from(&cwd, &process_env)
    }

    pub fn load_from(cwd: &Path, env: Env<'_>) -> Result<Config, String> {
        let file = match env("DSPEC_CONFIG") {
            Some(p) => {
                let p = cwd.join(p);
                if !p.is_file() {
                    return Err(format!(
                        "DSPEC_CONFIG names `{}`, which is not a file",
                        p.display()
                    ));
                }
                Some(p)
            }
            None => find(cwd),
        };
        let mut config = match &file {
            Some(f) => {
                let text = std::fs::read_to_string(f)
                    .map_err(|e| format!("cannot read `{}`: {e}", shown(f, cwd).display()))?;
                Config::parse(&text, f, cwd)?
            }
            None => Config::default(),
        };
        config.file = file;
        config.apply_env(env)?;
        Ok(config)
    }

    /// The file's settings; paths in it are relative to its folder.
    fn parse(text: &str, file: &Path, cwd: &Path) -> Result<Config, String> {
        let at = |span: Option<std::ops::Range<usize>>| match span {
            Some(s) => {
                let (line, col) = line_col(text, s.start);
                format!("{}:{line}:{col}", shown(file, cwd).display())
            }
            None => shown(file, cwd).display().to_string(),
        };
        let raw: FileConfig = toml::from_str(text).map_err(|e| {
            format!(
                "{}: {}",
                at(e.span()),
                e.message().trim_end().replace('\n', " ")
            )
        })?;
        let key_at = |key: &str| {
            let span = key_span(text, key);
            at(span)
        };
        let dir = file.parent().unwrap_or(Path::new("."));
        let mut c = Config {
            paths: raw
                .paths
                .map(|ps| ps.iter().map(|p| relative_to(cwd, &dir.join(p))).collect()),
            jobs: raw.jobs,
            fail_fast: raw.fail_fast,
            context: raw.context,
            ..Config::default()
        };
        if let Some(t) = raw.timeout {
            c.timeout = Some(
                crate::parse::duration_arg(&t)
                    .map_err(|e| format!("{}: `timeout`: {e}", key_at("timeout")))?,
            );
        }
        if let Some(rs) = raw.reports {
            let mut reports = Vec::new();
            for r in rs {
                let mut t = crate::check::parse_report(&r)
                    .map_err(|e| format!("{}: `reports`: {e}", key_at("reports")))?;
                if t.path != Path::new("-") {
                    t.path = relative_to(cwd, &dir.join(&t.path));
                }
                reports.push(t);
            }
            c.reports = Some(reports);
        }
        if let Some(col) = raw.color {
            c.color =
                Some(parse_color(&col).map_err(|e| format!("{}: `color`: {e}", key_at("color")))?);
        }
        if let Some(vars) = raw.vars {
            c.vars = vars.iter().map(|(k, v)| (k.clone(), v.text())).collect();
        }
        Ok(c)
    }

    /// `DSPEC_*` variables over the file's settings.
    fn apply_env(&mut self, env: Env<'_>) -> Result<(), String> {
        if let Some(p) = env("DSPEC_PATHS") {
            self.paths = Some(std::env::split_paths(&p).collect());
        }
        if let Some(j) = env("DSPEC_JOBS") {
            self.jobs = Some(
                j.trim()
                    .parse()
                    .map_err(|_| format!("DSPEC_JOBS={j:?} is not a number of jobs"))?,
            );
        }
        if let Some(f) = env("DSPEC_FAIL_FAST") {
            self.fail_fast = Some(match f.trim() {
                "1" | "true" | "yes" => true,
                "0" | "false" | "no" => false,
                _ => return Err(format!("DSPEC_FAIL_FAST={f:?} is not true or false")),
            });
        }
        if let Some(t) = env("DSPEC_TIMEOUT") {
            self.timeout = Some(
                crate::parse::duration_arg(t.trim()).map_err(|e| format!("DSPEC_TIMEOUT: {e}"))?,
            );
        }
        if let Some(rs) = env("DSPEC_REPORT") {
            let mut reports = Vec::new();
            for r in rs.split(',').map(str::trim).filter(|r| !r.is_empty()) {
                reports
                    .push(crate::check::parse_report(r).map_err(|e| format!("DSPEC_REPORT: {e}"))?);
            }
            self.reports = Some(reports);
        }
        if let Some(c) = env("DSPEC_CONTEXT") {
            self.context = Some(c);
        }
        if let Some(c) = env("DSPEC_COLOR") {
            self.color = Some(parse_color(&c).map_err(|e| format!("DSPEC_COLOR: {e}"))?);
        }
        let mut vars: Vec<(String, String)> = std::env::vars()
            .filter_map(|(k, _)| {
                let name = k.strip_prefix("DSPEC_VAR_")?.to_string();
                let value = env(&k)?;
                (!name.is_empty()).then_some((name, value))
            })
            .collect();
        vars.sort();
        vars.extend(std::mem::take(&mut self.vars));
        self.vars = vars;
        Ok(())
    }

    /// The spec paths of a command given `given` on its command line.
    pub fn paths(&self, given: Vec<PathBuf>) -> Vec<PathBuf> {
        if !given.is_empty() {
            given
        } else {
            self.paths
                .clone()
                .unwrap_or_else(|| vec![PathBuf::from("specs")])
        }
    }

    /// `--var` values followed by the environment's and the file's (the first
    /// of a name wins).
    pub fn vars(&self, given: &[(String, String)]) -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = Vec::new();
        for (k, v) in given.iter().chain(&self.vars) {
            if !all.iter().any(|(n, _)| n == k) {
                all.push((k.clone(), v.clone()));
            }
        }
        all
    }
}

fn parse_color(text: &str) -> Result<ColorChoice, String> {
    match text.trim() {
        "auto" => Ok(ColorChoice::Auto),
        "always" => Ok(ColorChoice::Always),
        "never" => Ok(ColorChoice::Never),
        other => Err(format!("`{other}` is not auto, always or never")),
    }
}

/// `dspec.toml` in `dir` or its parents, stopping at a repository's root.
pub fn find(dir: &Path) -> Option<PathBuf> {
    for d in dir.ancestors() {
        let f = d.join(FILE_NAME);
        if f.is_file() {
            return Some(f);
        }
        if d.join(".git").exists() {
            return None;
        }
    }
    None
}

/// `path` as seen from `cwd`: relative when it lies below it or a few
/// levels up (`../specs`), so that diagnostics and CI annotations keep
/// repository-relative names.
fn relative_to(cwd: &Path, path: &Path) -> PathBuf {
    let path = normalize(&std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()));
    let cwd = normalize(cwd);
    if path == cwd {
        return PathBuf::from(".");
    }
    for (up, base) in cwd.ancestors().enumerate() {
        if let Ok(rest) = path.strip_prefix(base) {
            let mut p = PathBuf::new();
            for _ in 0..up {
                p.push("..");
            }
            p.push(rest);
            return p;
        }
    }
    path
}

/// Removes `.` and resolves `..` without touching the filesystem.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

fn shown(file: &Path, cwd: &Path) -> PathBuf {
    relative_to(cwd, file)
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Where a top-level `key =` is written, for errors found after parsing.
fn key_span(text: &str, key: &str) -> Option<std::ops::Range<usize>> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        if t.starts_with('[') {
            return None;
        }
        if let Some(rest) = t.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            let start = offset + (line.len() - t.len());
            return Some(start..start + key.len());
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, Path::new("/repo/dspec.toml"), Path::new("/repo"))
    }

    #[test]
    fn reads_every_setting() {
        let c = parse(
            "paths = [\"specs\", \"examples/hello\"]\njobs = 3\nfail-fast = true\n\
             timeout = \"30m\"\nreports = [\"junit:out/j.xml\"]\ncontext = \"ci\"\n\
             color = \"never\"\n[vars]\nversion = \"1.5\"\nreplicas = 2\n",
        )
        .unwrap();
        assert_eq!(
            c.paths,
            Some(vec![
                PathBuf::from("specs"),
                PathBuf::from("examples/hello")
            ])
        );
        assert_eq!(c.jobs, Some(3));
        assert_eq!(c.fail_fast, Some(true));
        assert_eq!(c.timeout, Some(Duration::from_secs(1800)));
        assert_eq!(
            c.reports.as_ref().unwrap()[0].path,
            PathBuf::from("out/j.xml")
        );
        assert_eq!(c.context.as_deref(), Some("ci"));
        assert_eq!(c.color, Some(ColorChoice::Never));
        assert_eq!(
            c.vars,
            vec![
                ("replicas".to_string(), "2".to_string()),
                ("version".to_string(), "1.5".to_string())
            ]
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_point_at_their_line() {
        let e = parse("jobs = 2\njbos = 3\n").unwrap_err();
        assert!(e.starts_with("dspec.toml:2:1: unknown field `jbos`"), "{e}");
        let e = parse("jobs = \"two\"\n").unwrap_err();
        assert!(e.starts_with("dspec.toml:1:8: "), "{e}");
        let e = parse("jobs = 1\ntimeout = \"soon\"\n").unwrap_err();
        assert!(e.starts_with("dspec.toml:2:1: `timeout`: "), "{e}");
        let e = parse("[vars]\nx = [1]\n").unwrap_err();
        assert!(e.starts_with("dspec.toml:2:5: "), "{e}");
    }

    #[test]
    fn paths_are_relative_to_the_file_and_shown_from_the_current_folder() {
        let c = Config::parse(
            "paths = [\"specs\"]\nreports = [\"json:r/x.json\"]\n",
            Path::new("/repo/dspec.toml"),
            Path::new("/repo/sub/dir"),
        )
        .unwrap();
        assert_eq!(c.paths, Some(vec![PathBuf::from("../../specs")]));
        assert_eq!(c.reports.unwrap()[0].path, PathBuf::from("../../r/x.json"));
        assert_eq!(
            relative_to(Path::new("/a/b"), Path::new("/a/b/./c/../d")),
            PathBuf::from("d")
        );
    }

    #[test]
    fn the_environment_wins_over_the_file_and_flags_over_both() {
        let dir = std::env::temp_dir().join(format!("dspec-config-{}", std::process::id()));
        let sub = dir.join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::create_dir_all(dir.join(".git")).unwrap();
        std::fs::write(
            dir.join(FILE_NAME),
            "jobs = 2\ntimeout = \"5m\"\n[vars]\nv = \"file\"\nw = \"file\"\n",
        )
        .unwrap();
        let env = env_of(&[("DSPEC_JOBS", "7"), ("DSPEC_FAIL_FAST", "1")]);
        let c = Config::load_from(&sub, &env).unwrap();
        assert_eq!(c.file.as_deref(), Some(dir.join(FILE_NAME).as_path()));
        assert_eq!(c.jobs, Some(7));
        assert_eq!(c.fail_fast, Some(true));
        assert_eq!(c.timeout, Some(Duration::from_secs(300)));
        assert_eq!(
            c.vars(&[("v".to_string(), "flag".to_string())]),
            vec![
                ("v".to_string(), "flag".to_string()),
                ("w".to_string(), "file".to_string())
            ]
        );
        assert_eq!(c.paths(vec![]), vec![PathBuf::from("specs")]);
        assert!(
            Config::load_from(&sub, &env_of(&[("DSPEC_JOBS", "many")]))
                .unwrap_err()
                .contains("DSPEC_JOBS")
        );
        // The search stops at the repository's root.
        let inner = dir.join("a");
        std::fs::create_dir_all(inner.join(".git")).unwrap();
        assert_eq!(find(&sub), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
