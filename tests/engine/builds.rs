//! Builds: cache, stages, failures.

use std::time::Instant;

use dspec::engine::docker::{BuildOptions, BuildProgress, DockerApi, EngineError};

use crate::fixture::{context, fixture_context};
use crate::{Ctx, LABEL_KEY};

pub async fn build_cached_again(ctx: &Ctx) {
    let opts = BuildOptions {
        tag: Some(ctx.tag.clone()),
        labels: ctx.labels(),
        ..Default::default()
    };
    let t = Instant::now();
    let out = ctx
        .engine
        .build(fixture_context(&ctx.run_id).into(), opts, &mut |_| {})
        .await
        .unwrap();
    ctx.time("build fixture, fully cached", t.elapsed());
    assert_eq!(out.image_id, ctx.image);
    assert!(out.log.iter().any(|l| l.contains("Using cache")));
}

pub async fn build_multistage_reports_stage_ids(ctx: &Ctx) {
    let dockerfile = format!(
        "FROM scratch AS one\nCOPY one /one\nFROM scratch\nCOPY --from=one /one /{}\n",
        ctx.run_id
    );
    let tar = context(&[
        ("Dockerfile", dockerfile.as_bytes(), 0o644),
        ("one", b"one\n", 0o644),
    ]);
    let opts = BuildOptions {
        labels: ctx.labels(),
        ..Default::default()
    };
    let t = Instant::now();
    let out = ctx
        .engine
        .build(tar.into(), opts, &mut |_| {})
        .await
        .unwrap();
    ctx.time("build 2-stage (uncached first run)", t.elapsed());
    println!("  final {} stages {:?}", out.image_id, out.stage_ids);
    ctx.extra_images
        .lock()
        .unwrap()
        .extend(out.stage_ids.iter().cloned());
    assert_eq!(out.stage_ids.len(), 1);
    assert_ne!(out.stage_ids[0], out.image_id);
    // The stage image exists but carries no label: clean-up must be told about it.
    let stage = ctx
        .engine
        .inspect_image(&out.stage_ids[0])
        .await
        .unwrap()
        .unwrap();
    assert!(!stage.labels.contains_key(LABEL_KEY));
}

pub async fn build_failure_names_the_step(ctx: &Ctx) {
    let dockerfile = format!(
        "FROM {}\nRUN for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25; do echo line-$i; done; echo before-fail && exit 3\nRUN echo never\n",
        ctx.tag
    );
    let tar = context(&[("Dockerfile", dockerfile.as_bytes(), 0o644)]);
    let mut steps = 0;
    let opts = BuildOptions {
        labels: ctx.labels(),
        ..Default::default()
    };
    let t = Instant::now();
    let err = ctx
        .engine
        .build(tar.into(), opts, &mut |p| {
            if matches!(p, BuildProgress::Step { .. }) {
                steps += 1
            }
        })
        .await
        .unwrap_err();
    ctx.time("build failing at step 2", t.elapsed());
    println!("  {err}");
    match err {
        EngineError::BuildFailed {
            message,
            step,
            output_tail,
        } => {
            assert!(message.contains("returned a non-zero code: 3"), "{message}");
            let step = step.unwrap();
            // The legacy builder appends a LABEL step for `labels`, hence 4 steps.
            assert!(step.starts_with("Step 2/4 : RUN for i in"), "{step}");
            assert_eq!(output_tail.len(), 20, "{output_tail:?}");
            assert_eq!(output_tail.last().unwrap(), "before-fail");
            assert_eq!(output_tail.first().unwrap(), "line-7");
        }
        other => panic!("expected BuildFailed, got {other:?}"),
    }
    assert_eq!(steps, 2);
}

pub async fn build_parse_error_has_no_step(ctx: &Ctx) {
    let tar = context(&[("Dockerfile", b"FROMM scratch\n", 0o644)]);
    let err = ctx
        .engine
        .build(tar.into(), BuildOptions::default(), &mut |_| {})
        .await
        .unwrap_err();
    println!("  {err}");
    assert!(
        matches!(&err, EngineError::BuildFailed { step: None, message, .. } if message.contains("FROMM")),
        "{err:?}"
    );
}
