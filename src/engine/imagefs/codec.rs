//! The on-disk form of an [`ImageIndex`]: a small binary format, checked by a SHA-256 of its
//! body, so that a truncated or corrupted file is detected and rebuilt, never misread.
//!
//! ```text
//! "DSPECIX\n"  u32 format version  u64 body length  [32] SHA-256 of the body   body
//! ```
//! The body holds LEB128 integers and length-prefixed UTF-8 strings; paths are stored sorted,
//! each as the length of the prefix it shares with the previous one plus the rest.

use std::collections::{BTreeMap, HashMap};

use super::config::{HistoryStep, ImageConfig};
use super::ecosystems::{EcoPackage, Ecosystem};
use super::index::ImageIndex;
use super::sha256;
use super::tree::{EntryKind, FsEntry, ImageFs};

const MAGIC: &[u8; 8] = b"DSPECIX\n";
/// Bumped whenever the body's layout or meaning changes; other versions are rebuilt.
pub const FORMAT_VERSION: u32 = 1;
const HEADER: usize = 8 + 4 + 8 + 32;

/// Encodes `index`.
pub fn encode(index: &ImageIndex) -> Vec<u8> {
    let mut w = W(Vec::with_capacity(64 + index.fs.len() * 48));
    w.str(&index.id);
    w.str(&index.config.user);
    w.uint(index.config.diff_ids.len() as u64);
    for d in &index.config.diff_ids {
        w.str(d);
    }
    w.uint(index.config.history.len() as u64);
    for h in &index.config.history {
        w.str(&h.created_by);
        w.0.push(h.empty_layer as u8);
    }
    w.uint(index.fs.layers().len() as u64);
    for l in index.fs.layers() {
        w.str(l);
    }
    w.uint(index.fs.len() as u64);
    let mut prev = "";
    for e in index.fs.iter() {
        let shared = common_prefix(prev, &e.path);
        w.uint(shared as u64);
        w.str(&e.path[shared..]);
        w.0.push(e.kind.code());
        w.uint(u64::from(e.mode));
        w.uint(e.uid);
        w.uint(e.gid);
        w.uint(e.size);
        let flags = e.link_target.is_some() as u8 | (e.sha256.is_some() as u8) << 1;
        w.0.push(flags);
        if let Some(t) = &e.link_target {
            w.str(t);
        }
        if let Some(s) = &e.sha256 {
            w.0.extend_from_slice(s);
        }
        prev = &e.path;
    }
    w.bytes(&index.passwd);
    w.bytes(&index.group);
    w.uint(index.packages.len() as u64);
    for p in &index.packages {
        w.0.push(p.ecosystem.code());
        w.str(&p.name);
        w.str(&p.version);
        w.str(&p.path);
    }
    let body = w.0;
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&sha256::digest(&body));
    out.extend_from_slice(&body);
    out
}

/// Decodes an index; `Err` says why the bytes are not a whole, current-format index.
pub fn decode(bytes: &[u8]) -> Result<ImageIndex, String> {
    if bytes.len() < HEADER || &bytes[..8] != MAGIC {
        return Err("not an index file".into());
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    if version != FORMAT_VERSION {
        return Err(format!("format version {version}, not {FORMAT_VERSION}"));
    }
    let len = u64::from_le_bytes(bytes[12..20].try_into().unwrap());
    let body = &bytes[HEADER..];
    if body.len() as u64 != len {
        return Err(format!("{} body bytes, not {len} (truncated?)", body.len()));
    }
    if sha256::digest(body)[..] != bytes[20..52] {
        return Err("checksum mismatch (corrupted)".into());
    }
    decode_body(body).ok_or_else(|| "malformed body".to_string())
}

fn decode_body(body: &[u8]) -> Option<ImageIndex> {
    let mut r = R(body);
    let id = r.str()?;
    let user = r.str()?;
    let n = r.count()?;
    let mut diff_ids = Vec::with_capacity(n);
    for _ in 0..n {
        diff_ids.push(r.str()?);
    }
    let n = r.count()?;
    let mut history = Vec::with_capacity(n);
    for _ in 0..n {
        let created_by = r.str()?;
        let empty_layer = r.byte()? != 0;
        history.push(HistoryStep {
            created_by,
            empty_layer,
        });
    }
    let n = r.count()?;
    let mut layers = Vec::with_capacity(n);
    for _ in 0..n {
        layers.push(r.str()?);
    }
    let n = r.count()?;
    let mut entries = BTreeMap::new();
    let mut prev = String::new();
    for _ in 0..n {
        let shared = r.uint()? as usize;
        let rest = r.str()?;
        let mut path = prev.get(..shared)?.to_string();
        path.push_str(&rest);
        let kind = EntryKind::from_code(r.byte()?)?;
        let mode = u32::try_from(r.uint()?).ok()?;
        let uid = r.uint()?;
        let gid = r.uint()?;
        let size = r.uint()?;
        let flags = r.byte()?;
        let link_target = if flags & 1 != 0 { Some(r.str()?) } else { None };
        let sha256 = if flags & 2 != 0 {
            Some(r.take(32)?.try_into().ok()?)
        } else {
            None
        };
        if path <= prev && !prev.is_empty() {
            return None; // paths are stored sorted and unique
        }
        prev = path.clone();
        entries.insert(
            path.clone(),
            FsEntry {
                path,
                kind,
                mode,
                uid,
                gid,
                size,
                link_target,
                sha256,
            },
        );
    }
    let passwd = r.bytes()?;
    let group = r.bytes()?;
    let n = r.count()?;
    let mut packages = Vec::with_capacity(n);
    for _ in 0..n {
        packages.push(EcoPackage {
            ecosystem: Ecosystem::from_code(r.byte()?)?,
            name: r.str()?,
            version: r.str()?,
            path: r.str()?,
        });
    }
    if !r.0.is_empty() {
        return None;
    }
    Some(ImageIndex::assemble(
        id,
        ImageFs::new(entries, HashMap::new(), layers),
        ImageConfig {
            diff_ids,
            history,
            user,
        },
        passwd,
        group,
        packages,
    ))
}

fn common_prefix(a: &str, b: &str) -> usize {
    let n = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    // Stay on a char boundary of `b`.
    (0..=n).rev().find(|&i| b.is_char_boundary(i)).unwrap_or(0)
}

struct W(Vec<u8>);

impl W {
    fn uint(&mut self, mut v: u64) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(b);
                return;
            }
            self.0.push(b | 0x80);
        }
    }

    fn bytes(&mut self, b: &[u8]) {
        self.uint(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
}

struct R<'a>(&'a [u8]);

impl<'a> R<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn uint(&mut self) -> Option<u64> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    /// A count of items, bounded by the bytes left (each item takes at least one byte).
    fn count(&mut self) -> Option<usize> {
        let n = usize::try_from(self.uint()?).ok()?;
        (n <= self.0.len()).then_some(n)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }

    fn bytes(&mut self) -> Option<Vec<u8>> {
        let n = usize::try_from(self.uint()?).ok()?;
        self.take(n).map(<[u8]>::to_vec)
    }

    fn str(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?).ok()
    }
}

/// A small index with one of everything, for tests.
#[cfg(test)]
pub(crate) fn tests_sample() -> ImageIndex {
    let mk = |path: &str, kind, size, link: Option<&str>, sha: Option<[u8; 32]>| {
        (
            path.to_string(),
            FsEntry {
                path: path.to_string(),
                kind,
                mode: 0o4755,
                uid: 1000,
                gid: 70_000,
                size,
                link_target: link.map(str::to_string),
                sha256: sha,
            },
        )
    };
    let entries = [
        mk("/", EntryKind::Dir, 0, None, None),
        mk("/app", EntryKind::Dir, 0, None, None),
        mk(
            "/app/é.txt",
            EntryKind::File,
            3,
            None,
            Some(sha256::digest(b"abc")),
        ),
        mk(
            "/app/ê",
            EntryKind::Hardlink,
            3,
            Some("/app/é.txt"),
            Some(sha256::digest(b"abc")),
        ),
        mk("/bin", EntryKind::Symlink, 0, Some("usr/bin"), None),
        mk("/big", EntryKind::File, 1 << 40, None, Some([7; 32])),
    ]
    .into_iter()
    .collect();
    ImageIndex::assemble(
        "sha256:abc".into(),
        ImageFs::new(entries, HashMap::new(), vec!["l1/layer.tar".into()]),
        ImageConfig {
            diff_ids: vec!["sha256:d1".into(), "sha256:d2".into()],
            history: vec![
                HistoryStep {
                    created_by: "COPY x".into(),
                    empty_layer: false,
                },
                HistoryStep {
                    created_by: "USER app".into(),
                    empty_layer: true,
                },
            ],
            user: "app".into(),
        },
        b"root:x:0:0::/:/bin/sh\n".to_vec(),
        b"root:x:0:\n".to_vec(),
        vec![EcoPackage {
            ecosystem: Ecosystem::Pip,
            name: "x".into(),
            version: "1".into(),
            path: "/p".into(),
        }],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let idx = tests_sample();
        let bytes = encode(&idx);
        let back = decode(&bytes).unwrap();
        assert_eq!(back.id, idx.id);
        assert_eq!(back.config, idx.config);
        assert_eq!(back.passwd, idx.passwd);
        assert_eq!(back.packages, idx.packages);
        assert_eq!(back.fs.layers(), idx.fs.layers());
        let a: Vec<_> = idx.fs.iter().cloned().collect();
        let b: Vec<_> = back.fs.iter().cloned().collect();
        assert_eq!(a, b);
        assert_eq!(back.users.uid_of("root"), Some(0));
    }

    #[test]
    fn every_truncation_and_every_flipped_byte_is_refused() {
        let bytes = encode(&tests_sample());
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n]).is_err(), "truncated at {n}");
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x20;
            assert!(decode(&b).is_err(), "byte {i} flipped");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).is_err());
    }
}
