//! `rsmbd` binary entry point.

use std::sync::Arc;

use clap::Parser;
use rsmbd::cli::{Cli, Command};
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    match cli.command {
        Command::Serve(args) => {
            let config = args.into_config()?;
            let ctx = Arc::new(rsmbd::startup::build_context(config)?);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let result = runtime.block_on(rsmbd::listener::run(ctx));
            // A handler stuck in the file system must not keep the process past the grace
            // time: give blocking work one more second, then exit anyway.
            runtime.shutdown_timeout(std::time::Duration::from_secs(1));
            result
        }
        Command::NtlmHash { user } => rsmbd::ntlm_users::hash_command(&user),
        Command::Keytab(cmd) => exit(rsmbd::admin::keytab(cmd, &mut std::io::stdout())?),
        Command::Config(cmd) => exit(rsmbd::admin::config(cmd, &mut std::io::stdout())?),
        Command::Sessions(args) => exit(rsmbd::admin::sessions(args, &mut std::io::stdout())?),
    }
}

/// Ends the process with an admin command's status (after flushing what it printed).
fn exit(code: i32) -> anyhow::Result<()> {
    use std::io::Write;
    std::io::stdout().flush()?;
    std::process::exit(code)
}
