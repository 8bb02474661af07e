//! Networks and volumes.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{EndpointSettings, NetworkConnectRequest, NetworkCreateRequest};
use bollard::query_parameters::RemoveVolumeOptionsBuilder;

use super::bollard_impl::Engine;
use super::errmap::Subject;
use super::error::EngineError;

/// Creates a bridge network; returns its ID.
pub(crate) async fn create_network(
    engine: &Engine,
    name: &str,
    labels: &BTreeMap<String, String>,
) -> Result<String, EngineError> {
    let request = NetworkCreateRequest {
        name: name.to_string(),
        driver: Some("bridge".to_string()),
        labels: Some(labels.clone().into_iter().collect::<HashMap<_, _>>()),
        ..Default::default()
    };
    let created = engine
        .docker
        .create_network(request)
        .await
        .map_err(|e| engine.err(e, Subject::Other))?;
    Ok(created.id)
}

pub(crate) async fn remove_network(engine: &Engine, id: &str) -> Result<(), EngineError> {
    engine
        .docker
        .remove_network(id)
        .await
        .map_err(|e| engine.err(e, Subject::Other))
}

pub(crate) async fn remove_volume(engine: &Engine, name: &str) -> Result<(), EngineError> {
    let opts = RemoveVolumeOptionsBuilder::default().force(false).build();
    engine
        .docker
        .remove_volume(name, Some(opts))
        .await
        .map_err(|e| engine.err(e, Subject::Other))
}

pub(crate) async fn connect_network(
    engine: &Engine,
    network: &str,
    container: &str,
    aliases: &[String],
) -> Result<(), EngineError> {
    let request = NetworkConnectRequest {
        container: container.to_string(),
        endpoint_config: Some(EndpointSettings {
            aliases: Some(aliases.to_vec()),
            ..Default::default()
        }),
    };
    engine
        .docker
        .connect_network(network, request)
        .await
        .map_err(|e| engine.err(e, Subject::Other))
}
