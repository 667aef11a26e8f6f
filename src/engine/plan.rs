//! A plan is data: per resource an action with before/after and the fields that differ.
//! Computing it (refresh + diff) is here; rendering is in `render`, executing in `apply`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::sync::Semaphore;

use super::diff::FieldChange;
use super::driver::{DriverError, Drivers, Found};
use super::graph::{Graph, GraphError};
use super::node::ResourceId;
use super::value::{OutputRef, Value};
use crate::state::{ResourceState, State};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    NoOp,
    Create,
    Update,
    /// Delete, then create: a field that cannot change in place changed.
    Replace,
    Delete,
    /// Not in state but found live, made by this deployment (a run stopped before recording
    /// it): recorded, and updated where it differs from the configuration.
    Adopt,
}

/// Why a change is in the plan when the config alone would not say so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// In state, but gone from the live system.
    DeletedOutOfBand,
    /// Live differs from what was last applied, though the config did not change.
    Drift,
    /// In state, no longer in the config.
    NotInConfig,
    /// Part of `destroy`.
    Destroy,
    /// Tagged as this profile's but recorded nowhere (`destroy --orphans`).
    Orphan,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub id: ResourceId,
    pub kind: String,
    pub action: Action,
    /// What it waits for: for creates/updates the node's dependencies, for deletes what the
    /// state recorded (reversed by the walker).
    pub deps: Vec<ResourceId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    /// Desired attributes (redacted), for creates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    /// The driver's warning for a replacement (e.g. "wipes the cluster").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// What an in-place update will do beyond its fields (e.g. an upgrade's steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// For a resource found live but not in state: its outputs as the driver found them (what
    /// apply records, and what a replacement deletes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found: Option<Value>,
    /// An update applied in two steps (the driver's [`Driver::interim`] first, the
    /// configuration once everything waiting for it is done); `note` says why.
    ///
    /// [`Driver::interim`]: super::driver::Driver::interim
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub two_step: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub profile: String,
    /// State identity when planned: apply of a saved plan refuses if either moved.
    pub lineage: Option<String>,
    pub serial: u64,
    pub destroy: bool,
    #[serde(default)]
    pub targets: Vec<ResourceId>,
    /// Hash of the inputs (profile + config files) the plan was made from.
    pub inputs_hash: String,
    pub changes: Vec<Change>,
    /// Resources carrying the identity of one state records (a create carried out twice):
    /// `destroy --orphans` removes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub duplicates: Vec<Duplicate>,
}

/// A recorded resource and the others that carry its identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Duplicate {
    pub id: ResourceId,
    /// The one state records, as the provider names it (`vpc-0abc…`).
    pub recorded: String,
    pub others: Vec<String>,
}

pub const PLAN_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub adopt: usize,
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::NoOp => {}
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Replace => {
                    s.add += 1;
                    s.destroy += 1;
                }
                Action::Delete => s.destroy += 1,
                Action::Adopt => {
                    s.adopt += 1;
                    if !c.fields.is_empty() {
                        s.change += 1;
                    }
                }
            }
        }
        s
    }

    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::NoOp)
    }

    /// Changes that do something, in plan order.
    pub fn actions(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.action != Action::NoOp)
    }
}

#[derive(Debug, Error)]
pub enum PlanError {
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error("cannot refresh {}: this build has no driver for resource kind {}", ids.join(", "), kinds.join(", "))]
    NoDriver {
        kinds: Vec<String>,
        ids: Vec<String>,
    },
    #[error("refreshing `{id}` failed: {source}")]
    Refresh { id: ResourceId, source: DriverError },
    #[error(
        "looking for `{id}` failed (no state records it, so alpaka checks whether an interrupted \
         run made it before creating it): {source}. To plan from the configuration alone: \
         `alpaka plan --refresh=false`"
    )]
    Lookup { id: ResourceId, source: DriverError },
    #[error("`{id}` cannot be changed as configured: {message}")]
    Refused { id: ResourceId, message: String },
    #[error("`{id}` cannot be created: {message}")]
    Foreign { id: ResourceId, message: String },
    #[error("`{id}` cannot be created: {source}")]
    CreateRefused { id: ResourceId, source: DriverError },
}

#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub profile: String,
    pub targets: Vec<ResourceId>,
    pub destroy: bool,
    pub parallelism: usize,
    pub inputs_hash: String,
    /// Read live state (and look for resources state does not record). `false` plans from
    /// state and configuration alone, touching nothing (`plan --refresh=false`).
    pub refresh: bool,
}

/// Refresh what state records (concurrently, bounded), then diff against the graph.
pub async fn plan(
    graph: &Graph,
    state: &State,
    drivers: &Drivers,
    opts: &PlanOptions,
) -> Result<Plan, PlanError> {
    let salt = state.lineage.as_str();
    let mut duplicates = Vec::new();
    let changes = if opts.destroy {
        destroy_changes(graph, state, &opts.targets)?
    } else {
        let selected: Option<BTreeSet<ResourceId>> = if opts.targets.is_empty() {
            None
        } else {
            Some(graph.with_dependencies(&opts.targets)?)
        };
        let in_scope = |id: &ResourceId| selected.as_ref().is_none_or(|s| s.contains(id));
        let to_refresh: Vec<ResourceId> = state
            .resources
            .keys()
            .filter(|id| in_scope(id))
            .cloned()
            .collect();
        let live = if opts.refresh {
            let (live, found) = refresh(state, drivers, &to_refresh, opts.parallelism).await?;
            duplicates = found;
            live
        } else {
            to_refresh
                .iter()
                .map(|id| (id.clone(), Some(state.resources[id].attrs.clone())))
                .collect()
        };

        let mut changes = Vec::new();
        let mut action_of: HashMap<ResourceId, Action> = HashMap::new();
        // Outputs of resources found live and adopted (not in state).
        let mut found_outputs: HashMap<ResourceId, Value> = HashMap::new();
        // Adopted resources whose adoption updates them.
        let mut updated: BTreeSet<ResourceId> = BTreeSet::new();
        for node in graph.topo_order() {
            if !in_scope(&node.id) {
                continue;
            }
            // Outputs of nodes left alone or changed in place are known from state; those of
            // nodes (re)created are not known until apply.
            // An update may change some outputs (the driver says which): unknown until apply.
            let changed_by_update = |id: &ResourceId, output: &str| {
                graph
                    .get(id)
                    .and_then(|n| drivers.get(&n.kind))
                    .is_some_and(|d| d.outputs_changed_by_update().contains(&output))
            };
            let lookup = |r: &OutputRef| -> Option<Value> {
                let id = ResourceId::new(r.node.clone());
                match action_of.get(&id) {
                    Some(Action::Update) if changed_by_update(&id, &r.output) => None,
                    Some(Action::Adopt)
                        if updated.contains(&id) && changed_by_update(&id, &r.output) =>
                    {
                        None
                    }
                    Some(Action::NoOp | Action::Update) => {
                        state.resources.get(&id)?.outputs.get(&r.output).cloned()
                    }
                    Some(Action::Adopt) => found_outputs.get(&id)?.get(&r.output).cloned(),
                    _ => None,
                }
            };
            let desired = node.desired.resolve(&lookup);
            let mut warning = None;
            let mut note = None;
            let mut found = None;
            let mut two_step = false;
            let (action, reason, fields) = match (state.resources.get(&node.id), live.get(&node.id))
            {
                // A kind this build cannot act on has nothing to look with: it plans as a create,
                // and the plan says it cannot be applied.
                (None, _) if opts.refresh && drivers.get(&node.kind).is_some() => {
                    let driver = drivers.get(&node.kind).ok_or_else(|| PlanError::NoDriver {
                        kinds: vec![node.kind.clone()],
                        ids: vec![node.id.to_string()],
                    })?;
                    match look_for(driver.as_ref(), node, &desired).await? {
                        None => {
                            note = check_create(driver.as_ref(), node, &desired).await?;
                            (Action::Create, None, Vec::new())
                        }
                        Some((outputs, live_attrs)) => {
                            let fields = redacted(driver.diff(&live_attrs, &desired, salt));
                            let action = if fields.iter().any(|f| f.forces_replacement) {
                                driver
                                    .check_replace(&live_attrs, &desired)
                                    .map_err(|message| PlanError::Refused {
                                        id: node.id.clone(),
                                        message,
                                    })?;
                                warning = driver.replace_warning().map(str::to_owned);
                                Action::Replace
                            } else {
                                // Brought to the configuration by an update: the same checks.
                                if !fields.is_empty() {
                                    note = driver
                                        .check_update(&live_attrs, &desired, &fields)
                                        .map_err(|message| PlanError::Refused {
                                            id: node.id.clone(),
                                            message,
                                        })?;
                                    (two_step, note) =
                                        bridged(driver.as_ref(), &live_attrs, &desired, note);
                                }
                                Action::Adopt
                            };
                            found_outputs.insert(node.id.clone(), outputs.clone());
                            found = Some(outputs);
                            (action, None, fields)
                        }
                    }
                }
                (None, _) => (Action::Create, None, Vec::new()),
                (Some(_), Some(None)) => {
                    if let Some(driver) = drivers.get(&node.kind) {
                        note = check_create(driver.as_ref(), node, &desired).await?;
                    }
                    (Action::Create, Some(Reason::DeletedOutOfBand), Vec::new())
                }
                (Some(recorded), Some(Some(live_attrs))) => {
                    let driver = drivers.get(&node.kind).ok_or_else(|| PlanError::NoDriver {
                        kinds: vec![node.kind.clone()],
                        ids: vec![node.id.to_string()],
                    })?;
                    let fields = redacted(driver.diff(live_attrs, &desired, salt));
                    if fields.is_empty() {
                        (Action::NoOp, None, fields)
                    } else {
                        let drift = recorded.attrs.same_as(&desired.seal(salt), salt);
                        let action = if fields.iter().any(|f| f.forces_replacement) {
                            driver
                                .check_replace(live_attrs, &desired)
                                .map_err(|message| PlanError::Refused {
                                    id: node.id.clone(),
                                    message,
                                })?;
                            warning = driver.replace_warning().map(str::to_owned);
                            Action::Replace
                        } else {
                            note = driver.check_update(live_attrs, &desired, &fields).map_err(
                                |message| PlanError::Refused {
                                    id: node.id.clone(),
                                    message,
                                },
                            )?;
                            (two_step, note) = bridged(driver.as_ref(), live_attrs, &desired, note);
                            Action::Update
                        };
                        (action, drift.then_some(Reason::Drift), fields)
                    }
                }
                (Some(_), None) => (Action::NoOp, None, Vec::new()), // unreachable: refreshed above
            };
            if action == Action::Adopt && !fields.is_empty() {
                updated.insert(node.id.clone());
            }
            action_of.insert(node.id.clone(), action);
            let after = matches!(action, Action::Create).then(|| desired.redact());
            changes.push(Change {
                id: node.id.clone(),
                kind: node.kind.clone(),
                action,
                deps: node.deps.clone(),
                reason,
                fields,
                after,
                warning,
                note,
                found,
                two_step,
            });
        }
        if selected.is_none() {
            for (id, rs) in &state.resources {
                if !graph.contains(id) {
                    changes.push(Change {
                        id: id.clone(),
                        kind: rs.kind.clone(),
                        action: Action::Delete,
                        deps: rs.deps.clone(),
                        reason: Some(Reason::NotInConfig),
                        fields: Vec::new(),
                        after: None,
                        warning: None,
                        note: None,
                        found: None,
                        two_step: false,
                    });
                }
            }
        }
        changes
    };
    Ok(Plan {
        format_version: PLAN_FORMAT_VERSION,
        profile: opts.profile.clone(),
        lineage: persisted_lineage(state),
        serial: state.serial,
        destroy: opts.destroy,
        targets: opts.targets.clone(),
        inputs_hash: opts.inputs_hash.clone(),
        changes,
        duplicates,
    })
}

/// Whether an update goes in two steps (the driver's interim first), with the note saying why
/// added to `note`.
fn bridged(
    driver: &dyn super::driver::Driver,
    live: &Value,
    desired: &Value,
    note: Option<String>,
) -> (bool, Option<String>) {
    match driver.interim(live, desired) {
        None => (false, note),
        Some((_, why)) => (
            true,
            Some(match note {
                Some(n) => format!("{n}; {why}"),
                None => why,
            }),
        ),
    }
}

fn redacted(fields: Vec<FieldChange>) -> Vec<FieldChange> {
    fields
        .into_iter()
        .map(|f| FieldChange {
            before: f.before.map(|v| v.redact()),
            after: f.after.map(|v| v.redact()),
            ..f
        })
        .collect()
}

async fn check_create(
    driver: &dyn super::driver::Driver,
    node: &super::node::Node,
    desired: &Value,
) -> Result<Option<String>, PlanError> {
    driver
        .check_create(&node.id, desired)
        .await
        .map_err(|source| PlanError::CreateRefused {
            id: node.id.clone(),
            source,
        })
}

/// A resource state does not record, looked for live: `Some((outputs, live attributes))` when
/// this deployment made it. One found without this deployment's marks refuses the plan:
/// alpaka never takes over what it did not make.
async fn look_for(
    driver: &dyn super::driver::Driver,
    node: &super::node::Node,
    desired: &Value,
) -> Result<Option<(Value, Value)>, PlanError> {
    let refresh_err = |source| PlanError::Lookup {
        id: node.id.clone(),
        source,
    };
    match driver.find(&node.id, desired).await.map_err(refresh_err)? {
        Found::Nothing => Ok(None),
        Found::Foreign(message) => Err(PlanError::Foreign {
            id: node.id.clone(),
            message,
        }),
        Found::Ours(outputs) => {
            // Read it as if recorded: what the read cannot report is taken as configured.
            let as_recorded = found_state(node, desired, &outputs);
            match driver
                .read(&node.id, &as_recorded)
                .await
                .map_err(refresh_err)?
            {
                Some(live) => Ok(Some((outputs, live))),
                // Gone between the two calls (being deleted): create it.
                None => Ok(None),
            }
        }
    }
}

/// The state a found resource would have had, had its create been recorded.
pub fn found_state(node: &super::node::Node, desired: &Value, outputs: &Value) -> ResourceState {
    ResourceState {
        kind: node.kind.clone(),
        deps: node.deps.clone(),
        attrs: desired.clone(),
        outputs: outputs.clone(),
    }
}

/// The state's lineage once it has been written; a state never written has no identity yet, so
/// a plan made before the first apply matches any fresh state.
pub fn persisted_lineage(state: &State) -> Option<String> {
    (state.serial > 0 || !state.resources.is_empty()).then(|| state.lineage.clone())
}

/// Everything state records (or the targets and what depends on them), dependents first.
fn destroy_changes(
    graph: &Graph,
    state: &State,
    targets: &[ResourceId],
) -> Result<Vec<Change>, PlanError> {
    let mut selected: BTreeSet<ResourceId> = if targets.is_empty() {
        state.resources.keys().cloned().collect()
    } else {
        for t in targets {
            if !state.resources.contains_key(t) && !graph.contains(t) {
                let ids = state.resources.keys().map(ResourceId::as_str);
                return Err(GraphError::UnknownTarget {
                    target: t.to_string(),
                    closest: crate::suggest::closest(t.as_str(), ids).map(str::to_owned),
                }
                .into());
            }
        }
        targets
            .iter()
            .filter(|t| state.resources.contains_key(t))
            .cloned()
            .collect()
    };
    // Pull in dependents: something cannot outlive what it runs on.
    loop {
        let more: Vec<ResourceId> = state
            .resources
            .iter()
            .filter(|(id, rs)| {
                !selected.contains(*id) && rs.deps.iter().any(|d| selected.contains(d))
            })
            .map(|(id, _)| id.clone())
            .collect();
        if more.is_empty() {
            break;
        }
        selected.extend(more);
    }
    let mut changes: Vec<Change> = selected
        .into_iter()
        .filter_map(|id| {
            let rs = state.resources.get(&id)?;
            Some(Change {
                kind: rs.kind.clone(),
                action: Action::Delete,
                deps: rs.deps.clone(),
                reason: Some(Reason::Destroy),
                fields: Vec::new(),
                after: None,
                warning: None,
                note: None,
                found: None,
                two_step: false,
                id,
            })
        })
        .collect();
    reverse_dependency_order(&mut changes);
    Ok(changes)
}

/// Order deletes so a resource comes before what it depends on (stable otherwise).
fn reverse_dependency_order(changes: &mut Vec<Change>) {
    let ids: BTreeSet<ResourceId> = changes.iter().map(|c| c.id.clone()).collect();
    // blockers[x] = how many selected resources depend on x and are not yet placed.
    let mut blockers: HashMap<ResourceId, usize> = ids.iter().map(|id| (id.clone(), 0)).collect();
    for c in changes.iter() {
        for d in c.deps.iter().filter(|d| ids.contains(*d)) {
            *blockers.entry(d.clone()).or_default() += 1;
        }
    }
    let mut rest: Vec<Change> = std::mem::take(changes);
    while !rest.is_empty() {
        let (ready, blocked): (Vec<Change>, Vec<Change>) = rest
            .into_iter()
            .partition(|c| blockers.get(&c.id).copied().unwrap_or(0) == 0);
        if ready.is_empty() {
            // Recorded deps come from acyclic graphs; should they ever loop, keep the order.
            changes.extend(blocked);
            return;
        }
        for c in &ready {
            for d in c.deps.iter().filter(|d| ids.contains(*d)) {
                if let Some(b) = blockers.get_mut(d) {
                    *b = b.saturating_sub(1);
                }
            }
        }
        changes.extend(ready);
        rest = blocked;
    }
}

type Refreshed = (BTreeMap<ResourceId, Option<Value>>, Vec<Duplicate>);

async fn refresh(
    state: &State,
    drivers: &Drivers,
    ids: &[ResourceId],
    parallelism: usize,
) -> Result<Refreshed, PlanError> {
    let missing: BTreeMap<String, Vec<String>> = ids.iter().fold(BTreeMap::new(), |mut m, id| {
        let kind = &state.resources[id].kind;
        if drivers.get(kind).is_none() {
            m.entry(kind.clone())
                .or_insert_with(Vec::new)
                .push(id.to_string());
        }
        m
    });
    if !missing.is_empty() {
        return Err(PlanError::NoDriver {
            kinds: missing.keys().cloned().collect(),
            ids: missing.into_values().flatten().collect(),
        });
    }
    let sem = Arc::new(Semaphore::new(parallelism.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for id in ids {
        let recorded = state.resources[id].clone();
        let Some(driver) = drivers.get(&recorded.kind).cloned() else {
            continue;
        };
        let sem = sem.clone();
        let id = id.clone();
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let r = match driver.read(&id, &recorded).await {
                Ok(Some(live)) => match driver.duplicates(&id, &recorded).await {
                    Ok(dups) => Ok((Some(live), dups)),
                    Err(e) => Err(e),
                },
                other => other.map(|live| (live, None)),
            };
            (id, r)
        });
    }
    let mut out = BTreeMap::new();
    let mut duplicates = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((id, Ok((live, dups)))) => {
                if let Some((recorded, others)) = dups.filter(|(_, o)| !o.is_empty()) {
                    duplicates.push(Duplicate {
                        id: id.clone(),
                        recorded,
                        others,
                    });
                }
                out.insert(id, live);
            }
            Ok((id, Err(source))) => return Err(PlanError::Refresh { id, source }),
            Err(join) => {
                return Err(PlanError::Refresh {
                    id: ResourceId::new("?"),
                    source: DriverError::new(format!("refresh task failed: {join}")),
                });
            }
        }
    }
    duplicates.sort_by(|a, b| a.id.cmp(&b.id));
    Ok((out, duplicates))
}
