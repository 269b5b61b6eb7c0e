//! What to prune and how much: [`Method`] and [`PruneConfig`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{PruneError, Result, invalid};

/// A pruning method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Method {
    /// Structured (neuron / filter) pruning by row norm, the same ratio in every prunable
    /// layer.
    #[serde(rename = "layerwise")]
    Layerwise,
    /// Structured pruning by row norm with one threshold across layers, on row norms divided
    /// by their layer's largest row norm.
    #[serde(rename = "global")]
    Global,
    /// Structured ε-targeted pruning (paper §4.1): per layer the least k whose row-norm vector
    /// is `(2, k, ε)`-compressible; ε given, or scanned to hit a global ratio.
    #[serde(rename = "eps-target")]
    EpsTarget,
    /// Unstructured magnitude pruning: the smallest |w| of the hidden layers set to zero.
    #[serde(rename = "unstructured")]
    Unstructured,
    /// Low-rank truncation: keep the top singular triplets of every factorisable layer.
    #[serde(rename = "lowrank")]
    LowRank,
}

impl Method {
    /// Every method, in the order of [`Method::NAMES`].
    pub const ALL: [Method; 5] = [
        Method::Layerwise,
        Method::Global,
        Method::EpsTarget,
        Method::Unstructured,
        Method::LowRank,
    ];
    /// The names [`FromStr`] and serde accept.
    pub const NAMES: [&'static str; 5] = [
        "layerwise",
        "global",
        "eps-target",
        "unstructured",
        "lowrank",
    ];

    /// The method's name (as in configs and reports).
    pub fn name(self) -> &'static str {
        match self {
            Method::Layerwise => "layerwise",
            Method::Global => "global",
            Method::EpsTarget => "eps-target",
            Method::Unstructured => "unstructured",
            Method::LowRank => "lowrank",
        }
    }

    /// Whether the method removes whole rows (neurons / filters).
    pub fn is_structured(self) -> bool {
        matches!(self, Method::Layerwise | Method::Global | Method::EpsTarget)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = PruneError;

    fn from_str(s: &str) -> Result<Self> {
        Method::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                invalid(
                    "method",
                    format!("unknown method `{s}` (valid: {})", Method::NAMES.join(", ")),
                )
            })
    }
}

/// Default of [`PruneConfig::max_layer_ratio`].
pub const DEFAULT_MAX_LAYER_RATIO: f64 = 0.9;

fn default_max_layer_ratio() -> f64 {
    DEFAULT_MAX_LAYER_RATIO
}

/// What ε-targeted pruning measures ε on, per layer (paper §4.1, Figure 8 right: "we set a
/// target ε for each layer, and for each compute k that satisfies this ε level").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EpsVector {
    /// Theorem 3.1's neuron vector ν = the rows' ℓ1 norms, with `ε₁(k) = ‖ν − ν_k‖₁/‖ν‖₁`
    /// (the (1, k_ν, ε_ν)-compressibility of Eq. 4); rows ranked by their ℓ1 norm. The
    /// default: it is the ε the bound is stated in.
    #[default]
    Nu,
    /// The rows' ℓ2 norms ρ with `ε₂(k) = ‖ρ − ρ_k‖₂/‖ρ‖₂`; rows ranked by their ℓ2 norm
    /// (what cr used before; kept as an option).
    RowL2,
}

impl EpsVector {
    /// `(p, q)`: the row norm ℓ_p and the ε's ℓ_q.
    pub fn norms(self) -> (f64, f64) {
        match self {
            EpsVector::Nu => (1.0, 1.0),
            EpsVector::RowL2 => (2.0, 2.0),
        }
    }
}

/// What to prune and how much.
///
/// | method | needs | meaning |
/// |---|---|---|
/// | `layerwise`, `global` | `ratio` | fraction of prunable rows removed |
/// | `eps-target` | `eps_target` *or* `ratio` | per-layer ε, or the global ratio an ε scan aims at |
/// | `unstructured` | `ratio` | fraction of hidden-layer weights zeroed (globally) |
/// | `lowrank` | `rank` *or* `ratio` | rank kept in every layer, or fraction of each layer's rank removed |
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PruneConfig {
    /// The method.
    pub method: Method,
    /// Requested pruning ratio in [0, 1).
    #[serde(default)]
    pub ratio: Option<f64>,
    /// Rank kept by low-rank truncation (at least 1).
    #[serde(default)]
    pub rank: Option<usize>,
    /// Target ε in [0, 1] of ε-targeted pruning.
    #[serde(default)]
    pub eps_target: Option<f64>,
    /// The per-layer vector and q whose `ε_q(k)` ε-targeted pruning targets (default `nu`).
    #[serde(default)]
    pub eps_vector: EpsVector,
    /// Largest fraction of one layer's rows (weights, rank) that may be removed, in [0, 1];
    /// at least one row (weight, singular triplet) is always kept.
    #[serde(default = "default_max_layer_ratio")]
    pub max_layer_ratio: f64,
    /// Also build the physically smaller model (structured methods, and `lowrank` with a
    /// `rank` on an architecture with low-rank layers).
    #[serde(default)]
    pub physical: bool,
}

impl Default for PruneConfig {
    fn default() -> Self {
        PruneConfig {
            method: Method::Layerwise,
            ratio: None,
            rank: None,
            eps_target: None,
            eps_vector: EpsVector::Nu,
            max_layer_ratio: DEFAULT_MAX_LAYER_RATIO,
            physical: false,
        }
    }
}

impl PruneConfig {
    /// A config for `method` at `ratio` (other fields at their defaults).
    pub fn with_ratio(method: Method, ratio: f64) -> Self {
        PruneConfig {
            method,
            ratio: Some(ratio),
            ..Default::default()
        }
    }

    /// Checks every value and that the method has what it needs; the error names the field.
    pub fn validate(&self) -> Result<()> {
        self.validate_values()?;
        self.validate_method_fields()?;
        self.validate_physical()
    }

    /// Checks that the ratio, rank, ε target and per-layer cap are in range.
    fn validate_values(&self) -> Result<()> {
        if let Some(r) = self.ratio
            && !(r.is_finite() && (0.0..1.0).contains(&r))
        {
            return Err(invalid("ratio", format!("{r} is outside [0, 1)")));
        }
        if self.rank == Some(0) {
            return Err(invalid("rank", "must be at least 1"));
        }
        if let Some(e) = self.eps_target
            && !(e.is_finite() && (0.0..=1.0).contains(&e))
        {
            return Err(invalid("eps_target", format!("{e} is outside [0, 1]")));
        }
        let m = self.max_layer_ratio;
        if !(m.is_finite() && (0.0..=1.0).contains(&m)) {
            return Err(invalid("max_layer_ratio", format!("{m} is outside [0, 1]")));
        }
        Ok(())
    }

    /// Checks that the method has the fields it needs and none it does not take.
    fn validate_method_fields(&self) -> Result<()> {
        let method = self.method.name();
        match self.method {
            Method::Layerwise | Method::Global | Method::Unstructured => {
                if self.ratio.is_none() {
                    return Err(invalid("ratio", format!("method `{method}` needs a ratio")));
                }
                if self.rank.is_some() {
                    return Err(invalid("rank", format!("method `{method}` takes no rank")));
                }
                if self.eps_target.is_some() {
                    return Err(invalid(
                        "eps_target",
                        format!("method `{method}` takes no eps_target"),
                    ));
                }
            }
            Method::EpsTarget => {
                if self.rank.is_some() {
                    return Err(invalid("rank", format!("method `{method}` takes no rank")));
                }
                match (self.eps_target, self.ratio) {
                    (None, None) => {
                        return Err(invalid(
                            "eps_target",
                            "method `eps-target` needs eps_target or a ratio to scan for",
                        ));
                    }
                    (Some(_), Some(_)) => {
                        return Err(invalid(
                            "ratio",
                            "give either eps_target or ratio for `eps-target`, not both",
                        ));
                    }
                    _ => {}
                }
            }
            Method::LowRank => {
                if self.eps_target.is_some() {
                    return Err(invalid(
                        "eps_target",
                        format!("method `{method}` takes no eps_target"),
                    ));
                }
                match (self.rank, self.ratio) {
                    (None, None) => {
                        return Err(invalid("rank", "method `lowrank` needs a rank or a ratio"));
                    }
                    (Some(_), Some(_)) => {
                        return Err(invalid(
                            "ratio",
                            "give either rank or ratio for `lowrank`, not both",
                        ));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Checks that a physical form, if requested, exists for the method.
    fn validate_physical(&self) -> Result<()> {
        if self.physical && self.method == Method::Unstructured {
            return Err(invalid(
                "physical",
                "unstructured pruning keeps every shape: it has no physically smaller form",
            ));
        }
        if self.physical && self.method == Method::LowRank && self.rank.is_none() {
            return Err(invalid(
                "physical",
                "the physical low-rank form needs one `rank` for every layer (the spec has one \
                 layer_rank); a per-layer `ratio` gives masked truncation only",
            ));
        }
        Ok(())
    }
}
