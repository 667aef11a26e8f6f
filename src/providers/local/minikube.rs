//! `minikube.cluster`: a minikube profile, made and read through the minikube CLI.
//!
//! Live state comes from `minikube profile list -o json` (size, version, driver, status) and
//! `minikube addons list -o json`. minikube keeps memory and disk in MiB (binary units: `10g` is
//! 10240); they are mapped back to the recorded string when equal, so an unchanged cluster plans
//! as no change. A running cluster's status is `OK` (minikube ≥ 1.35) or `Running` (older).
//! Node labels are not reported by minikube and are taken from state.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use super::cli::{Cmd, default_kubeconfig};
use super::units::ram_in_bytes;
use crate::engine::diff::{self, FieldChange};
use crate::engine::{Driver, DriverError, ResourceId, StepCx, Value};
use crate::state::ResourceState;

/// `minikube profile list -o json`.
#[derive(Debug, Default, Deserialize)]
struct ProfileList {
    #[serde(default)]
    valid: Vec<Profile>,
    #[serde(default)]
    invalid: Vec<Profile>,
}

#[derive(Debug, Deserialize)]
struct Profile {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Status", default)]
    status: String,
    #[serde(rename = "Config", default)]
    config: Option<ProfileConfig>,
}

#[derive(Debug, Default, Deserialize)]
struct ProfileConfig {
    #[serde(rename = "CPUs", default)]
    cpus: i64,
    /// MiB.
    #[serde(rename = "Memory", default)]
    memory: i64,
    /// MiB.
    #[serde(rename = "DiskSize", default)]
    disk_size: i64,
    #[serde(rename = "Driver", default)]
    driver: String,
    #[serde(rename = "KubernetesConfig", default)]
    kubernetes: KubernetesConfig,
}

#[derive(Debug, Default, Deserialize)]
struct KubernetesConfig {
    #[serde(rename = "KubernetesVersion", default)]
    version: String,
}

/// One entry of `minikube addons list -o json` (keyed by addon name).
#[derive(Debug, Deserialize)]
struct AddonStatus {
    #[serde(rename = "Status", default)]
    status: String,
}

/// MiB in a minikube size as minikube v1.37.0 reads `--memory`/`--disk-size`
/// (`pkg/util/utils.go` `CalculateSizeInMB`): a bare integer is MiB, anything else goes through
/// go-units `RAMInBytes` (binary units, so `10g` = 10240) and is cut to whole MiB. `10Gi` is
/// refused there, so here too.
pub fn minikube_mib(s: &str) -> Option<i64> {
    let bytes = if s.parse::<i64>().is_ok() {
        ram_in_bytes(&format!("{s}mb"))?
    } else {
        ram_in_bytes(s)?
    };
    i64::try_from(bytes >> 20).ok()
}

/// `Status` in `profile list -o json`, in alpaka's words: since minikube v1.35.0
/// (`pkg/minikube/cluster/status.go` `GetState`) a running cluster is `OK` (HTTP-like status
/// code names: `OK`, `Stopped`, `Paused`, `Starting`, `Error`, `Unknown`, …; `HAppy` for a
/// healthy HA cluster), before it `Running`. Both mean running; the rest are kept as printed.
fn state_of(status: &str) -> String {
    match status {
        "OK" | "Running" | "HAppy" => "Running".to_owned(),
        "" => "Unknown".to_owned(),
        s => s.to_owned(),
    }
}

/// The enabled addons in `minikube addons list -o json` (v1.37.0
/// `cmd/minikube/cmd/config/addons_list.go` `printAddonsJSON`: every addon by name, with
/// `Status` "enabled"/"disabled", or `{}` when the profile does not exist).
fn enabled(json: &str) -> Result<Vec<String>, serde_json::Error> {
    let m: BTreeMap<String, AddonStatus> = serde_json::from_str(json)?;
    Ok(m.into_iter()
        .filter(|(_, s)| s.status == "enabled")
        .map(|(k, _)| k)
        .collect())
}

fn size_value(live_mib: i64, recorded: Option<&str>) -> Value {
    match recorded {
        Some(r) if minikube_mib(r) == Some(live_mib) => Value::str(r),
        _ => Value::str(format!("{live_mib}m")),
    }
}

const CLUSTER_FIELDS_FORCE_NEW: &[&str] = &[
    "name",
    "cpus",
    "memory",
    "disk_size",
    "kubernetes_version",
    "driver",
    "node_labels",
];

pub struct MinikubeDriver {
    bin: String,
}

impl Default for MinikubeDriver {
    fn default() -> Self {
        MinikubeDriver {
            bin: "minikube".into(),
        }
    }
}

fn name_of(v: &Value) -> Result<String, DriverError> {
    v.get("name")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| DriverError::new("minikube cluster without a `name`"))
}

fn strs_of(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::List(l)) => l
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

impl MinikubeDriver {
    fn cmd(&self) -> Cmd {
        Cmd::new(&self.bin)
    }

    async fn profile(&self, name: &str) -> Result<Option<Profile>, DriverError> {
        let c = self.cmd().args(["profile", "list", "-o", "json"]);
        let out = c.output().await?;
        // minikube v1.37.0 (`cmd/minikube/cmd/config/profile_list.go` `printProfilesJSON`)
        // prints `{"invalid":[],"valid":[]}` and exits 0 when there is no profile, and
        // `{"error":…}` with exit 80 when it cannot list them: a failure, even though that JSON
        // reads as an empty list. The table output's "No minikube profile was found." (exit
        // 14) is taken as none too.
        if !out.success() {
            if no_profiles(&out.text()) {
                return Ok(None);
            }
            return Err(c.failed(&out));
        }
        let list: ProfileList = serde_json::from_str(out.stdout.trim()).map_err(|e| {
            DriverError::new(format!(
                "`{}` printed JSON alpaka cannot read: {e}",
                c.display()
            ))
        })?;
        Ok(list
            .valid
            .into_iter()
            .chain(list.invalid)
            .find(|p| p.name == name))
    }

    async fn enabled_addons(&self, name: &str) -> Result<Vec<String>, DriverError> {
        let out = self
            .cmd()
            .args(["addons", "list", "-p", name, "-o", "json"])
            .run_ok()
            .await?;
        enabled(out.stdout.trim())
            .map_err(|e| DriverError::new(format!("reading `minikube addons list`: {e}")))
    }

    fn outputs(name: &str) -> Value {
        Value::map([
            ("context", Value::str(name)),
            ("kubeconfig", Value::str(default_kubeconfig())),
            ("profile", Value::str(name)),
        ])
    }

    /// `minikube start` with the desired shape; on an existing profile it starts it again.
    async fn start(&self, cx: &StepCx, desired: &Value) -> Result<(), DriverError> {
        let name = name_of(desired)?;
        let s = |k: &str| desired.get(k).and_then(Value::as_str).unwrap_or_default();
        let mut c = self.cmd().args(["start", "-p", &name]);
        if let Some(d) = desired.get("driver").and_then(Value::as_str) {
            c = c.arg(format!("--driver={d}"));
        }
        if let Some(n) = desired.get("cpus").and_then(Value::as_i64) {
            c = c.arg(format!("--cpus={n}"));
        }
        c = c
            .arg(format!("--memory={}", s("memory")))
            .arg(format!("--disk-size={}", s("disk_size")))
            .arg(format!("--kubernetes-version={}", s("kubernetes_version")));
        for a in strs_of(desired.get("addons")) {
            c = c.arg(format!("--addons={a}"));
        }
        if let Some(Value::Map(labels)) = desired.get("node_labels")
            && !labels.is_empty()
        {
            let l: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect();
            c = c.arg(format!(
                "--extra-config=kubelet.node-labels={}",
                l.join(",")
            ));
        }
        // The user's current context stays theirs: alpaka addresses this cluster by name.
        c = c
            .arg("--keep-context")
            .timeout(Duration::from_secs(20 * 60));
        cx.status("minikube start");
        c.run_ok().await?;
        Ok(())
    }
}

fn no_profiles(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("no minikube profile") || t.contains("not found")
}

#[async_trait]
impl Driver for MinikubeDriver {
    fn force_new(&self) -> &[&'static str] {
        CLUSTER_FIELDS_FORCE_NEW
    }

    fn replace_warning(&self) -> Option<&'static str> {
        Some(
            "minikube cannot resize a cluster: the replacement deletes it and everything in it (volumes, Kafka data) and creates a new one",
        )
    }

    async fn read(
        &self,
        _id: &ResourceId,
        recorded: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let name = name_of(&recorded.attrs)?;
        let Some(p) = self.profile(&name).await? else {
            return Ok(None);
        };
        let cfg = p.config.unwrap_or_default();
        let rec = |k: &str| recorded.attrs.get(k).cloned().unwrap_or(Value::Null);
        let state = state_of(&p.status);
        let running = state == "Running";
        let addons = if running {
            Value::List(
                self.enabled_addons(&name)
                    .await?
                    .into_iter()
                    .map(Value::Str)
                    .collect(),
            )
        } else {
            // A stopped cluster cannot say; starting it keeps its addons.
            rec("addons")
        };
        Ok(Some(Value::map([
            ("name", Value::str(&name)),
            ("cpus", Value::Int(cfg.cpus)),
            (
                "memory",
                size_value(
                    cfg.memory,
                    recorded.attrs.get("memory").and_then(Value::as_str),
                ),
            ),
            (
                "disk_size",
                size_value(
                    cfg.disk_size,
                    recorded.attrs.get("disk_size").and_then(Value::as_str),
                ),
            ),
            ("kubernetes_version", Value::str(cfg.kubernetes.version)),
            ("driver", Value::str(cfg.driver)),
            ("addons", addons),
            ("node_labels", rec("node_labels")),
            ("state", Value::str(state)),
        ])))
    }

    /// Sizes equal in MiB are equal (`10g` = `10240m`); of the enabled addons only those the
    /// profile asks for count (minikube enables some by itself).
    fn diff(&self, live: &Value, desired: &Value, salt: &str) -> Vec<FieldChange> {
        let mut live = live.clone();
        if let Value::Map(m) = &mut live {
            for k in ["memory", "disk_size"] {
                let want = desired.get(k).and_then(Value::as_str);
                let have = m.get(k).and_then(Value::as_str).and_then(minikube_mib);
                if let Some(w) = want
                    && have.is_some()
                    && minikube_mib(w) == have
                {
                    m.insert(k.into(), Value::str(w));
                }
            }
            let enabled = strs_of(m.get("addons"));
            let wanted = strs_of(desired.get("addons"));
            let kept: Vec<Value> = wanted
                .iter()
                .filter(|a| enabled.contains(a))
                .map(Value::str)
                .collect();
            m.insert("addons".into(), Value::List(kept));
        }
        diff::diff(&live, desired, self.force_new(), salt)
    }

    async fn create(&self, cx: &StepCx, desired: &Value) -> Result<Value, DriverError> {
        let name = name_of(desired)?;
        self.start(cx, desired).await?;
        Ok(Self::outputs(&name))
    }

    /// In place: start a stopped cluster, enable addons.
    async fn update(
        &self,
        cx: &StepCx,
        _recorded: &ResourceState,
        desired: &Value,
        _changes: &[FieldChange],
    ) -> Result<Value, DriverError> {
        let name = name_of(desired)?;
        let p = self.profile(&name).await?;
        if p.map(|p| state_of(&p.status)).as_deref() != Some("Running") {
            self.start(cx, desired).await?;
        }
        let enabled = self.enabled_addons(&name).await?;
        for a in strs_of(desired.get("addons")) {
            if !enabled.contains(&a) {
                cx.status(&format!("enabling addon {a}"));
                self.cmd()
                    .args(["addons", "enable", &a, "-p", &name])
                    .timeout(Duration::from_secs(10 * 60))
                    .run_ok()
                    .await?;
            }
        }
        Ok(Self::outputs(&name))
    }

    async fn delete(&self, cx: &StepCx, recorded: &ResourceState) -> Result<(), DriverError> {
        let name = name_of(&recorded.attrs)?;
        if self.profile(&name).await?.is_none() {
            return Ok(());
        }
        cx.status("minikube delete");
        let c = self
            .cmd()
            .args(["delete", "-p", &name])
            .timeout(Duration::from_secs(10 * 60));
        let out = c.output().await?;
        if out.success() || no_profiles(&out.text()) {
            Ok(())
        } else {
            Err(c.failed(&out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_mib() {
        // minikube v1.37.0 `CalculateSizeInMB`: bare numbers are MiB, units binary (go-units
        // RAMInBytes), fractions allowed, `Gi` refused.
        assert_eq!(minikube_mib("10g"), Some(10240));
        assert_eq!(minikube_mib("10GB"), Some(10240));
        assert_eq!(minikube_mib("10GiB"), Some(10240));
        assert_eq!(minikube_mib("1.5g"), Some(1536));
        assert_eq!(minikube_mib("8192mb"), Some(8192));
        assert_eq!(minikube_mib("4096"), Some(4096));
        assert_eq!(minikube_mib("20000mb"), Some(20000));
        assert_eq!(minikube_mib("10Gi"), None);
        assert_eq!(minikube_mib("x"), None);
        assert_eq!(size_value(10240, Some("10g")), Value::str("10g"));
        assert_eq!(size_value(8192, Some("10g")), Value::str("8192m"));
    }

    /// `minikube profile list -o json` as minikube v1.37.0 prints it
    /// (`cmd/minikube/cmd/config/profile_list.go` `printProfilesJSON`: `{"invalid":…,"valid":…}`
    /// of `pkg/minikube/config/types.go` `Profile` with its `ClusterConfig`, Go field names, no
    /// JSON tags; `Memory` and `DiskSize` in MiB as `CalculateSizeInMB` made them; `Status`
    /// from `pkg/minikube/cluster/status.go` `GetState`: `OK` when running).
    fn profile_list(status: &str) -> String {
        format!(
            r#"{{"invalid":[],"valid":[{{"Name":"alpaka-minikube","Status":"{status}","Config":{{
            "Name":"alpaka-minikube","KeepContext":true,"EmbedCerts":false,"MinikubeISO":"",
            "KicBaseImage":"gcr.io/k8s-minikube/kicbase:v0.0.48","Memory":10240,"CPUs":4,
            "DiskSize":40960,"Driver":"docker","HyperkitVpnKitSock":"","HyperkitVSockPorts":[],
            "DockerEnv":null,"ContainerVolumeMounts":null,"InsecureRegistry":null,
            "RegistryMirror":[],"HostOnlyCIDR":"192.168.59.1/24","APIServerPort":8443,
            "KubernetesConfig":{{"KubernetesVersion":"v1.34.0","ClusterName":"alpaka-minikube",
              "Namespace":"default","APIServerHAVIP":"","APIServerName":"minikubeCA",
              "APIServerNames":null,"APIServerIPs":null,"DNSDomain":"cluster.local",
              "ContainerRuntime":"docker","CRISocket":"","NetworkPlugin":"cni","FeatureGates":"",
              "ServiceCIDR":"10.96.0.0/12","ImageRepository":"","LoadBalancerStartIP":"",
              "LoadBalancerEndIP":"","CustomIngressCert":"","RegistryAliases":"",
              "ExtraOptions":null,"ShouldLoadCachedImages":true,"EnableDefaultCNI":false,"CNI":""}},
            "Nodes":[{{"Name":"","IP":"192.168.49.2","Port":8443,"KubernetesVersion":"v1.34.0",
              "ContainerRuntime":"docker","ControlPlane":true,"Worker":true}}],
            "Addons":{{"default-storageclass":true,"ingress":true,"metrics-server":true,
              "storage-provisioner":true}},
            "CustomAddonImages":null,"CustomAddonRegistries":null,
            "VerifyComponents":{{"apiserver":true,"system_pods":true}},
            "StartHostTimeout":360000000000,"ScheduledStop":null,"ExposedPorts":[],
            "ListenAddress":"","Network":"","Subnet":"","MultiNodeRequested":false,
            "ExtraDisks":0,"CertExpiration":94608000000000000,"MountString":"","Mount9PVersion":"9p2000.L",
            "MountGID":"docker","MountIP":"","MountMSize":262144,"MountOptions":[],"MountPort":0,
            "MountType":"9p","MountUID":"docker","BinaryMirror":"","DisableOptimizations":false,
            "DisableMetrics":false,"DisableCoreDNSLog":false,"CustomQemuFirmwarePath":"",
            "SocketVMnetClientPath":"","SocketVMnetPath":"","StaticIP":"","SSHAuthSock":"",
            "SSHAgentPID":0,"GPUs":"","AutoPauseInterval":60000000000}},
            "Active":false,"ActiveKubeContext":false}}]}}"#
        )
    }

    #[test]
    fn profile_list_json_is_read() {
        let l: ProfileList = serde_json::from_str(&profile_list("Stopped")).unwrap();
        let p = &l.valid[0];
        assert_eq!(state_of(&p.status), "Stopped");
        let c = p.config.as_ref().unwrap();
        assert_eq!((c.cpus, c.memory, c.disk_size), (4, 10240, 40960));
        assert_eq!(c.kubernetes.version, "v1.34.0");
        assert_eq!(c.driver, "docker");
        // 10g and 40g (the shipped profile) are what minikube stored.
        assert_eq!(minikube_mib("10g"), Some(c.memory));
        assert_eq!(minikube_mib("40g"), Some(c.disk_size));
        // Running is `OK` since v1.35.0, `Running` before; none of them is empty.
        let l: ProfileList = serde_json::from_str(&profile_list("OK")).unwrap();
        assert_eq!(state_of(&l.valid[0].status), "Running");
        assert_eq!(state_of("Running"), "Running");
        assert_eq!(state_of("Paused"), "Paused");
        assert_eq!(state_of(""), "Unknown");
        // No profile at all: exit 0 and this.
        let l: ProfileList = serde_json::from_str(r#"{"invalid":[],"valid":[]}"#).unwrap();
        assert!(l.valid.is_empty() && l.invalid.is_empty());
    }

    #[test]
    fn addons_list_json_is_read() {
        // minikube v1.37.0 `printAddonsJSON` (see `enabled`).
        let j = r#"{"ambassador":{"Profile":"alpaka-minikube","Status":"disabled"},
            "ingress":{"Profile":"alpaka-minikube","Status":"enabled"},
            "metrics-server":{"Profile":"alpaka-minikube","Status":"enabled"},
            "storage-provisioner":{"Profile":"alpaka-minikube","Status":"enabled"}}"#;
        assert_eq!(
            enabled(j).unwrap(),
            ["ingress", "metrics-server", "storage-provisioner"]
        );
        assert!(
            enabled(r#"{"ambassador":{},"ingress":{}}"#)
                .unwrap()
                .is_empty()
        );
        assert!(enabled("* Profile not found").is_err());
    }
}
