//! Who applies an EKS profile, and whether this machine can reach the cluster's endpoint: the
//! two facts about the world the EKS control plane's plan needs beyond the profile.
//!
//! The principal that applies gets a cluster-admin access entry (`eks.access-entry`, built by
//! the stack from the list given here) unless `eks.admins` lists it. Each applier's entry,
//! once recorded, stays in the graph for every later run, whoever runs it: a second team member
//! applying adds their own and never removes the first one's. One is removed by listing the
//! principal in `eks.admins` and then removing it from there, or by destroying it
//! (`alpaka destroy --target <its id>`).

use super::{OpsError, Workspace};
use crate::engine::Graph;
use crate::model::profile::{Cluster, Eks};
use crate::stack;
use crate::stack::cluster::ACCESS_FROM_APPLIER;
use crate::state::State;

/// The appliers state records for `e`'s cluster, in state order.
fn recorded_appliers(e: &Eks, state: &State) -> Vec<String> {
    state
        .resources
        .values()
        .filter(|r| {
            r.kind == "eks.access-entry"
                && r.attrs.get("from").and_then(|v| v.as_str()) == Some(ACCESS_FROM_APPLIER)
                && r.attrs.get("cluster").and_then(|v| v.as_str()) == Some(&e.cluster_name)
        })
        .filter_map(|r| r.attrs.get("principal_arn")?.as_str().map(str::to_owned))
        .collect()
}

/// Rebuild `ws`'s graph with the access entries of the principals that apply: those state
/// records, plus (with `ask`) the one these credentials are, resolved through STS (and IAM for
/// an assumed role). Returns that principal when asked. Not EKS: nothing.
///
/// `strict`: a failure to find the principal is an error (apply); otherwise a warning, and the
/// plan goes on without that entry (the plan's own AWS reads then say what is wrong).
pub async fn with_appliers(
    ws: &mut Workspace,
    state: &State,
    ask: bool,
    strict: bool,
) -> Result<Option<String>, OpsError> {
    let Cluster::Eks(e) = ws.loaded.profile.cluster() else {
        return Ok(None);
    };
    let mut appliers = recorded_appliers(&e, state);
    let mut me = None;
    if ask {
        let aws = alpaka_aws::Aws::load(&e.region).await;
        match aws.principal_arn().await {
            Ok(arn) => {
                if !appliers.contains(&arn) {
                    appliers.push(arn.clone());
                }
                me = Some(arn);
            }
            Err(err) => {
                let m = format!(
                    "finding who applies, to give that principal an EKS access entry: {err}. \
                     Check the AWS credentials (`aws sts get-caller-identity`)"
                );
                if strict {
                    return Err(OpsError::Refused(m));
                }
                eprintln!("{} {m}", console::style("warning:").yellow().bold());
            }
        }
    }
    if appliers.is_empty() {
        return Ok(me);
    }
    let nodes = stack::build_with(
        &ws.loaded.profile_name,
        &ws.loaded.profile,
        &ws.loaded.config,
        &appliers,
    )
    .map_err(OpsError::Stack)?;
    ws.graph = Graph::new(nodes)?;
    Ok(me)
}

// ---- can this machine reach the endpoint the profile configures ----

/// Where this machine's egress address is asked, unless `ALPAKA_EGRESS_IP_URL` says otherwise
/// (it answers the caller's address as text; AWS's own service, the one the EKS User Guide's
/// endpoint docs point to for finding one's address).
pub const EGRESS_IP_URL: &str = "https://checkip.amazonaws.com";

/// The address this machine reaches the internet from, as [`EGRESS_IP_URL`] sees it.
pub async fn egress_ip() -> Result<std::net::IpAddr, String> {
    let url = std::env::var("ALPAKA_EGRESS_IP_URL").unwrap_or_else(|_| EGRESS_IP_URL.to_owned());
    let ask = async {
        let uri: http::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
        // kube's client is the HTTPS client this binary already has (rustls, the system's
        // roots); with no credentials it is a plain GET.
        let mut cfg = kube::Config::new(uri);
        cfg.connect_timeout = Some(std::time::Duration::from_secs(5));
        cfg.read_timeout = Some(std::time::Duration::from_secs(5));
        let client = kube::Client::try_from(cfg).map_err(|e| format!("{url}: {e}"))?;
        let req = http::Request::get("/")
            .body(Vec::new())
            .map_err(|e| format!("{url}: {e}"))?;
        let text = client
            .request_text(req)
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        text.trim()
            .parse::<std::net::IpAddr>()
            .map_err(|_| format!("{url} answered {:?}, not an IP address", text.trim()))
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), ask)
        .await
        .map_err(|_| format!("{url} did not answer within 10s"))?
}

/// Is `ip` inside `cidr` (IPv4 or IPv6)? A malformed CIDR contains nothing (validate refused it).
pub fn cidr_contains(cidr: &str, ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    let Some((net, len)) = cidr.split_once('/') else {
        return false;
    };
    let Ok(len) = len.parse::<u32>() else {
        return false;
    };
    match (net.parse::<IpAddr>(), ip) {
        (Ok(IpAddr::V4(n)), IpAddr::V4(a)) if len <= 32 => {
            let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (Ok(IpAddr::V6(n)), IpAddr::V6(a)) if len <= 128 => {
            let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// What the reachability check found; each text says why (and the fix).
pub enum Reach {
    /// Fine.
    Reachable(String),
    /// Cannot tell: a warning.
    Unknown(String),
    /// alpaka could not reach the endpoint: plan refuses, doctor fails.
    Unreachable(String),
}

/// Can this machine reach the API server `e` configures (item 2 of issue 20: caught here, not
/// as a timeout halfway through apply)?
pub async fn reachability(e: &Eks) -> Reach {
    let cidrs: Vec<&str> = e
        .endpoint
        .public_access_cidrs
        .iter()
        .map(|c| c.as_str())
        .collect();
    let ip = egress_ip().await;
    let mine = |ip: &Result<std::net::IpAddr, String>| match ip {
        Ok(a) => format!(
            "eks.endpoint.publicAccessCidrs: [\"{}\"] (this machine's egress address)",
            host_cidr(*a)
        ),
        Err(err) => format!(
            "eks.endpoint.publicAccessCidrs: [\"<your address>/32\"] (this machine's egress \
             address could not be found: {err}; `curl {EGRESS_IP_URL}` shows it)"
        ),
    };
    if cidrs.is_empty() {
        return match &e.vpc.existing {
            Some(v) => Reach::Unknown(format!(
                "the EKS endpoint is private only: alpaka reaches it only from inside VPC {} \
                 (or a network connected to it), which cannot be checked from here; from \
                 elsewhere, set {}",
                v.vpc_id,
                mine(&ip)
            )),
            None => Reach::Unreachable(format!(
                "the EKS endpoint would be private only (eks.endpoint.publicAccessCidrs is \
                 empty), and this machine cannot be inside the VPC alpaka creates: it could not \
                 reach the cluster it deploys into. Set {}",
                mine(&ip)
            )),
        };
    }
    match ip {
        Err(err) => Reach::Unknown(format!(
            "could not find this machine's egress address ({err}): whether it is inside \
             eks.endpoint.publicAccessCidrs ({}) is not checked",
            cidrs.join(", ")
        )),
        Ok(a) if cidrs.iter().any(|c| cidr_contains(c, a)) => Reach::Reachable(format!(
            "this machine's egress address {a} is inside eks.endpoint.publicAccessCidrs"
        )),
        Ok(a) if e.vpc.existing.is_some() && e.endpoint.private_access => Reach::Unknown(format!(
            "this machine's egress address {a} is outside eks.endpoint.publicAccessCidrs ({}): \
             alpaka reaches the cluster only from inside its VPC; from elsewhere add \"{}\"",
            cidrs.join(", "),
            host_cidr(a)
        )),
        Ok(a) => Reach::Unreachable(format!(
            "this machine's egress address {a} is outside eks.endpoint.publicAccessCidrs ({}): \
             alpaka could not reach the cluster it deploys into. Add \"{}\" to \
             eks.endpoint.publicAccessCidrs",
            cidrs.join(", "),
            host_cidr(a)
        )),
    }
}

fn host_cidr(a: std::net::IpAddr) -> String {
    match a {
        std::net::IpAddr::V4(_) => format!("{a}/32"),
        std::net::IpAddr::V6(_) => format!("{a}/128"),
    }
}

/// The plan's reachability check: refuses, or warns when it cannot tell. `--refresh=false`
/// asks nothing on the network: only a private-only endpoint in a VPC alpaka creates is said,
/// as a warning. Not EKS: nothing.
pub async fn check_reachable(ws: &Workspace, refresh: bool) -> Result<(), OpsError> {
    let Cluster::Eks(e) = ws.loaded.profile.cluster() else {
        return Ok(());
    };
    let warn = |m: &str| {
        eprintln!("{} {m}", console::style("warning:").yellow().bold());
    };
    if !refresh {
        if e.endpoint.public_access_cidrs.is_empty() && e.vpc.existing.is_none() {
            warn(&format!(
                "the EKS endpoint would be private only (eks.endpoint.publicAccessCidrs is \
                 empty), and this machine cannot be inside the VPC alpaka creates: apply would \
                 not reach the cluster. Add this machine's address as a /32 (`curl \
                 {EGRESS_IP_URL}` shows it; `alpaka plan` names it)"
            ));
        }
        return Ok(());
    }
    match reachability(&e).await {
        Reach::Reachable(_) => Ok(()),
        Reach::Unknown(m) => {
            warn(&m);
            Ok(())
        }
        Reach::Unreachable(m) => Err(OpsError::Refused(format!("{m} (see `alpaka doctor`)"))),
    }
}

#[cfg(test)]
mod tests {
    use super::cidr_contains;

    #[test]
    fn cidrs_contain_their_addresses_only() {
        let ip = |s: &str| s.parse().unwrap();
        assert!(cidr_contains("203.0.113.0/24", ip("203.0.113.7")));
        assert!(!cidr_contains("203.0.113.0/24", ip("203.0.114.7")));
        assert!(cidr_contains("203.0.113.7/32", ip("203.0.113.7")));
        assert!(cidr_contains("0.0.0.0/0", ip("198.51.100.1")));
        assert!(!cidr_contains("203.0.113.0/24", ip("2001:db8::1")));
        assert!(cidr_contains("2001:db8::/32", ip("2001:db8::1")));
        assert!(!cidr_contains("nonsense", ip("203.0.113.7")));
    }
}
