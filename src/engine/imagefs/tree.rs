//! The merged filesystem of an image: every path with its lstat-like metadata, looked up the
//! way the kernel resolves paths inside the image's root.
//!
//! Path resolution ([`ImageFs::lookup`]) follows the kernel's rules, with the image root as
//! `/` (a chroot): every component but the last is looked up in a directory (`ENOTDIR`
//! otherwise); a symlink met on the way is replaced by its target, absolute targets restart
//! at the image root and relative ones at the link's directory; `..` climbs one directory and
//! never above the root; at most [`MAX_SYMLINKS`] links are followed in one lookup (`ELOOP`);
//! a trailing `/` follows the last component and requires a directory.
//!
//! Which properties follow the last component:
//! * **stat** (follow): `content`, `sha256`, `readable`/`writable`/`executable` — what a
//!   process opening the path gets;
//! * **lstat** (do not follow): `exists`, `type`, `mode`, `uid`, `gid`, `owner`, `group`,
//!   `size`, `target` — the path itself, so `file("/bin/sh").type == "symlink"`, and a dangling
//!   symlink exists. (A hard link is the tar's name for a second path of a file: its metadata
//!   is its own, its `size`, `content` and `sha256` are its target's, and `type` reports
//!   `hardlink` for the path that the layer stored as the link.)

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;

/// Maximum number of symlinks followed while resolving one path (Linux's `MAXSYMLINKS`).
pub const MAX_SYMLINKS: usize = 40;

/// Kind of a filesystem entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    /// A hardlink entry in a layer tar; `link_target` is the absolute path
    /// it links to.
    Hardlink,
    Char,
    Block,
    Fifo,
}

impl EntryKind {
    /// The kind of a tar entry; `None` for pax headers and other entries that are not files.
    pub fn of_tar(et: tar::EntryType) -> Option<EntryKind> {
        Some(
            if et.is_file() || et.is_contiguous() || et.is_gnu_sparse() {
                EntryKind::File
            } else if et.is_dir() {
                EntryKind::Dir
            } else if et.is_symlink() {
                EntryKind::Symlink
            } else if et.is_hard_link() {
                EntryKind::Hardlink
            } else if et.is_character_special() {
                EntryKind::Char
            } else if et.is_block_special() {
                EntryKind::Block
            } else if et.is_fifo() {
                EntryKind::Fifo
            } else {
                return None;
            },
        )
    }

    /// The word `file(PATH).type` gives: `file`, `dir`, `symlink`, `hardlink`, `char`, `block`,
    /// `fifo`.
    pub fn word(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Dir => "dir",
            EntryKind::Symlink => "symlink",
            EntryKind::Hardlink => "hardlink",
            EntryKind::Char => "char",
            EntryKind::Block => "block",
            EntryKind::Fifo => "fifo",
        }
    }

    /// A regular file's data: a file, or a hard link to one.
    pub fn has_data(self) -> bool {
        matches!(self, EntryKind::File | EntryKind::Hardlink)
    }

    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_code(c: u8) -> Option<EntryKind> {
        use EntryKind::*;
        [File, Dir, Symlink, Hardlink, Char, Block, Fifo]
            .get(c as usize)
            .copied()
    }
}

/// One path in the image, with lstat-like metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsEntry {
    /// Absolute, normalized path, e.g. `/app/main.pyc`; `/` for the root.
    pub path: String,
    pub kind: EntryKind,
    /// Permission bits incl. setuid/setgid/sticky (`mode & 0o7777`).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Data size for files (and hardlinks: their target's size); 0 otherwise.
    pub size: u64,
    /// Symlink target verbatim (relative or absolute), or a hardlink's
    /// absolute target path.
    pub link_target: Option<String>,
    /// SHA-256 of the data of a file (a hardlink: its target's), when the layers were read
    /// with hashing on.
    pub sha256: Option<[u8; 32]>,
}

/// Why a path cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// `ENOENT`: the path, or a component of it, or a symlink's target, does not exist.
    NotFound(String),
    /// `ENOTDIR`: a component before the last is not a directory.
    NotADirectory(String),
    /// `ELOOP`: more than [`MAX_SYMLINKS`] symlinks.
    Loop(String),
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupError::NotFound(p) => write!(f, "`{p}` does not exist in the image"),
            LookupError::NotADirectory(p) => {
                write!(f, "`{p}`: a component of the path is not a directory")
            }
            LookupError::Loop(p) => write!(
                f,
                "`{p}`: too many levels of symbolic links (more than {MAX_SYMLINKS})"
            ),
        }
    }
}

impl std::error::Error for LookupError {}

/// A resolved path: the entry's key, and every directory a component was looked up in (the
/// directories whose search permission the lookup needs), in lookup order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub path: String,
    pub searched: Vec<String>,
}

/// The merged filesystem of an image.
#[derive(Debug, Clone)]
pub struct ImageFs {
    entries: BTreeMap<String, FsEntry>,
    contents: HashMap<String, Vec<u8>>,
    layers: Vec<String>,
}

impl ImageFs {
    /// A filesystem made of `entries` (the root is added when missing) and the contents kept
    /// for some paths.
    pub fn new(
        mut entries: BTreeMap<String, FsEntry>,
        contents: HashMap<String, Vec<u8>>,
        layers: Vec<String>,
    ) -> ImageFs {
        entries
            .entry("/".to_string())
            .or_insert_with(|| dir_entry("/"));
        ImageFs {
            entries,
            contents,
            layers,
        }
    }

    /// The entry at `abs_path` with lstat semantics: symlinks in the
    /// directory part are followed, a symlink in the last component is
    /// returned as the symlink. A trailing `/` follows the last component too.
    pub fn get(&self, abs_path: &str) -> Option<&FsEntry> {
        self.lstat(abs_path).ok()
    }

    /// The entry at `abs_path` with stat semantics: every symlink (absolute
    /// or relative target) is followed, at most [`MAX_SYMLINKS`] in total.
    /// Returns None for a dangling link, a loop or a missing path.
    pub fn resolve(&self, abs_path: &str) -> Option<&FsEntry> {
        self.stat(abs_path).ok()
    }

    /// Like [`ImageFs::get`], saying why a path does not resolve.
    pub fn lstat(&self, path: &str) -> Result<&FsEntry, LookupError> {
        if let Some(key) = fast_key(path)
            && let Some(e) = self.entries.get(&key)
        {
            return Ok(e);
        }
        let r = self.lookup(path, false)?;
        Ok(&self.entries[&r.path])
    }

    /// Like [`ImageFs::resolve`], saying why a path does not resolve.
    pub fn stat(&self, path: &str) -> Result<&FsEntry, LookupError> {
        if let Some(key) = fast_key(path)
            && let Some(e) = self.entries.get(&key)
            && e.kind != EntryKind::Symlink
        {
            return Ok(e);
        }
        let r = self.lookup(path, true)?;
        Ok(&self.entries[&r.path])
    }

    /// Resolves `path` as the kernel would inside the image (see the module's doc); with
    /// `follow` the last component is followed too. Relative paths start at `/`.
    pub fn lookup(&self, path: &str, follow: bool) -> Result<Resolved, LookupError> {
        let mut searched = Vec::new();
        let path = self.lookup_traced(path, follow, &mut searched)?;
        Ok(Resolved { path, searched })
    }

    /// [`ImageFs::lookup`] that records the directories searched in `searched` also when the
    /// lookup fails (they are the ones searched before the failure).
    pub fn lookup_traced(
        &self,
        path: &str,
        follow: bool,
        searched: &mut Vec<String>,
    ) -> Result<String, LookupError> {
        let err_path = || {
            if path.starts_with('/') {
                path.to_string()
            } else {
                format!("/{path}")
            }
        };
        let trailing = path.len() > 1 && path.ends_with('/');
        let follow = follow || trailing;
        let mut queue: VecDeque<String> = path
            .split('/')
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        let mut cur = String::from("/");
        let mut budget = MAX_SYMLINKS;
        while let Some(comp) = queue.pop_front() {
            match comp.as_str() {
                "." => continue,
                ".." => {
                    searched.push(cur.clone());
                    cur = parent_of(&cur).to_string();
                    continue;
                }
                _ => {}
            }
            searched.push(cur.clone());
            let next = join(&cur, &comp);
            let Some(entry) = self.entries.get(&next) else {
                return Err(LookupError::NotFound(err_path()));
            };
            let last = queue.is_empty();
            if entry.kind == EntryKind::Symlink && (!last || follow) {
                if budget == 0 {
                    return Err(LookupError::Loop(err_path()));
                }
                budget -= 1;
                let target = entry.link_target.as_deref().unwrap_or("");
                if target.is_empty() {
                    return Err(LookupError::NotFound(err_path()));
                }
                if target.starts_with('/') {
                    cur = String::from("/");
                }
                for c in target.split('/').filter(|c| !c.is_empty()).rev() {
                    queue.push_front(c.to_string());
                }
                continue;
            }
            if !last && entry.kind != EntryKind::Dir {
                return Err(LookupError::NotADirectory(err_path()));
            }
            cur = next;
        }
        if trailing && self.entries[&cur].kind != EntryKind::Dir {
            return Err(LookupError::NotADirectory(err_path()));
        }
        Ok(cur)
    }

    /// Non-directory entries whose path matches `pattern` (absolute glob; a
    /// relative one is taken as absolute; `*` and `?` do not cross `/`, `**`
    /// matches any depth, `[...]`, `{a,b}`, `\` escapes), sorted by path.
    /// Symlinks are not followed. An invalid pattern matches nothing.
    pub fn glob(&self, pattern: &str) -> Vec<&FsEntry> {
        let pat = if pattern.starts_with('/') {
            pattern.to_string()
        } else {
            format!("/{pattern}")
        };
        let Ok(m) = crate::glob::compile(&pat) else {
            return Vec::new();
        };
        // Scan only below the literal directory prefix of the pattern.
        let meta = pat.find(['*', '?', '[', '{', '\\']).unwrap_or(pat.len());
        let prefix = &pat[..=pat[..meta].rfind('/').unwrap_or(0)];
        self.entries
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter(|(k, e)| e.kind != EntryKind::Dir && m.is_match(k.as_str()))
            .map(|(_, e)| e)
            .collect()
    }

    /// The content of the file at `abs_path` (symlinks followed), if it was kept when the
    /// layers were read (see [`super::layers::read_saved_image`]).
    pub fn content(&self, abs_path: &str) -> Option<&[u8]> {
        let key = self.lookup(abs_path, true).ok()?.path;
        self.contents.get(&key).map(|v| v.as_slice())
    }

    /// The contents kept, by path.
    pub fn contents(&self) -> &HashMap<String, Vec<u8>> {
        &self.contents
    }

    /// Takes the contents kept, leaving none.
    pub fn take_contents(&mut self) -> HashMap<String, Vec<u8>> {
        std::mem::take(&mut self.contents)
    }

    /// Number of entries, including the root directory.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Always false: the root directory is always present.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All entries in path order (byte order), the root first.
    pub fn iter(&self) -> impl Iterator<Item = &FsEntry> {
        self.entries.values()
    }

    /// The layer paths inside the save tar, in manifest (application) order.
    pub fn layers(&self) -> &[String] {
        &self.layers
    }
}

/// Lexically normalized key when the path has no `..` and no trailing `/` (then, since every
/// stored entry's parents are directories, a direct hit is the lstat answer).
fn fast_key(path: &str) -> Option<String> {
    if path.len() > 1 && path.ends_with('/') {
        return None;
    }
    let mut out = String::with_capacity(path.len() + 1);
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => return None,
            c => {
                out.push('/');
                out.push_str(c);
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    Some(out)
}

pub(crate) fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

pub(crate) fn parent_of(p: &str) -> &str {
    match p.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &p[..i],
    }
}

/// Normalizes a tar entry name to an absolute path (`./a/b/` → `/a/b`);
/// `..` cannot climb above the root.
pub(crate) fn normalize_abs(name: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        "/".to_string()
    } else {
        format!("/{}", parts.join("/"))
    }
}

pub(crate) fn dir_entry(path: &str) -> FsEntry {
    FsEntry {
        path: path.to_string(),
        kind: EntryKind::Dir,
        mode: 0o755,
        uid: 0,
        gid: 0,
        size: 0,
        link_target: None,
        sha256: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(path: &str, kind: EntryKind, target: Option<&str>) -> (String, FsEntry) {
        (
            path.to_string(),
            FsEntry {
                path: path.to_string(),
                kind,
                mode: 0o755,
                uid: 0,
                gid: 0,
                size: 0,
                link_target: target.map(str::to_string),
                sha256: None,
            },
        )
    }

    fn fs() -> ImageFs {
        use EntryKind::*;
        ImageFs::new(
            [
                e("/usr", Dir, None),
                e("/usr/lib", Dir, None),
                e("/usr/lib/x", File, None),
                e("/lib", Symlink, Some("usr/lib")),
                e("/up", Symlink, Some("../../../usr")),
                e("/etc", Dir, None),
                e("/etc/self", Symlink, Some(".")),
                e("/etc/chain", Symlink, Some("/lib/../lib/x")),
                e("/loop", Symlink, Some("loop")),
                e("/empty", Symlink, Some("")),
                e("/file", File, None),
                e("/escape", Symlink, Some("/../../../../etc/../usr/lib/x")),
            ]
            .into_iter()
            .collect(),
            HashMap::new(),
            Vec::new(),
        )
    }

    #[test]
    fn kernel_like_resolution() {
        let fs = fs();
        let path = |p: &str| fs.lookup(p, true).map(|r| r.path);
        assert_eq!(path("/lib/x").unwrap(), "/usr/lib/x");
        assert_eq!(path("/up/lib/x").unwrap(), "/usr/lib/x");
        assert_eq!(path("/etc/self/self/self/chain").unwrap(), "/usr/lib/x");
        // `..` never leaves the image root, whatever the link says.
        assert_eq!(path("/escape").unwrap(), "/usr/lib/x");
        assert_eq!(path("/../../lib/x").unwrap(), "/usr/lib/x");
        // `..` after a symlinked directory is taken in the target's parent (as the kernel).
        assert_eq!(path("/lib/../lib/x").unwrap(), "/usr/lib/x");
        assert!(matches!(path("/loop"), Err(LookupError::Loop(_))));
        assert!(matches!(path("/empty"), Err(LookupError::NotFound(_))));
        assert!(matches!(
            path("/file/x"),
            Err(LookupError::NotADirectory(_))
        ));
        assert!(matches!(path("/file/"), Err(LookupError::NotADirectory(_))));
        assert!(matches!(path("/nope"), Err(LookupError::NotFound(_))));
        // lstat keeps the last symlink.
        assert_eq!(fs.lstat("/lib").unwrap().kind, EntryKind::Symlink);
        assert_eq!(fs.lstat("/lib/").unwrap().kind, EntryKind::Dir);
        assert_eq!(fs.stat("/lib").unwrap().path, "/usr/lib");
        assert_eq!(fs.lstat("/loop").unwrap().kind, EntryKind::Symlink);
        let msg = path("/loop").unwrap_err().to_string();
        assert!(msg.contains("more than 40"), "{msg}");
    }

    #[test]
    fn a_chain_of_forty_links_resolves_and_forty_one_loops() {
        let mut entries: BTreeMap<String, FsEntry> = BTreeMap::new();
        entries.extend([e("/t", EntryKind::File, None)]);
        for i in 0..41 {
            let target = if i == 0 {
                "/t".to_string()
            } else {
                format!("l{}", i - 1)
            };
            entries.extend([e(&format!("/l{i}"), EntryKind::Symlink, Some(&target))]);
        }
        let fs = ImageFs::new(entries, HashMap::new(), Vec::new());
        assert_eq!(fs.lookup("/l39", true).unwrap().path, "/t");
        assert!(matches!(fs.lookup("/l40", true), Err(LookupError::Loop(_))));
    }

    #[test]
    fn searched_directories() {
        let fs = fs();
        let r = fs.lookup("/lib/x", true).unwrap();
        // `/` (lib), then the link restarts in `/` (usr), `/usr` (lib), `/usr/lib` (x).
        assert_eq!(r.searched, vec!["/", "/", "/usr", "/usr/lib"]);
    }
}
