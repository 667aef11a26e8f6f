//! eks.cluster, eks.nodegroup, eks.addon, and aws.cluster-sweep (what controllers left behind).

use std::sync::Arc;

use alpaka_aws::eks::{
    self, ClusterSpec, EndpointAccess, NodeTaint, NodegroupSpec, Scaling, TemplateRef,
};
use async_trait::async_trait;

use super::{
    Shared, carry, err, in_recorded_order, int, kubeconfig, list_value, map_value, opt_text,
    ours_by_name, output, outputs, status, string_map, tags, text, texts,
};
use crate::engine::diff::FieldChange;
use crate::engine::{Driver, DriverError, Drivers, Found, ResourceId, StepCx, Value};
use crate::state::ResourceState;

pub fn register(d: &mut Drivers, s: &Arc<Shared>) {
    d.register("eks.cluster", Arc::new(ClusterDriver(s.clone())));
    d.register("eks.nodegroup", Arc::new(NodegroupDriver(s.clone())));
    d.register("eks.addon", Arc::new(AddonDriver(s.clone())));
    d.register("aws.cluster-sweep", Arc::new(SweepDriver(s.clone())));
}

fn top(changes: &[FieldChange]) -> Vec<&str> {
    let mut t: Vec<&str> = changes
        .iter()
        .filter_map(|c| c.path.first().map(String::as_str))
        .collect();
    t.dedup();
    t
}

pub struct ClusterDriver(Arc<Shared>);

fn cluster_outputs(k: &eks::Cluster) -> Value {
    outputs([
        ("name", k.name.clone()),
        ("arn", k.arn.clone()),
        ("endpoint", k.endpoint.clone()),
        ("certificate_authority", k.certificate_authority.clone()),
        ("oidc_issuer", k.oidc_issuer.clone()),
    ])
}

impl ClusterDriver {
    /// The cluster's outputs plus how to reach it: writes alpaka's own kubeconfig for it (endpoint
    /// and CA from DescribeCluster, the user an exec credential running this binary's
    /// `eks-token`) and returns its `context` and `kubeconfig`, as the local cluster drivers do.
    fn outputs_with_access(&self, k: &eks::Cluster, region: &str) -> Result<Value, DriverError> {
        let mut out = cluster_outputs(k);
        let Some(path) = &self.0.kubeconfig else {
            return Ok(out);
        };
        let context = kubeconfig::context_name(&k.name);
        let entries = kubeconfig::entries(
            &context,
            &k.name,
            region,
            &k.endpoint,
            &k.certificate_authority,
            &kubeconfig::exe(),
        );
        kubeconfig::write_own(path, &entries)
            .map_err(|e| DriverError::new(e.to_string()).with_code("Kubeconfig"))?;
        if let Value::Map(m) = &mut out {
            m.insert("context".into(), Value::Str(context));
            m.insert("kubeconfig".into(), Value::str(path.display().to_string()));
        }
        Ok(out)
    }
}

#[async_trait]
impl Driver for ClusterDriver {
    fn force_new(&self) -> &[&'static str] {
        // Not `bootstrap_cluster_creator_admin_permissions`: EKS sets it only at creation, and
        // a cluster made with it on is kept (see `check_update`), never replaced for it.
        &["name", "region", "role_arn", "subnet_ids"]
    }
    /// A version change is an upgrade EKS makes one minor at a time: the plan shows the steps,
    /// and refuses a downgrade (EKS has none). Secrets encryption can be added, never changed
    /// or removed. The creator's bootstrap admin stays on a cluster made with it.
    fn check_update(
        &self,
        live: &Value,
        desired: &Value,
        changes: &[FieldChange],
    ) -> Result<Option<String>, String> {
        let changed: Vec<&str> = top(changes);
        let mut notes = Vec::new();
        if changed.contains(&"kms_key_arn") {
            match (
                live.get("kms_key_arn").and_then(Value::as_str),
                desired.get("kms_key_arn").and_then(Value::as_str),
            ) {
                (None, Some(key)) => notes.push(format!(
                    "adds envelope encryption of secrets with {key} (AssociateEncryptionConfig); \
                     EKS cannot remove or change it afterwards"
                )),
                (Some(have), want) => {
                    return Err(format!(
                        "eks.kmsKeyArn: the cluster's secrets are encrypted with {have}, and EKS \
                         can neither {} a cluster's encryption key: set eks.kmsKeyArn back to \
                         {have}, or make a new cluster",
                        if want.is_some() { "change" } else { "remove" }
                    ));
                }
                (None, None) => {}
            }
        }
        if changed.contains(&"bootstrap_cluster_creator_admin_permissions") {
            notes.push(
                "keeps the creator's bootstrap admin: EKS sets it only at creation (the \
                 cluster is not replaced for it); the listed admins get access entries, and \
                 the creator's own entry can be deleted with `aws eks delete-access-entry` \
                 once they exist"
                    .to_owned(),
            );
        }
        if changed.contains(&"version")
            && let (Some(from), Some(to)) = (
                live.get("version").and_then(Value::as_str),
                desired.get("version").and_then(Value::as_str),
            )
        {
            let steps = eks::upgrade_steps(from, to)?;
            notes.push(format!(
                "upgrades one minor version at a time: {from} → {}, each step waited out; the \
                 nodegroups follow",
                steps.join(" → ")
            ));
        }
        Ok((!notes.is_empty()).then(|| notes.join("; ")))
    }
    async fn find(&self, id: &ResourceId, d: &Value) -> Result<Found, DriverError> {
        let aws = self.0.aws().await;
        let Some(name) = opt_text(d, "name") else {
            return Ok(Found::Nothing);
        };
        let Some(k) = eks::describe_cluster(&aws.eks, &name).await.map_err(err)? else {
            return Ok(Found::Nothing);
        };
        Ok(ours_by_name(
            "EKS cluster",
            &name,
            &k.tags,
            id,
            d,
            cluster_outputs(&k),
        ))
    }
    async fn read(
        &self,
        _: &ResourceId,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let aws = self.0.aws().await;
        let k = eks::describe_cluster(&aws.eks, &output(rec, "name")?)
            .await
            .map_err(err)?;
        Ok(k.map(|k| {
            Value::map([
                ("name", Value::Str(k.name)),
                // Not reported back by EKS (or by the stand-in): as last applied.
                ("region", carry(rec, "region")),
                ("wait_timeout", carry(rec, "wait_timeout")),
                (
                    "bootstrap_cluster_creator_admin_permissions",
                    carry(rec, "bootstrap_cluster_creator_admin_permissions"),
                ),
                (
                    "authentication_mode",
                    k.authentication_mode
                        .map(Value::Str)
                        .unwrap_or_else(|| carry(rec, "authentication_mode")),
                ),
                ("version", Value::Str(k.version)),
                ("role_arn", Value::Str(k.role_arn)),
                (
                    "endpoint_private_access",
                    Value::Bool(k.endpoint_access.private),
                ),
                (
                    "public_access_cidrs",
                    list_value(&in_recorded_order(
                        &k.endpoint_access.public_cidrs,
                        &texts(&rec.attrs, "public_access_cidrs"),
                    )),
                ),
                ("logging", list_value(&k.logging)),
                (
                    "kms_key_arn",
                    k.kms_key_arn.map(Value::Str).unwrap_or_default(),
                ),
                (
                    "subnet_ids",
                    list_value(&in_recorded_order(
                        &k.subnet_ids,
                        &texts(&rec.attrs, "subnet_ids"),
                    )),
                ),
                ("tags", map_value(&k.tags)),
            ])
        }))
    }
    async fn create(&self, cx: &StepCx, d: &Value) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let spec = ClusterSpec {
            name: text(d, "name")?,
            version: text(d, "version")?,
            role_arn: text(d, "role_arn")?,
            subnet_ids: texts(d, "subnet_ids"),
            authentication_mode: text(d, "authentication_mode")?,
            bootstrap_creator_admin: d
                .get("bootstrap_cluster_creator_admin_permissions")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            endpoint: endpoint_access(d),
            logging: texts(d, "logging"),
            kms_key_arn: opt_text(d, "kms_key_arn"),
            tags: tags(d),
        };
        eks::create_cluster(&aws.eks, &spec, &cx.idempotency_token())
            .await
            .map_err(err)?;
        cx.status("CREATING");
        let w = self.0.wait("eks cluster ACTIVE", &spec.name);
        let k = eks::wait_cluster_active(&aws.eks, &spec.name, &w, &status(cx))
            .await
            .map_err(err)?;
        self.outputs_with_access(&k, &text(d, "region")?)
    }
    async fn update(
        &self,
        cx: &StepCx,
        rec: &ResourceState,
        d: &Value,
        ch: &[FieldChange],
    ) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let name = output(rec, "name")?;
        // One adopted from a killed run may still be CREATING (no endpoint yet).
        let w = self.0.wait("eks cluster ACTIVE", &name);
        eks::wait_cluster_active(&aws.eks, &name, &w, &status(cx))
            .await
            .map_err(err)?;
        let changed = top(ch);
        // One UpdateClusterConfig per kind of change (EKS refuses two in one call), each
        // waited out before the next.
        if changed
            .iter()
            .any(|t| ["endpoint_private_access", "public_access_cidrs"].contains(t))
        {
            cx.status("changing endpoint access");
            let w = self.0.wait("eks cluster endpoint access update", &name);
            eks::update_endpoint_access(&aws.eks, &name, &endpoint_access(d), &w, &status(cx))
                .await
                .map_err(err)?;
        }
        if changed.contains(&"logging") {
            cx.status("changing control-plane logging");
            let w = self.0.wait("eks cluster logging update", &name);
            eks::update_logging(&aws.eks, &name, &texts(d, "logging"), &w, &status(cx))
                .await
                .map_err(err)?;
        }
        if changed.contains(&"kms_key_arn") {
            // Only an addition gets here: check_update refused a change or a removal.
            let key = text(d, "kms_key_arn")?;
            cx.status("adding secrets encryption");
            let w = self.0.wait("eks cluster encryption update", &name);
            eks::associate_encryption(&aws.eks, &name, &key, &w, &status(cx))
                .await
                .map_err(err)?;
        }
        for t in changed {
            match t {
                "version" => {
                    // One minor version at a time, each waited out (EKS refuses more).
                    let live = eks::describe_cluster(&aws.eks, &name)
                        .await
                        .map_err(err)?
                        .map(|k| k.version)
                        .unwrap_or_default();
                    let steps = eks::upgrade_steps(&live, &text(d, "version")?)
                        .map_err(|m| DriverError::new(format!("eks cluster {name}: {m}")))?;
                    for step in steps {
                        cx.status(&format!("upgrading to {step}"));
                        let w = self
                            .0
                            .wait(&format!("eks cluster upgrade to {step}"), &name);
                        eks::update_cluster_version(&aws.eks, &name, &step, &w, &status(cx))
                            .await
                            .map_err(err)?;
                    }
                }
                "tags"
                | "wait_timeout"
                | "endpoint_private_access"
                | "public_access_cidrs"
                | "logging"
                | "kms_key_arn"
                // Set only at creation: kept (check_update said so).
                | "bootstrap_cluster_creator_admin_permissions" => {}
                other => {
                    return Err(DriverError::new(format!(
                        "eks cluster {name}: changing `{other}` in place is not supported"
                    )));
                }
            }
        }
        let Some(k) = eks::describe_cluster(&aws.eks, &name).await.map_err(err)? else {
            return Err(DriverError::new(format!("eks cluster {name} is gone"))
                .with_code("ResourceNotFoundException"));
        };
        eks::set_tags(&aws.eks, &k.arn, &k.tags, &tags(d))
            .await
            .map_err(err)?;
        self.outputs_with_access(&k, &text(d, "region")?)
    }
    async fn delete(&self, cx: &StepCx, rec: &ResourceState) -> Result<(), DriverError> {
        let aws = self.0.aws().await;
        let name = output(rec, "name")?;
        let w = self.0.wait("eks cluster deleted", &name);
        eks::delete_cluster(&aws.eks, &name, &w, &status(cx))
            .await
            .map_err(err)?;
        // The kubeconfig written for it reaches nothing any more.
        if let Some(path) = opt_text(&rec.outputs, "kubeconfig") {
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(
                        DriverError::new(format!("removing the kubeconfig {path}: {e}"))
                            .with_code("Kubeconfig"),
                    );
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn endpoint_access(d: &Value) -> EndpointAccess {
    EndpointAccess {
        private: d
            .get("endpoint_private_access")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        public_cidrs: texts(d, "public_access_cidrs"),
    }
}

fn nodegroup_spec(d: &Value) -> Result<NodegroupSpec, DriverError> {
    let sc = d
        .get("scaling")
        .ok_or_else(|| DriverError::new("attribute `scaling` is missing"))?;
    let i32_of = |v: &Value, k: &str| -> Result<i32, DriverError> {
        i32::try_from(int(v, k)?).map_err(|_| DriverError::new(format!("`{k}` is out of range")))
    };
    let taints = match d.get("taints") {
        Some(Value::List(l)) => l
            .iter()
            .map(|t| {
                Ok(NodeTaint {
                    key: text(t, "key")?,
                    value: opt_text(t, "value"),
                    effect: text(t, "effect")?,
                })
            })
            .collect::<Result<Vec<_>, DriverError>>()?,
        _ => Vec::new(),
    };
    Ok(NodegroupSpec {
        cluster: text(d, "cluster")?,
        name: text(d, "name")?,
        node_role_arn: text(d, "node_role_arn")?,
        subnet_ids: texts(d, "subnet_ids"),
        instance_types: texts(d, "instance_types"),
        // The launch template sets the disk (EKS refuses both).
        disk_size_gb: 0,
        ami_type: opt_text(d, "ami_type").unwrap_or_default(),
        launch_template: match d.get("launch_template") {
            Some(t @ Value::Map(_)) => Some(TemplateRef {
                id: text(t, "id")?,
                version: text(t, "version")?,
            }),
            _ => None,
        },
        version: opt_text(d, "version").unwrap_or_default(),
        scaling: Scaling {
            desired: i32_of(sc, "desired")?,
            min: i32_of(sc, "min")?,
            max: i32_of(sc, "max")?,
        },
        labels: string_map(d, "labels"),
        taints,
        tags: tags(d),
    })
}

fn taints_value(t: &[NodeTaint]) -> Value {
    Value::List(
        t.iter()
            .map(|t| {
                Value::map([
                    ("key", Value::str(&t.key)),
                    ("value", t.value.clone().map(Value::Str).unwrap_or_default()),
                    ("effect", Value::str(&t.effect)),
                ])
            })
            .collect(),
    )
}

pub struct NodegroupDriver(Arc<Shared>);

#[async_trait]
impl Driver for NodegroupDriver {
    fn force_new(&self) -> &[&'static str] {
        &[
            "cluster",
            "name",
            "node_role_arn",
            "subnet_ids",
            "instance_types",
            "ami_type",
            // EKS rolls a nodegroup to another version of its launch template, never to another
            // template, and cannot give one to a nodegroup made without (EKS API Reference,
            // UpdateNodegroupVersion `launchTemplate`): a nodegroup an earlier alpaka made
            // (no launch template) is replaced.
            "launch_template.id",
        ]
    }
    fn replace_warning(&self) -> Option<&'static str> {
        Some(
            "the nodegroup is deleted (its nodes drained and terminated) before it is created              again: until its new nodes join, pods that ran on it wait. A nodegroup made by an              alpaka before launch templates has none, and EKS cannot add one in place: this              replacement is how it gets one (IMDSv2, encrypted root volume)",
        )
    }
    async fn find(&self, id: &ResourceId, d: &Value) -> Result<Found, DriverError> {
        let aws = self.0.aws().await;
        // A cluster still to be created has no nodegroups.
        let (Some(cluster), Some(name)) = (opt_text(d, "cluster"), opt_text(d, "name")) else {
            return Ok(Found::Nothing);
        };
        let Some(n) = eks::describe_nodegroup(&aws.eks, &cluster, &name)
            .await
            .map_err(err)?
        else {
            return Ok(Found::Nothing);
        };
        Ok(ours_by_name(
            "EKS nodegroup",
            &format!("{cluster}/{name}"),
            &n.spec.tags,
            id,
            d,
            outputs([("name", name.clone()), ("arn", n.arn)]),
        ))
    }
    async fn read(
        &self,
        _: &ResourceId,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let aws = self.0.aws().await;
        let n = eks::describe_nodegroup(
            &aws.eks,
            &text(&rec.attrs, "cluster")?,
            &output(rec, "name")?,
        )
        .await
        .map_err(err)?;
        Ok(n.map(|n| {
            let s = n.spec;
            Value::map([
                ("cluster", Value::Str(s.cluster)),
                ("name", Value::Str(s.name)),
                ("node_role_arn", Value::Str(s.node_role_arn)),
                (
                    "subnet_ids",
                    list_value(&in_recorded_order(
                        &s.subnet_ids,
                        &texts(&rec.attrs, "subnet_ids"),
                    )),
                ),
                ("instance_types", list_value(&s.instance_types)),
                ("ami_type", Value::Str(s.ami_type)),
                (
                    "launch_template",
                    s.launch_template
                        .map(|t| {
                            Value::map([
                                ("id", Value::Str(t.id)),
                                ("version", Value::Str(t.version)),
                            ])
                        })
                        .unwrap_or_default(),
                ),
                ("version", Value::Str(s.version)),
                (
                    "scaling",
                    Value::map([
                        ("desired", Value::Int(i64::from(s.scaling.desired))),
                        ("min", Value::Int(i64::from(s.scaling.min))),
                        ("max", Value::Int(i64::from(s.scaling.max))),
                    ]),
                ),
                ("labels", map_value(&s.labels)),
                ("taints", taints_value(&s.taints)),
                ("tags", map_value(&s.tags)),
            ])
        }))
    }
    async fn create(&self, cx: &StepCx, d: &Value) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let s = nodegroup_spec(d)?;
        eks::create_nodegroup(&aws.eks, &s, &cx.idempotency_token())
            .await
            .map_err(err)?;
        cx.status("CREATING");
        let w = self
            .0
            .wait("eks nodegroup ACTIVE", &format!("{}/{}", s.cluster, s.name));
        let n = eks::wait_nodegroup_active(&aws.eks, &s.cluster, &s.name, &w, &status(cx))
            .await
            .map_err(err)?;
        Ok(outputs([("name", s.name), ("arn", n.arn)]))
    }
    /// Scaling, labels and taints change in place (`UpdateNodegroupConfig`); Kubernetes and
    /// launch template versions by a roll (`UpdateNodegroupVersion`); tags too.
    async fn update(
        &self,
        cx: &StepCx,
        rec: &ResourceState,
        d: &Value,
        _: &[FieldChange],
    ) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let want = nodegroup_spec(d)?;
        let id = format!("{}/{}", want.cluster, want.name);
        let Some(live) = eks::describe_nodegroup(&aws.eks, &want.cluster, &want.name)
            .await
            .map_err(err)?
        else {
            return Err(DriverError::new(format!("eks nodegroup {id} is gone"))
                .with_code("ResourceNotFoundException"));
        };
        let w = self.0.wait("eks nodegroup update", &id);
        // One adopted from a killed run may still be CREATING: EKS refuses updates until ACTIVE.
        let live = if live.status == "ACTIVE" {
            live
        } else {
            eks::wait_nodegroup_active(&aws.eks, &want.cluster, &want.name, &w, &status(cx))
                .await
                .map_err(err)?
        };
        // After its cluster's upgrade (the nodegroup depends on the cluster), to the same minor;
        // after its launch template's update, to the new version: one roll for both.
        let version = (!want.version.is_empty() && want.version != live.spec.version)
            .then_some(want.version.as_str());
        let template = want
            .launch_template
            .as_ref()
            .filter(|t| Some(*t) != live.spec.launch_template.as_ref());
        if version.is_some() || template.is_some() {
            if let Some(t) = template {
                cx.status(&format!("rolling to launch template version {}", t.version));
            }
            eks::roll_nodegroup(
                &aws.eks,
                &want.cluster,
                &want.name,
                version,
                template,
                &w,
                &status(cx),
            )
            .await
            .map_err(err)?;
        }
        eks::update_nodegroup_config(&aws.eks, &live.spec, &want, &w, &status(cx))
            .await
            .map_err(err)?;
        eks::set_tags(&aws.eks, &live.arn, &live.spec.tags, &want.tags)
            .await
            .map_err(err)?;
        let _ = rec;
        Ok(outputs([("name", want.name), ("arn", live.arn)]))
    }
    async fn delete(&self, cx: &StepCx, rec: &ResourceState) -> Result<(), DriverError> {
        let aws = self.0.aws().await;
        let cluster = text(&rec.attrs, "cluster")?;
        let name = output(rec, "name")?;
        let w = self
            .0
            .wait("eks nodegroup deleted", &format!("{cluster}/{name}"));
        eks::delete_nodegroup(&aws.eks, &cluster, &name, &w, &status(cx))
            .await
            .map_err(err)
    }
}

pub struct AddonDriver(Arc<Shared>);

#[async_trait]
impl Driver for AddonDriver {
    fn force_new(&self) -> &[&'static str] {
        &["cluster", "name"]
    }
    async fn find(&self, id: &ResourceId, d: &Value) -> Result<Found, DriverError> {
        let aws = self.0.aws().await;
        let (Some(cluster), Some(name)) = (opt_text(d, "cluster"), opt_text(d, "name")) else {
            return Ok(Found::Nothing);
        };
        let Some(a) = eks::describe_addon(&aws.eks, &cluster, &name)
            .await
            .map_err(err)?
        else {
            return Ok(Found::Nothing);
        };
        Ok(ours_by_name(
            "EKS add-on",
            &format!("{cluster}/{name}"),
            &a.tags,
            id,
            d,
            outputs([("arn", a.arn), ("version", a.version)]),
        ))
    }
    async fn read(
        &self,
        _: &ResourceId,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let aws = self.0.aws().await;
        let a = eks::describe_addon(
            &aws.eks,
            &text(&rec.attrs, "cluster")?,
            &text(&rec.attrs, "name")?,
        )
        .await
        .map_err(err)?;
        Ok(a.map(|a| {
            let mut m = vec![
                ("cluster", Value::Str(a.cluster)),
                ("name", Value::Str(a.name)),
                // Which Kubernetes version its add-on version was chosen for: EKS does not say,
                // so as last applied (a change of it is an update to that version's default).
                ("kubernetes_version", carry(rec, "kubernetes_version")),
                (
                    "service_account_role_arn",
                    a.service_account_role_arn
                        .map(Value::Str)
                        .unwrap_or_default(),
                ),
                ("tags", map_value(&a.tags)),
            ];
            if rec.attrs.get("configuration_values").is_some() || a.configuration_values.is_some() {
                m.push((
                    "configuration_values",
                    a.configuration_values.map(Value::Str).unwrap_or_default(),
                ));
            }
            Value::map(m)
        }))
    }
    async fn create(&self, cx: &StepCx, d: &Value) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let (cluster, name) = (text(d, "cluster")?, text(d, "name")?);
        let role = opt_text(d, "service_account_role_arn");
        let config = opt_text(d, "configuration_values");
        eks::create_addon(
            &aws.eks,
            &cluster,
            &name,
            role.as_deref(),
            config.as_deref(),
            &tags(d),
            &cx.idempotency_token(),
        )
        .await
        .map_err(err)?;
        let w = self
            .0
            .wait("eks add-on ACTIVE", &format!("{cluster}/{name}"));
        let a = eks::wait_addon_active(&aws.eks, &cluster, &name, &w, &status(cx))
            .await
            .map_err(err)?;
        Ok(outputs([("arn", a.arn), ("version", a.version)]))
    }
    async fn update(
        &self,
        cx: &StepCx,
        _: &ResourceState,
        d: &Value,
        ch: &[FieldChange],
    ) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let (cluster, name) = (text(d, "cluster")?, text(d, "name")?);
        let t = top(ch);
        let w = self
            .0
            .wait("eks add-on update", &format!("{cluster}/{name}"));
        // One adopted from a killed run may still be CREATING: EKS refuses updates until ACTIVE.
        let mut live = eks::wait_addon_active(&aws.eks, &cluster, &name, &w, &status(cx))
            .await
            .map_err(err)?;
        // The cluster was upgraded first (the add-on depends on it): move to the add-on version
        // EKS makes the default for the new Kubernetes version.
        let mut version = None;
        if t.contains(&"kubernetes_version") {
            let k8s = text(d, "kubernetes_version")?;
            let want = eks::default_addon_version(&aws.eks, &name, &k8s)
                .await
                .map_err(err)?
                .ok_or_else(|| {
                    DriverError::new(format!(
                        "eks add-on {cluster}/{name}: EKS names no default version of it for \
                         Kubernetes {k8s}"
                    ))
                    .with_code("NoAddonVersion")
                })?;
            if want != live.version {
                cx.status(&format!("moving to {want}"));
                version = Some(want);
            }
        }
        if t.contains(&"service_account_role_arn")
            || t.contains(&"configuration_values")
            || version.is_some()
        {
            let role = opt_text(d, "service_account_role_arn");
            let config = opt_text(d, "configuration_values");
            eks::update_addon(
                &aws.eks,
                &cluster,
                &name,
                role.as_deref(),
                config.as_deref(),
                version.as_deref(),
            )
            .await
            .map_err(err)?;
            live = eks::wait_addon_active(&aws.eks, &cluster, &name, &w, &status(cx))
                .await
                .map_err(err)?;
        }
        eks::set_tags(&aws.eks, &live.arn, &live.tags, &tags(d))
            .await
            .map_err(err)?;
        Ok(outputs([("arn", live.arn), ("version", live.version)]))
    }
    async fn delete(&self, cx: &StepCx, rec: &ResourceState) -> Result<(), DriverError> {
        let aws = self.0.aws().await;
        let (cluster, name) = (text(&rec.attrs, "cluster")?, text(&rec.attrs, "name")?);
        let w = self
            .0
            .wait("eks add-on deleted", &format!("{cluster}/{name}"));
        eks::delete_addon(&aws.eks, &cluster, &name, &w, &status(cx))
            .await
            .map_err(err)
    }
}

/// Nothing to create: it exists to run, on destroy, after everything in the cluster is gone and
/// before add-ons, nodegroups, the cluster and the network go — deleting what controllers made
/// (load balancers, target groups, security groups) and, unless `--keep-volumes`, the EBS
/// volumes behind PVCs.
pub struct SweepDriver(Arc<Shared>);

#[async_trait]
impl Driver for SweepDriver {
    async fn read(
        &self,
        _: &ResourceId,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        Ok(Some(rec.attrs.clone()))
    }
    async fn create(&self, _: &StepCx, d: &Value) -> Result<Value, DriverError> {
        Ok(outputs([("cluster", text(d, "cluster")?)]))
    }
    async fn update(
        &self,
        _: &StepCx,
        rec: &ResourceState,
        _: &Value,
        _: &[FieldChange],
    ) -> Result<Value, DriverError> {
        Ok(rec.outputs.clone())
    }
    async fn delete(&self, cx: &StepCx, rec: &ResourceState) -> Result<(), DriverError> {
        let aws = self.0.aws().await;
        let cluster = text(&rec.attrs, "cluster")?;
        let profile = text(&rec.attrs, "profile")?;
        let vpc = opt_text(&rec.attrs, "vpc_id");
        let report = alpaka_aws::sweep::sweep(
            aws,
            &cluster,
            &profile,
            vpc.as_deref(),
            self.0.keep_volumes,
            self.0.timeout,
            &status(cx),
        )
        .await
        .map_err(err)?;
        cx.status(&format!(
            "swept {} load balancer(s), {} target group(s), {} security group(s), {} volume(s) deleted, {} kept",
            report.load_balancers.len(),
            report.target_groups.len(),
            report.security_groups.len(),
            report.volumes_deleted.len(),
            report.volumes_kept.len()
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn driver() -> ClusterDriver {
        ClusterDriver(Shared::new(
            "ap-northeast-2",
            std::time::Duration::from_secs(1),
            false,
            None,
        ))
    }

    fn change(path: &str, before: Value, after: Value) -> FieldChange {
        FieldChange {
            path: vec![path.to_owned()],
            before: Some(before),
            after: Some(after),
            forces_replacement: false,
        }
    }

    #[test]
    fn a_cluster_made_with_the_bootstrap_admin_is_kept_with_a_note() {
        let d = driver();
        assert!(
            !d.force_new()
                .contains(&"bootstrap_cluster_creator_admin_permissions")
        );
        let key = "bootstrap_cluster_creator_admin_permissions";
        let live = Value::map([(key, Value::Bool(true))]);
        let want = Value::map([(key, Value::Bool(false))]);
        let note = d
            .check_update(
                &live,
                &want,
                &[change(key, Value::Bool(true), Value::Bool(false))],
            )
            .unwrap()
            .unwrap();
        assert!(
            note.contains("keeps the creator's bootstrap admin"),
            "{note}"
        );
    }

    #[test]
    fn a_secrets_key_can_be_added_never_changed_or_removed() {
        let d = driver();
        let k =
            |v: Option<&str>| Value::map([("kms_key_arn", v.map(Value::str).unwrap_or_default())]);
        let (a, b) = ("arn:aws:kms:r:1:key/a", "arn:aws:kms:r:1:key/b");
        let ch = |x: Option<&str>, y: Option<&str>| {
            [change(
                "kms_key_arn",
                x.map(Value::str).unwrap_or_default(),
                y.map(Value::str).unwrap_or_default(),
            )]
        };
        let added = d.check_update(&k(None), &k(Some(a)), &ch(None, Some(a)));
        assert!(
            added
                .unwrap()
                .unwrap()
                .contains("AssociateEncryptionConfig")
        );
        let changed = d.check_update(&k(Some(a)), &k(Some(b)), &ch(Some(a), Some(b)));
        assert!(changed.unwrap_err().contains("can neither change"));
        let removed = d.check_update(&k(Some(a)), &k(None), &ch(Some(a), None));
        assert!(removed.unwrap_err().contains("can neither remove"));
    }
}
