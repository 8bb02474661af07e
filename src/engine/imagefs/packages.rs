//! Installed packages from an image's package databases.
//!
//! * dpkg: `/var/lib/dpkg/status` — stanzas separated by blank lines; a
//!   package counts only when its `Status:` is `install ok installed`.
//!   `/var/lib/dpkg/status.d/*` (distroless) stanzas have no `Status:` and
//!   are read with [`dpkg_status_d_packages`].
//! * apk: `/lib/apk/db/installed` — `P:` (name) and `V:` (version) lines,
//!   stanzas separated by blank lines.
//!
//! Results are sorted by name and deduplicated (multi-arch dpkg packages
//! such as `libc6:amd64` and `libc6:i386` give one name). Only `std` is used.

/// An installed package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Package {
    pub name: String,
    /// Empty when the database has no version field.
    pub version: String,
}

/// Splits a control-file-like text into stanzas of (field, value) with
/// continuation lines appended.
fn stanzas(text: &str) -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut cur: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some(last) = cur.last_mut() {
                last.1.push('\n');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            cur.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn field<'a>(st: &'a [(String, String)], name: &str) -> Option<&'a str> {
    st.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn finish(mut v: Vec<Package>) -> Vec<Package> {
    v.sort();
    v.dedup_by(|a, b| a.name == b.name);
    v
}

/// Installed packages from a dpkg `status` file.
pub fn dpkg_packages(status: &str) -> Vec<Package> {
    finish(
        stanzas(status)
            .iter()
            .filter(|st| {
                field(st, "Status")
                    .map(|s| {
                        s.split_whitespace().collect::<Vec<_>>() == ["install", "ok", "installed"]
                    })
                    .unwrap_or(false)
            })
            .filter_map(|st| {
                Some(Package {
                    name: field(st, "Package")?.to_string(),
                    version: field(st, "Version").unwrap_or("").to_string(),
                })
            })
            .collect(),
    )
}

/// Installed package names from a dpkg `status` file.
pub fn dpkg_installed(status: &str) -> Vec<String> {
    dpkg_packages(status).into_iter().map(|p| p.name).collect()
}

/// Packages from the files of `/var/lib/dpkg/status.d/` (distroless): every
/// stanza with a `Package:` field counts unless its `Status:` (when present)
/// is not `install ok installed`.
pub fn dpkg_status_d_packages<'a, I: IntoIterator<Item = &'a str>>(files: I) -> Vec<Package> {
    let mut v = Vec::new();
    for text in files {
        for st in stanzas(text) {
            if let Some(s) = field(&st, "Status")
                && s.split_whitespace().collect::<Vec<_>>() != ["install", "ok", "installed"]
            {
                continue;
            }
            if let Some(name) = field(&st, "Package") {
                v.push(Package {
                    name: name.to_string(),
                    version: field(&st, "Version").unwrap_or("").to_string(),
                });
            }
        }
    }
    finish(v)
}

/// Installed packages from apk's `lib/apk/db/installed`.
pub fn apk_packages(db: &str) -> Vec<Package> {
    let mut v = Vec::new();
    let mut name: Option<String> = None;
    let mut version = String::new();
    let mut flush = |name: &mut Option<String>, version: &mut String| {
        if let Some(n) = name.take() {
            v.push(Package {
                name: n,
                version: std::mem::take(version),
            });
        }
        version.clear();
    };
    for line in db.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            flush(&mut name, &mut version);
        } else if let Some(n) = line.strip_prefix("P:") {
            if name.is_some() {
                flush(&mut name, &mut version);
            }
            let n = n.trim();
            if !n.is_empty() {
                name = Some(n.to_string());
            }
        } else if let Some(ver) = line.strip_prefix("V:") {
            version = ver.trim().to_string();
        }
    }
    flush(&mut name, &mut version);
    finish(v)
}

/// Installed package names from apk's `lib/apk/db/installed`.
pub fn apk_installed(db: &str) -> Vec<String> {
    apk_packages(db).into_iter().map(|p| p.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:1.2.13\nDescription: compression\n multi-line\n .\n more\n\n\
Package: removed-pkg\nStatus: deinstall ok config-files\nVersion: 1\n\n\
Package: half\nStatus: install ok half-installed\n\n\
Package: libc6\nStatus: install  ok  installed\nArchitecture: amd64\nVersion: 2.36\n\n\n\
Package: libc6\nStatus: install ok installed\nArchitecture: i386\nVersion: 2.36\n\n\
Package: base-files\r\nStatus: install ok installed\r\nVersion: 12\r\n";

    #[test]
    fn dpkg() {
        assert_eq!(
            dpkg_installed(STATUS),
            vec!["base-files", "libc6", "zlib1g"]
        );
        let p = dpkg_packages(STATUS);
        assert_eq!(p[2].version, "1:1.2.13");
        assert!(dpkg_installed("").is_empty());
    }

    #[test]
    fn dpkg_status_d() {
        let a = "Package: libssl3\nVersion: 3.0\nArchitecture: amd64\n";
        let b = "Package: netbase\nVersion: 6.4\n\nPackage: gone\nStatus: purge ok not-installed\n";
        let names: Vec<String> = dpkg_status_d_packages([a, b])
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, vec!["libssl3", "netbase"]);
    }

    #[test]
    fn apk() {
        let db = "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\n\nC:Q1def=\nP:busybox\nV:1.36.1-r5\nR:bin/busybox\n\nP:musl\nV:1.2.4-r2\n\nP:alpine-baselayout-data\nV:3.4.3-r1";
        assert_eq!(
            apk_installed(db),
            vec!["alpine-baselayout-data", "busybox", "musl"]
        );
        assert_eq!(apk_packages(db)[1].version, "1.36.1-r5");
        assert!(apk_installed("\n\n").is_empty());
    }
}
