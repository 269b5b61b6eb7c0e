//! Arguments and helpers shared by several commands.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use cr_experiments::execute::Context;

/// Where to run and where full data sets live.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Device: `cpu` (default; burn's flex backend), `ndarray` (burn's older CPU backend, for
    /// comparison), or `cuda`/`vulkan`/`wgpu` when built with that feature (`wgpu`: WGSL kernels
    /// compiled by naga, the path that runs on Mesa's lavapipe).
    #[arg(long, default_value = "cpu", value_parser = parse_device)]
    pub device: String,
    /// Root folder of full official data sets (e.g. DIR/mnist, DIR/cifar-10-batches-bin);
    /// without it the embedded subsets are used.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

impl RunArgs {
    /// The execution context.
    pub fn context(&self, progress: bool) -> Result<Context> {
        let device = cr_models::device::device_from_name(&self.device)
            .with_context(|| format!("--device {}", self.device))?;
        if let Some(d) = &self.data_dir
            && !d.is_dir()
        {
            anyhow::bail!("--data-dir {}: not a directory", d.display());
        }
        Ok(Context {
            device,
            data_dir: self.data_dir.clone(),
            progress,
        })
    }
}

/// Whether progress bars are drawn (stderr is a terminal and not `--quiet`; decided once in
/// `main`).
pub fn show_progress() -> bool {
    cr_train::progress::enabled()
}

/// A `clap::ValueEnum`'s command-line name (what `--help` lists).
pub fn value_name(v: &impl clap::ValueEnum) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_string())
        .unwrap_or_default()
}

/// `--norm`: the threat model.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum NormArg {
    /// ℓ∞ ball.
    #[value(alias = "inf")]
    Linf,
    /// ℓ2 ball.
    #[value(alias = "2")]
    L2,
}

impl From<NormArg> for cr_experiments::config::Norm {
    fn from(n: NormArg) -> Self {
        match n {
            NormArg::Linf => Self::Linf,
            NormArg::L2 => Self::L2,
        }
    }
}

/// `--attack`: an evasion attack, the AutoAttack ensemble or a universal perturbation.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttackArg {
    /// Fast gradient sign method (one step).
    Fgsm,
    /// Projected gradient descent (Madry et al.).
    Pgd,
    /// AutoPGD on the cross-entropy loss.
    ApgdCe,
    /// AutoPGD on the DLR loss.
    ApgdDlr,
    /// Targeted AutoPGD on the DLR loss (AutoAttack's second stage).
    ApgdT,
    /// Targeted FAB (AutoAttack's third stage).
    FabT,
    /// Untargeted FAB.
    Fab,
    /// Square attack (score-based, no gradients).
    Square,
    /// The AutoAttack ensemble (see --version).
    Autoattack,
    /// A universal adversarial perturbation (budget ξ = --eps).
    Uap,
}

impl AttackArg {
    /// The attack of cr-attacks this names (`None`: the universal perturbation, which is not
    /// a per-sample attack).
    pub fn attack(self) -> Option<cr_attacks::AttackName> {
        use cr_attacks::AttackName as A;
        Some(match self {
            AttackArg::Fgsm => A::Fgsm,
            AttackArg::Pgd => A::Pgd,
            AttackArg::ApgdCe => A::ApgdCe,
            AttackArg::ApgdDlr => A::ApgdDlr,
            AttackArg::ApgdT => A::ApgdT,
            AttackArg::FabT => A::FabT,
            AttackArg::Fab => A::Fab,
            AttackArg::Square => A::Square,
            AttackArg::Autoattack => A::AutoAttack,
            AttackArg::Uap => return None,
        })
    }
}

/// `--mode`: which reference implementation APGD follows.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeArg {
    /// fra31/auto-attack.
    Reference,
    /// ART 1.18.
    Art,
}

impl From<ModeArg> for cr_attacks::ApgdMode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Reference => Self::Reference,
            ModeArg::Art => Self::Art,
        }
    }
}

/// `--version`: the AutoAttack version.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionArg {
    /// APGD-CE, APGD-T, FAB-T, Square.
    Standard,
    /// APGD-CE and APGD-DLR (5 restarts each), FAB (5 restarts), Square, APGD-T, FAB-T.
    Plus,
    /// For randomised defences: APGD-CE and APGD-DLR with expectation over 20 draws.
    Rand,
}

impl From<VersionArg> for cr_attacks::AutoAttackVersion {
    fn from(v: VersionArg) -> Self {
        match v {
            VersionArg::Standard => Self::Standard,
            VersionArg::Plus => Self::Plus,
            VersionArg::Rand => Self::Rand,
        }
    }
}

/// `--scale`: which folder of the experiment grid runs.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleArg {
    /// Seconds: tiny subsets (what CI runs).
    Smoke,
    /// The embedded data on CPU (about half an hour on 2 cores).
    Cpu,
    /// The paper's sizes on full data sets (a GPU, --data-dir).
    Paper,
    /// The paper's models at their real sizes on a few images, one epoch, short attacks:
    /// the paper grid end to end on a CPU in minutes (--data-dir, e.g. the stand-ins of
    /// `cargo xtask data --synthesize DIR`).
    Rehearsal,
}

impl std::fmt::Display for ScaleArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&value_name(self))
    }
}

/// Parses `--device`: one of this build's devices, or `cuda:N`. A usage error (exit 2) lists
/// the devices this build has.
pub fn parse_device(s: &str) -> std::result::Result<String, String> {
    let known = cr_models::device::available_devices();
    let ok = known.contains(&s)
        || (known.contains(&"cuda")
            && s.strip_prefix("cuda:")
                .is_some_and(|n| n.parse::<usize>().is_ok()));
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "not a device of this build (it has: {}{})",
            known.join(", "),
            if known.contains(&"cuda") {
                ", cuda:N"
            } else {
                ""
            }
        ))
    }
}

/// Parses `--shard i/n` (0 ≤ i < n).
pub fn parse_shard(s: &str) -> std::result::Result<(usize, usize), String> {
    let (i, n) = s
        .split_once('/')
        .ok_or_else(|| "expected i/n, e.g. 0/4".to_string())?;
    let num = |t: &str| {
        t.trim()
            .parse::<usize>()
            .map_err(|_| format!("`{t}` is not a number"))
    };
    let (i, n) = (num(i)?, num(n)?);
    if n == 0 || i >= n {
        return Err("needs 0 <= i < n".to_string());
    }
    Ok((i, n))
}

/// Runs `f` under a spinner line saying `what` with the elapsed time (hidden when progress
/// bars are off), for single-model commands whose work is one long library call.
pub fn with_spinner<T>(what: String, f: impl FnOnce() -> T) -> T {
    let line = cr_train::progress::spinner("{spinner} {msg} {elapsed}");
    line.set_message(what);
    line.enable_steady_tick(std::time::Duration::from_millis(200));
    let out = f();
    cr_train::progress::remove(&line);
    out
}
