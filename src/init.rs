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

/// How long a container of the image may take to become healthy: its start period, then
/// enough probes to pass (Docker's defaults where the image leaves them unset), and slack.
fn health_deadline(h: &crate::engine::docker::HealthcheckConfig) -> Duration {
    let interval = h.interval.unwrap_or(Duration::from_secs(30));
    let timeout = h.timeout.unwrap_or(Duration::from_secs(30));
    let start = h.start_period.unwrap_or_default();
    let total = start + (interval + timeout) * 2 + Duration::from_secs(10);
    Duration::from_secs(total.as_secs().div_ceil(5) * 5)
}

/// The spec text for an image: what the image should keep being (intent, with headroom), not
/// a copy of every value it has today, and a container part that runs it. It passes against
/// the image as written; the story's own criteria are left as a skeleton to fill in.
pub fn spec_for(reference: &str, info: &ImageInfo, fs: &layers::ImageFs) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Written by `dspec init --from-image {reference}`: what the image should keep being."
    );
    let _ = writeln!(
        s,
        "# It passes as written; tighten the budgets and add the story's own criteria below."
    );
    let _ = writeln!(s, "story \"TODO\" \"{}\"\n", reference.replace('"', ""));
    let _ = writeln!(s, "image app = existing {}", quote(reference));
    let tcp_ports: Vec<u16> = info
        .exposed_ports
        .iter()
        .filter_map(|p| p.strip_suffix("/tcp").and_then(|n| n.parse().ok()))
        .collect();
    let runs = info.entrypoint.as_ref().is_some_and(|e| !e.is_empty())
        || info.cmd.as_ref().is_some_and(|c| !c.is_empty());
    if runs {
        if tcp_ports.is_empty() {
            let _ = writeln!(s, "container svc = run app");
        } else {
            let publish: Vec<String> = tcp_ports.iter().map(|p| format!("publish {p}")).collect();
            let _ = writeln!(s, "container svc = run app {{ {} }}", publish.join("; "));
        }
    }
    let _ = writeln!(s);

    let _ = writeln!(s, "criterion image \"The image is built as intended\" {{");
    let _ = writeln!(
        s,
        "  expect app.size < {}  # now {} bytes: 20% headroom",
        budget(info.size),
        info.size
    );
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
        Some((0, _)) => {
            let _ = writeln!(
                s,
                "  # runs as root: most stories want a USER and `expect app.uid != 0`"
            );
        }
        Some(_) => {
            let _ = writeln!(s, "  expect app.uid != 0  # runs as {}", quote(&info.user));
        }
        None => {
            let _ = writeln!(
                s,
                "  # USER {} is not in the image's /etc/passwd, so its uid cannot be checked",
                quote(&info.user)
            );
        }
    }
    for p in &info.exposed_ports {
        let _ = writeln!(s, "  expect app.ports contains {}", quote(p));
    }
    for (k, _) in &info.env {
        if k != "PATH" && k != "HOME" && !k.is_empty() {
            let _ = writeln!(s, "  expect app.env contains {}", quote(k));
        }
    }
    for k in info.labels.keys() {
        if k != "dspec.run" {
            let _ = writeln!(s, "  expect app.labels contains {}", quote(k));
        }
    }
    if info.entrypoint.as_ref().is_some_and(|e| !e.is_empty()) {
        let _ = writeln!(s, "  expect app.entrypoint is not empty");
    }
    if !info.working_dir.is_empty() {
        let _ = writeln!(s, "  expect app.workdir == {}", quote(&info.working_dir));
    }
    match &info.healthcheck {
        Some(h) if h.test.first().is_some_and(|t| t != "NONE") => {
            let _ = writeln!(
                s,
                "  expect app.healthcheck.test is not empty  # a HEALTHCHECK"
            );
        }
        _ => {
            let _ = writeln!(
                s,
                "  # no HEALTHCHECK: a container of it can only be checked as running"
            );
        }
    }
    let workdir = if info.working_dir.is_empty() {
        "/"
    } else {
        info.working_dir.as_str()
    };
    if let Some(e) = fs.get(workdir)
        && let Some(name) = u.user_name(e.uid as u32)
        && e.uid != 0
    {
        let _ = writeln!(
            s,
            "  expect app.file({}).owner == {}",
            quote(workdir),
            quote(name)
        );
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
    }
    // Package caches and compilers, only where there is a package manager to leave them.
    let dpkg = fs.content("/var/lib/dpkg/status");
    let apk = fs.content("/lib/apk/db/installed");
    if dpkg.is_some() && fs.glob("/var/lib/apt/lists/*").is_empty() {
        let _ = writeln!(s, "  expect app.files(\"/var/lib/apt/lists/*\") is empty");
    }
    let python = !fs.glob("/usr/**/python3*").is_empty() || pyc + py > 0;
    if python && fs.glob("/root/.cache/pip/**").is_empty() {
        let _ = writeln!(s, "  expect app.files(\"/root/.cache/pip/**\") is empty");
    }
    let mut pkgs: Vec<String> = Vec::new();
    if let Some(st) = dpkg {
        pkgs.extend(packages::dpkg_installed(&String::from_utf8_lossy(st)));
    }
    if let Some(db) = apk {
        pkgs.extend(packages::apk_installed(&String::from_utf8_lossy(db)));
    }
    if dpkg.is_some() || apk.is_some() {
        for tool in ["gcc", "g++", "make"] {
            if !pkgs.iter().any(|p| p == tool) {
                let _ = writeln!(s, "  expect app.packages not contains {}", quote(tool));
            }
        }
    }
    let _ = writeln!(s, "}}");

    if runs {
        let _ = writeln!(
            s,
            "\ncriterion container \"A container of it starts, answers and stops\" {{"
        );
        match &info.healthcheck {
            Some(h) if h.test.first().is_some_and(|t| t != "NONE") => {
                let _ = writeln!(
                    s,
                    "  expect svc.health == \"healthy\" within {}",
                    duration(health_deadline(h))
                );
            }
            _ => {
                let _ = writeln!(s, "  expect svc.status == \"running\" within 10s");
            }
        }
        for p in &tcp_ports {
            let _ = writeln!(s, "  expect svc.port({p}).open within 30s");
        }
        let _ = writeln!(
            s,
            "  expect svc.memory < 1GB for 3s  # a budget: tighten it to what the service needs"
        );
        let _ = writeln!(
            s,
            "  expect svc.stop(10s).exit_code == 0  # stops on SIGTERM"
        );
        let _ = writeln!(s, "  expect svc.stop(10s).duration < 10s");
        let _ = writeln!(s, "}}");
    } else {
        let _ = writeln!(
            s,
            "\n# The image has no ENTRYPOINT or CMD: nothing to run as a container."
        );
    }
    let _ = writeln!(
        s,
        "\n# The story's acceptance criteria, one block each, for example:\n\
         # criterion AC1 \"TODO: the first acceptance criterion\" {{\n\
         #   expect app.file(\"/app\").exists\n\
         # }}"
    );
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
