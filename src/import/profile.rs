//! The profile the import writes, and what is settled once every block is read.

use serde_json::{Value as Json, json};

use super::{Doc, Out};
use crate::model::Distribution;
use crate::model::stack::Labels;

/// Loose ends once every block is read.
pub(super) fn finish(out: &mut Out) {
    // The test's connects must be Connect types the config deploys.
    let types: Vec<String> = match out.get(&["kafka_connect", "connects"]) {
        Some(Json::Array(cs)) => cs
            .iter()
            .filter_map(|c| c["type"].as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    for (line, key, to) in std::mem::take(&mut out.connect_refs) {
        let named = out.get(to).and_then(Json::as_str).map(str::to_owned);
        if let Some(t) = named.filter(|t| !types.contains(t)) {
            out.remove(to);
            out.report.retain(|l| l.key != key);
            out.report.push(super::Line {
                line,
                key,
                action: super::Action::Dropped {
                    reason: format!("the config deploys no Connect of type {t}"),
                },
            });
        }
    }
    // An init with nothing left to run (it only registered connectors) would run an empty Job.
    let empty = |p: &[&str], out: &Out| match out.get(p) {
        None => true,
        Some(Json::Array(a)) => a.is_empty(),
        Some(Json::Object(m)) => m.is_empty(),
        _ => false,
    };
    if out.get(&["init", "enabled"]) == Some(&json!(true))
        && empty(&["init", "commands"], out)
        && empty(&["init", "files"], out)
    {
        out.set(&["init", "enabled"], json!(false));
    }
}

/// The profile: the distribution, the cluster shape the original README set up, and nodes
/// that carry every node selector the config uses.
pub(super) fn profile(out: &mut Out, name: &str) -> Doc {
    let mut p = Doc::default();
    let selectors = out.selectors.clone();
    p.0.push((
        "description".into(),
        json!(format!(
            "Imported from the original alpaka chart's values ({name})"
        )),
    ));
    let (dist, block_key, block) = match out.distribution {
        Distribution::Minikube => {
            // One node: it must carry every selector, which works only if they agree.
            let mut labels = Labels::new();
            let mut conflict = false;
            for s in &selectors {
                for (k, v) in s {
                    if labels
                        .insert(k.clone(), v.clone())
                        .is_some_and(|old| &old != v)
                    {
                        conflict = true;
                    }
                }
            }
            let mut b = json!({"cpus": 4, "memory": "10g", "diskSize": "40g"});
            if conflict {
                strip_selectors(out);
            } else if !labels.is_empty() {
                b["nodeLabels"] = json!(labels);
            }
            ("minikube", "minikube", b)
        }
        Distribution::K3d => {
            // `k3d cluster create -p "80:80@loadbalancer" --agents 2 --agents-memory=8gb`, with
            // K3D_FIX_DNS=1; agents labelled as the node selectors ask.
            let agents = selectors.len().max(2);
            let mut b = json!({"servers": 1, "agents": agents, "agentMemory": "8g", "httpPort": 80, "fixDns": true});
            if !selectors.is_empty() {
                b["agentLabels"] = json!(selectors);
            }
            ("k3d", "k3d", b)
        }
        Distribution::K3s => ("k3s", "k3s", json!({"kubeconfig": "~/.kube/config"})),
        Distribution::Eks => {
            // The README's eksctl cluster: nodegroup xlarge, m5.xlarge, 100 GB, 1 node (1–4); one
            // nodegroup per label set when the config places pods by label.
            let group = |n: &str, labels: Option<&Labels>| {
                let mut g = json!({"name": n, "instanceTypes": ["m5.xlarge"], "diskSizeGb": 100, "desired": 1, "min": 1, "max": 4});
                if let Some(l) = labels {
                    g["labels"] = json!(l);
                }
                g
            };
            let groups: Vec<Json> = if selectors.is_empty() {
                vec![group("xlarge", None)]
            } else {
                selectors
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        let n = l
                            .values()
                            .next()
                            .map(|v| sanitize(v))
                            .filter(|v| !v.is_empty())
                            .unwrap_or_else(|| format!("group{i}"));
                        group(&n, Some(l))
                    })
                    .collect()
            };
            (
                "eks",
                "eks",
                json!({"clusterName": sanitize(name), "nodegroups": groups}),
            )
        }
    };
    p.0.push(("distribution".into(), json!(dist)));
    p.0.push(("config".into(), json!(name)));
    p.0.push((block_key.into(), block));
    p
}

fn strip_selectors(out: &mut Out) {
    fn walk(v: &mut Json) {
        if let Json::Object(m) = v {
            m.remove("nodeSelector");
            m.values_mut().for_each(walk);
        } else if let Json::Array(a) = v {
            a.iter_mut().for_each(walk);
        }
    }
    for v in out.blocks_mut() {
        walk(v);
    }
    out.report.push(super::Line {
        line: 1,
        key: "nodeSelector (every block)".into(),
        action: super::Action::Dropped {
            reason: "minikube has one node, which cannot carry selectors that disagree".into(),
        },
    });
}

/// A DNS label from free text (nodegroup and cluster names).
fn sanitize(s: &str) -> String {
    let t: String = s
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    t.trim_matches('-').chars().take(63).collect()
}
