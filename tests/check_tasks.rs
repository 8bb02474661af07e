//! `dspec check` on tasks (containers run to completion), `after` and `do NAME`, against the
//! real engine.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SECRET: &str = "s3cr3t-task-value-42";

/// A scratch folder for what the spec's commands, mounts and copies write.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dspec-tasks-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn check_with(spec: &str, out: &Path, args: &[&str]) -> (Output, String) {
    let (_, run, all) = check_pid(spec, out, args);
    (run, all)
}

/// [`check_with`], with the pid of the dspec process.
fn check_pid(spec: &str, out: &Path, args: &[&str]) -> (u32, Output, String) {
    let var = format!("out={}", out.display());
    let mut all = vec!["--var", var.as_str()];
    all.extend_from_slice(args);
    all.push(spec);
    common::dspec_check_pid(&all, &[("DSPEC_TEST_TOKEN", SECRET)], &[SECRET])
}

/// Names of the containers a dspec process left.
fn labelled_containers(pid: u32) -> Vec<String> {
    let out = Command::new("docker")
        .args([
            "ps",
            "-a",
            "--format",
            "{{.Names}}",
            "--filter",
            &format!("label=dspec.pid={pid}"),
        ])
        .output()
        .expect("docker");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn tasks_run_to_completion_and_are_ordered_by_after_and_do() {
    let out = scratch("pass");
    let report = out.join("report.json");
    let (run, all) = check_with(
        "tests/specs/tasks_v1.dspec",
        &out,
        &["--report", &format!("json:{}", report.display())],
    );
    assert_eq!(run.status.code(), Some(0), "{all}");
    assert!(all.contains("27 passed, 0 failed"), "{all}");
    // The JSON report names tasks as such (its schema allows `task`).
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    let text = doc.to_string();
    assert!(text.contains("\"subject_kind\":\"task\""), "{text}");
    assert!(!text.contains(SECRET), "the secret leaked into the report");
    // copy(FROM, TO): a file, and a folder into missing parent folders.
    let xml = std::fs::read_to_string(out.join("reports/coverage.xml")).expect("copied file");
    assert!(xml.contains("line-rate=\"0.93\""), "{xml}");
    let nested = std::fs::read_to_string(out.join("deep/er/sub/n.txt")).expect("copied folder");
    assert_eq!(nested, "nested\n");
    let _ = std::fs::remove_dir_all(&out);
}

/// A selection keeps what the selected checks need: the task's image, and the commands and
/// tasks they run `after`.
#[test]
fn a_selection_sets_up_what_its_tasks_and_commands_need() {
    let out = scratch("only");
    let (run, all) = check_with(
        "tests/specs/tasks_v1.dspec",
        &out,
        &["--only", "criterion(T2)"],
    );
    assert_eq!(run.status.code(), Some(0), "{all}");
    assert!(all.contains("4 passed, 0 failed"), "{all}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_timed_out_task_is_killed_and_removed_and_an_exit_code_is_a_result() {
    let out = scratch("fail");
    let (pid, run, all) = check_pid("tests/specs/tasks_v1_fail.dspec", &out, &[]);
    assert_eq!(run.status.code(), Some(1), "{all}");
    assert!(
        all.contains("did not exit within 1s (its `timeout`); it was killed and removed"),
        "{all}"
    );
    assert_eq!(
        all.matches("× task `slow` did not run to completion")
            .count(),
        1,
        "{all}"
    );
    // What runs after it, and what reads it, is not run, with the cause.
    assert_eq!(
        all.matches("not run: task `slow` did not run to completion")
            .count(),
        2,
        "{all}"
    );
    // `quick` exited 2: its result, compared like any other value.
    assert!(
        all.contains("actual: 2") && all.contains("expected: == 0"),
        "{all}"
    );
    assert!(all.contains("actual: \"hi\""), "{all}");
    assert!(all.contains("`/nope` does not exist"), "{all}");
    // Every property fails with its actual value.
    assert!(all.contains("0 passed, 11 failed"), "{all}");
    for line in [
        "✗ expect quick.stderr == \"oops\"  — actual \"\"",
        "✗ expect quick.logs not matches /hi/  — actual \"hi\\n\"",
        "✗ expect quick.oom_killed  — actual false",
        "✗ expect quick.files(\"/nope/*\") is not empty  — actual []",
    ] {
        assert!(all.contains(line), "{line} in\n{all}");
    }
    // The killed task went at its timeout, the exited one with the run: nothing is left.
    assert_eq!(common::leftovers(pid), Vec::<String>::new());

    // With `--keep` the exited task's container stays, labelled: `dspec clean` finds it. The
    // timed-out one still went at its timeout. (No other test's `dspec clean` meanwhile.)
    let _clean = common::clean_lock();
    let (pid, run, all) = check_pid("tests/specs/tasks_v1_fail.dspec", &out, &["--keep"]);
    assert_eq!(run.status.code(), Some(1), "{all}");
    let names = labelled_containers(pid);
    let kept: Vec<&String> = names.iter().filter(|n| n.ends_with("-f0-quick")).collect();
    assert_eq!(kept.len(), 1, "{names:?}\n{all}");
    assert!(!names.iter().any(|n| n.ends_with("-f0-slow")), "{names:?}");
    let id = Command::new("docker")
        .args(["inspect", "-f", "{{.Id}}", kept[0]])
        .output()
        .expect("docker inspect");
    let id = String::from_utf8_lossy(&id.stdout).trim().to_string();
    let dry = Command::new(env!("CARGO_BIN_EXE_dspec"))
        .args(["clean", "--dry-run", "--color", "never"])
        .output()
        .expect("dspec clean");
    let said = String::from_utf8_lossy(&dry.stdout).to_string();
    // What the kept run left: its container, and the network of its file.
    let label = Command::new("docker")
        .args([
            "inspect",
            "-f",
            "{{index .Config.Labels \"dspec.run\"}}",
            &id,
        ])
        .output()
        .expect("docker inspect");
    let label = String::from_utf8_lossy(&label.stdout).trim().to_string();
    let _ = Command::new("docker").args(["rm", "-f", &id]).output();
    let nets = Command::new("docker")
        .args(["network", "ls", "-q", "--filter"])
        .arg(format!("label=dspec.run={label}"))
        .output()
        .expect("docker network ls");
    for n in String::from_utf8_lossy(&nets.stdout).lines() {
        let _ = Command::new("docker").args(["network", "rm", n]).output();
    }
    assert!(
        id.len() > 12 && said.contains(&format!("would remove container {}", &id[..12])),
        "{id} in\n{said}"
    );
    let _ = std::fs::remove_dir_all(&out);
}
