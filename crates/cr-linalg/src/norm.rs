//! [`Norm`]: which ℓp norm, ℓ∞ or ℓ2 — the one type for a threat model (`‖x_adv − x‖ ≤ ε`
//! in cr-attacks), an operator norm (ℓ∞ → ℓ∞ or ℓ2 → ℓ2 in cr-bounds) and a config value
//! (`norm = "linf"` in cr-experiments).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::LinalgError;

/// ℓ∞ or ℓ2. Serialised and printed as `linf` / `l2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Norm {
    /// ℓ∞: every coordinate moves by at most ε; as an operator norm, the max row ℓ1.
    Linf,
    /// ℓ2: Euclidean length; as an operator norm, σ₁.
    L2,
}

impl Norm {
    /// The short name used in configs and on the command line (`linf`, `l2`).
    pub fn name(self) -> &'static str {
        match self {
            Norm::Linf => "linf",
            Norm::L2 => "l2",
        }
    }

    /// Name of the dual norm (`l1` for ℓ∞, `l2` for ℓ2): the norm in which input gradients
    /// measure sensitivity against this threat model.
    pub fn dual_name(self) -> &'static str {
        match self {
            Norm::Linf => "l1",
            Norm::L2 => "l2",
        }
    }
}

impl fmt::Display for Norm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Norm {
    type Err = LinalgError;

    /// Accepts `linf`, `inf`, `l_inf`, `li` and `l2`, `2`, `l_2` (any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "linf" | "inf" | "l_inf" | "li" => Ok(Norm::Linf),
            "l2" | "2" | "l_2" => Ok(Norm::L2),
            other => Err(LinalgError::Invalid {
                name: "norm",
                problem: format!("unknown norm `{other}` (expected `linf` or `l2`)"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_serde_agree() {
        for n in [Norm::Linf, Norm::L2] {
            assert_eq!(n.name().parse::<Norm>().unwrap(), n);
            assert_eq!(n.to_string(), n.name());
        }
        assert_eq!("Linf".parse::<Norm>().unwrap(), Norm::Linf);
        assert_eq!("2".parse::<Norm>().unwrap(), Norm::L2);
        let e = "l3".parse::<Norm>().unwrap_err().to_string();
        assert!(e.contains("l3") && e.contains("linf"), "{e}");
        assert_eq!(Norm::Linf.dual_name(), "l1");
    }
}
