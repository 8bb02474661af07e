//! An image's exact filesystem, read from the `docker save` stream
//! (`GET /images/{name}/get`) without creating or running a container.
//!
//! [`read_image`] reads the save tar in one streaming pass. Each layer
//! tar inside it is read as a nested tar: per-entry metadata is kept, file
//! data streams past (hashed with SHA-256 when asked, never buffered), and the
//! content of the paths the caller asks for is kept, as well as the package
//! metadata files of the Python and Node ecosystems (parsed on the fly). When
//! the stream ends, the layers are applied in the order `manifest.json` gives,
//! with overlay/AUFS whiteouts:
//!
//! * `.wh.<name>` deletes `<name>` and everything below it from lower layers;
//! * `.wh..wh..opq` hides every lower-layer entry under its directory (applied
//!   before the layer's own entries);
//! * a non-directory replacing a directory removes the lower subtree; a
//!   directory over a directory takes the upper metadata and keeps children;
//! * a hardlink keeps its own header metadata, and its size, hash (and wanted
//!   content) are those of its target at the time the layer is applied;
//! * a parent directory missing from a layer keeps the lower layer's
//!   directory, or is created as `0755 0:0` (like Docker's unpacker).
//!
//! The image's config JSON (history, diff ids, `USER`) is read from the same
//! stream. Memory grows with the number of entries (and the wanted contents),
//! not with the image's byte size.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufReader, Read};

use super::config::ImageConfig;
use super::ecosystems::{self, EcoPackage};
use super::sha256::Hasher;
pub use super::tree::{EntryKind, FsEntry, ImageFs, MAX_SYMLINKS};
use super::tree::{dir_entry, join, normalize_abs, parent_of};

/// What [`read_image`] keeps besides metadata.
pub struct ReadOptions<'a> {
    /// Asked for every regular file in every layer: the data of wanted files of at most
    /// `max_content` bytes is kept, and [`ImageFs::content`] returns the topmost layer's
    /// version. A wanted hardlink gets its target's content when the target was wanted too.
    pub want: &'a dyn Fn(&str) -> bool,
    pub max_content: u64,
    /// SHA-256 of every regular file ([`FsEntry::sha256`]).
    pub hash: bool,
    /// Parse pip and npm metadata files ([`SavedImage::packages`]).
    pub packages: bool,
}

/// An image read from its `docker save` stream.
#[derive(Debug, Clone)]
pub struct SavedImage {
    pub fs: ImageFs,
    /// The config JSON `manifest.json` names; `None` when the stream has none.
    pub config: Option<ImageConfig>,
    /// Python and Node packages whose metadata file is in the merged filesystem, by path.
    pub packages: Vec<EcoPackage>,
}

#[derive(Debug, Clone)]
enum RawKind {
    Entry(EntryKind),
    /// `.wh.<name>`: the path to delete.
    Whiteout,
    /// `.wh..wh..opq`: the directory whose lower contents are hidden.
    Opaque,
}

#[derive(Debug, Clone)]
struct RawEntry {
    path: String,
    kind: RawKind,
    mode: u32,
    uid: u64,
    gid: u64,
    size: u64,
    link_target: Option<String>,
    content: Option<Vec<u8>>,
    sha256: Option<[u8; 32]>,
    package: Option<EcoPackage>,
}

enum Layer {
    Entries(Vec<RawEntry>),
    Compressed(&'static str),
}

/// Largest JSON file kept from the stream (manifest, config).
const MAX_JSON: u64 = 64 << 20;

/// Reads a `docker save` stream and returns the image's merged filesystem, without hashes
/// or packages (see [`read_image`]).
pub fn read_saved_image<R: Read>(
    r: R,
    want_content: &dyn Fn(&str) -> bool,
    max_content: u64,
) -> io::Result<ImageFs> {
    let opts = ReadOptions {
        want: want_content,
        max_content,
        hash: false,
        packages: false,
    };
    read_image(r, &opts).map(|s| s.fs)
}

/// Reads a `docker save` stream: the image's merged filesystem, its config, and what `opts`
/// asks for.
///
/// * The stream is read once, front to back; layer data is skipped or hashed.
/// * Supports the classic layout (`<id>/layer.tar`, symlinked duplicates,
///   `manifest.json` at any position) and OCI layouts whose uncompressed
///   layer blobs are listed in `manifest.json`. If `manifest.json` lists
///   several images, the first is used.
///
/// Errors (`InvalidData`): no `manifest.json`, a listed layer missing from
/// the stream, a compressed layer, a malformed tar.
pub fn read_image<R: Read>(r: R, opts: &ReadOptions<'_>) -> io::Result<SavedImage> {
    let mut outer = tar::Archive::new(BufReader::with_capacity(256 << 10, r));
    let mut layers: HashMap<String, Layer> = HashMap::new();
    let mut links: HashMap<String, String> = HashMap::new();
    let mut jsons: HashMap<String, Vec<u8>> = HashMap::new();
    for entry in outer.entries()? {
        let mut entry = entry?;
        let name = normalize_abs(&entry.path()?.to_string_lossy());
        let et = entry.header().entry_type();
        if et.is_symlink() || et.is_hard_link() {
            if let Some(target) = entry.link_name()? {
                let target = target.to_string_lossy();
                let resolved = if et.is_symlink() && !target.starts_with('/') {
                    normalize_abs(&format!("{}/{}", parent_of(&name), target))
                } else {
                    normalize_abs(&target)
                };
                links.insert(name, resolved);
            }
            continue;
        }
        if !(et.is_file() || et.is_contiguous()) {
            continue;
        }
        if name.ends_with(".json") {
            if entry.size() <= MAX_JSON {
                let mut buf = Vec::new();
                (&mut entry).take(MAX_JSON).read_to_end(&mut buf)?;
                jsons.insert(name, buf);
            }
            continue;
        }
        if name.ends_with("/VERSION")
            || name.ends_with("/json")
            || name == "/repositories"
            || name == "/oci-layout"
        {
            continue;
        }
        // Candidate layer (or an OCI JSON blob): peek at the first block.
        let mut head = Vec::with_capacity(512);
        (&mut entry).take(512).read_to_end(&mut head)?;
        if head.first() == Some(&b'{') && entry.size() <= MAX_JSON {
            let mut buf = head;
            (&mut entry).take(MAX_JSON).read_to_end(&mut buf)?;
            jsons.insert(name, buf);
            continue;
        }
        if head.len() >= 2 && head[0] == 0x1f && head[1] == 0x8b {
            layers.insert(name, Layer::Compressed("gzip"));
            continue;
        }
        if head.len() >= 4 && head[..4] == [0x28, 0xb5, 0x2f, 0xfd] {
            layers.insert(name, Layer::Compressed("zstd"));
            continue;
        }
        if head.len() < 512 || !looks_like_tar_block(&head) {
            continue;
        }
        let chained = io::Cursor::new(head).chain(&mut entry);
        let raw = read_layer(chained, opts)
            .map_err(|e| io::Error::new(e.kind(), format!("layer {name}: {e}")))?;
        layers.insert(name, Layer::Entries(raw));
    }
    let manifest = jsons
        .get("/manifest.json")
        .ok_or_else(|| invalid("no manifest.json in the docker save stream"))?;
    let (config_name, layer_names) = parse_manifest(manifest)?;
    let follow = |name: &str| -> io::Result<String> {
        let mut key = normalize_abs(name);
        let mut hops = 0;
        while let Some(t) = links.get(&key) {
            key = t.clone();
            hops += 1;
            if hops > MAX_SYMLINKS {
                return Err(invalid(&format!("symlink loop for {name}")));
            }
        }
        Ok(key)
    };
    let config = match config_name {
        Some(c) => match jsons.get(&follow(&c)?) {
            Some(bytes) => Some(ImageConfig::parse(bytes).map_err(|e| invalid(&e))?),
            None => None,
        },
        None => None,
    };

    let mut fs = Merger::new();
    let mut resolved_names = Vec::new();
    for lname in &layer_names {
        let key = follow(lname)?;
        match layers.get(&key) {
            Some(Layer::Entries(raw)) => fs.apply_layer(raw),
            Some(Layer::Compressed(kind)) => {
                return Err(invalid(&format!(
                    "layer {lname} is {kind}-compressed; not supported"
                )));
            }
            None => {
                return Err(invalid(&format!(
                    "layer {lname} listed in manifest.json is not in the stream"
                )));
            }
        }
        resolved_names.push(lname.clone());
    }
    let mut packages: Vec<EcoPackage> = fs.packages.into_values().collect();
    packages.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(SavedImage {
        fs: ImageFs::new(fs.entries, fs.contents, resolved_names),
        config,
        packages,
    })
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

/// An all-zero block (empty archive) or a header with a valid checksum.
fn looks_like_tar_block(b: &[u8]) -> bool {
    if b.iter().all(|&x| x == 0) {
        return true;
    }
    let field = &b[148..156];
    let s: String = field
        .iter()
        .map(|&c| c as char)
        .filter(|c| c.is_digit(8))
        .collect();
    let Ok(want) = u32::from_str_radix(&s, 8) else {
        return false;
    };
    let sum: u32 = b
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if (148..156).contains(&i) {
                32
            } else {
                c as u32
            }
        })
        .sum();
    sum == want
}

/// What is read of one file's data.
struct FileData {
    sha256: Option<[u8; 32]>,
    /// The first `keep` bytes.
    kept: Vec<u8>,
}

/// Streams a file's data: hashes it when asked and keeps its first `keep` bytes.
fn read_data(r: &mut impl Read, buf: &mut [u8], hash: bool, keep: u64) -> io::Result<FileData> {
    let mut hasher = hash.then(Hasher::new);
    let mut kept = Vec::with_capacity(keep.min(1 << 20) as usize);
    let keep = keep as usize;
    if hasher.is_none() && keep == 0 {
        return Ok(FileData { sha256: None, kept });
    }
    loop {
        let n = match r.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if let Some(h) = &mut hasher {
            h.update(&buf[..n]);
        } else if kept.len() + n >= keep {
            kept.extend_from_slice(&buf[..keep - kept.len()]);
            break;
        }
        if kept.len() < keep {
            let take = n.min(keep - kept.len());
            kept.extend_from_slice(&buf[..take]);
        }
    }
    Ok(FileData {
        sha256: hasher.map(Hasher::finish),
        kept,
    })
}

/// Reads one layer tar's metadata (and what `opts` asks for).
fn read_layer<R: Read>(r: R, opts: &ReadOptions<'_>) -> io::Result<Vec<RawEntry>> {
    let mut ar = tar::Archive::new(r);
    let mut out = Vec::new();
    let mut buf = vec![0u8; 128 << 10];
    for e in ar.entries()? {
        let mut e = e?;
        let hdr = e.header();
        let Some(kind) = EntryKind::of_tar(hdr.entry_type()) else {
            continue; // global pax headers and unknown types
        };
        let path = normalize_abs(&e.path()?.to_string_lossy());
        // Empty numeric fields read as 0, as Go's archive/tar (the engine's unpacker) reads them.
        let mode = hdr.mode().unwrap_or(0) & 0o7777;
        let uid = hdr.uid().unwrap_or(0);
        let gid = hdr.gid().unwrap_or(0);
        let base = path.rsplit('/').next().unwrap_or("");
        if let Some(rest) = base.strip_prefix(".wh.") {
            let dir = parent_of(&path).to_string();
            let (kind, p) = if rest == ".wh..opq" {
                (RawKind::Opaque, dir)
            } else if rest.starts_with(".wh.") {
                continue; // other AUFS metadata (.wh..wh.plnk, .wh..wh.aufs)
            } else {
                (RawKind::Whiteout, join(&dir, rest))
            };
            out.push(RawEntry {
                path: p,
                kind,
                mode,
                uid,
                gid,
                size: 0,
                link_target: None,
                content: None,
                sha256: None,
                package: None,
            });
            continue;
        }
        let link_target = match kind {
            EntryKind::Symlink => e.link_name()?.map(|l| l.to_string_lossy().into_owned()),
            EntryKind::Hardlink => e.link_name()?.map(|l| normalize_abs(&l.to_string_lossy())),
            _ => None,
        };
        let size = if kind == EntryKind::File { e.size() } else { 0 };
        let (mut content, mut sha256, mut package) = (None, None, None);
        if kind == EntryKind::File {
            let wanted = size <= opts.max_content && (opts.want)(&path);
            let meta = if opts.packages {
                ecosystems::metadata_kind(&path)
            } else {
                None
            };
            let keep = if wanted {
                size
            } else if meta.is_some() {
                size.min(ecosystems::META_MAX)
            } else {
                0
            };
            let data = read_data(&mut e, &mut buf, opts.hash, keep)?;
            sha256 = data.sha256;
            if let Some(kind) = meta {
                package = ecosystems::parse_metadata(kind, &path, &data.kept);
            }
            if wanted {
                content = Some(data.kept);
            }
        }
        out.push(RawEntry {
            path,
            kind: RawKind::Entry(kind),
            mode,
            uid,
            gid,
            size,
            link_target,
            content,
            sha256,
            package,
        });
    }
    Ok(out)
}

struct Merger {
    entries: BTreeMap<String, FsEntry>,
    contents: HashMap<String, Vec<u8>>,
    packages: HashMap<String, EcoPackage>,
}

impl Merger {
    fn new() -> Self {
        let mut entries = BTreeMap::new();
        entries.insert("/".to_string(), dir_entry("/"));
        Merger {
            entries,
            contents: HashMap::new(),
            packages: HashMap::new(),
        }
    }

    fn forget(&mut self, path: &str) {
        self.entries.remove(path);
        self.contents.remove(path);
        self.packages.remove(path);
    }

    /// Removes everything strictly below `dir`.
    fn remove_below(&mut self, dir: &str) {
        let prefix = if dir == "/" {
            "/".to_string()
        } else {
            format!("{dir}/")
        };
        let keys: Vec<String> = self
            .entries
            .range::<str, _>((
                std::ops::Bound::Included(prefix.as_str()),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(k, _)| k.as_str() != "/")
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            self.forget(&k);
        }
    }

    fn remove_tree(&mut self, path: &str) {
        if path == "/" {
            self.remove_below("/");
            return;
        }
        self.remove_below(path);
        self.forget(path);
    }

    fn apply_layer(&mut self, raw: &[RawEntry]) {
        for e in raw {
            if let RawKind::Opaque = e.kind {
                self.remove_below(&e.path);
            }
        }
        for e in raw {
            if let RawKind::Whiteout = e.kind {
                self.remove_tree(&e.path);
            }
        }
        for e in raw {
            if let RawKind::Entry(kind) = e.kind {
                self.apply_entry(e, kind);
            }
        }
    }

    fn ensure_parents(&mut self, path: &str) {
        let mut end = 0;
        while let Some(i) = path[end + 1..].find('/') {
            let dir = &path[..end + 1 + i];
            end += 1 + i;
            match self.entries.get(dir) {
                Some(d) if d.kind == EntryKind::Dir => {}
                Some(_) => {
                    let dir = dir.to_string();
                    self.forget(&dir);
                    self.entries.insert(dir.clone(), dir_entry(&dir));
                }
                None => {
                    self.entries.insert(dir.to_string(), dir_entry(dir));
                }
            }
        }
    }

    fn apply_entry(&mut self, e: &RawEntry, kind: EntryKind) {
        let path = e.path.as_str();
        if path != "/" {
            self.ensure_parents(path);
        } else if kind != EntryKind::Dir {
            return; // the root cannot become a non-directory
        }
        if kind != EntryKind::Dir {
            self.remove_below(path);
        }
        let mut size = e.size;
        let mut sha256 = e.sha256;
        let mut content = e.content.clone();
        if kind == EntryKind::Hardlink
            && let Some(t) = e.link_target.as_deref()
        {
            if let Some(target) = self.entries.get(t) {
                size = target.size;
                sha256 = target.sha256;
            }
            content = self.contents.get(t).cloned();
        }
        self.entries.insert(
            path.to_string(),
            FsEntry {
                path: path.to_string(),
                kind,
                mode: e.mode,
                uid: e.uid,
                gid: e.gid,
                size,
                link_target: e.link_target.clone(),
                sha256,
            },
        );
        match content {
            Some(c) => {
                self.contents.insert(path.to_string(), c);
            }
            None => {
                self.contents.remove(path);
            }
        }
        match &e.package {
            Some(p) => {
                self.packages.insert(path.to_string(), p.clone());
            }
            None => {
                self.packages.remove(path);
            }
        }
    }
}

/// `manifest.json` → the first image's `Config` and `Layers`.
fn parse_manifest(bytes: &[u8]) -> io::Result<(Option<String>, Vec<String>)> {
    #[derive(serde::Deserialize)]
    struct Image {
        #[serde(rename = "Config")]
        config: Option<String>,
        #[serde(rename = "Layers")]
        layers: Option<Vec<String>>,
    }
    let images: Vec<Image> =
        serde_json::from_slice(bytes).map_err(|e| invalid(&format!("manifest.json: {e}")))?;
    let first = images
        .into_iter()
        .next()
        .ok_or_else(|| invalid("manifest.json: no image"))?;
    let layers = first
        .layers
        .ok_or_else(|| invalid("manifest.json: no Layers"))?;
    Ok((first.config, layers))
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    /// A layer-tar builder for tests.
    struct L(tar::Builder<Vec<u8>>);

    impl L {
        fn new() -> Self {
            L(tar::Builder::new(Vec::new()))
        }
        fn hdr(kind: tar::EntryType, mode: u32, uid: u64, gid: u64, size: u64) -> tar::Header {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(kind);
            h.set_mode(mode);
            h.set_uid(uid);
            h.set_gid(gid);
            h.set_size(size);
            h.set_mtime(1);
            h
        }
        fn dir(mut self, p: &str, mode: u32, uid: u64, gid: u64) -> Self {
            let mut h = Self::hdr(tar::EntryType::Directory, mode, uid, gid, 0);
            self.0
                .append_data(&mut h, format!("{p}/"), io::empty())
                .unwrap();
            self
        }
        fn file(mut self, p: &str, mode: u32, uid: u64, gid: u64, data: &[u8]) -> Self {
            let mut h = Self::hdr(tar::EntryType::Regular, mode, uid, gid, data.len() as u64);
            self.0.append_data(&mut h, p, data).unwrap();
            self
        }
        /// A file whose raw header name is `name` verbatim (e.g. absolute).
        fn raw_file(mut self, name: &str, data: &[u8]) -> Self {
            let mut h = Self::hdr(tar::EntryType::Regular, 0o644, 0, 0, data.len() as u64);
            h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            h.set_cksum();
            self.0.append(&h, data).unwrap();
            self
        }
        fn symlink(mut self, p: &str, target: &str) -> Self {
            let mut h = Self::hdr(tar::EntryType::Symlink, 0o777, 0, 0, 0);
            self.0.append_link(&mut h, p, target).unwrap();
            self
        }
        fn hardlink(mut self, p: &str, target: &str, mode: u32) -> Self {
            let mut h = Self::hdr(tar::EntryType::Link, mode, 0, 0, 0);
            self.0.append_link(&mut h, p, target).unwrap();
            self
        }
        fn special(mut self, p: &str, kind: tar::EntryType) -> Self {
            let mut h = Self::hdr(kind, 0o620, 0, 5, 0);
            self.0.append_data(&mut h, p, io::empty()).unwrap();
            self
        }
        fn whiteout(self, p: &str) -> Self {
            match p.rsplit_once('/') {
                Some((d, n)) => self.file(&format!("{d}/.wh.{n}"), 0o644, 0, 0, b""),
                None => self.file(&format!(".wh.{p}"), 0o644, 0, 0, b""),
            }
        }
        fn opaque(self, d: &str) -> Self {
            self.file(&format!("{d}/.wh..wh..opq"), 0o644, 0, 0, b"")
        }
        fn bytes(self) -> Vec<u8> {
            self.0.into_inner().unwrap()
        }
    }

    /// A docker-save-like stream: layers first (hex names), manifest last.
    fn save(layers: Vec<Vec<u8>>) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut names = Vec::new();
        // Store in reverse order to prove manifest order is what counts.
        for (i, l) in layers.iter().enumerate().rev() {
            let name = format!("{:064x}/layer.tar", 0xabc0 + i);
            let mut h = L::hdr(tar::EntryType::Regular, 0o644, 0, 0, l.len() as u64);
            b.append_data(&mut h, &name, &l[..]).unwrap();
            let mut h = L::hdr(tar::EntryType::Regular, 0o644, 0, 0, 3);
            b.append_data(&mut h, format!("{:064x}/VERSION", 0xabc0 + i), &b"1.0"[..])
                .unwrap();
            names.push(name);
        }
        names.reverse();
        let cfg = b"{\"architecture\":\"amd64\"}";
        let mut h = L::hdr(tar::EntryType::Regular, 0o644, 0, 0, cfg.len() as u64);
        b.append_data(&mut h, "cafe.json", &cfg[..]).unwrap();
        let manifest = format!(
            "[{{\"Config\":\"cafe.json\",\"RepoTags\":[\"x:1\"],\"Layers\":[{}]}}]",
            names
                .iter()
                .map(|n| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(",")
        );
        let mut h = L::hdr(tar::EntryType::Regular, 0o644, 0, 0, manifest.len() as u64);
        b.append_data(&mut h, "manifest.json", manifest.as_bytes())
            .unwrap();
        b.into_inner().unwrap()
    }

    fn read(layers: Vec<Vec<u8>>) -> ImageFs {
        read_saved_image(&save(layers)[..], &|p| p.starts_with("/etc/"), 1 << 20).unwrap()
    }

    fn paths(fs: &ImageFs) -> Vec<&str> {
        fs.iter().map(|e| e.path.as_str()).collect()
    }

    #[test]
    fn basic_metadata_and_root() {
        let fs = read(vec![
            L::new()
                .dir("bin", 0o755, 0, 0)
                .file("bin/busybox", 0o755, 0, 0, b"ELF....")
                .symlink("bin/sh", "busybox")
                .file("small.txt", 0o4755, 0, 0, b"hi")
                .dir("secret", 0o700, 1234, 5678)
                .file("secret/s", 0o600, 1234, 5678, b"s")
                .special("dev-null", tar::EntryType::Char)
                .special("blk", tar::EntryType::Block)
                .special("fifo", tar::EntryType::Fifo)
                .bytes(),
        ]);
        assert_eq!(fs.get("/").unwrap().kind, EntryKind::Dir);
        let s = fs.get("/small.txt").unwrap();
        assert_eq!((s.mode, s.size, s.kind), (0o4755, 2, EntryKind::File));
        let d = fs.get("/secret").unwrap();
        assert_eq!((d.mode, d.uid, d.gid), (0o700, 1234, 5678));
        assert_eq!(fs.get("/secret/s").unwrap().mode, 0o600);
        assert_eq!(fs.get("/dev-null").unwrap().kind, EntryKind::Char);
        assert_eq!(fs.get("/blk").unwrap().kind, EntryKind::Block);
        assert_eq!(fs.get("/fifo").unwrap().kind, EntryKind::Fifo);
        let sh = fs.get("/bin/sh").unwrap();
        assert_eq!(sh.kind, EntryKind::Symlink);
        assert_eq!(sh.link_target.as_deref(), Some("busybox"));
        assert_eq!(fs.resolve("/bin/sh").unwrap().path, "/bin/busybox");
        assert_eq!(fs.len(), 10);
        assert_eq!(fs.layers().len(), 1);
    }

    #[test]
    fn whiteouts_and_replacements() {
        let l1 = L::new()
            .dir("a", 0o755, 0, 0)
            .dir("a/b", 0o755, 0, 0)
            .file("a/b/c", 0o644, 0, 0, b"c")
            .file("a/keep", 0o644, 0, 0, b"k")
            .file("big1.bin", 0o644, 0, 0, &[0u8; 4096])
            .dir("d", 0o755, 0, 0)
            .file("d/x", 0o644, 0, 0, b"x")
            .file("f", 0o644, 0, 0, b"f")
            .bytes();
        let l2 = L::new()
            .dir("a", 0o755, 0, 0)
            .whiteout("a/b")
            .whiteout("big1.bin")
            // dir -> file replacement (no whiteout needed for the dir)
            .file("d", 0o600, 7, 7, b"now a file")
            // file -> dir replacement
            .dir("f", 0o750, 0, 0)
            .file("f/inner", 0o644, 0, 0, b"i")
            .bytes();
        let fs = read(vec![l1, l2]);
        assert_eq!(
            paths(&fs),
            vec!["/", "/a", "/a/keep", "/d", "/f", "/f/inner"]
        );
        let d = fs.get("/d").unwrap();
        assert_eq!(
            (d.kind, d.mode, d.uid, d.size),
            (EntryKind::File, 0o600, 7, 10)
        );
        assert_eq!(fs.get("/f").unwrap().kind, EntryKind::Dir);
    }

    #[test]
    fn opaque_dir_hides_lower_but_keeps_own_entries() {
        let l1 = L::new()
            .dir("opq", 0o755, 0, 0)
            .file("opq/old1", 0o644, 0, 0, b"1")
            .dir("opq/sub", 0o755, 0, 0)
            .file("opq/sub/old2", 0o644, 0, 0, b"2")
            .file("other", 0o644, 0, 0, b"o")
            .bytes();
        // The opaque marker comes AFTER the layer's own entry in the tar: it
        // must still only hide lower-layer entries.
        let l2 = L::new()
            .dir("opq", 0o711, 3, 3)
            .file("opq/new", 0o644, 0, 0, b"n")
            .opaque("opq")
            .bytes();
        let fs = read(vec![l1, l2]);
        assert_eq!(paths(&fs), vec!["/", "/opq", "/opq/new", "/other"]);
        let o = fs.get("/opq").unwrap();
        assert_eq!((o.mode, o.uid), (0o711, 3));
        // A whiteout of a path the same layer re-creates (e.g. a dir that
        // became a symlink) keeps the layer's own entry.
        let l3 = L::new().whiteout("opq").symlink("opq", "/other").bytes();
        let l1b = L::new()
            .dir("opq", 0o755, 0, 0)
            .file("opq/z", 0o644, 0, 0, b"")
            .file("other", 0o644, 0, 0, b"")
            .bytes();
        let fs = read(vec![l1b, l3]);
        assert_eq!(paths(&fs), vec!["/", "/opq", "/other"]);
        assert_eq!(fs.get("/opq").unwrap().kind, EntryKind::Symlink);
    }

    #[test]
    fn hardlinks_keep_own_metadata_and_share_size_and_content() {
        let l1 = L::new()
            .dir("etc", 0o755, 0, 0)
            .file("etc/passwd", 0o644, 0, 0, b"root:x:0:0::/root:/bin/sh\n")
            .hardlink("etc/passwd-", "etc/passwd", 0o600)
            .bytes();
        let l2 = L::new()
            .dir("etc", 0o755, 0, 0)
            .file("etc/passwd", 0o644, 0, 0, b"changed\n")
            .bytes();
        let fs = read(vec![l1, l2]);
        let h = fs.get("/etc/passwd-").unwrap();
        assert_eq!(h.kind, EntryKind::Hardlink);
        assert_eq!(h.link_target.as_deref(), Some("/etc/passwd"));
        assert_eq!((h.mode, h.size), (0o600, 26));
        assert_eq!(
            fs.content("/etc/passwd-"),
            Some(&b"root:x:0:0::/root:/bin/sh\n"[..])
        );
        assert_eq!(fs.content("/etc/passwd"), Some(&b"changed\n"[..]));
    }

    #[test]
    fn content_topmost_and_limits() {
        let l1 = L::new()
            .dir("etc", 0o755, 0, 0)
            .file("etc/group", 0o644, 0, 0, b"root:x:0:\n")
            .file("etc/big", 0o644, 0, 0, &[b'x'; 2048])
            .file("etc/gone", 0o644, 0, 0, b"gone")
            .file("notwanted", 0o644, 0, 0, b"nope")
            .bytes();
        let l2 = L::new()
            .dir("etc", 0o755, 0, 0)
            .file("etc/group", 0o644, 0, 0, b"root:x:0:\napp:x:1000:\n")
            .whiteout("etc/gone")
            .symlink("grp", "etc/group")
            .bytes();
        let fs =
            read_saved_image(&save(vec![l1, l2])[..], &|p| p.starts_with("/etc/"), 1024).unwrap();
        assert_eq!(
            fs.content("/etc/group"),
            Some(&b"root:x:0:\napp:x:1000:\n"[..])
        );
        assert_eq!(fs.content("/grp"), Some(&b"root:x:0:\napp:x:1000:\n"[..]));
        assert_eq!(fs.content("/etc/big"), None); // over max_content
        assert_eq!(fs.get("/etc/big").unwrap().size, 2048);
        assert_eq!(fs.content("/etc/gone"), None);
        assert_eq!(fs.content("/notwanted"), None);
    }

    #[test]
    fn symlink_resolution() {
        let fs = read(vec![
            L::new()
                .dir("usr", 0o755, 0, 0)
                .dir("usr/lib", 0o755, 0, 0)
                .file("usr/lib/libc.so", 0o755, 0, 0, b"so")
                .symlink("lib", "usr/lib")
                .symlink("lib64", "/lib")
                .dir("etc", 0o755, 0, 0)
                .symlink("etc/rel", "../usr/./lib/libc.so")
                .symlink("loop1", "loop2")
                .symlink("loop2", "/loop1")
                .symlink("dangling", "/nope")
                .bytes(),
        ]);
        assert_eq!(fs.get("/lib").unwrap().kind, EntryKind::Symlink);
        assert_eq!(fs.resolve("/lib").unwrap().path, "/usr/lib");
        assert_eq!(fs.get("/lib64/libc.so").unwrap().path, "/usr/lib/libc.so");
        assert_eq!(fs.get("/lib/").unwrap().path, "/usr/lib");
        assert_eq!(fs.resolve("/etc/rel").unwrap().path, "/usr/lib/libc.so");
        assert_eq!(fs.get("/etc/rel").unwrap().kind, EntryKind::Symlink);
        assert_eq!(fs.get("/usr/../lib64").unwrap().kind, EntryKind::Symlink);
        assert!(fs.resolve("/loop1").is_none());
        assert_eq!(fs.get("/loop1").unwrap().kind, EntryKind::Symlink);
        assert!(fs.resolve("/dangling").is_none());
        assert!(fs.get("/usr/lib/libc.so/x").is_none());
        assert!(fs.get("/nothing").is_none());
        assert_eq!(fs.get("//usr///lib/").unwrap().path, "/usr/lib");
    }

    #[test]
    fn glob_semantics() {
        let fs = read(vec![
            L::new()
                .dir("app", 0o755, 0, 0)
                .file("app/main.pyc", 0o644, 0, 0, b"")
                .dir("app/pkg", 0o755, 0, 0)
                .file("app/pkg/a.pyc", 0o644, 0, 0, b"")
                .file("app/pkg/a.py", 0o644, 0, 0, b"")
                .symlink("app/link.pyc", "main.pyc")
                .file("apple", 0o644, 0, 0, b"")
                .bytes(),
        ]);
        let g = |p: &str| {
            fs.glob(p)
                .iter()
                .map(|e| e.path.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(g("/app/*.pyc"), vec!["/app/link.pyc", "/app/main.pyc"]);
        assert_eq!(
            g("/app/**/*.pyc"),
            vec!["/app/link.pyc", "/app/main.pyc", "/app/pkg/a.pyc"]
        );
        assert_eq!(g("/app/**/*.py"), vec!["/app/pkg/a.py"]);
        assert_eq!(
            g("/app/**"),
            vec![
                "/app/link.pyc",
                "/app/main.pyc",
                "/app/pkg/a.py",
                "/app/pkg/a.pyc"
            ]
        );
        assert_eq!(g("app*"), vec!["/apple"]);
        assert_eq!(g("/**/a.py"), vec!["/app/pkg/a.py"]);
        assert!(g("/app/[").is_empty());
    }

    #[test]
    fn missing_parents_and_dot_slash_names() {
        let l1 = L::new().dir("./var", 0o700, 1, 1).bytes();
        let l2 = L::new()
            .file("./var/lib/x", 0o644, 0, 0, b"x")
            .raw_file("/opt/y", b"y")
            .bytes();
        let fs = read(vec![l1, l2]);
        assert_eq!(
            paths(&fs),
            vec!["/", "/opt", "/opt/y", "/var", "/var/lib", "/var/lib/x"]
        );
        assert_eq!(fs.get("/var").unwrap().mode, 0o700); // lower dir kept
        assert_eq!(fs.get("/var/lib").unwrap().mode, 0o755);
    }

    #[test]
    fn symlinked_duplicate_layer_and_errors() {
        // docker save writes a repeated layer as a symlink to the first copy
        let layer = L::new().file("x", 0o644, 0, 0, b"x").bytes();
        let mut b = tar::Builder::new(Vec::new());
        let mut h = L::hdr(tar::EntryType::Regular, 0o644, 0, 0, layer.len() as u64);
        b.append_data(&mut h, "aa/layer.tar", &layer[..]).unwrap();
        let mut h = L::hdr(tar::EntryType::Symlink, 0o777, 0, 0, 0);
        b.append_link(&mut h, "bb/layer.tar", "../aa/layer.tar")
            .unwrap();
        let m = br#"[{"Config":"c.json","Layers":["aa/layer.tar","bb/layer.tar"]}]"#;
        let mut h = L::hdr(tar::EntryType::Regular, 0o644, 0, 0, m.len() as u64);
        b.append_data(&mut h, "manifest.json", &m[..]).unwrap();
        let bytes = b.into_inner().unwrap();
        let fs = read_saved_image(&bytes[..], &|_| false, 0).unwrap();
        assert_eq!(paths(&fs), vec!["/", "/x"]);
        assert_eq!(fs.layers(), ["aa/layer.tar", "bb/layer.tar"]);

        // no manifest
        let err = read_saved_image(&layer[..], &|_| false, 0).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        // empty layer (1024 zero bytes) is fine
        let fs = read(vec![vec![0u8; 1024]]);
        assert_eq!(paths(&fs), vec!["/"]);
    }

    #[test]
    fn hashes_packages_and_config() {
        let sp = "usr/lib/python3.11/site-packages";
        let l1 = L::new()
            .dir("usr", 0o755, 0, 0)
            .file("big", 0o644, 0, 0, &vec![b'x'; 300_000])
            .hardlink("big-link", "big", 0o644)
            .file(
                &format!("{sp}/gone-1.0.dist-info/METADATA"),
                0o644,
                0,
                0,
                b"Name: gone\nVersion: 1.0\n",
            )
            .file(
                &format!("{sp}/kept-2.0.dist-info/METADATA"),
                0o644,
                0,
                0,
                b"Name: Kept\nVersion: 2.0\n",
            )
            .file(
                "app/node_modules/@s/p/package.json",
                0o644,
                0,
                0,
                br#"{"name":"@s/p","version":"3.1.4"}"#,
            )
            .bytes();
        let l2 = L::new()
            .whiteout(&format!("{sp}/gone-1.0.dist-info"))
            .bytes();
        let mut stream = save(vec![l1, l2]);
        // A config with history, as docker save writes it (name from manifest.json).
        let cfg = br#"{"architecture":"amd64","config":{"User":"1000:1000"},"history":[{"created_by":"COPY a"},{"created_by":"ENV x","empty_layer":true}],"rootfs":{"type":"layers","diff_ids":["sha256:1","sha256:2"]}}"#;
        let mut b = tar::Builder::new(Vec::new());
        let mut ar = tar::Archive::new(&stream[..]);
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            if name == "cafe.json" {
                data = cfg.to_vec();
            }
            let mut h = L::hdr(tar::EntryType::Regular, 0o644, 0, 0, data.len() as u64);
            b.append_data(&mut h, &name, &data[..]).unwrap();
        }
        stream = b.into_inner().unwrap();
        let opts = ReadOptions {
            want: &|p| p == "/big-link",
            max_content: 1 << 20,
            hash: true,
            packages: true,
        };
        let img = read_image(&stream[..], &opts).unwrap();
        let sha = crate::engine::imagefs::sha256::digest(&vec![b'x'; 300_000]);
        assert_eq!(img.fs.get("/big").unwrap().sha256, Some(sha));
        // the hard link shares its target's hash; its content was not kept (the target was
        // not wanted: the loader fetches it)
        assert_eq!(img.fs.get("/big-link").unwrap().sha256, Some(sha));
        assert_eq!(img.fs.content("/big-link"), None);
        assert_eq!(img.fs.get("/usr").unwrap().sha256, None);
        let names: Vec<(&str, &str)> = img
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(names, vec![("@s/p", "3.1.4"), ("Kept", "2.0")]);
        let cfg = img.config.unwrap();
        assert_eq!(cfg.user, "1000:1000");
        assert_eq!(cfg.created_by(), vec!["COPY a", "ENV x"]);
        assert_eq!(cfg.diff_ids, vec!["sha256:1", "sha256:2"]);
    }

    #[test]
    fn empty_numeric_fields_read_as_zero() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(2);
        b.append_data(&mut h, "f", &b"hi"[..]).unwrap();
        let fs = read(vec![b.into_inner().unwrap()]);
        let f = fs.get("/f").unwrap();
        assert_eq!((f.uid, f.gid, f.mode, f.size), (0, 0, 0, 2));
    }

    #[test]
    fn manifest_parser() {
        let m = br#" [ {"Config" : "a\u00e9\"b.json", "RepoTags": null, "n": -1.5e3, "t": true,
            "Layers": ["x\/layer.tar", "y/layer.tar"] } , {} ] "#;
        assert_eq!(
            parse_manifest(m).unwrap(),
            (
                Some("a\u{e9}\"b.json".to_string()),
                vec!["x/layer.tar".to_string(), "y/layer.tar".to_string()]
            )
        );
        assert!(parse_manifest(b"[{\"Layers\": [1]}]").is_err());
        assert!(parse_manifest(b"{").is_err());
        assert!(parse_manifest(b"[]").is_err());
    }
}
