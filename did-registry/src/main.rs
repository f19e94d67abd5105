//! `alliance-registry`: operator CLI of the Alliance ID DID registry. The commands live in
//! [`cli`], one file per command group; this file only picks the allocator and runs them.

use std::process::ExitCode;

use clap::Parser;

mod cli;

/// A node allocates for every operation it parses, checks, gossips, executes and stores, on
/// many threads; mimalloc is faster at that than the system allocator (docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
