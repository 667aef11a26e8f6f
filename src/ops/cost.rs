//! Estimated hourly cost of what a plan creates on AWS: EKS control plane, nodes by instance type
//! and region, NAT gateway, public IPv4 (the NAT's EIP), EBS for node disks.
//!
//! PRICE TABLE — on-demand list prices in USD, Linux, as published on the AWS pricing pages
//! (aws.amazon.com/eks/pricing, /ec2/pricing/on-demand, /vpc/pricing, /ebs/pricing), as of
//! 2025-06, written down from those pages; not re-checked from this machine (no network). An
//! estimate for planning, not a bill: no data transfer, no PVC volumes, no load balancers.

/// Table date, printed with every estimate.
pub const PRICES_AS_OF: &str = "2025-06";

const EKS_CONTROL_PLANE_HOUR: f64 = 0.10;
const PUBLIC_IPV4_HOUR: f64 = 0.005;
const HOURS_PER_MONTH: f64 = 730.0;

/// (region, hourly NAT gateway, gp3 per GB-month)
const REGIONAL: &[(&str, f64, f64)] = &[
    ("us-east-1", 0.045, 0.08),
    ("us-west-2", 0.045, 0.08),
    ("eu-central-1", 0.052, 0.0952),
    ("eu-west-1", 0.048, 0.088),
    ("ap-northeast-1", 0.062, 0.096),
    ("ap-northeast-2", 0.059, 0.0912),
];

/// (region, instance type, hourly)
const INSTANCES: &[(&str, &str, f64)] = &[
    ("us-east-1", "m5.large", 0.096),
    ("us-east-1", "m5.xlarge", 0.192),
    ("us-east-1", "m5.2xlarge", 0.384),
    ("us-east-1", "t3.medium", 0.0416),
    ("us-east-1", "t3.large", 0.0832),
    ("us-east-1", "t3.xlarge", 0.1664),
    ("ap-northeast-2", "m5.large", 0.118),
    ("ap-northeast-2", "m5.xlarge", 0.236),
    ("ap-northeast-2", "m5.2xlarge", 0.472),
    ("ap-northeast-2", "t3.medium", 0.052),
    ("ap-northeast-2", "t3.large", 0.104),
    ("ap-northeast-2", "t3.xlarge", 0.208),
];

use crate::engine::Value;
use crate::engine::plan::{Action, Plan};

/// One line per priced item and a total; `None` when the plan creates nothing priced.
pub fn estimate(plan: &Plan) -> Option<String> {
    let created = plan
        .changes
        .iter()
        .filter(|c| matches!(c.action, Action::Create | Action::Replace));
    let mut region = None;
    let mut items: Vec<(String, Option<f64>)> = Vec::new();
    let mut disk_gb = 0i64;
    let mut pending: Vec<(String, i64)> = Vec::new();
    let mut nat = false;
    let mut eips = 0;
    for c in created {
        let after = c.after.clone().unwrap_or_default();
        match c.kind.as_str() {
            "eks.cluster" => {
                region = after
                    .get("region")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                items.push(("EKS control plane".into(), Some(EKS_CONTROL_PLANE_HOUR)));
            }
            "eks.nodegroup" => {
                let n = after
                    .get("scaling.desired")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                let t = match after.get("instance_types") {
                    Some(Value::List(l)) => {
                        l.first().and_then(Value::as_str).unwrap_or("?").to_owned()
                    }
                    _ => "?".into(),
                };
                // The disk is its launch template's (or, as recorded before those, its own).
                let disk = match after.get("launch_template.id") {
                    Some(Value::Unknown(r)) => plan
                        .changes
                        .iter()
                        .find(|x| x.id.as_str() == r.node)
                        .and_then(|x| x.after.as_ref()?.get("volume_size_gb")?.as_i64()),
                    _ => after.get("disk_size_gb").and_then(Value::as_i64),
                };
                disk_gb += n * disk.unwrap_or(0);
                pending.push((t, n));
            }
            "aws.nat-gateway" => nat = true,
            "aws.eip" => eips += 1,
            _ => {}
        }
    }
    if items.is_empty() && pending.is_empty() && !nat {
        return None;
    }
    let region = region.unwrap_or_else(|| "us-east-1".into());
    let regional = REGIONAL.iter().find(|(r, _, _)| *r == region);
    for (t, n) in pending {
        let price = INSTANCES
            .iter()
            .find(|(r, i, _)| *r == region && *i == t)
            .map(|(_, _, p)| p * n as f64);
        items.push((format!("{n} × {t}"), price));
    }
    if nat {
        items.push(("NAT gateway".into(), regional.map(|(_, h, _)| *h)));
    }
    if eips > 0 {
        items.push((
            format!("{eips} public IPv4"),
            Some(PUBLIC_IPV4_HOUR * f64::from(eips)),
        ));
    }
    if disk_gb > 0 {
        items.push((
            format!("EBS {disk_gb} GB gp3 (node disks)"),
            regional.map(|(_, _, gb)| gb * disk_gb as f64 / HOURS_PER_MONTH),
        ));
    }
    let total: f64 = items.iter().filter_map(|(_, p)| *p).sum();
    let unknown: Vec<&str> = items
        .iter()
        .filter(|(_, p)| p.is_none())
        .map(|(n, _)| n.as_str())
        .collect();
    let parts: Vec<String> = items
        .iter()
        .map(|(n, p)| match p {
            Some(p) => format!("{n} ${p:.3}"),
            None => format!("{n} (no price in table)"),
        })
        .collect();
    let mut s = format!(
        "Estimated cost of what this plan creates in {region}: ${total:.2}/hour (~${:.0}/month): {}.",
        total * HOURS_PER_MONTH,
        parts.join(", ")
    );
    if !unknown.is_empty() {
        s.push_str(" Total excludes items with no price.");
    }
    s.push_str(&format!(
        " On-demand list prices as of {PRICES_AS_OF} (src/ops/cost.rs); excludes PVC volumes, load balancers, data transfer."
    ));
    Some(s)
}
