//! The `alpaka` binary: parse, dispatch to `ops`, turn errors into a report and an exit code.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use alpaka::cli::{Cli, Command, StateCommand};
use alpaka::ops::{self, Ctx, EXIT_ERROR};

/// `alpaka --version`: the version, the commit and the build date (`build.rs`), so a report
/// names exactly what ran.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("ALPAKA_COMMIT"),
    ", built ",
    env!("ALPAKA_BUILD_DATE"),
    ")"
);

fn command() -> clap::Command {
    Cli::command().version(VERSION)
}

fn main() -> ExitCode {
    // kube and the AWS SDK both bring rustls; name the process-wide crypto provider once.
    // An error means one is installed already, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = match Cli::from_arg_matches(&command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let ctx = Ctx::new(cli.root.clone(), cli.profile.clone(), cli.no_color);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Plan(a) => ops::plan(&ctx, a).await,
            Command::Apply(a) => ops::apply(&ctx, a).await,
            Command::Destroy(a) => ops::destroy(&ctx, a).await,
            Command::Validate(a) => ops::validate(&ctx, a.json),
            Command::Graph => ops::graph(&ctx),
            Command::Notes => ops::notes(&ctx),
            Command::Doctor => ops::doctor(&ctx).await,
            Command::Images {
                json,
                copy_to,
                no_render,
            } => ops::images(&ctx, *json, copy_to.as_deref(), !*no_render).await,
            Command::Test(a) => ops::selftest(&ctx, a).await,
            Command::State(StateCommand::List { json }) => ops::state_list(&ctx, *json),
            Command::State(StateCommand::Show { id, json }) => ops::state_show(&ctx, id, *json),
            Command::State(StateCommand::Migrate { to }) => ops::migrate(&ctx, *to),
            Command::State(StateCommand::InitBackend {
                bucket,
                region,
                key,
                kms_key_id,
            }) => {
                let args = ops::InitBackend {
                    bucket: bucket.clone(),
                    region: region.clone(),
                    key: key.clone(),
                    kms_key_id: kms_key_id.clone(),
                };
                ops::init_backend(&ctx, &args).await
            }
            Command::ForceUnlock { lock_id } => ops::force_unlock(&ctx, lock_id),
            Command::Schema { which } => ops::schema(*which),
            Command::Import { values, name } => ops::import(&ctx, values, name),
            Command::EksToken { cluster, region } => ops::eks_token(cluster, region).await,
            Command::Kubeconfig { write } => ops::kubeconfig(&ctx, write.as_deref()),
            Command::Completions { shell } => {
                clap_complete::generate(*shell, &mut command(), "alpaka", &mut std::io::stdout());
                Ok(ops::EXIT_OK)
            }
            Command::Man => clap_mangen::Man::new(command())
                .render(&mut std::io::stdout())
                .map(|()| ops::EXIT_OK)
                .map_err(|source| ops::OpsError::Io {
                    path: "-".into(),
                    op: "writing the manual page to",
                    source,
                }),
            Command::Init => ops::init(&ctx),
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let text = e.to_string();
            // Diagnostics already carry their own `error:` prefixes.
            if text.starts_with("error:") || text.starts_with("warning:") {
                eprintln!("{text}");
            } else {
                eprintln!("{} {text}", console::style("error:").red().bold());
            }
            ExitCode::from(EXIT_ERROR)
        }
    }
}
