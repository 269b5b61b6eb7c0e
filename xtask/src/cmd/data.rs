//! `cargo xtask data`.

use anyhow::{Result, bail};

/// Arguments of `data`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Arguments are not defined yet.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<String>,
}

/// Runs `data`.
pub fn run(args: Args) -> Result<()> {
    let _ = args;
    bail!("`data` is not built yet in this version of cr")
}
