//! Local and existing clusters: minikube and k3d through their CLIs, an existing cluster (k3s or
//! any other) through a kubeconfig context. Each driver knows its tool only, not the stack.

pub mod cli;
pub mod existing;
pub mod k3d;
pub mod minikube;
pub mod units;

use std::sync::Arc;

use crate::engine::Drivers;

/// Register the cluster drivers; every profile gets them (a state may hold any kind).
pub fn register(drivers: &mut Drivers) {
    drivers.register(
        "minikube.cluster",
        Arc::new(minikube::MinikubeDriver::default()),
    );
    drivers.register("k3d.cluster", Arc::new(k3d::K3dDriver::default()));
    drivers.register(
        "k8s.existing-cluster",
        Arc::new(existing::ExistingClusterDriver),
    );
}
