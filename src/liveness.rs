//! Which process made a run, told apart from every other process that ever had its PID: the
//! PID, the process's start time (clock ticks since boot, from `/proc/PID/stat`), the boot
//! (`/proc/sys/kernel/random/boot_id`) and the host. `dspec clean` compares these, never a
//! binary's name, to decide whether a run is over: a renamed dspec or a wrapper is still alive.

use std::collections::BTreeMap;

/// Label keys on everything a run creates.
pub const PID: &str = "dspec.pid";
pub const STARTED: &str = "dspec.started";
pub const BOOT: &str = "dspec.boot";
pub const HOST: &str = "dspec.host";

/// One process instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    pub pid: u32,
    /// Start time in clock ticks since boot; `None` when unknown (labels of older runs).
    pub started: Option<u64>,
    pub boot: Option<String>,
    pub host: Option<String>,
}

/// This machine's host name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|b| b.trim().to_string())
        .filter(|b| !b.is_empty())
}

/// The start time of process `pid`: field 22 of `/proc/PID/stat`, counted after the command
/// name (which may hold spaces and parentheses).
pub fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

impl Instance {
    /// This process.
    pub fn current() -> Instance {
        let pid = std::process::id();
        Instance {
            pid,
            started: start_ticks(pid),
            boot: boot_id(),
            host: Some(hostname()),
        }
    }

    /// The labels that record it.
    pub fn labels(&self) -> Vec<(String, String)> {
        let mut out = vec![(PID.to_string(), self.pid.to_string())];
        if let Some(s) = self.started {
            out.push((STARTED.to_string(), s.to_string()));
        }
        if let Some(b) = &self.boot {
            out.push((BOOT.to_string(), b.clone()));
        }
        if let Some(h) = &self.host {
            out.push((HOST.to_string(), h.clone()));
        }
        out
    }

    /// The instance the labels of a resource record, if they name a PID.
    pub fn from_labels(labels: &BTreeMap<String, String>) -> Option<Instance> {
        Some(Instance {
            pid: labels.get(PID)?.parse().ok()?,
            started: labels.get(STARTED).and_then(|s| s.parse().ok()),
            boot: labels.get(BOOT).cloned(),
            host: labels.get(HOST).cloned(),
        })
    }

    /// Whether the process still runs. Another host's run, or one whose start time this
    /// machine cannot read, counts as alive: only a run known to be over is cleaned.
    pub fn alive(&self) -> bool {
        if self.host.as_deref().is_some_and(|h| h != hostname()) {
            return true;
        }
        if let (Some(b), Some(here)) = (&self.boot, boot_id())
            && *b != here
        {
            // Recorded before the last boot: over.
            return false;
        }
        match (self.started, start_ticks(self.pid)) {
            // No such process now.
            (_, None) => false,
            (Some(then), Some(now)) => then == now,
            // An older run's labels without a start time: the PID exists; keep it.
            (None, Some(_)) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_recycled_pid_is_not() {
        let me = Instance::current();
        assert!(me.started.is_some());
        assert!(me.alive());
        let labels: BTreeMap<String, String> = me.labels().into_iter().collect();
        assert_eq!(Instance::from_labels(&labels), Some(me.clone()));
        // Same PID, another start time: another process.
        let other = Instance {
            started: me.started.map(|s| s + 1),
            ..me.clone()
        };
        assert!(!other.alive());
        // Another boot.
        let rebooted = Instance {
            boot: Some("not-this-boot".into()),
            ..me.clone()
        };
        assert!(!rebooted.alive());
        // Another host: not ours to judge.
        let remote = Instance {
            host: Some("elsewhere-xyz".into()),
            started: Some(1),
            ..me
        };
        assert!(remote.alive());
    }
}
