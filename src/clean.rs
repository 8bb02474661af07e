//! `dspec clean`: removes what runs that are no longer alive left in the
//! engine (a killed dspec, a crashed CI job); `--images` also removes the
//! images dspec built.

use std::sync::Arc;

use crate::engine::docker::{DockerApi, Resources};
use crate::exit_code;
use crate::liveness::Instance;

/// The run instance in a Compose project name `dspec-<pid>-<start ticks>-<nanos>-f<N>-<stack>`
/// (hex); `None` for a project dspec did not name.
fn project_instance(project: &str) -> Option<Instance> {
    let mut parts = project.strip_prefix("dspec-")?.split('-');
    let pid = u32::from_str_radix(parts.next()?, 16).ok()?;
    let started = u64::from_str_radix(parts.next()?, 16)
        .ok()
        .filter(|s| *s > 0);
    Some(Instance {
        pid,
        started,
        boot: None,
        host: None,
    })
}

/// dspec's Compose override files (`dspec-<project>-labels.yml` in the temp directory) of
/// runs that are over: a run removes its own right after `up`, but a killed one cannot.
pub fn stale_override_files() -> Vec<std::path::PathBuf> {
    let Ok(dir) = std::fs::read_dir(std::env::temp_dir()) else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let project = name.strip_suffix("-labels.yml")?;
            let run = project_instance(project)?;
            (!run.alive()).then(|| e.path())
        })
        .collect()
}

/// What a clean would remove: resources of dead runs.
pub async fn leftovers(engine: &Arc<dyn DockerApi>, images: bool) -> Result<Resources, String> {
    let all = engine
        .list_by_label("dspec.run")
        .await
        .map_err(|e| e.to_string())?;
    let dead = |id: &String| {
        all.labels
            .get(id)
            .and_then(Instance::from_labels)
            .is_some_and(|run| !run.alive())
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
        images: Vec::new(),
        ..Resources::default()
    };
    if images {
        // The images dspec built carry its label; the stage images of multi-stage builds
        // (the legacy builder labels only the last stage) carry a `dspec/` tag.
        out.images = all.images.clone();
        for id in engine
            .images_tagged("dspec/")
            .await
            .map_err(|e| e.to_string())?
        {
            if !out.images.contains(&id) {
                out.images.push(id);
            }
        }
    }
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
            if let Some(run) = project_instance(&project)
                && !run.alive()
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
        let files = stale_override_files();
        let n = res.containers.len()
            + res.networks.len()
            + res.volumes.len()
            + res.images.len()
            + files.len();
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
        for f in &files {
            crate::output::outln!("{verb} file {}", f.display());
            if !dry_run {
                let _ = std::fs::remove_file(f);
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
    fn project_names_carry_the_run() {
        let me = Instance::current();
        let project = format!(
            "dspec-{:x}-{:x}-abc123-f0-app",
            me.pid,
            me.started.unwrap_or(0)
        );
        let run = project_instance(&project).unwrap();
        assert_eq!((run.pid, run.started), (me.pid, me.started));
        assert!(run.alive());
        assert!(project_instance("myproject").is_none());
        let old = project_instance(&format!("dspec-{:x}-1-abc-f0-app", me.pid)).unwrap();
        assert!(!old.alive(), "same pid, another start time");
    }
}
