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
    let regions: usize = c.streams.iter().map(|s| s.regions.len()).sum();
    let regions = match regions {
        0 => String::new(),
        n => format!(", {n} region(s)"),
    };
    println!(
        "{}: ok ({} stream(s){regions})",
        a.file.display(),
        c.streams.len()
    );
    Ok(())
}
