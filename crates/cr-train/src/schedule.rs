//! Learning-rate schedules, stepped once per epoch as PyTorch's `CosineAnnealingLR` and
//! `StepLR` are in the paper's setting.

use serde::{Deserialize, Serialize};

use crate::error::{TrainError, invalid};

/// A learning-rate schedule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Schedule {
    /// The base rate throughout.
    #[default]
    Constant,
    /// Cosine annealing from the base rate to `min_lr` over the run:
    /// `η_e = η_min + (η − η_min)(1 + cos(π e / E))/2` at epoch e of E.
    Cosine {
        /// Final learning rate.
        #[serde(default)]
        min_lr: f64,
    },
    /// Multiply by `gamma` every `every` epochs.
    Step {
        /// Period in epochs.
        every: usize,
        /// Factor.
        gamma: f64,
    },
}

impl Schedule {
    /// The learning rate for (0-based) epoch `epoch` of `epochs`.
    pub fn lr(&self, base: f64, epoch: usize, epochs: usize) -> f64 {
        match self {
            Schedule::Constant => base,
            Schedule::Cosine { min_lr } => {
                let t = epoch as f64 / epochs.max(1) as f64;
                min_lr + (base - min_lr) * (1.0 + (std::f64::consts::PI * t).cos()) / 2.0
            }
            Schedule::Step { every, gamma } => base * gamma.powi((epoch / (*every).max(1)) as i32),
        }
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<(), TrainError> {
        match self {
            Schedule::Constant => Ok(()),
            Schedule::Cosine { min_lr } if !(min_lr.is_finite() && *min_lr >= 0.0) => {
                Err(invalid("schedule.min_lr", format!("{min_lr} must be >= 0")))
            }
            Schedule::Step { every: 0, .. } => Err(invalid("schedule.every", "must be >= 1")),
            Schedule::Step { gamma, .. } if !(gamma.is_finite() && *gamma > 0.0) => {
                Err(invalid("schedule.gamma", format!("{gamma} must be > 0")))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_matches_pytorch_closed_form() {
        let s = Schedule::Cosine { min_lr: 0.0 };
        assert_eq!(s.lr(0.1, 0, 10), 0.1);
        assert!((s.lr(0.1, 5, 10) - 0.05).abs() < 1e-15);
        assert!((s.lr(0.1, 10, 10)).abs() < 1e-15);
        // epoch 2 of 10: 0.05 (1 + cos(0.2π))
        let want = 0.05 * (1.0 + (0.2 * std::f64::consts::PI).cos());
        assert!((s.lr(0.1, 2, 10) - want).abs() < 1e-15);
    }

    #[test]
    fn step_decays_every_period() {
        let s = Schedule::Step {
            every: 3,
            gamma: 0.5,
        };
        let lrs: Vec<f64> = (0..7).map(|e| s.lr(1.0, e, 7)).collect();
        assert_eq!(lrs, vec![1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]);
    }

    #[test]
    fn bad_values_name_the_field() {
        let e = Schedule::Step {
            every: 0,
            gamma: 0.1,
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains("schedule.every"));
    }
}
