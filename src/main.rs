//! The `mcp-ephemeral-k8s` binary: parse the command line, set up logging, dispatch.

use std::{io::IsTerminal, process::ExitCode};

use clap::Parser;
use mcp_ephemeral_k8s::{
    LOG_ENV, bridge,
    config::{Cli, Command, LogFormat, ServeConfig},
    daemon,
    http::shutdown_signal,
    presets::Presets,
};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// Log filter when none is set: our steps at info, rmcp's per-session chatter only when
/// something is wrong.
const DEFAULT_LOG_FILTER: &str = "info,rmcp=warn";

/// Exit code for invalid configuration (EX_USAGE), before any port is bound.
const EXIT_USAGE: u8 = 64;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Help and version are answers; anything else is a usage error, like every
            // invalid setting (EX_USAGE).
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(EXIT_USAGE),
            };
        }
    };
    init_tracing(cli.log_format);
    // Before the runtime's threads start: what a flood allocated goes back when freed.
    mcp_ephemeral_k8s::process::give_back_large_buffers();
    mcp_ephemeral_k8s::tls::install_crypto_provider();
    let command = cli.command.unwrap_or(Command::Serve(Box::default()));
    // A bridge proxies one stdio server, which handles one message at a time anyway: one
    // thread is enough and keeps every child's memory small. The daemon uses every core
    // unless told otherwise.
    let threads = match &command {
        Command::Bridge(_) => 1,
        Command::Serve(args) => args.worker_threads,
        _ => 0,
    };
    let mut builder = match threads {
        1 => tokio::runtime::Builder::new_current_thread(),
        0 => tokio::runtime::Builder::new_multi_thread(),
        n => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(n);
            builder
        }
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(dispatch(command))
}

async fn dispatch(command: Command) -> ExitCode {
    match command {
        Command::Serve(args) => {
            let config = match ServeConfig::from_args(&args) {
                Ok(config) => config,
                Err(e) => return usage_error(&e),
            };
            let ct = cancel_on_signal();
            match daemon::run(config, ct).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e @ (daemon::Error::Presets(_) | daemon::Error::NotForBackend(_))) => {
                    usage_error(&e)
                }
                Err(e) => failure(&e),
            }
        }
        Command::Bridge(args) => {
            let options = match args.to_options() {
                Ok(options) => options,
                Err(e) => return usage_error(&e),
            };
            match bridge::run(options, cancel_on_signal()).await {
                Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
                // The server's own code (0 is a failure too: it stopped serving).
                Err(
                    e @ bridge::Error::Initialize {
                        code: Some(code), ..
                    },
                ) => {
                    failure(&e);
                    ExitCode::from(u8::try_from(code).ok().filter(|c| *c != 0).unwrap_or(1))
                }
                Err(e) => failure(&e),
            }
        }
        Command::Presets { presets_dir } => match Presets::load(presets_dir.as_deref()) {
            Ok(presets) => {
                let redacted: Vec<_> = presets
                    .all()
                    .iter()
                    .map(|p| mcp_ephemeral_k8s::Preset {
                        config: p.config.redacted(),
                        ..p.clone()
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&redacted).unwrap_or_default()
                );
                ExitCode::SUCCESS
            }
            Err(e) => usage_error(&e),
        },
        Command::Version => {
            println!("{}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
    }
}

/// A token cancelled on SIGINT or SIGTERM.
fn cancel_on_signal() -> CancellationToken {
    let ct = CancellationToken::new();
    let cancel = ct.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        cancel.cancel();
    });
    ct
}

fn usage_error(error: &dyn std::error::Error) -> ExitCode {
    eprintln!("error: {}", mcp_ephemeral_k8s::with_causes(error));
    ExitCode::from(EXIT_USAGE)
}

fn failure(error: &dyn std::error::Error) -> ExitCode {
    eprintln!("error: {}", mcp_ephemeral_k8s::with_causes(error));
    ExitCode::FAILURE
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_env(LOG_ENV)
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
