//! `actiond print-config`: the reference configuration.

/// The reference configuration, as shipped in config/actiond.toml.
const REFERENCE_CONFIG: &str = include_str!("../../config/actiond.toml");

/// Prints the reference configuration.
pub fn run() -> anyhow::Result<()> {
    print!("{REFERENCE_CONFIG}");
    Ok(())
}
