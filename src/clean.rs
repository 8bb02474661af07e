//! `dspec clean`: removes what runs that are no longer alive left in the
//! engine (a killed dspec, a crashed CI job); `--images` also removes the
//! images dspec built.

use std::sync::Arc;

use crate::engine::docker::{DockerApi, Resources};
use crate::exit_code;

/// This machine's host name, as put in the `dspec.host` label.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// Whether the dspec run of process `pid` on `host` is still running.
fn alive(pid: Option<u32>, host: Option<&str>) -> bool {
    let Some(pid) = pid else { return false };
    if host.is_some_and(|h| h != hostname()) {
        // Another machine's run: only it can tell; leave it alone.
        return true;
    }
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).contains("dspec"))
        .unwrap_or(false)
}

/// The pid in a compose project name `dspec-<pid hex>-<nanos>-<stack>`.
fn project_pid(project: &str) -> Option<u32> {
    let hex = project.strip_prefix("dspec-")?.split('-').next()?;
    u32::from_str_radix(hex, 16).ok()
}

/// What a clean would remove: resources of dead runs.
pub async fn leftovers(engine: &Arc<dyn DockerApi>, images: bool) -> Result<Resources, String> {
    let all = engine
        .list_by_label("dspec.run")
        .await
        .map_err(|e| e.to_string())?;
    let dead = |id: &String| {
        let l = all.labels.get(id);
        let pid = l
            .and_then(|l| l.get("dspec.pid"))
            .and_then(|p| p.parse().ok());
        let host = l.and_then(|l| l.get("dspec.host")).map(String::as_str);
        !alive(pid, host)
    };
    let mut out = Resources {
        containers: all
            .containers
            .iter()
            .filter(|id| dead(id))
            .cloned()
            .collect(),
        networks: all.networks.iter().filter(|id| dead(id)).cloned().collect(),
        volumes: all.volumes.iter().filter(|id| dead(id)).cloned().collect(),
        images: if images {
            all.images.clone()
        } else {
            Vec::new()
        },
        ..Resources::default()
    };
    // Compose networks and volumes carry compose's labels, not dspec's, and
    // their run's pid is only meaningful on the engine's own machine.
    if !engine.versions().host.starts_with("unix://") {
        return Ok(out);
    }
    let compose = engine
        .list_by_label("com.docker.compose.project")
        .await
        .map_err(|e| e.to_string())?;
    for (ids, target) in [
        (&compose.networks, &mut out.networks),
        (&compose.volumes, &mut out.volumes),
    ] {
        for id in ids {
            let project = compose
                .labels
                .get(id)
                .and_then(|l| l.get("com.docker.compose.project"))
                .cloned()
                .unwrap_or_default();
            if let Some(pid) = project_pid(&project)
                && !alive(Some(pid), None)
                && !target.contains(id)
            {
                target.push(id.clone());
            }
        }
    }
    Ok(out)
}

/// Runs `dspec clean`; returns the exit code.
pub fn clean(context: Option<&str>, images: bool, dry_run: bool) -> i32 {
    crate::engine::with_engine(context, |engine| async move {
        let res = match leftovers(&engine, images).await {
            Ok(r) => r,
            Err(e) => {
                crate::output::errln!("error: cannot list dspec's resources: {e}");
                return exit_code::INFRA;
            }
        };
        let n = res.containers.len() + res.networks.len() + res.volumes.len() + res.images.len();
        let verb = if dry_run { "would remove" } else { "removed" };
        let done = if dry_run {
            "would be removed"
        } else {
            "removed"
        };
        for (kind, ids) in [
            ("container", &res.containers),
            ("network", &res.networks),
            ("volume", &res.volumes),
            ("image", &res.images),
        ] {
            for id in ids {
                crate::output::outln!("{verb} {kind} {}", &id[..id.len().min(19)]);
            }
        }
        if !dry_run
            && n > 0
            && let Err(e) = engine.remove_all(&res, false).await
        {
            crate::output::errln!("error: {e}");
            return exit_code::INFRA;
        }
        crate::output::outln!(
            "{n} resource{} of finished runs {done}",
            if n == 1 { "" } else { "s" }
        );
        exit_code::OK
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names_carry_the_pid() {
        assert_eq!(project_pid("dspec-1f2e-abc123-app"), Some(0x1f2e));
        assert_eq!(project_pid("myproject"), None);
        assert!(
            alive(Some(std::process::id()), None) || !std::env::args().any(|a| a.contains("dspec"))
        );
        assert!(!alive(None, None));
    }
}
