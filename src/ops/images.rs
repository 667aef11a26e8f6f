//! `alpaka images` (issue 25): every image and chart the profile deploys, from the graph the
//! plan is built from (`stack::build`, then `stack::images::inventory`), and, with
//! `--copy-to`, a crane/helm script that fills a mirror (printed, never run).
//!
//! A chart's images are what the pinned chart renders with alpaka's values (`helm template`,
//! [`render`]), so the list is exact at the pin; where a chart cannot be rendered (no helm, no
//! way to the repository, `--no-render`) they come from alpaka's recorded list, and the output
//! says so for that chart.

use std::sync::Arc;

use serde_json::json;

use super::{Ctx, EXIT_OK, OpsError};
use crate::config;
use crate::engine::{Node, Value};
use crate::model::profile::Mirror;
use crate::providers::helm::HelmDriver;
use crate::stack::images::{self as inventory, Rendered};
use crate::stack::{self, mirror};

/// Where `helm template` fetches each chart from, in the order tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartsFrom {
    /// The chart's own repository (the pin).
    Upstream,
    /// The profile's `mirror.charts`.
    Mirror,
}

pub async fn images(
    ctx: &Ctx,
    json_out: bool,
    copy_to: Option<&str>,
    render_charts: bool,
) -> Result<u8, OpsError> {
    let loaded = config::load(&ctx.root, &ctx.profile).map_err(OpsError::Invalid)?;
    // The sources: the graph without the mirror pass; the mirror column is the same mapping
    // that pass applies.
    let mut plain = loaded.profile.clone();
    let target = match copy_to {
        Some(r) => {
            if let Some(why) = mirror::registry_problem(r) {
                return Err(OpsError::Refused(format!(
                    "--copy-to {r:?}: expected {why}"
                )));
            }
            Some(Mirror {
                registry: r.to_owned(),
                charts: plain
                    .mirror
                    .as_ref()
                    .map_or_else(|| format!("oci://{r}/charts"), |m| m.charts.clone()),
                image_pull_secret: None,
            })
        }
        None => plain.mirror.clone(),
    };
    let profile_mirror = plain.mirror.take();
    let nodes =
        stack::build(&loaded.profile_name, &plain, &loaded.config).map_err(OpsError::Stack)?;
    // Filling a mirror reads the charts where they are published; listing for a profile with a
    // mirror reads them where its apply will (an offline machine reaches only the mirror).
    let order: &[ChartsFrom] = match (copy_to, &profile_mirror) {
        (None, Some(_)) => &[ChartsFrom::Mirror, ChartsFrom::Upstream],
        (Some(_), Some(_)) => &[ChartsFrom::Upstream, ChartsFrom::Mirror],
        (_, None) => &[ChartsFrom::Upstream],
    };
    let rendered = if render_charts {
        eprintln!(
            "Reading each chart's images from `helm template` of its pin (--no-render skips this)…"
        );
        render(&nodes, profile_mirror.as_ref(), order).await
    } else {
        Rendered::new()
    };
    let inv = inventory::inventory(target.as_ref(), &loaded.config, &nodes, &rendered);
    if copy_to.is_some() {
        print!("{}", copy_script(target.as_ref(), &inv));
        return Ok(EXIT_OK);
    }
    if json_out {
        println!(
            "{}",
            json!({"profile": loaded.profile_name, "mirror": target, "images": inv.images,
                   "charts": inv.charts, "outside_the_mirror": inv.outside})
        );
        return Ok(EXIT_OK);
    }
    let inventory::Inventory {
        images,
        charts,
        outside,
    } = inv;
    println!("Images the profile `{}` deploys:", loaded.profile_name);
    for i in &images {
        let tag = if i.tag_known {
            ""
        } else {
            " (tag: the chart's default at its pin, unknown: its chart was not rendered)"
        };
        let to = i
            .mirror
            .as_deref()
            .map(|m| format!("  ->  {m}"))
            .unwrap_or_default();
        let when = if i.when.is_empty() {
            String::new()
        } else {
            format!(", when {}", i.when)
        };
        println!("  {}{tag}{to}    [{}{when}]", i.source, i.by);
    }
    println!("Charts:");
    for c in &charts {
        let from = c
            .repo
            .as_deref()
            .map(|r| format!(" from {r}"))
            .unwrap_or_default();
        println!(
            "  {} {} ({}{from}); images from {}",
            c.release, c.version, c.chart, c.images_from
        );
    }
    if !outside.is_empty() {
        println!("Pulled outside the mirror (the cluster layer):");
        for o in &outside {
            println!("  {}    [{}: {}]", o.image, o.by, o.pulled_by);
        }
    }
    Ok(EXIT_OK)
}

/// `helm template` of every chart in `nodes` (the graph without the mirror pass: its values
/// name the images as published), fetched from the first source in `order` that works; a
/// chart none renders carries why (each source's first error line). Charts render
/// concurrently.
pub async fn render(nodes: &[Node], m: Option<&Mirror>, order: &[ChartsFrom]) -> Rendered {
    let helm = Arc::new(HelmDriver::default().with_mirror_charts(m.map(|m| m.charts.clone())));
    let mut tasks = tokio::task::JoinSet::new();
    for n in nodes.iter().filter(|n| n.kind == "helm.release") {
        let Some(release) = n.desired.get("release").and_then(Value::as_str) else {
            continue;
        };
        let version = n.desired.get("version").and_then(Value::as_str);
        let Some(pin) = mirror::pin_of(release, version) else {
            continue;
        };
        let tries: Vec<(ChartsFrom, Value)> = order
            .iter()
            .filter_map(|from| match from {
                ChartsFrom::Upstream => Some((*from, n.desired.clone())),
                ChartsFrom::Mirror => m.map(|m| {
                    let mut d = n.desired.clone();
                    if let Value::Map(map) = &mut d {
                        mirror::from_mirror(m, pin, map);
                    }
                    (*from, d)
                }),
            })
            .collect();
        let (helm, release) = (helm.clone(), release.to_owned());
        tasks.spawn(async move {
            let mut why = Vec::new();
            for (from, desired) in tries {
                match helm.template(&desired).await {
                    Ok(docs) => return (release, Ok(inventory::found_in_all(&docs))),
                    Err(e) => why.push(format!(
                        "{} {}",
                        match from {
                            ChartsFrom::Upstream => "from its repository:",
                            ChartsFrom::Mirror => "from the mirror:",
                        },
                        e.message
                    )),
                }
            }
            (release, Err(why.join("; ")))
        });
    }
    let mut rendered = Rendered::new();
    while let Some(done) = tasks.join_next().await {
        if let Ok((release, r)) = done {
            rendered.insert(release, r);
        }
    }
    rendered
}

/// A shell script that copies every image (crane) and chart (helm pull/push) to the mirror.
fn copy_script(m: Option<&Mirror>, inv: &inventory::Inventory) -> String {
    let (images, charts) = (&inv.images, &inv.charts);
    let mut s = String::from(
        "#!/bin/sh\n# Fill a mirror for alpaka (printed by `alpaka images --copy-to`; review, then run).\n# Needs crane (go-containerregistry) logged in to both registries, and helm.\nset -eu\n",
    );
    for o in &inv.outside {
        s.push_str(&format!(
            "# not through the mirror: {} ({}: {})\n",
            o.image, o.by, o.pulled_by
        ));
    }
    for i in images {
        match &i.mirror {
            Some(dst) if i.tag_known => s.push_str(&format!("crane copy '{}' '{dst}'\n", i.source)),
            Some(dst) => s.push_str(&format!(
                "# {} -> {dst}: its chart could not be rendered, so the tag is unknown; run `alpaka images --copy-to` where helm reaches the chart repository\n",
                i.source
            )),
            None => {}
        }
    }
    if let Some(m) = m {
        s.push_str("tmp=$(mktemp -d)\n");
        for c in charts {
            let pull = match stack::mirror::pin_of(&c.release, Some(&c.version)) {
                Some(pin) if pin.repo.is_empty() => format!(
                    "helm pull '{}' --version '{}' -d \"$tmp\"",
                    pin.chart, pin.version
                ),
                Some(pin) => format!(
                    "helm pull '{}' --repo '{}' --version '{}' -d \"$tmp\"",
                    pin.chart, pin.repo, pin.version
                ),
                None => continue,
            };
            s.push_str(&pull);
            s.push('\n');
            let name = c.chart.rsplit('/').next().unwrap_or(&c.chart);
            if m.charts.starts_with("oci://") {
                s.push_str(&format!(
                    "helm push \"$tmp/{name}-{}.tgz\" '{}'\n",
                    c.version,
                    m.charts.trim_end_matches('/')
                ));
            } else {
                s.push_str(&format!(
                    "# upload \"$tmp/{name}-{}.tgz\" to {} and re-run `helm repo index` there\n",
                    c.version, m.charts
                ));
            }
        }
    }
    s
}
