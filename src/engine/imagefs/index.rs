//! [`ImageIndex`]: everything dspec answers about an image's filesystem, read once from its
//! layers and kept per image id in the user's cache (see [`super::cache`]): every path with
//! its type, mode, owner, size, link target and SHA-256, the image's history and layer diff
//! ids, its users and groups, and its OS, Python and Node packages. File contents are not in
//! the index; [`super::loader`] fetches them on demand.

use super::access::{self, Access};
use super::config::{self, HistoryStep, ImageConfig};
use super::ecosystems::{EcoPackage, Ecosystem};
use super::packages;
use super::sha256;
use super::tree::{FsEntry, ImageFs, LookupError};
use super::users::{Account, ExecUser, Group, Users};

/// Paths whose contents the index is built from (besides pip/npm metadata).
pub const PASSWD: &str = "/etc/passwd";
pub const GROUP: &str = "/etc/group";
pub const DPKG_STATUS: &str = "/var/lib/dpkg/status";
/// Distroless images keep one dpkg stanza file per package here.
pub const DPKG_STATUS_D: &str = "/var/lib/dpkg/status.d/";
pub const APK_INSTALLED: &str = "/lib/apk/db/installed";

/// Whether the index needs the content of `path` (a path as stored in a layer).
pub fn is_system_file(path: &str) -> bool {
    matches!(path, PASSWD | GROUP | DPKG_STATUS | APK_INSTALLED)
        || path
            .strip_prefix(DPKG_STATUS_D)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
}

/// An image's filesystem facts (see the module's doc).
#[derive(Debug, Clone)]
pub struct ImageIndex {
    pub(crate) id: String,
    pub(crate) fs: ImageFs,
    pub(crate) config: ImageConfig,
    pub(crate) passwd: Vec<u8>,
    pub(crate) group: Vec<u8>,
    pub(crate) users: Users,
    /// Sorted by ecosystem, normalised name, depth of the path, path.
    pub(crate) packages: Vec<EcoPackage>,
}

impl ImageIndex {
    /// Builds the index of image `id` from its merged filesystem (contents not needed), its
    /// config, the pip/npm packages found in its layers, and `content(path)`, the contents of
    /// the system files ([`is_system_file`]) that exist, looked up through symlinks.
    pub fn build(
        id: &str,
        mut fs: ImageFs,
        config: ImageConfig,
        eco_packages: Vec<EcoPackage>,
        content: &dyn Fn(&str) -> Option<Vec<u8>>,
    ) -> ImageIndex {
        fs.take_contents();
        let passwd = content(PASSWD).unwrap_or_default();
        let group = content(GROUP).unwrap_or_default();
        let mut packages = eco_packages;
        let os = |name: &str, version: &str, path: &str| EcoPackage {
            ecosystem: Ecosystem::Os,
            name: name.to_string(),
            version: version.to_string(),
            path: path.to_string(),
        };
        if let Some(s) = content(DPKG_STATUS) {
            for p in packages::dpkg_packages(&String::from_utf8_lossy(&s)) {
                packages.push(os(&p.name, &p.version, DPKG_STATUS));
            }
        }
        let status_d: Vec<String> = fs
            .glob(&format!("{DPKG_STATUS_D}*"))
            .into_iter()
            .map(|e| e.path.clone())
            .collect();
        for path in status_d {
            if let Some(s) = content(&path) {
                for p in packages::dpkg_status_d_packages([&*String::from_utf8_lossy(&s)]) {
                    packages.push(os(&p.name, &p.version, &path));
                }
            }
        }
        if let Some(s) = content(APK_INSTALLED) {
            for p in packages::apk_packages(&String::from_utf8_lossy(&s)) {
                packages.push(os(&p.name, &p.version, APK_INSTALLED));
            }
        }
        Self::assemble(id.to_string(), fs, config, passwd, group, packages)
    }

    /// The index from its stored parts.
    pub(crate) fn assemble(
        id: String,
        fs: ImageFs,
        config: ImageConfig,
        passwd: Vec<u8>,
        group: Vec<u8>,
        mut packages: Vec<EcoPackage>,
    ) -> ImageIndex {
        packages.sort_by_cached_key(|p| {
            (
                p.ecosystem,
                p.ecosystem.normalize(&p.name),
                p.path.matches('/').count(),
                p.path.clone(),
            )
        });
        packages.dedup();
        let users = Users::parse_bytes(&passwd, &group);
        ImageIndex {
            id,
            fs,
            config,
            passwd,
            group,
            users,
            packages,
        }
    }

    /// The image id (`sha256:…`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Every path's metadata: [`ImageFs::get`] (lstat), [`ImageFs::resolve`] (stat),
    /// [`ImageFs::glob`]. It holds no contents.
    pub fn fs(&self) -> &ImageFs {
        &self.fs
    }

    /// The build history, oldest first: one step per line of `docker history` (which lists
    /// them newest first), metadata-only steps included.
    pub fn history(&self) -> &[HistoryStep] {
        &self.config.history
    }

    /// `created_by` of every history step, oldest first (`history` in a spec).
    pub fn created_by(&self) -> Vec<&str> {
        self.config.created_by()
    }

    /// The layers' diff ids, bottom first (`docker inspect`'s `RootFS.Layers`).
    pub fn diff_ids(&self) -> &[String] {
        &self.config.diff_ids
    }

    /// Whether `base`'s layers are this image's first layers (`based_on(IMAGE)`); `base` is
    /// the other image's diff ids, from its index or from `docker inspect`.
    pub fn based_on(&self, base: &[String]) -> bool {
        config::based_on(&self.config.diff_ids, base)
    }

    /// The image's `USER` (empty: root).
    pub fn user(&self) -> &str {
        &self.config.user
    }

    /// The image's `/etc/passwd` and `/etc/group`.
    pub fn users(&self) -> &Users {
        &self.users
    }

    /// What the runtime runs a process as for the `USER` value `spec` (see
    /// [`Users::exec_user`]).
    pub fn exec_user(&self, spec: &str) -> Result<ExecUser, String> {
        self.users.exec_user(spec)
    }

    /// The image's own `USER`, resolved.
    pub fn image_user(&self) -> Result<ExecUser, String> {
        self.users.exec_user(&self.config.user)
    }

    /// `access(path, access)` as `user` (see [`access::access`]).
    pub fn access(&self, path: &str, user: &ExecUser, access: Access) -> Result<bool, LookupError> {
        access::access(&self.fs, path, user, access)
    }

    /// SHA-256 (hex) of the file at `path`, symlinks followed. `Ok(None)` for something that
    /// has no data (a directory, a device) or when the index was built without hashes.
    pub fn sha256(&self, path: &str) -> Result<Option<String>, LookupError> {
        let e = self.fs.stat(path)?;
        Ok(e.sha256.as_ref().map(sha256::hex))
    }

    /// The entry `path` resolves to (stat), whose data `content` would read.
    pub fn stat(&self, path: &str) -> Result<&FsEntry, LookupError> {
        self.fs.stat(path)
    }

    /// The account `name` (`account(NAME)`).
    pub fn account(&self, name: &str) -> Option<Account> {
        self.users.account(name)
    }

    /// The group `name` (`group(NAME)`): gid and listed members.
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.users.group(name)
    }

    /// Every installed package of `eco`, by name (as declared), then shallowest path: several
    /// installs of one name (npm's nested copies, two site-packages) each have an entry.
    pub fn packages(&self, eco: Ecosystem) -> Vec<&EcoPackage> {
        self.packages
            .iter()
            .filter(|p| p.ecosystem == eco)
            .collect()
    }

    /// The names of [`ImageIndex::packages`], once each, as declared, sorted.
    pub fn package_names(&self, eco: Ecosystem) -> Vec<String> {
        let mut v: Vec<String> = self.packages(eco).iter().map(|p| p.name.clone()).collect();
        v.sort();
        v.dedup();
        v
    }

    /// The package `name` of `eco`, compared the ecosystem's way (pip: PEP 503); with several
    /// installs, the one at the shallowest path (the top-level `node_modules` copy).
    pub fn package(&self, name: &str, eco: Ecosystem) -> Option<&EcoPackage> {
        let want = eco.normalize(name);
        self.packages
            .iter()
            .find(|p| p.ecosystem == eco && eco.normalize(&p.name) == want)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashMap};

    #[test]
    fn system_files() {
        assert!(is_system_file("/etc/passwd"));
        assert!(is_system_file("/var/lib/dpkg/status.d/libc6"));
        assert!(!is_system_file("/var/lib/dpkg/status.d/"));
        assert!(!is_system_file("/var/lib/dpkg/status.d/a/b"));
        assert!(!is_system_file("/etc/shadow"));
    }

    #[test]
    fn packages_and_users() {
        let pkg = |eco, name: &str, version: &str, path: &str| EcoPackage {
            ecosystem: eco,
            name: name.into(),
            version: version.into(),
            path: path.into(),
        };
        let contents: HashMap<&str, &str> = [
            (
                PASSWD,
                "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n",
            ),
            (GROUP, "root:x:0:\napp:x:1000:\nstaff:x:50:app\n"),
            (
                DPKG_STATUS,
                "Package: openssl\nStatus: install ok installed\nVersion: 3.0.11-1\n",
            ),
        ]
        .into_iter()
        .collect();
        let idx = ImageIndex::build(
            "sha256:x",
            ImageFs::new(BTreeMap::new(), HashMap::new(), Vec::new()),
            ImageConfig {
                user: "app".into(),
                ..Default::default()
            },
            vec![
                pkg(
                    Ecosystem::Npm,
                    "b",
                    "2",
                    "/a/node_modules/x/node_modules/b/package.json",
                ),
                pkg(Ecosystem::Npm, "b", "1", "/a/node_modules/b/package.json"),
                pkg(
                    Ecosystem::Pip,
                    "PyYAML",
                    "6.0",
                    "/s/site-packages/PyYAML-6.0.dist-info/METADATA",
                ),
            ],
            &|p| contents.get(p).map(|c| c.as_bytes().to_vec()),
        );
        assert_eq!(
            idx.package("openssl", Ecosystem::Os).unwrap().version,
            "3.0.11-1"
        );
        assert_eq!(
            idx.package("pyyaml", Ecosystem::Pip).unwrap().version,
            "6.0"
        );
        assert_eq!(idx.package("py_yaml", Ecosystem::Pip), None);
        assert_eq!(idx.package("b", Ecosystem::Npm).unwrap().version, "1");
        assert_eq!(idx.packages(Ecosystem::Npm).len(), 2);
        assert_eq!(idx.package_names(Ecosystem::Npm), vec!["b"]);
        assert_eq!(idx.package_names(Ecosystem::Os), vec!["openssl"]);
        let me = idx.image_user().unwrap();
        assert_eq!((me.uid, me.sgids.clone()), (1000, vec![50]));
        assert_eq!(idx.account("app").unwrap().groups, vec!["app", "staff"]);
        assert_eq!(idx.group("staff").unwrap().members, vec!["app"]);
    }
}
