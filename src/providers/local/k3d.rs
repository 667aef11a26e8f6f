//! `k3d.cluster`: a k3d cluster (k3s in docker), made and read through the k3d CLI.
//!
//! Live state comes from `k3d cluster list -o json`: server/agent counts and how many run, the
//! node image, agent memory and k3s node labels, the load balancer's port mappings. What k3d does
//! not report back (`fix_dns`; any field a k3d version leaves out) is taken from state.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use super::cli::{Cmd, default_kubeconfig};
use crate::engine::diff::FieldChange;
use crate::engine::{Driver, DriverError, ResourceId, StepCx, Value};
use crate::model::types::parse_size;
use crate::state::ResourceState;

/// One entry of `k3d cluster list -o json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cluster {
    name: String,
    #[serde(default)]
    nodes: Vec<Node>,
    #[serde(default)]
    servers_count: i64,
    #[serde(default)]
    servers_running: i64,
    #[serde(default)]
    agents_count: i64,
    #[serde(default)]
    agents_running: i64,
}

#[derive(Debug, Deserialize)]
struct Node {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    image: String,
    #[serde(rename = "k3sNodeLabels", default)]
    k3s_node_labels: BTreeMap<String, String>,
    #[serde(rename = "Memory", default)]
    memory: String,
    /// `"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "80"}]`.
    #[serde(rename = "portMappings", default)]
    port_mappings: BTreeMap<String, Vec<PortBinding>>,
}

#[derive(Debug, Deserialize)]
struct PortBinding {
    #[serde(rename = "HostPort", default)]
    host_port: String,
}

/// The Kubernetes API port k3d puts on the load balancer itself; not one of the profile's ports.
const KUBE_API_PORT: &str = "6443";

pub struct K3dDriver {
    bin: String,
}

impl Default for K3dDriver {
    fn default() -> Self {
        K3dDriver { bin: "k3d".into() }
    }
}

fn name_of(v: &Value) -> Result<String, DriverError> {
    v.get("name")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| DriverError::new("k3d cluster without a `name`"))
}

/// k3d names the kubeconfig context of cluster `n` `k3d-n`.
pub fn context_of(name: &str) -> String {
    format!("k3d-{name}")
}

impl K3dDriver {
    async fn cluster(&self, name: &str) -> Result<Option<Cluster>, DriverError> {
        let c = Cmd::new(&self.bin).args(["cluster", "list", "-o", "json"]);
        let out = c.run_ok().await?;
        let list: Vec<Cluster> = serde_json::from_str(out.stdout.trim()).map_err(|e| {
            DriverError::new(format!(
                "`{}` printed JSON alpaka cannot read: {e}",
                c.display()
            ))
        })?;
        Ok(list.into_iter().find(|c| c.name == name))
    }

    fn outputs(name: &str) -> Value {
        Value::map([
            ("context", Value::str(context_of(name))),
            ("kubeconfig", Value::str(default_kubeconfig())),
        ])
    }

    async fn start(&self, cx: &StepCx, name: &str) -> Result<(), DriverError> {
        cx.status("k3d cluster start");
        Cmd::new(&self.bin)
            .args(["cluster", "start", name, "--wait"])
            .timeout(Duration::from_secs(10 * 60))
            .run_ok()
            .await?;
        Ok(())
    }
}

fn running(c: &Cluster) -> bool {
    c.servers_count > 0
        && c.servers_running == c.servers_count
        && c.agents_running == c.agents_count
}

/// The `k3d cluster create` command for the desired attributes.
fn create_cmd(bin: &str, desired: &Value) -> Result<Cmd, DriverError> {
    let name = name_of(desired)?;
    let int = |k: &str| desired.get(k).and_then(Value::as_i64).unwrap_or(0);
    let fix_dns = desired
        .get("fix_dns")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut c = Cmd::new(bin)
        .env("K3D_FIX_DNS", if fix_dns { "1" } else { "0" })
        .args(["cluster", "create", &name])
        .arg("--servers")
        .arg(int("servers").to_string())
        .arg("--agents")
        .arg(int("agents").to_string());
    if let Some(m) = desired.get("agent_memory").and_then(Value::as_str) {
        c = c.arg("--agents-memory").arg(m);
    }
    if let Some(i) = desired.get("image").and_then(Value::as_str) {
        c = c.arg("--image").arg(i);
    }
    if let Some(Value::List(ports)) = desired.get("ports") {
        for p in ports.iter().filter_map(Value::as_str) {
            c = c.arg("-p").arg(p);
        }
    }
    if let Some(Value::List(agents)) = desired.get("agent_labels") {
        for (i, labels) in agents.iter().enumerate() {
            if let Value::Map(m) = labels {
                for (k, v) in m {
                    let v = v.as_str().unwrap_or_default();
                    c = c.arg("--k3s-node-label").arg(format!("{k}={v}@agent:{i}"));
                }
            }
        }
    }
    // Written to the default kubeconfig as `k3d-<name>`, without switching the current context:
    // alpaka addresses this cluster by its context name, never by "whatever is current".
    Ok(c.args([
        "--kubeconfig-update-default",
        "--kubeconfig-switch-context=false",
        "--wait",
    ])
    .timeout(Duration::from_secs(15 * 60)))
}

/// Live attributes in the desired shape; what k3d leaves out comes from `recorded`.
fn live_value(c: &Cluster, recorded: &Value) -> Value {
    let rec = |k: &str| recorded.get(k).cloned().unwrap_or(Value::Null);
    let mut agents: Vec<&Node> = c.nodes.iter().filter(|n| n.role == "agent").collect();
    agents.sort_by(|a, b| a.name.cmp(&b.name));
    let image = c
        .nodes
        .iter()
        .find(|n| n.role == "server" && !n.image.is_empty())
        .map(|n| Value::str(&n.image))
        .unwrap_or_else(|| rec("image"));
    let agent_memory = match agents.first().map(|a| a.memory.as_str()) {
        Some(m) if !m.is_empty() => match recorded.get("agent_memory").and_then(Value::as_str) {
            Some(r) if parse_size(r).is_some() && parse_size(r) == parse_size(m) => Value::str(r),
            _ => Value::str(m),
        },
        _ => rec("agent_memory"),
    };
    let ports = match c.nodes.iter().find(|n| n.role == "loadbalancer") {
        Some(lb) if !lb.port_mappings.is_empty() => {
            let mut ps: Vec<Value> = Vec::new();
            for (container, binds) in &lb.port_mappings {
                let cport = container.split('/').next().unwrap_or(container);
                if cport == KUBE_API_PORT {
                    continue;
                }
                for b in binds {
                    ps.push(Value::str(format!("{}:{cport}@loadbalancer", b.host_port)));
                }
            }
            Value::List(ps)
        }
        _ => rec("ports"),
    };
    let agent_labels = if agents.iter().any(|a| !a.k3s_node_labels.is_empty()) {
        // Only the labels alpaka sets are compared; k3s adds its own.
        let recorded_keys = |i: usize| -> Vec<String> {
            match recorded.get("agent_labels") {
                Some(Value::List(l)) => l
                    .get(i)
                    .and_then(Value::as_map)
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default(),
                _ => Vec::new(),
            }
        };
        Value::List(
            agents
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    let keys = recorded_keys(i);
                    Value::Map(
                        a.k3s_node_labels
                            .iter()
                            .filter(|(k, _)| keys.contains(k) || k.starts_with("alpaka"))
                            .map(|(k, v)| (k.clone(), Value::str(v)))
                            .collect(),
                    )
                })
                .collect(),
        )
    } else {
        rec("agent_labels")
    };
    Value::map([
        ("name", Value::str(&c.name)),
        ("servers", Value::Int(c.servers_count)),
        ("agents", Value::Int(c.agents_count)),
        ("agent_memory", agent_memory),
        ("image", image),
        ("ports", ports),
        ("fix_dns", rec("fix_dns")),
        ("agent_labels", agent_labels),
        (
            "state",
            Value::str(if running(c) { "Running" } else { "Stopped" }),
        ),
    ])
}

#[async_trait]
impl Driver for K3dDriver {
    fn force_new(&self) -> &[&'static str] {
        &[
            "name",
            "servers",
            "agents",
            "agent_memory",
            "image",
            "ports",
            "fix_dns",
            "agent_labels",
        ]
    }

    fn replace_warning(&self) -> Option<&'static str> {
        Some(
            "k3d cannot reshape a cluster: the replacement deletes it and everything in it (volumes, Kafka data) and creates a new one",
        )
    }

    async fn read(
        &self,
        _id: &ResourceId,
        recorded: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let name = name_of(&recorded.attrs)?;
        Ok(self
            .cluster(&name)
            .await?
            .map(|c| live_value(&c, &recorded.attrs)))
    }

    /// Idempotent: an existing cluster of that name is started if stopped and adopted.
    async fn create(&self, cx: &StepCx, desired: &Value) -> Result<Value, DriverError> {
        let name = name_of(desired)?;
        match self.cluster(&name).await? {
            Some(c) if running(&c) => {}
            Some(_) => self.start(cx, &name).await?,
            None => {
                cx.status("k3d cluster create");
                create_cmd(&self.bin, desired)?.run_ok().await?;
            }
        }
        Ok(Self::outputs(&name))
    }

    /// In place only `state`: start a stopped cluster.
    async fn update(
        &self,
        cx: &StepCx,
        _recorded: &ResourceState,
        desired: &Value,
        _changes: &[FieldChange],
    ) -> Result<Value, DriverError> {
        let name = name_of(desired)?;
        match self.cluster(&name).await? {
            Some(c) if running(&c) => {}
            Some(_) => self.start(cx, &name).await?,
            None => {
                return Err(DriverError::new(format!(
                    "k3d cluster `{name}` is gone; plan again to create it"
                )));
            }
        }
        Ok(Self::outputs(&name))
    }

    async fn delete(&self, cx: &StepCx, recorded: &ResourceState) -> Result<(), DriverError> {
        let name = name_of(&recorded.attrs)?;
        if self.cluster(&name).await?.is_none() {
            return Ok(());
        }
        cx.status("k3d cluster delete");
        Cmd::new(&self.bin)
            .args(["cluster", "delete", &name])
            .timeout(Duration::from_secs(10 * 60))
            .run_ok()
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired() -> Value {
        Value::map([
            ("name", Value::str("alpaka-k3d")),
            ("servers", Value::Int(1)),
            ("agents", Value::Int(2)),
            ("agent_memory", Value::str("8g")),
            ("image", Value::str("rancher/k3s:v1.34.1-k3s1")),
            ("ports", Value::List(vec![Value::str("80:80@loadbalancer")])),
            ("fix_dns", Value::Bool(true)),
            (
                "agent_labels",
                Value::List(vec![
                    Value::map([("alpaka/node-type", Value::str("infra"))]),
                    Value::map([("alpaka/node-type", Value::str("worker"))]),
                ]),
            ),
            ("state", Value::str("Running")),
        ])
    }

    #[test]
    fn create_command_has_every_flag() {
        let c = create_cmd("k3d", &desired()).unwrap().display();
        assert_eq!(
            c,
            "K3D_FIX_DNS=1 k3d cluster create alpaka-k3d --servers 1 --agents 2 --agents-memory 8g \
             --image rancher/k3s:v1.34.1-k3s1 -p 80:80@loadbalancer \
             --k3s-node-label alpaka/node-type=infra@agent:0 \
             --k3s-node-label alpaka/node-type=worker@agent:1 \
             --kubeconfig-update-default --kubeconfig-switch-context=false --wait"
        );
    }

    #[test]
    fn list_json_maps_to_desired_shape() {
        let j = r#"[{"name":"alpaka-k3d","serversCount":1,"serversRunning":1,"agentsCount":2,
          "agentsRunning":2,"hasLoadbalancer":true,"nodes":[
          {"name":"k3d-alpaka-k3d-server-0","role":"server","image":"rancher/k3s:v1.34.1-k3s1"},
          {"name":"k3d-alpaka-k3d-agent-1","role":"agent","Memory":"8g","k3sNodeLabels":{"alpaka/node-type":"worker"}},
          {"name":"k3d-alpaka-k3d-agent-0","role":"agent","Memory":"8g","k3sNodeLabels":{"alpaka/node-type":"infra"}},
          {"name":"k3d-alpaka-k3d-serverlb","role":"loadbalancer",
           "portMappings":{"6443/tcp":[{"HostIp":"0.0.0.0","HostPort":"41231"}],"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"80"}]}}]}]"#;
        let l: Vec<Cluster> = serde_json::from_str(j).unwrap();
        let live = live_value(&l[0], &desired());
        assert_eq!(live, desired());
    }
}
