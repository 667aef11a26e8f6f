//! Benchmark (not a test): how close the apply walker gets to the critical path.
//!
//! Takes the real graph of `profiles/eks-prod.yaml`, gives every node an injected latency by
//! kind (EKS-like proportions, scaled down 200x), applies it with sleeping drivers and prints
//! `makespan / critical path` (goal ≤ 1.05). Then times `alpaka plan` on the default profile
//! (goal < 300 ms in release) when the release binary exists.
//!
//! Run: `cargo bench --bench schedule`. Under `cargo test` (`test = true` in Cargo.toml, so the
//! suite runs it in the debug build) or with `--short` it makes one pass at a tenth of the
//! latencies and three plan timings: enough to show the benchmark still runs, not numbers to
//! quote. `cargo bench` runs a `harness = false` target with `--bench`; `cargo test` does not.

use std::collections::{BTreeSet, HashMap};
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

/// Sleeps for the kind's latency, then returns every output some node references of this one
/// (the cluster's `context` and `kubeconfig`, ARNs, ids), as the real driver would.
struct Sleep {
    latency: Duration,
    outputs: Arc<HashMap<String, BTreeSet<String>>>,
}

#[async_trait]
impl Driver for Sleep {
    async fn read(&self, _: &ResourceId, _: &ResourceState) -> Result<Option<Value>, DriverError> {
        Ok(None)
    }
    async fn create(&self, cx: &StepCx, _: &Value) -> Result<Value, DriverError> {
        tokio::time::sleep(self.latency).await;
        let keys = self
            .outputs
            .get(cx.id.as_str())
            .cloned()
            .unwrap_or_default();
        Ok(Value::map(keys.into_iter().map(|k| {
            (k.clone(), Value::str(format!("{}-{k}", cx.id)))
        })))
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

fn critical_path(graph: &Graph, scale: f64) -> f64 {
    let mut finish: HashMap<&ResourceId, f64> = HashMap::new();
    for n in graph.topo_order() {
        let start = n.deps.iter().map(|d| finish[d]).fold(0.0, f64::max);
        finish.insert(&n.id, start + latency(&n.kind) * scale);
    }
    finish.values().copied().fold(0.0, f64::max)
}

/// Which outputs of each node the graph references.
fn referenced_outputs(graph: &Graph) -> HashMap<String, BTreeSet<String>> {
    let mut refs = Vec::new();
    for n in graph.nodes() {
        n.desired.unknowns(&mut refs);
    }
    let mut out: HashMap<String, BTreeSet<String>> = HashMap::new();
    for r in refs {
        out.entry(r.node).or_default().insert(r.output);
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let short = args.iter().any(|a| a == "--short") || !args.iter().any(|a| a == "--bench");
    let (scale, passes, plan_runs) = if short {
        (SCALE / 10.0, 1, 3)
    } else {
        (SCALE, 3, 10)
    };
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
    let outputs = Arc::new(referenced_outputs(&graph));
    let mut drivers = Drivers::new();
    for n in graph.nodes() {
        drivers.register(
            n.kind.clone(),
            Arc::new(Sleep {
                latency: Duration::from_secs_f64(latency(&n.kind) * scale),
                outputs: outputs.clone(),
            }),
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build();
    let Ok(runtime) = runtime else {
        eprintln!("no runtime");
        std::process::exit(1);
    };
    let cp = critical_path(&graph, scale);
    let mut ratios = Vec::new();
    for _ in 0..passes {
        let makespan = runtime.block_on(async {
            let mut state = State::new("bench");
            let opts = PlanOptions {
                profile: "bench".into(),
                targets: vec![],
                destroy: false,
                parallelism: 10,
                inputs_hash: String::new(),
                refresh: true,
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
            let elapsed = t.elapsed().as_secs_f64();
            if !report.succeeded() {
                eprintln!("the synthetic apply failed: {report:#?}");
                std::process::exit(1);
            }
            elapsed
        });
        ratios.push(makespan / cp);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "schedule eks-prod: {} nodes, critical path {:.3}s (scaled 1/{:.0}), makespan/critical-path median {:.3} (min {:.3}, max {:.3}); goal <= 1.05",
        graph.nodes().len(),
        cp,
        1.0 / scale,
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
    );

    // The binary of this build's profile: release under `cargo bench`, debug under `cargo test`.
    let bin = Path::new(env!("CARGO_BIN_EXE_alpaka"));
    {
        let mut times = Vec::new();
        for _ in 0..plan_runs {
            let t = Instant::now();
            let out = std::process::Command::new(bin)
                .args(["plan", "--no-color"])
                .current_dir(root)
                .env_remove("ALPAKA_ROOT")
                .env_remove("ALPAKA_PROFILE")
                .output();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            match out {
                Ok(o) if o.status.success() => {}
                Ok(o) => {
                    eprintln!("alpaka plan failed: {}", String::from_utf8_lossy(&o.stderr));
                    std::process::exit(1);
                }
                Err(e) => {
                    eprintln!("running {}: {e}", bin.display());
                    std::process::exit(1);
                }
            }
        }
        times.sort_by(f64::total_cmp);
        println!(
            "alpaka plan (default profile, nothing installed, {}): median {:.1} ms over {} runs; goal < 300 ms in release",
            if cfg!(debug_assertions) {
                "debug build"
            } else {
                "release build"
            },
            times[times.len() / 2],
            times.len()
        );
    }
}
