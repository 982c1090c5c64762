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
            runtime.block_on(rsmbd::listener::run(ctx))
        }
    }
}
