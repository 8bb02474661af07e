//! `dspec check` on compose stacks through the real Compose tool.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn spawn(spec: &str) -> Child {
    spawn_with(spec, &[])
}

/// `dspec check -v` of `spec` with extra environment variables.
fn spawn_with(spec: &str, env: &[(&str, String)]) -> Child {
    common::require_docker();
    common::fixtures_dir();
    Command::new(env!("CARGO_BIN_EXE_dspec"))
        .args(["check", "-v", "--color", "never", spec])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs dspec")
}

fn check(spec: &str) -> (Output, String) {
    common::wait_leaving_nothing(spawn(spec))
}

#[test]
fn a_stack_comes_up_healthy_with_its_config() {
    let (out, all) = check("tests/specs/stack_pass.dspec");
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("20 passed, 0 failed"), "{all}");
    assert!(
        all.contains("compose: docker-compose 1.") || all.contains("compose: docker compose"),
        "{all}"
    );
}

#[test]
fn broken_stacks_fail_at_their_lines_with_evidence() {
    let (out, all) = check("tests/specs/stack_fail.dspec");
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("0 passed, 4 failed"), "{all}");
    assert!(
        all.contains("stack_fail.dspec:9:10")
            && all.contains("Unsupported config option for services.web: 'portz'"),
        "{all}"
    );
    assert!(
        all.contains("stack_fail.dspec:12:10") && all.contains("exit 1: HTTP/1.1 500"),
        "{all}"
    );
    assert!(
        all.contains("stack_fail.dspec:13:10")
            && all.contains("service `web` has not turned healthy since it started"),
        "{all}"
    );
    assert!(
        all.contains("stack_fail.dspec:14:10") && all.contains("actual: \"prod\""),
        "{all}"
    );
}

#[test]
fn a_missing_image_with_pull_never_fails_fast() {
    let (out, all) = check("tests/specs/stack_never_pull.dspec");
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(all.contains("`pull \"never\"` forbids pulling it"), "{all}");
}

#[test]
fn an_interrupted_stack_run_is_taken_down() {
    for delay in [Duration::from_secs(2), Duration::from_secs(8)] {
        let child = spawn("tests/specs/stack_interrupt.dspec");
        let pid = child.id();
        std::thread::sleep(delay);
        Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .expect("kill");
        let out = child.wait_with_output().expect("waits");
        assert_eq!(
            out.status.code(),
            Some(130),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            common::leftovers(pid),
            Vec::<String>::new(),
            "after {delay:?}"
        );
    }
}

/// Services are found by Compose's labels: a `container_name:`, a scaled service and an
/// enabled profile all answer; a service of a profile that is not enabled says so.
#[test]
fn services_are_found_by_compose_labels() {
    let child = spawn_with(
        "tests/specs/stack_named.dspec",
        &[("DSPEC_NAMED_SUFFIX", std::process::id().to_string())],
    );
    let (out, all) = common::wait_leaving_nothing(child);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("6 passed, 1 failed"), "{all}");
    assert!(
        all.contains("service `hidden` has no container: it belongs to the profile off"),
        "{all}"
    );
    assert!(!all.contains("not in an enabled profile?"), "{all}");
}

/// The resolved config, typed (normalised like Compose does: `512m` is 512 MiB, a short
/// `depends_on` is `service_started`) and raw through `.json`, without bringing it up.
#[test]
fn the_resolved_config_is_typed_and_raw() {
    let (out, all) = check("tests/specs/stack_config.dspec");
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("25 passed, 2 failed"), "{all}");
    assert!(all.contains("actual unlimited"), "{all}");
    assert!(
        all.contains("the service does not depend on `web` (it depends on nothing)"),
        "{all}"
    );
    assert!(
        !all.contains("compose up"),
        "a config-only stack is never brought up:\n{all}"
    );
}

/// `env` reaches the Compose files' `${VAR}`; `service(S).kill()`, `.restart()` and `.stop()`
/// act on every replica through Compose; a service's `within` after an action on another
/// service counts from that action; `down()` removes the services (an observation then
/// says so) and `up()` brings them back with fresh `within` clocks.
#[test]
fn a_stack_is_driven_through_its_life() {
    let (out, all) = check("tests/specs/stack_life.dspec");
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("18 passed, 1 failed"), "{all}");
    assert!(
        all.contains("stack_life.dspec:32:10")
            && all.contains("`down()` took the stack down (`up()` brings it back)"),
        "{all}"
    );
}

/// `network STACK` and `network STACK.network(N)` put a container (or a task) of the spec on the
/// stack's networks, where services answer by name; a network the stack lacks fails the
/// container's setup and names the networks there are.
#[test]
fn containers_join_a_stacks_networks() {
    let child = spawn_with(
        "tests/specs/stack_network.dspec",
        &[("DSPEC_NAMED_SUFFIX", format!("net{}", std::process::id()))],
    );
    let (out, all) = common::wait_leaving_nothing(child);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("5 passed, 2 failed"), "{all}");
    assert!(
        all.contains("the stack has no network `nope` (networks: backend, frontend)"),
        "{all}"
    );
    assert!(
        all.contains("the stack has no default network: every service names its networks"),
        "{all}"
    );
}
