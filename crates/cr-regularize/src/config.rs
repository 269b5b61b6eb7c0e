//! The `[regularize]` table of a training config: which interventions, how strong. Several
//! can be combined; each is off unless its table is present.

use serde::{Deserialize, Serialize};

use crate::error::{RegularizeError, invalid};

/// Which layers an intervention acts on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layers {
    /// Every hidden layer: not the head, not the first conv of a CNN (the authors' choice for
    /// group lasso).
    #[default]
    Hidden,
    /// Only the first layer (W¹ of an FCN, the stem of a CNN): the motivating experiment.
    First,
    /// Every layer, head and first conv included.
    All,
}

/// `α · Σ_l Σ_rows ‖w_row‖₂` (neuron sparsity).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupLasso {
    /// Strength α.
    pub alpha: f64,
    /// Layers regularised.
    #[serde(default)]
    pub layers: Layers,
}

/// `α · Σ_l ‖ρ_l‖₁ / ‖ρ_l‖₂`, ρ_l the row ℓ2 norms of layer l (scale-invariant group lasso).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleInvariantGroupLasso {
    /// Strength α.
    pub alpha: f64,
    /// Layers regularised.
    #[serde(default)]
    pub layers: Layers,
}

/// `α · Σ_l ‖σ(W_l)‖₁` (spectral compressibility).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NuclearNorm {
    /// Strength α.
    pub alpha: f64,
    /// Layers regularised.
    #[serde(default)]
    pub layers: Layers,
}

/// `γ · Σ_l Var(top fraction of layer l's row norms)` (spread control, paper §4.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spread {
    /// Strength γ.
    pub gamma: f64,
    /// Fraction of the largest rows whose norms' variance is penalised (0.05 in the paper).
    #[serde(default = "d_top")]
    pub top_fraction: f64,
    /// Row norm used: `l1` (the ν of Theorem 3.1, default) or `l2`.
    #[serde(default)]
    pub norm: RowNorm,
    /// Layers regularised.
    #[serde(default)]
    pub layers: Layers,
}

fn d_top() -> f64 {
    0.05
}

/// A row norm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RowNorm {
    /// ℓ1.
    #[default]
    L1,
    /// ℓ2.
    L2,
}

/// `α · Σ |θ|` over the chosen layers' weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct L1 {
    /// Strength α.
    pub alpha: f64,
    /// Layers regularised.
    #[serde(default)]
    pub layers: Layers,
}

/// The reference norm of Frobenius normalisation when no absolute `norm` is given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FrobeniusReference {
    /// Each layer's own ‖W‖_F at initialisation.
    #[default]
    Initial,
    /// The expected ‖W‖_F of a dense layer of the same output size under PyTorch's default
    /// initialisation, `√(rows/3)` (entries U(±1/√fan_in)). A factorised layer's product is
    /// much smaller than that at initialisation; this reference gives layers of every rank
    /// the same scale, so a rank sweep compares structure, not scale.
    Dense,
}

/// Frobenius-norm normalisation after every optimiser step (SPEC §4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Frobenius {
    /// Layers normalised (`first` in the motivating experiment).
    #[serde(default)]
    pub layers: Layers,
    /// Fix ‖W‖_F to this value in every chosen layer. When unset, each layer keeps its
    /// reference norm times `multiplier`.
    #[serde(default)]
    pub norm: Option<f64>,
    /// The reference norm when `norm` is unset.
    #[serde(default)]
    pub reference: FrobeniusReference,
    /// Scale of the reference norm when `norm` is unset (the UAE experiment's c).
    #[serde(default = "d_mult")]
    pub multiplier: f64,
}

fn d_mult() -> f64 {
    1.0
}

/// Every intervention, each optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegularizeConfig {
    /// Group lasso.
    #[serde(default)]
    pub group_lasso: Option<GroupLasso>,
    /// Scale-invariant group lasso.
    #[serde(default)]
    pub scale_invariant_group_lasso: Option<ScaleInvariantGroupLasso>,
    /// Nuclear norm.
    #[serde(default)]
    pub nuclear_norm: Option<NuclearNorm>,
    /// Spread control.
    #[serde(default)]
    pub spread: Option<Spread>,
    /// Plain ℓ1.
    #[serde(default)]
    pub l1: Option<L1>,
    /// Frobenius normalisation.
    #[serde(default)]
    pub frobenius: Option<Frobenius>,
}

fn strength(v: f64, field: &str) -> Result<(), RegularizeError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(invalid(field, format!("{v} must be a finite number >= 0")))
    }
}

impl RegularizeConfig {
    /// Checks every value, naming the field of a bad one.
    pub fn validate(&self) -> Result<(), RegularizeError> {
        if let Some(g) = &self.group_lasso {
            strength(g.alpha, "regularize.group_lasso.alpha")?;
        }
        if let Some(g) = &self.scale_invariant_group_lasso {
            strength(g.alpha, "regularize.scale_invariant_group_lasso.alpha")?;
        }
        if let Some(g) = &self.nuclear_norm {
            strength(g.alpha, "regularize.nuclear_norm.alpha")?;
        }
        if let Some(s) = &self.spread {
            strength(s.gamma, "regularize.spread.gamma")?;
            if !(s.top_fraction > 0.0 && s.top_fraction <= 1.0) {
                return Err(invalid(
                    "regularize.spread.top_fraction",
                    format!("{} must be in (0, 1]", s.top_fraction),
                ));
            }
        }
        if let Some(g) = &self.l1 {
            strength(g.alpha, "regularize.l1.alpha")?;
        }
        if let Some(f) = &self.frobenius {
            if let Some(n) = f.norm
                && !(n.is_finite() && n > 0.0)
            {
                return Err(invalid(
                    "regularize.frobenius.norm",
                    format!("{n} must be a finite number > 0"),
                ));
            }
            if !(f.multiplier.is_finite() && f.multiplier > 0.0) {
                return Err(invalid(
                    "regularize.frobenius.multiplier",
                    format!("{} must be a finite number > 0", f.multiplier),
                ));
            }
        }
        Ok(())
    }

    /// Whether nothing is switched on.
    pub fn is_empty(&self) -> bool {
        self == &RegularizeConfig::default()
    }
}
