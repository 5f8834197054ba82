//! The `tradegraph` server: parses the command line, starts logging and
//! calls into the library.

use std::process::ExitCode;

/// mimalloc: answering a request makes many small, short-lived
/// allocations, which it serves faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use tradegraph::app::Application;
use tradegraph::config::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    tradegraph::app::init_logging(cli.serve.log_format);
    let outcome = match cli.command {
        Some(Command::Schema) => {
            print!("{}", tradegraph::graphql::sdl());
            Ok(())
        }
        Some(Command::Token) => tradegraph::auth::new_token().map(|(token, hash)| {
            println!("token: {token}");
            println!("hash:  {hash}");
            println!("serve with --write-token-hash {hash}; send the token as Authorization: Bearer <token>");
        }),
        Some(Command::Check { store }) => {
            let checked = tradegraph::http::block_on(tradegraph::app::check_database(
                &store,
                &mut std::io::stdout(),
            ));
            match checked {
                Ok(true) => Ok(()),
                // Each inconsistency is printed; the exit status says there were some.
                Ok(false) => return ExitCode::FAILURE,
                Err(error) => Err(error),
            }
        }
        Some(Command::Export { store, output }) => {
            tradegraph::http::block_on(tradegraph::app::export_database(
                &store,
                output.as_deref(),
            ))
            .map(|n_records| {
                // Standard error, since standard output may be the backup.
                eprintln!("exported {n_records} records from {}", store.describe());
            })
        }
        Some(Command::Import { store, input }) => {
            tradegraph::http::block_on(tradegraph::app::import_database(
                &store,
                input.as_deref(),
            ))
            .map(|n_records| {
                println!("imported {n_records} records into {}", store.describe());
            })
        }
        None => tradegraph::http::block_on(async {
            let application = Application::build(&cli.serve).await?;
            application.run_until_stopped().await
        }),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}
