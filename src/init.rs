//! `dspec init --from-image REF`: a starting spec written from what an
//! image is (metadata from the engine, files from its layers; no shell
//! needed), that passes against that image as written.

use std::fmt::Write;
use std::time::Duration;

use crate::ast::escape_str;
use crate::diag::Code;
use crate::engine::docker::ImageInfo;
use crate::engine::imagefs::{layers, packages, users};
use crate::exit_code;

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    let _ = escape_str(s, &mut out);
    out.push('"');
    out
}

fn list(items: &[String]) -> String {
    format!(
        "[{}]",
        items
            .iter()
            .map(|i| quote(i))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(60_000) && ms > 0 {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// A size budget with headroom: 20% more, rounded up to a whole MB.
fn budget(bytes: u64) -> String {
    let mb = (bytes as f64 * 1.2 / 1e6).ceil().max(1.0) as u64;
    format!("{mb}MB")
}

/// The spec text for an image.
pub fn spec_for(reference: &str, info: &ImageInfo, fs: &layers::ImageFs) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Written by `dspec init --from-image {reference}`: what the image is today."
    );
    let _ = writeln!(
        s,
        "# Review it, keep what your story needs, and tighten the budgets."
    );
    let _ = writeln!(s, "story \"TODO\" \"{}\"\n", reference.replace('"', ""));
    let _ = writeln!(s, "image app = existing {}\n", quote(reference));

    let _ = writeln!(
        s,
        "criterion metadata \"The image is configured as expected\" {{"
    );
    let _ = writeln!(
        s,
        "  expect app.size < {}  # now {} bytes",
        budget(info.size),
        info.size
    );
    let _ = writeln!(s, "  expect app.layers <= {}", info.layers);
    let _ = writeln!(s, "  expect app.user == {}", quote(&info.user));
    let u = users::Users::parse_bytes(
        fs.content("/etc/passwd").unwrap_or_default(),
        fs.content("/etc/group").unwrap_or_default(),
    );
    let ids = if info.user.is_empty() {
        Some((0, 0))
    } else {
        u.resolve_user_spec(&info.user)
    };
    match ids {
        Some((uid, gid)) => {
            let _ = writeln!(s, "  expect app.uid == {uid}");
            let _ = writeln!(s, "  expect app.gid == {gid}");
            if uid == 0 {
                let _ = writeln!(
                    s,
                    "  # runs as root: most stories want `expect app.uid != 0`"
                );
            }
        }
        None => {
            let _ = writeln!(
                s,
                "  # the user is not in the image's /etc/passwd, so uid/gid cannot be checked"
            );
        }
    }
    if info.exposed_ports.is_empty() {
        let _ = writeln!(s, "  expect app.ports is empty");
    } else {
        let _ = writeln!(s, "  expect app.ports == {}", list(&info.exposed_ports));
    }
    for (k, v) in &info.env {
        if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && k.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        {
            let _ = writeln!(s, "  expect app.env.{k} == {}", quote(v));
        }
    }
    for (k, v) in &info.labels {
        if k == "dspec.run" {
            continue;
        }
        let _ = writeln!(s, "  expect app.labels[{}] == {}", quote(k), quote(v));
    }
    let _ = writeln!(
        s,
        "  expect app.entrypoint == {}",
        list(info.entrypoint.as_deref().unwrap_or_default())
    );
    let _ = writeln!(
        s,
        "  expect app.cmd == {}",
        list(info.cmd.as_deref().unwrap_or_default())
    );
    let _ = writeln!(s, "  expect app.workdir == {}", quote(&info.working_dir));
    let _ = writeln!(s, "  expect app.os == {}", quote(&info.os));
    let _ = writeln!(s, "  expect app.arch == {}", quote(&info.arch));
    match &info.healthcheck {
        Some(h) => {
            let _ = writeln!(s, "  expect app.healthcheck.test == {}", list(&h.test));
            if let Some(i) = h.interval {
                let _ = writeln!(s, "  expect app.healthcheck.interval == {}", duration(i));
            }
            if let Some(r) = h.retries {
                let _ = writeln!(s, "  expect app.healthcheck.retries == {r}");
            }
        }
        None => {
            let _ = writeln!(
                s,
                "  # no HEALTHCHECK: a container of this image can only be checked as running"
            );
        }
    }
    let _ = writeln!(s, "}}\n");

    let _ = writeln!(
        s,
        "criterion files \"The filesystem holds what ships, and nothing else\" {{"
    );
    let workdir = if info.working_dir.is_empty() {
        "/"
    } else {
        info.working_dir.as_str()
    };
    if let Some(e) = fs.get(workdir) {
        let _ = writeln!(
            s,
            "  expect app.file({}).mode == 0o{:o}",
            quote(workdir),
            e.mode
        );
        match u.user_name(e.uid as u32) {
            Some(name) => {
                let _ = writeln!(
                    s,
                    "  expect app.file({}).owner == {}",
                    quote(workdir),
                    quote(name)
                );
            }
            None => {
                let _ = writeln!(s, "  expect app.file({}).uid == {}", quote(workdir), e.uid);
            }
        }
    }
    let has_shell = fs.get("/bin/sh").is_some();
    let _ = writeln!(s, "  expect app.file(\"/bin/sh\").exists == {has_shell}");
    if !has_shell {
        let _ = writeln!(
            s,
            "  # no shell: exec/run checks need the image's own binaries"
        );
    }
    let pyc = fs.glob("/**/*.pyc").len();
    let py = fs.glob("/**/*.py").len();
    if pyc > 0 && py == 0 {
        let _ = writeln!(s, "  # only bytecode ships: keep it that way");
        let _ = writeln!(s, "  expect app.files(\"/**/*.py\") is empty");
        let _ = writeln!(s, "  expect app.files(\"/**/*.pyc\") is not empty");
    } else if py > 0 {
        let _ = writeln!(
            s,
            "  # {py} .py source files ship; if only bytecode should: expect app.files(\"/**/*.py\") is empty"
        );
    }
    for p in ["/var/lib/apt/lists/*", "/root/.cache/pip/**"] {
        let n = fs.glob(p).len();
        if n == 0 {
            let _ = writeln!(s, "  expect app.files({}) is empty", quote(p));
        } else {
            let _ = writeln!(
                s,
                "  # {n} files match {p} (package caches): `expect app.files({}) is empty` would fail",
                quote(p)
            );
        }
    }
    let mut pkgs: Vec<String> = Vec::new();
    if let Some(st) = fs.content("/var/lib/dpkg/status") {
        pkgs.extend(packages::dpkg_installed(&String::from_utf8_lossy(st)));
    }
    if let Some(db) = fs.content("/lib/apk/db/installed") {
        pkgs.extend(packages::apk_installed(&String::from_utf8_lossy(db)));
    }
    for tool in ["gcc", "make", "git"] {
        if !pkgs.iter().any(|p| p == tool) {
            let _ = writeln!(s, "  expect app.packages not contains {}", quote(tool));
        }
    }
    let _ = writeln!(s, "}}");
    s
}

/// Runs `dspec init --from-image`; returns the exit code.
pub fn init(
    context: Option<&str>,
    reference: &str,
    output: Option<&std::path::Path>,
    force: bool,
) -> i32 {
    if let Some(o) = output
        && o.exists()
        && !force
    {
        crate::output::errln!(
            "error: `{}` exists; pass --force to overwrite it",
            o.display()
        );
        return exit_code::INVALID;
    }
    crate::engine::with_engine(context, |engine| async move {
        let info = match engine.inspect_image(reference).await {
            Ok(Some(i)) => i,
            Ok(None) => {
                crate::output::errln!(
                    "error[{}]: `{reference}` is not in the engine; dspec never pulls: build it or `docker load` it first",
                    Code::ImageAbsent
                );
                return exit_code::INFRA;
            }
            Err(e) => {
                crate::output::errln!("error: {e}");
                return exit_code::INFRA;
            }
        };
        let reader = match engine.save_image(&info.id).await {
            Ok(r) => r,
            Err(e) => {
                crate::output::errln!("error: cannot read the image's layers: {e}");
                return exit_code::INFRA;
            }
        };
        let fs = tokio::task::spawn_blocking(move || {
            let want = |p: &str| {
                matches!(
                    p,
                    "/etc/passwd" | "/etc/group" | "/var/lib/dpkg/status" | "/lib/apk/db/installed"
                )
            };
            layers::read_saved_image(reader, &want, 16 << 20)
        })
        .await;
        let fs = match fs {
            Ok(Ok(fs)) => fs,
            Ok(Err(e)) => {
                crate::output::errln!("error: cannot read the image's layers: {e}");
                return exit_code::INFRA;
            }
            Err(e) => {
                crate::output::errln!("error: {e}");
                return exit_code::INFRA;
            }
        };
        let text = spec_for(reference, &info, &fs);
        match output {
            Some(path) => {
                // `-o specs/new/app.dspec`: the folder is made when it does not exist yet.
                let made = match path.parent() {
                    Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir),
                    _ => Ok(()),
                };
                if let Err(e) = made.and_then(|()| std::fs::write(path, &text)) {
                    crate::output::errln!("error: cannot write `{}`: {e}", path.display());
                    return exit_code::INFRA;
                }
                crate::output::noteln!(
                    "wrote {}: check it with `dspec check {}`",
                    path.display(),
                    path.display()
                );
            }
            None => crate::output::out(&text),
        }
        exit_code::OK
    })
}
