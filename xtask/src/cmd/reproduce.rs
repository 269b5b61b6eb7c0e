//! `cargo xtask reproduce`.

use anyhow::{Result, bail};

/// Arguments of `reproduce`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Arguments are not defined yet.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<String>,
}

/// Runs `reproduce`.
pub fn run(args: Args) -> Result<()> {
    let _ = args;
    bail!("`reproduce` is not built yet in this version of cr")
}
