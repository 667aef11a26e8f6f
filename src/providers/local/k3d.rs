//! `k3d.cluster`: a k3d cluster (k3s in docker), made and read through the k3d CLI.
//!
//! Live state comes from `k3d cluster list -o json` (k3d v5.8.3 `cmd/cluster/clusterList.go`
//! `PrintClusters`: each cluster with its nodes plus `serversCount/-Running`,
//! `agentsCount/-Running`, `hasLoadbalancer`). A node there is what k3d makes of `docker inspect`
//! (`pkg/runtimes/docker/translate.go` `TranslateContainerDetailsToNode`), which is not what
//! alpaka passed to `k3d cluster create`, so only what it reports truthfully is compared:
//! - `image` is the container's image ID (`sha256:…`), never the reference alpaka asked for: it
//!   is taken from state.
//! - `Memory` is go-units `HumanSize` of the container's limit (`8.59GB` for `--agents-memory 8g`,
//!   `""` when unlimited): compared in bytes, within HumanSize's rounding (see [`super::units`]).
//! - `k3sNodeLabels` is never filled in; the labels are read from the container's `Cmd`
//!   (`agent --node-label K=V …`, `pkg/client/node.go` `NodeCreate`), else taken from state.
//! - the load balancer's `portMappings` are docker's `HostConfig.PortBindings`, as asked.
//!
//! What k3d does not report at all (`fix_dns`) is taken from state.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use super::cli::{Cmd, default_kubeconfig};
use super::units::{human_size_matches, ram_in_bytes};
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

/// A node (k3d v5.8.3 `pkg/types/types.go` `Node`; `Cmd` and `Memory` have no JSON tag). Its
/// `image` is an image ID and is not read.
#[derive(Debug, Deserialize)]
struct Node {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    /// Never filled in by `cluster list` (v5.8.3); read should a later k3d fill it in.
    #[serde(rename = "k3sNodeLabels", default)]
    k3s_node_labels: BTreeMap<String, String>,
    /// The container's command: `["agent", "--node-label", "K=V", …]`; `null` when k3d could
    /// not inspect the container.
    #[serde(rename = "Cmd", default)]
    cmd: Option<Vec<String>>,
    /// go-units `HumanSize` of the memory limit (`8.59GB`), `""` for none.
    #[serde(rename = "Memory", default)]
    memory: String,
    /// `"80/tcp": [{"HostIp": "", "HostPort": "80"}]`.
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

/// `k3d-NAME-agent-10` sorts after `k3d-NAME-agent-9`: agents in k3d's index order.
fn agent_order(n: &Node) -> (u64, &str) {
    let idx = n
        .name
        .rsplit('-')
        .next()
        .and_then(|i| i.parse().ok())
        .unwrap_or(u64::MAX);
    (idx, n.name.as_str())
}

/// The k3s node labels of a node, from `k3sNodeLabels` or its command's `--node-label K=V`
/// (`--node-label=K=V` too: `--k3s-arg` may put it so); `None` when k3d reported neither.
fn node_labels(n: &Node) -> Option<BTreeMap<String, String>> {
    if !n.k3s_node_labels.is_empty() {
        return Some(n.k3s_node_labels.clone());
    }
    let cmd = n.cmd.as_ref()?;
    let mut out = BTreeMap::new();
    let mut it = cmd.iter();
    while let Some(a) = it.next() {
        let kv = if a == "--node-label" {
            it.next().map(String::as_str)
        } else {
            a.strip_prefix("--node-label=")
        };
        if let Some((k, v)) = kv.and_then(|kv| kv.split_once('=')) {
            out.insert(k.to_owned(), v.to_owned());
        }
    }
    Some(out)
}

/// Per-agent label maps without trailing empty ones: `[]` and `[{}, {}]` say the same.
fn trimmed(l: &[Value]) -> &[Value] {
    let n = l
        .iter()
        .rposition(|m| !matches!(m, Value::Map(m) if m.is_empty()))
        .map_or(0, |i| i + 1);
    &l[..n]
}

/// Live attributes in the desired shape; what k3d leaves out comes from `recorded`.
fn live_value(c: &Cluster, recorded: &Value) -> Value {
    let rec = |k: &str| recorded.get(k).cloned().unwrap_or(Value::Null);
    let mut agents: Vec<&Node> = c.nodes.iter().filter(|n| n.role == "agent").collect();
    agents.sort_by(|a, b| agent_order(a).cmp(&agent_order(b)));
    // The first agent whose limit is not the recorded one (as k3d parsed it), if any; an
    // unreadable or empty `Memory` says nothing either way.
    let recorded_memory = recorded.get("agent_memory").and_then(Value::as_str);
    // k3d parsed it with RAMInBytes; alpaka's own reading only for what k3d would refuse.
    let want = recorded_memory.and_then(|r| ram_in_bytes(r).or_else(|| parse_size(r)));
    let differing = agents.iter().map(|a| a.memory.as_str()).find(|m| {
        !m.is_empty()
            && match want {
                Some(b) => human_size_matches(m, b) == Some(false),
                None => true,
            }
    });
    let agent_memory = match differing {
        Some(m) => Value::str(m),
        None => rec("agent_memory"),
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
    let labels: Option<Vec<BTreeMap<String, String>>> =
        agents.iter().map(|a| node_labels(a)).collect();
    let agent_labels = match labels {
        Some(labels) => {
            let recorded_list = match recorded.get("agent_labels") {
                Some(Value::List(l)) => l.as_slice(),
                _ => &[],
            };
            // Only the labels alpaka sets are compared; others may have been added by hand.
            let recorded_keys = |i: usize| -> Vec<String> {
                recorded_list
                    .get(i)
                    .and_then(Value::as_map)
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default()
            };
            let live: Vec<Value> = labels
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let keys = recorded_keys(i);
                    Value::Map(
                        l.iter()
                            .filter(|(k, _)| keys.contains(k) || k.starts_with("alpaka"))
                            .map(|(k, v)| (k.clone(), Value::str(v)))
                            .collect(),
                    )
                })
                .collect();
            match recorded.get("agent_labels") {
                Some(r) if trimmed(&live) == trimmed(recorded_list) => r.clone(),
                _ => Value::List(trimmed(&live).to_vec()),
            }
        }
        // Some agent's command is unknown: nothing to compare.
        None => rec("agent_labels"),
    };
    Value::map([
        ("name", Value::str(&c.name)),
        ("servers", Value::Int(c.servers_count)),
        ("agents", Value::Int(c.agents_count)),
        ("agent_memory", agent_memory),
        // The image ID says nothing about the reference asked for.
        ("image", rec("image")),
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

    /// `k3d cluster list -o json` for the shipped profile's cluster as k3d v5.8.3 prints it
    /// (`cmd/cluster/clusterList.go` `PrintClusters`: the `k3d.Cluster` with its nodes from
    /// `pkg/runtimes/docker/translate.go` `TranslateContainerDetailsToNode`, JSON tags of
    /// `pkg/types/types.go`): `image` is the container's image ID, `Memory` go-units `HumanSize`
    /// of the limit, no `k3sNodeLabels` (the labels are in `Cmd`), user ports bound with
    /// `HostIp: ""` (`nat.ParsePortSpec` of `80:80`), the API port on `0.0.0.0`.
    fn k3d_list(agent_memory: &str, agents_running: bool) -> String {
        let agent = |i: usize, label: &str| {
            format!(
                r#"{{"name":"k3d-alpaka-k3d-agent-{i}","role":"agent",
                "image":"sha256:8d7f9c1b1e6a4f1d2e3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0",
                "volumes":["k3d-alpaka-k3d-images:/k3d/images"],
                "env":["K3S_URL=https://k3d-alpaka-k3d-server-0:6443","K3S_KUBECONFIG_OUTPUT=/output/kubeconfig.yaml"],
                "Cmd":["agent","--node-label","alpaka/node-type={label}"],
                "restart":true,"created":"2026-01-01T10:00:0{i}.000000000Z",
                "runtimeLabels":{{"app":"k3d","k3d.cluster":"alpaka-k3d","k3d.role":"agent","k3d.version":"v5.8.3",
                  "k3d.cluster.network":"k3d-alpaka-k3d","k3d.cluster.imageVolume":"k3d-alpaka-k3d-images"}},
                "Networks":["k3d-alpaka-k3d"],"ExtraHosts":null,
                "serverOpts":{{"kubeAPI":{{"Port":"","Binding":{{"HostIp":"","HostPort":""}}}}}},
                "agentOpts":{{}},"GPURequest":"","Memory":"{agent_memory}",
                "State":{{"Running":{agents_running},"Status":"{status}","Started":""}},
                "IP":{{"IP":"172.18.0.{ip}","Static":false}},"K3dEntrypoint":true}}"#,
                status = if agents_running { "running" } else { "exited" },
                ip = i + 3,
            )
        };
        format!(
            r#"[{{"name":"alpaka-k3d","network":{{"name":"k3d-alpaka-k3d","id":"",
            "ipam":{{"ipPrefix":"","Managed":false}},"Members":null}},
            "nodes":[
            {{"name":"k3d-alpaka-k3d-serverlb","role":"loadbalancer",
              "image":"sha256:0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d",
              "Cmd":null,"portMappings":{{"6443/tcp":[{{"HostIp":"0.0.0.0","HostPort":"41231"}}],
              "80/tcp":[{{"HostIp":"","HostPort":"80"}}]}},"restart":true,
              "runtimeLabels":{{"app":"k3d","k3d.cluster":"alpaka-k3d","k3d.role":"loadbalancer"}},
              "Networks":["k3d-alpaka-k3d"],"ExtraHosts":null,
              "serverOpts":{{"kubeAPI":{{"Port":"","Binding":{{"HostIp":"","HostPort":""}}}}}},
              "agentOpts":{{}},"GPURequest":"","Memory":"",
              "State":{{"Running":true,"Status":"running","Started":""}},
              "IP":{{"IP":"172.18.0.5","Static":false}},"K3dEntrypoint":true}},
            {agent1},{agent0},
            {{"name":"k3d-alpaka-k3d-server-0","role":"server",
              "image":"sha256:8d7f9c1b1e6a4f1d2e3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0",
              "Cmd":["server","--tls-san","0.0.0.0","--tls-san","k3d-alpaka-k3d-serverlb"],
              "restart":true,"runtimeLabels":{{"app":"k3d","k3d.cluster":"alpaka-k3d","k3d.role":"server",
                "k3d.server.api.host":"0.0.0.0","k3d.server.api.hostIP":"0.0.0.0","k3d.server.api.port":"41231"}},
              "Networks":["k3d-alpaka-k3d"],"ExtraHosts":null,
              "serverOpts":{{"kubeAPI":{{"Port":"","Binding":{{"HostIp":"0.0.0.0","HostPort":"41231"}},"host":"0.0.0.0"}}}},
              "agentOpts":{{}},"GPURequest":"","Memory":"",
              "State":{{"Running":true,"Status":"running","Started":""}},
              "IP":{{"IP":"172.18.0.2","Static":false}},"K3dEntrypoint":true}}],
            "InitNode":null,"imageVolume":"k3d-alpaka-k3d-images",
            "serversRunning":1,"serversCount":1,"agentsRunning":{running},"agentsCount":2,
            "hasLoadbalancer":true}}]"#,
            agent0 = agent(0, "infra"),
            agent1 = agent(1, "worker"),
            running = if agents_running { 2 } else { 0 },
        )
    }

    fn read(json: &str, recorded: &Value) -> Value {
        let l: Vec<Cluster> = serde_json::from_str(json).unwrap();
        live_value(&l[0], recorded)
    }

    #[test]
    fn real_list_of_an_unchanged_cluster_is_no_change() {
        // `--agents-memory 8g` is 8 GiB to k3d (RAMInBytes): HumanSize prints 8.59GB.
        let live = read(&k3d_list("8.59GB", true), &desired());
        assert_eq!(live, desired());
        assert!(K3dDriver::default().diff(&live, &desired(), "s").is_empty());
    }

    #[test]
    fn real_list_shows_what_really_changed() {
        // Another limit than recorded: shown as k3d reports it, which forces replacement.
        let live = read(&k3d_list("4.295GB", true), &desired());
        assert_eq!(live.get("agent_memory"), Some(&Value::str("4.295GB")));
        let d = K3dDriver::default().diff(&live, &desired(), "s");
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].forces_replacement);
        // Stopped agents: only `state`, in place.
        let live = read(&k3d_list("8.59GB", false), &desired());
        let d = K3dDriver::default().diff(&live, &desired(), "s");
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].path, ["state"]);
        assert!(!d[0].forces_replacement);
        // Labels the nodes were made with that are not the recorded ones.
        let mut rec = desired();
        if let Value::Map(m) = &mut rec {
            m.insert(
                "agent_labels".into(),
                Value::List(vec![
                    Value::map([("alpaka/node-type", Value::str("worker"))]),
                    Value::map([("alpaka/node-type", Value::str("infra"))]),
                ]),
            );
        }
        let live = read(&k3d_list("8.59GB", true), &rec);
        assert_eq!(live.get("agent_labels"), desired().get("agent_labels"));
    }

    #[test]
    fn unreported_fields_come_from_state() {
        // No limit (`""`), no command (k3d could not inspect the container): carried.
        let j = k3d_list("", true).replace(
            r#""Cmd":["agent","--node-label","alpaka/node-type=infra"]"#,
            r#""Cmd":null"#,
        );
        let live = read(&j, &desired());
        assert_eq!(live, desired());
        // No labels asked and none on the nodes: `[]` stays `[]`.
        let mut rec = desired();
        if let Value::Map(m) = &mut rec {
            m.insert("agent_labels".into(), Value::List(vec![]));
        }
        let j = k3d_list("8.59GB", true)
            .replace(r#","--node-label","alpaka/node-type=infra""#, "")
            .replace(r#","--node-label","alpaka/node-type=worker""#, "");
        assert_eq!(read(&j, &rec), rec);
    }

    #[test]
    fn agents_in_index_order_and_labels_from_the_command() {
        let n = |name: &str, cmd: &[&str]| Node {
            name: name.into(),
            role: "agent".into(),
            k3s_node_labels: BTreeMap::new(),
            cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
            memory: String::new(),
            port_mappings: BTreeMap::new(),
        };
        let mut v = [n("k3d-c-agent-10", &[]), n("k3d-c-agent-9", &[])];
        v.sort_by(|a, b| agent_order(a).cmp(&agent_order(b)));
        assert_eq!(v[0].name, "k3d-c-agent-9");
        let l = node_labels(&n(
            "a",
            &[
                "agent",
                "--node-label",
                "a=1",
                "--node-label=b=2",
                "--kubelet-arg",
                "x=y",
            ],
        ))
        .unwrap();
        assert_eq!(
            l,
            BTreeMap::from([
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), "2".to_owned())
            ])
        );
    }
}
