//! Engine tests against the real Docker daemon (custom harness: the cases share one fixture
//! image and run in order, and clean-up by label runs at the end whatever happened).
//!
//! Needs a daemon (API ≥ 1.41) and a static busybox (`apt-get install -y busybox-static`).
//! `cargo test --test engine -- NAME` runs only the cases whose name contains NAME.

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
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dspec::engine::docker::{ContainerSpec, Engine, connect};
use futures_util::FutureExt;

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

fn main() {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let failed = rt.block_on(run(filters));
    std::process::exit(if failed { 1 } else { 0 });
}

pub async fn run(filters: Vec<String>) -> bool {
    let mut passed = 0;
    let mut failed = Vec::new();
    let mut record = |name: &str, ok: bool, d: Duration| {
        println!(
            "test {name} ... {} ({} ms)",
            if ok { "ok" } else { "FAILED" },
            d.as_millis()
        );
        if ok {
            passed += 1;
        } else {
            failed.push(name.to_string());
        }
    };

    // Cases that need no daemon.
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
        if !selected(&filters, name) {
            continue;
        }
        let t = Instant::now();
        let ok = AssertUnwindSafe(case()).catch_unwind().await.is_ok();
        record(name, ok, t.elapsed());
    }

    let t = Instant::now();
    let engine = match connect(None).await {
        Ok(e) => Arc::new(e),
        Err(e) => {
            println!("test connect ... FAILED: {e}");
            println!("test result: FAILED. {passed} passed; 1 failed; 0 ignored");
            return true;
        }
    };
    let connect_time = t.elapsed();
    let v = engine.versions();
    println!(
        "connected to {} in {} ms: server {} API {} (min {}) {}/{}",
        v.host,
        connect_time.as_millis(),
        v.server_version,
        v.api_version,
        v.min_api_version,
        v.os,
        v.arch
    );
    record("connect", true, connect_time);

    let run_id = format!("dockerapi-test-{}", std::process::id());
    let mut ctx = Ctx {
        engine,
        tag: format!("dspec-dockerapi-test/fx:{}", std::process::id()),
        run_id,
        image: String::new(),
        extra_images: Mutex::new(Vec::new()),
        timings: Mutex::new(vec![("connect".to_string(), connect_time)]),
    };

    let t = Instant::now();
    let fixture = AssertUnwindSafe(build_fixture(&mut ctx))
        .catch_unwind()
        .await;
    record("build_fixture_with_progress", fixture.is_ok(), t.elapsed());

    if fixture.is_ok() {
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
        ];
        for (name, case) in all {
            if !selected(&filters, name) {
                continue;
            }
            let t = Instant::now();
            let ok = AssertUnwindSafe(case(&ctx)).catch_unwind().await.is_ok();
            record(name, ok, t.elapsed());
        }
    }

    // Always: remove everything the run created, and check that nothing is left.
    let t = Instant::now();
    let ok = AssertUnwindSafe(cleanup_leaves_nothing(&ctx))
        .catch_unwind()
        .await
        .is_ok();
    record("cleanup_by_label_leaves_nothing", ok, t.elapsed());

    println!("\ntimings:");
    for (what, d) in ctx.timings.lock().unwrap().iter() {
        println!("  {what:<40} {:>8.1} ms", d.as_secs_f64() * 1000.0);
    }
    let status = if failed.is_empty() { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {status}. {passed} passed; {} failed; 0 ignored",
        failed.len()
    );
    if !failed.is_empty() {
        println!("failed: {}", failed.join(", "));
    }
    !failed.is_empty()
}

pub fn selected(filters: &[String], name: &str) -> bool {
    filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
}
