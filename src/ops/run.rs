//! plan, apply, destroy: the operations that refresh, diff and change things.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

use tokio::sync::watch;

use super::{Ctx, EXIT_CHANGES, EXIT_ERROR, EXIT_OK, OpsError, Workspace, open};
use crate::cli::{ApplyArgs, DestroyArgs, PlanArgs, RunArgs};
use crate::engine::apply::{self, ApplyContext};
use crate::engine::plan::{self, PLAN_FORMAT_VERSION, Plan, PlanOptions};
use crate::engine::progress::{BarReporter, LineReporter, Reporter};
use crate::engine::{ResourceId, render};
use crate::state::{State, StateLock};

fn plan_options(ws: &Workspace, run: &RunArgs, destroy: bool) -> PlanOptions {
    PlanOptions {
        profile: ws.loaded.profile_name.clone(),
        targets: run.targets.iter().map(ResourceId::new).collect(),
        destroy,
        parallelism: usize::from(run.parallelism),
        inputs_hash: ws.inputs_hash.clone(),
        refresh: true,
    }
}

/// The state lock for `operation`; with `wait`, a lock another run holds is waited for (polled,
/// saying who holds it) until it is free or `wait` has passed.
async fn take_lock(
    backend: &dyn crate::state::Backend,
    operation: &str,
    wait: Option<std::time::Duration>,
) -> Result<crate::state::StateLock, OpsError> {
    let start = std::time::Instant::now();
    let mut said = None::<String>;
    let mut last = start;
    loop {
        match backend.lock(operation) {
            Err(crate::state::StateError::Locked { holder, .. })
                if wait.is_some_and(|w| start.elapsed() < w) =>
            {
                let who = holder
                    .map(|h| {
                        format!(
                            "{} by {}@{} (pid {}, since {})",
                            h.operation, h.owner, h.host, h.pid, h.created
                        )
                    })
                    .unwrap_or_else(|| "another run".to_owned());
                if said.as_deref() != Some(&who) {
                    eprintln!(
                        "waiting up to {}s for the state lock of {}, held: {who}",
                        wait.map(|w| w.as_secs()).unwrap_or_default(),
                        backend.describe()
                    );
                    said = Some(who);
                } else if last.elapsed() >= std::time::Duration::from_secs(10) {
                    eprintln!("  still locked after {}s", start.elapsed().as_secs());
                    last = std::time::Instant::now();
                }
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            }
            other => return Ok(other?),
        }
    }
}

/// Tell the drivers this run's lock id and who holds the lock.
fn set_run(ws: &Workspace, id: Option<String>, holder: Option<String>) {
    if let Ok(mut r) = ws.run.write() {
        r.id = id;
        r.lock_holder = holder;
    }
}

fn load_state(ws: &Workspace) -> Result<State, OpsError> {
    Ok(ws
        .backend
        .load()?
        .unwrap_or_else(|| State::new(ws.loaded.profile_name.clone())))
}

pub async fn plan(ctx: &Ctx, args: &PlanArgs) -> Result<u8, OpsError> {
    let mut ws = open(ctx)?;
    let state = load_state(&ws)?;
    // Who holds the lock now: a helm release it left pending is its own, not to be recovered.
    if let Ok(holder) = ws.backend.current_lock() {
        set_run(&ws, None, holder.map(|h| h.id));
    }
    if !args.refresh && args.out.is_some() {
        return Err(OpsError::Refused(
            "a plan made with --refresh=false cannot be saved: it did not look at what is live, \
             so applying it could create what already exists"
                .to_owned(),
        ));
    }
    // --refresh=false asks AWS nothing, STS included.
    super::eks_access::with_appliers(&mut ws, &state, args.refresh, false).await?;
    let p = plan::plan(
        &ws.graph,
        &state,
        &ws.drivers,
        &PlanOptions {
            refresh: args.refresh,
            ..plan_options(&ws, &args.run, args.destroy)
        },
    )
    .await?;
    // After the plan's own reads, which say first when AWS cannot be reached at all.
    if !args.destroy {
        super::eks_access::check_reachable(&ws, args.refresh).await?;
    }
    if args.json {
        let json = serde_json::to_string_pretty(&p)
            .map_err(|e| OpsError::Refused(format!("encoding the plan: {e}")))?;
        println!("{json}");
    } else {
        print!("{}", render::plan_text(&p));
        if let Some(cost) = super::cost::estimate(&p) {
            println!("\n{cost}");
        }
        warn_missing_drivers(&ws, &p);
        warn_missing_tools(&ws, &p).await;
        note_mirror(&ws);
    }
    if let Some(out) = &args.out {
        save_plan(out, &p)?;
        if !args.json {
            println!(
                "\nSaved the plan to {}. To perform exactly these actions: alpaka apply {}",
                out.display(),
                out.display()
            );
        }
    }
    Ok(if args.detailed_exitcode && p.has_changes() {
        EXIT_CHANGES
    } else {
        EXIT_OK
    })
}

/// Issue 25: one line saying where images and charts come from, only with a `mirror:`.
fn note_mirror(ws: &Workspace) {
    if let Some(m) = &ws.loaded.profile.mirror {
        println!(
            "\nMirror: every image from {} (path and tag kept){}, every chart from {}; `alpaka images` lists them.",
            m.registry,
            m.image_pull_secret
                .as_deref()
                .map(|s| format!(", pulled with Secret `{s}`"))
                .unwrap_or_default(),
            m.charts
        );
    }
}

/// Say plainly, at plan time, what this build cannot apply.
fn warn_missing_drivers(ws: &Workspace, p: &Plan) {
    let missing = apply::missing_drivers(p, &ws.drivers);
    if missing.is_empty() {
        return;
    }
    let kinds: Vec<String> = missing
        .iter()
        .map(|(k, ids)| format!("{k} ({})", ids.len()))
        .collect();
    eprintln!(
        "\n{} this build cannot apply this plan yet: no provider for {}.",
        console::style("Note:").yellow().bold(),
        kinds.join(", ")
    );
}

/// Warn (never fail) when a tool apply will run is missing or too old.
async fn warn_missing_tools(ws: &Workspace, p: &Plan) {
    if !p.has_changes() {
        return;
    }
    for c in super::doctor::tool_checks(&ws.loaded.profile).await {
        if c.status != super::doctor::Status::Ok {
            let fix = c.fix.map(|f| format!(" — fix: {f}")).unwrap_or_default();
            eprintln!(
                "{} apply needs {}: {}{fix} (see `alpaka doctor`)",
                console::style("Warning:").yellow().bold(),
                c.name,
                c.found
            );
        }
    }
}

fn save_plan(path: &Path, p: &Plan) -> Result<(), OpsError> {
    let json = serde_json::to_vec_pretty(p)
        .map_err(|e| OpsError::Refused(format!("encoding the plan: {e}")))?;
    std::fs::write(path, json).map_err(|source| OpsError::Io {
        path: path.to_path_buf(),
        op: "writing",
        source,
    })
}

fn read_plan(path: &Path) -> Result<Plan, OpsError> {
    let bytes = std::fs::read(path).map_err(|source| OpsError::Io {
        path: path.to_path_buf(),
        op: "reading",
        source,
    })?;
    let p: Plan = serde_json::from_slice(&bytes).map_err(|e| {
        OpsError::Refused(format!(
            "{} is not a plan saved by `alpaka plan --out`: {e}",
            path.display()
        ))
    })?;
    if p.format_version != PLAN_FORMAT_VERSION {
        return Err(OpsError::Refused(format!(
            "{} has plan format {}, this alpaka reads {PLAN_FORMAT_VERSION}: make a new plan",
            path.display(),
            p.format_version
        )));
    }
    Ok(p)
}

/// A saved plan is only valid against the state and inputs it was made from.
fn check_saved_plan(path: &Path, p: &Plan, ws: &Workspace, state: &State) -> Result<(), OpsError> {
    let stale = |what: &str| {
        OpsError::Refused(format!(
            "the saved plan {} is stale: {what} since it was made. Run `alpaka plan --out {}` again and review it.",
            path.display(),
            path.display()
        ))
    };
    if p.profile != ws.loaded.profile_name {
        return Err(OpsError::Refused(format!(
            "the saved plan {} is for profile `{}`, not `{}`: pass --profile {}",
            path.display(),
            p.profile,
            ws.loaded.profile_name,
            p.profile
        )));
    }
    if p.lineage != plan::persisted_lineage(state) || p.serial != state.serial {
        return Err(stale(&format!(
            "the state changed (serial {} then, {} now)",
            p.serial, state.serial
        )));
    }
    if p.inputs_hash != ws.inputs_hash {
        return Err(stale("the profile or config files changed"));
    }
    Ok(())
}

pub async fn apply(ctx: &Ctx, args: &ApplyArgs) -> Result<u8, OpsError> {
    let mut ws = open(ctx)?;
    let lock = take_lock(&*ws.backend, "apply", args.lock_timeout).await?;
    set_run(
        &ws,
        Some(lock.info().id.clone()),
        Some(lock.info().id.clone()),
    );
    let mut state = load_state(&ws)?;
    if args.plan_file.is_none() {
        super::eks_access::with_appliers(&mut ws, &state, true, true).await?;
    }
    let (p, saved) = match &args.plan_file {
        Some(path) => {
            let p = read_plan(path)?;
            check_saved_plan(path, &p, &ws, &state)?;
            (p, true)
        }
        None => (
            plan::plan(
                &ws.graph,
                &state,
                &ws.drivers,
                &plan_options(&ws, &args.run, false),
            )
            .await?,
            false,
        ),
    };
    super::eks_access::check_reachable(&ws, true).await?;
    execute(
        ctx,
        &ws,
        lock,
        &mut state,
        p,
        !saved && !args.auto_approve,
        false,
        usize::from(args.run.parallelism),
    )
    .await
}

pub async fn destroy(ctx: &Ctx, args: &DestroyArgs) -> Result<u8, OpsError> {
    let mut ws = open(ctx)?;
    // On a cluster alpaka did not create, data is kept unless asked, as the original chart's
    // uninstall kept its PVCs "so that important data is not deleted by mistake".
    let existing = matches!(
        ws.loaded.profile.cluster(),
        crate::model::profile::Cluster::K3s(_)
    );
    let keep_volumes = args.keep_volumes || (existing && !args.delete_volumes);
    if args.delete_crds && !existing {
        return Err(OpsError::Refused(
            "--delete-crds is for an existing cluster (k3s profile): destroy deletes this \
             profile's cluster, its CRDs with it"
                .into(),
        ));
    }
    ws.drivers = crate::providers::drivers_with(
        &ws.loaded.profile,
        crate::providers::DriverOptions {
            run: ws.run.clone(),
            keep_volumes: args.keep_volumes,
            delete: crate::providers::k8s::manifest::DeleteOptions {
                remove_finalizers: args.remove_finalizers,
                finalizer_timeout: args.finalizer_timeout,
                keep_volumes,
            },
            ..crate::providers::DriverOptions::for_workspace(&ctx.root, &ws.loaded.profile_name)
        },
    );
    let lock = take_lock(&*ws.backend, "destroy", args.lock_timeout).await?;
    set_run(
        &ws,
        Some(lock.info().id.clone()),
        Some(lock.info().id.clone()),
    );
    let mut state = load_state(&ws)?;
    super::eks_access::with_appliers(&mut ws, &state, false, false).await?;
    // Orphans join the state as recorded resources: the plan lists them, the walker deletes
    // them in order, and one whose delete fails stays recorded for the next run.
    let mut orphans = std::collections::BTreeSet::new();
    if args.orphans {
        let found = crate::providers::orphans(&ws.loaded.profile, &ws.loaded.profile_name, &state)
            .await
            .map_err(|e| {
                OpsError::Refused(format!("looking for orphaned resources failed: {e}"))
            })?;
        if found.is_empty() {
            println!("No orphans: everything tagged with this profile is recorded in its state.");
        }
        // With targets, only the orphans they name join the state (the rest stay unrecorded,
        // as they were).
        let targets = &args.run.targets;
        for (id, resource) in found {
            if targets.is_empty() || targets.iter().any(|t| t == id.as_str()) {
                orphans.insert(id.clone());
                state.record(id, resource);
            }
        }
    }
    let mut p = plan::plan(
        &ws.graph,
        &state,
        &ws.drivers,
        &plan_options(&ws, &args.run, true),
    )
    .await?;
    for c in p.changes.iter_mut().filter(|c| orphans.contains(&c.id)) {
        c.reason = Some(plan::Reason::Orphan);
    }
    if p.changes.iter().any(|c| c.kind == "aws.cluster-sweep") {
        let listed =
            crate::providers::pvc_volumes(&ws.loaded.profile, &ws.loaded.profile_name).await;
        println!(
            "\nEBS volumes behind the platform's PVCs will be {}{}",
            if args.keep_volumes {
                "kept (--keep-volumes)"
            } else {
                "deleted (pass --keep-volumes to keep them)"
            },
            match &listed {
                Ok(v) if v.is_empty() => ": none now.".to_owned(),
                Ok(v) => format!(
                    ":\n{}",
                    v.iter()
                        .map(|id| format!("  {id}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
                Err(e) => format!(" (listing them failed: {e})."),
            }
        );
    }
    if p.changes.iter().any(|c| c.kind == "strimzi.kafka") {
        print_kafka_volumes(&state, keep_volumes, existing).await;
    }
    // What helm leaves on a cluster alpaka did not create (elsewhere the cluster goes whole).
    let leftovers = if existing
        && args.run.targets.is_empty()
        && p.changes.iter().any(|c| c.kind == "helm.release")
    {
        let found = crate::providers::helm::leftovers::find(HELM, &state).await;
        print_leftovers(&found, args.delete_crds);
        found
    } else {
        Vec::new()
    };
    let code = execute(
        ctx,
        &ws,
        lock,
        &mut state,
        p,
        !args.auto_approve,
        true,
        usize::from(args.run.parallelism),
    )
    .await?;
    if code == EXIT_OK && !settle_leftovers(&leftovers, args.delete_crds).await {
        return Ok(EXIT_ERROR);
    }
    if code != EXIT_OK || !args.run.targets.is_empty() || !state.resources.is_empty() {
        return Ok(code);
    }
    // Everything recorded is gone: check the account for anything still carrying the profile.
    let left = crate::providers::leftovers(&ws.loaded.profile, &ws.loaded.profile_name)
        .await
        .map_err(|e| {
            OpsError::Refused(format!("listing what is left after destroy failed: {e}"))
        })?;
    if left.is_empty() {
        return Ok(EXIT_OK);
    }
    eprintln!(
        "\n{} still tagged with profile `{}` after destroy:",
        console::style("Left behind:").red().bold(),
        ws.loaded.profile_name
    );
    for l in &left {
        eprintln!("  {l}");
    }
    if !args.orphans {
        eprintln!(
            "What alpaka made but recorded nowhere (a run killed mid-apply) is removed by \
             `alpaka destroy --orphans`."
        );
    }
    Ok(EXIT_ERROR)
}

/// Ctrl-C during apply/destroy: the first starts nothing new and lets running steps finish
/// (helm runs in its own process group, so the terminal's SIGINT does not reach it); the second
/// stops running helm operations with SIGTERM, waits for them to record how they ended
/// (`failed`, which the next apply takes up), and exits. The receiver turns true at the first.
pub fn watch_interrupts() -> (watch::Receiver<bool>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = watch::channel(false);
    let signals = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = tx.send(true);
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "\nsecond interrupt: stopping running helm operations (up to {}s), then exiting; \
                     state holds every step that finished.",
                    crate::providers::local::cli::TERM_GRACE.as_secs()
                );
                let left = crate::providers::local::cli::stop_own_groups(
                    crate::providers::local::cli::TERM_GRACE,
                )
                .await;
                if left > 0 {
                    eprintln!("{left} still running; the next apply recovers what they leave.");
                }
                std::process::exit(130);
            }
        }
    });
    (rx, signals)
}

/// The helm binary the drivers run.
const HELM: &str = "helm";

/// The destroy plan's list of what helm leaves on an existing cluster.
fn print_leftovers(
    found: &[Result<crate::providers::helm::leftovers::Leftovers, String>],
    delete: bool,
) {
    if found
        .iter()
        .all(|f| f.as_ref().is_ok_and(|l| l.items.is_empty()))
    {
        return;
    }
    println!(
        "\nCRDs and cluster-scoped objects helm leaves on this cluster (alpaka did not create it):"
    );
    for f in found {
        match f {
            Ok(l) => {
                for item in &l.items {
                    println!("  {}", item.describe());
                }
            }
            Err(e) => println!("  (listing them failed: {e})"),
        }
    }
    if delete {
        println!(
            "  --delete-crds: each is deleted after destroy unless another helm release (any \
             namespace) ships or uses it, or custom resources of its kind remain."
        );
    } else {
        println!(
            "  They are kept. `--delete-crds` deletes each after destroy when no other helm \
             release ships or uses it and no custom resources of its kind remain."
        );
    }
}

/// After destroy: each leftover looked at again (and deleted with `--delete-crds` when nothing
/// keeps it), one line each. False when deleting was asked and one could not be checked or
/// deleted (only listing them is not worth failing a finished destroy).
async fn settle_leftovers(
    found: &[Result<crate::providers::helm::leftovers::Leftovers, String>],
    delete: bool,
) -> bool {
    let mut ok = true;
    let mut lines = Vec::new();
    for l in found.iter().flatten().filter(|l| !l.items.is_empty()) {
        for s in crate::providers::helm::leftovers::settle(HELM, l, delete).await {
            ok &= !delete || s.outcome.is_ok();
            lines.push(s.line(&l.access));
        }
    }
    if !lines.is_empty() {
        println!("\nLeft by helm on this cluster:");
        for l in lines {
            println!("  {l}");
        }
    }
    ok
}

/// The destroy plan's list of Kafka's volumes: kept or deleted, and how to delete a kept one
/// later.
async fn print_kafka_volumes(state: &State, keep: bool, existing: bool) {
    let how = if keep {
        if existing {
            "KEPT (reclaim policy set to Retain before their claims go; the default on an existing \
             cluster, `--delete-volumes` deletes them)"
        } else {
            "KEPT (--keep-volumes: reclaim policy set to Retain before their claims go)"
        }
    } else {
        "DELETED with their claims, and the data they hold with them (pass --keep-volumes to \
         keep them)"
    };
    println!("\nKafka's volumes will be {how}:");
    for found in crate::providers::kafka_volumes(state).await {
        match found {
            Ok((_, vols)) if vols.is_empty() => println!("  none now."),
            Ok((access, vols)) => {
                for v in &vols {
                    println!("  {}", v.describe());
                }
                if keep {
                    println!(
                        "  To delete one later: kubectl --kubeconfig {} --context {} delete pv NAME, \
                         then the data it names (a CSI volume: delete it with its provider, e.g. \
                         `aws ec2 delete-volume --volume-id ID`; a host path: remove it on its \
                         node). To run Kafka on them again, see docs/day2.md.",
                        access.kubeconfig, access.context
                    );
                }
            }
            Err(e) => println!("  (listing them failed: {e})"),
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn execute(
    ctx: &Ctx,
    ws: &Workspace,
    lock: StateLock,
    state: &mut State,
    p: Plan,
    ask: bool,
    destroy: bool,
    parallelism: usize,
) -> Result<u8, OpsError> {
    print!("{}", render::plan_text(&p));
    if !p.has_changes() {
        return Ok(EXIT_OK);
    }
    if ask && !std::io::stdin().is_terminal() {
        let what = if destroy { "destroy" } else { "apply" };
        return Err(OpsError::Refused(format!(
            "{what} needs confirmation and there is no terminal to ask on: review the plan above and pass --auto-approve"
        )));
    }
    let missing = apply::missing_drivers(&p, &ws.drivers);
    if !missing.is_empty() {
        let list: Vec<String> = missing
            .iter()
            .map(|(k, ids)| {
                format!(
                    "  {k}: {}",
                    ids.iter()
                        .map(|i| i.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect();
        return Err(OpsError::Refused(format!(
            "nothing was changed: this build has no provider for these resource kinds:\n{}",
            list.join("\n")
        )));
    }
    if ask && !confirm(destroy)? {
        println!(
            "{} cancelled; nothing was changed.",
            if destroy { "Destroy" } else { "Apply" }
        );
        return Ok(EXIT_ERROR);
    }

    let (rx, signals) = watch_interrupts();
    let reporter: Arc<dyn Reporter> = if ctx.color && std::io::stderr().is_terminal() {
        Arc::new(BarReporter::new())
    } else {
        Arc::new(LineReporter::new(std::io::stderr()))
    };
    let cx = ApplyContext {
        graph: &ws.graph,
        drivers: &ws.drivers,
        reporter,
        parallelism,
        interrupt: rx,
    };
    let backend = &ws.backend;
    let mut sink = |s: &State| backend.persist(s).map_err(|e| e.to_string());
    let report = apply::apply(&p, cx, state, &mut sink).await;
    signals.abort();
    print!("{}", render::report_text(&report, destroy));
    if report.succeeded() && !destroy {
        let l = &ws.loaded;
        print!(
            "\n{}",
            crate::stack::notes::render(&l.profile_name, &l.profile, &l.config)
        );
    }
    lock.release()?;
    Ok(if report.succeeded() {
        EXIT_OK
    } else {
        EXIT_ERROR
    })
}

fn confirm(destroy: bool) -> Result<bool, OpsError> {
    let what = if destroy { "destroy" } else { "apply" };
    print!(
        "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to {what}.\n\n  Enter a value: "
    );
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|source| OpsError::Io {
            path: "<stdin>".into(),
            op: "reading",
            source,
        })?;
    Ok(line.trim() == "yes")
}
