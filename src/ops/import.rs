//! `alpaka import <values.yaml> --name NAME`: the original chart's values → `configs/NAME.yaml`
//! and `profiles/NAME.yaml`, checked with the loader before anything is written, never over an
//! existing file.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use super::{Ctx, EXIT_OK, OpsError};
use crate::config::{self, CONFIGS_DIR, PROFILES_DIR};
use crate::diag::Diagnostics;
use crate::import::{self, Imported};

const HEADER: &str = "# Written by `alpaka import` from the original alpaka chart's values";

pub fn import(ctx: &Ctx, values: &Path, name: &str) -> Result<u8, OpsError> {
    if !valid_name(name) {
        return Err(OpsError::Refused(format!(
            "`{name}` cannot name a profile and a config: use letters, digits, `-` and `_`"
        )));
    }
    let shown: Arc<Path> = Arc::from(values);
    let bytes = std::fs::read(values).map_err(|source| OpsError::Io {
        path: values.to_path_buf(),
        op: "reading",
        source,
    })?;
    let text = String::from_utf8(bytes)
        .map_err(|_| OpsError::Refused(format!("{}: not UTF-8 text", values.display())))?;
    // As helm reads values (a repeated key keeps its last value, reported); alpaka's own files
    // stay strict.
    let (tree, duplicates) = config::yaml::parse_lenient(&shown, &text)
        .map_err(|d| OpsError::Invalid(Diagnostics::from(*d)))?;
    let imported = import::convert_read(&tree, &duplicates, name)
        .map_err(|d| OpsError::Invalid(Diagnostics::from(*d)))?;

    let config_path = ctx.root.join(CONFIGS_DIR).join(format!("{name}.yaml"));
    let profile_path = ctx.root.join(PROFILES_DIR).join(format!("{name}.yaml"));
    for p in [&config_path, &profile_path] {
        if p.exists() {
            return Err(OpsError::Refused(format!(
                "{} exists; alpaka import never overwrites a file. Choose another --name, or move the file away",
                p.display()
            )));
        }
    }
    let (config_text, profile_text) = render(&imported, values)?;

    // Load the result in a scratch workspace first: nothing is written unless it validates.
    let suffix =
        crate::random::string(b"abcdefghijklmnopqrstuvwxyz0123456789", 12).map_err(|source| {
            OpsError::Io {
                path: std::env::temp_dir(),
                op: "reading randomness for a scratch directory in",
                source,
            }
        })?;
    let scratch = Scratch(std::env::temp_dir().join(format!("alpaka-import-{suffix}")));
    write_new(
        &scratch.0.join(CONFIGS_DIR).join(format!("{name}.yaml")),
        &config_text,
    )?;
    write_new(
        &scratch.0.join(PROFILES_DIR).join(format!("{name}.yaml")),
        &profile_text,
    )?;
    let invalid = |what: String| {
        OpsError::Refused(format!(
            "the imported config does not validate (nothing was written):\n{what}\nThis is a bug in alpaka import; please report it with the values file's shape."
        ))
    };
    let mut loaded = config::load(&scratch.0, name).map_err(|d| invalid(d.to_string()))?;
    drop(scratch);
    // What `alpaka validate` checks too: the resource graph builds (the variables the import
    // asks for stand in empty, as validate does).
    config::fill_missing_env(&mut loaded.config);
    let nodes = crate::stack::build(&loaded.profile_name, &loaded.profile, &loaded.config)
        .map_err(|e| invalid(e.to_string()))?;
    crate::engine::Graph::new(nodes).map_err(|e| invalid(e.to_string()))?;

    write_new(&config_path, &config_text)?;
    if let Err(e) = write_new(&profile_path, &profile_text) {
        // Leave nothing half done.
        let _ = std::fs::remove_file(&config_path);
        return Err(e);
    }
    for line in &imported.report {
        println!("{line}");
    }
    println!(
        "Wrote {} and {}.",
        config_path.display(),
        profile_path.display()
    );
    if !imported.env.is_empty() {
        println!(
            "Plaintext secrets became environment references; export these before plan/apply:"
        );
        for e in &imported.env {
            println!("  {}    # {}", e.name, e.key);
        }
    }
    println!("Next: alpaka plan -p {name}");
    Ok(EXIT_OK)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn render(i: &Imported, source: &Path) -> Result<(String, String), OpsError> {
    let yaml = |doc: &import::Doc| {
        serde_saphyr::to_string(doc).map_err(|e| OpsError::Refused(format!("writing YAML: {e}")))
    };
    let from = source
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((
        format!("{HEADER} ({from}).\n{}", yaml(&i.config)?),
        format!("{HEADER} ({from}).\n{}", yaml(&i.profile)?),
    ))
}

/// Create `path` (and its directory); refuse if it exists.
fn write_new(path: &Path, text: &str) -> Result<(), OpsError> {
    let io = |op: &'static str| {
        move |source| OpsError::Io {
            path: path.to_path_buf(),
            op,
            source,
        }
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io("creating the directory of"))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io("creating"))?;
    f.write_all(text.as_bytes()).map_err(io("writing"))
}

/// A scratch directory removed when dropped.
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
