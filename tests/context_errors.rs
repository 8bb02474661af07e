//! Every I/O error met while reading a build context names the path (issue 11, item 13: a
//! context that was a symlink to `/` failed with a bare "Permission denied (os error 13)").
//!
//! Root reads everything, so when the tests run as root the reading is done by this same test
//! binary re-run as `nobody` (uid 65534), which is refused like any user.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use dspec::engine::imagefs::context;

const CHILD: &str = "DSPEC_CONTEXT_ERRORS_CHILD";

fn uid() -> u32 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|u| u.parse().ok())
        .unwrap()
}

struct Tmp(PathBuf);

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = fs::set_permissions(
            self.0.join("real/secret"),
            fs::Permissions::from_mode(0o755),
        );
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// `ctx` (a symlink to `real`) holding an unreadable directory `secret` and an unreadable
/// file `key.pem`.
fn fixture(name: &str) -> Tmp {
    let dir = std::env::temp_dir().join(format!("dspec-ctx-errors-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("real/secret")).unwrap();
    fs::write(dir.join("real/Dockerfile"), "FROM scratch\n").unwrap();
    fs::write(dir.join("real/secret/inner"), "x").unwrap();
    fs::write(dir.join("real/key.pem"), "k").unwrap();
    for p in [&dir, &dir.join("real")] {
        fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    fs::set_permissions(dir.join("real/key.pem"), fs::Permissions::from_mode(0o600)).unwrap();
    fs::set_permissions(dir.join("real/secret"), fs::Permissions::from_mode(0o700)).unwrap();
    symlink(dir.join("real"), dir.join("ctx")).unwrap();
    Tmp(dir)
}

/// What reading the context says: the scan's error, else the tar writer's.
fn read_context(ctx: &Path) -> String {
    match context::scan(ctx) {
        Err(e) => format!("scan: {e}"),
        Ok(c) => match context::write_tar(&c, &ctx.join("Dockerfile"), std::io::sink()) {
            Err(e) => format!("tar: {e}"),
            Ok(_) => "ok".to_string(),
        },
    }
}

/// Runs `read_context` as an unprivileged user (this test binary, re-run).
fn read_as_nobody(test: &str, ctx: &Path) -> String {
    if uid() != 0 {
        return read_context(ctx);
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads", "1"])
        .env(CHILD, ctx)
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.split_once("RESULT: ").map(|(_, r)| r))
        .unwrap_or_else(|| panic!("no result from the child: {stdout}"))
        .to_string()
}

/// In the child: reads the context it was given and prints the result.
fn child_mode() -> bool {
    match std::env::var_os(CHILD) {
        Some(ctx) => {
            println!("RESULT: {}", read_context(Path::new(&ctx)));
            true
        }
        None => false,
    }
}

#[test]
fn an_unreadable_directory_is_named() {
    if child_mode() {
        return;
    }
    let tmp = fixture("dir");
    let got = read_as_nobody("an_unreadable_directory_is_named", &tmp.0.join("ctx"));
    let secret = tmp.0.join("ctx/secret");
    assert!(
        got.starts_with(&format!("scan: {}: ", secret.display())),
        "{got}"
    );
    assert!(got.contains("Permission denied"), "{got}");
}

#[test]
fn an_unreadable_file_is_named() {
    if child_mode() {
        return;
    }
    let tmp = fixture("file");
    // Only the file is unreadable now.
    fs::set_permissions(tmp.0.join("real/secret"), fs::Permissions::from_mode(0o755)).unwrap();
    let got = read_as_nobody("an_unreadable_file_is_named", &tmp.0.join("ctx"));
    let key = tmp.0.join("ctx/key.pem");
    assert!(
        got.starts_with(&format!("tar: {}: ", key.display())),
        "{got}"
    );
    assert!(got.contains("Permission denied"), "{got}");
}
