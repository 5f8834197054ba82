//! The `tradegraph` server: parses the command line, starts logging and
//! calls into the library.

use std::process::ExitCode;

use clap::Parser;
use tradegraph::app::Application;
use tradegraph::config::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    tradegraph::app::init_logging();
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
        None => tradegraph::http::block_on(async {
            let application = Application::build(&cli.serve)?;
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
