//! `actiond inspect-model`: describe an ONNX model.

use std::path::PathBuf;

/// `actiond inspect-model` options.
#[derive(clap::Args)]
pub struct Args {
    /// The .onnx file.
    path: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Prints the model's report as text or JSON.
pub fn run(a: Args) -> anyhow::Result<()> {
    let report = crate::tools::inspect::inspect(&a.path)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", crate::tools::inspect::render(&report));
    }
    Ok(())
}
