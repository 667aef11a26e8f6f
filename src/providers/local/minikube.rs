//! `minikube.cluster`: a minikube profile, made and read through the minikube CLI.
//!
//! Live state comes from `minikube profile list -o json` (size, version, driver, status) and
//! `minikube addons list -o json`. minikube keeps memory and disk in MiB; they are mapped back to
//! the recorded string when equal, so an unchanged cluster plans as no change. Node labels are
//! not reported by minikube and are taken from state.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use super::cli::{Cmd, default_kubeconfig};
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

/// MiB in a minikube size: `10g`, `8192m`, `8192mb`, `10Gi`, a bare number = MiB
/// (minikube parses sizes with binary units).
pub fn minikube_mib(s: &str) -> Option<i64> {
    let s = s.trim().to_ascii_lowercase();
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: i64 = s.get(..end)?.parse().ok()?;
    let unit = s[end..].trim_end_matches('b').trim_end_matches('i');
    let mult = match unit {
        "" | "m" => 1,
        "g" => 1024,
        "t" => 1024 * 1024,
        "k" => return Some(n / 1024),
        _ => return None,
    };
    n.checked_mul(mult)
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
        // With no profile at all minikube exits non-zero; its JSON (if any) still says so.
        let list: ProfileList = match serde_json::from_str(out.stdout.trim()) {
            Ok(l) => l,
            Err(_) if !out.success() && no_profiles(&out.text()) => ProfileList::default(),
            Err(e) if out.success() => {
                return Err(DriverError::new(format!(
                    "`{}` printed JSON alpaka cannot read: {e}",
                    c.display()
                )));
            }
            Err(_) => return Err(c.failed(&out)),
        };
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
        let m: BTreeMap<String, AddonStatus> = serde_json::from_str(out.stdout.trim())
            .map_err(|e| DriverError::new(format!("reading `minikube addons list`: {e}")))?;
        Ok(m.into_iter()
            .filter(|(_, s)| s.status == "enabled")
            .map(|(k, _)| k)
            .collect())
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
        let running = p.status == "Running";
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
            (
                "state",
                Value::str(if p.status.is_empty() {
                    "Unknown".to_owned()
                } else {
                    p.status
                }),
            ),
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
        if p.as_ref().map(|p| p.status.as_str()) != Some("Running") {
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
        assert_eq!(minikube_mib("10g"), Some(10240));
        assert_eq!(minikube_mib("10Gi"), Some(10240));
        assert_eq!(minikube_mib("8192mb"), Some(8192));
        assert_eq!(minikube_mib("4096"), Some(4096));
        assert_eq!(minikube_mib("x"), None);
        assert_eq!(size_value(10240, Some("10g")), Value::str("10g"));
        assert_eq!(size_value(8192, Some("10g")), Value::str("8192m"));
    }

    #[test]
    fn profile_list_json_is_read() {
        let j = r#"{"invalid":[],"valid":[{"Name":"alpaka-minikube","Status":"Stopped",
            "Config":{"Name":"alpaka-minikube","Memory":10240,"CPUs":4,"DiskSize":40960,
            "Driver":"docker","KubernetesConfig":{"KubernetesVersion":"v1.34.0"}},"Active":false}]}"#;
        let l: ProfileList = serde_json::from_str(j).unwrap();
        let p = &l.valid[0];
        assert_eq!(p.status, "Stopped");
        let c = p.config.as_ref().unwrap();
        assert_eq!((c.cpus, c.memory, c.disk_size), (4, 10240, 40960));
        assert_eq!(c.kubernetes.version, "v1.34.0");
    }
}
