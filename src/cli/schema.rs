//! `actiond schema`: prints (or writes) the JSON Schema of the messages, generated from
//! the protocol types, so it always matches the binary.

use std::path::PathBuf;

use anyhow::Context;

use crate::publish::schema::{text, Flavor};

/// Arguments of `actiond schema`.
#[derive(clap::Args)]
pub struct Args {
    /// Print the lenient schema (for consumers: accepts fields a later 1.x adds).
    #[arg(long)]
    pub lenient: bool,
    /// Write both schemas (messages.schema.json, messages.lenient.schema.json) into DIR.
    #[arg(long, value_name = "DIR")]
    pub write: Option<PathBuf>,
}

/// Prints the strict (default) or lenient schema, or writes both.
pub fn run(args: Args) -> anyhow::Result<()> {
    let Some(dir) = args.write else {
        let flavor = if args.lenient {
            Flavor::Lenient
        } else {
            Flavor::Strict
        };
        print!("{}", text(flavor));
        return Ok(());
    };
    for flavor in [Flavor::Strict, Flavor::Lenient] {
        let path = dir.join(flavor.file_name());
        std::fs::write(&path, text(flavor))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
