//! `cargo xtask`: the cr command line.
//!
//! A thin layer over the library crates: it parses arguments, sets up logging, calls one
//! library function per command and prints what it returns. Experiment logic lives in
//! `cr-experiments` and the crates below it, never here.

use anyhow::Result;
use clap::{Parser, Subcommand};

mod allocator;
mod cmd;

/// cr: how compressibility (neuron sparsity, low rank) shapes adversarial robustness.
#[derive(Parser, Debug)]
#[command(name = "cargo xtask", version, about, long_about = None)]
struct Cli {
    /// Print only warnings and errors.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// More log output (-v: debug, -vv: trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the paper's experiment grid, then write figures and the report.
    Reproduce(cmd::reproduce::Args),
    /// Train one model from a TOML config.
    Train(cmd::train::Args),
    /// Attack a trained model (FGSM, PGD, AutoPGD, universal perturbation).
    Attack(cmd::attack::Args),
    /// Operator norms, compressibility and Lipschitz bounds of a trained model.
    Analyze(cmd::analyze::Args),
    /// Prune or compress a trained model, optionally evaluating it.
    Prune(cmd::prune::Args),
    /// Draw the figures and write report.md from a results folder.
    Report(cmd::report::Args),
    /// Run the speed and memory benchmark suite.
    Bench(cmd::bench::Args),
    /// List and verify the embedded data sets.
    Data(cmd::data::Args),
    /// Import a PyTorch state dict (safetensors) as a cr model file.
    Import(cmd::import::Args),
    /// Each sample's logits and label under a model.
    Predict(cmd::predict::Args),
}

fn main() -> std::process::ExitCode {
    let kept = allocator::keep_freed_memory();
    let cli = Cli::parse();
    init_logging(cli.quiet, cli.verbose);
    tracing::debug!(
        kept,
        "glibc allocator keeps freed memory (false: the caller tuned it, or not glibc)"
    );
    // Numbers must not depend on the core count; parallelism comes from running several
    // experiments at once (`reproduce --jobs`).
    cr_linalg::sequential();
    {
        use std::io::IsTerminal;
        if !cli.quiet && std::io::stderr().is_terminal() {
            cr_train::progress::enable();
        }
    }
    let result: Result<()> = match cli.command {
        Command::Reproduce(a) => cmd::reproduce::run(a),
        Command::Train(a) => cmd::train::run(a),
        Command::Attack(a) => cmd::attack::run(a),
        Command::Analyze(a) => cmd::analyze::run(a),
        Command::Prune(a) => cmd::prune::run(a),
        Command::Report(a) => cmd::report::run(a),
        Command::Bench(a) => cmd::bench::run(a),
        Command::Data(a) => cmd::data::run(a),
        Command::Import(a) => cmd::import::run(a),
        Command::Predict(a) => cmd::predict::run(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes, `a: b: c`, each cause once: a cause whose text the message
/// already holds (an I/O error that its wrapper prints as `path: cause`) is not repeated.
fn error_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.is_empty() {
            out = text;
        } else if !out.contains(&text) {
            out = format!("{out}: {text}");
        }
    }
    out
}

fn init_logging(quiet: bool, verbose: u8) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_env("CR_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Log lines are printed with the progress bars suspended, so neither tears the other.
        .with_writer(|| cr_train::progress::LogWriter)
        .with_target(false)
        // Log lines go to stderr: colour only when it is a terminal (a file or a pipe gets
        // plain text) and `NO_COLOR` is unset.
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
}

#[cfg(test)]
mod tests {
    use super::error_chain;

    /// A wrapper that prints its cause (`path: cause`) does not get the cause twice; a cause
    /// that adds something still appears, once.
    #[test]
    fn each_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = anyhow::Error::from(cr_experiments::ExpError::Io {
            path: "configs/x".into(),
            source: io,
        });
        assert_eq!(error_chain(&e), "configs/x: no such file");
        let e = anyhow::anyhow!("inner").context("outer");
        assert_eq!(error_chain(&e), "outer: inner");
    }
}
