//! The build context is streamed to the engine, never assembled in memory (issue 11, item 7:
//! a 3 GB sparse file took 6.3 GB of RSS). `dspec check` builds a 384 MiB context under a
//! 256 MiB data limit (`ulimit -d`): holding the context whole aborts with "memory allocation
//! failed"; streaming it needs a few MiB. The time and RSS figures are in
//! `bench/build-context.sh`, not here.

mod common;

use std::fs;
use std::process::{Command, Stdio};

#[test]
fn a_context_larger_than_the_memory_limit_builds() {
    common::require_docker();
    let dir = std::env::temp_dir().join(format!("dspec-ctx-stream-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let tag = format!("dspec-test/ctx-stream:{}", std::process::id());
    fs::write(
        dir.join("Dockerfile"),
        "FROM scratch\nCOPY small.txt /small.txt\n",
    )
    .unwrap();
    // This run's own content: its layers are shared with no other suite's build (removing
    // this run's image at the end would otherwise remove an intermediate image that another
    // suite's build of the same context is using as its parent).
    fs::write(
        dir.join("small.txt"),
        format!("small {}\n", std::process::id()),
    )
    .unwrap();
    // Sparse: no disk used on this side.
    let big = fs::File::create(dir.join("big.bin")).unwrap();
    big.set_len(384 << 20).unwrap();
    drop(big);
    fs::write(
        dir.join("t.dspec"),
        format!(
            "image big = build \".\" {{ tag \"{tag}\" }}\nexpect big.built\nexpect big.context.size > 380MB\n"
        ),
    )
    .unwrap();
    let child = Command::new("bash")
        .arg("-c")
        .arg("ulimit -d 262144 && exec \"$0\" check --color never t.dspec")
        .arg(env!("CARGO_BIN_EXE_dspec"))
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (out, all) = common::wait_leaving_nothing(child);
    let id = Command::new("docker")
        .args(["image", "inspect", "-f", "{{.Id}}", &tag])
        .output()
        .unwrap();
    let id = String::from_utf8_lossy(&id.stdout).trim().to_string();
    if !id.is_empty() {
        let _ = Command::new("docker").args(["rmi", "-f", &id]).output();
    }
    let _ = fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("2 passed, 0 failed"), "{all}");
}
