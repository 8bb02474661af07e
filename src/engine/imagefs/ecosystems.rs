//! Language packages read from an image's files: Python distributions (`*.dist-info/METADATA`,
//! `*.egg-info`) and Node modules (`node_modules/*/package.json`), plus how each ecosystem
//! compares names.
//!
//! Which files count:
//! * **pip**: a distribution's metadata directly inside a `site-packages` or `dist-packages`
//!   directory, wherever that directory is (system, `/usr/local`, a virtualenv):
//!   `NAME-VER.dist-info/METADATA`, `NAME-VER.egg-info/PKG-INFO`, an `NAME-VER.egg-info` file
//!   (distutils), `NAME-VER.egg/EGG-INFO/PKG-INFO`. `Name:` and `Version:` are read from the
//!   headers. Metadata deeper down (vendored copies such as `setuptools/_vendor/*.dist-info`)
//!   is not an installed distribution, as `pip list` agrees.
//! * **npm**: `node_modules/NAME/package.json` and `node_modules/@SCOPE/NAME/package.json`, at
//!   any depth (nested `node_modules` too); `name` and `version` from the JSON (the directory's
//!   name when the file has no `name`).

use std::fmt;

/// A package ecosystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ecosystem {
    /// The OS package manager's database: dpkg (`/var/lib/dpkg/status`, `status.d/`) and apk.
    Os,
    /// Python distributions.
    Pip,
    /// Node modules.
    Npm,
}

impl Ecosystem {
    /// The ecosystem a spec names: `os` (also `dpkg`, `deb`, `apk`), `pip` (also `pypi`,
    /// `python`), `npm` (also `node`); case-insensitive.
    pub fn parse(name: &str) -> Option<Ecosystem> {
        match name.to_ascii_lowercase().as_str() {
            "os" | "dpkg" | "deb" | "apk" | "system" => Some(Ecosystem::Os),
            "pip" | "pypi" | "python" => Some(Ecosystem::Pip),
            "npm" | "node" => Some(Ecosystem::Npm),
            _ => None,
        }
    }

    /// `os`, `pip` or `npm`.
    pub fn word(self) -> &'static str {
        match self {
            Ecosystem::Os => "os",
            Ecosystem::Pip => "pip",
            Ecosystem::Npm => "npm",
        }
    }

    /// The name as the ecosystem compares it: pip normalises like PEP 503 (case-insensitive,
    /// runs of `-`, `_`, `.` are one `-`); dpkg drops an architecture qualifier (`libc6:amd64`
    /// is `libc6`); npm names compare as written.
    pub fn normalize(self, name: &str) -> String {
        match self {
            Ecosystem::Pip => pep503(name),
            Ecosystem::Os => name.split(':').next().unwrap_or(name).to_string(),
            Ecosystem::Npm => name.to_string(),
        }
    }

    /// Whether two names are the same package in this ecosystem.
    pub fn same_name(self, a: &str, b: &str) -> bool {
        self.normalize(a) == self.normalize(b)
    }

    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_code(c: u8) -> Option<Ecosystem> {
        [Ecosystem::Os, Ecosystem::Pip, Ecosystem::Npm]
            .get(c as usize)
            .copied()
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// PEP 503: `re.sub(r"[-_.]+", "-", name).lower()`.
fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
            continue;
        }
        if sep && !out.is_empty() {
            out.push('-');
        }
        sep = false;
        out.extend(c.to_lowercase());
    }
    if sep {
        out.push('-');
    }
    out
}

/// An installed package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct EcoPackage {
    pub ecosystem: Ecosystem,
    /// As the package declares it (`PyYAML`, `@types/node`, `libc6`).
    pub name: String,
    /// Empty when the metadata has none.
    pub version: String,
    /// The file the package was read from (its metadata, or the OS database).
    pub path: String,
}

/// What kind of metadata file a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MetaKind {
    /// RFC 822 headers: `METADATA`, `PKG-INFO`, an `.egg-info` file.
    PipHeaders,
    NpmPackageJson,
}

/// Largest metadata file read (package.json files and METADATA headers are far smaller).
pub(crate) const META_MAX: u64 = 1 << 20;

fn is_site_dir(name: &str) -> bool {
    name == "site-packages" || name == "dist-packages"
}

/// The kind of package metadata `path` holds, if any (see the module's doc).
pub(crate) fn metadata_kind(path: &str) -> Option<MetaKind> {
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let n = comps.len();
    let last = *comps.last()?;
    let at = |i: usize| if i < n { comps[i] } else { "" };
    if last == "package.json" && n >= 3 {
        let pkg = at(n - 2);
        if pkg.starts_with('.') || pkg.is_empty() {
            return None;
        }
        if at(n - 3) == "node_modules" && !pkg.starts_with('@') {
            return Some(MetaKind::NpmPackageJson);
        }
        if n >= 4
            && at(n - 3).starts_with('@')
            && at(n - 3).len() > 1
            && at(n - 4) == "node_modules"
        {
            return Some(MetaKind::NpmPackageJson);
        }
        return None;
    }
    // NAME.dist-info/METADATA, NAME.egg-info/PKG-INFO directly in a site dir
    if n >= 3 && is_site_dir(at(n - 3)) {
        let dir = at(n - 2);
        if (last == "METADATA" && dir.ends_with(".dist-info"))
            || (last == "PKG-INFO" && dir.ends_with(".egg-info"))
        {
            return Some(MetaKind::PipHeaders);
        }
    }
    // NAME.egg/EGG-INFO/PKG-INFO
    if n >= 4
        && is_site_dir(at(n - 4))
        && at(n - 3).ends_with(".egg")
        && at(n - 2) == "EGG-INFO"
        && last == "PKG-INFO"
    {
        return Some(MetaKind::PipHeaders);
    }
    // NAME.egg-info as a file
    if n >= 2 && is_site_dir(at(n - 2)) && last.ends_with(".egg-info") {
        return Some(MetaKind::PipHeaders);
    }
    None
}

/// Parses a metadata file's bytes (possibly only its first [`META_MAX`] bytes).
pub(crate) fn parse_metadata(kind: MetaKind, path: &str, bytes: &[u8]) -> Option<EcoPackage> {
    match kind {
        MetaKind::PipHeaders => {
            let (name, version) = pip_headers(&String::from_utf8_lossy(bytes));
            Some(EcoPackage {
                ecosystem: Ecosystem::Pip,
                name: name.or_else(|| pip_name_from_path(path))?,
                version: version.unwrap_or_default(),
                path: path.to_string(),
            })
        }
        MetaKind::NpmPackageJson => {
            let json: Option<serde_json::Value> = serde_json::from_slice(bytes).ok();
            let field = |k: &str| {
                json.as_ref()
                    .and_then(|j| j.get(k))
                    .and_then(|v| v.as_str())
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            };
            Some(EcoPackage {
                ecosystem: Ecosystem::Npm,
                name: field("name").or_else(|| npm_name_from_path(path))?,
                version: field("version").unwrap_or_default(),
                path: path.to_string(),
            })
        }
    }
}

/// `Name:` and `Version:` from RFC 822 headers (up to the first blank line).
fn pip_headers(text: &str) -> (Option<String>, Option<String>) {
    let mut name = None;
    let mut version = None;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            let v = v.trim();
            if k.eq_ignore_ascii_case("Name") && name.is_none() && !v.is_empty() {
                name = Some(v.to_string());
            } else if k.eq_ignore_ascii_case("Version") && version.is_none() && !v.is_empty() {
                version = Some(v.to_string());
            }
        }
    }
    (name, version)
}

/// `foo_bar-1.0.dist-info/METADATA` → `foo_bar`.
fn pip_name_from_path(path: &str) -> Option<String> {
    let dir = path
        .split('/')
        .rev()
        .find(|c| c.ends_with(".dist-info") || c.ends_with(".egg-info") || c.ends_with(".egg"))?;
    let stem = dir.rsplit_once('.').map(|(s, _)| s)?;
    Some(stem.split('-').next().unwrap_or(stem).to_string())
}

/// `node_modules/@scope/name/package.json` → `@scope/name`.
fn npm_name_from_path(path: &str) -> Option<String> {
    let comps: Vec<&str> = path.split('/').collect();
    let n = comps.len();
    if n >= 3 && comps[n - 3].starts_with('@') {
        return Some(format!("{}/{}", comps[n - 3], comps[n - 2]));
    }
    comps.get(n.checked_sub(2)?).map(|s| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pep503_names() {
        let p = Ecosystem::Pip;
        assert_eq!(p.normalize("Foo.Bar__baz-"), "foo-bar-baz-");
        assert_eq!(p.normalize("PyYAML"), "pyyaml");
        assert!(p.same_name("typing_extensions", "Typing-Extensions"));
        assert!(p.same_name("zope.interface", "zope-interface"));
        assert!(!p.same_name("foo", "foobar"));
        assert!(Ecosystem::Os.same_name("libc6:amd64", "libc6"));
        assert!(!Ecosystem::Npm.same_name("React", "react"));
        assert_eq!(Ecosystem::parse("PyPI"), Some(Ecosystem::Pip));
        assert_eq!(Ecosystem::parse("dpkg"), Some(Ecosystem::Os));
        assert_eq!(Ecosystem::parse("cargo"), None);
    }

    #[test]
    fn which_files_are_metadata() {
        use MetaKind::*;
        let k = metadata_kind;
        let sp = "/usr/local/lib/python3.11/site-packages";
        assert_eq!(
            k(&format!("{sp}/fastapi-0.110.0.dist-info/METADATA")),
            Some(PipHeaders)
        );
        assert_eq!(
            k(&format!("{sp}/old-1.0.egg-info/PKG-INFO")),
            Some(PipHeaders)
        );
        assert_eq!(
            k(&format!("{sp}/distutils_pkg-1.0-py3.11.egg-info")),
            Some(PipHeaders)
        );
        assert_eq!(
            k(&format!("{sp}/egg-1.0.egg/EGG-INFO/PKG-INFO")),
            Some(PipHeaders)
        );
        assert_eq!(
            k("/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA"),
            Some(PipHeaders)
        );
        assert_eq!(
            k(&format!(
                "{sp}/setuptools/_vendor/packaging-24.0.dist-info/METADATA"
            )),
            None
        );
        assert_eq!(k(&format!("{sp}/fastapi-0.110.0.dist-info/RECORD")), None);
        assert_eq!(k("/app/x.dist-info/METADATA"), None);
        assert_eq!(
            k("/app/node_modules/express/package.json"),
            Some(NpmPackageJson)
        );
        assert_eq!(
            k("/app/node_modules/@types/node/package.json"),
            Some(NpmPackageJson)
        );
        assert_eq!(
            k("/app/node_modules/a/node_modules/b/package.json"),
            Some(NpmPackageJson)
        );
        assert_eq!(k("/app/node_modules/@types/package.json"), None);
        assert_eq!(k("/app/node_modules/.bin/package.json"), None);
        assert_eq!(k("/app/node_modules/express/lib/package.json"), None);
        assert_eq!(k("/app/package.json"), None);
        assert_eq!(k("/node_modules/package.json"), None);
    }

    #[test]
    fn parsing() {
        let meta = b"Metadata-Version: 2.1\r\nName: PyYAML\r\nVersion: 6.0.1\r\nSummary: x\r\n\r\nName: not-this\n";
        let p = parse_metadata(
            MetaKind::PipHeaders,
            "/s/site-packages/PyYAML-6.0.1.dist-info/METADATA",
            meta,
        )
        .unwrap();
        assert_eq!((p.name.as_str(), p.version.as_str()), ("PyYAML", "6.0.1"));
        // No Name header: from the directory.
        let p = parse_metadata(
            MetaKind::PipHeaders,
            "/s/site-packages/foo_bar-2.0.dist-info/METADATA",
            b"Version: 2.0\n",
        )
        .unwrap();
        assert_eq!(p.name, "foo_bar");
        let json = br#"{"name": "@scope/pkg", "version": "1.2.3", "dependencies": {"x": "1"}}"#;
        let p = parse_metadata(
            MetaKind::NpmPackageJson,
            "/a/node_modules/@scope/pkg/package.json",
            json,
        )
        .unwrap();
        assert_eq!(
            (p.name.as_str(), p.version.as_str()),
            ("@scope/pkg", "1.2.3")
        );
        // Broken JSON: the directory's name, no version.
        let p = parse_metadata(
            MetaKind::NpmPackageJson,
            "/a/node_modules/@s/q/package.json",
            b"{",
        )
        .unwrap();
        assert_eq!((p.name.as_str(), p.version.as_str()), ("@s/q", ""));
        let p = parse_metadata(
            MetaKind::NpmPackageJson,
            "/a/node_modules/left-pad/package.json",
            b"{\"version\":\"1\"}",
        )
        .unwrap();
        assert_eq!(p.name, "left-pad");
    }
}
