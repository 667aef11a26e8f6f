//! What makes alpaka's own pods pass the Kubernetes `restricted` Pod Security Standard
//! (kubernetes.io/docs/concepts/security/pod-security-standards, "Restricted"; AWS EKS Best
//! Practices `pods.adoc`; CIS EKS 4.2.x): non-root with a numeric uid, no privilege escalation,
//! every capability dropped, the runtime's default seccomp profile, a read-only root filesystem
//! with an emptyDir for each path the program writes, no service account token, and resource
//! requests and limits. Pure: typed `k8s-openapi` structs only.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, EmptyDirVolumeSource, PodSecurityContext, ResourceRequirements, SeccompProfile,
    SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// The Pod Security Admission labels on alpaka's namespace. `enforce: baseline`: every pod the
/// namespace gets passes it (alpaka's own pods pass `restricted`; the third-party charts' pods
/// pass `baseline`, the node exporter runs in its own namespace, see `charts.rs`), while some
/// chart pods (kafbat UI's, for one, which sets no securityContext) would not pass `restricted`.
/// `warn`/`audit: restricted` make every such pod visible (a `Warning:` on apply, an audit
/// annotation). Versions are `latest`: the cluster evaluates the policy at its own version, so
/// the same labels are right on every distribution and Kubernetes minor alpaka supports (a
/// pinned `vX.Y` newer than the cluster would be read as `latest` anyway), and alpaka's own pods
/// are held to the newest definition by the real-control-plane test.
pub const POD_SECURITY_LABELS: &[(&str, &str)] = &[
    ("pod-security.kubernetes.io/enforce", "baseline"),
    ("pod-security.kubernetes.io/enforce-version", "latest"),
    ("pod-security.kubernetes.io/warn", "restricted"),
    ("pod-security.kubernetes.io/warn-version", "latest"),
    ("pod-security.kubernetes.io/audit", "restricted"),
    ("pod-security.kubernetes.io/audit-version", "latest"),
];

/// The user a workload runs as. `runAsNonRoot` is checked by the kubelet against the image's
/// numeric user; images whose `USER` is a name (cp-ksqldb-server's `appuser`) need the uid
/// spelled out, and spelling it everywhere makes the pod spec say what runs.
#[derive(Debug, Clone, Copy)]
pub struct RunAs {
    pub uid: i64,
    pub gid: i64,
}

/// alpaka's tool image (`images/Dockerfile.tool`: `useradd --uid 1001 --gid 0`, `USER 1001`),
/// also used by the init Job and `alpaka test`'s kcat Jobs.
pub const TOOL_USER: RunAs = RunAs { uid: 1001, gid: 0 };

/// cp-ksqldb-server runs as `appuser` (confluentinc/ksql-images `cp-ksqldb-server/Dockerfile.ubi9`:
/// `USER appuser`), created by confluentinc/common-docker `base-java/Dockerfile.ubi9` with a
/// plain `useradd` on ubi9-minimal: the first regular uid, 1000, group 1000.
pub const KSQLDB_USER: RunAs = RunAs {
    uid: 1000,
    gid: 1000,
};

/// The official MySQL image's `mysql` user (docker-library/mysql `8.4/Dockerfile.oracle`:
/// `groupadd --system --gid 999 mysql && useradd --system --uid 999 --gid 999`). Its entrypoint
/// re-executes itself as `mysql` only when started as root; started as 999 it runs directly.
pub const MYSQL_USER: RunAs = RunAs { uid: 999, gid: 999 };

pub fn pod_security_context(user: RunAs) -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(user.uid),
        run_as_group: Some(user.gid),
        seccomp_profile: Some(runtime_default()),
        ..Default::default()
    }
}

pub fn container_security_context() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        privileged: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Default::default()
        }),
        seccomp_profile: Some(runtime_default()),
        ..Default::default()
    }
}

fn runtime_default() -> SeccompProfile {
    SeccompProfile {
        type_: "RuntimeDefault".into(),
        ..Default::default()
    }
}

/// An emptyDir per path the program writes under a read-only root filesystem, named
/// `scratch-<n>`: (volumes, mounts).
pub fn scratch(paths: &[&str]) -> (Vec<Volume>, Vec<VolumeMount>) {
    paths
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let name = format!("scratch-{i}");
            (
                Volume {
                    name: name.clone(),
                    empty_dir: Some(EmptyDirVolumeSource {
                        // Bounded so a runaway writer is evicted, not the node's disk filled.
                        size_limit: Some(Quantity("1Gi".into())),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                VolumeMount {
                    name,
                    mount_path: (*p).to_owned(),
                    ..Default::default()
                },
            )
        })
        .unzip()
}

/// Requests and limits (cpu, memory) for a container.
pub fn resources(
    cpu_request: &str,
    memory_request: &str,
    cpu_limit: &str,
    memory_limit: &str,
) -> ResourceRequirements {
    let q = |cpu: &str, mem: &str| {
        BTreeMap::from([
            ("cpu".to_owned(), Quantity(cpu.to_owned())),
            ("memory".to_owned(), Quantity(mem.to_owned())),
        ])
    };
    ResourceRequirements {
        requests: Some(q(cpu_request, memory_request)),
        limits: Some(q(cpu_limit, memory_limit)),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_volumes_pair_with_their_mounts() {
        let (v, m) = scratch(&["/tmp", "/etc/x"]);
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].name, m[1].name);
        assert_eq!(m[1].mount_path, "/etc/x");
        assert!(v[0].empty_dir.is_some());
    }

    #[test]
    fn the_container_context_is_restricted() {
        let c = container_security_context();
        assert_eq!(c.allow_privilege_escalation, Some(false));
        assert_eq!(c.read_only_root_filesystem, Some(true));
        assert_eq!(
            c.capabilities.and_then(|c| c.drop),
            Some(vec!["ALL".to_owned()])
        );
    }
}
