//! `.dockerignore` parity with the real `docker build` (legacy builder).
//!
//! Builds `FROM scratch / COPY . /ctx/` from a tricky fixture context three
//! ways and checks that `/ctx` in each image equals what `context::scan`
//! says `COPY . /x` sees:
//!   1. the docker CLI itself (`docker build -f <outside Dockerfile> <dir>`),
//!   2. our `write_tar` with the outside Dockerfile, sent as a stdin tar,
//!   3. our `write_tar` with the (ignored) in-context Dockerfile, stdin tar.

#[path = "imagefs_common/mod.rs"]
mod common;

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use common::*;
use dspec::engine::imagefs::context::{self, ContextKind};

const PROBE: &str = "FROM scratch\nCOPY . /ctx/\n";

const IGNORE: &str = "\
# comment line
Dockerfile
.dockerignore
*.log
!keep.log
**/*.tmp
/src/gen
build
!build/keep.txt
/secret
docs/private
!docs/private/public.md
vendor
!**/keep.me
a/b
!a
\\[brackets\\].txt
   # not a comment: a pattern that matches nothing
*/*.bak
!sub/*.bak
";

fn write(root: &Path, rel: &str, data: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, data).unwrap();
}

fn make_fixture(root: &Path) {
    write(root, "Dockerfile", PROBE);
    write(root, ".dockerignore", IGNORE);
    for f in [
        "a.log",
        "keep.log",
        "logs/b.log",
        "logs/keep.log",
        "sub/c.log",
        "sub/deep/e.log",
        "sub/deep/d.tmp",
        "x.tmp",
        "notes.tmpl",
        "src/main.rs",
        "src/gen/out.rs",
        "src/lib/gen/keep.rs",
        "build/artifact.bin",
        "build/keep.txt",
        "build/sub/deeper.txt",
        "secret/key.pem",
        "nested/secret/x",
        "docs/readme.md",
        "docs/private/p.md",
        "docs/private/public.md",
        "vendor/lib/keep.me",
        "keep.me",
        "a/b",
        "a/c",
        "weird name with spaces.txt",
        "[brackets].txt",
        "b.bak",
        "sub/x.bak",
        "other/y.bak",
        "deep/er/z.bak",
    ] {
        write(root, f, &format!("content of {f}\n"));
    }
    fs::create_dir_all(root.join("emptydir")).unwrap();
    symlink("src/main.rs", root.join("link-to-main")).unwrap();
    symlink("/nonexistent/target", root.join("dangling-link")).unwrap();
    fs::set_permissions(root.join("src/main.rs"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::hard_link(root.join("keep.me"), root.join("keep-hardlink.txt")).unwrap();
}

/// What `COPY . /x` should show: every entry plus its parent directories.
fn expected(ctx: &context::Context) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    for e in &ctx.files {
        set.insert(e.rel_path.clone());
        let mut p = e.rel_path.as_str();
        while let Some((parent, _)) = p.rsplit_once('/') {
            set.insert(parent.to_string());
            p = parent;
        }
    }
    set
}

/// `/ctx` of an image, via docker create + docker export | tar t.
fn listing(image: &str, cleanup: &mut DockerCleanup) -> BTreeSet<String> {
    let cid = create(image, cleanup);
    export_names(&cid)
        .into_iter()
        .filter_map(|n| {
            n.strip_prefix("ctx/")
                .map(|r| r.trim_end_matches('/').to_string())
        })
        .filter(|r| !r.is_empty())
        .collect()
}

fn diff(a: &BTreeSet<String>, b: &BTreeSet<String>) -> String {
    format!(
        "only in docker: {:?}\nonly in scan(): {:?}",
        a.difference(b).collect::<Vec<_>>(),
        b.difference(a).collect::<Vec<_>>()
    )
}

#[test]
fn dockerignore_matches_docker_build() {
    require_docker();
    let tmp = TempDir::new("ctx");
    let root = tmp.path().join("context");
    fs::create_dir_all(&root).unwrap();
    make_fixture(&root);
    let outside = tmp.path().join("probe");
    fs::create_dir_all(&outside).unwrap();
    let outside_df = outside.join("Dockerfile");
    fs::write(&outside_df, PROBE).unwrap();

    let ctx = context::scan(&root).unwrap();
    let want = expected(&ctx);
    eprintln!(
        "scan(): {} entries, {} bytes: {:?}",
        ctx.files.len(),
        ctx.total_size,
        want
    );

    // Spot checks of the interesting decisions.
    for p in [
        "keep.log",
        "logs/b.log",
        "logs/keep.log",
        "sub/c.log",
        "src/main.rs",
        "src/lib/gen/keep.rs",
        "build/keep.txt",
        "nested/secret/x",
        "docs/private/public.md",
        "keep.me",
        "a/c",
        "emptydir",
        "link-to-main",
        "dangling-link",
        "notes.tmpl",
        "sub/x.bak",
        "b.bak",
        "deep/er/z.bak",
        "keep-hardlink.txt",
    ] {
        assert!(want.contains(p), "{p} should be in the context");
    }
    for p in [
        "Dockerfile",
        ".dockerignore",
        "a.log",
        "sub/deep/d.tmp",
        "x.tmp",
        "src/gen/out.rs",
        "build/artifact.bin",
        "build/sub/deeper.txt",
        "secret",
        "docs/private/p.md",
        "vendor",
        "vendor/lib/keep.me",
        "a/b",
        "[brackets].txt",
        "other/y.bak",
    ] {
        assert!(!want.contains(p), "{p} should be excluded");
    }
    // "build" itself has no entry (excluded, not pruned); it appears in the
    // image only because build/keep.txt is unpacked into it.
    assert!(!ctx.files.iter().any(|e| e.rel_path == "build"));
    assert!(want.contains("build"));
    let link = ctx
        .files
        .iter()
        .find(|e| e.rel_path == "link-to-main")
        .unwrap();
    assert_eq!(link.kind, ContextKind::Symlink);
    assert_eq!(link.link_target.as_deref(), Some("src/main.rs"));
    assert_eq!(
        ctx.files
            .iter()
            .find(|e| e.rel_path == "src/main.rs")
            .unwrap()
            .mode,
        0o755
    );

    let mut cleanup = DockerCleanup::default();

    // 1. The docker CLI builds from the directory.
    let tag_cli = unique_tag("ctx-cli");
    build_dir(&root, &outside_df, &tag_cli, true, &mut cleanup);
    let got_cli = listing(&tag_cli, &mut cleanup);
    assert_eq!(
        got_cli,
        want,
        "CLI build vs scan():\n{}",
        diff(&got_cli, &want)
    );

    // 2. Our tar, outside Dockerfile.
    let tar_path = tmp.path().join("ctx-outside.tar");
    let name = context::write_tar(&ctx, &outside_df, fs::File::create(&tar_path).unwrap()).unwrap();
    assert!(name.starts_with(".dspec-Dockerfile-"), "{name}");
    let tag_tar = unique_tag("ctx-tar");
    build_stdin_tar(&tar_path, &name, &tag_tar, &mut cleanup);
    let got_tar = listing(&tag_tar, &mut cleanup);
    assert_eq!(
        got_tar,
        want,
        "stdin tar (outside Dockerfile) vs scan():\n{}",
        diff(&got_tar, &want)
    );

    // 3. Our tar, the ignored in-context Dockerfile.
    let tar_path = tmp.path().join("ctx-inside.tar");
    let name = context::write_tar(
        &ctx,
        Path::new("Dockerfile"),
        fs::File::create(&tar_path).unwrap(),
    )
    .unwrap();
    assert_eq!(name, "Dockerfile");
    let tag_tar2 = unique_tag("ctx-tar-in");
    build_stdin_tar(&tar_path, &name, &tag_tar2, &mut cleanup);
    let got_tar2 = listing(&tag_tar2, &mut cleanup);
    assert_eq!(
        got_tar2,
        want,
        "stdin tar (inside Dockerfile) vs scan():\n{}",
        diff(&got_tar2, &want)
    );
}

/// The tar itself: names, header fields, forced Dockerfile/.dockerignore.
#[test]
fn tar_contents() {
    let tmp = TempDir::new("tar");
    let root = tmp.path().join("context");
    fs::create_dir_all(&root).unwrap();
    make_fixture(&root);
    let ctx = context::scan(&root).unwrap();

    let mut buf = Vec::new();
    let name = context::write_tar(&ctx, &root.join("Dockerfile"), &mut buf).unwrap();
    assert_eq!(name, "Dockerfile");
    let mut ar = tar::Archive::new(&buf[..]);
    let mut names = Vec::new();
    let mut hardlinks = 0;
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        let h = e.header();
        assert_eq!(h.uid().unwrap(), 0);
        assert_eq!(h.gid().unwrap(), 0);
        assert!(h.mtime().unwrap() > 0);
        let n = e.path().unwrap().to_string_lossy().into_owned();
        if n == "src/main.rs" {
            assert_eq!(h.mode().unwrap(), 0o755);
        }
        if h.entry_type().is_hard_link() {
            hardlinks += 1;
        }
        names.push(n.trim_end_matches('/').to_string());
    }
    assert_eq!(hardlinks, 1, "keep.me/keep-hardlink.txt pair");
    let mut want: Vec<String> = ctx.files.iter().map(|e| e.rel_path.clone()).collect();
    want.push("Dockerfile".into());
    want.push(".dockerignore".into());
    want.sort();
    names.sort();
    assert_eq!(names, want);

    // Outside Dockerfile: a rewritten .dockerignore names it.
    let outside = tmp.path().join("Dockerfile.outside");
    fs::write(&outside, PROBE).unwrap();
    let mut buf = Vec::new();
    let name = context::write_tar(&ctx, &outside, &mut buf).unwrap();
    let mut ar = tar::Archive::new(&buf[..]);
    let mut found = 0;
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let n = e.path().unwrap().to_string_lossy().into_owned();
        let mut s = String::new();
        if n == ".dockerignore" {
            std::io::Read::read_to_string(&mut e, &mut s).unwrap();
            assert_eq!(s, format!("{IGNORE}\n{name}\n"));
            found += 1;
        } else if n == name {
            std::io::Read::read_to_string(&mut e, &mut s).unwrap();
            assert_eq!(s, PROBE);
            found += 1;
        }
        assert_ne!(n, "Dockerfile");
    }
    assert_eq!(found, 2);

    // glob_files over the context.
    let g: Vec<&str> = context::glob_files(&ctx, "**/*.rs")
        .iter()
        .map(|e| e.rel_path.as_str())
        .collect();
    assert_eq!(g, vec!["src/lib/gen/keep.rs", "src/main.rs"]);
}

/// Quirks around the Dockerfile living in an ignored directory, and a
/// `.dockerignore` that does not ignore itself.
#[test]
fn dockerfile_in_ignored_dir() {
    require_docker();
    let tmp = TempDir::new("ctx2");
    let root = tmp.path().join("context");
    write(&root, "docker/Dockerfile", PROBE);
    write(&root, "docker/other", "x");
    write(&root, "app.txt", "a");
    write(&root, ".dockerignore", "docker\n");
    let ctx = context::scan(&root).unwrap();
    let files: Vec<&str> = ctx.files.iter().map(|e| e.rel_path.as_str()).collect();
    assert_eq!(files, vec![".dockerignore", "app.txt"]);

    let mut cleanup = DockerCleanup::default();
    let tag_cli = unique_tag("ctx2-cli");
    build_dir(
        &root,
        &root.join("docker/Dockerfile"),
        &tag_cli,
        true,
        &mut cleanup,
    );
    let got_cli = listing(&tag_cli, &mut cleanup);

    let tar_path = tmp.path().join("c.tar");
    let name = context::write_tar(
        &ctx,
        Path::new("docker/Dockerfile"),
        fs::File::create(&tar_path).unwrap(),
    )
    .unwrap();
    assert_eq!(name, "docker/Dockerfile");
    let tag_tar = unique_tag("ctx2-tar");
    build_stdin_tar(&tar_path, &name, &tag_tar, &mut cleanup);
    let got_tar = listing(&tag_tar, &mut cleanup);
    assert_eq!(got_cli, got_tar);
    // The daemon deletes the ignored Dockerfile after reading it, but the
    // directory it unpacked it into stays behind, empty.
    let want: BTreeSet<String> = [".dockerignore", "app.txt", "docker"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(got_cli, want);
}

/// Randomized differential test against the docker CLI (ignored by default;
/// about 1 s per round): random trees and random `.dockerignore` files.
///   DSPEC_FUZZ_ROUNDS=20 cargo test --test docker_parity -- --ignored fuzz
#[test]
#[ignore]
fn fuzz_against_docker_cli() {
    require_docker();
    let rounds: u64 = std::env::var("DSPEC_FUZZ_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let mut seed: u64 = std::env::var("DSPEC_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed);
    let mut rnd = move |n: usize| -> usize {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % n
    };
    let names = [
        "a", "b", "ab", "c.log", "d.tmp", "x", "keep", "keep.log", "e.md", "[z]", "f.g",
    ];
    let pats = [
        "a", "b", "*.log", "**/*.log", "*/*.log", "**/*.tmp", "x", "/x", "x/**", "**/x", "a/b",
        "*/a", "?", "??", "[ab]", "[!a]*", "[^a]*", "**", "*", "a*", "**a", "**/keep*", "x/*/b",
        "a/**/b", "\\[z\\]", "f.g", "f?g", "b/x/keep", "e.md", "**/e.md", "./a/../b", "a/", "*/",
        "*/*/*",
    ];
    let mut cleanup = DockerCleanup::default();
    for round in 0..rounds {
        let tmp = TempDir::new("fuzz");
        let root = tmp.path().join("context");
        fs::create_dir_all(&root).unwrap();
        let outside = tmp.path().join("Dockerfile");
        fs::write(&outside, PROBE).unwrap();
        for _ in 0..30 {
            let depth = 1 + rnd(3);
            let rel: Vec<&str> = (0..depth).map(|_| names[rnd(names.len())]).collect();
            let rel = rel.join("/");
            let p = root.join(&rel);
            if p.ancestors().skip(1).any(|a| a.is_file()) || p.is_dir() {
                continue;
            }
            write(&root, &rel, "x");
        }
        let mut ignore = String::new();
        for _ in 0..(1 + rnd(6)) {
            if rnd(3) == 0 {
                ignore.push('!');
            }
            ignore.push_str(pats[rnd(pats.len())]);
            ignore.push('\n');
        }
        fs::write(root.join(".dockerignore"), &ignore).unwrap();
        let ctx = context::scan(&root).unwrap();
        let want = expected(&ctx);
        let tag = unique_tag("fuzz");
        build_dir(&root, &outside, &tag, true, &mut cleanup);
        let got = listing(&tag, &mut cleanup);
        assert_eq!(
            got,
            want,
            "round {round}, .dockerignore:\n{ignore}\n{}",
            diff(&got, &want)
        );
        let _ = std::process::Command::new("docker")
            .args(["rmi", "-f", &tag])
            .output();
        eprintln!(
            "round {round}: {} entries ok; patterns {:?}",
            want.len(),
            ignore.lines().collect::<Vec<_>>()
        );
    }
}
