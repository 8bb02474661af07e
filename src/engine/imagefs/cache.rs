//! The user's cache of image indexes and file contents. Images are content-addressed (an image
//! id is the digest of its config, which names its layers' digests), so what was read from an
//! image's layers stays true for that id forever.
//!
//! * Where: `$DSPEC_CACHE_DIR`, else `$XDG_CACHE_HOME/dspec`, else `$HOME/.cache/dspec`; no
//!   cache when none is set (everything still works, from the layers each time).
//! * `images/<hex of the image id>.idx`: an [`ImageIndex`] (see [`super::codec`]).
//! * `blobs/<sha256 hex>`: file contents read for `content`, named by their SHA-256 and checked
//!   against it when read.
//! * Directories are created private (0700): blobs are image file contents.
//! * Writes are atomic (a temporary file renamed into place); a file that is truncated,
//!   corrupted, of another format version, or about another image is ignored and rebuilt.
//! * Bounded: the least recently used files go beyond [`MAX_INDEXES`] indexes and beyond
//!   [`MAX_BLOB_BYTES`] of blobs.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use super::codec;
use super::index::ImageIndex;
use super::sha256;

/// Indexes kept (a big image's index is a few MiB at most).
pub const MAX_INDEXES: usize = 256;
/// Bytes of blobs kept.
pub const MAX_BLOB_BYTES: u64 = 256 << 20;
/// Largest content kept as a blob.
pub const MAX_BLOB: u64 = 16 << 20;

/// A cache directory.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// The user's cache, from the environment (see the module's doc).
    pub fn from_env() -> Option<Cache> {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let dir = var("DSPEC_CACHE_DIR")
            .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("dspec")))
            .or_else(|| var("HOME").map(|h| h.join(".cache").join("dspec")))?;
        Some(Cache { dir })
    }

    /// A cache in `dir`.
    pub fn at(dir: impl Into<PathBuf>) -> Cache {
        Cache { dir: dir.into() }
    }

    /// The cache's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the index of `image_id` is kept.
    pub fn index_path(&self, image_id: &str) -> PathBuf {
        let hex: String = image_id
            .rsplit(':')
            .next()
            .unwrap_or(image_id)
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        self.dir.join("images").join(format!("{hex}.idx"))
    }

    /// The index of `image_id`, when a whole and current one is cached. A bad file is removed.
    pub fn load_index(&self, image_id: &str) -> Option<ImageIndex> {
        let path = self.index_path(image_id);
        let bytes = fs::read(&path).ok()?;
        match codec::decode(&bytes) {
            Ok(idx) if idx.id() == image_id => {
                touch(&path);
                Some(idx)
            }
            _ => {
                let _ = fs::remove_file(&path);
                None
            }
        }
    }

    /// Stores `index` (atomically), then drops the least recently used indexes over the cap.
    pub fn store_index(&self, index: &ImageIndex) -> io::Result<()> {
        let path = self.index_path(index.id());
        write_atomic(&path, &codec::encode(index))?;
        prune(&self.dir.join("images"), MAX_INDEXES, u64::MAX);
        Ok(())
    }

    fn blob_path(&self, sha: &[u8; 32]) -> PathBuf {
        self.dir.join("blobs").join(sha256::hex(sha))
    }

    /// The content whose SHA-256 is `sha`, when cached (and intact).
    pub fn load_blob(&self, sha: &[u8; 32]) -> Option<Vec<u8>> {
        let path = self.blob_path(sha);
        let data = fs::read(&path).ok()?;
        if sha256::digest(&data) == *sha {
            touch(&path);
            Some(data)
        } else {
            let _ = fs::remove_file(&path);
            None
        }
    }

    /// Keeps `data` as a blob (up to [`MAX_BLOB`] bytes), then prunes the blobs.
    pub fn store_blob(&self, data: &[u8]) -> io::Result<()> {
        if data.len() as u64 > MAX_BLOB {
            return Ok(());
        }
        let path = self.blob_path(&sha256::digest(data));
        if path.exists() {
            touch(&path);
            return Ok(());
        }
        write_atomic(&path, data)?;
        prune(&self.dir.join("blobs"), usize::MAX, MAX_BLOB_BYTES);
        Ok(())
    }
}

/// Marks a file as just used (its mtime orders the pruning).
fn touch(path: &Path) {
    if let Ok(f) = fs::File::options().write(true).open(path) {
        let _ = f.set_modified(SystemTime::now());
    }
}

/// Writes `data` to a temporary file beside `path` and renames it into place, so a reader
/// sees the old file or the whole new one.
fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    // Private: blobs are file contents of images, which may hold secrets.
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("x"),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let r = fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(data))
        .and_then(|()| fs::rename(&tmp, path));
    if r.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    r
}

/// Removes the least recently modified files of `dir` until at most `max_files` files and
/// `max_bytes` bytes are left. Temporary files of other writers are left alone.
fn prune(dir: &Path, max_files: usize, max_bytes: u64) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    let mut files: Vec<(SystemTime, u64, PathBuf)> = rd
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            m.is_file().then(|| {
                (
                    m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                    m.len(),
                    e.path(),
                )
            })
        })
        .collect();
    let mut total: u64 = files.iter().map(|f| f.1).sum();
    if files.len() <= max_files && total <= max_bytes {
        return;
    }
    files.sort();
    let mut count = files.len();
    for (_, len, path) in files {
        if count <= max_files && total <= max_bytes {
            break;
        }
        if fs::remove_file(&path).is_ok() {
            count -= 1;
            total = total.saturating_sub(len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("dspec-cache-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn indexes_round_trip_and_bad_files_are_rebuilt() {
        let dir = tmp("idx");
        let cache = Cache::at(&dir);
        let idx = codec::tests_sample();
        assert!(cache.load_index(idx.id()).is_none());
        cache.store_index(&idx).unwrap();
        let back = cache.load_index(idx.id()).unwrap();
        assert_eq!(back.fs().len(), idx.fs().len());
        let path = cache.index_path(idx.id());
        assert!(path.starts_with(dir.join("images")));
        assert_eq!(path.file_name().unwrap(), "abc.idx");
        // truncated
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert!(cache.load_index(idx.id()).is_none());
        assert!(!path.exists(), "a bad index is removed");
        // another image's index under this name
        cache.store_index(&idx).unwrap();
        assert!(cache.load_index("sha256:other").is_none());
        fs::copy(&path, cache.index_path("sha256:other")).unwrap();
        assert!(cache.load_index("sha256:other").is_none());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn blobs_are_checked() {
        let dir = tmp("blob");
        let cache = Cache::at(&dir);
        cache.store_blob(b"hello").unwrap();
        let sha = sha256::digest(b"hello");
        assert_eq!(cache.load_blob(&sha).as_deref(), Some(&b"hello"[..]));
        fs::write(cache.blob_path(&sha), b"hellO").unwrap();
        assert_eq!(cache.load_blob(&sha), None);
        assert!(!cache.blob_path(&sha).exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn pruning_keeps_the_newest() {
        let dir = tmp("prune");
        fs::create_dir_all(&dir).unwrap();
        for i in 0..5 {
            let p = dir.join(format!("f{i}"));
            fs::write(&p, [0u8; 10]).unwrap();
            let f = fs::File::options().write(true).open(&p).unwrap();
            f.set_modified(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1000 + i))
                .unwrap();
        }
        fs::write(dir.join(".tmp-of-another-writer"), [0u8; 100]).unwrap();
        prune(&dir, 3, u64::MAX);
        let mut left: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, vec![".tmp-of-another-writer", "f2", "f3", "f4"]);
        prune(&dir, usize::MAX, 15);
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 2);
        fs::remove_dir_all(&dir).unwrap();
    }
}
