//! Getting an image's [`ImageIndex`] and file contents from the engine, as cheaply as the
//! cache allows.
//!
//! * [`load`]: the cached index of the image id when there is a good one; otherwise one pass
//!   over `docker save` (hashing every file, keeping the contents the run asks for and the
//!   system files), then the index is stored in the cache.
//! * [`LoadedImage::content`]: a file's bytes, symlinks followed (hard links are files): kept
//!   from the pass over the layers, else a cached blob with the file's SHA-256, else read
//!   from the engine — through the archive endpoint of a created (never started) container,
//!   checked against the file's SHA-256 from the layers (this catches paths that the
//!   container's init layer masks, such as `/etc/hosts`), else from `docker save` again.
//!
//! A wanted path that reaches its file through a symlinked directory, or a hard link whose
//! target the layer stored under another name, gets its bytes the same way: resolved against
//! the merged filesystem first, then fetched when the pass did not keep them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::sync::{Arc, Mutex};

use super::cache::Cache;
use super::index::{self, ImageIndex};
use super::layers::{self, ReadOptions};
use super::sha256;
use super::tree::{EntryKind, FsEntry};
use crate::engine::docker::{ContainerSpec, DockerApi, EngineError};

/// Largest content read (`file(P).content`).
pub const MAX_CONTENT: u64 = 16 << 20;

/// Why a content could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentError {
    /// About the path: missing, not a file, too big.
    Missing(String),
    /// The engine failed.
    Engine(String),
}

impl std::fmt::Display for ContentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ContentError::Missing(m) | ContentError::Engine(m) => f.write_str(m),
        }
    }
}

/// Where the index came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Cache,
    Layers,
}

/// An image's index, and the contents read so far this run.
#[derive(Debug)]
pub struct LoadedImage {
    pub index: Arc<ImageIndex>,
    pub source: Source,
    /// By resolved path.
    contents: Mutex<HashMap<String, Arc<Vec<u8>>>>,
    cache: Option<Cache>,
}

/// What the engine side of loading needs.
pub struct Engine<'a> {
    pub api: &'a Arc<dyn DockerApi>,
    /// Labels for the container created to read files (the run's cleanup finds it).
    pub labels: &'a BTreeMap<String, String>,
}

/// The index of image `id` (see the module's doc); the contents of `wanted` paths are kept
/// from the pass over the layers when there is one.
pub async fn load(
    engine: &Engine<'_>,
    id: &str,
    wanted: &BTreeSet<String>,
    cache: Option<Cache>,
) -> Result<LoadedImage, String> {
    if let Some(c) = &cache {
        let c = c.clone();
        let key = id.to_string();
        let found = tokio::task::spawn_blocking(move || c.load_index(&key))
            .await
            .map_err(|e| e.to_string())?;
        if let Some(index) = found {
            return Ok(LoadedImage {
                index: Arc::new(index),
                source: Source::Cache,
                contents: Mutex::new(HashMap::new()),
                cache,
            });
        }
    }
    let reader = engine.api.save_image(id).await.map_err(|e| e.to_string())?;
    let wanted_paths = wanted.clone();
    let saved = tokio::task::spawn_blocking(move || {
        let want = |p: &str| index::is_system_file(p) || wanted_paths.contains(p);
        let opts = ReadOptions {
            want: &want,
            max_content: MAX_CONTENT,
            hash: true,
            packages: true,
        };
        layers::read_image(reader, &opts)
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("reading the image's layers: {e}"))?;
    let mut fs = saved.fs;

    // Every content the index and the run need, by resolved path: kept by the pass, or to
    // be fetched (through a symlinked directory, a hard link's other name).
    let mut needed: Vec<String> = vec![
        index::PASSWD.into(),
        index::GROUP.into(),
        index::DPKG_STATUS.into(),
        index::APK_INSTALLED.into(),
    ];
    needed.extend(
        fs.glob(&format!("{}*", index::DPKG_STATUS_D))
            .into_iter()
            .map(|e| e.path.clone()),
    );
    needed.extend(wanted.iter().cloned());
    let mut resolved: HashMap<String, String> = HashMap::new();
    let mut got: HashMap<String, Arc<Vec<u8>>> = HashMap::new();
    let mut missing: Vec<FsEntry> = Vec::new();
    for p in &needed {
        let Ok(e) = fs.stat(p) else { continue };
        if !e.kind.has_data() || e.size > MAX_CONTENT {
            continue;
        }
        resolved.insert(p.clone(), e.path.clone());
        if got.contains_key(&e.path) || missing.iter().any(|m| m.path == e.path) {
            continue;
        }
        match fs.content(p) {
            Some(c) => {
                got.insert(e.path.clone(), Arc::new(c.to_vec()));
            }
            None => missing.push(e.clone()),
        }
    }
    fs.take_contents();
    if !missing.is_empty() {
        got.extend(
            fetch(engine, id, &missing)
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    let content = |p: &str| -> Option<Vec<u8>> { Some(got.get(resolved.get(p)?)?.to_vec()) };
    let index = Arc::new(ImageIndex::build(
        id,
        fs,
        saved.config.unwrap_or_default(),
        saved.packages,
        &content,
    ));
    if let Some(c) = cache.clone() {
        let index = index.clone();
        let blobs: Vec<Arc<Vec<u8>>> = wanted
            .iter()
            .filter_map(|p| got.get(resolved.get(p)?))
            .cloned()
            .collect();
        // A cache that cannot be written costs speed, never an answer.
        let _ = tokio::task::spawn_blocking(move || {
            let _ = c.store_index(&index);
            for b in blobs {
                let _ = c.store_blob(&b);
            }
        })
        .await;
    }
    Ok(LoadedImage {
        index,
        source: Source::Layers,
        contents: Mutex::new(got),
        cache,
    })
}

impl LoadedImage {
    /// A loaded image for an index at hand (tests, tools).
    pub fn from_index(index: ImageIndex, cache: Option<Cache>) -> LoadedImage {
        LoadedImage {
            index: Arc::new(index),
            source: Source::Cache,
            contents: Mutex::new(HashMap::new()),
            cache,
        }
    }

    fn kept(&self, resolved: &str) -> Option<Arc<Vec<u8>>> {
        self.contents
            .lock()
            .expect("contents lock")
            .get(resolved)
            .cloned()
    }

    fn keep(&self, resolved: &str, data: Arc<Vec<u8>>) {
        self.contents
            .lock()
            .expect("contents lock")
            .insert(resolved.to_string(), data);
    }

    /// The bytes of the file at `path`, symlinks followed (see the module's doc).
    pub async fn content(
        &self,
        engine: &Engine<'_>,
        path: &str,
    ) -> Result<Arc<Vec<u8>>, ContentError> {
        let e = self
            .index
            .stat(path)
            .map_err(|e| ContentError::Missing(e.to_string()))?
            .clone();
        if !e.kind.has_data() {
            let what = match e.kind {
                EntryKind::Dir => "a directory",
                EntryKind::Char => "a character device",
                EntryKind::Block => "a block device",
                EntryKind::Fifo => "a fifo",
                _ => "not a regular file",
            };
            let shown = if e.path == path {
                format!("`{path}`")
            } else {
                format!("`{path}` (`{}`)", e.path)
            };
            return Err(ContentError::Missing(format!(
                "{shown} is {what}: it has no content"
            )));
        }
        if e.size > MAX_CONTENT {
            return Err(ContentError::Missing(format!(
                "`{path}` holds {} bytes, over the 16MiB that `content` reads (compare its sha256)",
                e.size
            )));
        }
        if let Some(c) = self.kept(&e.path) {
            return Ok(c);
        }
        if let (Some(cache), Some(sha)) = (&self.cache, e.sha256) {
            let cache = cache.clone();
            let blob = tokio::task::spawn_blocking(move || cache.load_blob(&sha))
                .await
                .ok()
                .flatten();
            if let Some(b) = blob {
                let b = Arc::new(b);
                self.keep(&e.path, b.clone());
                return Ok(b);
            }
        }
        let mut got = fetch(engine, self.index.id(), std::slice::from_ref(&e)).await?;
        let c = got.remove(&e.path).ok_or_else(|| {
            ContentError::Engine(format!(
                "could not read `{path}` from the image (its data did not match the layers')"
            ))
        })?;
        self.keep(&e.path, c.clone());
        if let Some(cache) = self.cache.clone() {
            let data = c.clone();
            let _ = tokio::task::spawn_blocking(move || cache.store_blob(&data)).await;
        }
        Ok(c)
    }
}

/// Reads the data of `files` (resolved entries with data) of image `id` from the engine.
async fn fetch(
    engine: &Engine<'_>,
    id: &str,
    files: &[FsEntry],
) -> Result<HashMap<String, Arc<Vec<u8>>>, ContentError> {
    // The archive endpoint first (fast); whatever it cannot give, from the layers again.
    let mut got = fetch_by_archive(engine, id, files)
        .await
        .unwrap_or_default();
    let left: Vec<&FsEntry> = files
        .iter()
        .filter(|f| !got.contains_key(&f.path))
        .collect();
    if !left.is_empty() {
        got.extend(fetch_by_save(engine, id, &left).await?);
    }
    Ok(got)
}

/// Through `GET /containers/{id}/archive` of a created, never started container; only data
/// that matches the layers' size and SHA-256 is taken.
async fn fetch_by_archive(
    engine: &Engine<'_>,
    id: &str,
    files: &[FsEntry],
) -> Result<HashMap<String, Arc<Vec<u8>>>, ContentError> {
    let spec = ContainerSpec {
        image: id.to_string(),
        cmd: Some(vec!["/dspec-reads-files-only".into()]),
        labels: engine.labels.clone(),
        ..ContainerSpec::default()
    };
    let eng = |e: EngineError| ContentError::Engine(e.to_string());
    let cid = engine.api.create_container(&spec).await.map_err(eng)?;
    let mut got = HashMap::new();
    for f in files {
        let Ok(reader) = engine.api.archive(&cid, &f.path).await else {
            continue;
        };
        let data = tokio::task::spawn_blocking(move || first_file(reader))
            .await
            .ok()
            .flatten();
        if let Some(d) = data
            && matches_entry(f, &d)
        {
            got.insert(f.path.clone(), Arc::new(d));
        }
    }
    let _ = engine.api.remove_container(&cid).await;
    Ok(got)
}

/// Through `docker save` again, keeping exactly the paths that hold the data.
async fn fetch_by_save(
    engine: &Engine<'_>,
    id: &str,
    files: &[&FsEntry],
) -> Result<HashMap<String, Arc<Vec<u8>>>, ContentError> {
    let mut want: BTreeSet<String> = BTreeSet::new();
    for f in files {
        want.insert(f.path.clone());
        if f.kind == EntryKind::Hardlink
            && let Some(t) = &f.link_target
        {
            want.insert(t.clone());
        }
    }
    let reader = engine
        .api
        .save_image(id)
        .await
        .map_err(|e| ContentError::Engine(e.to_string()))?;
    let fs = tokio::task::spawn_blocking(move || {
        layers::read_saved_image(reader, &|p| want.contains(p), MAX_CONTENT)
    })
    .await
    .map_err(|e| ContentError::Engine(e.to_string()))?
    .map_err(|e| ContentError::Engine(format!("reading the image's layers: {e}")))?;
    let mut got = HashMap::new();
    for f in files {
        if let Some(c) = fs.content(&f.path)
            && matches_entry(f, c)
        {
            got.insert(f.path.clone(), Arc::new(c.to_vec()));
        }
    }
    Ok(got)
}

/// Whether `data` is the file's data as the layers have it.
fn matches_entry(f: &FsEntry, data: &[u8]) -> bool {
    data.len() as u64 == f.size && f.sha256.is_none_or(|s| sha256::digest(data) == s)
}

/// The data of the first regular file in a tar (at most [`MAX_CONTENT`] + 1 bytes).
fn first_file(reader: impl Read) -> Option<Vec<u8>> {
    let mut ar = tar::Archive::new(reader);
    for e in ar.entries().ok()? {
        let mut e = e.ok()?;
        if e.header().entry_type().is_file() {
            let mut buf = Vec::new();
            (&mut e).take(MAX_CONTENT + 1).read_to_end(&mut buf).ok()?;
            return Some(buf);
        }
    }
    None
}
