//! `actiond assets --out DIR` (hidden): the man pages and shell completions, generated
//! from the command-line definition, for the package (scripts/package.sh).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::CommandFactory;
use clap_complete::Shell;

/// Arguments of `actiond assets`.
#[derive(clap::Args)]
pub struct Args {
    /// Folder to write `man/` (actiond.1, actiond-run.1, …) and `completions/` into.
    #[arg(long)]
    pub out: PathBuf,
}

/// Writes the man pages and the bash, zsh and fish completions.
pub fn run(args: Args) -> anyhow::Result<()> {
    let man = args.out.join("man");
    let completions = args.out.join("completions");
    for dir in [&man, &completions] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    clap_mangen::generate_to(super::Cli::command(), &man)
        .with_context(|| format!("writing the man pages to {}", man.display()))?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        write_completion(shell, &completions)?;
    }
    Ok(())
}

/// One shell's completion script in `dir` (`actiond.bash`, `_actiond`, `actiond.fish`).
fn write_completion(shell: Shell, dir: &Path) -> anyhow::Result<()> {
    let mut cmd = super::Cli::command();
    clap_complete::generate_to(shell, &mut cmd, "actiond", dir)
        .with_context(|| format!("writing the {shell} completion to {}", dir.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_man_pages_for_the_visible_commands_and_three_completions() {
        let dir = tempfile::tempdir().unwrap();
        run(Args {
            out: dir.path().to_path_buf(),
        })
        .unwrap();
        let man = std::fs::read_to_string(dir.path().join("man/actiond.1")).unwrap();
        assert!(man.contains("check\\-config"), "{man}");
        assert!(dir.path().join("man/actiond-run.1").is_file());
        for name in ["actiond.bash", "_actiond", "actiond.fish"] {
            let text = std::fs::read_to_string(dir.path().join("completions").join(name)).unwrap();
            assert!(text.contains("subscribe"), "{name}: {text}");
        }
    }
}
