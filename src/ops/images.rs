//! `alpaka images` (issue 25): every image and chart the profile deploys, from the graph the
//! plan is built from (`stack::build`, then `stack::mirror::inventory`), and, with
//! `--copy-to`, a crane/helm script that fills a mirror (printed, never run).

use serde_json::json;

use super::{Ctx, EXIT_OK, OpsError};
use crate::config;
use crate::model::profile::Mirror;
use crate::stack::{self, mirror};

pub fn images(ctx: &Ctx, json_out: bool, copy_to: Option<&str>) -> Result<u8, OpsError> {
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
    plain.mirror = None;
    let nodes =
        stack::build(&loaded.profile_name, &plain, &loaded.config).map_err(OpsError::Stack)?;
    let (images, charts) = mirror::inventory(target.as_ref(), &loaded.config, &nodes);
    if copy_to.is_some() {
        print!("{}", copy_script(target.as_ref(), &images, &charts));
        return Ok(EXIT_OK);
    }
    if json_out {
        println!(
            "{}",
            json!({"profile": loaded.profile_name, "mirror": target, "images": images, "charts": charts})
        );
        return Ok(EXIT_OK);
    }
    println!("Images the profile `{}` deploys:", loaded.profile_name);
    for i in &images {
        let tag = if i.tag_known {
            ""
        } else {
            " (tag: the chart's default at its pin, not recorded by alpaka)"
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
        println!("  {} {} ({}{from})", c.release, c.version, c.chart);
    }
    Ok(EXIT_OK)
}

/// A shell script that copies every image (crane) and chart (helm pull/push) to the mirror.
fn copy_script(
    m: Option<&Mirror>,
    images: &[mirror::ImageUse],
    charts: &[mirror::ChartUse],
) -> String {
    let mut s = String::from(
        "#!/bin/sh\n# Fill a mirror for alpaka (printed by `alpaka images --copy-to`; review, then run).\n# Needs crane (go-containerregistry) logged in to both registries, and helm.\nset -eu\n",
    );
    for i in images {
        match &i.mirror {
            Some(dst) if i.tag_known => s.push_str(&format!("crane copy '{}' '{dst}'\n", i.source)),
            Some(dst) => s.push_str(&format!(
                "# {} -> {dst}: the chart's default tag at its pin is not recorded; find it with `helm template` and copy that tag\n",
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
