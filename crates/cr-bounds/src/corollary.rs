//! Corollary 3.3: bounds on the adversarial risk gap `F^adv(θ; δ) − F(θ)` from a Lipschitz
//! bound (paper Corollary 3.3; SPEC §2).
//!
//! * **Binary logistic loss** `ℓ(y, ŷ) = log(1 + e^{−yŷ})`, `ŷ = θᵀΦ(x)`, y ∈ {±1}: ℓ is
//!   1-Lipschitz in ŷ (`|∂ℓ/∂ŷ| = 1/(1 + e^{yŷ}) ≤ 1`), and `|θᵀ(Φ(x') − Φ(x))| ≤ ‖θ‖_q
//!   ‖Φ(x') − Φ(x)‖_p` with q the dual of p. So for an ℓ∞ attack of radius δ,
//!   `F_∞^adv ≤ F + δ·L̂_Φ^∞·‖θ‖₁`, and for ℓ2, `F_2^adv ≤ F + δ·L̂_Φ^2·‖θ‖₂` (the paper prints
//!   `L̂_Φ^∞` in the ℓ2 case; the ℓ2 constant is the one the argument needs). L̂_Φ is the
//!   **encoder** bound ([`crate::BoundOptions::include_head`] = false).
//! * **Multi-class softmax cross-entropy** `ℓ(z, y) = −z_y + log Σ_j e^{z_j}`: its gradient in
//!   the logits is `p − e_y` (p = softmax(z)), with `‖p − e_y‖₁ = 2(1 − p_y) ≤ 2` and
//!   `‖p − e_y‖₂ = ((1−p_y)² + Σ_{j≠y} p_j²)^½ ≤ √2 (1 − p_y) ≤ √2`. By the mean value
//!   theorem and Hölder, `|ℓ(z') − ℓ(z)| ≤ 2‖z' − z‖_∞` and `≤ √2‖z' − z‖₂`. So the gap is at
//!   most `δ·C·L` with C = 2 (ℓ∞) or √2 (ℓ2) and L the **whole network's** (input → logits)
//!   bound ([`crate::BoundOptions::include_head`] = true).

use serde::{Deserialize, Serialize};

use crate::alignment::Norm;
use crate::error::{Result, invalid};

/// The loss the gap is bounded for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GapLoss {
    /// `log(1 + e^{−yθᵀΦ(x)})`, the paper's Corollary 3.3.
    BinaryLogistic,
    /// Softmax cross-entropy on the logits (the multi-class extension, SPEC §2).
    SoftmaxCrossEntropy,
}

/// A bound on the adversarial risk gap, with its factors: `gap = delta · lipschitz · constant`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RiskGap {
    /// The loss.
    pub loss: GapLoss,
    /// The attack norm.
    pub norm: Norm,
    /// The attack radius δ.
    pub delta: f64,
    /// The Lipschitz bound used (encoder for BinaryLogistic, whole network for
    /// SoftmaxCrossEntropy).
    pub lipschitz: f64,
    /// `‖θ‖₁`/`‖θ‖₂` of the head (BinaryLogistic) or 2/√2 (SoftmaxCrossEntropy).
    pub constant: f64,
    /// The bound on `F^adv − F`.
    pub gap: f64,
}

fn check(delta: f64, lipschitz: f64) -> Result<()> {
    if !(delta.is_finite() && delta >= 0.0) {
        return Err(invalid("delta", format!("{delta} is not a finite δ ≥ 0")));
    }
    if lipschitz.is_nan() || lipschitz < 0.0 {
        return Err(invalid("lipschitz", format!("{lipschitz} is not ≥ 0")));
    }
    Ok(())
}

/// The Lipschitz constant of softmax cross-entropy in the logits: 2 w.r.t. ℓ∞ (gradient ℓ1
/// norm ≤ 2), √2 w.r.t. ℓ2.
pub fn cross_entropy_logit_lipschitz(norm: Norm) -> f64 {
    match norm {
        Norm::Linf => 2.0,
        Norm::L2 => std::f64::consts::SQRT_2,
    }
}

/// Corollary 3.3, binary logistic loss: `F^adv − F ≤ δ·L̂_Φ·‖θ‖_q` (q = 1 for ℓ∞ attacks, 2 for
/// ℓ2), θ the head vector, `encoder_lipschitz` the encoder's bound in the attack norm.
///
/// # Errors
/// [`crate::BoundsError::Invalid`] for a negative or non-finite δ, a negative or NaN
/// Lipschitz bound, or a head with non-finite entries.
pub fn binary_logistic_gap(
    norm: Norm,
    delta: f64,
    encoder_lipschitz: f64,
    head: &[f64],
) -> Result<RiskGap> {
    check(delta, encoder_lipschitz)?;
    if head.iter().any(|v| !v.is_finite()) {
        return Err(invalid("head", "non-finite entry"));
    }
    let constant = match norm {
        Norm::Linf => head.iter().map(|v| v.abs()).sum(),
        Norm::L2 => head.iter().map(|v| v * v).sum::<f64>().sqrt(),
    };
    Ok(RiskGap {
        loss: GapLoss::BinaryLogistic,
        norm,
        delta,
        lipschitz: encoder_lipschitz,
        constant,
        gap: delta * encoder_lipschitz * constant,
    })
}

/// Corollary 3.3 for softmax cross-entropy: `F^adv − F ≤ δ·C·L̂` with C from
/// [`cross_entropy_logit_lipschitz`] and `network_lipschitz` the input → logits bound.
///
/// # Errors
/// As [`binary_logistic_gap`].
pub fn softmax_cross_entropy_gap(
    norm: Norm,
    delta: f64,
    network_lipschitz: f64,
) -> Result<RiskGap> {
    check(delta, network_lipschitz)?;
    let constant = cross_entropy_logit_lipschitz(norm);
    Ok(RiskGap {
        loss: GapLoss::SoftmaxCrossEntropy,
        norm,
        delta,
        lipschitz: network_lipschitz,
        constant,
        gap: delta * network_lipschitz * constant,
    })
}

/// Corollary 3.3 for softmax cross-entropy with its factors named (SPEC §2): the encoder
/// bound `L̂_Φ` of Theorem 3.2, the head factor `‖C‖_p` (the head's operator norm in the
/// attack norm; for a one-row head θᵀ it is the paper's `‖θ‖₁` (ℓ∞) / `‖θ‖₂` (ℓ2)), the
/// loss constant (2 for ℓ∞, √2 for ℓ2), and the input factor `‖N‖_p` of a fixed linear first
/// layer N (input normalisation `diag(1/std)`: `max_c 1/std_c`; 1 without one):
/// `F^adv − F ≤ δ · loss_constant · ‖N‖_p · L̂_Φ · ‖C‖_p`, since
/// `|ℓ(CΦ(Nx')) − ℓ(CΦ(Nx))| ≤ loss_constant·‖C‖_p·L̂_Φ·‖N(x' − x)‖_p`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GapBound {
    /// The loss (softmax cross-entropy).
    pub loss: GapLoss,
    /// The attack norm.
    pub norm: Norm,
    /// The attack radius δ.
    pub delta: f64,
    /// `‖N‖_p` of the fixed input normalisation (1 without one).
    pub input_factor: f64,
    /// Theorem 3.2's bound on the encoder Φ (hidden layers only).
    pub encoder_bound: f64,
    /// `‖C‖_p`: the head's operator norm in the attack norm (‖C‖_∞ = max row ℓ1, ‖C‖₂ = σ₁).
    pub head_factor: f64,
    /// The loss's Lipschitz constant in the logits ([`cross_entropy_logit_lipschitz`]).
    pub loss_constant: f64,
    /// `input_factor × encoder_bound × head_factor`: a bound on the whole network's
    /// (pixels → logits) Lipschitz constant.
    pub network_bound: f64,
    /// The bound on `F^adv − F`: `delta × loss_constant × network_bound`.
    pub gap_bound: f64,
}

/// [`GapBound`] for softmax cross-entropy from the input factor, the encoder bound and the
/// head's operator norm in the attack norm.
///
/// # Errors
/// [`crate::BoundsError::Invalid`] for a negative or non-finite δ, or a negative or NaN
/// input factor, encoder bound or head factor.
pub fn softmax_cross_entropy_gap_bound(
    norm: Norm,
    delta: f64,
    input_factor: f64,
    encoder_bound: f64,
    head_factor: f64,
) -> Result<GapBound> {
    check(delta, encoder_bound)?;
    for (v, f) in [(head_factor, "head_factor"), (input_factor, "input_factor")] {
        if v.is_nan() || v < 0.0 {
            return Err(invalid(f, format!("{v} is not ≥ 0")));
        }
    }
    let loss_constant = cross_entropy_logit_lipschitz(norm);
    let network_bound = input_factor * encoder_bound * head_factor;
    Ok(GapBound {
        loss: GapLoss::SoftmaxCrossEntropy,
        norm,
        delta,
        input_factor,
        encoder_bound,
        head_factor,
        loss_constant,
        network_bound,
        gap_bound: delta * loss_constant * network_bound,
    })
}
