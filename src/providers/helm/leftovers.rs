//! What helm leaves on a cluster alpaka did not create, for `destroy` (issue 22 item 5): the CRDs
//! of every chart alpaka installed (helm never deletes a chart's `crds/`: helm's "Custom Resource
//! Definitions" best-practices page) and the cluster-scoped objects a chart marks
//! `helm.sh/resource-policy: keep` (helm v4.2.3 `pkg/action/resource_policy.go`
//! `filterManifestsToKeep`: uninstall skips them; the value is compared trimmed and lowercased).
//! Namespaced ones go with alpaka's namespace.
//!
//! [`find`] lists them before destroy (from the state's releases: `helm show crds` of each
//! recorded chart version, `helm get manifest` of each release); [`settle`] looks again after
//! destroy and, when asked (`destroy --delete-crds`), deletes each that no other helm release
//! (any namespace) ships or uses and, for a CRD, of whose kind no custom resource remains.
//! "Ships": another release of the same chart, or one whose manifest holds the object;
//! "uses": a release whose manifest holds an object of the CRD's kind. A chart that ships the
//! same CRD in its own `crds/` under another name is not seen (helm's CLI does not show an
//! installed release's `crds/`); its custom resources, if any, still keep the CRD.

use std::collections::BTreeSet;

use kube::api::{Api, DeleteParams, DynamicObject};
use kube::discovery::{Scope, pinned_kind};
use serde::Deserialize;

use super::{HelmDriver, Release};
use crate::providers::k8s::crds::{self, CrdKind};
use crate::providers::k8s::{Access, access::connect};
use crate::providers::local::cli::Cmd;
use crate::state::State;

/// The annotation and value that keep an object past `helm uninstall` (helm v4.2.3
/// `pkg/kube/resource_policy.go`).
const RESOURCE_POLICY: &str = "helm.sh/resource-policy";
const KEEP: &str = "keep";

/// How many custom resources a message names.
const NAMED: u32 = 5;

/// One object helm leaves behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    /// Why helm leaves it: `crds/ of chart C V`, or `helm.sh/resource-policy: keep in release ns/r`.
    pub why: String,
    /// The chart that ships it (another release of it ships it too).
    pub chart: String,
    /// A CRD's kind, to look for its custom resources.
    pub crd: Option<CrdKind>,
}

impl Leftover {
    /// One line for the destroy plan.
    pub fn describe(&self) -> String {
        format!("{} {} ({})", self.kind, self.name, self.why)
    }
}

/// What helm leaves on one cluster, and the releases alpaka installed there.
#[derive(Debug, Clone)]
pub struct Leftovers {
    pub access: Access,
    pub items: Vec<Leftover>,
    /// `namespace/release` of alpaka's releases (not "another release").
    pub ours: BTreeSet<String>,
}

/// What [`settle`] found or did for one leftover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Not on the cluster any more.
    Gone,
    Deleted,
    /// Nothing keeps it, and deleting was not asked.
    Left,
    /// Kept: each reason (a release that ships or uses it, custom resources that remain).
    Kept(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct Settled {
    pub leftover: Leftover,
    pub outcome: Result<Outcome, String>,
}

impl Settled {
    /// One line for after destroy.
    pub fn line(&self, access: &Access) -> String {
        let l = &self.leftover;
        let what = format!("{} {}", l.kind, l.name);
        match &self.outcome {
            Ok(Outcome::Gone) => format!("{what}: gone"),
            Ok(Outcome::Deleted) => format!("{what}: deleted"),
            Ok(Outcome::Left) => format!(
                "{what}: left; nothing else uses it (`alpaka destroy --delete-crds` deletes it with \
                 the releases; now: `kubectl --kubeconfig {} --context {} delete {} {}`)",
                access.kubeconfig,
                access.context,
                l.kind.to_lowercase(),
                l.name
            ),
            Ok(Outcome::Kept(why)) => format!("{what}: kept, {}", why.join("; ")),
            Err(e) => format!("{what}: could not be checked: {e}"),
        }
    }
}

/// `helm list -A -o json` entries (helm v4.2.3 `pkg/cmd/list.go` `releaseElement`).
#[derive(Debug, Deserialize)]
struct Listed {
    name: String,
    namespace: String,
}

/// `helm get metadata -o json`'s chart name (v4.2.3 `pkg/action/get_metadata.go`).
#[derive(Debug, Deserialize)]
struct ChartOf {
    #[serde(default)]
    chart: String,
}

/// Another release's chart and objects.
struct Other {
    release: String,
    chart: String,
    /// (apiVersion, kind, name) of each object in its manifest.
    objects: Vec<(String, String, String)>,
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// What helm will leave once the state's releases are uninstalled, per cluster. Errors are
/// per cluster (a chart that cannot be shown, a cluster that cannot be read).
pub async fn find(helm: &str, state: &State) -> Vec<Result<Leftovers, String>> {
    let driver = HelmDriver::with_bin(helm);
    let mut per: Vec<Leftovers> = Vec::new();
    let mut errors = Vec::new();
    for (id, rs) in state
        .resources
        .iter()
        .filter(|(_, r)| r.kind == "helm.release")
    {
        let Ok(r) = Release::of(&rs.attrs) else {
            continue;
        };
        let i = match per.iter().position(|l| l.access == r.access) {
            Some(i) => i,
            None => {
                per.push(Leftovers {
                    access: r.access.clone(),
                    items: Vec::new(),
                    ours: BTreeSet::new(),
                });
                per.len() - 1
            }
        };
        per[i].ours.insert(format!("{}/{}", r.namespace, r.release));
        match of_release(&driver, &r).await {
            Ok(items) => {
                for item in items {
                    if !per[i]
                        .items
                        .iter()
                        .any(|l| l.kind == item.kind && l.name == item.name)
                    {
                        per[i].items.push(item);
                    }
                }
            }
            Err(e) => errors.push(Err(format!("{id}: {e}"))),
        }
    }
    per.into_iter().map(Ok).chain(errors).collect()
}

async fn of_release(driver: &HelmDriver, r: &Release) -> Result<Vec<Leftover>, String> {
    let mut out: Vec<Leftover> = driver
        .chart_crds(&r.chart, &r.version, r.repo.as_deref())
        .await
        .map_err(err)?
        .iter()
        .map(|c| Leftover {
            api_version: "apiextensions.k8s.io/v1".into(),
            kind: "CustomResourceDefinition".into(),
            name: c.metadata.name.clone().unwrap_or_default(),
            why: format!("crds/ of chart {} {}", r.chart_name(), r.version),
            chart: r.chart_name().to_owned(),
            crd: Some(CrdKind::of(c)),
        })
        .collect();
    // A release already gone has nothing more to leave.
    let Ok(manifest) = driver
        .cmd(r, &["get", "manifest", &r.release])
        .run_ok()
        .await
    else {
        return Ok(out);
    };
    let client = connect(&r.access, true).await.map_err(err)?;
    for o in super::drift::objects(&manifest.stdout).map_err(err)? {
        let kept = o["metadata"]["annotations"][RESOURCE_POLICY]
            .as_str()
            .is_some_and(|v| v.trim().eq_ignore_ascii_case(KEEP));
        if !kept {
            continue;
        }
        let (_, caps) = pinned_kind(&client, &super::drift::gvk(&o))
            .await
            .map_err(|e| format!("looking up {}: {e}", o["kind"]))?;
        if caps.scope != Scope::Cluster {
            continue;
        }
        out.push(Leftover {
            api_version: o["apiVersion"].as_str().unwrap_or_default().to_owned(),
            kind: o["kind"].as_str().unwrap_or_default().to_owned(),
            name: o["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            why: format!(
                "{RESOURCE_POLICY}: {KEEP} in release {}/{}",
                r.namespace, r.release
            ),
            chart: r.chart_name().to_owned(),
            crd: None,
        });
    }
    Ok(out)
}

/// After destroy: each leftover looked at again, and deleted (`delete`) when nothing keeps it.
pub async fn settle(helm: &str, leftovers: &Leftovers, delete: bool) -> Vec<Settled> {
    let others = match others(helm, leftovers).await {
        Ok(o) => o,
        Err(e) => {
            return leftovers
                .items
                .iter()
                .map(|l| Settled {
                    leftover: l.clone(),
                    outcome: Err(format!("listing the cluster's other helm releases: {e}")),
                })
                .collect();
        }
    };
    let mut out = Vec::new();
    for l in &leftovers.items {
        out.push(Settled {
            leftover: l.clone(),
            outcome: settle_one(&leftovers.access, l, &others, delete).await,
        });
    }
    out
}

/// Every release on the cluster but alpaka's, with its chart and objects.
async fn others(helm: &str, leftovers: &Leftovers) -> Result<Vec<Other>, String> {
    let a = &leftovers.access;
    let on = |c: Cmd| {
        c.args(["--kube-context", &a.context])
            .args(["--kubeconfig", &a.kubeconfig])
    };
    let out = on(Cmd::new(helm).args([
        "list",
        "-A",
        "--deployed",
        "--failed",
        "--pending",
        "--uninstalling",
        "-o",
        "json",
    ]))
    .run_ok()
    .await
    .map_err(err)?;
    let listed: Vec<Listed> = serde_json::from_str(out.stdout.trim()).map_err(err)?;
    let mut others = Vec::new();
    for l in listed {
        let release = format!("{}/{}", l.namespace, l.name);
        if leftovers.ours.contains(&release) {
            continue;
        }
        let ns = ["-n", l.namespace.as_str()];
        let meta = on(Cmd::new(helm)
            .args(["get", "metadata", &l.name, "-o", "json"])
            .args(ns))
        .run_ok()
        .await
        .map_err(err)?;
        let chart: ChartOf = serde_json::from_str(meta.stdout.trim()).map_err(err)?;
        let manifest = on(Cmd::new(helm).args(["get", "manifest", &l.name]).args(ns))
            .run_ok()
            .await
            .map_err(err)?;
        let objects = super::drift::objects(&manifest.stdout)
            .map_err(err)?
            .into_iter()
            .map(|o| {
                let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
                (
                    s(&o["apiVersion"]),
                    s(&o["kind"]),
                    s(&o["metadata"]["name"]),
                )
            })
            .collect();
        others.push(Other {
            release,
            chart: chart.chart,
            objects,
        });
    }
    Ok(others)
}

async fn settle_one(
    access: &Access,
    l: &Leftover,
    others: &[Other],
    delete: bool,
) -> Result<Outcome, String> {
    let api = dynamic(access, l).await?;
    if api.get_opt(&l.name).await.map_err(err)?.is_none() {
        return Ok(Outcome::Gone);
    }
    let mut why = Vec::new();
    for o in others {
        if o.chart == l.chart {
            why.push(format!(
                "release {} installs chart {} too",
                o.release, o.chart
            ));
        } else if o
            .objects
            .iter()
            .any(|(_, kind, name)| *kind == l.kind && *name == l.name)
        {
            why.push(format!("release {} ships it", o.release));
        }
        if let Some(crd) = &l.crd
            && let Some((_, kind, name)) = o.objects.iter().find(|(api_version, kind, _)| {
                *kind == crd.kind
                    && api_version.rsplit_once('/').map(|(g, _)| g) == Some(&crd.group)
            })
        {
            why.push(format!("release {} uses it ({kind} {name})", o.release));
        }
    }
    if let Some(crd) = &l.crd {
        let (names, more) = crds::custom_resources(access, crd, NAMED)
            .await
            .map_err(err)?;
        if !names.is_empty() {
            why.push(format!(
                "{} {}: {}{}",
                crd.kind,
                if names.len() == 1 && !more {
                    "resource remains"
                } else {
                    "resources remain"
                },
                names.join(", "),
                if more { ", …" } else { "" }
            ));
        }
    }
    if !why.is_empty() {
        return Ok(Outcome::Kept(why));
    }
    if !delete {
        return Ok(Outcome::Left);
    }
    match api.delete(&l.name, &DeleteParams::default()).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.is_not_found() => return Ok(Outcome::Gone),
        Err(e) => return Err(format!("deleting it: {e}")),
    }
    // "Deleted" means gone: a CRD is removed only after the API server's finalizer
    // (`customresourcecleanup.apiextensions.k8s.io`) has run.
    let deadline = tokio::time::Instant::now() + GONE_WITHIN;
    loop {
        let Some(left) = api.get_opt(&l.name).await.map_err(err)? else {
            return Ok(Outcome::Deleted);
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "deleted, but still there after {}s (finalizers: {})",
                GONE_WITHIN.as_secs(),
                left.metadata.finalizers.unwrap_or_default().join(", ")
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// How long a deleted leftover may take to go.
const GONE_WITHIN: std::time::Duration = std::time::Duration::from_secs(60);

/// The cluster-scoped API of a leftover's kind.
async fn dynamic(access: &Access, l: &Leftover) -> Result<Api<DynamicObject>, String> {
    let client = connect(access, true).await.map_err(err)?;
    let (group, version) = l
        .api_version
        .rsplit_once('/')
        .unwrap_or(("", l.api_version.as_str()));
    let gvk = kube::core::GroupVersionKind::gvk(group, version, &l.kind);
    let (ar, _) = pinned_kind(&client, &gvk).await.map_err(err)?;
    Ok(Api::all_with(client, &ar))
}
