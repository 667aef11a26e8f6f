//! Benchmark (not a test): how close the apply walker gets to the critical path.
//!
//! Takes the real graph of `profiles/eks-prod.yaml`, gives every node an injected latency by
//! kind (EKS-like proportions, scaled down 200x), applies it with sleeping drivers and prints
//! `makespan / critical path` (goal ≤ 1.05). Then times `alpaka plan` on the default profile
//! (goal < 300 ms in release) when the release binary exists.
//!
//! Run: `cargo bench --bench schedule`

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alpaka::engine::apply::{self, ApplyContext};
use alpaka::engine::diff::FieldChange;
use alpaka::engine::plan::{self, PlanOptions};
use alpaka::engine::progress::{Reporter, StepEnd};
use alpaka::engine::{Action, Driver, DriverError, Drivers, Graph, ResourceId, StepCx, Value};
use alpaka::state::{ResourceState, State};
use async_trait::async_trait;

/// Seconds a real apply of this kind takes, roughly (EKS control plane ~10 min, …).
fn latency(kind: &str) -> f64 {
    match kind {
        "eks.cluster" => 600.0,
        "eks.nodegroup" => 240.0,
        "eks.addon" => 60.0,
        "aws.nat-gateway" => 90.0,
        "helm.release" => 45.0,
        "strimzi.kafka" => 120.0,
        "strimzi.kafkaconnect" => 90.0,
        "k8s.deployment" => 20.0,
        _ => 3.0,
    }
}

const SCALE: f64 = 1.0 / 200.0;

struct Sleep(Duration);

#[async_trait]
impl Driver for Sleep {
    async fn read(&self, _: &ResourceId, _: &ResourceState) -> Result<Option<Value>, DriverError> {
        Ok(None)
    }
    async fn create(&self, cx: &StepCx, _: &Value) -> Result<Value, DriverError> {
        tokio::time::sleep(self.0).await;
        // Every output anyone may reference.
        Ok(Value::map(
            ["id", "arn", "oidc_issuer", "issuer", "allocation_id"]
                .map(|k| (k, Value::str(format!("{}-{k}", cx.id)))),
        ))
    }
    async fn update(
        &self,
        _: &StepCx,
        _: &ResourceState,
        _: &Value,
        _: &[FieldChange],
    ) -> Result<Value, DriverError> {
        Ok(Value::Null)
    }
    async fn delete(&self, _: &StepCx, _: &ResourceState) -> Result<(), DriverError> {
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

fn critical_path(graph: &Graph) -> f64 {
    let mut finish: HashMap<&ResourceId, f64> = HashMap::new();
    for n in graph.topo_order() {
        let start = n.deps.iter().map(|d| finish[d]).fold(0.0, f64::max);
        finish.insert(&n.id, start + latency(&n.kind) * SCALE);
    }
    finish.values().copied().fold(0.0, f64::max)
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let loaded = match alpaka::config::load(root, "eks-prod") {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let nodes = match alpaka::stack::build(&loaded.profile_name, &loaded.profile, &loaded.config) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let graph = match Graph::new(nodes) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let mut drivers = Drivers::new();
    for n in graph.nodes() {
        drivers.register(
            n.kind.clone(),
            Arc::new(Sleep(Duration::from_secs_f64(latency(&n.kind) * SCALE))),
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build();
    let Ok(runtime) = runtime else {
        eprintln!("no runtime");
        std::process::exit(1);
    };
    let cp = critical_path(&graph);
    let mut ratios = Vec::new();
    for _ in 0..3 {
        let makespan = runtime.block_on(async {
            let mut state = State::new("bench");
            let opts = PlanOptions {
                profile: "bench".into(),
                targets: vec![],
                destroy: false,
                parallelism: 10,
                inputs_hash: String::new(),
            };
            let p = plan::plan(&graph, &state, &drivers, &opts)
                .await
                .unwrap_or_else(|e| {
                    eprintln!("{e}");
                    std::process::exit(1)
                });
            let (_tx, rx) = tokio::sync::watch::channel(false);
            let cx = ApplyContext {
                graph: &graph,
                drivers: &drivers,
                reporter: Arc::new(Quiet),
                parallelism: 10,
                interrupt: rx,
            };
            let mut sink = |_: &State| -> Result<(), String> { Ok(()) };
            let t = Instant::now();
            let report = apply::apply(&p, cx, &mut state, &mut sink).await;
            assert!(report.succeeded(), "{report:?}");
            t.elapsed().as_secs_f64()
        });
        ratios.push(makespan / cp);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "schedule eks-prod: {} nodes, critical path {:.3}s (scaled 1/200), makespan/critical-path median {:.3} (min {:.3}, max {:.3}); goal <= 1.05",
        graph.nodes().len(),
        cp,
        ratios[1],
        ratios[0],
        ratios[2]
    );

    let bin = root.join("target/release/alpaka");
    if bin.exists() {
        let mut times = Vec::new();
        for _ in 0..10 {
            let t = Instant::now();
            let out = std::process::Command::new(&bin)
                .args(["plan", "--no-color"])
                .current_dir(root)
                .env_remove("ALPAKA_ROOT")
                .env_remove("ALPAKA_PROFILE")
                .output();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            if let Ok(o) = out
                && !o.status.success()
            {
                eprintln!("alpaka plan failed: {}", String::from_utf8_lossy(&o.stderr));
                break;
            }
        }
        times.sort_by(f64::total_cmp);
        println!(
            "alpaka plan (default profile, nothing installed): median {:.1} ms over {} runs; goal < 300 ms",
            times[times.len() / 2],
            times.len()
        );
    } else {
        println!(
            "alpaka plan wall time: build the release binary first (cargo build --release), then re-run"
        );
    }
}
