//! `file(PATH)` and `files(GLOB)` on a running container: read through the
//! engine's archive endpoint (`docker cp`), never a shell in the container.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;

use super::Ctx;
use super::actual::Actual;
use super::docker::{EngineError, MountInfo};
use super::imagefs;
use super::imagefs::access::Access;
use super::imagefs::layers::EntryKind;
use super::imagefs::sha256;
use super::imagefs::tree::{FsEntry, ImageFs};
use super::imagefs::users::Users;
use super::observe::{ObsError, Observed};
use crate::compile::property::FileProp;

/// Largest file content read for `.content`.
const MAX_CONTENT: u64 = 16 << 20;

struct Entry {
    /// Absolute path in the container.
    path: String,
    kind: EntryKind,
    mode: u32,
    uid: u64,
    gid: u64,
    size: u64,
    target: Option<String>,
    content: Option<Vec<u8>>,
}

/// Reads the archive of `path`: its entries with absolute paths; with `first_only`, only the
/// path itself (the archive's first entry: the rest of a directory's tree is not read).
async fn read(
    ctx: &Ctx,
    id: &str,
    path: &str,
    with_content: bool,
    first_only: bool,
) -> Result<Option<Vec<Entry>>, ObsError> {
    let reader = match ctx.engine.archive(id, path).await {
        Ok(r) => r,
        Err(EngineError::ContainerNotFound { .. }) => {
            return Err(ObsError::Missing("the container is gone".into()));
        }
        Err(EngineError::Api { status: 404, .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    // The archive names entries from the last path component: `/app/x` → `x/...`.
    let parent = match path.trim_end_matches('/').rsplit_once('/') {
        Some((p, _)) => p.to_string(),
        None => String::new(),
    };
    tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        let mut archive = tar::Archive::new(reader);
        let entries = archive
            .entries()
            .map_err(|e| ObsError::Internal(e.to_string()))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| ObsError::Internal(e.to_string()))?;
            let h = entry.header();
            let name = entry
                .path()
                .map_err(|e| ObsError::Internal(e.to_string()))?
                .to_string_lossy()
                .trim_end_matches('/')
                .to_string();
            let kind = EntryKind::of_tar(h.entry_type()).unwrap_or(EntryKind::File);
            let mut e = Entry {
                path: format!("{parent}/{name}"),
                kind,
                mode: h.mode().unwrap_or(0) & 0o7777,
                uid: h.uid().unwrap_or(0),
                gid: h.gid().unwrap_or(0),
                size: h.size().unwrap_or(0),
                target: entry
                    .link_name()
                    .ok()
                    .flatten()
                    .map(|l| l.to_string_lossy().to_string()),
                content: None,
            };
            if with_content && kind == EntryKind::File && e.size <= MAX_CONTENT {
                let mut buf = Vec::new();
                entry
                    .read_to_end(&mut buf)
                    .map_err(|err| ObsError::Internal(err.to_string()))?;
                e.content = Some(buf);
            }
            out.push(e);
            if first_only {
                break;
            }
        }
        Ok(Some(out))
    })
    .await
    .map_err(|e| ObsError::Internal(e.to_string()))?
}

async fn users(ctx: &Ctx, id: &str) -> Users {
    let text = |entries: Option<Vec<Entry>>| {
        entries
            .and_then(|mut v| v.pop())
            .and_then(|e| e.content)
            .unwrap_or_default()
    };
    let passwd = text(
        read(ctx, id, "/etc/passwd", true, true)
            .await
            .ok()
            .flatten(),
    );
    let group = text(read(ctx, id, "/etc/group", true, true).await.ok().flatten());
    Users::parse_bytes(&passwd, &group)
}

/// `file(PATH).FIELD` on the live filesystem.
pub async fn file(ctx: &Ctx, id: &str, path: &str, field: FileProp) -> Observed {
    let content = matches!(field, FileProp::Content | FileProp::Sha256);
    let entries = read(ctx, id, path, content, true).await?;
    let Some(mut e) = entries.and_then(|v| v.into_iter().next()) else {
        return if field == FileProp::Exists {
            Ok(Actual::Bool(false))
        } else {
            Err(ObsError::Missing(format!(
                "`{path}` does not exist in the container"
            )))
        };
    };
    if matches!(
        field,
        FileProp::Uid | FileProp::Gid | FileProp::Owner | FileProp::Group
    ) {
        let info = ctx.engine.inspect_container(id).await?;
        tmpfs_owner(path, &mut e.uid, &mut e.gid, &info.settings.mounts);
    }
    Ok(match field {
        FileProp::Exists => Actual::Bool(true),
        FileProp::Type => Actual::Text(e.kind.word().to_string()),
        FileProp::Mode => Actual::Mode(e.mode),
        FileProp::Uid => Actual::Int(e.uid as i64),
        FileProp::Gid => Actual::Int(e.gid as i64),
        FileProp::Size => Actual::Size(e.size),
        FileProp::Owner => {
            let u = users(ctx, id).await;
            Actual::Text(
                u.user_name(e.uid as u32)
                    .map(str::to_string)
                    .unwrap_or_else(|| e.uid.to_string()),
            )
        }
        FileProp::Group => {
            let u = users(ctx, id).await;
            Actual::Text(
                u.group_name(e.gid as u32)
                    .map(str::to_string)
                    .unwrap_or_else(|| e.gid.to_string()),
            )
        }
        FileProp::Target => match e.target {
            Some(t) => Actual::Text(t),
            None => return Err(ObsError::Missing(format!("`{path}` is not a link"))),
        },
        FileProp::Executable | FileProp::Writable | FileProp::Readable => {
            Actual::Bool(access(ctx, id, path, field).await?)
        }
        FileProp::Sha256 => match e.content {
            Some(c) => Actual::Text(sha256::hex(&sha256::digest(&c))),
            None => {
                return Err(ObsError::Missing(format!(
                    "`{path}` is a {}, not a regular file under 16MiB",
                    e.kind.word()
                )));
            }
        },
        FileProp::Content => match e.content {
            Some(c) => Actual::Text(ctx.redact(&String::from_utf8_lossy(&c))),
            None => {
                return Err(ObsError::Missing(format!(
                    "`{path}` is a {}, not a regular file under 16MiB",
                    e.kind.word()
                )));
            }
        },
    })
}

/// `readable`/`writable`/`executable` for the container's user: the kernel's permission check
/// (see [`imagefs::access`]) on the entries of every directory the path's lookup searches,
/// fetched one by one (symlinks followed); writing also needs a writable mount (a read-only
/// root filesystem or `:ro` mount refuses it).
async fn access(ctx: &Ctx, id: &str, path: &str, field: FileProp) -> Result<bool, ObsError> {
    let info = ctx.engine.inspect_container(id).await?;
    let user = users(ctx, id)
        .await
        .exec_user(&info.settings.user)
        .map_err(ObsError::Missing)?;
    let fs = lookup_entries(ctx, id, path, &info.settings.mounts).await?;
    let want = match field {
        FileProp::Executable => Access::Exec,
        FileProp::Writable => Access::Write,
        _ => Access::Read,
    };
    let allowed = imagefs::access::access(&fs, path, &user, want).map_err(|e| {
        ObsError::Missing(e.to_string().replace("in the image", "in the container"))
    })?;
    if !allowed || want != Access::Write {
        return Ok(allowed);
    }
    let resolved = fs
        .lookup(path, true)
        .map_err(|e| ObsError::Missing(e.to_string()))?
        .path;
    let mount = info
        .settings
        .mounts
        .iter()
        .filter(|m| under(&resolved, &m.destination))
        .max_by_key(|m| m.destination.len());
    Ok(match mount {
        Some(m) => !m.read_only,
        None => !info.settings.read_only,
    })
}

/// Whether `path` is `dir` or inside it.
fn under(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    path == dir || dir.is_empty() || path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

/// The entries a lookup of `path` meets: each component's, and the paths symlinks lead to
/// (at most 40 of them, the kernel's limit), fetched from the container one at a time. The
/// archive shows the directory under a tmpfs mount, not the tmpfs: a tmpfs's `uid=`/`gid=`
/// options, which own it, are applied to its mount point.
async fn lookup_entries(
    ctx: &Ctx,
    id: &str,
    path: &str,
    mounts: &[MountInfo],
) -> Result<ImageFs, ObsError> {
    let mut entries = BTreeMap::new();
    let mut missing = BTreeSet::new();
    let mut queue = vec![lexical(path)];
    let mut budget = 40;
    while let Some(full) = queue.pop() {
        let comps: Vec<&str> = full.split('/').filter(|c| !c.is_empty()).collect();
        let mut cur = String::new();
        for (i, comp) in comps.iter().enumerate() {
            let parent = if cur.is_empty() {
                "/".to_string()
            } else {
                cur.clone()
            };
            cur = format!("{cur}/{comp}");
            if missing.contains(&cur) {
                break;
            }
            if !entries.contains_key(&cur) {
                match read(ctx, id, &cur, false, true)
                    .await?
                    .and_then(|v| v.into_iter().next())
                {
                    Some(e) => {
                        let mut entry = fs_entry(&cur, e);
                        tmpfs_owner(&cur, &mut entry.uid, &mut entry.gid, mounts);
                        entries.insert(cur.clone(), entry);
                    }
                    None => {
                        missing.insert(cur.clone());
                        break;
                    }
                }
            }
            let e = &entries[&cur];
            if e.kind == EntryKind::Symlink {
                if budget == 0 {
                    break;
                }
                budget -= 1;
                let target = e.link_target.clone().unwrap_or_default();
                let rest = comps[i + 1..].join("/");
                let base = if target.starts_with('/') {
                    target
                } else {
                    format!("{parent}/{target}")
                };
                queue.push(lexical(&format!("{base}/{rest}")));
                break;
            }
            if e.kind != EntryKind::Dir {
                break;
            }
        }
    }
    // The root is a directory any user may search unless the container says otherwise.
    if let Some(e) = read(ctx, id, "/", false, true)
        .await?
        .and_then(|v| v.into_iter().next())
    {
        entries.insert("/".to_string(), fs_entry("/", e));
    }
    Ok(ImageFs::new(entries, HashMap::new(), Vec::new()))
}

/// Gives the mount point of a tmpfs the owner its `uid=` and `gid=` options set (the archive
/// endpoint reports the directory the tmpfs hides instead).
fn tmpfs_owner(path: &str, uid: &mut u64, gid: &mut u64, mounts: &[MountInfo]) {
    let path = lexical(path);
    let Some(m) = mounts
        .iter()
        .find(|m| m.kind == "tmpfs" && lexical(&m.destination) == path)
    else {
        return;
    };
    for opt in m.options.split(',') {
        if let Some(u) = opt.strip_prefix("uid=").and_then(|v| v.parse().ok()) {
            *uid = u;
        } else if let Some(g) = opt.strip_prefix("gid=").and_then(|v| v.parse().ok()) {
            *gid = g;
        }
    }
}

/// A path with `.`, `..` and repeated slashes removed (`..` lexically: the lookup itself,
/// on the fetched entries, follows the kernel).
fn lexical(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    format!("/{}", out.join("/"))
}

fn fs_entry(path: &str, e: Entry) -> FsEntry {
    FsEntry {
        path: path.to_string(),
        kind: e.kind,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        size: e.size,
        link_target: e.target,
        sha256: None,
    }
}

/// `files(GLOB)` on the live filesystem: non-directories matching.
pub async fn files(ctx: &Ctx, id: &str, pattern: &str) -> Observed {
    let glob = crate::glob::compile(pattern).map_err(|e| ObsError::Missing(e.to_string()))?;
    // Read from the deepest directory without wildcards.
    let literal: Vec<&str> = pattern
        .split('/')
        .take_while(|c| !c.contains(['*', '?', '[', '{']))
        .collect();
    let base = match literal.join("/") {
        b if b.is_empty() => "/".to_string(),
        b => b,
    };
    let entries = read(ctx, id, &base, false, false)
        .await?
        .unwrap_or_default();
    let mut paths: Vec<String> = entries
        .into_iter()
        .filter(|e| e.kind != EntryKind::Dir)
        .map(|e| e.path.replace("//", "/"))
        .filter(|p| glob.is_match(p))
        .collect();
    paths.sort();
    Ok(Actual::List(paths))
}
