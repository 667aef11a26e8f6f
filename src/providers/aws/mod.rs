//! The AWS provider: adapts `alpaka-aws`'s typed operations to the engine's `Driver` trait, one
//! driver per resource kind. One SDK configuration is shared by all of them and loaded on first
//! use (a plan against an empty state never touches AWS).

mod access;
mod compute;
mod endpoints;
mod iam;
pub mod kubeconfig;
mod launch_template;
mod network;
pub mod orphans;
pub mod s3;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use alpaka_aws::{Aws, AwsError, Tags};
use tokio::sync::OnceCell;

use crate::engine::{DriverError, Drivers, Found, ResourceId, StepCx, Value};
use crate::state::ResourceState;

/// What every AWS driver shares: the lazily loaded SDK clients, the region, the waiters' timeout.
pub struct Shared {
    region: String,
    timeout: Duration,
    keep_volumes: bool,
    /// Where `eks.cluster` writes the kubeconfig in-cluster nodes use (`.alpaka/<profile>.kubeconfig`).
    kubeconfig: Option<PathBuf>,
    aws: OnceCell<Aws>,
    /// The caller's partition and account, asked once (ARNs alpaka can name before it exists).
    account: OnceCell<(String, String)>,
    /// The profile's subnets and route tables, listed once by tag on the first read of each:
    /// a plan reads many of them, and one listing costs one request. Only reads use it (they
    /// all happen in the plan, before anything changes); a resource not in the listing (its
    /// tags changed out of band) is described by id.
    subnets: OnceCell<HashMap<String, alpaka_aws::ec2::Subnet>>,
    route_tables: OnceCell<HashMap<String, alpaka_aws::ec2::RouteTable>>,
    /// What reads saw carrying a recorded resource's identity besides it (a create carried out
    /// twice), by resource id: the recorded one's AWS id and the others'.
    duplicates: std::sync::Mutex<HashMap<ResourceId, (String, Vec<String>)>>,
}

impl Shared {
    pub fn new(
        region: &str,
        timeout: Duration,
        keep_volumes: bool,
        kubeconfig: Option<PathBuf>,
    ) -> Arc<Shared> {
        Arc::new(Shared {
            region: region.to_owned(),
            timeout,
            keep_volumes,
            kubeconfig,
            aws: OnceCell::new(),
            account: OnceCell::new(),
            subnets: OnceCell::new(),
            route_tables: OnceCell::new(),
            duplicates: std::sync::Mutex::new(HashMap::new()),
        })
    }

    pub async fn aws(&self) -> &Aws {
        self.aws.get_or_init(|| Aws::load(&self.region)).await
    }

    async fn partition_and_account(&self) -> Result<&(String, String), DriverError> {
        let aws = self.aws().await;
        self.account
            .get_or_try_init(|| async { aws.partition_and_account().await.map_err(err) })
            .await
    }

    /// A subnet of the profile tagged `profile`, from the one listing (see `subnets`).
    async fn listed_subnet(
        &self,
        profile: &str,
        id: &str,
    ) -> Result<Option<alpaka_aws::ec2::Subnet>, DriverError> {
        let ec2 = &self.aws().await.ec2;
        listed(
            &self.subnets,
            id,
            |s| &s.id,
            || alpaka_aws::ec2::subnets_tagged(ec2, alpaka_aws::sweep::TAG_PROFILE, profile),
        )
        .await
    }

    /// A route table of the profile, from the one listing (see `route_tables`).
    async fn listed_route_table(
        &self,
        profile: &str,
        id: &str,
    ) -> Result<Option<alpaka_aws::ec2::RouteTable>, DriverError> {
        let ec2 = &self.aws().await.ec2;
        listed(
            &self.route_tables,
            id,
            |r| &r.id,
            || alpaka_aws::ec2::route_tables_tagged(ec2, alpaka_aws::sweep::TAG_PROFILE, profile),
        )
        .await
    }

    /// Note the others among `listed` (AWS id, tags) that carry `id`'s identity besides the
    /// recorded `aws_id`, for [`Shared::duplicates_of`].
    fn note_duplicates<'a>(
        &self,
        id: &ResourceId,
        aws_id: &str,
        listed: impl Iterator<Item = (&'a str, &'a Tags)>,
    ) {
        let others: Vec<String> = listed
            .filter(|(x, tags)| {
                *x != aws_id
                    && tags.get(alpaka_aws::TAG_ID).map(String::as_str) == Some(id.as_str())
            })
            .map(|(x, _)| x.to_owned())
            .collect();
        if let Ok(mut d) = self.duplicates.lock() {
            if others.is_empty() {
                d.remove(id);
            } else {
                d.insert(id.clone(), (aws_id.to_owned(), others));
            }
        }
    }

    /// Note duplicates of subnet `aws_id` (recorded as `id`) from the profile's one listing.
    fn note_subnet_duplicates(&self, id: &ResourceId, aws_id: &str) {
        if let Some(all) = self.subnets.get() {
            self.note_duplicates(id, aws_id, all.values().map(|s| (s.id.as_str(), &s.tags)));
        }
    }

    /// Note duplicates of route table `aws_id` (recorded as `id`) from the one listing.
    fn note_route_table_duplicates(&self, id: &ResourceId, aws_id: &str) {
        if let Some(all) = self.route_tables.get() {
            self.note_duplicates(id, aws_id, all.values().map(|r| (r.id.as_str(), &r.tags)));
        }
    }

    /// What the last read of `id` saw carrying its identity besides it.
    fn duplicates_of(&self, id: &ResourceId) -> Option<(String, Vec<String>)> {
        self.duplicates.lock().ok()?.get(id).cloned()
    }

    /// Read the EC2 resource `aws_id` recorded as `id` by its identity tags (`alpaka.io/id`
    /// and the profile's, from `rec`): one request, which also sees any other carrying them
    /// (noted as duplicates). When the recorded one is not among them (its tags changed out of
    /// band, or it is gone) it is described by id (`by_id`).
    async fn read_by_identity<T, L, LF, B, BF>(
        &self,
        id: &ResourceId,
        rec: &ResourceState,
        aws_id: &str,
        key: fn(&T) -> (&str, &Tags),
        list: L,
        by_id: B,
    ) -> Result<Option<T>, DriverError>
    where
        L: FnOnce(Vec<(String, String)>) -> LF,
        LF: std::future::Future<Output = Result<Vec<T>, AwsError>>,
        B: FnOnce() -> BF,
        BF: std::future::Future<Output = Result<Option<T>, AwsError>>,
    {
        let identity = vec![
            (alpaka_aws::TAG_ID.to_owned(), id.to_string()),
            (alpaka_aws::TAG_PROFILE.to_owned(), profile_of(&rec.attrs)),
        ];
        let all = list(identity).await.map_err(err)?;
        self.note_duplicates(id, aws_id, all.iter().map(key));
        match all.into_iter().find(|x| key(x).0 == aws_id) {
            Some(x) => Ok(Some(x)),
            None => by_id().await.map_err(err),
        }
    }

    fn wait(&self, what: &str, resource: &str) -> alpaka_aws::wait::WaitSpec {
        alpaka_aws::wait::WaitSpec::new(what, resource, self.timeout)
    }
}

/// Register every AWS kind. `documents` maps a policy file name (as the stack writes it) to its
/// content compiled into this binary.
pub fn register(
    drivers: &mut Drivers,
    shared: &Arc<Shared>,
    documents: HashMap<&'static str, &'static str>,
) {
    network::register(drivers, shared);
    endpoints::register(drivers, shared);
    iam::register(drivers, shared, documents);
    compute::register(drivers, shared);
    access::register(drivers, shared);
    launch_template::register(drivers, shared);
}

/// Anything still tagged with the profile after a destroy (and the LB controller's objects).
pub async fn leftovers(
    shared: &Shared,
    profile: &str,
    cluster: &str,
) -> Result<Vec<String>, String> {
    alpaka_aws::sweep::leftovers(shared.aws().await, profile, cluster)
        .await
        .map_err(|e| e.to_string())
}

/// The EBS volumes of the cluster's PVCs (what the sweep deletes unless `--keep-volumes`).
pub async fn pvc_volumes(
    shared: &Shared,
    profile: &str,
    cluster: &str,
) -> Result<Vec<String>, String> {
    alpaka_aws::sweep::cluster_volumes(shared.aws().await, cluster, profile)
        .await
        .map_err(|e| e.to_string())
}

/// `id` from a listing made once into `cell` by `list`, keyed by `key`.
async fn listed<T: Clone, F, Fut>(
    cell: &OnceCell<HashMap<String, T>>,
    id: &str,
    key: fn(&T) -> &String,
    list: F,
) -> Result<Option<T>, DriverError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>, AwsError>>,
{
    let all = cell
        .get_or_try_init(|| async {
            let items = list().await.map_err(err)?;
            Ok::<_, DriverError>(items.into_iter().map(|x| (key(&x).clone(), x)).collect())
        })
        .await?;
    Ok(all.get(id).cloned())
}

// ---- finding what a run made but did not record ----

/// The profile a resource's desired tags name (`alpaka.io/profile`).
pub(crate) fn profile_of(d: &Value) -> String {
    tags(d)
        .get(alpaka_aws::sweep::TAG_PROFILE)
        .cloned()
        .unwrap_or_default()
}

/// The EC2 resource of `kind` tagged as this profile's `id`, found by those two tags: its id.
/// More than one (a create retried without an idempotency token) adopts the first; `destroy
/// --orphans` removes the rest.
pub(crate) async fn find_ec2(
    aws: &Aws,
    kind: alpaka_aws::ec2::Kind,
    id: &ResourceId,
    d: &Value,
) -> Result<Option<String>, DriverError> {
    let profile = profile_of(d);
    let mut found = alpaka_aws::ec2::find_tagged(
        &aws.ec2,
        kind,
        &[
            (alpaka_aws::sweep::TAG_ID, id.as_str()),
            (alpaka_aws::sweep::TAG_PROFILE, &profile),
        ],
    )
    .await
    .map_err(err)?;
    found.sort();
    Ok(found.into_iter().next().map(|(id, _)| id))
}

/// A resource found by the name the configuration gives it: this deployment's `id` when its tags
/// say so (the profile tag, and the id tag where present: resources made before alpaka set it
/// carry only the profile's), otherwise someone else's, which alpaka never takes over.
pub(crate) fn ours_by_name(
    what: &str,
    name: &str,
    live: &Tags,
    id: &ResourceId,
    d: &Value,
    outputs: Value,
) -> Found {
    use alpaka_aws::sweep::{TAG_ID, TAG_PROFILE};
    let profile = profile_of(d);
    let profile_ok = live.get(TAG_PROFILE) == Some(&profile);
    let id_ok = live.get(TAG_ID).is_none_or(|v| v == id.as_str());
    if profile_ok && id_ok {
        return Found::Ours(outputs);
    }
    let theirs = |k: &str| {
        live.get(k)
            .map(|v| format!("{k}={v}"))
            .unwrap_or_else(|| format!("no {k} tag"))
    };
    Found::Foreign(format!(
        "{what} `{name}` already exists, and its tags ({}, {}) do not mark it as this \
         deployment's ({TAG_PROFILE}={profile}, {TAG_ID}={id}). alpaka does not take over what \
         it did not make: delete or rename that {what}, or give this profile's cluster another \
         name",
        theirs(TAG_PROFILE),
        theirs(TAG_ID)
    ))
}

// ---- helpers shared by the drivers ----

pub(crate) fn err(e: AwsError) -> DriverError {
    let code = e.code.clone();
    let rid = e
        .request_id
        .as_ref()
        .map(|r| format!(" [request id {r}]"))
        .unwrap_or_default();
    let d = DriverError::new(format!("{} {}: {}{rid}", e.op, e.resource, e.message));
    match code {
        Some(c) => d.with_code(c),
        None => d,
    }
}

pub(crate) fn status<'a>(cx: &'a StepCx) -> impl Fn(&str) + Send + Sync + 'a {
    move |s: &str| cx.status(s)
}

pub(crate) fn text(v: &Value, key: &str) -> Result<String, DriverError> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| DriverError::new(format!("attribute `{key}` is missing or not text")))
}

pub(crate) fn opt_text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

pub(crate) fn int(v: &Value, key: &str) -> Result<i64, DriverError> {
    v.get(key)
        .and_then(Value::as_i64)
        .ok_or_else(|| DriverError::new(format!("attribute `{key}` is missing or not a number")))
}

pub(crate) fn texts(v: &Value, key: &str) -> Vec<String> {
    match v.get(key) {
        Some(Value::List(l)) => l
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn string_map(v: &Value, key: &str) -> Tags {
    v.get(key)
        .and_then(Value::as_map)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn tags(v: &Value) -> Tags {
    string_map(v, "tags")
}

pub(crate) fn map_value(t: &Tags) -> Value {
    Value::Map(t.iter().map(|(k, v)| (k.clone(), Value::str(v))).collect())
}

pub(crate) fn list_value(items: &[String]) -> Value {
    Value::List(items.iter().map(Value::str).collect())
}

/// Live list items in the order the recorded list had them (sets AWS returns in any order);
/// items not recorded follow, sorted.
pub(crate) fn in_recorded_order(live: &[String], recorded: &[String]) -> Vec<String> {
    let mut out: Vec<String> = recorded
        .iter()
        .filter(|r| live.contains(r))
        .cloned()
        .collect();
    let mut extra: Vec<String> = live
        .iter()
        .filter(|l| !recorded.contains(l))
        .cloned()
        .collect();
    extra.sort();
    out.extend(extra);
    out
}

/// A recorded output, or an error naming it.
pub(crate) fn output(recorded: &ResourceState, key: &str) -> Result<String, DriverError> {
    text(&recorded.outputs, key)
        .map_err(|_| DriverError::new(format!("state records no output `{key}` for this resource")))
}

pub(crate) fn outputs<const N: usize>(pairs: [(&str, String); N]) -> Value {
    Value::Map(
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::Str(v)))
            .collect::<BTreeMap<_, _>>(),
    )
}

/// A recorded attribute carried over into a read (what AWS cannot report back).
pub(crate) fn carry(recorded: &ResourceState, key: &str) -> Value {
    recorded.attrs.get(key).cloned().unwrap_or_default()
}
