//! `file(P).readable|writable|executable`: what `access(2)` (`test -r/-w/-x`) would answer
//! for a process of the image, from the layers' modes and owners and the image's users.
//!
//! The rules are the kernel's permission check (`generic_permission`) for a container
//! process with Docker's default capabilities:
//! * the path is resolved as the kernel would (symlinks followed, see [`super::tree`]), and
//!   every directory a component is looked up in needs search (`x`) permission;
//! * root (uid 0) has `CAP_DAC_OVERRIDE`: it reads and writes everything and searches every
//!   directory, and executes a non-directory when any of its `x` bits is set;
//! * anyone else gets one class of the mode bits: the owner's when the uid matches, else the
//!   group's when the file's group is the user's primary or a supplementary group, else the
//!   others' — and only that class counts (an owner without `r` cannot read a world-readable
//!   file).
//!
//! Not modelled: ACLs and file capabilities (tar xattrs), a read-only root filesystem or
//! mounts (properties of a container, not of the image), and capabilities dropped at run time.

use super::tree::{EntryKind, FsEntry, ImageFs, LookupError};
use super::users::ExecUser;

/// An access mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    /// Executing a file, searching a directory.
    Exec,
}

impl Access {
    fn bit(self) -> u32 {
        match self {
            Access::Read => 4,
            Access::Write => 2,
            Access::Exec => 1,
        }
    }
}

/// Whether `user` may access the entry `e` (its own mode bits only; see the module's doc).
pub fn permits(e: &FsEntry, user: &ExecUser, want: Access) -> bool {
    if user.uid == 0 {
        return match want {
            Access::Read | Access::Write => true,
            Access::Exec => e.kind == EntryKind::Dir || e.mode & 0o111 != 0,
        };
    }
    let class = if e.uid == u64::from(user.uid) {
        (e.mode >> 6) & 7
    } else if u32::try_from(e.gid).is_ok_and(|g| user.in_group(g)) {
        (e.mode >> 3) & 7
    } else {
        e.mode & 7
    };
    class & want.bit() != 0
}

/// `access(path, want)` as `user`: `Ok(false)` when a directory on the way may not be searched
/// (`EACCES`, also when the rest of the path does not exist) or the file's bits refuse;
/// `Err` when the path does not resolve (`ENOENT`, `ENOTDIR`, `ELOOP`).
pub fn access(
    fs: &ImageFs,
    path: &str,
    user: &ExecUser,
    want: Access,
) -> Result<bool, LookupError> {
    let mut searched = Vec::new();
    let found = fs.lookup_traced(path, true, &mut searched);
    for dir in &searched {
        let Some(d) = fs.get(dir) else { continue };
        if !permits(d, user, Access::Exec) {
            return Ok(false);
        }
    }
    let key = found?;
    let e = fs
        .get(&key)
        .ok_or_else(|| LookupError::NotFound(path.to_string()))?;
    Ok(permits(e, user, want))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashMap};

    fn entry(path: &str, kind: EntryKind, mode: u32, uid: u64, gid: u64) -> (String, FsEntry) {
        (
            path.to_string(),
            FsEntry {
                path: path.to_string(),
                kind,
                mode,
                uid,
                gid,
                size: 0,
                link_target: None,
                sha256: None,
            },
        )
    }

    fn fs() -> ImageFs {
        use EntryKind::*;
        let mut m: BTreeMap<String, FsEntry> = [
            entry("/app", Dir, 0o755, 1000, 1000),
            entry("/app/run.sh", File, 0o750, 0, 1000),
            entry("/app/data", Dir, 0o770, 0, 1000),
            entry("/app/data/x", File, 0o666, 0, 0),
            entry("/app/owner-no-read", File, 0o044, 1000, 0),
            entry("/secret", Dir, 0o700, 0, 0),
            entry("/secret/s", File, 0o644, 0, 0),
            entry("/etc", Dir, 0o755, 0, 0),
            entry("/etc/shadow", File, 0o640, 0, 42),
            entry("/bin", Dir, 0o755, 0, 0),
            entry("/bin/tool", File, 0o644, 0, 0),
            entry("/bin/x", File, 0o001, 0, 0),
            entry("/docker-only", File, 0o070, 0, 999),
        ]
        .into_iter()
        .collect();
        let (k, mut l) = entry("/link", Symlink, 0o777, 0, 0);
        l.link_target = Some("secret/s".into());
        m.insert(k, l);
        let (k, mut l) = entry("/ok-link", Symlink, 0o777, 0, 0);
        l.link_target = Some("/app/run.sh".into());
        m.insert(k, l);
        ImageFs::new(m, HashMap::new(), Vec::new())
    }

    fn user(uid: u32, gid: u32, sgids: &[u32]) -> ExecUser {
        ExecUser {
            uid,
            gid,
            sgids: sgids.to_vec(),
            name: None,
        }
    }

    #[test]
    fn kernel_rules() {
        let fs = fs();
        let app = user(1000, 1000, &[999]);
        let other = user(2000, 2000, &[]);
        let root = ExecUser::root();
        let ok = |u: &ExecUser, p: &str, a: Access| access(&fs, p, u, a).unwrap();
        // group class
        assert!(ok(&app, "/app/run.sh", Access::Exec));
        assert!(ok(&app, "/app/run.sh", Access::Read));
        assert!(!ok(&app, "/app/run.sh", Access::Write));
        assert!(!ok(&other, "/app/run.sh", Access::Read));
        // directories: w and x
        assert!(ok(&app, "/app/data", Access::Write));
        assert!(!ok(&other, "/app/data", Access::Write));
        // a world-writable file in a directory the user cannot search
        assert!(ok(&app, "/app/data/x", Access::Write));
        assert!(!ok(&other, "/app/data/x", Access::Write));
        // only one class counts
        assert!(!ok(&app, "/app/owner-no-read", Access::Read));
        assert!(ok(&other, "/app/owner-no-read", Access::Read));
        // supplementary group
        assert!(ok(&app, "/docker-only", Access::Read));
        assert!(!ok(&other, "/docker-only", Access::Read));
        // shadow: root reads, others do not
        assert!(ok(&root, "/etc/shadow", Access::Read));
        assert!(ok(&root, "/etc/shadow", Access::Write));
        assert!(!ok(&app, "/etc/shadow", Access::Read));
        assert!(ok(&user(5, 42, &[]), "/etc/shadow", Access::Read));
        // root executes only with some x bit, searches every directory
        assert!(!ok(&root, "/bin/tool", Access::Exec));
        assert!(ok(&root, "/bin/x", Access::Exec));
        assert!(ok(&root, "/secret/s", Access::Read));
        assert!(ok(&root, "/secret", Access::Exec));
        // a directory on the way that cannot be searched: EACCES, even for a missing file
        assert!(!ok(&app, "/secret/s", Access::Read));
        assert!(!ok(&app, "/secret/missing", Access::Read));
        // through symlinks: the target's bits and the target's directories
        assert!(!ok(&app, "/link", Access::Read));
        assert!(ok(&root, "/link", Access::Read));
        assert!(ok(&app, "/ok-link", Access::Exec));
        assert!(matches!(
            access(&fs, "/nope", &app, Access::Read),
            Err(LookupError::NotFound(_))
        ));
        assert!(matches!(
            access(&fs, "/bin/tool/x", &root, Access::Read),
            Err(LookupError::NotADirectory(_))
        ));
    }
}
