//! `cargo xtask attack`.

use anyhow::{Result, bail};

/// Arguments of `attack`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Arguments are not defined yet.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<String>,
}

/// Runs `attack`.
pub fn run(args: Args) -> Result<()> {
    let _ = args;
    bail!("`attack` is not built yet in this version of cr")
}
