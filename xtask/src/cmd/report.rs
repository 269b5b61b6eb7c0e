//! `cargo xtask report`.

use anyhow::{Result, bail};

/// Arguments of `report`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Arguments are not defined yet.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<String>,
}

/// Runs `report`.
pub fn run(args: Args) -> Result<()> {
    let _ = args;
    bail!("`report` is not built yet in this version of cr")
}
