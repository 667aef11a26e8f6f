//! The engine against an in-memory world: ordering, concurrency, failure propagation, interrupts,
//! drift. The fake driver is honest: it keeps live objects, so a second plan sees what apply did.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alpaka::engine::apply::{self, ApplyContext, ApplyReport, Outcome};
use alpaka::engine::progress::{Reporter, StepEnd};
use alpaka::engine::{
    Action, Driver, DriverError, Drivers, Found, Graph, Node, Plan, PlanOptions, ResourceId,
    StepCx, Value, plan,
};
use alpaka::state::{ResourceState, State};
use async_trait::async_trait;
use tokio::sync::watch;

#[derive(Default)]
struct World {
    live: Mutex<BTreeMap<String, Value>>,
    /// (event, id) in the order they happened: "start"/"end".
    log: Mutex<Vec<(String, String)>>,
    running: Mutex<usize>,
    max_running: Mutex<usize>,
    fail: Mutex<BTreeSet<String>>,
    delay: Mutex<BTreeMap<String, u64>>,
    /// After this many finished steps, flip the interrupt.
    interrupt_after: Mutex<Option<(usize, watch::Sender<bool>)>>,
    finished: Mutex<usize>,
    /// Ids taken by something this deployment did not make: `find` says so.
    foreign: Mutex<BTreeSet<String>>,
    /// (id, idempotency token) of every create, in order.
    tokens: Mutex<Vec<(String, String)>>,
    /// Creates that fail (after the token is sent).
    fail_create: Mutex<BTreeSet<String>>,
}

struct Fake(Arc<World>);

impl Fake {
    async fn work(&self, id: &str) -> Result<(), DriverError> {
        let w = &self.0;
        w.log.lock().unwrap().push(("start".into(), id.into()));
        {
            let mut r = w.running.lock().unwrap();
            *r += 1;
            let mut m = w.max_running.lock().unwrap();
            *m = (*m).max(*r);
        }
        let ms = w.delay.lock().unwrap().get(id).copied().unwrap_or(5);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        *w.running.lock().unwrap() -= 1;
        w.log.lock().unwrap().push(("end".into(), id.into()));
        let fails = w.fail.lock().unwrap().contains(id);
        let mut f = w.finished.lock().unwrap();
        *f += 1;
        if let Some((n, tx)) = &*w.interrupt_after.lock().unwrap()
            && *f >= *n
        {
            let _ = tx.send(true);
        }
        if fails {
            Err(DriverError::new("boom").with_code("Injected"))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl Driver for Fake {
    fn force_new(&self) -> &[&'static str] {
        &["zone"]
    }
    fn replace_warning(&self) -> Option<&'static str> {
        Some("replacing wipes its data")
    }
    /// Like a service that cannot shrink what it made once it is large (over 100).
    fn check_update(
        &self,
        live: &Value,
        desired: &Value,
        _changes: &[alpaka::engine::diff::FieldChange],
    ) -> Result<Option<String>, String> {
        match (
            live.get("size").and_then(Value::as_i64),
            desired.get("size").and_then(Value::as_i64),
        ) {
            (Some(a), Some(b)) if a > 100 && b < a => Err(format!("cannot shrink from {a} to {b}")),
            (Some(a), Some(b)) if b > a => Ok(Some(format!("grows from {a} to {b}"))),
            _ => Ok(None),
        }
    }
    /// Like a cluster that cannot move to zone `z` by being made again.
    fn check_replace(&self, _live: &Value, desired: &Value) -> Result<(), String> {
        match desired.get("zone").and_then(Value::as_str) {
            Some("z") => Err("zone z needs a migration, not a new one".into()),
            _ => Ok(()),
        }
    }
    /// Like a Kafka whose clients move between listeners: a dropped listener stays until
    /// everything that waits for it has been applied.
    fn interim(&self, live: &Value, desired: &Value) -> Option<(Value, String)> {
        let (Some(Value::List(was)), Some(Value::List(wanted))) =
            (live.get("listeners"), desired.get("listeners"))
        else {
            return None;
        };
        let gone: Vec<Value> = was
            .iter()
            .filter(|l| !wanted.contains(l))
            .cloned()
            .collect();
        if gone.is_empty() {
            return None;
        }
        let mut bridge = desired.clone();
        if let Value::Map(m) = &mut bridge {
            m.insert(
                "listeners".into(),
                Value::List(wanted.iter().cloned().chain(gone).collect()),
            );
        }
        Some((bridge, "old listeners kept until the clients moved".into()))
    }
    async fn find(&self, id: &ResourceId, _d: &Value) -> Result<Found, DriverError> {
        if self.0.foreign.lock().unwrap().contains(id.as_str()) {
            return Ok(Found::Foreign(format!("`{id}` belongs to someone else")));
        }
        Ok(match self.0.live.lock().unwrap().get(id.as_str()) {
            Some(_) => Found::Ours(Value::map([("id", Value::str(format!("{id}-live")))])),
            None => Found::Nothing,
        })
    }
    async fn read(
        &self,
        id: &ResourceId,
        _r: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        Ok(self.0.live.lock().unwrap().get(id.as_str()).cloned())
    }
    async fn create(&self, cx: &StepCx, desired: &Value) -> Result<Value, DriverError> {
        self.0
            .tokens
            .lock()
            .unwrap()
            .push((cx.id.to_string(), cx.idempotency_token()));
        if self.0.fail_create.lock().unwrap().contains(cx.id.as_str()) {
            return Err(DriverError::new("no answer").with_code("Injected"));
        }
        self.work(cx.id.as_str()).await?;
        self.0
            .live
            .lock()
            .unwrap()
            .insert(cx.id.to_string(), desired.clone());
        Ok(Value::map([("id", Value::str(format!("{}-live", cx.id)))]))
    }
    async fn update(
        &self,
        cx: &StepCx,
        _r: &ResourceState,
        desired: &Value,
        _c: &[alpaka::engine::diff::FieldChange],
    ) -> Result<Value, DriverError> {
        if let Some(Value::List(l)) = desired.get("listeners") {
            let names: Vec<&str> = l.iter().filter_map(Value::as_str).collect();
            self.0
                .log
                .lock()
                .unwrap()
                .push(("listeners".into(), format!("{}={}", cx.id, names.join("+"))));
        }
        self.work(cx.id.as_str()).await?;
        self.0
            .live
            .lock()
            .unwrap()
            .insert(cx.id.to_string(), desired.clone());
        Ok(Value::map([("id", Value::str(format!("{}-live", cx.id)))]))
    }
    async fn delete(&self, cx: &StepCx, _r: &ResourceState) -> Result<(), DriverError> {
        self.work(cx.id.as_str()).await?;
        self.0.live.lock().unwrap().remove(cx.id.as_str());
        Ok(())
    }
}

struct Quiet;
impl Reporter for Quiet {
    fn started(&self, _: &ResourceId, _: Action) {}
    fn status(&self, _: &ResourceId, _: &str) {}
    fn finished(&self, _: &ResourceId, _: Action, _: &StepEnd, _: Duration) {}
    fn note(&self, _: &str) {}
}

fn node(id: &str, deps: &[&str], size: i64) -> Node {
    let desired = Value::map([("size", Value::Int(size)), ("zone", Value::str("a"))]);
    deps.iter()
        .fold(Node::new(id, "fake", desired), |n, d| n.after(*d))
}

/// net ← {db, cache}; db ← app; cache ← app; lone
fn sample(size: i64) -> Graph {
    Graph::new(vec![
        node("net", &[], 1),
        node("db", &["net"], size),
        node("cache", &["net"], 1),
        node("app", &["db", "cache"], 1),
        node("lone", &[], 1),
    ])
    .unwrap()
}

fn drivers(w: &Arc<World>) -> Drivers {
    let mut d = Drivers::new();
    d.register("fake", Arc::new(Fake(w.clone())));
    d
}

fn opts(destroy: bool, targets: &[&str]) -> PlanOptions {
    PlanOptions {
        profile: "test".into(),
        targets: targets.iter().map(|t| ResourceId::new(*t)).collect(),
        destroy,
        parallelism: 10,
        inputs_hash: String::new(),
        refresh: true,
    }
}

fn new_state() -> State {
    State {
        version: 1,
        serial: 0,
        lineage: "lin".into(),
        profile: "test".into(),
        resources: BTreeMap::new(),
        generations: BTreeMap::new(),
    }
}

async fn run(
    p: &Plan,
    g: &Graph,
    d: &Drivers,
    state: &mut State,
    parallelism: usize,
    rx: watch::Receiver<bool>,
) -> (ApplyReport, Vec<State>) {
    let mut saved = Vec::new();
    let mut sink = |s: &State| -> Result<(), String> {
        saved.push(s.clone());
        Ok(())
    };
    let cx = ApplyContext {
        graph: g,
        drivers: d,
        reporter: Arc::new(Quiet),
        parallelism,
        interrupt: rx,
    };
    let r = apply::apply(p, cx, state, &mut sink).await;
    (r, saved)
}

fn never() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    std::mem::forget(tx);
    rx
}

/// Plan against `state`, apply it, and check a second plan has nothing left to do.
async fn converge(g: &Graph, d: &Drivers, state: &mut State, parallelism: usize) -> ApplyReport {
    let p = plan::plan(g, state, d, &opts(false, &[])).await.unwrap();
    let (r, _) = run(&p, g, d, state, parallelism, never()).await;
    assert!(r.succeeded(), "{r:?}");
    let again = plan::plan(g, state, d, &opts(false, &[])).await.unwrap();
    assert!(!again.has_changes(), "{again:?}");
    r
}

fn pos(log: &[(String, String)], ev: &str, id: &str) -> usize {
    log.iter()
        .position(|(e, i)| e == ev && i == id)
        .unwrap_or_else(|| panic!("no {ev} {id} in {log:?}"))
}

#[tokio::test]
async fn apply_respects_dependencies_and_runs_branches_concurrently() {
    let w = Arc::new(World::default());
    w.delay
        .lock()
        .unwrap()
        .extend([("db".to_string(), 60), ("cache".to_string(), 60)]);
    let (g, d, mut state) = (sample(1), drivers(&w), new_state());
    let p = plan::plan(&g, &state, &d, &opts(false, &[])).await.unwrap();
    assert_eq!(p.summary().add, 5);
    let (r, saved) = run(&p, &g, &d, &mut state, 10, never()).await;
    assert!(r.succeeded(), "{r:?}");
    let log = w.log.lock().unwrap().clone();
    for (dep, dependent) in [
        ("net", "db"),
        ("net", "cache"),
        ("db", "app"),
        ("cache", "app"),
    ] {
        assert!(
            pos(&log, "end", dep) < pos(&log, "start", dependent),
            "{dep} before {dependent}: {log:?}"
        );
    }
    // db and cache overlap: app's branch is not serialised behind one of them.
    assert!(
        pos(&log, "start", "cache") < pos(&log, "end", "db"),
        "{log:?}"
    );
    assert!(*w.max_running.lock().unwrap() >= 2);
    // State was written after every node, serial increasing.
    assert_eq!(saved.len(), 5);
    assert!(saved.windows(2).all(|s| s[0].serial < s[1].serial));
    // Outputs of dependencies are recorded.
    assert_eq!(
        state.resources[&ResourceId::new("net")].outputs.get("id"),
        Some(&Value::str("net-live"))
    );

    let again = plan::plan(&g, &state, &d, &opts(false, &[])).await.unwrap();
    assert!(!again.has_changes(), "{again:?}");
}

#[tokio::test]
async fn parallelism_bounds_running_steps() {
    let w = Arc::new(World::default());
    let nodes: Vec<Node> = (0..8).map(|i| node(&format!("n{i}"), &[], 1)).collect();
    let (g, d, mut state) = (Graph::new(nodes).unwrap(), drivers(&w), new_state());
    w.delay
        .lock()
        .unwrap()
        .extend((0..8).map(|i| (format!("n{i}"), 20)));
    let p = plan::plan(&g, &state, &d, &opts(false, &[])).await.unwrap();
    let (r, _) = run(&p, &g, &d, &mut state, 3, never()).await;
    assert!(r.succeeded());
    assert!(*w.max_running.lock().unwrap() <= 3);
}

#[tokio::test]
async fn failure_skips_dependents_and_independent_branches_finish() {
    let w = Arc::new(World::default());
    w.fail.lock().unwrap().insert("db".into());
    let (g, d, mut state) = (sample(1), drivers(&w), new_state());
    let p = plan::plan(&g, &state, &d, &opts(false, &[])).await.unwrap();
    let (r, _) = run(&p, &g, &d, &mut state, 10, never()).await;
    assert!(!r.succeeded());
    let outcome = |id: &str| {
        r.steps
            .iter()
            .find(|s| s.id.as_str() == id)
            .unwrap()
            .outcome
            .clone()
    };
    assert_eq!(
        outcome("db"),
        Outcome::Failed {
            error: "boom (Injected)".into()
        }
    );
    assert_eq!(
        outcome("app"),
        Outcome::Skipped {
            because: ResourceId::new("db")
        }
    );
    for id in ["net", "cache", "lone"] {
        assert!(
            matches!(outcome(id), Outcome::Done { .. }),
            "{id}: {:?}",
            outcome(id)
        );
    }
    let text = alpaka::engine::render::report_text(&r, false);
    assert!(
        text.contains("db: boom (Injected)") && text.contains("app (waits for db)"),
        "{text}"
    );
    assert!(!state.resources.contains_key(&ResourceId::new("db")));
}

#[tokio::test]
async fn interrupted_apply_then_reapply_converges() {
    let w = Arc::new(World::default());
    let (tx, rx) = watch::channel(false);
    *w.interrupt_after.lock().unwrap() = Some((2, tx));
    let (g, d, mut state) = (sample(1), drivers(&w), new_state());
    let p = plan::plan(&g, &state, &d, &opts(false, &[])).await.unwrap();
    let (r, saved) = run(&p, &g, &d, &mut state, 1, rx).await;
    assert!(r.interrupted);
    let done = r
        .steps
        .iter()
        .filter(|s| matches!(s.outcome, Outcome::Done { .. }))
        .count();
    assert_eq!(done, 2, "running steps finish, nothing new starts: {r:?}");
    assert!(r.steps.iter().any(|s| s.outcome == Outcome::NotStarted));

    // Simulate a kill right after the last state write: start over from what was persisted.
    let mut reloaded = saved.last().unwrap().clone();
    let p2 = plan::plan(&g, &reloaded, &d, &opts(false, &[]))
        .await
        .unwrap();
    assert_eq!(p2.summary().add, 3, "{p2:?}");
    converge(&g, &d, &mut reloaded, 10).await;
}

#[tokio::test]
async fn kill_between_any_two_nodes_converges() {
    // For every prefix of persisted states (a kill after k nodes), re-apply reaches the same end.
    let w = Arc::new(World::default());
    let (g, d, mut state) = (sample(1), drivers(&w), new_state());
    let p = plan::plan(&g, &state, &d, &opts(false, &[])).await.unwrap();
    let (_, saved) = run(&p, &g, &d, &mut state, 1, never()).await;
    let full: BTreeSet<ResourceId> = state.resources.keys().cloned().collect();
    for prefix in &saved {
        // The live world has everything, state knows a prefix: what it does not record is found
        // and adopted, never created a second time.
        let mut s = prefix.clone();
        let p = plan::plan(&g, &s, &d, &opts(false, &[])).await.unwrap();
        for c in p.actions() {
            assert_eq!(c.action, Action::Adopt, "{c:?}");
            assert!(!s.resources.contains_key(&c.id));
        }
        let r = converge(&g, &d, &mut s, 4).await;
        assert!(r.steps.iter().all(|st| st.action == Action::Adopt), "{r:?}");
        assert_eq!(s.resources.keys().cloned().collect::<BTreeSet<_>>(), full);
        assert_eq!(s.resources, state.resources);
    }
}

#[tokio::test]
async fn found_resources_are_adopted_and_diffed_and_a_strangers_refuses_the_plan() {
    let w = Arc::new(World::default());
    let (g, d, mut state) = (sample(1), drivers(&w), new_state());
    converge(&g, &d, &mut state, 4).await;
    let applied = state.resources.clone();

    // A run made `db` (with an older size) and died before recording it.
    state.resources.remove(&ResourceId::new("db"));
    w.live.lock().unwrap().insert(
        "db".into(),
        Value::map([("size", Value::Int(7)), ("zone", Value::str("a"))]),
    );
    let p = plan::plan(&g, &state, &d, &opts(false, &[])).await.unwrap();
    let changes: Vec<_> = p.actions().collect();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].action, Action::Adopt);
    assert_eq!(changes[0].fields[0].path_string(), "size");
    assert_eq!(
        changes[0].found,
        Some(Value::map([("id", Value::str("db-live"))]))
    );
    let text = alpaka::engine::render::plan_text(&p);
    assert!(text.contains("db was found"), "{text}");
    assert!(
        text.contains("will be adopted and updated in-place"),
        "{text}"
    );
    assert!(
        text.contains("Plan: 1 to adopt, 0 to add, 1 to change"),
        "{text}"
    );
    // Without a refresh nothing is looked for: it would be created.
    let blind = plan::plan(
        &g,
        &state,
        &d,
        &PlanOptions {
            refresh: false,
            ..opts(false, &[])
        },
    )
    .await
    .unwrap();
    assert_eq!(
        blind.actions().map(|c| c.action).collect::<Vec<_>>(),
        [Action::Create]
    );
    let (r, _) = run(&p, &g, &d, &mut state, 4, never()).await;
    assert!(r.succeeded(), "{r:?}");
    assert_eq!(state.resources, applied);
    assert_eq!(
        w.live.lock().unwrap()["db"].get("size"),
        Some(&Value::Int(1))
    );
    assert!(
        !plan::plan(&g, &state, &d, &opts(false, &[]))
            .await
            .unwrap()
            .has_changes()
    );

    // An adopted resource is updated under the same plan-time checks as a recorded one.
    state.resources.remove(&ResourceId::new("db"));
    w.live.lock().unwrap().insert(
        "db".into(),
        Value::map([("size", Value::Int(120)), ("zone", Value::str("a"))]),
    );
    let e = plan::plan(&g, &state, &d, &opts(false, &[]))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "`db` cannot be changed as configured: cannot shrink from 120 to 1"
    );
    w.live.lock().unwrap().insert(
        "db".into(),
        Value::map([("size", Value::Int(1)), ("zone", Value::str("a"))]),
    );
    let (r, _) = run(
        &plan::plan(&g, &state, &d, &opts(false, &[])).await.unwrap(),
        &g,
        &d,
        &mut state,
        4,
        never(),
    )
    .await;
    assert!(r.succeeded(), "{r:?}");

    // A replacement the driver refuses refuses the plan.
    let zoned = Graph::new(
        sample(1)
            .nodes()
            .iter()
            .map(|n| {
                let mut n = n.clone();
                if n.id.as_str() == "lone" {
                    n.desired = Value::map([("size", Value::Int(1)), ("zone", Value::str("z"))]);
                }
                n
            })
            .collect(),
    )
    .unwrap();
    let e = plan::plan(&zoned, &state, &d, &opts(false, &[]))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "`lone` cannot be changed as configured: zone z needs a migration, not a new one"
    );

    // Something not ours holds `cache`'s name: the plan refuses, naming it.
    state.resources.remove(&ResourceId::new("cache"));
    w.foreign.lock().unwrap().insert("cache".into());
    let e = plan::plan(&g, &state, &d, &opts(false, &[]))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "`cache` cannot be created: `cache` belongs to someone else"
    );
}

#[tokio::test]
async fn drift_and_out_of_band_deletion_show_in_plan() {
    let w = Arc::new(World::default());
    let (g, d, mut state) = (sample(1), drivers(&w), new_state());
    let p = plan::plan(&g, &state, &d, &opts(false, &[])).await.unwrap();
    run(&p, &g, &d, &mut state, 10, never()).await;

    w.live.lock().unwrap().remove("cache");
    w.live.lock().unwrap().insert(
        "db".into(),
        Value::map([("size", Value::Int(9)), ("zone", Value::str("a"))]),
    );
    w.live.lock().unwrap().insert(
        "lone".into(),
        Value::map([("size", Value::Int(1)), ("zone", Value::str("b"))]),
    );
    let p = plan::plan(&g, &state, &d, &opts(false, &[])).await.unwrap();
    let by: BTreeMap<&str, (Action, Vec<String>)> = p
        .actions()
        .map(|c| {
            (
                c.id.as_str(),
                (c.action, c.fields.iter().map(|f| f.path_string()).collect()),
            )
        })
        .collect();
    assert_eq!(by.len(), 3, "{by:?}");
    assert_eq!(by["cache"], (Action::Create, vec![]));
    assert_eq!(by["db"], (Action::Update, vec!["size".to_string()]));
    assert_eq!(by["lone"], (Action::Replace, vec!["zone".to_string()]));
    let text = alpaka::engine::render::plan_text(&p);
    assert!(text.contains("was deleted outside alpaka"), "{text}");
    assert!(text.contains("size = 9 -> 1"), "{text}");
    assert!(text.contains("# forces replacement"), "{text}");
    // The driver's warning rides on replacements only, and is printed under them.
    let warned: Vec<&str> = p
        .actions()
        .filter(|c| c.warning.is_some())
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(warned, ["lone"]);
    assert!(
        text.contains("! warning: replacing wipes its data"),
        "{text}"
    );
}

#[tokio::test]
async fn config_change_removed_node_and_targets() {
    let w = Arc::new(World::default());
    let (g, d, mut state) = (sample(1), drivers(&w), new_state());
    let p = plan::plan(&g, &state, &d, &opts(false, &[])).await.unwrap();
    run(&p, &g, &d, &mut state, 10, never()).await;

    // db grows, lone disappears from the config
    let g2 = Graph::new(vec![
        node("net", &[], 1),
        node("db", &["net"], 2),
        node("cache", &["net"], 1),
        node("app", &["db", "cache"], 1),
    ])
    .unwrap();
    let p = plan::plan(&g2, &state, &d, &opts(false, &[]))
        .await
        .unwrap();
    let acts: Vec<(&str, Action)> = p.actions().map(|c| (c.id.as_str(), c.action)).collect();
    assert_eq!(acts, [("db", Action::Update), ("lone", Action::Delete)]);

    // --target pulls in dependencies only; orphans are not touched
    let fresh = new_state();
    let p = plan::plan(&g2, &fresh, &d, &opts(false, &["db"]))
        .await
        .unwrap();
    let ids: Vec<&str> = p.actions().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["net", "db"]);
}

#[tokio::test]
async fn destroy_walks_in_reverse_and_targets_pull_dependents() {
    let w = Arc::new(World::default());
    let (g, d, mut state) = (sample(1), drivers(&w), new_state());
    let p = plan::plan(&g, &state, &d, &opts(false, &[])).await.unwrap();
    run(&p, &g, &d, &mut state, 10, never()).await;
    w.log.lock().unwrap().clear();

    let p = plan::plan(&g, &state, &d, &opts(true, &["db"]))
        .await
        .unwrap();
    let ids: Vec<&str> = p.actions().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["app", "db"], "a target's dependents go first");

    let p = plan::plan(&g, &state, &d, &opts(true, &[])).await.unwrap();
    assert_eq!(p.summary().destroy, 5);
    let (r, _) = run(&p, &g, &d, &mut state, 10, never()).await;
    assert!(r.succeeded());
    let log = w.log.lock().unwrap().clone();
    for (dependent, dep) in [
        ("app", "db"),
        ("app", "cache"),
        ("db", "net"),
        ("cache", "net"),
    ] {
        assert!(
            pos(&log, "end", dependent) < pos(&log, "start", dep),
            "{dependent} before {dep}: {log:?}"
        );
    }
    assert!(state.resources.is_empty());
    assert!(w.live.lock().unwrap().is_empty());
}

#[tokio::test]
async fn outputs_flow_to_dependents_and_are_unknown_until_created() {
    let w = Arc::new(World::default());
    let sub = Node::new(
        "subnet",
        "fake",
        Value::map([("vpc", Value::unknown("vpc", "id"))]),
    )
    .after("vpc");
    let g = Graph::new(vec![node("vpc", &[], 1), sub]).unwrap();
    let (d, mut state) = (drivers(&w), new_state());
    let p = plan::plan(&g, &state, &d, &opts(false, &[])).await.unwrap();
    let text = alpaka::engine::render::plan_text(&p);
    assert!(
        text.contains("vpc  = (known after apply)") || text.contains("vpc = (known after apply)"),
        "{text}"
    );
    run(&p, &g, &d, &mut state, 10, never()).await;
    assert_eq!(
        w.live.lock().unwrap()["subnet"].get("vpc"),
        Some(&Value::str("vpc-live"))
    );
    assert!(
        !plan::plan(&g, &state, &d, &opts(false, &[]))
            .await
            .unwrap()
            .has_changes()
    );
}

#[tokio::test]
async fn secrets_never_reach_state_or_plan_in_plaintext() {
    let w = Arc::new(World::default());
    let g = Graph::new(vec![Node::new(
        "db",
        "fake",
        Value::map([("password", Value::secret("hunter2"))]),
    )])
    .unwrap();
    let (d, mut state) = (drivers(&w), new_state());
    let p = plan::plan(&g, &state, &d, &opts(false, &[])).await.unwrap();
    let plan_json = serde_json::to_string(&p).unwrap();
    let plan_text = alpaka::engine::render::plan_text(&p);
    assert!(!plan_json.contains("hunter2") && !plan_text.contains("hunter2"));
    assert!(plan_text.contains("(sensitive)"), "{plan_text}");
    let (_, saved) = run(&p, &g, &d, &mut state, 10, never()).await;
    let state_json = serde_json::to_string(&saved.last().unwrap()).unwrap();
    assert!(
        !state_json.contains("hunter2") && state_json.contains("sha256:"),
        "{state_json}"
    );
    // the driver did get the plaintext
    assert_eq!(
        w.live.lock().unwrap()["db"].get("password"),
        Some(&Value::secret("hunter2"))
    );
    // a changed secret is detected through the hash
    let g2 = Graph::new(vec![Node::new(
        "db",
        "fake",
        Value::map([("password", Value::secret("other"))]),
    )])
    .unwrap();
    w.live.lock().unwrap().insert(
        "db".into(),
        Value::map([("password", Value::secret("hunter2"))]).seal("lin"),
    );
    let p2 = plan::plan(&g2, &state, &d, &opts(false, &[]))
        .await
        .unwrap();
    assert_eq!(p2.summary().change, 1);
    assert!(
        alpaka::engine::render::plan_text(&p2).contains("password = (sensitive) -> (sensitive)")
    );
}

#[tokio::test]
async fn a_kind_without_a_driver_plans_as_a_create_with_nothing_looked_up() {
    let w = Arc::new(World::default());
    let g = Graph::new(vec![
        node("net", &[], 1),
        Node::new("x", "newer.kind", Value::map([("a", Value::Int(1))])).after("net"),
    ])
    .unwrap();
    let d = drivers(&w);
    let p = plan::plan(&g, &new_state(), &d, &opts(false, &[]))
        .await
        .unwrap();
    let got: Vec<(&str, Action)> = p.actions().map(|c| (c.id.as_str(), c.action)).collect();
    assert_eq!(got, [("net", Action::Create), ("x", Action::Create)]);
    // Apply is what refuses it, naming the kind.
    assert_eq!(
        apply::missing_drivers(&p, &d).keys().collect::<Vec<_>>(),
        ["newer.kind"]
    );
}

/// kafka ← client ← app, the client moving from the plain listener to the TLS one.
fn moving(client_uses: &str, kafka_listeners: &[&str]) -> Graph {
    let listeners = Value::List(kafka_listeners.iter().map(|l| Value::str(*l)).collect());
    Graph::new(vec![
        Node::new("kafka", "fake", Value::map([("listeners", listeners)])),
        Node::new(
            "client",
            "fake",
            Value::map([("uses", Value::str(client_uses))]),
        )
        .after("kafka"),
        Node::new(
            "app",
            "fake",
            Value::map([("uses", Value::str(client_uses))]),
        )
        .after("client"),
    ])
    .unwrap()
}

#[tokio::test]
async fn a_two_step_update_keeps_what_dependents_use_until_they_have_moved() {
    let w = Arc::new(World::default());
    let d = drivers(&w);
    let mut state = new_state();
    converge(&moving("plain", &["plain"]), &d, &mut state, 10).await;
    w.log.lock().unwrap().clear();

    let g = moving("tls", &["tls"]);
    let p = plan::plan(&g, &state, &d, &opts(false, &[])).await.unwrap();
    let kafka = p.changes.iter().find(|c| c.id.as_str() == "kafka").unwrap();
    assert!(kafka.two_step, "{kafka:?}");
    assert!(
        kafka.note.as_deref().unwrap_or("").contains("kept until"),
        "{kafka:?}"
    );
    let text = alpaka::engine::render::plan_text(&p);
    assert!(
        text.contains("old listeners kept until the clients moved"),
        "{text}"
    );
    let client = p
        .changes
        .iter()
        .find(|c| c.id.as_str() == "client")
        .unwrap();
    assert!(!client.two_step);

    let (r, _) = run(&p, &g, &d, &mut state, 10, never()).await;
    assert!(r.succeeded(), "{r:?}");
    let log = w.log.lock().unwrap().clone();
    // The bridge (both listeners) first, then the clients, then the configuration.
    let bridge = pos(&log, "listeners", "kafka=tls+plain");
    let last = pos(&log, "listeners", "kafka=tls");
    assert!(bridge < pos(&log, "start", "client"), "{log:?}");
    assert!(pos(&log, "end", "app") < last, "{log:?}");
    assert_eq!(
        r.steps.iter().filter(|s| s.id.as_str() == "kafka").count(),
        2
    );
    // Nothing left to do; what state records is what is live.
    let again = plan::plan(&g, &state, &d, &opts(false, &[])).await.unwrap();
    assert!(!again.has_changes(), "{again:?}");
}

#[tokio::test]
async fn a_client_that_cannot_move_leaves_the_bridge_standing_and_the_next_apply_finishes() {
    let w = Arc::new(World::default());
    let d = drivers(&w);
    let mut state = new_state();
    converge(&moving("plain", &["plain"]), &d, &mut state, 10).await;

    let g = moving("tls", &["tls"]);
    w.fail.lock().unwrap().insert("client".into());
    let p = plan::plan(&g, &state, &d, &opts(false, &[])).await.unwrap();
    let (r, _) = run(&p, &g, &d, &mut state, 10, never()).await;
    assert!(!r.succeeded());
    let kafka_steps: Vec<_> = r
        .steps
        .iter()
        .filter(|s| s.id.as_str() == "kafka")
        .map(|s| s.outcome.clone())
        .collect();
    assert!(
        matches!(kafka_steps[0], Outcome::Done { .. }),
        "{kafka_steps:?}"
    );
    assert!(
        matches!(kafka_steps[1], Outcome::Skipped { .. }),
        "{kafka_steps:?}"
    );
    // The old listener is still live and recorded as applied: the clients still connect.
    let live = w.live.lock().unwrap().get("kafka").cloned().unwrap();
    let both = Value::List(vec![Value::str("tls"), Value::str("plain")]);
    assert_eq!(live.get("listeners"), Some(&both));
    assert_eq!(
        state.resources[&ResourceId::new("kafka")]
            .attrs
            .get("listeners"),
        Some(&both)
    );

    // Fixed: the next plan bridges again (nothing to add) and finishes.
    w.fail.lock().unwrap().clear();
    let p = plan::plan(&g, &state, &d, &opts(false, &[])).await.unwrap();
    assert!(
        p.changes
            .iter()
            .any(|c| c.id.as_str() == "kafka" && c.two_step)
    );
    let (r, _) = run(&p, &g, &d, &mut state, 10, never()).await;
    assert!(r.succeeded(), "{r:?}");
    let live = w.live.lock().unwrap().get("kafka").cloned().unwrap();
    assert_eq!(
        live.get("listeners"),
        Some(&Value::List(vec![Value::str("tls")]))
    );
    let again = plan::plan(&g, &state, &d, &opts(false, &[])).await.unwrap();
    assert!(!again.has_changes(), "{again:?}");
}

/// A replacement is a new resource: its create sends a new idempotency token (the first's would
/// name the deleted one, with other parameters: EKS and EC2 refuse or answer with the old one),
/// the same in every retry of that replacement, and after it a destroy-and-create gets another.
#[tokio::test]
async fn a_replacement_creates_with_a_new_idempotency_token() {
    let w = Arc::new(World::default());
    let d = drivers(&w);
    let mut state = new_state();
    let g = Graph::new(vec![node("lone", &[], 1)]).unwrap();
    converge(&g, &d, &mut state, 1).await;
    let moved = Graph::new(vec![Node::new(
        "lone",
        "fake",
        Value::map([("size", Value::Int(1)), ("zone", Value::str("b"))]),
    )])
    .unwrap();
    // The replacement's create fails (after its delete went through); the next apply finds the
    // old one gone and creates it: the same request as the failed one.
    w.fail_create.lock().unwrap().insert("lone".into());
    let p = plan::plan(&moved, &state, &d, &opts(false, &[]))
        .await
        .unwrap();
    assert_eq!(p.actions().next().unwrap().action, Action::Replace);
    let (r, _) = run(&p, &moved, &d, &mut state, 1, never()).await;
    assert!(!r.succeeded());
    w.fail_create.lock().unwrap().clear();
    let p = plan::plan(&moved, &state, &d, &opts(false, &[]))
        .await
        .unwrap();
    assert_eq!(p.actions().next().unwrap().action, Action::Create);
    converge(&moved, &d, &mut state, 1).await;
    let t: Vec<String> = w
        .tokens
        .lock()
        .unwrap()
        .iter()
        .map(|(_, t)| t.clone())
        .collect();
    assert_eq!(t.len(), 3, "{t:?}");
    assert_ne!(
        t[0], t[1],
        "the replacement reused the first create's token"
    );
    assert_eq!(t[1], t[2], "a retried replacement must send the same token");
    assert_eq!(state.generation(&ResourceId::new("lone")), 1);
    // Destroyed and made again: yet another token.
    let p = plan::plan(&moved, &state, &d, &opts(true, &[]))
        .await
        .unwrap();
    run(&p, &moved, &d, &mut state, 1, never()).await;
    converge(&moved, &d, &mut state, 1).await;
    let t: Vec<String> = w
        .tokens
        .lock()
        .unwrap()
        .iter()
        .map(|(_, t)| t.clone())
        .collect();
    assert_eq!(t.len(), 4, "{t:?}");
    assert!(!t[..3].contains(&t[3]), "{t:?}");
}
