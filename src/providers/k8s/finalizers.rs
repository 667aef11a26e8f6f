//! Objects a deletion waits for because of finalizers: found, named, and (only when asked)
//! released.
//!
//! A finalizer is removed by the controller that set it; when that controller is gone (Strimzi's
//! topic operator once its Kafka is deleted) the object, and the namespace around it, stay
//! `Terminating` forever. alpaka never waits forever: after [`GRACE`] it names each object and
//! its finalizers with the command that removes them, or removes them itself when the user
//! passed `destroy --remove-finalizers`.

use std::time::Duration;

use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::discovery::Discovery;

use super::access::{Access, Clients, K8sError};

/// How long an object held only by finalizers is waited for. Controllers that run finish their
/// cleanup in seconds (Strimzi's topic operator deletes the topic in Kafka, then removes its
/// finalizer); a minute without progress means nobody is there to do it.
pub const GRACE: Duration = Duration::from_secs(60);

/// One object held by finalizers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// `kafkatopics.kafka.strimzi.io` (what kubectl takes).
    pub resource: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub finalizers: Vec<String>,
}

impl Held {
    /// `Kind ns/name: finalizer, …`
    pub fn describe(&self) -> String {
        let at = match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        };
        format!("{} {at}: {}", self.kind, self.finalizers.join(", "))
    }

    /// The kubectl command that removes its finalizers (skipping the controller's cleanup).
    pub fn kubectl(&self, access: &Access) -> String {
        let ns = self
            .namespace
            .as_deref()
            .map(|n| format!(" -n {n}"))
            .unwrap_or_default();
        format!(
            "kubectl --kubeconfig {} --context {}{ns} patch {} {} --type=merge -p '{{\"metadata\":{{\"finalizers\":null}}}}'",
            access.kubeconfig, access.context, self.resource, self.name
        )
    }
}

/// The error that ends a wait on finalizers nobody removes.
pub fn held_error(what: &str, access: &Access, held: &[Held]) -> K8sError {
    let list: Vec<String> = held.iter().map(|h| format!("  {}", h.describe())).collect();
    let cmds: Vec<String> = held
        .iter()
        .map(|h| format!("  {}", h.kubectl(access)))
        .collect();
    K8sError::Shape(format!(
        "{what} is still there {}s after its deletion, held by finalizers no running controller \
         removed:\n{}\nThe controller that set them is gone or stuck (Strimzi's topic operator \
         goes with its Kafka). Removing a finalizer skips that controller's cleanup (e.g. \
         deleting the topic in Kafka). To remove them:\n{}\nor run `alpaka destroy \
         --remove-finalizers`.",
        GRACE.as_secs(),
        list.join("\n"),
        cmds.join("\n")
    ))
}

/// An object's finalizers when it is marked for deletion (empty otherwise).
pub fn pending_finalizers(obj: &serde_json::Value) -> Vec<String> {
    if !obj["metadata"]["deletionTimestamp"].is_string() {
        return Vec::new();
    }
    obj["metadata"]["finalizers"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// What a terminating Namespace's conditions say is left. The namespace controller
/// (kubernetes v1.36 pkg/controller/namespace/deletion/namespaced_resources_deleter.go) sets
/// `NamespaceContentRemaining` to "Some resources are remaining: <resource>.<group> has N
/// resource instances, …" and `NamespaceFinalizersRemaining` to "Some content in the namespace
/// has finalizers remaining: <finalizer> in N resource instances, …".
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Remaining {
    /// `kafkatopics.kafka.strimzi.io`, …
    pub resources: Vec<String>,
    /// `strimzi.io/topic-operator`, …
    pub finalizers: Vec<String>,
}

pub fn namespace_remaining(ns: &serde_json::Value) -> Remaining {
    let mut r = Remaining::default();
    let Some(conds) = ns["status"]["conditions"].as_array() else {
        return r;
    };
    let items = |msg: &str, sep: &str| -> Vec<String> {
        let list = msg.split_once(": ").map(|(_, l)| l).unwrap_or("");
        list.split(", ")
            .filter_map(|i| i.split_once(sep).map(|(name, _)| name.trim().to_owned()))
            .filter(|n| !n.is_empty())
            .collect()
    };
    for c in conds.iter().filter(|c| c["status"] == "True") {
        let msg = c["message"].as_str().unwrap_or_default();
        match c["type"].as_str() {
            Some("NamespaceContentRemaining") => r.resources = items(msg, " has "),
            Some("NamespaceFinalizersRemaining") => r.finalizers = items(msg, " in "),
            _ => {}
        }
    }
    r
}

/// The objects of `resources` (`plural.group`) in `namespace` that carry finalizers while marked
/// for deletion.
pub async fn held_in_namespace(
    clients: &Clients,
    access: &Access,
    namespace: &str,
    resources: &[String],
) -> Result<Vec<Held>, K8sError> {
    let client = clients.get(access).await?;
    let api_err = |what: String| {
        move |e: kube::Error| K8sError::Api {
            op: "listing",
            what: what.clone(),
            context: access.context.clone(),
            source: Box::new(e),
        }
    };
    let groups: Vec<&str> = resources
        .iter()
        .map(|r| r.split_once('.').map(|(_, g)| g).unwrap_or(""))
        .collect();
    let discovery = Discovery::new(client.clone())
        .filter(&groups)
        .run()
        .await
        .map_err(api_err("the API's resources".into()))?;
    let mut held = Vec::new();
    for resource in resources {
        let (plural, group) = resource.split_once('.').unwrap_or((resource, ""));
        let Some(ar) = discovery
            .groups()
            .filter(|g| g.name() == group)
            .flat_map(|g| g.recommended_resources())
            .map(|(ar, _)| ar)
            .find(|ar| ar.plural == plural)
        else {
            continue;
        };
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &ar);
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(api_err(format!("{resource} in {namespace}")))?;
        for o in list.items {
            let json = serde_json::to_value(&o).unwrap_or_default();
            let finalizers = pending_finalizers(&json);
            if finalizers.is_empty() {
                continue;
            }
            held.push(Held {
                resource: resource.clone(),
                kind: ar.kind.clone(),
                namespace: Some(namespace.to_owned()),
                name: o.metadata.name.clone().unwrap_or_default(),
                finalizers,
            });
        }
    }
    Ok(held)
}

/// Removes the finalizers of `held` (`destroy --remove-finalizers`): a JSON merge patch setting
/// them to null, as Strimzi's documentation does for topics ("Removing finalizers on topics").
pub async fn release(clients: &Clients, access: &Access, held: &[Held]) -> Result<(), K8sError> {
    let client = clients.get(access).await?;
    let discovery_groups: Vec<&str> = held
        .iter()
        .map(|h| h.resource.split_once('.').map(|(_, g)| g).unwrap_or(""))
        .collect();
    let discovery = Discovery::new(client.clone())
        .filter(&discovery_groups)
        .run()
        .await
        .map_err(|e| K8sError::Api {
            op: "discovering",
            what: "the API's resources".into(),
            context: access.context.clone(),
            source: Box::new(e),
        })?;
    let patch = serde_json::json!({"metadata": {"finalizers": null}});
    for h in held {
        let (plural, group) = h.resource.split_once('.').unwrap_or((&h.resource, ""));
        let Some(ar) = discovery
            .groups()
            .filter(|g| g.name() == group)
            .flat_map(|g| g.recommended_resources())
            .map(|(ar, _)| ar)
            .find(|ar| ar.plural == plural)
        else {
            continue;
        };
        let api: Api<DynamicObject> = match &h.namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
            None => Api::all_with(client.clone(), &ar),
        };
        match api
            .patch(&h.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.is_not_found() => {}
            Err(e) => {
                return Err(K8sError::Api {
                    op: "removing the finalizers of",
                    what: h.describe(),
                    context: access.context.clone(),
                    source: Box::new(e),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn namespace_conditions_name_resources_and_finalizers() {
        // As kube-controller-manager 1.36 writes them (seen on integration/controlplane).
        let ns = json!({"status": {"phase": "Terminating", "conditions": [
            {"type": "NamespaceDeletionDiscoveryFailure", "status": "False"},
            {"type": "NamespaceContentRemaining", "status": "True",
             "message": "Some resources are remaining: kafkatopics.kafka.strimzi.io has 1 resource instances, kafkausers.kafka.strimzi.io has 2 resource instances"},
            {"type": "NamespaceFinalizersRemaining", "status": "True",
             "message": "Some content in the namespace has finalizers remaining: strimzi.io/topic-operator in 1 resource instances"},
        ]}});
        let r = namespace_remaining(&ns);
        assert_eq!(
            r.resources,
            [
                "kafkatopics.kafka.strimzi.io",
                "kafkausers.kafka.strimzi.io"
            ]
        );
        assert_eq!(r.finalizers, ["strimzi.io/topic-operator"]);
        assert_eq!(namespace_remaining(&json!({})), Remaining::default());
    }

    #[test]
    fn the_error_names_each_object_and_the_command() {
        let access = Access {
            context: "ctx".into(),
            kubeconfig: "/k".into(),
        };
        let h = Held {
            resource: "kafkatopics.kafka.strimzi.io".into(),
            kind: "KafkaTopic".into(),
            namespace: Some("alpaka".into()),
            name: "t1".into(),
            finalizers: vec!["strimzi.io/topic-operator".into()],
        };
        let e = held_error("Namespace alpaka", &access, &[h]).to_string();
        assert!(
            e.contains("KafkaTopic alpaka/t1: strimzi.io/topic-operator"),
            "{e}"
        );
        assert!(
            e.contains(
                "kubectl --kubeconfig /k --context ctx -n alpaka patch kafkatopics.kafka.strimzi.io t1 --type=merge -p '{\"metadata\":{\"finalizers\":null}}'"
            ),
            "{e}"
        );
        assert!(e.contains("--remove-finalizers"), "{e}");
        let marked = json!({"metadata": {"deletionTimestamp": "x", "finalizers": ["a"]}});
        assert_eq!(pending_finalizers(&marked), ["a"]);
        assert!(pending_finalizers(&json!({"metadata": {"finalizers": ["a"]}})).is_empty());
    }
}
