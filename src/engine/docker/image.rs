//! Images: inspect, save (streamed) and remove.

use std::time::Duration;

use bollard::models::{HealthConfig, ImageInspect};
use bollard::query_parameters::RemoveImageOptionsBuilder;

use super::api::ImageTarReader;
use super::bollard_impl::Engine;
use super::errmap::Subject;
use super::error::EngineError;
use super::save_reader::spawn_reader;
use super::timestamp::parse_rfc3339;
use super::types::{HealthcheckConfig, ImageInfo};

/// `docker image inspect`; `None` when the image does not exist.
pub(crate) async fn inspect_image(
    engine: &Engine,
    reference: &str,
) -> Result<Option<ImageInfo>, EngineError> {
    match engine.docker.inspect_image(reference).await {
        Ok(image) => Ok(Some(image_info(image))),
        Err(e) => match engine.err(e, Subject::Image(reference)) {
            EngineError::ImageNotFound { .. } => Ok(None),
            other => Err(other),
        },
    }
}

/// `docker save` of one image as a blocking reader.
pub(crate) async fn save_image(
    engine: &Engine,
    reference: &str,
) -> Result<ImageTarReader, EngineError> {
    let stream = engine.docker.export_image(reference);
    let reader = spawn_reader(stream, |e| engine.err(e, Subject::Image(reference))).await?;
    Ok(Box::new(reader))
}

/// A tar of `path` in a container (`GET /containers/{id}/archive`).
pub(crate) async fn archive(
    engine: &Engine,
    container: &str,
    path: &str,
) -> Result<ImageTarReader, EngineError> {
    let opts = bollard::query_parameters::DownloadFromContainerOptionsBuilder::default()
        .path(path)
        .build();
    let stream = engine.docker.download_from_container(container, Some(opts));
    let reader = spawn_reader(stream, |e| engine.err(e, Subject::Container(container))).await?;
    Ok(Box::new(reader))
}

/// `docker tag ID REPO[:TAG]`.
pub(crate) async fn tag_image(
    engine: &Engine,
    id: &str,
    reference: &str,
) -> Result<(), EngineError> {
    // The tag is after the last `:` that follows the last `/` (a registry
    // port is not a tag).
    let slash = reference.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (repo, tag) = match reference[slash..].rfind(':') {
        Some(i) => (&reference[..slash + i], &reference[slash + i + 1..]),
        None => (reference, "latest"),
    };
    let opts = bollard::query_parameters::TagImageOptionsBuilder::default()
        .repo(repo)
        .tag(tag)
        .build();
    engine
        .docker
        .tag_image(id, Some(opts))
        .await
        .map_err(|e| engine.err(e, Subject::Image(id)))
}

/// `docker rmi --force [--no-prune]`.
pub(crate) async fn remove_image(
    engine: &Engine,
    id: &str,
    noprune: bool,
) -> Result<(), EngineError> {
    let opts = RemoveImageOptionsBuilder::default()
        .force(true)
        .noprune(noprune)
        .build();
    engine
        .docker
        .remove_image(id, Some(opts), None)
        .await
        .map(|_| ())
        .map_err(|e| engine.err(e, Subject::Image(id)))
}

fn image_info(image: ImageInspect) -> ImageInfo {
    let config = image.config.unwrap_or_default();
    let mut exposed_ports = config.exposed_ports.unwrap_or_default();
    exposed_ports.sort();
    let mut volumes = config.volumes.unwrap_or_default();
    volumes.sort();
    let diff_ids = image.root_fs.and_then(|fs| fs.layers).unwrap_or_default();
    ImageInfo {
        id: image.id.unwrap_or_default(),
        tags: image.repo_tags.unwrap_or_default(),
        size: image.size.unwrap_or(0).max(0) as u64,
        layers: diff_ids.len(),
        diff_ids,
        user: config.user.unwrap_or_default(),
        env: config
            .env
            .unwrap_or_default()
            .into_iter()
            .map(|kv| split_env(&kv))
            .collect(),
        labels: config.labels.unwrap_or_default().into_iter().collect(),
        entrypoint: config.entrypoint.filter(|e| !e.is_empty()),
        cmd: config.cmd.filter(|c| !c.is_empty()),
        working_dir: config.working_dir.unwrap_or_default(),
        exposed_ports,
        volumes,
        healthcheck: config.healthcheck.and_then(healthcheck),
        arch: image.architecture.unwrap_or_default(),
        os: image.os.unwrap_or_default(),
        created: image.created.as_deref().and_then(parse_rfc3339),
    }
}

/// `K=V` → `(K, V)`; a bare `K` gives an empty value.
pub(crate) fn split_env(kv: &str) -> (String, String) {
    match kv.split_once('=') {
        Some((k, v)) => (k.to_string(), v.to_string()),
        None => (kv.to_string(), String::new()),
    }
}

/// `None` for no health check and for `HEALTHCHECK NONE`.
fn healthcheck(h: HealthConfig) -> Option<HealthcheckConfig> {
    let test = h.test.unwrap_or_default();
    if test.is_empty() || test[0] == "NONE" {
        return None;
    }
    Some(HealthcheckConfig {
        test,
        interval: nanos(h.interval),
        timeout: nanos(h.timeout),
        retries: h.retries.filter(|r| *r > 0).map(|r| r as u32),
        start_period: nanos(h.start_period),
    })
}

fn nanos(v: Option<i64>) -> Option<Duration> {
    v.filter(|n| *n > 0).map(|n| Duration::from_nanos(n as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::ImageConfig;

    #[test]
    fn maps_an_inspect_answer() {
        let image = ImageInspect {
            id: Some("sha256:abc".into()),
            size: Some(3_967_842),
            config: Some(ImageConfig {
                user: Some("appuser".into()),
                env: Some(vec!["PATH=/bin".into(), "EMPTY=".into(), "BARE".into()]),
                exposed_ports: Some(vec!["9000/udp".into(), "8000/tcp".into()]),
                healthcheck: Some(HealthConfig {
                    test: Some(vec!["CMD-SHELL".into(), "true".into()]),
                    interval: Some(2_000_000_000),
                    timeout: Some(0),
                    retries: Some(3),
                    start_period: None,
                    start_interval: None,
                }),
                ..Default::default()
            }),
            created: Some("2024-05-01T12:00:00.5Z".into()),
            ..Default::default()
        };
        let info = image_info(image);
        assert_eq!(info.size, 3_967_842);
        assert_eq!(info.user, "appuser");
        assert_eq!(
            info.env,
            vec![
                ("PATH".into(), "/bin".into()),
                ("EMPTY".into(), String::new()),
                ("BARE".into(), String::new())
            ]
        );
        assert_eq!(info.exposed_ports, vec!["8000/tcp", "9000/udp"]);
        let hc = info.healthcheck.unwrap();
        assert_eq!(hc.interval, Some(Duration::from_secs(2)));
        assert_eq!(hc.timeout, None);
        assert_eq!(hc.retries, Some(3));
        assert!(info.created.is_some());
        assert_eq!(info.entrypoint, None);
    }

    #[test]
    fn healthcheck_none_is_no_healthcheck() {
        let h = HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..Default::default()
        };
        assert_eq!(healthcheck(h), None);
    }
}
