//! The walker: runs a plan's actions concurrently in dependency order. A node starts as soon as
//! what it waits for is done; a failure skips its dependents while independent branches finish;
//! state is persisted after every finished node; an interrupt starts nothing new.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::diff::FieldChange;
use super::driver::{Driver, DriverError, Drivers, Readiness, StepCx};
use super::graph::Graph;
use super::node::ResourceId;
use super::plan::{Action, Plan};
use super::progress::{Reporter, StepEnd};
use super::value::Value;
use crate::state::{ResourceState, State};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Done {
        seconds: f64,
    },
    Failed {
        error: String,
    },
    /// Not run because something it waits for failed (or was itself skipped).
    Skipped {
        because: ResourceId,
    },
    /// Not run because of an interrupt or a state write failure.
    NotStarted,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub id: ResourceId,
    pub action: Action,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ApplyReport {
    pub steps: Vec<StepReport>,
    pub interrupted: bool,
    /// Writing state failed: the walk stopped launching; this says why.
    pub state_error: Option<String>,
}

impl ApplyReport {
    pub fn succeeded(&self) -> bool {
        !self.interrupted
            && self.state_error.is_none()
            && self
                .steps
                .iter()
                .all(|s| matches!(s.outcome, Outcome::Done { .. }))
    }
}

/// Where the walker writes state after each node (the backend, in production).
pub trait StateSink: Send {
    fn persist(&mut self, state: &State) -> Result<(), String>;
}

impl<F: FnMut(&State) -> Result<(), String> + Send> StateSink for F {
    fn persist(&mut self, state: &State) -> Result<(), String> {
        self(state)
    }
}

pub struct ApplyContext<'a> {
    pub graph: &'a Graph,
    pub drivers: &'a Drivers,
    pub reporter: Arc<dyn Reporter>,
    pub parallelism: usize,
    /// Becomes `true` on the first Ctrl-C.
    pub interrupt: watch::Receiver<bool>,
}

/// Kinds in the plan's actions that this build cannot act on, with the ids that need them.
pub fn missing_drivers(plan: &Plan, drivers: &Drivers) -> BTreeMap<String, Vec<ResourceId>> {
    let mut out: BTreeMap<String, Vec<ResourceId>> = BTreeMap::new();
    for c in plan.actions() {
        if drivers.get(&c.kind).is_none() {
            out.entry(c.kind.clone()).or_default().push(c.id.clone());
        }
    }
    out
}

const INTERRUPT_NOTE: &str =
    "interrupt: starting nothing new; waiting for running steps (Ctrl-C again exits at once)";

#[derive(Clone)]
struct Step {
    id: ResourceId,
    kind: String,
    action: Action,
    deps: Vec<ResourceId>,
    fields: Vec<FieldChange>,
    /// Outputs of a resource found live but not recorded (adopt, or replace what was found).
    found: Option<Value>,
    phase: Phase,
}

/// Which part of a change a step does: all of it, or one of a two-step update's halves.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Phase {
    Whole,
    /// The driver's interim value (what keeps dependents working) in the resource's place.
    Bridge,
    /// The configuration, once every step that waited for the bridge is done.
    Finish,
}

/// What a step leaves to record: the outputs, and the attributes it applied when they are not
/// the configuration's (a bridge).
struct Applied {
    outputs: Value,
    attrs: Option<Value>,
}

#[derive(Clone, Copy, PartialEq)]
enum Status {
    Pending,
    Running,
    Finished,
}

pub async fn apply(
    plan: &Plan,
    cx: ApplyContext<'_>,
    state: &mut State,
    sink: &mut dyn StateSink,
) -> ApplyReport {
    let mut steps: Vec<Step> = plan
        .actions()
        .map(|c| Step {
            id: c.id.clone(),
            kind: c.kind.clone(),
            action: c.action,
            deps: c.deps.clone(),
            fields: c.fields.clone(),
            found: c.found.clone(),
            phase: if c.two_step && matches!(c.action, Action::Update | Action::Adopt) {
                Phase::Bridge
            } else {
                Phase::Whole
            },
        })
        .collect();
    let index: BTreeMap<&ResourceId, usize> =
        steps.iter().enumerate().map(|(i, s)| (&s.id, i)).collect();

    // waits[i]: steps i must wait for. Creates/updates wait for their dependencies' steps;
    // deletes wait for the deletes of whatever depended on them.
    let mut waits: Vec<Vec<usize>> = vec![Vec::new(); steps.len()];
    for (i, s) in steps.iter().enumerate() {
        for d in &s.deps {
            let Some(&j) = index.get(d) else { continue };
            match (s.action, steps[j].action) {
                (Action::Delete, Action::Delete) => waits[j].push(i),
                (Action::Delete, _) | (_, Action::Delete) => {}
                _ => waits[i].push(j),
            }
        }
    }
    // A two-step update finishes after its bridge and everything that (transitively) waits
    // for it: the clients have moved before what they moved off goes.
    let bridges: Vec<usize> = (0..steps.len())
        .filter(|&i| steps[i].phase == Phase::Bridge)
        .collect();
    for b in bridges {
        let mut after = vec![b];
        let mut seen = BTreeSet::from([b]);
        while let Some(j) = after.pop() {
            for (k, w) in waits.iter().enumerate() {
                if w.contains(&j) && seen.insert(k) {
                    after.push(k);
                }
            }
        }
        let finish = Step {
            action: Action::Update,
            deps: Vec::new(),
            found: None,
            phase: Phase::Finish,
            ..steps[b].clone()
        };
        steps.push(finish);
        waits.push(seen.into_iter().collect());
    }
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); steps.len()];
    for (i, w) in waits.iter().enumerate() {
        for &j in w {
            dependents[j].push(i);
        }
    }
    let mut remaining: Vec<usize> = waits.iter().map(Vec::len).collect();
    let mut status = vec![Status::Pending; steps.len()];
    let mut outcomes: Vec<Option<Outcome>> = vec![None; steps.len()];
    let mut report = ApplyReport::default();
    let mut interrupt = cx.interrupt.clone();
    let mut stop_launching = *interrupt.borrow();
    report.interrupted = stop_launching;
    let mut set: JoinSet<(usize, Result<Option<Applied>, DriverError>, Duration)> = JoinSet::new();
    let mut running = 0usize;

    loop {
        if !stop_launching && *interrupt.borrow() {
            stop_launching = true;
            report.interrupted = true;
            cx.reporter.note(INTERRUPT_NOTE);
        }
        if !stop_launching {
            for i in 0..steps.len() {
                if running >= cx.parallelism.max(1) {
                    break;
                }
                if status[i] != Status::Pending || remaining[i] != 0 {
                    continue;
                }
                status[i] = Status::Running;
                running += 1;
                match launch(&steps[i], &cx, state) {
                    Ok(fut) => {
                        cx.reporter.started(&steps[i].id, steps[i].action);
                        set.spawn(async move {
                            let t = Instant::now();
                            let r = fut.await;
                            (i, r, t.elapsed())
                        });
                    }
                    Err(e) => {
                        // Could not even start (no driver, unknown input): fail like a step.
                        cx.reporter.started(&steps[i].id, steps[i].action);
                        set.spawn(async move { (i, Err(e), Duration::ZERO) });
                    }
                }
            }
        }
        if running == 0 {
            break;
        }
        let joined = tokio::select! {
            j = set.join_next() => j,
            changed = interrupt.changed(), if !stop_launching => {
                if changed.is_err() || *interrupt.borrow() {
                    stop_launching = true;
                    report.interrupted = true;
                    cx.reporter.note(INTERRUPT_NOTE);
                }
                continue;
            }
        };
        let Some(joined) = joined else { break };
        running -= 1;
        let (i, result, elapsed) = match joined {
            Ok(x) => x,
            Err(e) => {
                // A panicking driver is a bug; it must not take the walk (and state) down.
                report
                    .state_error
                    .get_or_insert_with(|| format!("a step task failed: {e}"));
                stop_launching = true;
                continue;
            }
        };
        status[i] = Status::Finished;
        let step = &steps[i];
        match result {
            Ok(applied) => {
                record(state, cx.graph, step, applied);
                cx.reporter
                    .finished(&step.id, step.action, &StepEnd::Done, elapsed);
                outcomes[i] = Some(Outcome::Done {
                    seconds: elapsed.as_secs_f64(),
                });
                if let Err(e) = sink.persist(state) {
                    cx.reporter
                        .note(&format!("writing state failed, starting nothing new: {e}"));
                    report.state_error = Some(e);
                    stop_launching = true;
                }
                for &d in &dependents[i] {
                    remaining[d] -= 1;
                }
            }
            Err(e) => {
                cx.reporter.finished(
                    &step.id,
                    step.action,
                    &StepEnd::Failed(e.to_string()),
                    elapsed,
                );
                outcomes[i] = Some(Outcome::Failed {
                    error: e.to_string(),
                });
                skip_dependents(i, &dependents, &steps, &mut status, &mut outcomes);
            }
        }
    }

    for (i, s) in steps.iter().enumerate() {
        let outcome = outcomes[i].take().unwrap_or(Outcome::NotStarted);
        report.steps.push(StepReport {
            id: s.id.clone(),
            action: s.action,
            outcome,
        });
    }
    report
}

fn skip_dependents(
    failed: usize,
    dependents: &[Vec<usize>],
    steps: &[Step],
    status: &mut [Status],
    outcomes: &mut [Option<Outcome>],
) {
    let mut todo: Vec<(usize, usize)> = dependents[failed].iter().map(|&d| (d, failed)).collect();
    while let Some((d, because)) = todo.pop() {
        if status[d] != Status::Pending {
            continue;
        }
        status[d] = Status::Finished;
        outcomes[d] = Some(Outcome::Skipped {
            because: steps[because].id.clone(),
        });
        todo.extend(dependents[d].iter().map(|&x| (x, d)));
    }
}

type StepFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Option<Applied>, DriverError>> + Send>,
>;

/// Everything a step needs, owned, so it can run on its own task.
fn launch(step: &Step, cx: &ApplyContext<'_>, state: &State) -> Result<StepFuture, DriverError> {
    let driver = cx.drivers.get(&step.kind).cloned().ok_or_else(|| {
        DriverError::new(format!(
            "no driver for resource kind `{}` in this build",
            step.kind
        ))
    })?;
    let mut recorded = state.resources.get(&step.id).cloned();
    let desired = match step.action {
        Action::Delete => None,
        _ => {
            let node = cx.graph.get(&step.id).ok_or_else(|| {
                DriverError::new(format!("`{}` is not in the current configuration", step.id))
            })?;
            // Dependencies are done, so their outputs are in state.
            let v = resolve_from_state(&node.desired, state);
            let mut unknown = Vec::new();
            v.unknowns(&mut unknown);
            if let Some(u) = unknown.first() {
                return Err(DriverError::new(format!(
                    "input `{u}` is still unknown: `{}` recorded no such output",
                    u.node
                )));
            }
            if recorded.is_none()
                && let Some(found) = &step.found
            {
                recorded = Some(super::plan::found_state(node, &v, found));
            }
            Some(v)
        }
    };
    // A create of what state records (deleted out of band, or by a replacement that failed
    // after its delete) makes a new resource: the next generation's token, as a replacement's.
    let recreate = step.action == Action::Create && state.resources.contains_key(&step.id);
    let scx = StepCx::new(
        step.id.clone(),
        step.kind.clone(),
        cx.reporter.clone(),
        &state.lineage,
        state.generation(&step.id) + u64::from(recreate),
    );
    let action = step.action;
    let fields = step.fields.clone();
    let phase = step.phase;
    let salt = state.lineage.clone();
    Ok(Box::pin(async move {
        match phase {
            Phase::Whole => run(driver, scx, action, desired, recorded, fields)
                .await
                .map(|o| {
                    o.map(|outputs| Applied {
                        outputs,
                        attrs: None,
                    })
                }),
            Phase::Bridge => bridge(driver, scx, action, desired, recorded, fields).await,
            Phase::Finish => finish(driver, scx, desired, recorded, fields, &salt).await,
        }
    }))
}

/// A two-step update's first half: the driver's interim value, judged against the resource as
/// it is now (a run stopped between the halves bridges again from what it left).
async fn bridge(
    driver: Arc<dyn Driver>,
    cx: StepCx,
    action: Action,
    desired: Option<Value>,
    recorded: Option<ResourceState>,
    fields: Vec<FieldChange>,
) -> Result<Option<Applied>, DriverError> {
    let recorded =
        recorded.ok_or_else(|| DriverError::new(format!("`{}` has no recorded state", cx.id)))?;
    let desired = desired.unwrap_or_default();
    let live = driver.read(&cx.id, &recorded).await?;
    let Some((interim, _)) = live.and_then(|l| driver.interim(&l, &desired)) else {
        // Nothing to bridge any more: the whole change now; the finish finds nothing to do.
        return run(driver, cx, action, Some(desired), Some(recorded), fields)
            .await
            .map(|o| {
                o.map(|outputs| Applied {
                    outputs,
                    attrs: None,
                })
            });
    };
    cx.status("first of two steps: keeping what its dependents still use");
    let outputs = driver.update(&cx, &recorded, &interim, &fields).await?;
    wait_ready(driver.as_ref(), &cx, &outputs).await?;
    Ok(Some(Applied {
        outputs,
        attrs: Some(interim),
    }))
}

/// A two-step update's second half: the configuration, unless the bridge already applied it.
async fn finish(
    driver: Arc<dyn Driver>,
    cx: StepCx,
    desired: Option<Value>,
    recorded: Option<ResourceState>,
    fields: Vec<FieldChange>,
    salt: &str,
) -> Result<Option<Applied>, DriverError> {
    let recorded =
        recorded.ok_or_else(|| DriverError::new(format!("`{}` has no recorded state", cx.id)))?;
    let desired = desired.unwrap_or_default();
    if driver.diff(&recorded.attrs, &desired, salt).is_empty() {
        return Ok(None);
    }
    cx.status("second of two steps: everything that used it has moved");
    let outputs = driver.update(&cx, &recorded, &desired, &fields).await?;
    wait_ready(driver.as_ref(), &cx, &outputs).await?;
    Ok(Some(Applied {
        outputs,
        attrs: None,
    }))
}

async fn run(
    driver: Arc<dyn Driver>,
    cx: StepCx,
    action: Action,
    desired: Option<Value>,
    recorded: Option<ResourceState>,
    fields: Vec<FieldChange>,
) -> Result<Option<Value>, DriverError> {
    let need_recorded = || {
        recorded
            .clone()
            .ok_or_else(|| DriverError::new(format!("`{}` has no recorded state", cx.id)))
    };
    let desired = desired.unwrap_or_default();
    let outputs = match action {
        Action::NoOp => return Ok(None),
        Action::Delete => {
            driver.delete(&cx, &need_recorded()?).await?;
            return Ok(None);
        }
        Action::Create => driver.create(&cx, &desired).await?,
        // An adopted resource is brought to the configuration like a recorded one (an update
        // with no changes still returns its full outputs, e.g. an EKS cluster's kubeconfig).
        Action::Update | Action::Adopt => {
            driver
                .update(&cx, &need_recorded()?, &desired, &fields)
                .await?
        }
        Action::Replace => {
            cx.status("destroying the old one (replacement)");
            driver.delete(&cx, &need_recorded()?).await?;
            cx.status("creating the replacement");
            // A new resource: a new idempotency token (the old one's would name what was just
            // deleted, with other parameters), the same in every retry of this replacement.
            driver.create(&cx.next_generation(), &desired).await?
        }
    };
    wait_ready(driver.as_ref(), &cx, &outputs).await?;
    Ok(Some(outputs))
}

/// Poll readiness with backoff (1 s doubling to 15 s) until ready or the driver's timeout.
async fn wait_ready(driver: &dyn Driver, cx: &StepCx, outputs: &Value) -> Result<(), DriverError> {
    let deadline = Instant::now() + driver.ready_timeout();
    let mut delay = Duration::from_secs(1);
    loop {
        match driver.ready(cx, outputs).await? {
            Readiness::Ready => return Ok(()),
            Readiness::Pending(what) => {
                if Instant::now() + delay > deadline {
                    return Err(DriverError::new(format!(
                        "not ready after {}s: {what}",
                        driver.ready_timeout().as_secs()
                    ))
                    .with_code("Timeout"));
                }
                cx.status(&what);
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(15));
            }
        }
    }
}

/// Fill in outputs of finished dependencies, which state holds.
fn resolve_from_state(v: &Value, state: &State) -> Value {
    v.resolve(&|r| {
        state
            .resources
            .get(&ResourceId::new(r.node.clone()))?
            .outputs
            .get(&r.output)
            .cloned()
    })
}

fn record(state: &mut State, graph: &Graph, step: &Step, applied: Option<Applied>) {
    match (step.action, applied) {
        (Action::Delete, _) => {
            state.remove(&step.id);
        }
        (action, Some(Applied { outputs, attrs })) => {
            let Some(node) = graph.get(&step.id) else {
                return;
            };
            let recreated = action == Action::Create && state.resources.contains_key(&step.id);
            if action == Action::Replace || recreated {
                // What was replaced (or found gone and made again) counts as destroyed: the
                // next create's token is new.
                state.bump_generation(&step.id);
            }
            let attrs = attrs.unwrap_or_else(|| resolve_from_state(&node.desired, state));
            state.record(
                step.id.clone(),
                ResourceState {
                    kind: node.kind.clone(),
                    deps: node.deps.clone(),
                    attrs,
                    outputs,
                },
            );
        }
        (_, None) => {}
    }
}
