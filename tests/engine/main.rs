//! Engine tests against the real Docker daemon, on libtest-mimic: the cases share one
//! fixture image and run one at a time, and clean-up by label runs at the end whatever
//! happened. They list (`-- --list`), filter (`-- NAME`, `--exact`) and run under nextest.
//!
//! Needs a daemon (API ≥ 1.41) and a static busybox (`apt-get install -y busybox-static`).

mod builds;
mod cleanup;
mod containers;
mod fixture;
mod health;
mod images;
mod offline;

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use dspec::engine::docker::{ContainerSpec, Engine, connect};
use futures_util::FutureExt;
use libtest_mimic::{Arguments, Failed, Trial};

use builds::*;
use cleanup::*;
use containers::*;
use fixture::build_fixture;
use health::*;
use images::*;
use offline::*;

pub const LABEL_KEY: &str = "dspec.run";

/// Everything the cases share.
pub struct Ctx {
    pub engine: Arc<Engine>,
    pub run_id: String,
    pub image: String,
    pub tag: String,
    /// Untagged, unlabelled stage images to remove at the end.
    pub extra_images: Mutex<Vec<String>>,
    pub timings: Mutex<Vec<(String, Duration)>>,
}

impl Ctx {
    pub fn label(&self) -> String {
        format!("{LABEL_KEY}={}", self.run_id)
    }
    pub fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(LABEL_KEY.to_string(), self.run_id.clone())])
    }
    pub fn name(&self, what: &str) -> String {
        format!("{}-{what}", self.run_id)
    }
    pub fn time(&self, what: &str, d: Duration) {
        self.timings.lock().unwrap().push((what.to_string(), d));
    }
    /// A spec of the fixture image with the run label.
    pub fn spec(&self, what: &str) -> ContainerSpec {
        ContainerSpec {
            name: Some(self.name(what)),
            image: self.image.clone(),
            labels: self.labels(),
            ..Default::default()
        }
    }
}

/// The limit every exec of these tests gets.
pub const EXEC_LIMIT: Duration = Duration::from_secs(60);

type Case = for<'a> fn(&'a Ctx) -> Pin<Box<dyn Future<Output = ()> + 'a>>;

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        [$((stringify!($name), (|c| Box::pin($name(c))) as Case)),*]
    };
}

/// The runtime and the connected context every engine case shares, made on first use:
/// connect, then build the fixture image. `Err` says why the engine cases cannot run.
struct Shared {
    rt: tokio::runtime::Runtime,
    ctx: Result<Ctx, String>,
}

static SHARED: OnceLock<Shared> = OnceLock::new();

fn shared() -> &'static Shared {
    SHARED.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let ctx = rt.block_on(async {
            let t = Instant::now();
            let engine = Arc::new(connect(None).await.map_err(|e| format!("connect: {e}"))?);
            let connect_time = t.elapsed();
            let mut ctx = Ctx {
                engine,
                tag: format!("dspec-dockerapi-test/fx:{}", std::process::id()),
                run_id: format!("dockerapi-test-{}", std::process::id()),
                image: String::new(),
                extra_images: Mutex::new(Vec::new()),
                timings: Mutex::new(vec![("connect".to_string(), connect_time)]),
            };
            AssertUnwindSafe(build_fixture(&mut ctx))
                .catch_unwind()
                .await
                .map_err(|_| "building the fixture image failed".to_string())?;
            Ok(ctx)
        });
        Shared { rt, ctx }
    })
}

/// Runs one engine case on the shared context; a panic is the case's failure.
fn engine_case(case: Case) -> Result<(), Failed> {
    let shared = shared();
    let ctx = shared.ctx.as_ref().map_err(|e| Failed::from(e.as_str()))?;
    shared
        .rt
        .block_on(AssertUnwindSafe(case(ctx)).catch_unwind())
        .map_err(|p| panic_text(&p).into())
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panicked".into())
}

/// Engine tests on libtest-mimic: they list, filter and run like any Rust test (and under
/// nextest, one process per case). The cases of one process share a connection and the
/// fixture image, and run one at a time; whatever they made is removed by label at the end.
fn main() {
    let mut args = Arguments::from_args();
    // One at a time: the cases share the fixture and clean up by one label.
    args.test_threads.get_or_insert(1);
    let mut trials = Vec::new();
    type Offline = fn() -> Pin<Box<dyn Future<Output = ()>>>;
    let offline: [(&str, Offline); 5] = [
        ("unreachable_unix_socket", || Box::pin(unreachable_unix())),
        ("unreachable_tcp_port", || Box::pin(unreachable_tcp())),
        ("unreachable_silent_listener", || {
            Box::pin(unreachable_silent())
        }),
        ("fake_daemon_versions_and_errors", || {
            Box::pin(fake_daemon_versions_and_errors())
        }),
        ("fake_daemon_api_too_old", || {
            Box::pin(fake_daemon_api_too_old())
        }),
    ];
    for (name, case) in offline {
        trials.push(Trial::test(name, move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(AssertUnwindSafe(case()).catch_unwind())
                .map_err(|p| panic_text(&p).into())
        }));
    }
    let all = cases![
        build_cached_again,
        build_multistage_reports_stage_ids,
        build_failure_names_the_step,
        build_parse_error_has_no_step,
        inspect_absent_image_is_none,
        inspect_fixture_image,
        save_image_streams_a_tar,
        save_missing_image_fails_early,
        create_with_missing_image_fails_fast,
        inspect_missing_container,
        container_lifecycle,
        kill_and_wait_exit,
        restart_container,
        health_wait_outcomes,
        network_alias_and_volume,
        cleanup_leaves_nothing,
    ];
    for (name, case) in all {
        trials.push(Trial::test(name, move || engine_case(case)));
    }
    let conclusion = libtest_mimic::run(&args, trials);
    // Whatever the cases made goes, even after a failure (a no-op when none ran).
    if let Some(Shared { rt, ctx: Ok(ctx) }) = SHARED.get() {
        if let Err(p) = rt.block_on(AssertUnwindSafe(cleanup_leaves_nothing(ctx)).catch_unwind()) {
            eprintln!("cleanup after the engine cases failed: {}", panic_text(&p));
            std::process::exit(101);
        }
        eprintln!("\ntimings:");
        for (what, d) in ctx.timings.lock().unwrap().iter() {
            eprintln!("  {what:<40} {:>8.1} ms", d.as_secs_f64() * 1000.0);
        }
    }
    conclusion.exit();
}
