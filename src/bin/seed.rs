//! The `seed` command: fills or refreshes a database no server holds, then
//! exits.

use std::process::ExitCode;

/// mimalloc, as in the server: a bulk insert of synthetic shipments makes
/// many small allocations from two threads at once (sled copies a node for
/// every insert), which the system allocator serves behind a lock.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use tradegraph::app::prepare_database;
use tradegraph::config::SeedCli;

fn main() -> ExitCode {
    let cli = SeedCli::parse();
    tradegraph::app::init_logging(tradegraph::config::LogFormat::Text);
    match tradegraph::http::block_on(prepare_database(&cli.database, true)) {
        Ok((_, Some(report))) => {
            println!(
                "seeded {}: {} added, {} updated, {} unchanged, {} kept (changed through the API)",
                cli.database.store.describe(),
                report.added,
                report.updated,
                report.unchanged,
                report.kept
            );
            ExitCode::SUCCESS
        }
        Ok((_, None)) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}
