//! Interlayer alignment terms `A_∞*` and `A_2*` (paper Eq. 6, 7; SPEC §2) and their
//! estimators.
//!
//! For a pair of consecutive layers `W = W^l` (`h × n`) and `W' = W^{l+1}` (`h' × h`), with
//! `W_k` their compressed versions (ℓ∞: the k rows of largest ℓ1 norm kept, the rest zeroed;
//! ℓ2: the rank-k SVD truncation), and D ranging over the 2^h diagonal 0/1 matrices (ReLU
//! patterns of layer l's output):
//!
//! * `A_∞* = max_D ‖W'_k D W_k‖_∞ / (‖W'‖_∞ ‖W‖_∞) + R_∞`,
//!   `R_∞ = ν_{k+1}/ν_1 + ν'_{k'+1}/ν'_1 + ν_{k+1}ν'_{k'+1}/(ν_1 ν'_1)` (ν sorted decreasing);
//! * `A_2* = max_D ‖√Σ'_k V'_kᵀ D U_k √Σ_k‖₂ / √(‖W'‖₂‖W‖₂) + R_2`,
//!   `R_2 = √(σ_{k+1}/σ_1) + √(σ'_{k'+1}/σ'_1) + √(σ_{k+1}σ'_{k'+1}/(σ_1σ'_1))`.
//!
//! (The paper's printed R_2 has typos — `σ_k` for `σ_{k+1}`, a `/` for a product; SPEC §2
//! fixes it to the form above.) Each layer uses its own k (k_ν or k_σ of Theorem 3.1);
//! an index past the end reads as 0.
//!
//! **Why these are sound** (so that `max_D ‖W' D W‖ ≤ A*·‖W'‖‖W‖` for the *uncompressed*
//! pair, which is what Theorem 3.2 needs): split `W = W_k + W_r` (ℓ∞: kept rows + the rest,
//! `‖W_r‖_∞ = ν_{k+1}`; ℓ2: SVD blocks). Then `W' D W` is the sum of four products; the
//! triangle inequality and sub-multiplicativity bound the three products that involve a
//! remainder by the three terms of R times `‖W'‖‖W‖`. For ℓ2, `‖W' D W‖₂ = ‖Σ'V'ᵀ D U Σ‖₂ ≤
//! √σ'_1 ‖√Σ'V'ᵀ D U √Σ‖₂ √σ_1`, then the same four-block split.
//!
//! **Estimators** ([`Estimator`], named in every output):
//! * [`Estimator::Exact`]: Gray-code enumeration of all patterns. Bits that cannot change
//!   the product (a pattern bit j whose row of `W_k` or column of `W'_k` is zero) are fixed,
//!   so ℓ∞ enumerates only 2^(kept rows of W); more than [`EXACT_MAX_BITS`] free bits is an
//!   error, not a long wait.
//! * [`Estimator::CertifiedUpper`]: ℓ∞ `‖|W'_k| |W_k|‖_∞` (entrywise absolute values:
//!   `|Σ_j D_j a_ij b_jc| ≤ Σ_j |a_ij||b_jc|`). ℓ2: `min(‖|B| |A|‖₂, √(σ'_1σ_1))` with
//!   `B = √Σ'_k V'_kᵀ`, `A = U_k √Σ_k`: `|B D A| ≤ |B||A|` entrywise, the spectral norm of a
//!   matrix is at most that of its absolute value, and it is monotone on non-negative
//!   matrices (Perron–Frobenius); the second term is `‖B‖₂‖D‖₂‖A‖₂`. Both are ≥ Exact.
//! * [`Estimator::DataDriven`]: the maximum over caller-supplied patterns (a lower estimate).
//! * [`Estimator::LocalSearch`]: greedy single-bit flips (first improvement, bit order
//!   shuffled per pass from a seeded ChaCha8 stream) from the best data patterns, or from
//!   all-ones when there are none; every data pattern is evaluated first, so it is never
//!   below DataDriven (a lower estimate).
//!
//! The remainder R is added to every estimator's max term; only Exact and CertifiedUpper
//! give a certified `A*` (field [`Alignment::certified`]).

use cr_linalg::{Mat, compress, norms, svd};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::error::{BoundsError, Result, invalid};
use crate::layer::Layer;

/// The most free pattern bits [`Estimator::Exact`] enumerates (2^20 ≈ 10⁶ patterns).
pub const EXACT_MAX_BITS: usize = 20;

/// How `max_D` is estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Estimator {
    /// Enumeration of all patterns (certified; at most [`EXACT_MAX_BITS`] free bits).
    Exact,
    /// A certified upper estimate by absolute values.
    CertifiedUpper,
    /// The maximum over the caller's activation patterns (a lower estimate).
    DataDriven,
    /// Greedy bit flips from the data patterns (a lower estimate).
    LocalSearch,
}

impl Estimator {
    /// Whether the estimate is ≥ the exact maximum (so the network bound is certified).
    pub fn is_certified(self) -> bool {
        matches!(self, Estimator::Exact | Estimator::CertifiedUpper)
    }
}

/// Which operator norm: ℓ∞ → ℓ∞ (max row ℓ1; row / neuron compressibility) or ℓ2 → ℓ2 (σ₁;
/// spectral). cr's one norm type.
pub use cr_linalg::Norm;

/// Limits of [`Estimator::LocalSearch`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LocalSearchOptions {
    /// Climb from at most this many starts (the best data patterns).
    pub max_starts: usize,
    /// At most this many passes over the bits per start.
    pub max_passes: usize,
}

impl Default for LocalSearchOptions {
    fn default() -> Self {
        LocalSearchOptions {
            max_starts: 16,
            max_passes: 50,
        }
    }
}

/// One alignment term of one pair of layers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alignment {
    /// Indices `(l, l+1)` of the pair in the chain passed to [`crate::analyze`].
    pub pair: (usize, usize),
    /// Names of the two layers.
    pub names: (String, String),
    /// ℓ∞ (Eq. 6) or ℓ2 (Eq. 7).
    pub norm: Norm,
    /// The estimator of `max_D`.
    pub estimator: Estimator,
    /// False when the two matrices do not chain (`in` of `l+1` ≠ `out` of `l`, e.g. matricised
    /// conv filters): then the term is not defined and the pair's factor is 1.
    pub applicable: bool,
    /// The ks used for `W^l` and `W^{l+1}`.
    pub k: (usize, usize),
    /// The estimated `max_D ‖…‖ / normaliser`.
    pub max_term: f64,
    /// R_∞ or R_2.
    pub remainder: f64,
    /// `A* = max_term + remainder` (1 when not applicable).
    pub a_star: f64,
    /// Whether `a_star` is ≥ the true A* (Exact or CertifiedUpper).
    pub certified: bool,
    /// Patterns evaluated (0 for CertifiedUpper).
    pub patterns_evaluated: u64,
}

impl Alignment {
    /// The term of a pair whose shapes do not chain: factor 1.
    pub fn not_applicable(
        pair: (usize, usize),
        names: (String, String),
        norm: Norm,
        estimator: Estimator,
    ) -> Self {
        Alignment {
            pair,
            names,
            norm,
            estimator,
            applicable: false,
            k: (0, 0),
            max_term: 1.0,
            remainder: 0.0,
            a_star: 1.0,
            certified: true,
            patterns_evaluated: 0,
        }
    }
}

/// The remainder `R_∞` (ℓ∞: `sorted` are the row ℓ1 norms ν) or `R_2` (ℓ2: the singular
/// values σ) of a pair, from each layer's vector sorted decreasing and its k (SPEC §2).
pub fn remainder(norm: Norm, lower: &[f64], k_lower: usize, upper: &[f64], k_upper: usize) -> f64 {
    let ratio = |v: &[f64], k: usize| match v.first() {
        Some(&top) if top > 0.0 => v.get(k).copied().unwrap_or(0.0) / top,
        _ => 0.0,
    };
    let (a, b) = (ratio(lower, k_lower), ratio(upper, k_upper));
    match norm {
        Norm::Linf => a + b + a * b,
        Norm::L2 => a.sqrt() + b.sqrt() + (a * b).sqrt(),
    }
}

/// `P(D) = Σ_{j: D_j = 1} a_j b_jᵀ` over the free bits, kept up to date under bit flips.
struct Eval {
    norm: Norm,
    rows: usize,
    cols: usize,
    /// Per free bit: the pattern index, a_j (rows), b_j (cols).
    bits: Vec<(usize, Vec<f64>, Vec<f64>)>,
    p: Vec<f64>,
    on: Vec<bool>,
}

impl Eval {
    fn new(norm: Norm, rows: usize, cols: usize, bits: Vec<(usize, Vec<f64>, Vec<f64>)>) -> Self {
        let n = bits.len();
        Eval {
            norm,
            rows,
            cols,
            bits,
            p: vec![0.0; rows * cols],
            on: vec![false; n],
        }
    }

    fn toggle(&mut self, bit: usize) {
        let s = if self.on[bit] { -1.0 } else { 1.0 };
        self.on[bit] = !self.on[bit];
        let (_, a, b) = &self.bits[bit];
        for (i, ai) in a.iter().enumerate() {
            if *ai != 0.0 {
                let row = &mut self.p[i * self.cols..(i + 1) * self.cols];
                for (pc, bc) in row.iter_mut().zip(b) {
                    *pc += s * ai * bc;
                }
            }
        }
    }

    /// Sets the free bits from a full-length pattern, recomputing P from scratch.
    fn set_pattern(&mut self, pattern: &[bool]) {
        self.p.iter_mut().for_each(|v| *v = 0.0);
        self.on.iter_mut().for_each(|v| *v = false);
        for bit in 0..self.bits.len() {
            if pattern[self.bits[bit].0] {
                self.toggle(bit);
            }
        }
    }

    fn value(&self) -> Result<f64> {
        if self.rows == 0 || self.cols == 0 {
            return Ok(0.0);
        }
        Ok(match self.norm {
            Norm::Linf => self
                .p
                .chunks(self.cols)
                .map(|r| r.iter().map(|v| v.abs()).sum::<f64>())
                .fold(0.0, f64::max),
            Norm::L2 => {
                let m = Mat::from_fn(self.rows, self.cols, |i, j| self.p[i * self.cols + j]);
                svd::spectral_norm(&m)?
            }
        })
    }
}

/// A pair of consecutive layers and the k of each (from Theorem 3.1).
#[derive(Debug, Clone, Copy)]
pub struct PairSpec<'a> {
    /// `W^l`, `[h, n]`.
    pub lower: &'a Layer,
    /// `W^{l+1}`, `[h', h]`.
    pub upper: &'a Layer,
    /// k of `W^l` (k_ν for ℓ∞, k_σ for ℓ2), at least 1.
    pub k_lower: usize,
    /// k of `W^{l+1}`, at least 1.
    pub k_upper: usize,
}

/// The estimator's settings.
#[derive(Debug, Clone, Copy)]
pub struct EstimatorSpec<'a> {
    /// Which estimator.
    pub estimator: Estimator,
    /// Activation patterns of layer l's output (each of length h); DataDriven needs at
    /// least one, LocalSearch starts from them.
    pub patterns: &'a [Vec<bool>],
    /// Local-search limits.
    pub search: LocalSearchOptions,
    /// Seed of the local search's bit order.
    pub seed: u64,
}

/// The free bits and the normaliser of a pair, for either norm.
fn build(pair: &PairSpec<'_>, norm: Norm) -> Result<(Eval, f64, f64)> {
    let (w, wu) = (&pair.lower.matrix, &pair.upper.matrix);
    let h = w.nrows();
    match norm {
        Norm::Linf => {
            let nu = norms::row_norms(w, 1.0);
            let nu_u = norms::row_norms(wu, 1.0);
            let kept = compress::top_k_indices(&nu, pair.k_lower)?;
            let kept_u = compress::top_k_indices(&nu_u, pair.k_upper)?;
            let mut bits = Vec::new();
            for &j in &kept {
                let a: Vec<f64> = kept_u.iter().map(|&i| wu[(i, j)]).collect();
                if nu[j] > 0.0 && a.iter().any(|v| *v != 0.0) {
                    let b: Vec<f64> = (0..w.ncols()).map(|c| w[(j, c)]).collect();
                    bits.push((j, a, b));
                }
            }
            let normaliser = nu.iter().fold(0.0, |m: f64, v| m.max(*v))
                * nu_u.iter().fold(0.0, |m: f64, v| m.max(*v));
            let s = compress::sorted_magnitudes(&nu);
            let su = compress::sorted_magnitudes(&nu_u);
            let rem = remainder(norm, &s, pair.k_lower, &su, pair.k_upper);
            Ok((
                Eval::new(norm, kept_u.len(), w.ncols(), bits),
                normaliser,
                rem,
            ))
        }
        Norm::L2 => {
            let d = svd::thin_svd(w)?;
            let du = svd::thin_svd(wu)?;
            let k = pair.k_lower.min(d.s.len());
            let ku = pair.k_upper.min(du.s.len());
            let mut bits = Vec::new();
            for j in 0..h {
                // a_j = column j of √Σ'_k V'_kᵀ; b_j = row j of U_k √Σ_k.
                let a: Vec<f64> = (0..ku).map(|i| du.s[i].sqrt() * du.v[(j, i)]).collect();
                let b: Vec<f64> = (0..k).map(|c| d.u[(j, c)] * d.s[c].sqrt()).collect();
                if a.iter().any(|v| *v != 0.0) && b.iter().any(|v| *v != 0.0) {
                    bits.push((j, a, b));
                }
            }
            let normaliser = (d.s[0] * du.s[0]).sqrt();
            let rem = remainder(norm, &d.s, pair.k_lower, &du.s, pair.k_upper);
            Ok((Eval::new(norm, ku, k, bits), normaliser, rem))
        }
    }
}

/// The alignment term of one pair (paper Eq. 6 for [`Norm::Linf`], Eq. 7 for [`Norm::L2`]) by
/// the chosen estimator. `pair.upper` must chain with `pair.lower` (its `in` = the lower
/// layer's `out`); [`Alignment::pair`] is set to `(0, 1)` — [`crate::analyze`] renumbers it.
///
/// # Errors
/// [`BoundsError::Shape`] when the pair does not chain; [`BoundsError::TooLarge`] for Exact
/// above [`EXACT_MAX_BITS`] free bits; [`BoundsError::Invalid`] for k = 0, a pattern of the
/// wrong length, or DataDriven without patterns; [`BoundsError::Linalg`].
pub fn alignment(pair: &PairSpec<'_>, norm: Norm, spec: &EstimatorSpec<'_>) -> Result<Alignment> {
    let (lo, up) = (pair.lower, pair.upper);
    check_pair(pair, spec)?;
    let (mut eval, normaliser, rem) = build(pair, norm)?;
    let (raw, evaluated) = estimate_max(&mut eval, pair, norm, spec, normaliser)?;
    let max_term = if normaliser > 0.0 {
        raw / normaliser
    } else {
        0.0
    };
    Ok(Alignment {
        pair: (0, 1),
        names: (lo.name.clone(), up.name.clone()),
        norm,
        estimator: spec.estimator,
        applicable: true,
        k: (pair.k_lower, pair.k_upper),
        max_term,
        remainder: rem,
        a_star: max_term + rem,
        certified: spec.estimator.is_certified(),
        patterns_evaluated: evaluated,
    })
}

/// Checks that the pair chains, both k are at least 1 and every pattern has the lower
/// layer's length.
fn check_pair(pair: &PairSpec<'_>, spec: &EstimatorSpec<'_>) -> Result<()> {
    let (lo, up) = (pair.lower, pair.upper);
    if up.matrix.ncols() != lo.matrix.nrows() {
        return Err(BoundsError::Shape {
            layer: up.name.clone(),
            problem: format!(
                "has {} inputs but the layer before it (`{}`) has {} outputs",
                up.matrix.ncols(),
                lo.name,
                lo.matrix.nrows()
            ),
        });
    }
    if pair.k_lower == 0 || pair.k_upper == 0 {
        return Err(invalid("k", "alignment needs k ≥ 1 for both layers"));
    }
    let h = lo.matrix.nrows();
    for (i, p) in spec.patterns.iter().enumerate() {
        if p.len() != h {
            return Err(invalid(
                format!("patterns[{i}] of layer `{}`", lo.name),
                format!("has length {} but the layer has {h} outputs", p.len()),
            ));
        }
    }
    Ok(())
}

/// The estimator's value of `max_D` of the pair's product (not yet normalised), and how many
/// patterns it evaluated.
fn estimate_max(
    eval: &mut Eval,
    pair: &PairSpec<'_>,
    norm: Norm,
    spec: &EstimatorSpec<'_>,
    normaliser: f64,
) -> Result<(f64, u64)> {
    let lo = pair.lower;
    let h = lo.matrix.nrows();
    match spec.estimator {
        Estimator::Exact => exact_max(eval, pair),
        Estimator::CertifiedUpper => {
            for (_, a, b) in eval.bits.iter_mut() {
                a.iter_mut().for_each(|v| *v = v.abs());
                b.iter_mut().for_each(|v| *v = v.abs());
            }
            eval.set_pattern(&vec![true; h]);
            let v = eval.value()?;
            let raw = match norm {
                Norm::Linf => v,
                Norm::L2 => v.min(normaliser),
            };
            Ok((raw, 0))
        }
        Estimator::DataDriven => {
            if spec.patterns.is_empty() {
                return Err(invalid(
                    format!("patterns of layer `{}`", lo.name),
                    "the data_driven estimator needs at least one activation pattern",
                ));
            }
            let mut evaluated = 0u64;
            let mut best = 0.0f64;
            for p in spec.patterns {
                eval.set_pattern(p);
                best = best.max(eval.value()?);
                evaluated += 1;
            }
            Ok((best, evaluated))
        }
        Estimator::LocalSearch => local_search(eval, spec, h),
    }
}

/// The exact `max_D` by Gray-code enumeration of every pattern of the free bits, and the
/// number of patterns evaluated.
fn exact_max(eval: &mut Eval, pair: &PairSpec<'_>) -> Result<(f64, u64)> {
    let nbits = eval.bits.len();
    if nbits > EXACT_MAX_BITS {
        return Err(BoundsError::TooLarge {
            lower: pair.lower.name.clone(),
            upper: pair.upper.name.clone(),
            bits: nbits,
            max: EXACT_MAX_BITS,
        });
    }
    let mut best = 0.0f64;
    let mut evaluated = 1; // the empty pattern, value 0
    for i in 1u64..(1u64 << nbits) {
        eval.toggle(i.trailing_zeros() as usize);
        best = best.max(eval.value()?);
        evaluated += 1;
    }
    Ok((best, evaluated))
}

fn local_search(eval: &mut Eval, spec: &EstimatorSpec<'_>, h: usize) -> Result<(f64, u64)> {
    let mut evaluated = 0u64;
    let mut scored: Vec<(f64, Vec<bool>)> = Vec::new();
    let starts: Vec<Vec<bool>> = if spec.patterns.is_empty() {
        vec![vec![true; h]]
    } else {
        spec.patterns.to_vec()
    };
    for p in starts {
        eval.set_pattern(&p);
        scored.push((eval.value()?, p));
        evaluated += 1;
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut best = scored.first().map_or(0.0, |s| s.0);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(spec.seed);
    let nbits = eval.bits.len();
    let mut order: Vec<usize> = (0..nbits).collect();
    for (start_value, start) in scored.iter().take(spec.search.max_starts.max(1)) {
        eval.set_pattern(start);
        let mut current = *start_value;
        for _ in 0..spec.search.max_passes {
            order.shuffle(&mut rng);
            let mut improved = false;
            for &bit in &order {
                eval.toggle(bit);
                let v = eval.value()?;
                evaluated += 1;
                if v > current * (1.0 + 1e-12) {
                    current = v;
                    improved = true;
                } else {
                    eval.toggle(bit);
                }
            }
            if !improved {
                break;
            }
        }
        best = best.max(current);
    }
    Ok((best, evaluated))
}
