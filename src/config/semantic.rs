//! Checks the schema cannot express: relations between values, duplicates within one file,
//! node selectors no node carries, blocks for the wrong distribution.
//!
//! Each check locates its finding in the tree of the file that set the offending value.

use std::collections::BTreeMap;

use super::schema::DocPath;
use super::yaml::{Kind, Node};
use crate::diag::Diagnostic;
use crate::model::{Distribution, KafkaMode, Labels, Profile, StackConfig};
use crate::suggest;

/// Origin file name of values that come from the built-in defaults.
pub const DEFAULTS_FILE: &str = "<defaults>";

/// Label keys the kubelet or the distribution sets itself; we cannot know their values.
const WELL_KNOWN_LABEL_PREFIXES: &[&str] = &[
    "kubernetes.io/",
    "node.kubernetes.io/",
    "topology.kubernetes.io/",
    "beta.kubernetes.io/",
    "node-role.kubernetes.io/",
    "eks.amazonaws.com/",
    "k3s.io/",
    "minikube.k8s.io/",
];

pub(super) fn at<'a>(node: &'a Node, keys: &[&str]) -> Option<&'a Node> {
    keys.iter().try_fold(node, |n, k| n.get(k))
}

pub(super) fn is_default(n: &Node) -> bool {
    n.origin.file.as_os_str() == DEFAULTS_FILE
}

pub(super) fn diag_at(n: &Node, path: &str, message: impl Into<String>) -> Diagnostic {
    Diagnostic::error(
        n.origin.file.to_path_buf(),
        n.origin.line,
        n.origin.column,
        path,
        message,
    )
}

/// Duplicate names inside one file's tree (before merging, which would fold them together).
/// `prefix` is where the stack config sits in the file (`overrides` in a profile).
pub fn duplicates(tree: &Node, prefix: &DocPath) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let connects_path = prefix.key("kafka_connect").key("connects");
    if let Some(connects) = at(tree, &["kafka_connect", "connects"]) {
        dup_items(
            connects.as_seq(),
            "type",
            "connect type",
            &connects_path,
            &mut out,
        );
        for (i, c) in connects.as_seq().iter().enumerate() {
            let cpath = connects_path.item(i, c);
            let Some(groups) = c.get("connector_groups") else {
                continue;
            };
            let gpath = cpath.key("connector_groups");
            dup_items(groups.as_seq(), "name", "connector group", &gpath, &mut out);
            for (j, g) in groups.as_seq().iter().enumerate() {
                if let Some(conns) = g.get("connectors") {
                    dup_items(
                        conns.as_seq(),
                        "name",
                        "connector",
                        &gpath.item(j, g).key("connectors"),
                        &mut out,
                    );
                }
            }
        }
    }
    if let Some(ds) = at(tree, &["grafana", "dashboards"]) {
        dup_items(
            ds.as_seq(),
            "name",
            "dashboard",
            &prefix.key("grafana").key("dashboards"),
            &mut out,
        );
    }
    out
}

fn dup_items(items: &[Node], key: &str, what: &str, path: &DocPath, out: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<&str, &Node> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let Some(name_node) = item.get(key) else {
            continue;
        };
        let Some(name) = name_node.as_str() else {
            continue;
        };
        match seen.get(name) {
            Some(first) => out.push(
                diag_at(
                    name_node,
                    &path.item(i, item).to_string(),
                    format!(
                        "duplicate {what} `{name}` (first defined at line {})",
                        first.origin.line
                    ),
                )
                .with_hint(format!(
                    "merge the two entries, or rename one: {what}s are matched by `{key}`"
                )),
            ),
            None => {
                seen.insert(name, name_node);
            }
        }
    }
}

/// Relations inside the profile, on its own tree.
pub fn profile_checks(profile: &Profile, tree: &Node) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for d in Distribution::ALL {
        if d != profile.distribution
            && let Some((key, _)) = tree.entry(d.key())
        {
            out.push(
                Diagnostic::error(
                    key.origin.file.to_path_buf(),
                    key.origin.line,
                    key.origin.column,
                    d.key(),
                    format!(
                        "`{d}` block does not match `distribution: {}`",
                        profile.distribution
                    ),
                )
                .with_expected(format!("only a `{}` block", profile.distribution))
                .with_hint(format!(
                    "remove the `{d}` block, or set `distribution: {d}`"
                )),
            );
        }
    }
    if let (Some(k3d), Some(labels)) = (&profile.k3d, at(tree, &["k3d", "agentLabels"]))
        && k3d.agent_labels.len() > k3d.agents as usize
    {
        out.push(
            diag_at(
                labels,
                "k3d.agentLabels",
                format!(
                    "{} label maps for {} agents",
                    k3d.agent_labels.len(),
                    k3d.agents
                ),
            )
            .with_expected(format!("at most {} (one per agent)", k3d.agents)),
        );
    }
    if let (Some(st), Some(st_tree)) = (&profile.state, tree.get("state")) {
        state_checks(st, st_tree, &mut out);
    }
    if let (Some(m), Some(m_tree)) = (&profile.mirror, tree.get("mirror")) {
        mirror_checks(m, m_tree, &mut out);
    }
    if let (Some(eks), Some(eks_tree)) = (&profile.eks, tree.get("eks")) {
        super::semantic_eks::checks(eks, eks_tree, &mut out);
        if eks.vpc.cidr.is_some()
            && eks.vpc.existing.is_some()
            && let Some(cidr) = at(eks_tree, &["vpc", "cidr"])
        {
            out.push(
                diag_at(cidr, "eks.vpc.cidr", "`cidr` and `existing` are mutually exclusive")
                    .with_hint("give `cidr` (and azCount, natGateway) for a new VPC, or `existing` to reuse one"),
            );
        }
        if let (Some(k), Some(n)) = (&eks.ebs_kms_key_arn, eks_tree.get("ebsKmsKeyArn"))
            && !is_kms_key_arn(k)
        {
            out.push(
                diag_at(n, "eks.ebsKmsKeyArn", format!("{k:?} is not a KMS key ARN"))
                    .with_expected("arn:aws:kms:<region>:<account id>:key/<key id>")
                    .with_hint("the key's ARN as `aws kms describe-key` shows it (EBS takes a key ARN here, not an alias)"),
            );
        }
        let groups_tree = eks_tree
            .get("nodegroups")
            .map(Node::as_seq)
            .unwrap_or_default();
        let gpath = DocPath::root().key("eks").key("nodegroups");
        dup_items(groups_tree, "name", "nodegroup", &gpath, &mut out);
        for (i, (g, gt)) in eks.nodegroups.iter().zip(groups_tree).enumerate() {
            let p = gpath.item(i, gt);
            let loc = |k: &str| gt.get(k).unwrap_or(gt);
            if g.min > g.max {
                out.push(
                    diag_at(
                        loc("min"),
                        &p.key("min").to_string(),
                        format!("min {} is larger than max {}", g.min, g.max),
                    )
                    .with_expected("min <= desired <= max"),
                );
            } else if g.desired < g.min || g.desired > g.max {
                out.push(
                    diag_at(
                        loc("desired"),
                        &p.key("desired").to_string(),
                        format!(
                            "desired {} is outside min {} .. max {}",
                            g.desired, g.min, g.max
                        ),
                    )
                    .with_expected("min <= desired <= max"),
                );
            }
        }
    }
    out
}

/// `arn:<partition>:kms:<region>:<12-digit account>:key/<id>`: what the EBS CSI driver's `kmsKeyId`
/// and a launch template's `KmsKeyId` both take.
fn is_kms_key_arn(k: &str) -> bool {
    let p: Vec<&str> = k.splitn(6, ':').collect();
    p.len() == 6
        && p[0] == "arn"
        && p[1].starts_with("aws")
        && p[2] == "kms"
        && !p[3].is_empty()
        && p[4].len() == 12
        && p[4].bytes().all(|b| b.is_ascii_digit())
        && p[5].strip_prefix("key/").is_some_and(|id| {
            !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// S3's bucket naming rules (general purpose buckets): 3 to 63 characters of lowercase letters,
/// digits, dots and hyphens, starting and ending with a letter or digit, no `..`, not shaped
/// like an IP address, none of the reserved prefixes and suffixes.
pub fn bucket_name_problem(b: &str) -> Option<&'static str> {
    let ends_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !(3..=63).contains(&b.len()) {
        Some("3 to 63 characters")
    } else if !b
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
    {
        Some("only lowercase letters, digits, '.' and '-'")
    } else if !ends_ok(b.chars().next()) || !ends_ok(b.chars().last()) {
        Some("a letter or digit first and last")
    } else if b.contains("..") {
        Some("no two dots in a row")
    } else if b.split('.').count() == 4 && b.split('.').all(|p| p.parse::<u8>().is_ok()) {
        Some("a name, not an IP address")
    } else if b.starts_with("xn--") || b.starts_with("sthree-") || b.ends_with("-s3alias") {
        Some("none of the reserved prefixes (xn--, sthree-) or suffixes (-s3alias)")
    } else {
        None
    }
}

/// `mirror:` (issue 25): a registry `host[:port][/prefix]`, an https:// or oci:// chart
/// repository without credentials in it, a Secret name.
fn mirror_checks(m: &crate::model::Mirror, tree: &Node, out: &mut Vec<Diagnostic>) {
    use crate::stack::mirror::{charts_problem, registry_problem};
    if let (Some(why), Some(n)) = (registry_problem(&m.registry), tree.get("registry")) {
        out.push(
            diag_at(
                n,
                "mirror.registry",
                format!("{:?} is not an image registry", m.registry),
            )
            .with_expected(why)
            .with_hint("e.g. registry.example.com/mirror; images keep their path and tag below it"),
        );
    }
    if let (Some(why), Some(n)) = (charts_problem(&m.charts), tree.get("charts")) {
        out.push(
            diag_at(
                n,
                "mirror.charts",
                "not a chart repository alpaka can use".to_owned(),
            )
            .with_expected(why),
        );
    }
    if let (Some(s), Some(n)) = (&m.image_pull_secret, tree.get("imagePullSecret"))
        && !is_dns_subdomain(s)
    {
        out.push(
            diag_at(
                n,
                "mirror.imagePullSecret",
                format!("{s:?} is not a Secret name"),
            )
            .with_expected(
                "a Kubernetes object name: lowercase letters, digits, '-' and '.', at most 253",
            ),
        );
    }
}

fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(crate::model::types::is_dns_label)
}

fn state_checks(st: &crate::model::StateSettings, tree: &Node, out: &mut Vec<Diagnostic>) {
    use crate::model::StateBackendKind;
    let s3_only = ["bucket", "key", "region", "kmsKeyId"];
    match st.backend {
        StateBackendKind::Local => {
            for k in s3_only {
                if let Some(n) = tree.get(k) {
                    out.push(
                        diag_at(
                            n,
                            &format!("state.{k}"),
                            format!("`{k}` is for the S3 backend"),
                        )
                        .with_expected("no other setting with `backend: local`")
                        .with_hint(format!("set `backend: s3`, or remove `{k}`")),
                    );
                }
            }
        }
        StateBackendKind::S3 => {
            for (k, v) in [("bucket", &st.bucket), ("region", &st.region)] {
                if v.is_none() {
                    out.push(
                        diag_at(tree, "state", format!("`backend: s3` needs `{k}`"))
                            .with_expected("state: {backend: s3, bucket: <name>, region: <region>}")
                            .with_hint("`alpaka state init-backend --bucket <name> --region <region>` creates a bucket and prints the block"),
                    );
                }
            }
            if let (Some(b), Some(n)) = (&st.bucket, tree.get("bucket"))
                && let Some(why) = bucket_name_problem(b)
            {
                out.push(
                    diag_at(
                        n,
                        "state.bucket",
                        format!("{b:?} is not a valid S3 bucket name"),
                    )
                    .with_expected(why),
                );
            }
            if let (Some(k), Some(n)) = (&st.key, tree.get("key"))
                && (k.is_empty() || k.starts_with('/') || k.ends_with('/') || k.len() > 1000)
            {
                out.push(
                    diag_at(n, "state.key", format!("{k:?} cannot be the state's object key"))
                        .with_expected("a key such as alpaka/prod.state.json: not empty, no leading or trailing '/', at most 1000 bytes"),
                );
            }
            if let (Some(r), Some(n)) = (&st.region, tree.get("region"))
                && !r.split('-').all(|p| {
                    !p.is_empty()
                        && p.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                })
            {
                out.push(
                    diag_at(
                        n,
                        "state.region",
                        format!("{r:?} is not an AWS region name"),
                    )
                    .with_expected("a region such as ap-northeast-2"),
                );
            }
        }
    }
}

/// KRaft mode: a Kafka version the pinned Strimzi (1.2.0) supports, and Connect images built
/// for it. alpaka's Connect images carry the Kafka they were built for in their tag
/// (`images/versions.env` CONNECT_TAG `…-kafka-<version>`); Connect must run the brokers'
/// Kafka, so a tag naming another version is refused. A tag naming none is the user's own
/// image, theirs to match.
fn kraft_version_checks<'t>(
    config: &StackConfig,
    loc: &dyn Fn(&[&str]) -> &'t Node,
) -> Vec<Diagnostic> {
    use crate::stack::kafka_versions;
    let k = &config.kafka;
    let mut out = Vec::new();
    let n = loc(&["kafka", "version"]);
    if kafka_versions::metadata_version(&k.version).is_none() {
        out.push(
            diag_at(
                n,
                "kafka.version",
                format!(
                    "Kafka {} is not a version the pinned Strimzi 1.2.0 supports",
                    k.version
                ),
            )
            .with_expected(format!("one of {}", kafka_versions::supported_list()))
            .with_hint(
                "Strimzi 1.2.0's kafka-versions.yaml lists these as supported; an upgrade goes \
                 to one of them (plan shows the steps), never below the metadata version in use",
            ),
        );
        return out;
    }
    if !config.kafka_connect.enabled {
        return out;
    }
    for c in &config.kafka_connect.connects {
        let Some((base, built_for)) = c.container.tag.rsplit_once("-kafka-") else {
            continue;
        };
        if built_for == k.version {
            continue;
        }
        let path = format!("kafka_connect.connects[{}].container.tag", c.kind.as_str());
        out.push(
            diag_at(
                n,
                &path,
                format!(
                    "Connect `{}` runs image {}, built for Kafka {built_for}, but kafka.version \
                     is {}: Connect must run the brokers' Kafka version",
                    c.kind.as_str(),
                    c.container.reference(),
                    k.version
                ),
            )
            .with_expected(format!(
                "a Connect image tag ending in -kafka-{}",
                k.version
            ))
            .with_hint(format!(
                "build the Connect images for Kafka {v}: in images/versions.env set \
                 STRIMZI_KAFKA_TAG=1.2.0-kafka-{v} and CONNECT_TAG={base}-kafka-{v}, run \
                 images/build.sh, then set kafka_connect.connects[{t}].container.tag to \
                 {base}-kafka-{v}",
                v = k.version,
                t = c.kind.as_str(),
            )),
        );
    }
    out
}

/// Relations in the merged stack config, and between it and the profile.
pub fn stack_checks(
    profile: &Profile,
    profile_name: &str,
    config: &StackConfig,
    tree: &Node,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let fallback = tree;
    let loc = |keys: &[&str]| at(tree, keys).unwrap_or(fallback);
    // Point at whichever of two related values the user set (the later one when both).
    let pick = |a: &'static [&'static str], b: &'static [&'static str]| -> (&Node, String) {
        let (na, nb) = (loc(a), loc(b));
        if is_default(na) && !is_default(nb) {
            (nb, b.join("."))
        } else {
            (na, a.join("."))
        }
    };

    let k = &config.kafka;
    if k.default_replication_factor > k.replica_count {
        let (n, p) = pick(
            &["kafka", "defaultReplicationFactor"],
            &["kafka", "replicaCount"],
        );
        out.push(
            diag_at(
                n,
                &p,
                format!(
                    "defaultReplicationFactor {} is larger than the number of brokers (replicaCount {})",
                    k.default_replication_factor, k.replica_count
                ),
            )
            .with_expected(format!("defaultReplicationFactor <= replicaCount ({})", k.replica_count))
            .with_hint("raise kafka.replicaCount or lower kafka.defaultReplicationFactor"),
        );
    }
    if k.min_insync_replicas > k.default_replication_factor {
        let (n, p) = pick(
            &["kafka", "minInsyncReplicas"],
            &["kafka", "defaultReplicationFactor"],
        );
        out.push(
            diag_at(
                n,
                &p,
                format!(
                    "minInsyncReplicas {} is larger than defaultReplicationFactor {}: no write could succeed",
                    k.min_insync_replicas, k.default_replication_factor
                ),
            )
            .with_expected(format!("minInsyncReplicas <= defaultReplicationFactor ({})", k.default_replication_factor)),
        );
    }
    if k.mode == KafkaMode::Zookeeper {
        let major: u32 = k
            .version
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        if major >= 4 {
            let (n, p) = pick(&["kafka", "mode"], &["kafka", "version"]);
            out.push(
                diag_at(n, &p, format!("Kafka {} has no ZooKeeper mode", k.version))
                    .with_expected("mode: kraft, or a Kafka version below 4.0")
                    .with_hint("ZooKeeper support was removed in Kafka 4.0; use `mode: kraft`"),
            );
        } else {
            let n = loc(&["kafka", "mode"]);
            out.push(Diagnostic {
                severity: crate::diag::Severity::Warning,
                ..diag_at(
                    n,
                    "kafka.mode",
                    "ZooKeeper mode is legacy and unsupported from Kafka 4.0",
                )
            });
            // alpaka's Connect images carry the Kafka they were built for in their tag.
            for c in &config.kafka_connect.connects {
                let built_for = c.container.tag.rsplit_once("-kafka-").map(|x| x.1);
                if let Some(v) = built_for.filter(|v| *v != k.version) {
                    let path = format!("kafka_connect.connects[{}].container.tag", c.kind.as_str());
                    out.push(Diagnostic {
                        severity: crate::diag::Severity::Warning,
                        ..diag_at(
                            loc(&["kafka", "mode"]),
                            &path,
                            format!(
                                "Connect `{}` runs image {}, built for Kafka {v}; the cluster runs Kafka {}",
                                c.kind.as_str(),
                                c.container.reference(),
                                k.version
                            ),
                        )
                        .with_hint(format!(
                            "set the container to quay.io/strimzi/kafka:0.45.1-kafka-{} plus your plugins",
                            k.version
                        ))
                    });
                }
            }
        }
    }
    if k.enabled && k.mode == KafkaMode::Kraft {
        out.extend(kraft_version_checks(config, &loc));
    }
    let km = &config.kminion;
    if km.scrape_timeout.as_std() > km.scrape_interval.as_std() {
        let (n, p) = pick(
            &["kminion", "scrapeTimeout"],
            &["kminion", "scrapeInterval"],
        );
        out.push(
            diag_at(
                n,
                &p,
                format!(
                    "scrapeTimeout {} is longer than scrapeInterval {}",
                    km.scrape_timeout, km.scrape_interval
                ),
            )
            .with_expected("scrapeTimeout <= scrapeInterval"),
        );
    }
    let s3 = &config.test.s3sink;
    if s3.enabled && s3.bucket.as_deref().is_none_or(str::is_empty) {
        out.push(
            diag_at(loc(&["test", "s3sink", "enabled"]), "test.s3sink.enabled", "s3sink is enabled but has no bucket")
                .with_expected("test.s3sink.bucket")
                .with_hint("`alpaka test` writes under s3://<bucket>/alpaka-test/<run id>/ and deletes only that"),
        );
    }
    // `alpaka test` names Connect types by `type`: one that isn't deployed can't run its check.
    let types: Vec<&str> = config
        .kafka_connect
        .connects
        .iter()
        .map(|c| c.kind.as_str())
        .collect();
    for (path, named) in [
        (
            &["test", "jdbcConnect"][..],
            config.test.jdbc_connect.as_ref(),
        ),
        (&["test", "s3sink", "connect"][..], s3.connect.as_ref()),
    ] {
        if let Some(t) = named.filter(|t| !types.contains(&t.as_str())) {
            let mut d = diag_at(
                loc(path),
                &path.join("."),
                format!("no Connect type `{}` in kafka_connect.connects", t.as_str()),
            )
            .with_expected(format!("one of: {}", types.join(", ")));
            if let Some(s) = crate::suggest::closest(t.as_str(), types.iter().copied()) {
                d = d.with_hint(format!("did you mean `{s}`?"));
            }
            out.push(d);
        }
    }
    if let Some(nodes) = profile.node_labels() {
        let c = config;
        let blocks: [(&str, bool, &Labels); 11] = [
            ("kafka", c.kafka.enabled, &c.kafka.node_selector),
            ("ksqldb", c.ksqldb.enabled, &c.ksqldb.node_selector),
            ("ui4kafka", c.ui4kafka.enabled, &c.ui4kafka.node_selector),
            (
                "k8dashboard",
                c.k8dashboard.enabled,
                &c.k8dashboard.node_selector,
            ),
            (
                "prometheus",
                c.prometheus.enabled,
                &c.prometheus.node_selector,
            ),
            ("grafana", c.grafana.enabled, &c.grafana.node_selector),
            ("loki", c.loki.enabled, &c.loki.node_selector),
            ("kminion", c.kminion.enabled, &c.kminion.node_selector),
            ("tool", c.tool.enabled, &c.tool.node_selector),
            ("init", c.init.enabled, &c.init.node_selector),
            ("test", true, &c.test.node_selector),
        ];
        for (name, enabled, sel) in blocks {
            if enabled {
                let sel_tree = at(tree, &[name, "nodeSelector"]);
                check_selector(
                    sel,
                    sel_tree.unwrap_or(fallback),
                    name,
                    &nodes,
                    profile_name,
                    &mut out,
                );
            }
        }
        if c.kafka_connect.enabled {
            let items = at(tree, &["kafka_connect", "connects"])
                .map(Node::as_seq)
                .unwrap_or_default();
            for (connect, item) in c.kafka_connect.connects.iter().zip(items) {
                let path = DocPath::root()
                    .key("kafka_connect")
                    .key("connects")
                    .item(0, item)
                    .to_string();
                let sel_tree = item.get("nodeSelector").unwrap_or(item);
                check_selector(
                    &connect.node_selector,
                    sel_tree,
                    &path,
                    &nodes,
                    profile_name,
                    &mut out,
                );
            }
        }
    }
    out
}

fn check_selector(
    sel: &Labels,
    sel_tree: &Node,
    block: &str,
    nodes: &[Labels],
    profile_name: &str,
    out: &mut Vec<Diagnostic>,
) {
    let wanted: Vec<(&String, &String)> = sel
        .iter()
        .filter(|(k, _)| !WELL_KNOWN_LABEL_PREFIXES.iter().any(|p| k.starts_with(p)))
        .collect();
    if wanted.is_empty()
        || nodes
            .iter()
            .any(|n| wanted.iter().all(|(k, v)| n.get(*k) == Some(*v)))
    {
        return;
    }
    // Point at the first label no node carries, else at the selector.
    let bad = wanted
        .iter()
        .find(|(k, v)| !nodes.iter().any(|n| n.get(*k) == Some(*v)))
        .or(wanted.first())
        .map(|(k, v)| (k.as_str(), v.as_str()));
    let (node, shown) = match bad {
        Some((k, v)) => (sel_tree.get(k).unwrap_or(sel_tree), format!("{k}={v}")),
        None => (sel_tree, String::new()),
    };
    let node_sets: Vec<String> = nodes
        .iter()
        .map(|n| {
            let kv: Vec<String> = n.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{{{}}}", kv.join(", "))
        })
        .collect();
    let all_labels: Vec<String> = nodes
        .iter()
        .flat_map(|n| n.iter().map(|(k, v)| format!("{k}={v}")))
        .collect();
    let mut d = diag_at(
        node,
        &format!("{block}.nodeSelector"),
        format!("no node of profile `{profile_name}` carries the label {shown}: the pods would never be scheduled"),
    )
    .with_expected(format!("labels of one node: {}", node_sets.join(" ")));
    if let Some(best) = suggest::closest(&shown, all_labels.iter().map(String::as_str)) {
        d = d.with_hint(format!("did you mean `{best}`?"));
    } else {
        d = d.with_hint(
            "label the nodes in the profile (nodeLabels / agentLabels / nodegroups[].labels)",
        );
    }
    out.push(d);
}

/// True when the tree is a mapping (documents must be).
pub fn is_map(n: &Node) -> bool {
    matches!(n.kind, Kind::Map(_))
}

/// The deepest node of `tree` along `path` (map keys, or list indices), for locating a finding
/// inside free-form values.
pub(super) fn deepest<'a>(tree: &'a Node, path: &[&str]) -> &'a Node {
    let mut n = tree;
    for seg in path {
        let next = match seg.parse::<usize>() {
            Ok(i) if matches!(n.kind, Kind::Seq(_)) => n.as_seq().get(i),
            _ => n.get(seg),
        };
        match next {
            Some(x) => n = x,
            None => break,
        }
    }
    n
}

/// `<component>.chartValues`: a value that looks like a plaintext secret is an error (alpaka
/// keeps no secret in plaintext, and these values go to the state and the plan); a key that
/// replaces one alpaka generates is a warning naming both.
pub fn chart_values(profile: &Profile, config: &StackConfig, tree: &Node) -> Vec<Diagnostic> {
    use crate::stack::charts::{HATCHES, overlaps, secret_like};
    let mut out = Vec::new();
    for hatch in HATCHES {
        for path in secret_like(hatch.values(config)) {
            let full: Vec<&str> = hatch.key.iter().copied().chain(path.split('.')).collect();
            let n = deepest(tree, &full);
            out.push(
                diag_at(
                    n,
                    &full.join("."),
                    format!(
                        "this looks like a plaintext secret; alpaka keeps none in its config, plan or state (chart {} {})",
                        hatch.pin(config).chart,
                        hatch.pin(config).version
                    ),
                )
                .with_expected("no password, token or key in chartValues")
                .with_hint(
                    "create a Kubernetes Secret and point the chart at it (most charts take an `existingSecret` or `secretName` key); the value is not shown here",
                ),
            );
        }
    }
    // Issue 25: a mirror means no internet; a dashboard Grafana downloads is the user's choice,
    // kept, but it will not load there.
    if profile.mirror.is_some() && config.grafana.enabled {
        for d in &config.grafana.dashboards {
            if d.remove || (d.gnet_id.is_none() && d.url.is_none()) {
                continue;
            }
            let n = deepest(tree, &["grafana", "dashboards"]);
            out.push(Diagnostic {
                severity: crate::diag::Severity::Warning,
                ..diag_at(
                    n,
                    "grafana.dashboards",
                    format!(
                        "dashboard `{}` is downloaded by Grafana from {} at start, which the profile's `mirror` suggests it cannot reach",
                        d.name,
                        if d.gnet_id.is_some() { "grafana.com" } else { "its URL" }
                    ),
                )
                .with_hint("alpaka's own dashboards are built in; remove this entry or make sure Grafana can reach it")
            });
        }
    }
    for o in overlaps(profile.namespace.as_str(), config) {
        let cp = o.config_path();
        let segs: Vec<&str> = cp.split('.').collect();
        let n = deepest(tree, &segs);
        out.push(Diagnostic {
            severity: crate::diag::Severity::Warning,
            ..diag_at(
                n,
                &cp,
                format!(
                    "replaces `{}`, which alpaka sets on the {} chart; your value is used",
                    o.values_path(),
                    o.hatch.release
                ),
            )
        });
    }
    out
}

/// `kafka.config` may not set what alpaka derives from the typed Kafka keys: one source for each
/// setting, so a plan never shows two values fighting.
pub fn broker_config(config: &StackConfig, tree: &Node) -> Vec<Diagnostic> {
    use crate::stack::strimzi::DERIVED_BROKER_SETTINGS;
    let mut out = Vec::new();
    for key in config.kafka.config.keys() {
        if let Some((_, typed)) = DERIVED_BROKER_SETTINGS.iter().find(|(k, _)| k == key) {
            let n = deepest(tree, &["kafka", "config", key]);
            out.push(
                diag_at(
                    n,
                    &format!("kafka.config.{key}"),
                    format!("`{key}` is set by alpaka from `{typed}`"),
                )
                .with_expected(format!("`{typed}` instead"))
                .with_hint(format!(
                    "remove `{key}` from kafka.config and set `{typed}`"
                )),
            );
        }
    }
    out
}

/// Weakenings of the namespace's NetworkPolicies the user chose: an `ingress.className` whose
/// controller alpaka does not know (it cannot name where that controller's pods run, so the
/// UIs' ports admit every pod of the cluster; `stack::netpol`).
pub fn network_policy_weakenings(
    profile: &Profile,
    config: &StackConfig,
    tree: &Node,
) -> Vec<Diagnostic> {
    let Some(class) = config.ingress.class_name.as_deref() else {
        return Vec::new();
    };
    if !config.ingress.enabled || crate::stack::netpol::known_ingress_class(profile, class) {
        return Vec::new();
    }
    let n = deepest(tree, &["ingress", "className"]);
    vec![Diagnostic {
        severity: crate::diag::Severity::Warning,
        ..diag_at(
            n,
            "ingress.className",
            format!(
                "alpaka does not know where the `{class}` ingress controller runs: the web UIs' NetworkPolicies admit every pod of the cluster on their ports"
            ),
        )
    }]
}
