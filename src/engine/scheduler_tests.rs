//! The scheduler on the fake engine: bounds (`--fail-fast`, `--timeout`, `--jobs`), skips after
//! a failed setup, barriers around actions, quiet slots, masking, stacks through a fake
//! Compose, a lost engine, and cleanup on every way a run can end.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::super::Ctx;
use super::super::compose::Compose;
use super::super::docker::{ContainerSpec, DockerApi, ExecOutput, HealthcheckConfig, ImageInfo};
use super::super::fake::{FakeEngine, Script};
use super::{RunOptions, RunOutput, run};
use crate::compile::{self, Program};
use crate::report::{CheckResult, Event, Outcome};

/// A temporary folder with a build context (`Dockerfile`) and the given spec files.
struct Specs {
    dir: PathBuf,
}

impl Drop for Specs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn specs(name: &str, files: &[&str]) -> (Specs, Program) {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "dspec-sched-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("ctx")).unwrap();
    std::fs::write(dir.join("ctx/Dockerfile"), "FROM scratch\n").unwrap();
    let mut paths = Vec::new();
    for (i, text) in files.iter().enumerate() {
        let p = dir.join(format!("s{i}.dspec"));
        std::fs::write(&p, text).unwrap();
        paths.push(p);
    }
    let loaded = crate::load::load(&paths, &compile::Options::default());
    assert!(
        !loaded.has_errors(),
        "{}",
        crate::diag::render_all(
            &loaded.diagnostics,
            &loaded.sources,
            &crate::diag::RenderOptions::plain()
        )
    );
    (Specs { dir }, loaded.program)
}

/// Runs a program on `engine`; returns the output and the events.
async fn go(
    program: Program,
    engine: Arc<FakeEngine>,
    compose: Option<Arc<dyn Compose>>,
    options: RunOptions,
) -> (RunOutput, Vec<Event>, Arc<Ctx>) {
    let program = Arc::new(program);
    let plan = Arc::new(crate::plan::lower(&program));
    let mut ctx = Ctx::new(engine);
    if let Some(c) = compose {
        ctx = ctx.with_compose(c);
    }
    let ctx = Arc::new(ctx);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let out = run(program, plan, ctx.clone(), tx, options).await;
    let mut events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        events.push(e);
    }
    (out, events, ctx)
}

/// The outcome of check `index` of file `file`.
fn outcome(out: &RunOutput, file: usize, index: usize) -> &Outcome {
    &out.results
        .iter()
        .find(|r: &&CheckResult| r.file == file && r.index == index)
        .unwrap_or_else(|| panic!("no result for {file}#{index}"))
        .outcome
}

fn healthy_images() -> Script {
    Script {
        healthcheck: Some(HealthcheckConfig {
            test: vec!["CMD".into(), "true".into()],
            interval: Some(Duration::from_millis(200)),
            timeout: Some(Duration::from_millis(200)),
            retries: Some(3),
            start_period: None,
        }),
        ..Script::default()
    }
}

/// Cleans up the run and checks that nothing is left.
async fn clean(ctx: &Ctx, fake: &FakeEngine) {
    ctx.cleanup().await.expect("cleanup");
    assert_eq!(fake.leftovers(), Vec::<String>::new());
}

#[tokio::test]
async fn a_failed_build_skips_what_depends_on_it_with_its_cause() {
    let (_d, program) = specs(
        "skip",
        &["image app = build \"ctx\"\ncontainer api = run app\n\
           expect app.size < 1GB\nexpect api.status == \"running\"\n"],
    );
    let fake = Arc::new(FakeEngine::new(Script {
        failing_builds: vec![("dspec/".into(), "the step failed".into())],
        ..Script::default()
    }));
    let (out, _, ctx) = go(program, fake.clone(), None, RunOptions::default()).await;
    assert_eq!(out.setup.len(), 1, "reported once: {:?}", out.setup);
    assert_eq!(out.setup[0].message, "the step failed");
    assert!(
        out.setup[0].output.iter().any(|l| l.contains("Step 1/1")),
        "{:?}",
        out.setup
    );
    for i in 0..2 {
        match outcome(&out, 0, i) {
            Outcome::Skipped { subject, reason } => {
                assert_eq!(
                    (subject.as_str(), reason.as_str()),
                    ("app", "build of `app` failed")
                );
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(!fake.calls().iter().any(|c| c.starts_with("create")));
    clean(&ctx, &fake).await;
}

#[tokio::test]
async fn fail_fast_stops_at_the_first_failure() {
    let (_d, program) = specs(
        "failfast",
        &["image app = build \"ctx\"\ncontainer api = run app\n\
           expect api.exec(\"false\").exit_code == 0\n\
           expect api.exec(\"slow\").exit_code == 0\n"],
    );
    let fake = Arc::new(FakeEngine::new(Script {
        exec: Arc::new(|argv: &[String]| {
            let code = i64::from(argv[0] == "false");
            let takes = if argv[0] == "slow" {
                Duration::from_secs(30)
            } else {
                Duration::ZERO
            };
            (
                ExecOutput {
                    exit_code: code,
                    ..ExecOutput::default()
                },
                takes,
            )
        }),
        ..Script::default()
    }));
    let options = RunOptions {
        fail_fast: true,
        ..RunOptions::default()
    };
    let (out, _, ctx) = go(program, fake.clone(), None, options).await;
    assert_eq!(out.stopped, Some("--fail-fast stopped the run"));
    assert!(matches!(outcome(&out, 0, 0), Outcome::Failed { .. }));
    assert!(
        matches!(outcome(&out, 0, 1), Outcome::Skipped { reason, .. } if reason == "--fail-fast stopped the run")
    );
    clean(&ctx, &fake).await;
}

#[tokio::test]
async fn the_timeout_stops_the_run_and_reports_what_did_not_run() {
    let (_d, program) = specs(
        "timeout",
        &["image app = build \"ctx\"\ncontainer api = run app\n\
           expect api.exec(\"slow\", 5m).exit_code == 0\n"],
    );
    let fake = Arc::new(FakeEngine::new(Script {
        exec: Arc::new(|_: &[String]| (ExecOutput::default(), Duration::from_secs(600))),
        ..Script::default()
    }));
    let options = RunOptions {
        deadline: Some(Instant::now() + Duration::from_millis(500)),
        ..RunOptions::default()
    };
    let (out, _, ctx) = go(program, fake.clone(), None, options).await;
    assert_eq!(out.stopped, Some("the run hit its --timeout"));
    assert!(
        matches!(outcome(&out, 0, 0), Outcome::Skipped { reason, .. } if reason == "the run hit its --timeout")
    );
    clean(&ctx, &fake).await;
}

#[tokio::test]
async fn one_job_runs_the_files_one_after_another_and_frees_its_slot() {
    let spec = "image app = build \"ctx\"\ncontainer api = run app\n\
                expect api.status == \"running\"\n";
    let (_d, program) = specs("jobs", &[spec, spec]);
    let fake = Arc::new(FakeEngine::new(Script::default()));
    let options = RunOptions {
        jobs: Some(1),
        ..RunOptions::default()
    };
    let (out, _, ctx) = go(program, fake.clone(), None, options).await;
    assert_eq!(out.results.len(), 2);
    assert!(out.results.iter().all(|r| r.outcome.passed()));
    let calls = fake.calls();
    let at = |c: &str| {
        calls
            .iter()
            .position(|x| x.starts_with(c))
            .unwrap_or_else(|| panic!("no `{c}` in {calls:?}"))
    };
    // File 0's container is removed (its slot freed) before file 1's is created.
    let creates: Vec<usize> = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| c.starts_with("create dspec-"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(creates.len(), 2, "{calls:?}");
    assert!(at("remove dspec-") < creates[1], "{calls:?}");
    clean(&ctx, &fake).await;
}

#[tokio::test]
async fn an_action_is_a_barrier_between_the_checks_before_and_after_it() {
    let (_d, program) = specs(
        "barrier",
        &["image app = build \"ctx\"\ncontainer api = run app\n\
           expect api.exec(\"before-1\").exit_code == 0\n\
           expect api.exec(\"before-2\").exit_code == 0\n\
           do api.restart()\n\
           expect api.exec(\"after\").exit_code == 0\n\
           expect api.restarts == 1 within 5s\n"],
    );
    let fake = Arc::new(FakeEngine::new(Script::default()));
    let (out, _, ctx) = go(program, fake.clone(), None, RunOptions::default()).await;
    assert!(
        out.results.iter().all(|r| r.outcome.passed()),
        "{:?}",
        out.results
    );
    let calls = fake.calls();
    let at = |c: &str| calls.iter().position(|x| x.contains(c)).unwrap();
    assert!(
        at("before-1") < at("restart") && at("before-2") < at("restart"),
        "{calls:?}"
    );
    assert!(
        at("restart") < at("exec dspec").max(at("after")),
        "{calls:?}"
    );
    assert!(at("restart") < at("after"), "{calls:?}");
    clean(&ctx, &fake).await;
}

/// A slow exec (so that order shows): `argv` echoed after `ms`.
fn slow_execs(ms: u64) -> Script {
    Script {
        exec: Arc::new(move |argv: &[String]| {
            (
                ExecOutput {
                    exit_code: 0,
                    stdout: argv.join(" "),
                    stderr: String::new(),
                },
                Duration::from_millis(ms),
            )
        }),
        ..Script::default()
    }
}

#[tokio::test]
async fn do_name_is_a_barrier_for_the_whole_file_and_after_orders_tasks() {
    let (_d, program) = specs(
        "do-name",
        &["image app = build \"ctx\"\ncontainer api = run app\n\
           task first = run app { command \"first\" }\n\
           task second = run app { command \"second\"; after first }\n\
           expect api.exec(\"before\").exit_code == 0\n\
           do second\n\
           expect api.exec(\"later\").exit_code == 0\n\
           expect first.exit_code == 0\n\
           expect second.stdout == \"started\\nsecond\"\n"],
    );
    let fake = Arc::new(FakeEngine::new(slow_execs(300)));
    let (out, _, ctx) = go(program, fake.clone(), None, RunOptions::default()).await;
    assert!(
        out.results.iter().all(|r| r.outcome.passed()) && out.setup.is_empty(),
        "{:?} {:?}",
        out.results,
        out.setup
    );
    let calls = fake.calls();
    let at = |c: &str| {
        calls
            .iter()
            .position(|x| x.contains(c))
            .unwrap_or_else(|| panic!("no `{c}` in {calls:?}"))
    };
    // `do second` starts after every earlier check (the slow exec), `second` after `first`
    // (its `after`; `first` itself is not held back), and every later check after it.
    assert!(at("done exec") < at("-second"), "{calls:?}");
    assert!(at("-first") < at("-second"), "{calls:?}");
    assert!(at("-second") < at("later"), "{calls:?}");
    // The tasks' exited containers stay readable until the file is done, then go.
    clean(&ctx, &fake).await;
}

/// `within` counts from the file's last `do NAME`: a slow command run there does not eat the
/// time of the expectations after it.
#[tokio::test]
async fn within_after_do_name_counts_from_it() {
    let (_d, program) = specs(
        "do-within",
        &["image app = build \"ctx\"\ncontainer api = run app\n\
           command slow = host \"sleep 1.5\"\n\
           expect api.status == \"running\"\n\
           do slow\n\
           expect api.status == \"running\" within 1s\n"],
    );
    let fake = Arc::new(FakeEngine::new(Script::default()));
    let (out, _, ctx) = go(program, fake.clone(), None, RunOptions::default()).await;
    assert!(
        out.results.iter().all(|r| r.outcome.passed()),
        "{:?}",
        out.results
    );
    clean(&ctx, &fake).await;
}

#[tokio::test]
async fn a_task_past_its_timeout_is_killed_and_removed_and_what_runs_after_it_is_skipped() {
    let (_d, program) = specs(
        "task-timeout",
        &["image app = build \"ctx\"\n\
           task hang = run app { timeout 300ms }\n\
           command next = host \"true\" { after hang }\n\
           task bad = run app { command \"x\" }\n\
           task reader = run app { command \"cat\"; stdin \"hello\" }\n\
           expect hang.exit_code == 0\n\
           expect next.exit_code == 0\n\
           expect bad.exit_code == 1\n\
           expect reader.logs matches /hello/\n"],
    );
    let fake = Arc::new(FakeEngine::new(Script {
        crashing: vec!["-bad".into()],
        ..Script::default()
    }));
    let (out, _, ctx) = go(program, fake.clone(), None, RunOptions::default()).await;
    // Only the timeout is a setup failure: `bad` exiting 1 is its result.
    assert_eq!(out.setup.len(), 1, "{:?}", out.setup);
    assert_eq!(out.setup[0].subject, "hang");
    assert!(
        out.setup[0].message.contains("did not exit within 300ms")
            && out.setup[0].message.contains("killed and removed"),
        "{:?}",
        out.setup
    );
    for i in 0..2 {
        match outcome(&out, 0, i) {
            Outcome::Skipped { subject, reason } => assert_eq!(
                (subject.as_str(), reason.as_str()),
                ("hang", "task `hang` did not run to completion")
            ),
            other => panic!("{other:?}"),
        }
    }
    assert!(outcome(&out, 0, 2).passed(), "{:?}", outcome(&out, 0, 2));
    assert!(outcome(&out, 0, 3).passed(), "{:?}", outcome(&out, 0, 3));
    // Removed at its timeout, not only by the cleanup at the end.
    assert!(
        !fake.leftovers().iter().any(|l| l.contains("-hang")),
        "{:?}",
        fake.leftovers()
    );
    assert!(
        fake.calls()
            .iter()
            .any(|c| c.starts_with("remove") && c.ends_with("-hang")),
        "{:?}",
        fake.calls()
    );
    assert!(
        fake.calls()
            .iter()
            .any(|c| c.starts_with("stdin") && c.ends_with("-reader"))
    );
    clean(&ctx, &fake).await;
}

#[tokio::test]
async fn a_time_budget_runs_with_nothing_else_in_flight() {
    let (_d, program) = specs(
        "quiet",
        &[
            "image app = build \"ctx\"\ncontainer api = run app\ncontainer other = run app\n\
           expect other.exec(\"busy-1\").exit_code == 0\n\
           expect api.exec(\"timed\").duration < 1m\n\
           expect other.exec(\"busy-2\").exit_code == 0\n\
           expect other.exec(\"busy-3\").exit_code == 0\n",
        ],
    );
    let fake = Arc::new(FakeEngine::new(Script {
        exec: Arc::new(|_: &[String]| (ExecOutput::default(), Duration::from_millis(200))),
        ..Script::default()
    }));
    let (out, _, ctx) = go(program, fake.clone(), None, RunOptions::default()).await;
    assert!(
        out.results.iter().all(|r| r.outcome.passed()),
        "{:?}",
        out.results
    );
    let timed = out.results.iter().find(|r| r.index == 1).unwrap();
    assert!(timed.quiet, "the budget is marked as measured alone");
    assert!(
        out.results
            .iter()
            .filter(|r| r.index != 1)
            .all(|r| !r.quiet)
    );
    // Nothing else starts or ends while `timed` runs.
    let calls = fake.calls();
    let from = calls
        .iter()
        .position(|c| c.starts_with("exec") && c.ends_with("timed"))
        .unwrap();
    let to = calls
        .iter()
        .position(|c| c.starts_with("done exec") && c.ends_with("timed"))
        .unwrap();
    assert_eq!(to, from + 1, "{calls:?}");
    clean(&ctx, &fake).await;
}

#[tokio::test]
async fn secrets_are_masked_in_results() {
    // A variable every process has; its value is the secret.
    let value = std::env::var("PATH").expect("PATH is set");
    let (_d, program) = specs(
        "secret",
        &[
            "image app = build \"ctx\"\ncontainer api = run app { env TOKEN = secret(\"PATH\") }\n\
           expect api.exec(\"echo\").stdout == \"x\"\n",
        ],
    );
    let fake = Arc::new(FakeEngine::new(Script {
        exec: Arc::new(move |_: &[String]| {
            (
                ExecOutput {
                    stdout: format!("token={value}\n"),
                    ..ExecOutput::default()
                },
                Duration::ZERO,
            )
        }),
        ..Script::default()
    }));
    let (out, _, ctx) = go(program, fake.clone(), None, RunOptions::default()).await;
    match outcome(&out, 0, 0) {
        Outcome::Failed {
            actual: Some(a), ..
        } => assert_eq!(a.to_string(), "\"token=***\""),
        other => panic!("{other:?}"),
    }
    clean(&ctx, &fake).await;
}

#[tokio::test]
async fn a_container_that_exits_is_a_setup_failure_and_nothing_stays() {
    let (_d, program) = specs(
        "crash",
        &[
            "image app = build \"ctx\"\ncontainer crash = run app\ncontainer ok = run app\n\
           expect crash.status == \"running\"\nexpect ok.status == \"running\"\n",
        ],
    );
    let fake = Arc::new(FakeEngine::new(Script {
        crashing: vec!["crash".into()],
        ..Script::default()
    }));
    let (out, _, ctx) = go(program, fake.clone(), None, RunOptions::default()).await;
    assert_eq!(out.setup.len(), 1);
    assert!(
        out.setup[0]
            .message
            .contains("exited with code 1 before it was ready")
    );
    assert!(matches!(outcome(&out, 0, 0), Outcome::Skipped { .. }));
    assert!(outcome(&out, 0, 1).passed());
    clean(&ctx, &fake).await;
}

#[tokio::test]
async fn an_interrupted_run_leaves_what_cleanup_removes() {
    let (_d, program) = specs(
        "interrupt",
        &[
            "image app = build \"ctx\"\ncontainer api = run app { volume \"data\" at \"/d\" }\n\
           container db = run app\n\
           expect api.exec(\"slow\").exit_code == 0\nexpect db.status == \"running\"\n",
        ],
    );
    let fake = Arc::new(FakeEngine::new(Script {
        exec: Arc::new(|_: &[String]| (ExecOutput::default(), Duration::from_secs(600))),
        ..Script::default()
    }));
    let program = Arc::new(program);
    let plan = Arc::new(crate::plan::lower(&program));
    let ctx = Arc::new(Ctx::new(fake.clone()));
    let (tx, _rx) = mpsc::unbounded_channel();
    // Ctrl-C: the run's future is dropped mid-flight.
    let r = tokio::time::timeout(
        Duration::from_millis(500),
        run(program, plan, ctx.clone(), tx, RunOptions::default()),
    )
    .await;
    assert!(r.is_err(), "the run should still be going");
    assert!(!fake.leftovers().is_empty(), "it had made containers");
    clean(&ctx, &fake).await;
}

#[tokio::test]
async fn a_lost_engine_stops_the_run() {
    let (_d, program) = specs(
        "lost",
        &["image app = build \"ctx\"\ncontainer api = run app\n\
           expect api.exec(\"x\").exit_code == 0\nexpect api.status == \"running\"\n\
           expect api.pids < 100\n"],
    );
    // The first exec takes the engine away: the checks after it meet an engine that does
    // not answer.
    let me: Arc<std::sync::OnceLock<Arc<FakeEngine>>> = Arc::new(std::sync::OnceLock::new());
    let lose = me.clone();
    let fake = Arc::new(FakeEngine::new(Script {
        exec: Arc::new(move |_: &[String]| {
            if let Some(f) = lose.get() {
                f.lose();
            }
            (ExecOutput::default(), Duration::ZERO)
        }),
        ..Script::default()
    }));
    let _ = me.set(fake.clone());
    let (out, _, _ctx) = go(program, fake.clone(), None, RunOptions::default()).await;
    assert!(out.engine_lost, "{:?}", out.results);
    assert!(
        matches!(outcome(&out, 0, 1), Outcome::Errored { .. }),
        "{:?}",
        out.results
    );
}

/// A Compose tool in memory: `config` answers the services given; `up` makes their
/// containers in the fake engine with Compose's labels; `down` removes them.
struct FakeCompose {
    engine: Arc<FakeEngine>,
    services: Vec<&'static str>,
}

impl Compose for FakeCompose {
    fn describe(&self) -> String {
        "fake compose".into()
    }

    fn run<'a>(
        &'a self,
        args: &'a [String],
        _env: &'a [(String, String)],
        _cwd: &'a Path,
        _timeout: Duration,
    ) -> super::super::compose::ComposeRun<'a> {
        Box::pin(async move {
            let project = args[args.iter().position(|a| a == "-p").unwrap() + 1].clone();
            if args.iter().any(|a| a == "config") {
                let services: serde_json::Map<String, serde_json::Value> = self
                    .services
                    .iter()
                    .map(|s| (s.to_string(), serde_json::json!({"image": "fake:latest"})))
                    .collect();
                return Ok((
                    0,
                    serde_json::json!({ "services": services }).to_string(),
                    String::new(),
                ));
            }
            if args.iter().any(|a| a == "up") {
                for (n, s) in self.services.iter().enumerate() {
                    let mut labels = std::collections::BTreeMap::new();
                    labels.insert("com.docker.compose.project".to_string(), project.clone());
                    labels.insert("com.docker.compose.service".to_string(), s.to_string());
                    labels.insert(
                        "com.docker.compose.container-number".to_string(),
                        "1".to_string(),
                    );
                    let spec = ContainerSpec {
                        name: Some(format!("{project}_{s}_{n}")),
                        image: "fake:latest".into(),
                        labels,
                        ..ContainerSpec::default()
                    };
                    let id = self
                        .engine
                        .create_container(&spec)
                        .await
                        .map_err(|e| e.to_string())?;
                    self.engine
                        .start_container(&id)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                return Ok((0, String::new(), String::new()));
            }
            if args.iter().any(|a| a == "down") {
                let res = self
                    .engine
                    .list_by_label(&format!("com.docker.compose.project={project}"))
                    .await
                    .map_err(|e| e.to_string())?;
                self.engine
                    .remove_all(&res, false)
                    .await
                    .map_err(|e| e.to_string())?;
                return Ok((0, String::new(), String::new()));
            }
            Ok((1, String::new(), format!("unexpected {args:?}")))
        })
    }
}

#[tokio::test]
async fn stacks_are_scheduled_through_the_compose_trait() {
    let (_d, program) = specs(
        "stack",
        &["stack app = compose \"ctx/Dockerfile\"\n\
           expect app.services == [\"db\", \"web\"]\n\
           expect app.service(\"web\").status == \"running\" within 5s\n\
           expect app.service(\"db\").exec(\"ping\").exit_code == 0\n"],
    );
    let fake = Arc::new(FakeEngine::new(Script::default()));
    fake.add_image(
        "fake:latest",
        ImageInfo {
            id: "sha256:fake".into(),
            ..ImageInfo::default()
        },
    );
    let compose = Arc::new(FakeCompose {
        engine: fake.clone(),
        services: vec!["db", "web"],
    });
    let (out, _, ctx) = go(program, fake.clone(), Some(compose), RunOptions::default()).await;
    assert!(
        out.results.iter().all(|r| r.outcome.passed()),
        "{:?}",
        out.results
    );
    assert!(fake.calls().iter().any(|c| c.contains("_db_0 ping")));
    clean(&ctx, &fake).await;
}

#[tokio::test]
async fn a_container_waits_for_health_only_before_checks_without_within() {
    let (_d, program) = specs(
        "health",
        &["image app = build \"ctx\"\ncontainer api = run app\n\
           expect api.health == \"healthy\" within 5s\n\
           expect api.startup > 100ms\n"],
    );
    let fake = Arc::new(FakeEngine::new(Script {
        healthy_after: Some(Duration::from_millis(300)),
        ..healthy_images()
    }));
    let (out, _, ctx) = go(program, fake.clone(), None, RunOptions::default()).await;
    match outcome(&out, 0, 0) {
        Outcome::Passed {
            at_ms: Some(at), ..
        } => assert!(*at >= 300, "held at {at} ms"),
        other => panic!("{other:?}"),
    }
    assert!(outcome(&out, 0, 1).passed(), "{:?}", outcome(&out, 0, 1));
    clean(&ctx, &fake).await;
}

/// Every row of the catalogue reaches its observer: a spec that uses each property once runs
/// on the fake engine, and no result says its owner's observer does not know it. (The
/// observers `match` their owner's enum exhaustively, so a forgotten row does not compile;
/// this checks that the compiler hands each row's key to the right observer.)
#[tokio::test]
async fn every_catalogue_row_reaches_an_observer() {
    use crate::compile::property::{ArgKind, CATALOGUE, Effect, Form};
    use crate::compile::types::{Owner, Ty};
    let prefix = |o: Owner| -> Option<&'static str> {
        Some(match o {
            Owner::Image => "img",
            Owner::Container => "api",
            Owner::Stack => "app",
            Owner::Command => "cmd",
            Owner::Task => "job",
            Owner::File => "img.file(\"/x\")",
            Owner::Healthcheck => "img.healthcheck",
            Owner::BuildInfo => "img.build",
            Owner::Context => "img.context",
            Owner::EnvMap => "img.env",
            Owner::RunResult => "img.run(\"true\")",
            Owner::Memory => "api.memory",
            Owner::Exec => "api.exec(\"true\")",
            Owner::Http => "api.get(\"/\")",
            Owner::Cert => "api.get(\"/\").cert",
            Owner::Port => "api.port(8000)",
            Owner::StopResult => "api.stop(1s)",
            Owner::Service => "app.service(\"web\")",
            Owner::StackConfig => "app.config",
            Owner::ServiceConfig => "app.config.service(\"web\")",
            Owner::List => "img.files(\"/x/*\")",
            Owner::Json => "api.get(\"/\").json",
            Owner::Limits => "api.limits",
            Owner::Mount => "api.mount(\"/x\")",
            Owner::Package => "img.package(\"x\")",
            Owner::Account => "img.account(\"x\")",
            Owner::Group => "img.group(\"x\")",
            Owner::Dependency => "app.config.service(\"web\").depends_on(\"db\")",
            Owner::Logging => "app.config.service(\"web\").logging",
            Owner::NetworkConfig => "app.config.network(\"n\")",
            Owner::VolumeConfig => "app.config.volume(\"v\")",
            Owner::LabelMap | Owner::Done => return None,
        })
    };
    let sample = |k: ArgKind| match k {
        ArgKind::Text => "\"x\"",
        ArgKind::AbsPath => "\"/x\"",
        ArgKind::Glob => "\"/x/*\"",
        ArgKind::RelGlob => "\"x/*\"",
        ArgKind::UrlPath => "\"/\"",
        ArgKind::Port => "8000",
        ArgKind::Duration => "1s",
        ArgKind::Signal => "\"SIGTERM\"",
        ArgKind::Command => "\"true\"",
        ArgKind::Image => "img",
        ArgKind::Ecosystem => "\"pip\"",
        ArgKind::Method => "\"PATCH\"",
        ArgKind::Selector => "\"up\"",
        ArgKind::HostPath => "\"out/x\"",
    };
    let mut lines = Vec::new();
    let mut stops = 0;
    for row in CATALOGUE {
        let Some(mut pre) = prefix(row.owner()).map(str::to_string) else {
            continue;
        };
        let name = if row.name == "*" { "X" } else { row.name };
        let args = match row.form {
            Form::Field => String::new(),
            Form::Call(a) => format!(
                "({})",
                a.iter()
                    .filter(|a| !a.optional)
                    .map(|a| sample(a.kind))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        // Anything that stops a container gets a container of its own.
        let stopping = row.effect == Effect::Stop || row.owner() == Owner::StopResult;
        if stopping {
            stops += 1;
            pre = pre.replacen("api", &format!("s{stops}"), 1);
        }
        let path = format!("{pre}.{name}{args}");
        let line = match (row.ty.ended(), row.effect) {
            (Ty::Obj(_), Effect::None) => continue,
            (Ty::Obj(_), _) => format!("do {path}"),
            (Ty::Bool, _) => format!("expect {path}"),
            (Ty::Int, _) => format!("expect {path} >= 0"),
            (Ty::Size, _) => format!("expect {path} >= 0B"),
            (Ty::Duration, _) => format!("expect {path} >= 0ms"),
            (Ty::Percent, _) => format!("expect {path} >= 0%"),
            (Ty::Number, _) => format!("expect {path} >= 0"),
            (Ty::Mode, _) => format!("expect {path} != 0o0"),
            (Ty::Text, _) => format!("expect {path} matches /.*/"),
            (Ty::Json, _) => format!("expect {path} == 1"),
            (Ty::List, _) => format!("expect {path} is not empty"),
        };
        lines.push(line);
    }
    let mut spec = String::from(
        "image img = build \"ctx\"\ncontainer api = run img\nstack app = compose \"ctx/Dockerfile\"\n\
         command cmd = host \"true\"\ntask job = run img { command \"true\" }\n",
    );
    for i in 1..=stops {
        spec.push_str(&format!("container s{i} = run img\n"));
    }
    // Actions last on `api` (restart, kill): the file keeps their order.
    lines.sort_by_key(|l| l.contains(".kill(") || l.contains(".restart("));
    for l in &lines {
        spec.push_str(l);
        spec.push('\n');
    }
    let (_d, program) = specs("catalogue", &[&spec]);
    let fake = Arc::new(FakeEngine::new(Script::default()));
    fake.add_image(
        "fake:latest",
        ImageInfo {
            id: "sha256:fake".into(),
            ..ImageInfo::default()
        },
    );
    let compose = Arc::new(FakeCompose {
        engine: fake.clone(),
        services: vec!["web"],
    });
    let (out, _, ctx) = go(program, fake.clone(), Some(compose), RunOptions::default()).await;
    assert_eq!(
        out.results.len(),
        lines.len(),
        "every generated check ran:\n{spec}"
    );
    let dispatch_failures = [
        "not an image property",
        "not a container property",
        "not a stack property",
        "not a command property",
        "not a task property",
        "needs a property",
        "needs `.",
        "a port needs",
        "no healthcheck field",
        "no file property",
        "cannot apply",
    ];
    for r in &out.results {
        let text = format!("{:?}", r.outcome);
        assert!(
            !dispatch_failures.iter().any(|f| text.contains(f)),
            "`{}` did not reach its observer: {text}",
            lines[r.index]
        );
    }
    assert!(lines.len() > 60, "only {} rows checked", lines.len());
    clean(&ctx, &fake).await;
}

/// A request whose capture reads a request that failed fails with that cause; the failed
/// request does not stop the run (it is a failed expectation, not a setup failure).
#[tokio::test]
async fn a_failed_request_fails_the_requests_capturing_from_it() {
    let (_d, program) = specs(
        "capture",
        &[
            "image app = build \"ctx\"\ncontainer api = run app { publish 8000 }\n\
           request login = api.post(\"/login\") { timeout 1s }\n\
           request me = api.get(\"/me\") { header \"T\" = \"Bearer ${login.json.token}\" }\n\
           expect login.status == 200\nexpect me.status == 200\n\
           expect api.status == \"running\"\n",
        ],
    );
    let fake = Arc::new(FakeEngine::new(Script::default()));
    let (out, _, ctx) = go(program, fake.clone(), None, RunOptions::default()).await;
    assert!(out.setup.is_empty(), "{:?}", out.setup);
    let message = |i| match outcome(&out, 0, i) {
        Outcome::Failed { message, .. } => message.clone(),
        other => panic!("{other:?}"),
    };
    let login = message(0);
    assert_eq!(
        login,
        "POST api /login: no port is published: add `publish PORT`"
    );
    let me = message(1);
    assert!(
        me.starts_with(
            "GET api /me: request `login` failed, so `${login.json.token}` has no value: POST api /login: no port"
        ),
        "{me}"
    );
    assert!(outcome(&out, 0, 2).passed());
    clean(&ctx, &fake).await;
}

/// `--only` on a check of a request keeps what it needs: the requests it captures from and
/// their containers (another container's request included).
#[test]
fn a_selection_keeps_what_a_request_needs() {
    let (_d, program) = specs(
        "select",
        &[
            "image app = build \"ctx\"\ncontainer a1 = run app { publish 8000 }\n\
           container a2 = run app { publish 8000 }\n\
           request login = a2.post(\"/login\")\n\
           request me = a1.get(\"/me\") { header \"T\" = \"${login.json.token}\" }\n\
           expect a2.status == \"running\"\n\
           criterion C1 \"me\" {\n  expect me.status == 200\n}\n",
        ],
    );
    let only = crate::select::parse_only("criterion(C1)").unwrap();
    let selected = crate::select::apply(&program, &only);
    let used: Vec<&str> = selected.files[0]
        .subjects
        .iter()
        .filter(|s| s.used)
        .map(|s| s.name.as_str())
        .collect();
    for name in ["app", "a1", "a2", "login", "me"] {
        assert!(used.contains(&name), "{name} not kept: {used:?}");
    }
    let plan = crate::plan::lower(&selected);
    assert!(
        plan.steps
            .iter()
            .any(|s| matches!(&s.kind, crate::plan::StepKind::Request { target, .. } if target.starts_with("a2 ")))
    );
}
