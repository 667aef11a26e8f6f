//! The API resources alpaka writes: a small static table instead of discovery (the set is fixed
//! by the stack, and a missing CRD then shows up as the API's own NotFound on apply).

use kube::api::ApiResource;

/// (apiVersion, kind, plural, namespaced).
const TABLE: &[(&str, &str, &str, bool)] = &[
    ("v1", "Namespace", "namespaces", false),
    ("v1", "Secret", "secrets", true),
    ("v1", "ConfigMap", "configmaps", true),
    ("v1", "Service", "services", true),
    ("v1", "ServiceAccount", "serviceaccounts", true),
    ("apps/v1", "Deployment", "deployments", true),
    ("batch/v1", "Job", "jobs", true),
    ("networking.k8s.io/v1", "Ingress", "ingresses", true),
    (
        "networking.k8s.io/v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
    ),
    ("rbac.authorization.k8s.io/v1", "Role", "roles", true),
    (
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        "rolebindings",
        true,
    ),
    ("storage.k8s.io/v1", "StorageClass", "storageclasses", false),
    (
        "monitoring.coreos.com/v1",
        "PodMonitor",
        "podmonitors",
        true,
    ),
    ("kafka.strimzi.io/v1", "Kafka", "kafkas", true),
    // The legacy ZooKeeper mode's operator (0.45) serves v1beta2 only.
    ("kafka.strimzi.io/v1beta2", "Kafka", "kafkas", true),
    (
        "kafka.strimzi.io/v1beta2",
        "KafkaConnect",
        "kafkaconnects",
        true,
    ),
    (
        "kafka.strimzi.io/v1beta2",
        "KafkaConnector",
        "kafkaconnectors",
        true,
    ),
    // `alpaka test`'s fresh topics.
    ("kafka.strimzi.io/v1", "KafkaTopic", "kafkatopics", true),
    (
        "kafka.strimzi.io/v1beta2",
        "KafkaTopic",
        "kafkatopics",
        true,
    ),
    (
        "kafka.strimzi.io/v1",
        "KafkaNodePool",
        "kafkanodepools",
        true,
    ),
    ("kafka.strimzi.io/v1", "KafkaConnect", "kafkaconnects", true),
    // One per Kafka client (`stack::kafka_users`); v1beta2 for the legacy 0.45 operator.
    ("kafka.strimzi.io/v1", "KafkaUser", "kafkausers", true),
    ("kafka.strimzi.io/v1beta2", "KafkaUser", "kafkausers", true),
    (
        "kafka.strimzi.io/v1",
        "KafkaConnector",
        "kafkaconnectors",
        true,
    ),
];

/// The API resource of `apiVersion`/`kind` and whether it is namespaced.
pub fn lookup(api_version: &str, kind: &str) -> Option<(ApiResource, bool)> {
    TABLE
        .iter()
        .find(|(v, k, _, _)| *v == api_version && *k == kind)
        .map(|(v, k, plural, namespaced)| {
            let (group, version) = v.split_once('/').unwrap_or(("", v));
            (
                ApiResource {
                    group: group.to_owned(),
                    version: version.to_owned(),
                    api_version: (*v).to_owned(),
                    kind: (*k).to_owned(),
                    plural: (*plural).to_owned(),
                },
                *namespaced,
            )
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn groups_split() {
        let (ar, ns) = super::lookup("kafka.strimzi.io/v1", "KafkaConnector").unwrap();
        assert_eq!(
            (ar.group.as_str(), ar.version.as_str()),
            ("kafka.strimzi.io", "v1")
        );
        assert!(ns);
        let (ar, ns) = super::lookup("v1", "Namespace").unwrap();
        assert_eq!(ar.group, "");
        assert!(!ns);
        assert!(super::lookup("v1", "Pod").is_none());
    }
}
