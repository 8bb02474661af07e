//! The fixture image: busybox FROM scratch with an httpd, a health check and a non-root user.

use std::time::{Duration, Instant};

use dspec::engine::docker::{BuildOptions, BuildProgress, DockerApi};

use crate::Ctx;

/// `RUN_ID` is replaced by the run's id: its first step is the run's own, so that the
/// cache chain is too (when two suites build the same steps at once, the legacy builder's
/// cache may continue a rebuild on the other suite's intermediate images, and a "fully cached"
/// rebuild gets another id).
pub const FIXTURE_DOCKERFILE: &str = r#"FROM scratch
LABEL dspec.fixture.run=RUN_ID
COPY busybox /bin/busybox
RUN ["/bin/busybox","--install","-s","/bin"]
COPY passwd group /etc/
COPY www /www
ENV GREETING=hello
USER appuser
WORKDIR /www
EXPOSE 8000
HEALTHCHECK --interval=1s --timeout=1s --retries=3 CMD wget -q -O /dev/null http://127.0.0.1:8000/ || exit 1
CMD ["sh","-c","echo started; echo to-stderr >&2; exec httpd -f -v -p 8000 -h /www"]
"#;

pub fn busybox() -> Vec<u8> {
    for path in ["/usr/bin/busybox", "/bin/busybox", "/usr/local/bin/busybox"] {
        if let Ok(bytes) = std::fs::read(path) {
            return bytes;
        }
    }
    panic!("no busybox binary: apt-get install -y busybox-static");
}

/// An in-memory build context: `(path, contents, mode)`.
pub fn context(files: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, data, mode) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(*mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        tar.append_data(&mut header, path, *data).unwrap();
    }
    tar.into_inner().unwrap()
}

pub fn fixture_context(run_id: &str) -> Vec<u8> {
    let busybox = busybox();
    let dockerfile = FIXTURE_DOCKERFILE.replace("RUN_ID", run_id);
    context(&[
        ("Dockerfile", dockerfile.as_bytes(), 0o644),
        ("busybox", &busybox, 0o755),
        (
            "passwd",
            b"root:x:0:0:root:/root:/bin/sh\nappuser:x:1000:1000::/www:/bin/sh\n",
            0o644,
        ),
        ("group", b"root:x:0:\nappuser:x:1000:\n", 0o644),
        ("www/index.html", b"hi\n", 0o644),
    ])
}

pub async fn build_fixture(ctx: &mut Ctx) {
    let mut steps = Vec::new();
    let mut step_times = Vec::new();
    let mut outputs = 0;
    let started = Instant::now();
    let mut on_progress = |p: BuildProgress| match p {
        BuildProgress::Step {
            number,
            total,
            instruction,
        } => {
            steps.push((number, total));
            step_times.push((started.elapsed(), instruction));
        }
        BuildProgress::Output(_) => outputs += 1,
    };
    let opts = BuildOptions {
        tag: Some(ctx.tag.clone()),
        labels: ctx.labels(),
        ..Default::default()
    };
    let t = Instant::now();
    let out = ctx
        .engine
        .build(fixture_context(&ctx.run_id).into(), opts, &mut on_progress)
        .await
        .expect("fixture build");
    let total = t.elapsed();
    ctx.time("build fixture (cache state unknown)", total);
    // Print the slow steps (each step's time runs until the next header).
    let mut ends: Vec<Duration> = step_times.iter().skip(1).map(|(t, _)| *t).collect();
    ends.push(total);
    for ((start, instruction), end) in step_times.iter().zip(ends) {
        if end - *start > Duration::from_millis(300) {
            let short: String = instruction.chars().take(50).collect();
            println!("  slow step {:>6} ms  {short}", (end - *start).as_millis());
        }
    }
    println!("  fixture {} ({} log lines)", out.image_id, out.log.len());
    assert!(out.image_id.starts_with("sha256:"), "{}", out.image_id);
    assert!(out.stage_ids.is_empty(), "{:?}", out.stage_ids);
    // 12 Dockerfile steps + the LABEL step the legacy builder appends for `labels`.
    let expected: Vec<(u32, u32)> = (1..=13).map(|n| (n, 13)).collect();
    assert_eq!(steps, expected);
    assert!(outputs > 0);
    assert!(out.log.iter().any(|l| l.starts_with("Successfully tagged")));
    ctx.image = out.image_id;
}
