//! `actiond check-config`: validate a configuration file.

use std::path::PathBuf;

use crate::config::Config;

/// `actiond check-config` options.
#[derive(clap::Args)]
pub struct Args {
    /// Configuration file (TOML).
    file: PathBuf,
}

/// Loads the file and says how many streams it configures.
pub fn run(a: Args) -> anyhow::Result<()> {
    let c = Config::load(&a.file)?;
    println!("{}: ok ({} stream(s))", a.file.display(), c.streams.len());
    Ok(())
}
