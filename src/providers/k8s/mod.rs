//! Objects alpaka owns in the cluster (namespace, Strimzi custom resources, Secrets, ConfigMaps,
//! Jobs, Deployments, Services, Ingresses, RBAC, PodMonitors) through kube-rs server-side apply
//! with field manager `alpaka`.
//!
//! Every in-cluster node's desired attributes carry `cluster: {context, kubeconfig}`, unknown
//! outputs of the cluster node that the engine resolves from state; these drivers connect through
//! exactly that kubeconfig and context, never the current one. `read` gets them from the recorded
//! attributes, `ready` from the outputs `create` returned.

pub mod access;
pub mod admission;
pub mod crds;
pub mod finalizers;
pub mod kafka_listeners;
pub mod kafka_upgrade;
pub mod manifest;
pub mod probe;
pub mod project;
pub mod resources;
pub mod secret;
pub mod strimzi_storage;
pub mod volumes;

use std::sync::Arc;

use crate::engine::Drivers;

pub use access::{Access, Clients, K8sError};

/// Kinds whose desired attributes are full manifests (`cluster` + apiVersion/kind/metadata/…).
pub const MANIFEST_KINDS: &[&str] = &[
    "k8s.namespace",
    "k8s.configmap",
    "k8s.deployment",
    "k8s.service",
    "k8s.ingress",
    "k8s.networkpolicy",
    "k8s.podmonitor",
    "k8s.serviceaccount",
    "k8s.storageclass",
    "k8s.role",
    "k8s.rolebinding",
    "strimzi.kafka",
    "strimzi.kafkanodepool",
    "strimzi.kafkaconnect",
    "strimzi.kafkaconnector",
    "strimzi.kafkauser",
    "strimzi.kafkatopic",
];

pub fn register(drivers: &mut Drivers, opts: manifest::DeleteOptions) {
    let clients = Arc::new(Clients::default());
    let generic = Arc::new(
        manifest::ManifestDriver::new(clients.clone(), manifest::IDENTITY)
            .with_delete_options(opts),
    );
    for k in MANIFEST_KINDS {
        let immutable = match *k {
            "k8s.deployment" => manifest::DEPLOYMENT_IDENTITY,
            "k8s.rolebinding" => manifest::ROLEBINDING_IDENTITY,
            "k8s.storageclass" => manifest::STORAGECLASS_IDENTITY,
            "k8s.service" => manifest::SERVICE_IDENTITY,
            // Dropping a listener waits until the clients have moved off it; a version upgrade
            // raises the metadata version only after them.
            "strimzi.kafka" => {
                drivers.register(
                    *k,
                    Arc::new(
                        manifest::ManifestDriver::new(clients.clone(), manifest::IDENTITY)
                            .with_interim(kafka_upgrade::interim)
                            .with_delete_options(opts),
                    ),
                );
                continue;
            }
            _ => {
                drivers.register(*k, generic.clone());
                continue;
            }
        };
        drivers.register(
            *k,
            Arc::new(
                manifest::ManifestDriver::new(clients.clone(), immutable).with_delete_options(opts),
            ),
        );
    }
    // A Job's pod template is immutable: a changed Job is a new Job (its name carries a hash of
    // its inputs, so it re-runs only when they change).
    drivers.register(
        "k8s.job",
        Arc::new(
            manifest::ManifestDriver::new(clients.clone(), manifest::JOB_IDENTITY)
                .with_delete_options(opts),
        ),
    );
    drivers.register("k8s.secret", Arc::new(secret::SecretDriver::new(clients)));
}
