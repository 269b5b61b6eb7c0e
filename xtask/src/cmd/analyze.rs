//! `cargo xtask analyze`.

use anyhow::{Result, bail};

/// Arguments of `analyze`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Arguments are not defined yet.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<String>,
}

/// Runs `analyze`.
pub fn run(args: Args) -> Result<()> {
    let _ = args;
    bail!("`analyze` is not built yet in this version of cr")
}
