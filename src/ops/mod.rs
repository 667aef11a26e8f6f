//! Operations behind the commands: each takes parsed arguments, does the work through the
//! config loader, the stack, the engine and the state backend, and returns an exit code.
//! The CLI (`cli.rs`, `main.rs`) only parses and calls these.

mod cost;
pub mod doctor;
mod doctor_mirror;
mod eks;
mod eks_access;
mod images;
mod import;
mod init;
mod inspect;
mod run;
mod selftest;
mod state_backend;

pub use doctor::doctor;
pub use eks::{eks_token, kubeconfig};
pub use images::images;
pub use import::import;
pub use init::init;
pub use inspect::{force_unlock, graph, notes, schema, state_list, state_show, validate};
pub use run::{apply, destroy, plan, watch_interrupts};
pub use selftest::selftest;
pub use state_backend::{InitBackend, MigrateTo, init_backend, migrate};

use std::fmt;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::config::{self, Loaded};
use crate::diag::Diagnostics;
use crate::engine::{Drivers, Graph, GraphError};
use crate::providers;
use crate::stack::{self, StackError};
use crate::state::{Backend, StateError};

/// Process exit codes (terraform's, for `--detailed-exitcode`).
pub const EXIT_OK: u8 = 0;
pub const EXIT_ERROR: u8 = 1;
pub const EXIT_CHANGES: u8 = 2;

/// Global settings every command gets.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub root: PathBuf,
    pub profile: String,
    /// Is stdout a terminal with colour allowed.
    pub color: bool,
}

impl Ctx {
    pub fn new(root: Option<PathBuf>, profile: Option<String>, no_color: bool) -> Ctx {
        let color =
            !no_color && std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal();
        console::set_colors_enabled(color);
        console::set_colors_enabled_stderr(color && std::io::stderr().is_terminal());
        Ctx {
            root: root.unwrap_or_else(|| PathBuf::from(".")),
            profile: profile.unwrap_or_else(|| config::DEFAULT_PROFILE.to_owned()),
            color,
        }
    }
}

/// An operation's failure, with the context a user needs to act on it.
#[derive(Debug)]
pub enum OpsError {
    /// Profile/config problems: every one of them, with locations.
    Invalid(Diagnostics),
    Graph(GraphError),
    Stack(StackError),
    State(StateError),
    Plan(crate::engine::plan::PlanError),
    Io {
        path: PathBuf,
        op: &'static str,
        source: std::io::Error,
    },
    /// The operation refused to go on; the text says why and what to do.
    Refused(String),
}

impl fmt::Display for OpsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpsError::Invalid(d) => write!(f, "{d}"),
            OpsError::Graph(e) => write!(f, "{e}"),
            OpsError::Stack(e) => write!(f, "{e}"),
            OpsError::State(e) => write!(f, "{e}"),
            OpsError::Plan(e) => write!(f, "{e}"),
            OpsError::Io { path, op, source } => write!(f, "{op} {}: {source}", path.display()),
            OpsError::Refused(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for OpsError {}

impl From<StateError> for OpsError {
    fn from(e: StateError) -> Self {
        OpsError::State(e)
    }
}

impl From<GraphError> for OpsError {
    fn from(e: GraphError) -> Self {
        OpsError::Graph(e)
    }
}

impl From<crate::engine::plan::PlanError> for OpsError {
    fn from(e: crate::engine::plan::PlanError) -> Self {
        OpsError::Plan(e)
    }
}

/// A loaded profile: its config, its resource graph, where its state lives, what can act on it.
pub struct Workspace {
    pub loaded: Loaded,
    pub graph: Graph,
    pub backend: Box<dyn Backend>,
    pub drivers: Drivers,
    /// This run as the drivers see it (helm marks its operations with it).
    pub run: providers::Run,
    /// Hash of the input files, so a saved plan can tell they changed.
    pub inputs_hash: String,
}

pub fn open(ctx: &Ctx) -> Result<Workspace, OpsError> {
    open_with(ctx, Secrets::Required)
}

/// Whether the environment variables the config reads (`{fromEnv: NAME}`) must be set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secrets {
    /// plan, apply, …: an unset one is an error naming the connector that reads it.
    Required,
    /// validate: checks the files, not the environment; an unset one is a warning.
    Optional,
}

pub fn open_with(ctx: &Ctx, secrets: Secrets) -> Result<Workspace, OpsError> {
    let mut loaded = config::load(&ctx.root, &ctx.profile).map_err(OpsError::Invalid)?;
    for w in &loaded.warnings {
        eprintln!("{w}");
    }
    if secrets == Secrets::Optional {
        for name in config::fill_missing_env(&mut loaded.config) {
            eprintln!(
                "{} environment variable {name} is not set: plan and apply will need it",
                console::style("warning:").yellow().bold()
            );
        }
    }
    let nodes = stack::build(&loaded.profile_name, &loaded.profile, &loaded.config)
        .map_err(OpsError::Stack)?;
    let graph = Graph::new(nodes)?;
    let inputs_hash = hash_inputs(&[&loaded.profile_path, &loaded.config_path])?;
    let opts = providers::DriverOptions::for_workspace(&ctx.root, &loaded.profile_name);
    Ok(Workspace {
        backend: state_backend::for_profile(&ctx.root, &loaded.profile_name, &loaded.profile)?,
        drivers: providers::drivers_with(&loaded.profile, opts.clone()),
        run: opts.run,
        graph,
        inputs_hash,
        loaded,
    })
}

fn hash_inputs(paths: &[&Path]) -> Result<String, OpsError> {
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    for p in paths {
        let bytes = std::fs::read(p).map_err(|source| OpsError::Io {
            path: p.to_path_buf(),
            op: "reading",
            source,
        })?;
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
