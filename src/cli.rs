//! Command-line surface (clap). Only parsing lives here; each command calls one `ops` function.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "alpaka",
    version,
    about = "From nothing to a monitored, connector-fed Kafka platform on Kubernetes, and back to nothing."
)]
pub struct Cli {
    /// Profile to use: profiles/NAME.yaml (where to deploy). Default: minikube.
    #[arg(long, short = 'p', global = true, env = "ALPAKA_PROFILE")]
    pub profile: Option<String>,

    /// Workspace holding profiles/ and configs/ (and .alpaka/ state). Default: the current directory.
    #[arg(long, global = true, env = "ALPAKA_ROOT", value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// No colour (also off when output is not a terminal, or NO_COLOR is set).
    #[arg(long, global = true)]
    pub no_color: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what apply would change, across every layer.
    Plan(PlanArgs),
    /// Make it so: apply a fresh plan (asks first) or a saved plan file.
    Apply(ApplyArgs),
    /// Tear down everything this profile's state records.
    Destroy(DestroyArgs),
    /// Check the profile and its config; report every error at once.
    Validate(ValidateArgs),
    /// Print the resource graph as Graphviz DOT.
    Graph,
    /// How to reach what this profile deploys: addresses, UIs, passwords, the tool pod, ksql.
    Notes,
    /// Prove the deployed stack works: one line per check (Kafka round trip, Connect plugins, a
    /// JDBC source delivering 10,000 MySQL rows, ksqlDB, web UIs, Prometheus targets, optional
    /// S3 sink). Exits non-zero if any check fails.
    Test(TestArgs),
    /// Check what the profile needs on this machine (tools and versions, docker, memory,
    /// cluster or AWS access), one line per check with the fix.
    Doctor,
    /// List every image (digest where pinned) and chart the profile deploys, and where each is
    /// pulled from with the profile's `mirror:`; `--copy-to REGISTRY` prints a crane/helm script
    /// that fills a mirror (printed only, never run). A chart's images are read from the pinned
    /// chart itself (`helm template` with alpaka's values: needs helm and the chart's
    /// repository, or the mirror's).
    Images {
        /// JSON output.
        #[arg(long)]
        json: bool,
        /// Do not render the charts: list their images from alpaka's recorded list (offline;
        /// a tag the list does not record is shown as unknown).
        #[arg(long)]
        no_render: bool,
        /// Print a script copying everything to this registry (host[/prefix]).
        #[arg(long, value_name = "REGISTRY")]
        copy_to: Option<String>,
    },
    /// Inspect the state.
    #[command(subcommand)]
    State(StateCommand),
    /// Remove a lock whose holder is gone or hung (use the ID the refusal printed).
    ForceUnlock {
        /// Lock ID, as shown when a command was refused.
        lock_id: String,
    },
    /// Turn a values file of the original alpaka Helm chart into configs/NAME.yaml and
    /// profiles/NAME.yaml (never overwriting), printing what was dropped or moved and why.
    Import {
        /// The original chart's values file (e.g. configs/_k3d.yaml of the chart).
        values: PathBuf,
        /// Name of the new profile and config.
        #[arg(long)]
        name: String,
    },
    /// Print the JSON Schema of profiles or configs, for editors.
    Schema {
        #[arg(value_enum, default_value_t = SchemaWhich::Config)]
        which: SchemaWhich,
    },
    /// EKS: print a kubectl exec credential with a fresh token (no aws CLI needed).
    EksToken {
        #[arg(long)]
        cluster: String,
        #[arg(long)]
        region: String,
    },
    /// EKS: print a kubeconfig for the profile's cluster, or merge it into FILE (`--write`).
    Kubeconfig {
        /// Kubeconfig file to create or merge into (the context becomes current).
        #[arg(long, value_name = "FILE")]
        write: Option<PathBuf>,
    },
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `alpaka man | man -l -`.
    Man,
    /// Write the shipped profiles/ and configs/ into the workspace (an installed binary's
    /// first step), never over an existing file.
    Init,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaWhich {
    Profile,
    Config,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Limit to these resources and what they depend on (for destroy: and what depends on them).
    #[arg(long = "target", value_name = "ID")]
    pub targets: Vec<String>,
    /// How many resources to refresh or change at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: u16,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Save the plan; `alpaka apply FILE` then does exactly it (refused if state moved since).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 with no changes, 1 on error, 2 with changes.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan a destroy.
    #[arg(long)]
    pub destroy: bool,
    /// Machine-readable plan on stdout.
    #[arg(long)]
    pub json: bool,
    /// `--refresh=false`: plan from state and configuration alone, reading nothing live and not
    /// looking for what an interrupted run left (no cloud credentials needed; cannot be saved).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub refresh: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved with `plan --out`.
    pub plan_file: Option<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// When another run holds the state lock, wait this long for it (e.g. `5m`), with progress.
    #[arg(long, value_name = "DURATION", value_parser = lock_timeout)]
    pub lock_timeout: Option<std::time::Duration>,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Keep Kafka's data: its PersistentVolumes get reclaim policy Retain before their claims
    /// go (EKS: and the EBS volumes behind the platform's PVCs are not swept). The default on an
    /// existing cluster (k3s profile); elsewhere the volumes are deleted unless this is given.
    #[arg(long)]
    pub keep_volumes: bool,
    /// Existing cluster (k3s profile): delete Kafka's volumes with its claims instead of keeping
    /// them.
    #[arg(long, conflicts_with = "keep_volumes")]
    pub delete_volumes: bool,
    /// Remove the finalizers of objects still held by them after --finalizer-timeout (their
    /// controller is gone; its cleanup, e.g. deleting a topic in Kafka, is skipped). Without it
    /// destroy stops there, naming each object and the command that removes them.
    #[arg(long)]
    pub remove_finalizers: bool,
    /// How long an object (or the namespace's content) held only by finalizers is waited for.
    #[arg(long, value_name = "DURATION", value_parser = lock_timeout, default_value = "1m")]
    pub finalizer_timeout: std::time::Duration,
    /// Existing cluster (k3s profile): after destroy, also delete the CRDs of the charts alpaka
    /// installed and the cluster-scoped objects a chart marks `helm.sh/resource-policy: keep`,
    /// each only when no other helm release (any namespace) ships or uses it and no custom
    /// resources of its kind remain (otherwise destroy names what keeps it). Without it they
    /// are listed and kept.
    #[arg(long, conflicts_with = "targets")]
    pub delete_crds: bool,
    /// EKS: also delete what is tagged as this profile's in AWS but recorded in no state (made
    /// by a run killed before it could record it, or a second one a create carried out twice
    /// made); listed in the destroy plan before you confirm. With `--target`, only the orphans
    /// named (`aws.vpc.prod~vpc-0abc`, as the plan names a duplicate) and what runs on them.
    #[arg(long)]
    pub orphans: bool,
    /// When another run holds the state lock, wait this long for it (e.g. `5m`), with progress.
    #[arg(long, value_name = "DURATION", value_parser = lock_timeout)]
    pub lock_timeout: Option<std::time::Duration>,
}

/// `30s`, `5m`, `1h30m`: as durations elsewhere in alpaka.
fn lock_timeout(s: &str) -> Result<std::time::Duration, String> {
    crate::model::parse_duration_secs(s)
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| format!("{s:?} is not a duration: use e.g. 30s, 5m or 1h"))
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Run only these checks (a name like `http.grafana`, or a prefix like `http`).
    #[arg(long = "check", value_name = "NAME")]
    pub checks: Vec<String>,
    /// Cap every check's timeout at this many seconds (each check has its own default).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: Option<u64>,
    /// Keep the test resources (topics, MySQL, connectors, Jobs) for a look afterwards.
    #[arg(long)]
    pub keep: bool,
    /// List the checks and why any would be skipped, without running them.
    #[arg(long)]
    pub list: bool,
    /// Results as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Diagnostics as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Every resource the state records.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One resource's recorded attributes and outputs (secrets shown as (sensitive)).
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Move the state between `.alpaka/` and the S3 location of the profile's `state:` block,
    /// under both locks; the source is left as a backup.
    Migrate {
        #[arg(long, value_enum)]
        to: crate::ops::MigrateTo,
    },
    /// Create an S3 bucket fit for a shared state (versioning, default encryption, public
    /// access blocked; idempotent) and print the `state:` block to paste into the profile.
    InitBackend {
        #[arg(long)]
        bucket: Option<String>,
        #[arg(long)]
        region: Option<String>,
        /// The state's object key (default `alpaka/<profile>.state.json`).
        #[arg(long)]
        key: Option<String>,
        /// Encrypt with this KMS key (SSE-KMS) instead of S3's keys (SSE-S3).
        #[arg(long)]
        kms_key_id: Option<String>,
    },
}
