//! Helpers shared by the Docker integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

pub const LABEL: &str = "dspec.imagefs-dev=1";

#[path = "../common/mod.rs"]
pub mod shared;

/// Panics unless the Docker daemon answers (Docker tests are never skipped).
#[allow(unused_imports)]
pub use shared::require_docker;

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let p = std::env::temp_dir().join(format!(
            "imagefs-{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Docker objects (images by tag, containers by id) removed on drop.
#[derive(Default)]
pub struct DockerCleanup {
    pub images: Vec<String>,
    pub containers: Vec<String>,
}

impl Drop for DockerCleanup {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = Command::new("docker").args(["rm", "-f", "-v", c]).output();
        }
        for i in &self.images {
            let _ = Command::new("docker").args(["rmi", "-f", i]).output();
        }
    }
}

/// A unique image tag for this process.
pub fn unique_tag(what: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "dspec-imagefs-dev/{what}:{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

fn check(out: std::process::Output, what: &str) -> String {
    if !out.status.success() {
        panic!(
            "{what} failed: {}\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `DOCKER_BUILDKIT=0 docker build` with a directory context.
pub fn build_dir(
    ctx: &Path,
    dockerfile: &Path,
    tag: &str,
    no_cache: bool,
    cleanup: &mut DockerCleanup,
) {
    cleanup.images.push(tag.to_string());
    let mut cmd = Command::new("docker");
    cmd.env("DOCKER_BUILDKIT", "0")
        .args([
            "build",
            "-q",
            "--force-rm",
            "--label",
            LABEL,
            "-t",
            tag,
            "-f",
        ])
        .arg(dockerfile);
    if no_cache {
        cmd.arg("--no-cache");
    }
    cmd.arg(ctx);
    check(cmd.output().unwrap(), "docker build");
}

/// `DOCKER_BUILDKIT=0 docker build -f NAME -` with a tar context on stdin.
pub fn build_stdin_tar(
    tar_file: &Path,
    dockerfile_in_tar: &str,
    tag: &str,
    cleanup: &mut DockerCleanup,
) {
    cleanup.images.push(tag.to_string());
    let out = Command::new("docker")
        .env("DOCKER_BUILDKIT", "0")
        .args([
            "build",
            "-q",
            "--no-cache",
            "--label",
            LABEL,
            "-t",
            tag,
            "-f",
            dockerfile_in_tar,
            "-",
        ])
        .stdin(std::fs::File::open(tar_file).unwrap())
        .output()
        .unwrap();
    check(out, "docker build (stdin tar)");
}

/// `docker create` (never started; dummy command for CMD-less images).
pub fn create(image: &str, cleanup: &mut DockerCleanup) -> String {
    let out = Command::new("docker")
        .args(["create", "--label", LABEL, image, "/nonexistent-cmd"])
        .output()
        .unwrap();
    let id = check(out, "docker create");
    cleanup.containers.push(id.clone());
    id
}

/// `docker export CID | tar t`: the member names, as printed by tar.
pub fn export_names(cid: &str) -> Vec<String> {
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("set -o pipefail; docker export {cid} | tar t"))
        .output()
        .unwrap();
    check(out, "docker export | tar t")
        .lines()
        .map(str::to_string)
        .collect()
}

/// Spawns `docker export CID` / `docker save IMG` with stdout piped.
pub fn spawn_docker(args: &[&str]) -> std::process::Child {
    Command::new("docker")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}
