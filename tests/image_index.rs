//! The image index (`imagefs::index`, `imagefs::loader`) against real images built FROM scratch:
//! packages, accounts and access on an image with no shell (`tests/fixtures/eco`); access
//! compared with what the kernel says inside a busybox container; every file's SHA-256
//! compared with `docker export`; history and diff ids compared with `docker history` and
//! `docker inspect`; contents through symlinked directories and hard links (issue 11, item 12),
//! from the layers, from the cache, and through the archive endpoint; a corrupt cache rebuilt.

#[path = "imagefs_common/mod.rs"]
mod fx;

use fx::shared as common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, OnceLock};

use dspec::engine::docker::{self, DockerApi};
use dspec::engine::imagefs::access::Access;
use dspec::engine::imagefs::cache::Cache;
use dspec::engine::imagefs::ecosystems::Ecosystem;
use dspec::engine::imagefs::loader::{self, LoadedImage, Source};
use dspec::engine::imagefs::sha256;
use dspec::engine::imagefs::tree::EntryKind;

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nappuser:x:1000:1000::/home/appuser:/bin/sh\nother:x:2000:2000::/:/bin/sh\n";
const GROUP: &str = "root:x:0:\nappuser:x:1000:\nother:x:2000:\nstaff:x:50:appuser\n";
const HOSTS: &str = "127.0.0.1 the-image-s-own-hosts-file\n";

/// busybox + links and modes for the access matrix; `USER appuser`.
const BUSY: &str = r#"FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY etc/passwd etc/group /etc/
COPY hosts /etc/hosts
RUN mkdir -p /real /opt/deep/dir && echo hi > /real/x && ln -s /real /link && ln -s ../real/x /rel \
 && ln -s /opt/deep/../deep/dir /abs && echo deep > /opt/deep/dir/f && ln -s /../../../real/x /escape \
 && echo data > /t && ln /t /zhl && ln -s loop2 /loop1 && ln -s loop1 /loop2
RUN mkdir -p /m/secret /m/pub /m/grp /m/g2 /m/dirnox /m/sticky \
 && echo s > /m/secret/s && chmod 700 /m/secret && chmod 644 /m/secret/s \
 && for f in r x nox w ownonly nored setuid; do echo $f > /m/pub/$f; done \
 && chmod 644 /m/pub/r && chmod 755 /m/pub/x && chmod 644 /m/pub/nox && chmod 666 /m/pub/w \
 && chown 1000:1000 /m/pub/ownonly && chmod 600 /m/pub/ownonly \
 && chown 1000:0 /m/pub/nored && chmod 044 /m/pub/nored && chmod 4711 /m/pub/setuid \
 && echo g > /m/grp/f && chown -R 0:50 /m/grp && chmod 770 /m/grp && chmod 660 /m/grp/f \
 && echo g2 > /m/g2/f && chown 0:1000 /m/g2/f && chmod 640 /m/g2/f && chmod 710 /m/g2 \
 && echo f > /m/dirnox/f && chmod 644 /m/dirnox/f && chmod 600 /m/dirnox \
 && chmod 1777 /m/sticky && ln -s /m/secret/s /m/lnk && ln -s pub/x /m/xlink
USER appuser
"#;

const DERIVED: &str =
    "USER root\nENV STAGE=derived\nRUN echo more > /more\nUSER other\nCMD [\"sh\"]\n";

struct Images {
    busy: String,
    derived: String,
    eco: String,
}

/// The test images, built once per process and removed when it exits.
fn images() -> &'static Images {
    static IMAGES: OnceLock<Images> = OnceLock::new();
    IMAGES.get_or_init(|| {
        common::require_docker();
        let fixtures = common::fixtures_dir();
        let tmp = fx::TempDir::new("index");
        let dir = tmp.path();
        fs::copy(fixtures.join("app/busybox"), dir.join("busybox")).unwrap();
        fs::create_dir_all(dir.join("etc")).unwrap();
        fs::write(dir.join("etc/passwd"), PASSWD).unwrap();
        fs::write(dir.join("etc/group"), GROUP).unwrap();
        fs::write(dir.join("hosts"), HOSTS).unwrap();
        fs::write(dir.join("Dockerfile"), BUSY).unwrap();
        let mut cleanup = fx::DockerCleanup::default();
        let busy = fx::unique_tag("busy");
        fx::build_dir(dir, &dir.join("Dockerfile"), &busy, false, &mut cleanup);
        fs::write(
            dir.join("Dockerfile.derived"),
            format!("FROM {busy}\n{DERIVED}"),
        )
        .unwrap();
        let derived = fx::unique_tag("derived");
        fx::build_dir(
            dir,
            &dir.join("Dockerfile.derived"),
            &derived,
            false,
            &mut cleanup,
        );
        let eco = fx::unique_tag("eco");
        let eco_dir = fixtures.join("eco");
        fx::build_dir(
            &eco_dir,
            &eco_dir.join("Dockerfile"),
            &eco,
            false,
            &mut cleanup,
        );
        // Statics are never dropped: the images go when the test process exits.
        register_exit_cleanup(std::mem::take(&mut cleanup.images));
        drop(tmp);
        Images { busy, derived, eco }
    })
}

// libtest has no hook after the last test: the C runtime's `atexit` is the one place to remove
// the images the tests of this process share.
#[allow(unsafe_code)]
fn register_exit_cleanup(tags: Vec<String>) {
    extern "C" fn remove_images() {
        if let Some(tags) = EXIT_TAGS.get() {
            for t in tags {
                let _ = Command::new("docker").args(["rmi", "-f", t]).output();
            }
        }
    }
    static EXIT_TAGS: OnceLock<Vec<String>> = OnceLock::new();
    let _ = EXIT_TAGS.set(tags);
    unsafe extern "C" {
        fn atexit(f: extern "C" fn()) -> i32;
    }
    // SAFETY: registering a plain function with the C runtime.
    unsafe {
        atexit(remove_images);
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn engine() -> Arc<dyn DockerApi> {
    Arc::new(docker::connect(None).await.expect("connects to the engine"))
}

fn labels() -> BTreeMap<String, String> {
    [("dspec.imagefs-dev".to_string(), "1".to_string())].into()
}

fn image_id(tag: &str) -> String {
    let out = Command::new("docker")
        .args(["image", "inspect", "-f", "{{.Id}}", tag])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn docker_lines(args: &[&str]) -> Vec<String> {
    let out = Command::new("docker").args(args).output().unwrap();
    assert!(out.status.success(), "docker {args:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Loads an image's index with a cache in `cache_dir`.
async fn load(
    api: &Arc<dyn DockerApi>,
    tag: &str,
    wanted: &[&str],
    cache_dir: &Path,
) -> LoadedImage {
    let labels = labels();
    let eng = loader::Engine {
        api,
        labels: &labels,
    };
    let wanted: BTreeSet<String> = wanted.iter().map(|s| s.to_string()).collect();
    loader::load(&eng, &image_id(tag), &wanted, Some(Cache::at(cache_dir)))
        .await
        .unwrap()
}

async fn content(
    api: &Arc<dyn DockerApi>,
    img: &LoadedImage,
    path: &str,
) -> Result<String, String> {
    let labels = labels();
    let eng = loader::Engine {
        api,
        labels: &labels,
    };
    img.content(&eng, path)
        .await
        .map(|c| String::from_utf8_lossy(&c).into_owned())
        .map_err(|e| e.to_string())
}

#[test]
fn packages_accounts_and_access_on_an_image_without_a_shell() {
    let imgs = images();
    let cache = fx::TempDir::new("cache-eco");
    rt().block_on(async {
        let api = engine().await;
        let img = load(&api, &imgs.eco, &[], cache.path()).await;
        let idx = &img.index;
        assert!(
            idx.fs().get("/bin/sh").is_none(),
            "the eco image has no shell"
        );

        // pip: dist-info, egg-info directory and file, dist-packages; no vendored copies.
        assert_eq!(
            idx.package_names(Ecosystem::Pip),
            vec![
                "PyYAML",
                "fastapi",
                "legacy-dist",
                "six",
                "typing_extensions",
                "uvicorn",
                "zope.interface"
            ]
        );
        let pip = |n: &str| idx.package(n, Ecosystem::Pip).map(|p| p.version.clone());
        assert_eq!(pip("fastapi").as_deref(), Some("0.110.0"));
        assert_eq!(pip("pyyaml").as_deref(), Some("6.0.1"));
        assert_eq!(pip("Typing-Extensions").as_deref(), Some("4.12.2"));
        assert_eq!(pip("zope-interface").as_deref(), Some("6.4"));
        assert_eq!(pip("legacy_dist").as_deref(), Some("1.2"));
        assert_eq!(pip("uvicorn").as_deref(), Some("0.30.1"));
        assert_eq!(pip("packaging"), None);
        // npm: scoped, nested; the top-level copy answers `package`.
        assert_eq!(
            idx.package_names(Ecosystem::Npm),
            vec!["@types/node", "debug", "express"]
        );
        let debug = idx.package("debug", Ecosystem::Npm).unwrap();
        assert_eq!(debug.version, "4.3.5");
        assert_eq!(debug.path, "/app/node_modules/debug/package.json");
        assert_eq!(
            idx.packages(Ecosystem::Npm)
                .iter()
                .filter(|p| p.name == "debug")
                .count(),
            2
        );
        assert_eq!(
            idx.package("@types/node", Ecosystem::Npm).unwrap().version,
            "20.14.9"
        );
        assert!(idx.package("nodemon", Ecosystem::Npm).is_none());
        assert!(idx.package_names(Ecosystem::Os).is_empty());

        // accounts and groups
        let a = idx.account("appuser").unwrap();
        assert_eq!((a.uid, a.gid), (1000, 1000));
        assert_eq!(a.home, "/home/appuser");
        assert_eq!(a.shell, "/usr/sbin/nologin");
        assert_eq!(a.groups, vec!["appuser", "staff"]);
        assert!(idx.account("nobody").is_none());
        assert_eq!(idx.group("staff").unwrap().members, vec!["appuser"]);
        assert_eq!(idx.group("shadow").unwrap().gid, 42);

        // sha256 (the language page's example)
        assert_eq!(
            idx.sha256("/model.bin").unwrap().as_deref(),
            Some("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
        );
        assert_eq!(idx.sha256("/app").unwrap(), None);
        assert!(idx.sha256("/nope").is_err());

        // access as the image's USER (appuser, in staff through /etc/group)
        assert_eq!(idx.user(), "appuser");
        let me = idx.image_user().unwrap();
        assert_eq!(me.sgids, vec![50]);
        let can =
            |u: &dspec::engine::imagefs::users::ExecUser, p: &str, a| idx.access(p, u, a).unwrap();
        assert!(can(&me, "/app/run.sh", Access::Exec));
        assert!(!can(&me, "/app/tool", Access::Exec));
        assert!(can(&me, "/app/data", Access::Write));
        assert!(can(&me, "/app/data/f", Access::Write));
        assert!(!can(&me, "/etc/shadow", Access::Read));
        assert!(!can(&me, "/secret/key", Access::Read));
        assert!(can(&me, "/model.bin", Access::Read));
        assert!(!can(&me, "/model.bin", Access::Write));
        // an explicit group drops the supplementary groups
        let explicit = idx.exec_user("1000:1000").unwrap();
        assert!(!can(&explicit, "/app/run.sh", Access::Exec));
        let root = idx.exec_user("").unwrap();
        assert!(can(&root, "/etc/shadow", Access::Read));
        assert!(can(&root, "/secret/key", Access::Write));
        assert!(!can(&root, "/app/tool", Access::Exec));

        // history and layers, against the CLI
        let mut cli_history = docker_lines(&[
            "history",
            "--no-trunc",
            "--format",
            "{{.CreatedBy}}",
            &imgs.eco,
        ]);
        cli_history.reverse();
        assert_eq!(idx.created_by(), cli_history);
    });
}

#[test]
fn history_diff_ids_and_based_on_match_the_engine() {
    let imgs = images();
    let cache = fx::TempDir::new("cache-hist");
    rt().block_on(async {
        let api = engine().await;
        let busy = load(&api, &imgs.busy, &[], cache.path()).await;
        let derived = load(&api, &imgs.derived, &[], cache.path()).await;
        let eco = load(&api, &imgs.eco, &[], cache.path()).await;
        for (tag, img) in [(&imgs.busy, &busy), (&imgs.derived, &derived)] {
            let mut cli =
                docker_lines(&["history", "--no-trunc", "--format", "{{.CreatedBy}}", tag]);
            cli.reverse();
            assert_eq!(img.index.created_by(), cli, "{tag}");
            let layers = docker_lines(&["image", "inspect", "-f", "{{json .RootFS.Layers}}", tag]);
            let layers: Vec<String> = serde_json::from_str(&layers[0]).unwrap();
            assert_eq!(img.index.diff_ids(), layers, "{tag}");
            // `based_on` needs no layer read: inspect has the same diff ids.
            let info = api.inspect_image(tag).await.unwrap().unwrap();
            assert_eq!(info.diff_ids, layers, "{tag}");
        }
        assert!(
            derived
                .index
                .created_by()
                .iter()
                .any(|s| s.contains("ENV STAGE=derived")),
            "metadata-only steps are listed: {:?}",
            derived.index.created_by()
        );
        assert!(derived.index.based_on(busy.index.diff_ids()));
        assert!(busy.index.based_on(busy.index.diff_ids()));
        assert!(!busy.index.based_on(derived.index.diff_ids()));
        assert!(!eco.index.based_on(busy.index.diff_ids()));
        assert_eq!(derived.index.user(), "other");
    });
}

/// One container per user spec, running busybox `test` over every path of the access matrix.
fn kernel_says(image: &str, user: &str, paths: &[String]) -> HashMap<String, [bool; 3]> {
    let script = r#"for p in "$@"; do r=0; w=0; x=0; test -r "$p" && r=1; test -w "$p" && w=1; test -x "$p" && x=1; echo "$r$w$x $p"; done"#;
    let mut cmd = Command::new("docker");
    cmd.args(["run", "--rm", "--label", fx::LABEL, "--network", "none"]);
    cmd.args([
        "--user",
        user,
        "--entrypoint",
        "/bin/sh",
        image,
        "-c",
        script,
        "sh",
    ]);
    cmd.args(paths);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "docker run --user {user}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let (bits, p) = l.split_once(' ').unwrap();
            let b: Vec<bool> = bits.chars().map(|c| c == '1').collect();
            (p.to_string(), [b[0], b[1], b[2]])
        })
        .collect()
}

#[test]
fn access_matches_the_kernel() {
    let imgs = images();
    let cache = fx::TempDir::new("cache-access");
    rt().block_on(async {
        let api = engine().await;
        let img = load(&api, &imgs.busy, &[], cache.path()).await;
        let idx = &img.index;
        let mut paths: Vec<String> = idx
            .fs()
            .iter()
            .filter(|e| e.path.starts_with("/m/"))
            .map(|e| e.path.clone())
            .collect();
        paths.extend([
            "/m".into(),
            "/m/secret/missing".into(),
            "/bin/busybox".into(),
        ]);
        let mut compared = 0;
        for spec in [
            "",
            "appuser",
            "1000",
            "1000:1000",
            "appuser:staff",
            "other",
            "2000",
            "3000:50",
        ] {
            let user = idx.exec_user(spec).unwrap();
            let kernel = kernel_says(&imgs.busy, if spec.is_empty() { "0" } else { spec }, &paths);
            for p in &paths {
                let ours: Vec<bool> = [Access::Read, Access::Write, Access::Exec]
                    .into_iter()
                    .map(|a| idx.access(p, &user, a).unwrap_or(false))
                    .collect();
                let theirs = kernel[p];
                for (i, a) in ["read", "write", "exec"].iter().enumerate() {
                    // busybox `test -x` asks root for an x bit on directories too, where the
                    // kernel lets root search any directory: that one case is not compared.
                    let is_dir = idx
                        .fs()
                        .resolve(p)
                        .is_some_and(|e| e.kind == EntryKind::Dir);
                    if user.uid == 0 && i == 2 && is_dir {
                        continue;
                    }
                    assert_eq!(ours[i], theirs[i], "user {spec:?}, {a} {p}");
                    compared += 1;
                }
            }
        }
        assert!(compared > 300, "{compared}");
    });
}

#[test]
fn every_file_hash_matches_the_export() {
    let imgs = images();
    let cache = fx::TempDir::new("cache-sha");
    rt().block_on(async {
        let api = engine().await;
        let img = load(&api, &imgs.busy, &[], cache.path()).await;
        let mut cleanup = fx::DockerCleanup::default();
        let cid = fx::create(&imgs.busy, &mut cleanup);
        let mut child = fx::spawn_docker(&["export", &cid]);
        let mut ar = tar::Archive::new(child.stdout.take().unwrap());
        let mut exported: HashMap<String, [u8; 32]> = HashMap::new();
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            let path = format!(
                "/{}",
                e.path().unwrap().to_string_lossy().trim_end_matches('/')
            );
            let et = e.header().entry_type();
            if et.is_file() {
                let mut data = Vec::new();
                std::io::Read::read_to_end(&mut e, &mut data).unwrap();
                exported.insert(path, sha256::digest(&data));
            } else if et.is_hard_link() {
                let t = format!("/{}", e.link_name().unwrap().unwrap().to_string_lossy());
                let sha = exported[&t];
                exported.insert(path, sha);
            }
        }
        assert!(child.wait().unwrap().success());
        let mut n = 0;
        for e in img.index.fs().iter().filter(|e| e.kind.has_data()) {
            if matches!(
                e.path.as_str(),
                "/etc/hosts" | "/etc/hostname" | "/etc/resolv.conf"
            ) {
                continue; // masked by the container's init layer in the export
            }
            assert_eq!(e.sha256.as_ref(), exported.get(&e.path), "{}", e.path);
            n += 1;
        }
        assert!(n >= 15, "{n}");
        assert_eq!(
            img.index.sha256("/etc/hosts").unwrap().unwrap(),
            sha256::hex(&sha256::digest(HOSTS.as_bytes()))
        );
    });
}

#[test]
fn contents_through_links_from_layers_cache_and_engine() {
    let imgs = images();
    let cache = fx::TempDir::new("cache-links");
    let wanted = ["/link/x", "/rel", "/zhl", "/abs/f", "/escape", "/etc/hosts"];
    rt().block_on(async {
        let api = engine().await;
        // First run: read from the layers; the wanted paths resolve through links.
        let first = load(&api, &imgs.busy, &wanted, cache.path()).await;
        assert_eq!(first.source, Source::Layers);
        let expect = [
            ("/link/x", "hi\n"),
            ("/rel", "hi\n"),
            ("/zhl", "data\n"),
            ("/t", "data\n"),
            ("/abs/f", "deep\n"),
            ("/escape", "hi\n"),
            ("/etc/hosts", HOSTS),
        ];
        for (p, want) in expect {
            assert_eq!(
                content(&api, &first, p).await.as_deref(),
                Ok(want),
                "{p} (layers)"
            );
        }
        // Second run: from the cache, contents on demand (archive endpoint; /etc/hosts is
        // masked there by the init layer, so it comes from the layers again).
        let second = load(&api, &imgs.busy, &[], cache.path()).await;
        assert_eq!(second.source, Source::Cache);
        for (p, want) in expect {
            assert_eq!(
                content(&api, &second, p).await.as_deref(),
                Ok(want),
                "{p} (cache)"
            );
        }
        // Errors say why.
        let loop_err = content(&api, &second, "/loop1").await.unwrap_err();
        assert!(
            loop_err.contains("too many levels of symbolic links"),
            "{loop_err}"
        );
        let dir_err = content(&api, &second, "/link").await.unwrap_err();
        assert!(dir_err.contains("is a directory"), "{dir_err}");
        let missing = content(&api, &second, "/link/nope").await.unwrap_err();
        assert!(missing.contains("does not exist"), "{missing}");
        // The contents read are kept as blobs named by their SHA-256.
        let blob = Cache::at(cache.path()).load_blob(&sha256::digest(b"hi\n"));
        assert_eq!(blob.as_deref(), Some(&b"hi\n"[..]));
    });
}

#[test]
fn a_corrupt_or_truncated_cache_is_rebuilt() {
    let imgs = images();
    let cache = fx::TempDir::new("cache-corrupt");
    rt().block_on(async {
        let api = engine().await;
        let first = load(&api, &imgs.busy, &[], cache.path()).await;
        let path = Cache::at(cache.path()).index_path(first.index.id());
        let good = fs::read(&path).unwrap();
        for bad in [
            good[..good.len() / 2].to_vec(),
            {
                let mut b = good.clone();
                let i = b.len() - 40;
                b[i] ^= 1;
                b
            },
            b"garbage".to_vec(),
        ] {
            fs::write(&path, &bad).unwrap();
            let again = load(&api, &imgs.busy, &[], cache.path()).await;
            assert_eq!(again.source, Source::Layers);
            assert_eq!(again.index.fs().len(), first.index.fs().len());
            assert_eq!(fs::read(&path).unwrap(), good, "rebuilt to the same bytes");
        }
        let cached = load(&api, &imgs.busy, &[], cache.path()).await;
        assert_eq!(cached.source, Source::Cache);
        let a: Vec<_> = first.index.fs().iter().cloned().collect();
        let b: Vec<_> = cached.index.fs().iter().cloned().collect();
        assert_eq!(a, b);
    });
}

/// `dspec check` end to end: `content` through a symlinked directory, a relative symlink and
/// a hard link whose target came first in the layer (these failed with "a directory, or over
/// 16MiB"), on the first run (layers) and the second (cache).
#[test]
fn dspec_check_reads_contents_through_links() {
    let imgs = images();
    let cache = fx::TempDir::new("cache-cli");
    let dir = fx::TempDir::new("spec-links");
    let spec = dir.path().join("links.dspec");
    fs::write(
        &spec,
        format!(
            "image img = existing \"{}\"\n\
             expect img.file(\"/link/x\").content == \"hi\\n\"\n\
             expect img.file(\"/rel\").content == \"hi\\n\"\n\
             expect img.file(\"/zhl\").content == \"data\\n\"\n\
             expect img.file(\"/abs/f\").content == \"deep\\n\"\n\
             expect img.file(\"/link\").type == \"symlink\"\n\
             expect img.file(\"/link/x\").type == \"file\"\n\
             expect img.file(\"/loop1\").exists\n",
            imgs.busy
        ),
    )
    .unwrap();
    for run in ["first (layers)", "second (cache)"] {
        let out = Command::new(env!("CARGO_BIN_EXE_dspec"))
            .args(["check", "--color", "never"])
            .arg(&spec)
            .env("DSPEC_CACHE_DIR", cache.path())
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(0), "{run}: {all}");
        assert!(all.contains("7 passed, 0 failed"), "{run}: {all}");
    }
    let indexes = fs::read_dir(cache.path().join("images")).unwrap().count();
    assert_eq!(indexes, 1);
}

fn tar_layer(entries: &[(&str, tar::EntryType, u32, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, kind, mode, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(*kind);
        h.set_mode(*mode);
        h.set_mtime(1_700_000_000);
        if kind.is_symlink() || kind.is_hard_link() {
            h.set_size(0);
            b.append_link(&mut h, name, data).unwrap();
        } else {
            h.set_size(data.len() as u64);
            b.append_data(&mut h, name, data.as_bytes()).unwrap();
        }
    }
    b.into_inner().unwrap()
}

/// A crafted image (`docker load`): a hard link whose target came earlier in the same layer
/// under a name nobody asked for, symlinked directories with relative and absolute targets,
/// `..` that would climb out of the root, a link replaced in a later layer, a loop.
#[test]
fn crafted_links_resolve_inside_the_image() {
    common::require_docker();
    use tar::EntryType as T;
    let l1 = tar_layer(&[
        ("data/", T::Directory, 0o755, ""),
        ("data/a-target", T::Regular, 0o644, "target bytes"),
        ("data/z-hardlink", T::Link, 0o644, "data/a-target"),
        ("data/sub/", T::Directory, 0o755, ""),
        ("data/sub/f", T::Regular, 0o644, "sub f"),
        ("lnk", T::Symlink, 0o777, "data"),
        ("up", T::Symlink, 0o777, "data/sub/../.."),
        ("out", T::Symlink, 0o777, "/../../../../data/sub"),
        ("moved", T::Symlink, 0o777, "data/sub"),
        ("l1", T::Symlink, 0o777, "l2"),
        ("l2", T::Symlink, 0o777, "/l1"),
    ]);
    let l2 = tar_layer(&[
        // `moved` now points elsewhere: the upper layer's link counts.
        ("moved", T::Symlink, 0o777, "/data"),
    ]);
    let tmp = fx::TempDir::new("crafted");
    let mut diff_ids = Vec::new();
    for l in [&l1, &l2] {
        diff_ids.push(format!("\"sha256:{}\"", sha256::hex(&sha256::digest(l))));
    }
    let tag = fx::unique_tag("crafted");
    let config = format!(
        "{{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{{\"Labels\":{{\"dspec.imagefs-dev\":\"1\"}}}},\
         \"history\":[{{\"created_by\":\"layer one\"}},{{\"created_by\":\"layer two\"}}],\
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
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        b.append_data(&mut h, name, data).unwrap();
    }
    let archive = tmp.path().join("image.tar");
    fs::write(&archive, b.into_inner().unwrap()).unwrap();
    let mut cleanup = fx::DockerCleanup::default();
    cleanup.images.push(tag.clone());
    let out = Command::new("docker")
        .args(["load", "-q", "-i"])
        .arg(&archive)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let cache = fx::TempDir::new("cache-crafted");
    let wanted = [
        "/data/z-hardlink",
        "/lnk/sub/f",
        "/up/lnk/a-target",
        "/out/f",
        "/moved/a-target",
    ];
    rt().block_on(async {
        let api = engine().await;
        for run in 0..2 {
            let img = load(&api, &tag, &wanted, cache.path()).await;
            assert_eq!(img.source, [Source::Layers, Source::Cache][run]);
            assert_eq!(img.index.created_by(), vec!["layer one", "layer two"]);
            let c = |p: &'static str| {
                let api = api.clone();
                let img = &img;
                async move { content(&api, img, p).await }
            };
            assert_eq!(c("/data/z-hardlink").await.as_deref(), Ok("target bytes"));
            assert_eq!(c("/lnk/z-hardlink").await.as_deref(), Ok("target bytes"));
            assert_eq!(c("/lnk/sub/f").await.as_deref(), Ok("sub f"));
            assert_eq!(c("/up/lnk/a-target").await.as_deref(), Ok("target bytes"));
            assert_eq!(c("/out/f").await.as_deref(), Ok("sub f"));
            assert_eq!(c("/moved/a-target").await.as_deref(), Ok("target bytes"));
            let e = c("/l1").await.unwrap_err();
            assert!(e.contains("too many levels"), "{e}");
            assert_eq!(
                img.index.sha256("/data/z-hardlink").unwrap(),
                img.index.sha256("/data/a-target").unwrap()
            );
        }
    });
}
