//! Finding and removing everything that carries a label.

use std::collections::HashMap;

use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListImagesOptionsBuilder, ListNetworksOptionsBuilder,
    ListVolumesOptionsBuilder,
};
use futures_util::future::join_all;

use super::bollard_impl::Engine;
use super::container::remove_container;
use super::errmap::{Subject, is_not_found};
use super::error::EngineError;
use super::image::remove_image;
use super::network::{remove_network, remove_volume};
use super::types::Resources;

pub(crate) async fn list_by_label(engine: &Engine, label: &str) -> Result<Resources, EngineError> {
    let filters = HashMap::from([("label", vec![label])]);
    let err = |e| engine.err(e, Subject::Other);
    let docker = &engine.docker;

    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(err)?;
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(err)?;
    let volumes = docker
        .list_volumes(Some(
            ListVolumesOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(err)?;
    let images = docker
        .list_images(Some(
            ListImagesOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(err)?;

    let mut labels = std::collections::BTreeMap::new();
    let mut note = |id: Option<&String>, l: Option<&HashMap<String, String>>| {
        if let (Some(id), Some(l)) = (id, l) {
            labels.insert(
                id.clone(),
                l.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            );
        }
    };
    for c in &containers {
        note(c.id.as_ref(), c.labels.as_ref());
    }
    for n in &networks {
        note(n.id.as_ref(), n.labels.as_ref());
    }
    for v in volumes.volumes.iter().flatten() {
        note(Some(&v.name), Some(&v.labels));
    }
    for i in &images {
        note(Some(&i.id), Some(&i.labels));
    }
    Ok(Resources {
        labels,
        containers: containers.into_iter().filter_map(|c| c.id).collect(),
        networks: networks.into_iter().filter_map(|n| n.id).collect(),
        volumes: volumes
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.name)
            .collect(),
        images: images.into_iter().map(|i| i.id).collect(),
    })
}

/// IDs of the images with a tag under `prefix` (`dspec/`): what dspec tagged itself.
pub(crate) async fn images_tagged(
    engine: &Engine,
    prefix: &str,
) -> Result<Vec<String>, EngineError> {
    let images = engine
        .docker
        .list_images(Some(ListImagesOptionsBuilder::default().build()))
        .await
        .map_err(|e| engine.err(e, Subject::Other))?;
    Ok(images
        .into_iter()
        .filter(|i| i.repo_tags.iter().any(|t| t.starts_with(prefix)))
        .map(|i| i.id)
        .collect())
}

pub(crate) async fn remove_all(
    engine: &Engine,
    resources: &Resources,
    prune_images: bool,
) -> Result<(), EngineError> {
    let mut first_error: Option<EngineError> = None;
    let mut keep = |result: Result<(), EngineError>| match result {
        Err(e) if !is_not_found(&e) && !is_removal_in_progress(&e) => {
            first_error.get_or_insert(e);
        }
        _ => {}
    };
    // Containers first (they hold networks, volumes and images), in parallel.
    for r in join_all(
        resources
            .containers
            .iter()
            .map(|c| remove_container(engine, c)),
    )
    .await
    {
        keep(r);
    }
    for n in &resources.networks {
        keep(remove_network(engine, n).await);
    }
    for v in &resources.volumes {
        keep(remove_volume(engine, v).await);
    }
    for i in &resources.images {
        keep(remove_image(engine, i, !prune_images).await);
    }
    first_error.map_or(Ok(()), Err)
}

fn is_removal_in_progress(e: &EngineError) -> bool {
    matches!(e, EngineError::Api { status: 409, message } if message.contains("already in progress"))
}
