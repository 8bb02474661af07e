//! `layers::read_saved_image` vs the real image: builds a FROM-scratch image
//! with busybox and many layers, reads `docker save` with our streaming
//! reader, and compares every path/kind/mode/uid/gid/size/link with
//! `docker create` + `docker export` (minus the container's init layer).

#[path = "imagefs_common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::Path;

use common::*;
use dspec::engine::imagefs::layers::{self, EntryKind, FsEntry};
use dspec::engine::imagefs::users::Users;

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nappuser:x:1000:1000::/home/app:/bin/sh\n";
const GROUP: &str = "root:x:0:\nappuser:x:1000:\n";

const DOCKERFILE: &str = r#"FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY etc/passwd etc/group /etc/
RUN head -c 20971520 /dev/zero > /big1.bin
RUN rm /big1.bin
COPY --chown=1000:1000 f.txt /home/app/f.txt
COPY small.txt /small.txt
RUN chmod 4755 /small.txt && ln /small.txt /small-hardlink \
 && mkdir -p /secret && echo s > /secret/s && chmod 600 /secret/s \
 && chown -R 1234:5678 /secret && chmod 700 /secret && chmod 2755 /home/app
RUN mkdir -p /opq/sub && touch /opq/old1 /opq/sub/old2 && mkdir /d && touch /d/x && echo f > /f \
 && mkdir -p /etc/conf.d && echo old > /etc/conf.d/a && echo old > /etc/conf.d/b
RUN rm -rf /opq && mkdir /opq && touch /opq/new \
 && rm -rf /d && echo file > /d && rm /f && mkdir /f && touch /f/inner && chmod 1777 /f \
 && ln -s ../small.txt /etc/rel-link && ln -s /bin/busybox /abs-link \
 && mkfifo /fifo && mknod /chardev c 1 3 && mknod /blockdev b 7 0 \
 && rm /etc/conf.d/a && echo new > /etc/conf.d/b && echo 'x:x:42:' >> /etc/group
RUN rm /bin/vi && touch /bin/vi.txt
"#;

/// Paths of the container's init layer that `docker export` adds.
fn is_init_layer(p: &str) -> bool {
    p == "/"
        || p == "/.dockerenv"
        || p == "/dev"
        || p.starts_with("/dev/")
        || p == "/proc"
        || p == "/sys"
        || p == "/etc/hostname"
        || p == "/etc/hosts"
        || p == "/etc/mtab"
        || p == "/etc/resolv.conf"
}

fn norm(name: &str) -> String {
    let t = name.trim_start_matches("./").trim_matches('/');
    format!("/{t}")
}

/// The export view as FsEntry values (hardlinks: size of their target).
fn export_view(cid: &str) -> BTreeMap<String, FsEntry> {
    let mut child = spawn_docker(&["export", cid]);
    let mut ar = tar::Archive::new(child.stdout.take().unwrap());
    let mut out = BTreeMap::new();
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        let h = e.header();
        let et = h.entry_type();
        let path = norm(&e.path().unwrap().to_string_lossy());
        let kind = EntryKind::of_tar(et).unwrap_or(EntryKind::File);
        let link_target = match kind {
            EntryKind::Symlink => Some(
                e.link_name()
                    .unwrap()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            ),
            EntryKind::Hardlink => Some(norm(&e.link_name().unwrap().unwrap().to_string_lossy())),
            _ => None,
        };
        let mut size = if kind == EntryKind::File { e.size() } else { 0 };
        if let (EntryKind::Hardlink, Some(t)) = (kind, &link_target) {
            size = out.get(t).map(|x: &FsEntry| x.size).unwrap_or(0);
        }
        out.insert(
            path.clone(),
            FsEntry {
                path,
                kind,
                mode: h.mode().unwrap() & 0o7777,
                uid: h.uid().unwrap(),
                gid: h.gid().unwrap(),
                size,
                link_target,
                sha256: None,
            },
        );
    }
    assert!(child.wait().unwrap().success());
    out
}

fn make_context(dir: &Path) {
    fs::copy(which_busybox(), dir.join("busybox")).unwrap();
    fs::create_dir_all(dir.join("etc")).unwrap();
    fs::write(dir.join("etc/passwd"), PASSWD).unwrap();
    fs::write(dir.join("etc/group"), GROUP).unwrap();
    fs::write(dir.join("f.txt"), "owned by 1000\n").unwrap();
    fs::write(dir.join("small.txt"), "setuid me\n").unwrap();
    fs::write(dir.join("Dockerfile"), DOCKERFILE).unwrap();
}

fn which_busybox() -> String {
    for p in ["/usr/bin/busybox", "/bin/busybox", "/usr/local/bin/busybox"] {
        if Path::new(p).exists() {
            return p.to_string();
        }
    }
    panic!("busybox not found: apt-get install -y busybox-static");
}

#[test]
fn save_stream_matches_export() {
    require_docker();
    let tmp = TempDir::new("layers");
    make_context(tmp.path());
    let mut cleanup = DockerCleanup::default();
    let tag = unique_tag("layers");
    build_dir(
        tmp.path(),
        &tmp.path().join("Dockerfile"),
        &tag,
        false,
        &mut cleanup,
    );

    // Our reader over the docker save stream.
    let wanted = [
        "/etc/passwd",
        "/etc/group",
        "/etc/conf.d/b",
        "/small.txt",
        "/small-hardlink",
    ];
    let t0 = std::time::Instant::now();
    let mut child = spawn_docker(&["save", &tag]);
    let img = layers::read_saved_image(
        child.stdout.take().unwrap(),
        &|p| wanted.contains(&p),
        1 << 20,
    )
    .unwrap();
    assert!(child.wait().unwrap().success());
    eprintln!(
        "read_saved_image: {} entries, {} layers, {:?}",
        img.len(),
        img.layers().len(),
        t0.elapsed()
    );

    // The export view.
    let cid = create(&tag, &mut cleanup);
    let exported = export_view(&cid);

    let ours: BTreeMap<&str, &FsEntry> = img
        .iter()
        .filter(|e| e.path != "/")
        .map(|e| (e.path.as_str(), e))
        .collect();
    let theirs: BTreeMap<&str, &FsEntry> = exported
        .iter()
        .filter(|(p, _)| !is_init_layer(p))
        .map(|(p, e)| (p.as_str(), e))
        .collect();
    let only_ours: Vec<_> = ours.keys().filter(|k| !theirs.contains_key(*k)).collect();
    let only_theirs: Vec<_> = theirs.keys().filter(|k| !ours.contains_key(*k)).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "only in save view: {only_ours:?}\nonly in export view: {only_theirs:?}"
    );
    let mut mismatches = Vec::new();
    for (p, a) in &ours {
        let b = theirs[p];
        if a != &b {
            mismatches.push(format!("{p}:\n  save   {a:?}\n  export {b:?}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    eprintln!("compared {} paths: identical", ours.len());

    // Spot checks of the interesting layers.
    let get = |p: &str| img.get(p).unwrap_or_else(|| panic!("{p} missing"));
    assert!(img.get("/big1.bin").is_none());
    let f = get("/home/app/f.txt");
    assert_eq!((f.uid, f.gid, f.mode), (1000, 1000, 0o644));
    assert_eq!(get("/home/app").mode, 0o2755);
    assert_eq!(get("/small.txt").mode & 0o7777, 0o4755);
    let s = get("/secret");
    assert_eq!(
        (s.kind, s.mode, s.uid, s.gid),
        (EntryKind::Dir, 0o700, 1234, 5678)
    );
    assert_eq!(get("/secret/s").mode, 0o600);
    // /opq was removed and recreated in one RUN. On an overlay2 daemon the
    // layer carries `.wh..wh..opq`; on this daemon's fuse-overlayfs driver
    // the committed layer may carry per-file whiteouts or, sometimes, no
    // marker at all (the old files come back in the image). Either way the
    // comparison above proves the save view equals the container's view.
    assert!(img.get("/opq/new").is_some());
    assert_eq!(get("/d").kind, EntryKind::File);
    assert_eq!(get("/f").kind, EntryKind::Dir);
    assert_eq!(get("/f").mode, 0o1777);
    assert_eq!(get("/fifo").kind, EntryKind::Fifo);
    assert_eq!(get("/chardev").kind, EntryKind::Char);
    assert_eq!(get("/blockdev").kind, EntryKind::Block);
    assert!(img.get("/etc/conf.d/a").is_none());
    assert!(img.get("/bin/vi").is_none());
    assert_eq!(get("/bin/sh").kind, EntryKind::Symlink);
    assert_eq!(img.resolve("/bin/sh").unwrap().path, "/bin/busybox");
    assert_eq!(img.resolve("/etc/rel-link").unwrap().mode, 0o4755);
    assert_eq!(img.resolve("/abs-link").unwrap().path, "/bin/busybox");
    assert!(img.glob("/bin/*").len() > 200);
    assert_eq!(img.glob("/**/f.txt").len(), 1);

    // Wanted contents: topmost versions.
    assert_eq!(img.content("/etc/passwd"), Some(PASSWD.as_bytes()));
    assert_eq!(
        img.content("/etc/group"),
        Some(format!("{GROUP}x:x:42:\n").as_bytes())
    );
    assert_eq!(img.content("/etc/conf.d/b"), Some(&b"new\n"[..]));
    assert_eq!(img.content("/small.txt"), Some(&b"setuid me\n"[..]));
    // small.txt and small-hardlink are one inode; the layer stores the data
    // under "small-hardlink" (first in tar order) and "small.txt" as a
    // hardlink to it, which gets its target's content.
    assert_eq!(get("/small.txt").kind, EntryKind::Hardlink);
    assert_eq!(
        get("/small.txt").link_target.as_deref(),
        Some("/small-hardlink")
    );
    assert_eq!(img.content("/small-hardlink"), Some(&b"setuid me\n"[..]));
    assert_eq!(img.content("/bin/busybox"), None);
    let users = Users::parse_bytes(
        img.content("/etc/passwd").unwrap(),
        img.content("/etc/group").unwrap(),
    );
    assert_eq!(users.uid_of("appuser"), Some(1000));
    assert_eq!(users.group_name(42), Some("x"));
    assert_eq!(users.user_name(f.uid as u32), Some("appuser"));

    // The save stream really carries the deleted 20 MB file.
    let mut child = spawn_docker(&["save", &tag]);
    let mut n = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    let mut stdout = child.stdout.take().unwrap();
    loop {
        let k = stdout.read(&mut buf).unwrap();
        if k == 0 {
            break;
        }
        n += k as u64;
    }
    child.wait().unwrap();
    eprintln!("docker save stream: {n} bytes");
    assert!(n > 20 << 20);
}

// ---------------------------------------------------------------------------
// A hand-made image with an explicit opaque whiteout, loaded with
// `docker load`, so that `.wh..wh..opq` is exercised against the daemon.
// ---------------------------------------------------------------------------

fn hdr(kind: tar::EntryType, mode: u32, uid: u64, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(uid);
    h.set_gid(uid);
    h.set_size(size);
    h.set_mtime(1_700_000_000);
    h
}

fn layer(entries: &[(&str, tar::EntryType, u32, u64, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, kind, mode, uid, data) in entries {
        let mut h = hdr(*kind, *mode, *uid, data.len() as u64);
        if kind.is_symlink() || kind.is_hard_link() {
            h.set_size(0);
            b.append_link(&mut h, name, data).unwrap();
        } else {
            b.append_data(&mut h, name, data.as_bytes()).unwrap();
        }
    }
    b.into_inner().unwrap()
}

fn sha256_hex(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn loaded_image_with_opaque_whiteouts_matches_export() {
    require_docker();
    use tar::EntryType as T;
    let l1 = layer(&[
        ("opq/", T::Directory, 0o755, 0, ""),
        ("opq/old1", T::Regular, 0o644, 0, "old"),
        ("opq/sub/", T::Directory, 0o755, 0, ""),
        ("opq/sub/old2", T::Regular, 0o644, 0, "old"),
        ("keep", T::Regular, 0o644, 0, "k"),
        ("dir2/", T::Directory, 0o755, 0, ""),
        ("dir2/x", T::Regular, 0o644, 0, "x"),
        ("file2dir", T::Regular, 0o644, 0, "f"),
        ("etc/", T::Directory, 0o755, 0, ""),
        (
            "etc/passwd",
            T::Regular,
            0o644,
            0,
            "root:x:0:0::/:/bin/sh\n",
        ),
    ]);
    let l2 = layer(&[
        ("opq/", T::Directory, 0o750, 7, ""),
        ("opq/.wh..wh..opq", T::Regular, 0o644, 0, ""),
        ("opq/new", T::Regular, 0o600, 7, "new"),
        (".wh.dir2", T::Regular, 0o644, 0, ""),
        ("file2dir/", T::Directory, 0o711, 0, ""),
        ("file2dir/in", T::Regular, 0o644, 0, "in"),
        ("etc/", T::Directory, 0o755, 0, ""),
        (
            "etc/passwd",
            T::Regular,
            0o644,
            0,
            "root:x:0:0::/:/bin/sh\napp:x:1:1::/:/bin/sh\n",
        ),
        ("etc/passwd-", T::Link, 0o644, 0, "etc/passwd"),
    ]);
    let tmp = TempDir::new("load");
    let mut diff_ids = Vec::new();
    for (i, l) in [&l1, &l2].iter().enumerate() {
        let p = tmp.path().join(format!("l{i}.tar"));
        fs::write(&p, l).unwrap();
        diff_ids.push(format!("\"sha256:{}\"", sha256_hex(&p)));
    }
    let tag = unique_tag("loaded");
    let config = format!(
        "{{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{{\"Labels\":{{\"dspec.imagefs-dev\":\"1\"}}}},\
         \"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[{}]}}}}",
        diff_ids.join(",")
    );
    let manifest = format!(
        "[{{\"Config\":\"config.json\",\"RepoTags\":[\"{tag}\"],\"Layers\":[\"l0/layer.tar\",\"l1/layer.tar\"]}}]"
    );
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in [
        ("l0/layer.tar", &l1[..]),
        ("l1/layer.tar", &l2[..]),
        ("config.json", config.as_bytes()),
        ("manifest.json", manifest.as_bytes()),
    ] {
        let mut h = hdr(T::Regular, 0o644, 0, data.len() as u64);
        b.append_data(&mut h, name, data).unwrap();
    }
    let archive = tmp.path().join("image.tar");
    fs::write(&archive, b.into_inner().unwrap()).unwrap();

    let mut cleanup = DockerCleanup::default();
    cleanup.images.push(tag.clone());
    let out = std::process::Command::new("docker")
        .args(["load", "-q", "-i"])
        .arg(&archive)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "docker load: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Our reader: first on the archive we loaded, then on `docker save`.
    let want = |p: &str| p.starts_with("/etc/");
    let ours_direct =
        layers::read_saved_image(fs::File::open(&archive).unwrap(), &want, 4096).unwrap();
    let mut child = spawn_docker(&["save", &tag]);
    let ours = layers::read_saved_image(child.stdout.take().unwrap(), &want, 4096).unwrap();
    assert!(child.wait().unwrap().success());
    let view = |fs: &layers::ImageFs| {
        fs.iter()
            .filter(|e| e.path != "/")
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        view(&ours_direct),
        view(&ours),
        "save round-trip changed the view"
    );

    let names: Vec<&str> = ours.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "/",
            "/etc",
            "/etc/passwd",
            "/etc/passwd-",
            "/file2dir",
            "/file2dir/in",
            "/keep",
            "/opq",
            "/opq/new"
        ]
    );
    let opq = ours.get("/opq").unwrap();
    assert_eq!((opq.mode, opq.uid), (0o750, 7));
    assert_eq!(ours.content("/etc/passwd-"), ours.content("/etc/passwd"));

    let cid = create(&tag, &mut cleanup);
    let exported = export_view(&cid);
    let theirs: Vec<FsEntry> = exported
        .into_iter()
        .filter(|(p, _)| !is_init_layer(p))
        .map(|(_, e)| e)
        .collect();
    assert_eq!(view(&ours), theirs);
}
