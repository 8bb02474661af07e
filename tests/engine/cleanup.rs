//! Networks, volumes and clean-up by label.

use std::time::{Duration, Instant};

use dspec::engine::docker::{ContainerSpec, DockerApi, EngineError};

use crate::Ctx;
use crate::containers::argv;

pub async fn network_alias_and_volume(ctx: &Ctx) {
    let e = &ctx.engine;
    let net_name = ctx.name("net");
    let t = Instant::now();
    let net = e.create_network(&net_name, &ctx.labels()).await.unwrap();
    ctx.time("create network", t.elapsed());
    let spec = ContainerSpec {
        network: Some(net_name.clone()),
        network_aliases: vec!["web".into()],
        volumes: vec![(ctx.name("data"), "/data".into())],
        user: Some("0".into()),
        init: true,
        ..ctx.spec("aliased")
    };
    let server = e.create_container(&spec).await.unwrap();
    e.start_container(&server).await.unwrap();
    let client_spec = ContainerSpec {
        network: Some(net_name.clone()),
        cmd: Some(argv(&["sleep", "30"])),
        init: true,
        ..ctx.spec("client")
    };
    let client = e.create_container(&client_spec).await.unwrap();
    e.start_container(&client).await.unwrap();

    let info = e.inspect_container(&server).await.unwrap();
    assert!(
        info.ip_addresses.contains_key(&net_name),
        "{:?}",
        info.ip_addresses
    );
    let write = e
        .exec(
            &server,
            &argv(&["sh", "-c", "echo persisted > /data/f"]),
            None,
            crate::EXEC_LIMIT,
        )
        .await
        .unwrap();
    assert_eq!(write.exit_code, 0, "{write:?}");
    // The alias resolves from another container on the network (retry while httpd starts).
    let mut got = String::new();
    for _ in 0..20 {
        let out = e
            .exec(
                &client,
                &argv(&["wget", "-q", "-O", "-", "http://web:8000/"]),
                None,
                crate::EXEC_LIMIT,
            )
            .await
            .unwrap();
        got = out.stdout;
        if out.exit_code == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(got, "hi\n");

    let found = e.list_by_label(&ctx.label()).await.unwrap();
    println!(
        "  labelled: {} containers, {} networks, {} volumes, {} images",
        found.containers.len(),
        found.networks.len(),
        found.volumes.len(),
        found.images.len()
    );
    assert!(found.containers.contains(&server) && found.containers.contains(&client));
    assert!(found.networks.contains(&net));
    assert!(found.volumes.contains(&ctx.name("data")));
    assert!(found.images.contains(&ctx.image));
    // Left running on purpose: the final clean-up must remove running containers, the
    // network they use and the volume.
}

pub async fn cleanup_leaves_nothing(ctx: &Ctx) {
    let e = &ctx.engine;
    let t = Instant::now();
    let found = e.list_by_label(&ctx.label()).await.unwrap();
    ctx.time("list_by_label", t.elapsed());
    let t = Instant::now();
    e.remove_all(&found, true).await.unwrap();
    ctx.time("remove_all", t.elapsed());
    let extra: Vec<String> = ctx.extra_images.lock().unwrap().clone();
    for id in extra {
        e.remove_image(&id, false)
            .await
            .or_else(not_found_ok)
            .unwrap();
    }
    let left = e.list_by_label(&ctx.label()).await.unwrap();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert_eq!(e.inspect_image(&ctx.tag).await.unwrap(), None);
}

pub fn not_found_ok(e: EngineError) -> Result<(), EngineError> {
    match e {
        EngineError::ImageNotFound { .. } => Ok(()),
        other => Err(other),
    }
}
