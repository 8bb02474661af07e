//! Image inspect and save.

use std::io::Read;
use std::time::{Duration, Instant};

use dspec::engine::docker::{DockerApi, EngineError};

use crate::{Ctx, LABEL_KEY};

pub async fn inspect_absent_image_is_none(ctx: &Ctx) {
    let t = Instant::now();
    let info = ctx
        .engine
        .inspect_image("dspec-dockerapi-test/absent:never")
        .await
        .unwrap();
    let elapsed = t.elapsed();
    ctx.time("inspect absent image", elapsed);
    assert_eq!(info, None);
    assert!(elapsed < Duration::from_secs(1));
}

pub async fn inspect_fixture_image(ctx: &Ctx) {
    let t = Instant::now();
    let info = ctx.engine.inspect_image(&ctx.tag).await.unwrap().unwrap();
    ctx.time("inspect image", t.elapsed());
    assert_eq!(info.id, ctx.image);
    assert!(info.tags.contains(&ctx.tag));
    assert!(info.size > 1_000_000, "{}", info.size);
    assert_eq!(info.layers, 4);
    assert_eq!(info.user, "appuser");
    assert!(info.env.contains(&("GREETING".into(), "hello".into())));
    assert_eq!(info.labels.get(LABEL_KEY), Some(&ctx.run_id));
    assert_eq!(info.entrypoint, None);
    assert_eq!(info.cmd.as_ref().unwrap()[0], "sh");
    assert_eq!(info.working_dir, "/www");
    assert_eq!(info.exposed_ports, vec!["8000/tcp"]);
    let hc = info.healthcheck.unwrap();
    assert_eq!(hc.test[0], "CMD-SHELL");
    assert_eq!(hc.interval, Some(Duration::from_secs(1)));
    assert_eq!(hc.retries, Some(3));
    assert_eq!(hc.start_period, None);
    assert_eq!(info.os, "linux");
    assert!(!info.arch.is_empty());
    assert!(info.created.is_some());
}

pub async fn save_image_streams_a_tar(ctx: &Ctx) {
    let t = Instant::now();
    let reader = ctx.engine.save_image(&ctx.tag).await.unwrap();
    let (entries, bytes) = tokio::task::spawn_blocking(move || {
        let mut counting = Counting {
            inner: reader,
            n: 0,
        };
        let mut names = Vec::new();
        {
            let mut archive = tar::Archive::new(&mut counting);
            for entry in archive.entries().unwrap() {
                let mut entry = entry.unwrap();
                names.push(entry.path().unwrap().to_string_lossy().into_owned());
                std::io::copy(&mut entry, &mut std::io::sink()).unwrap();
            }
        }
        std::io::copy(&mut counting, &mut std::io::sink()).unwrap();
        (names, counting.n)
    })
    .await
    .unwrap();
    ctx.time("save image, streamed through tar", t.elapsed());
    println!("  {} entries, {bytes} bytes", entries.len());
    assert!(entries.iter().any(|e| e == "manifest.json"));
    assert!(entries.iter().any(|e| e.ends_with("layer.tar")));
    assert!(bytes > 1_900_000);
}

pub struct Counting<R> {
    inner: R,
    n: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}

pub async fn save_missing_image_fails_early(ctx: &Ctx) {
    let err = ctx
        .engine
        .save_image("dspec-dockerapi-test/absent:never")
        .await
        .err()
        .unwrap();
    assert!(matches!(err, EngineError::ImageNotFound { .. }), "{err:?}");
}
