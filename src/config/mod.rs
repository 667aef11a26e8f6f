//! Loading a workspace: profile + stack config → validated, merged, typed model.
//!
//! Pipeline: parse each YAML file into a located tree → validate it against the JSON schema
//! generated from the model (all errors at once) → merge defaults ← config ← profile
//! `overrides` → convert to the typed structs → semantic checks. Every finding is a located
//! [`Diagnostic`]; nothing here panics on any input.

pub mod connect_workers;
pub mod exposure;
pub mod kafka_auth;
pub mod merge;
pub mod schema;
pub mod semantic;
mod semantic_eks;
pub mod yaml;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::model::{Profile, StackConfig};
use schema::{DocPath, Validator};
use yaml::{Node, Origin};

/// Profile used when none is given.
pub const DEFAULT_PROFILE: &str = "minikube";
/// Directory of profiles under the workspace root.
pub const PROFILES_DIR: &str = "profiles";
/// Directory of stack configs under the workspace root.
pub const CONFIGS_DIR: &str = "configs";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaKind {
    Profile,
    Config,
}

/// A loaded, valid workspace selection.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    pub profile_name: String,
    pub profile_path: PathBuf,
    pub config_path: PathBuf,
    pub profile: Profile,
    /// The stack config with defaults and the profile's overrides applied.
    pub config: StackConfig,
    pub warnings: Vec<Diagnostic>,
}

/// The JSON schema (draft 2020-12) of profiles or stack configs, for editors and docs.
pub fn json_schema(which: SchemaKind) -> serde_json::Value {
    match which {
        SchemaKind::Profile => schemars::schema_for!(Profile).to_value(),
        SchemaKind::Config => schemars::schema_for!(StackConfig).to_value(),
    }
}

/// Names of the profiles in `root/profiles`, sorted.
pub fn available_profiles(root: &Path) -> Vec<String> {
    yaml_names(&root.join(PROFILES_DIR))
}

/// Names of the stack configs in `root/configs`, sorted.
pub fn available_configs(root: &Path) -> Vec<String> {
    yaml_names(&root.join(CONFIGS_DIR))
}

fn yaml_names(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .filter_map(|e| {
            let p = e.path();
            let ext = p.extension()?.to_str()?;
            if ext == "yaml" || ext == "yml" {
                p.file_stem()?.to_str().map(str::to_owned)
            } else {
                None
            }
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// A name (`dev`) under `dir`, or a path (`x/dev.yaml`) relative to the root.
fn resolve(root: &Path, dir: &str, name: &str) -> (PathBuf, bool) {
    let is_path = name.contains('/')
        || name.contains('\\')
        || name.ends_with(".yaml")
        || name.ends_with(".yml");
    if is_path {
        let p = root.join(name);
        let found = p.is_file();
        return (p, found);
    }
    for ext in ["yaml", "yml"] {
        let p = root.join(dir).join(format!("{name}.{ext}"));
        if p.is_file() {
            return (p, true);
        }
    }
    (root.join(dir).join(format!("{name}.yaml")), false)
}

fn shown(root: &Path, path: &Path) -> Arc<Path> {
    Arc::from(path.strip_prefix(root).unwrap_or(path))
}

fn read_tree(path: &Path, file: &Arc<Path>) -> Result<Node, Box<Diagnostic>> {
    let fail = |message: String| Box::new(Diagnostic::error(file.to_path_buf(), 1, 1, "", message));
    let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read file: {e}")))?;
    if bytes.len() > yaml::MAX_FILE_BYTES {
        return Err(fail(format!(
            "file is larger than {} bytes",
            yaml::MAX_FILE_BYTES
        )));
    }
    let text = String::from_utf8(bytes).map_err(|_| fail("file is not valid UTF-8".into()))?;
    yaml::parse(file, &text)
}

fn not_found(
    file: &Arc<Path>,
    at: Option<&Node>,
    what: &str,
    name: &str,
    available: &[String],
) -> Diagnostic {
    let (f, line, column) = match at {
        Some(n) => (n.origin.file.to_path_buf(), n.origin.line, n.origin.column),
        None => (file.to_path_buf(), 1, 1),
    };
    let path = if at.is_some() { "config" } else { "" };
    let mut d = Diagnostic::error(
        f,
        line,
        column,
        path,
        format!("{what} `{name}` not found ({})", file.display()),
    );
    d = if available.is_empty() {
        d.with_expected(format!("a {what} file; none exist yet"))
    } else {
        d.with_expected(format!("one of {}", available.join(", ")))
    };
    if let Some(best) = crate::suggest::closest(name, available.iter().map(String::as_str)) {
        d = d.with_hint(format!("did you mean `{best}`?"));
    }
    d
}

fn to_typed<T: serde::de::DeserializeOwned>(tree: &Node) -> Result<T, Box<Diagnostic>> {
    let mut t = tree.clone();
    merge::drop_nulls(&mut t);
    serde_json::from_value(t.to_json()).map_err(|e| {
        let o = &tree.origin;
        Box::new(Diagnostic::error(
            o.file.to_path_buf(),
            o.line,
            o.column,
            "",
            format!("invalid: {e}"),
        ))
    })
}

/// The environment variables connector configs read with `{fromEnv: NAME}`, in order.
pub fn env_names(cfg: &StackConfig) -> Vec<String> {
    let blocks = cfg.kafka_connect.connects.iter().flat_map(|c| {
        std::iter::once(&c.values).chain(c.connector_groups.iter().flat_map(|g| {
            [&g.values, &g.common]
                .into_iter()
                .chain(g.connectors.iter().map(|x| &x.config))
        }))
    });
    crate::stack::connectors::env_refs(blocks)
}

/// Give every `fromEnv` variable that is not set an empty value, for checks that look at the
/// files, not the environment (`validate`, `import`'s check); returns their names.
pub fn fill_missing_env(cfg: &mut StackConfig) -> Vec<String> {
    let missing: Vec<String> = env_names(cfg)
        .into_iter()
        .filter(|n| cfg.env.get(n).is_none())
        .collect();
    for n in &missing {
        cfg.env.0.insert(n.clone(), String::new());
    }
    missing
}

/// Their values now; the renderer says which are missing, with the connector that needs them.
fn env_snapshot(cfg: &StackConfig) -> crate::model::stack::EnvSnapshot {
    crate::model::stack::EnvSnapshot(
        env_names(cfg)
            .into_iter()
            .filter_map(|name| std::env::var(&name).ok().map(|v| (name, v)))
            .collect(),
    )
}

/// Load profile `profile` (a name under `profiles/`, or a path) and its stack config from the
/// workspace `root`. All problems are reported together.
pub fn load(root: &Path, profile: &str) -> Result<Loaded, Diagnostics> {
    let mut diags = Diagnostics::new();
    let (profile_path, found) = resolve(root, PROFILES_DIR, profile);
    let pfile = shown(root, &profile_path);
    if !found || profile.is_empty() {
        let available = available_profiles(root);
        let mut d = not_found(&pfile, None, "profile", profile, &available);
        if !root.join(PROFILES_DIR).is_dir() {
            // An installed binary run in an empty directory: the shipped files are inside it.
            d = d.with_hint(format!(
                "no {PROFILES_DIR}/ in {}: `alpaka init` writes the shipped profiles and configs there",
                root.display()
            ));
        }
        return Err(d.into());
    }
    let ptree = read_tree(&profile_path, &pfile).map_err(|d| Diagnostics::from(*d))?;

    let profile_schema = json_schema(SchemaKind::Profile);
    diags.extend(Validator::new(&profile_schema).validate_document(&ptree));
    let overrides = ptree.get("overrides").filter(|n| semantic::is_map(n));
    if let Some(o) = overrides {
        diags.extend(semantic::duplicates(o, &DocPath::root().key("overrides")));
    }

    let config_node = ptree.get("config").filter(|n| n.as_str().is_some());
    let config_name = config_node.and_then(Node::as_str).unwrap_or("default");
    let (config_path, config_found) = resolve(root, CONFIGS_DIR, config_name);
    let cfile = shown(root, &config_path);
    let mut ctree = None;
    if config_found {
        match read_tree(&config_path, &cfile) {
            Ok(tree) => {
                let config_schema = json_schema(SchemaKind::Config);
                diags.extend(Validator::new(&config_schema).validate_document(&tree));
                diags.extend(semantic::duplicates(&tree, &DocPath::root()));
                ctree = Some(tree);
            }
            Err(d) => diags.push(*d),
        }
    } else {
        let available = available_configs(root);
        diags.push(not_found(
            &cfile,
            config_node.or(Some(&ptree)),
            "config",
            config_name,
            &available,
        ));
    }
    if diags.has_errors() {
        diags.sort();
        return Err(diags);
    }
    let Some(ctree) = ctree else {
        // Unreachable in practice: a missing config is an error above.
        diags.push(Diagnostic::error(
            cfile.to_path_buf(),
            1,
            1,
            "",
            "config could not be loaded",
        ));
        return Err(diags);
    };

    let defaults_origin = Origin {
        file: Arc::from(Path::new(semantic::DEFAULTS_FILE)),
        line: 0,
        column: 0,
    };
    let defaults = serde_json::to_value(StackConfig::default()).unwrap_or(serde_json::Value::Null);
    let mut merged = merge::merge(merge::from_json(&defaults, &defaults_origin), ctree);
    if let Some(o) = overrides {
        merged = merge::merge(merged, o.clone());
    }
    merge::drop_nulls(&mut merged);

    let typed_profile: Result<Profile, _> = to_typed(&ptree);
    let typed_config: Result<StackConfig, _> = to_typed(&merged);
    let (typed_profile, typed_config) = match (typed_profile, typed_config) {
        (Ok(p), Ok(c)) => (p, c),
        (p, c) => {
            diags.extend(p.err().map(|d| *d));
            diags.extend(c.err().map(|d| *d));
            diags.sort();
            return Err(diags);
        }
    };

    let mut typed_config = typed_config;
    typed_config.env = env_snapshot(&typed_config);
    diags.extend(connect_workers::checks(
        root,
        &typed_profile,
        &mut typed_config,
        &merged,
    ));

    let profile_name = Path::new(profile)
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|_| {
            profile.contains('/') || profile.ends_with(".yaml") || profile.ends_with(".yml")
        })
        .unwrap_or(profile)
        .to_owned();
    diags.extend(semantic::profile_checks(&typed_profile, &ptree));
    diags.extend(semantic::stack_checks(
        &typed_profile,
        &profile_name,
        &typed_config,
        &merged,
    ));
    diags.extend(semantic::broker_config(&typed_config, &merged));
    diags.extend(kafka_auth::checks(&typed_config, &merged));
    diags.extend(semantic::chart_values(
        &typed_profile,
        &typed_config,
        &merged,
    ));
    diags.extend(exposure::checks(&typed_profile, &typed_config, &merged));
    diags.extend(semantic::network_policy_weakenings(
        &typed_profile,
        &typed_config,
        &merged,
    ));
    diags.sort();
    if diags.has_errors() {
        return Err(diags);
    }
    Ok(Loaded {
        profile_name,
        profile_path,
        config_path,
        profile: typed_profile,
        config: typed_config,
        warnings: diags
            .0
            .into_iter()
            .filter(|d| d.severity == Severity::Warning)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_through_schema() {
        // The defaults layer must itself be valid against the schema (no stray formats).
        let schema = json_schema(SchemaKind::Config);
        let origin = Origin {
            file: Arc::from(Path::new("d")),
            line: 1,
            column: 1,
        };
        let v = serde_json::to_value(StackConfig::default()).expect("serializes");
        let ds = Validator::new(&schema).validate_document(&merge::from_json(&v, &origin));
        assert!(ds.is_empty(), "{ds:?}");
        let back: StackConfig = serde_json::from_value(v).expect("deserializes");
        assert_eq!(back, StackConfig::default());
    }

    #[test]
    fn profile_defaults_are_valid() {
        let p: Profile =
            serde_json::from_value(serde_json::json!({"distribution": "eks", "eks": {}}))
                .expect("ok");
        assert_eq!(p.namespace.as_str(), "alpaka");
        assert_eq!(p.config, "default");
        let eks = p.eks.expect("eks block");
        assert_eq!(eks.vpc.effective_cidr().as_str(), "10.0.0.0/16");
        assert_eq!(eks.wait_timeout.as_std().as_secs(), 1800);
    }
}
