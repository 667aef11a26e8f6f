//! Read-only operations: validate, graph, state list/show, schema; and force-unlock.

use serde_json::json;

use super::{Ctx, EXIT_ERROR, EXIT_OK, OpsError, open};
use crate::cli::SchemaWhich;
use crate::config::{self, SchemaKind};
use crate::engine::ResourceId;
use crate::state::Backend;
use crate::suggest::closest;

pub fn validate(ctx: &Ctx, json_out: bool) -> Result<u8, OpsError> {
    match super::open_with(ctx, super::Secrets::Optional) {
        Ok(ws) => {
            if json_out {
                println!(
                    "{}",
                    json!({"valid": true, "profile": ws.loaded.profile_name, "resources": ws.graph.nodes().len()})
                );
            } else {
                println!(
                    "Profile `{}` and config {} are valid: {} resources.",
                    ws.loaded.profile_name,
                    ws.loaded.config_path.display(),
                    ws.graph.nodes().len()
                );
            }
            Ok(EXIT_OK)
        }
        Err(OpsError::Invalid(d)) if json_out => {
            let items: Vec<_> = d
                .0
                .iter()
                .map(|x| {
                    json!({"severity": format!("{:?}", x.severity).to_lowercase(), "file": x.file, "line": x.line,
                           "column": x.column, "path": x.path, "message": x.message, "expected": x.expected, "hint": x.hint})
                })
                .collect();
            println!("{}", json!({"valid": false, "diagnostics": items}));
            Ok(EXIT_ERROR)
        }
        Err(e) => Err(e),
    }
}

pub fn notes(ctx: &Ctx) -> Result<u8, OpsError> {
    let ws = open(ctx)?;
    print!(
        "{}",
        crate::stack::notes::render(
            &ws.loaded.profile_name,
            &ws.loaded.profile,
            &ws.loaded.config
        )
    );
    Ok(EXIT_OK)
}

pub fn graph(ctx: &Ctx) -> Result<u8, OpsError> {
    let ws = open(ctx)?;
    print!("{}", ws.graph.to_dot());
    Ok(EXIT_OK)
}

/// The profile's state backend (its `state:` block; `.alpaka/` without one).
fn backend(ctx: &Ctx) -> Result<Box<dyn Backend>, OpsError> {
    let loaded = config::load(&ctx.root, &ctx.profile).map_err(OpsError::Invalid)?;
    super::state_backend::for_profile(&ctx.root, &loaded.profile_name, &loaded.profile)
}

pub fn state_list(ctx: &Ctx, json_out: bool) -> Result<u8, OpsError> {
    let b = backend(ctx)?;
    let Some(state) = b.load()? else {
        if json_out {
            println!(
                "{}",
                json!({"profile": ctx.profile, "serial": 0, "resources": []})
            );
        } else {
            eprintln!(
                "No state for profile `{}` ({}): nothing has been applied.",
                ctx.profile,
                b.describe()
            );
        }
        return Ok(EXIT_OK);
    };
    if json_out {
        let items: Vec<_> = state
            .resources
            .iter()
            .map(|(id, r)| json!({"id": id, "kind": r.kind}))
            .collect();
        println!(
            "{}",
            json!({"profile": state.profile, "serial": state.serial, "resources": items})
        );
    } else {
        for (id, r) in &state.resources {
            println!("{id}\t{}", r.kind);
        }
    }
    Ok(EXIT_OK)
}

pub fn state_show(ctx: &Ctx, id: &str, json_out: bool) -> Result<u8, OpsError> {
    let b = backend(ctx)?;
    let state = b
        .load()?
        .unwrap_or_else(|| crate::state::State::new(ctx.profile.clone()));
    let Some(r) = state.resources.get(&ResourceId::new(id)) else {
        let hint = closest(id, state.resources.keys().map(ResourceId::as_str))
            .map(|c| format!(" (did you mean `{c}`?)"))
            .unwrap_or_default();
        return Err(OpsError::Refused(format!(
            "`{id}` is not in the state of profile `{}`{hint}",
            ctx.profile
        )));
    };
    // Redacted: a sealed hash is still not for screens.
    let attrs = r.attrs.redact();
    let outputs = r.outputs.redact();
    if json_out {
        println!(
            "{}",
            json!({"id": id, "kind": r.kind, "deps": r.deps, "attrs": attrs, "outputs": outputs})
        );
    } else {
        println!("# {id} ({})", r.kind);
        if !r.deps.is_empty() {
            println!(
                "depends on: {}",
                r.deps
                    .iter()
                    .map(ResourceId::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        for (title, v) in [("attributes", &attrs), ("outputs", &outputs)] {
            if let Some(m) = v.as_map().filter(|m| !m.is_empty()) {
                println!("{title}:");
                for (k, x) in m {
                    println!("  {k} = {x}");
                }
            }
        }
    }
    Ok(EXIT_OK)
}

pub fn force_unlock(ctx: &Ctx, lock_id: &str) -> Result<u8, OpsError> {
    let info = backend(ctx)?.force_unlock(lock_id)?;
    println!("Removed the lock of profile `{}`: {info}", ctx.profile);
    Ok(EXIT_OK)
}

pub fn schema(which: SchemaWhich) -> Result<u8, OpsError> {
    let kind = match which {
        SchemaWhich::Profile => SchemaKind::Profile,
        SchemaWhich::Config => SchemaKind::Config,
    };
    let s = serde_json::to_string_pretty(&config::json_schema(kind))
        .map_err(|e| OpsError::Refused(format!("encoding the schema: {e}")))?;
    println!("{s}");
    Ok(EXIT_OK)
}
