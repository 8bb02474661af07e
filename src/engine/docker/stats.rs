//! One resource-usage sample, computed the way `docker stats` computes it.

use bollard::models::ContainerStatsResponse;
use bollard::query_parameters::StatsOptionsBuilder;
use futures_util::StreamExt;

use super::bollard_impl::Engine;
use super::errmap::Subject;
use super::error::EngineError;
use super::types::Stats;

pub(crate) async fn stats_once(
    engine: &Engine,
    id: &str,
    with_cpu: bool,
) -> Result<Stats, EngineError> {
    // one-shot skips the daemon's second sample, and with it `precpu_stats`.
    let opts = StatsOptionsBuilder::default()
        .stream(false)
        .one_shot(!with_cpu)
        .build();
    let mut stream = engine.docker.stats(id, Some(opts));
    match stream.next().await {
        Some(Ok(sample)) => Ok(stats_from(&sample, with_cpu)),
        Some(Err(e)) => Err(engine.err(e, Subject::Container(id))),
        None => Err(EngineError::Api {
            status: 0,
            message: format!("no stats sample for container {id}"),
        }),
    }
}

/// Memory as `docker stats` shows it (cgroup v1 `usage - total_inactive_file`, v2
/// `usage - inactive_file`), CPU % over the daemon's two samples.
pub(crate) fn stats_from(s: &ContainerStatsResponse, with_cpu: bool) -> Stats {
    let mem = s.memory_stats.clone().unwrap_or_default();
    let usage = mem.usage.unwrap_or(0);
    let inactive = mem.stats.as_ref().and_then(|m| {
        m.get("total_inactive_file")
            .or_else(|| m.get("inactive_file"))
            .copied()
    });
    let memory_usage = match inactive {
        Some(inactive) if inactive < usage => usage - inactive,
        _ => usage,
    };
    Stats {
        memory_usage,
        memory_max_usage: mem.max_usage.filter(|m| *m > 0),
        memory_limit: mem.limit.filter(|l| *l > 0),
        cpu_percent: if with_cpu { cpu_percent(s) } else { None },
        pids: s.pids_stats.as_ref().and_then(|p| p.current),
    }
}

fn cpu_percent(s: &ContainerStatsResponse) -> Option<f64> {
    let cpu = s.cpu_stats.as_ref()?;
    let pre = s.precpu_stats.as_ref()?;
    let total = cpu.cpu_usage.as_ref()?.total_usage?;
    let pre_total = pre
        .cpu_usage
        .as_ref()
        .and_then(|u| u.total_usage)
        .unwrap_or(0);
    let system = cpu.system_cpu_usage?;
    let pre_system = pre.system_cpu_usage.unwrap_or(0);
    let online = cpu
        .online_cpus
        .filter(|n| *n > 0)
        .map(u64::from)
        .or_else(|| {
            cpu.cpu_usage
                .as_ref()
                .and_then(|u| u.percpu_usage.as_ref())
                .map(|p| p.len() as u64)
        })
        .unwrap_or(1);
    let cpu_delta = total.saturating_sub(pre_total) as f64;
    let system_delta = system.saturating_sub(pre_system) as f64;
    if pre_system == 0 {
        // No previous sample (one-shot, or the container just started).
        None
    } else if system_delta > 0.0 {
        Some(cpu_delta / system_delta * online as f64 * 100.0)
    } else {
        Some(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{
        ContainerCpuStats, ContainerCpuUsage, ContainerMemoryStats, ContainerPidsStats,
    };
    use std::collections::HashMap;

    fn sample() -> ContainerStatsResponse {
        ContainerStatsResponse {
            memory_stats: Some(ContainerMemoryStats {
                usage: Some(10_000),
                max_usage: Some(50_000),
                limit: Some(1 << 20),
                stats: Some(HashMap::from([("total_inactive_file".to_string(), 4_000)])),
                ..Default::default()
            }),
            cpu_stats: Some(ContainerCpuStats {
                cpu_usage: Some(ContainerCpuUsage {
                    total_usage: Some(1_500),
                    ..Default::default()
                }),
                system_cpu_usage: Some(20_000),
                online_cpus: Some(2),
                ..Default::default()
            }),
            precpu_stats: Some(ContainerCpuStats {
                cpu_usage: Some(ContainerCpuUsage {
                    total_usage: Some(1_000),
                    ..Default::default()
                }),
                system_cpu_usage: Some(10_000),
                ..Default::default()
            }),
            pids_stats: Some(ContainerPidsStats {
                current: Some(3),
                limit: None,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn memory_as_docker_stats() {
        let s = stats_from(&sample(), false);
        assert_eq!(s.memory_usage, 6_000);
        assert_eq!(s.memory_max_usage, Some(50_000));
        assert_eq!(s.memory_limit, Some(1 << 20));
        assert_eq!(s.pids, Some(3));
        assert_eq!(s.cpu_percent, None);
    }

    #[test]
    fn cpu_percent_over_two_samples() {
        // 500 of 10_000 system ticks on 2 CPUs = 10 %.
        let s = stats_from(&sample(), true);
        assert!((s.cpu_percent.unwrap() - 10.0).abs() < 1e-9);
    }
}
