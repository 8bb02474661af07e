//! `file(PATH)` and `files(GLOB)` on a running container: read through the
//! engine's archive endpoint (`docker cp`), never a shell in the container.

use std::io::Read;

use super::Ctx;
use super::actual::Actual;
use super::docker::EngineError;
use super::imagefs::layers::EntryKind;
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

/// Reads the archive of `path`: its entries with absolute paths.
async fn read(
    ctx: &Ctx,
    id: &str,
    path: &str,
    with_content: bool,
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
    let passwd = text(read(ctx, id, "/etc/passwd", true).await.ok().flatten());
    let group = text(read(ctx, id, "/etc/group", true).await.ok().flatten());
    Users::parse_bytes(&passwd, &group)
}

/// `file(PATH).FIELD` on the live filesystem.
pub async fn file(ctx: &Ctx, id: &str, path: &str, field: FileProp) -> Observed {
    let entries = read(ctx, id, path, field == FileProp::Content).await?;
    let Some(e) = entries.and_then(|v| v.into_iter().next()) else {
        return if field == FileProp::Exists {
            Ok(Actual::Bool(false))
        } else {
            Err(ObsError::Missing(format!(
                "`{path}` does not exist in the container"
            )))
        };
    };
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
    let entries = read(ctx, id, &base, false).await?.unwrap_or_default();
    let mut paths: Vec<String> = entries
        .into_iter()
        .filter(|e| e.kind != EntryKind::Dir)
        .map(|e| e.path.replace("//", "/"))
        .filter(|p| glob.is_match(p))
        .collect();
    paths.sort();
    Ok(Actual::List(paths))
}
