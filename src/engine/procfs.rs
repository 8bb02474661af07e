//! The engine's processes seen from this machine's `/proc`: only meaningful when the engine
//! runs here (a local socket); every function checks that a PID really is the container's.

use std::path::Path;

/// Whether `/proc/PID` on this machine is a process of the container `id`: its cgroup path
/// names the container (`/docker/ID` or `docker-ID.scope`, cgroup v1 and v2). False for a
/// remote engine, whose PIDs mean nothing here, or when `/proc` is not the engine's.
pub fn is_process_of(pid: i64, id: &str) -> bool {
    pid > 0
        && id.len() >= 12
        && std::fs::read_to_string(format!("/proc/{pid}/cgroup")).is_ok_and(|c| c.contains(id))
}

/// Whether a process in the container's network namespace listens on TCP
/// `port` (IPv4 or IPv6), read from the host's `/proc/PID/net/tcp{,6}`.
/// None when those files cannot be read (a remote or rootless engine).
pub fn listening_in_namespace(pid: i64, port: u16) -> Option<bool> {
    if pid <= 0 {
        return Some(false);
    }
    let mut readable = false;
    for file in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{file}")) else {
            continue;
        };
        readable = true;
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 4 || cols[3] != "0A" {
                continue; // 0A = LISTEN
            }
            let local_port = cols[1]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port) {
                return Some(true);
            }
        }
    }
    readable.then_some(false)
}

/// Sends SIGKILL to `pids` (negative: a process group) through the system's `kill`; whether
/// it could (a process of another user may be beyond reach).
pub fn kill(pids: &[i64]) -> bool {
    if pids.is_empty() {
        return true;
    }
    std::process::Command::new("kill")
        .arg("-KILL")
        .arg("--")
        .args(pids.iter().map(i64::to_string))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The PID a host process has inside its own PID namespace (the last `NSpid:` field).
pub fn ns_pid(pid: i64) -> Option<i64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|p| p.parse().ok())
}

/// `pid` and every process below it (children, grandchildren...), from `/proc/*/stat`.
pub fn with_descendants(pid: i64) -> Vec<i64> {
    let mut parents: Vec<(i64, i64)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<i64>().ok()) else {
                continue;
            };
            if let Some(pp) = parent_of(&e.path()) {
                parents.push((p, pp));
            }
        }
    }
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        out.extend(parents.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    out
}

/// The parent PID in `/proc/PID/stat` (after the command name, which may hold spaces).
fn parent_of(dir: &Path) -> Option<i64> {
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_listening_sockets_of_this_process() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let me = std::process::id() as i64;
        assert_eq!(listening_in_namespace(me, port), Some(true));
        drop(l);
        assert_eq!(listening_in_namespace(me, port), Some(false));
        // This process is no container's.
        assert!(!is_process_of(me, &"0".repeat(64)));
        assert!(!is_process_of(me, ""));
    }

    #[test]
    fn finds_a_child_process() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let me = std::process::id() as i64;
        let all = with_descendants(me);
        assert!(all.contains(&(child.id() as i64)), "{all:?}");
        assert_eq!(ns_pid(child.id() as i64), Some(child.id() as i64));
        let _ = child.kill();
        let _ = child.wait();
    }
}
