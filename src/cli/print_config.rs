//! `actiond print-config`: the reference configuration, or with `--effective`
//! a file's configuration after defaults, with its secrets hidden.

use std::path::PathBuf;

use crate::config::Config;

/// The reference configuration, as shipped in config/actiond.toml.
const REFERENCE_CONFIG: &str = include_str!("../../config/actiond.toml");

/// `actiond print-config` options.
#[derive(clap::Args)]
pub struct Args {
    /// Print the effective configuration of `--config` (every key, defaults filled
    /// in; secrets as their `${…}` references or `***`) instead of the reference.
    #[arg(long, requires = "config")]
    effective: bool,
    /// Configuration file (TOML), for `--effective`.
    #[arg(long, short, requires = "effective")]
    config: Option<PathBuf>,
}

/// Prints the reference configuration, or the effective one.
pub fn run(a: Args) -> anyhow::Result<()> {
    match a.config {
        Some(path) if a.effective => print!("{}", Config::load(&path)?.effective().to_toml()),
        _ => print!("{REFERENCE_CONFIG}"),
    }
    Ok(())
}
