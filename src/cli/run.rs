//! `actiond run`: the daemon.

use std::path::PathBuf;

use crate::config::Config;

/// `actiond run` options.
#[derive(clap::Args)]
pub struct Args {
    /// Configuration file (TOML).
    #[arg(long, short)]
    config: PathBuf,
    /// Log format; default: $ACTIOND_LOG_FORMAT, else `auto` (the journal under systemd, else text).
    #[arg(long, value_enum)]
    log_format: Option<crate::sys::logging::LogFormat>,
}

/// Runs the daemon until it is told to stop.
pub fn run(a: Args) -> anyhow::Result<()> {
    crate::sys::malloc::tune_malloc();
    crate::sys::logging::init(a.log_format);
    Config::load(&a.config)
        .map_err(anyhow::Error::from)
        .and_then(crate::daemon::run)
}
