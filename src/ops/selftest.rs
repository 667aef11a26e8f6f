//! `alpaka test`: finds the deployed cluster through the state (the explicit context and
//! kubeconfig the cluster node recorded), runs the planned checks one by one, prints a line per
//! check as it ends, then removes the run's resources.

use std::io::IsTerminal;
use std::time::Duration;

use serde_json::json;

use super::{Ctx, EXIT_ERROR, EXIT_OK, OpsError, open};
use crate::cli::TestArgs;
use crate::engine::ResourceId;
use crate::providers::k8s::Access;
use crate::providers::k8s::probe::KubeProbe;
use crate::random;
use crate::selftest::plan::{self, Check, Planned};
use crate::selftest::runner::{Options, Runner, Undo};
use crate::selftest::{CheckResult, ObjectStore, Outcome};
use crate::stack::testkit::{RUN_LABEL, RunId, TestKit};
use crate::suggest::closest;

const CLUSTER_KINDS: &[&str] = &[
    "minikube.cluster",
    "k3d.cluster",
    "k8s.existing-cluster",
    "eks.cluster",
];

/// `--check` names: each must select something (a name or a dotted prefix).
fn select(planned: Vec<Planned>, wanted: &[String]) -> Result<Vec<Planned>, OpsError> {
    if wanted.is_empty() {
        return Ok(planned);
    }
    let matches = |p: &Planned, w: &str| p.name == w || p.name.starts_with(&format!("{w}."));
    for w in wanted {
        if !planned.iter().any(|p| matches(p, w)) {
            let names: Vec<&str> = planned.iter().map(|p| p.name.as_str()).collect();
            let hint = closest(w, names.iter().copied())
                .map(|s| format!(" Did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(OpsError::Refused(format!(
                "no check `{w}`.{hint} Checks: {}",
                names.join(", ")
            )));
        }
    }
    Ok(planned
        .into_iter()
        .filter(|p| wanted.iter().any(|w| matches(p, w)))
        .collect())
}

pub async fn selftest(ctx: &Ctx, args: &TestArgs) -> Result<u8, OpsError> {
    let ws = open(ctx)?;
    let profile = &ws.loaded.profile;
    let cfg = &ws.loaded.config;
    let planned = select(plan::plan(profile, cfg), &args.checks)?;
    let width = planned.iter().map(|p| p.name.len()).max().unwrap_or(0);

    if args.list {
        for p in &planned {
            let what = match &p.check {
                Check::Skip(reason) => format!("skipped: {reason}"),
                c => format!("runs (timeout {}s)", c.default_timeout().as_secs()),
            };
            println!("{:<width$}  {what}", p.name);
        }
        return Ok(EXIT_OK);
    }

    let name = &ws.loaded.profile_name;
    let state = ws.backend.load()?.ok_or_else(|| {
        OpsError::Refused(format!(
            "profile `{name}` has no state: nothing is deployed to test. Run `alpaka apply -p {name}` first."
        ))
    })?;
    let cluster_id = ws
        .graph
        .nodes()
        .iter()
        .find(|n| CLUSTER_KINDS.contains(&n.kind.as_str()))
        .map(|n| n.id.clone())
        .ok_or_else(|| OpsError::Refused("the profile makes no cluster".into()))?;
    let access = state
        .resources
        .get(&ResourceId::new(cluster_id.to_string()))
        .and_then(|r| Access::from_map(&r.outputs).ok())
        .ok_or_else(|| {
            OpsError::Refused(format!(
                "the state of `{name}` records no cluster access ({cluster_id}): run `alpaka apply -p {name}`"
            ))
        })?;
    let ns = profile.namespace.as_str();
    let cluster = KubeProbe::connect(&access, ns)
        .await
        .map_err(|e| OpsError::Refused(format!("connecting to the cluster: {e}")))?;

    let secret = |len| {
        random::string(RunId::ALPHABET, len)
            .map_err(|e| OpsError::Refused(format!("reading /dev/urandom: {e}")))
    };
    let run = RunId::new(&secret(RunId::LEN)?).map_err(OpsError::Refused)?;
    let passwords = (secret(24)?, secret(24)?);

    // The S3 check's region: the config's, the EKS profile's, else the AWS environment's.
    let env_region = std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .ok();
    let planned: Vec<Planned> = planned
        .into_iter()
        .map(|mut p| {
            if let Check::S3 { region, .. } = &mut p.check
                && region.is_none()
            {
                region.clone_from(&env_region);
            }
            p
        })
        .collect();
    let mut store = None;
    for p in &planned {
        if let Check::S3 {
            bucket,
            region: Some(region),
            ..
        } = &p.check
        {
            store = Some(
                crate::providers::aws::s3::RunPrefixStore::new(bucket, region, &run)
                    .await
                    .map_err(OpsError::Refused)?,
            );
        }
    }
    let kit = TestKit {
        run: &run,
        ns,
        cfg,
        mirror: profile.mirror.as_ref(),
    };
    let runner = Runner::new(
        &cluster,
        store.as_ref().map(|s| s as &dyn ObjectStore),
        kit,
        Options {
            timeout: args.timeout.map(Duration::from_secs),
            ..Options::default()
        },
    );

    if !args.json {
        println!(
            "alpaka test: profile `{name}`, run {} (namespace {ns}, context {})\n",
            run.as_str(),
            access.context
        );
    }
    // First Ctrl-C: stop checking, clean up. Second: leave at once (the printed label finds
    // what is left).
    let (tx, mut interrupt) = tokio::sync::watch::channel(false);
    let remove = format!(
        "kubectl --context {} -n {ns} delete jobs,deployments,services,secrets,configmaps,roles,rolebindings,kafkaconnectors,kafkatopics -l {RUN_LABEL}={}",
        access.context,
        run.as_str()
    );
    let leave =
        format!("\nsecond interrupt: leaving the test resources; remove them with\n  {remove}");
    let signals = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\ninterrupted: removing the test resources (Ctrl-C again to leave them)");
            let _ = tx.send(true);
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("{leave}");
                std::process::exit(130);
            }
        }
    });
    let progress = std::io::stderr().is_terminal() && !args.json;
    let mut results: Vec<CheckResult> = Vec::new();
    tokio::select! {
        _ = runner.prepare(&planned, (&passwords.0, &passwords.1)) => {}
        _ = interrupt.changed() => {}
    }
    for p in &planned {
        if *interrupt.borrow() {
            break;
        }
        if progress && !matches!(p.check, Check::Skip(_)) {
            eprint!("  running {} …\r", p.name);
        }
        tokio::select! {
            r = runner.run_one(p) => {
                if progress {
                    eprint!("\x1b[2K");
                }
                if !args.json {
                    println!("{}", r.render(width));
                }
                results.push(r);
            }
            _ = interrupt.changed() => break,
        }
    }
    let interrupted = *interrupt.borrow();

    let kept = runner.pending_undo();
    let cleanup = if args.keep && !interrupted {
        None
    } else {
        Some(runner.cleanup().await)
    };
    signals.abort();

    let failed = results.iter().filter(|r| r.outcome.failed()).count();
    let passed = results.iter().filter(|r| r.outcome.passed()).count();
    let skipped = results.len() - failed - passed;
    let cleanup_problems = cleanup.as_ref().map(|c| c.1.clone()).unwrap_or_default();
    if args.json {
        let checks: Vec<_> = results
            .iter()
            .map(|r| {
                let (result, summary, evidence) = match &r.outcome {
                    Outcome::Pass(s) => ("pass", s.clone(), Vec::new()),
                    Outcome::Fail { summary, evidence } => {
                        ("fail", summary.clone(), evidence.clone())
                    }
                    Outcome::Skip(s) => ("skip", s.clone(), Vec::new()),
                };
                json!({"name": r.name, "result": result, "seconds": r.duration.as_secs_f64(),
                       "summary": summary, "evidence": evidence})
            })
            .collect();
        println!(
            "{}",
            json!({"run": run.as_str(), "profile": name, "checks": checks,
                   "passed": passed, "failed": failed, "skipped": skipped,
                   "interrupted": interrupted,
                   "cleanup": {"removed": cleanup.as_ref().map(|c| c.0), "problems": cleanup_problems}})
        );
    } else {
        println!();
        match &cleanup {
            Some((n, problems)) if problems.is_empty() => {
                println!("Removed the run's {n} test resources.")
            }
            Some((n, problems)) => {
                println!(
                    "Removed {n} test resources; {} could not be removed:",
                    problems.len()
                );
                for p in problems {
                    println!("  {p}");
                }
            }
            None => {
                println!("Kept the run's test resources. Remove them with:\n  {remove}");
                if kept.contains(&Undo::S3Prefix)
                    && let Some(s) = &store
                {
                    println!("  and the objects under {}", s.location());
                }
            }
        }
        println!("{passed} passed, {failed} failed, {skipped} skipped.");
    }
    Ok(
        if failed > 0 || interrupted || !cleanup_problems.is_empty() {
            EXIT_ERROR
        } else {
            EXIT_OK
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str) -> Planned {
        Planned {
            name: name.into(),
            check: Check::Roundtrip,
        }
    }

    #[test]
    fn check_names_select_by_name_or_prefix_and_typos_are_named() {
        let all = vec![
            p("http.grafana"),
            p("http.prometheus"),
            p("kafka.roundtrip"),
        ];
        let names = |v: Vec<Planned>| v.into_iter().map(|p| p.name).collect::<Vec<_>>();
        assert_eq!(
            names(select(all.clone(), &["http".into()]).unwrap()),
            ["http.grafana", "http.prometheus"]
        );
        assert_eq!(
            names(select(all.clone(), &["kafka.roundtrip".into()]).unwrap()),
            ["kafka.roundtrip"]
        );
        let Err(OpsError::Refused(e)) = select(all, &["http.grafna".into()]) else {
            panic!()
        };
        assert!(e.contains("Did you mean `http.grafana`?"), "{e}");
    }
}
