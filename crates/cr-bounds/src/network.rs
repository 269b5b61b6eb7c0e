//! Theorem 3.2 on a chain of layers (paper Eq. 8, 9): per-layer reports, the alignment terms
//! of consecutive pairs, S_opt, and the network bounds next to the looser and tighter
//! references.

use cr_linalg::{matrix::check_finite, norms, svd};
use serde::{Deserialize, Serialize};

use crate::alignment::{
    Alignment, Estimator, EstimatorSpec, LocalSearchOptions, Norm, PairSpec, alignment,
};
use crate::error::{BoundsError, Result, invalid};
use crate::theorem31::{
    KChoice, L2Bound, LinfBound, NuStats, VectorCompressibility, compressibility, l2_from_sigma,
};

pub use crate::layer::Layer;

/// What [`analyze`] computes and how.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundOptions {
    /// How k_ν and k_σ are chosen per layer (each layer and each norm separately); the
    /// alignment terms use the same k.
    pub k: KChoice,
    /// The estimator of the alignment terms' `max_D`.
    pub estimator: Estimator,
    /// Whether the last layer (the linear head C) is part of the bounded chain. True: the
    /// bound is for the whole network input → logits (what Corollary 3.3's multi-class form
    /// needs), the pair (last hidden, head) is eligible for S_opt. False: the bound is for the
    /// encoder Φ of Theorem 3.2, and the head is reported separately.
    pub include_head: bool,
    /// Seed of the local search.
    pub seed: u64,
    /// Activation patterns: `patterns[l]` are ReLU patterns (length `out` of layer l) of layer
    /// l's output, used for the pair (l, l+1) by DataDriven and LocalSearch.
    pub patterns: Option<Vec<Vec<Vec<bool>>>>,
    /// True (default): consecutive layers must chain (`in` of l+1 = `out` of l), else an
    /// error. False (conv nets with matricised filters): a pair that does not chain gets an
    /// alignment marked not applicable, factor 1 (the product bound is then a heuristic, not a
    /// certified bound on the conv operator).
    pub strict_shapes: bool,
    /// Limits of the local search.
    pub local_search: LocalSearchOptions,
}

impl Default for BoundOptions {
    fn default() -> Self {
        BoundOptions {
            k: KChoice::Minimise,
            estimator: Estimator::CertifiedUpper,
            include_head: true,
            seed: 0,
            patterns: None,
            strict_shapes: true,
            local_search: LocalSearchOptions::default(),
        }
    }
}

/// Per-layer statistics and Theorem 3.1 bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerReport {
    /// Position in the chain.
    pub index: usize,
    /// The layer's name.
    pub name: String,
    /// `[out, in]`.
    pub shape: [usize; 2],
    /// Whether this is the last layer (the head).
    pub is_head: bool,
    /// ‖W‖_∞.
    pub norm_inf: f64,
    /// ‖W‖₂.
    pub norm_2: f64,
    /// ‖W‖_F.
    pub norm_fro: f64,
    /// ‖W‖_F²/σ₁².
    pub stable_rank: f64,
    /// exp H(σ/‖σ‖₁).
    pub effective_rank: f64,
    /// ν at the ℓ∞ bound's k.
    pub nu: VectorCompressibility,
    /// σ at the ℓ2 bound's k.
    pub sigma: VectorCompressibility,
    /// Theorem 3.1 (a), Eq. (4).
    pub theorem_3_1_linf: LinfBound,
    /// Theorem 3.1 (b), Eq. (5).
    pub theorem_3_1_l2: L2Bound,
}

/// Theorem 3.2 for one norm, with the references it sits between.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkBound {
    /// ℓ∞ (Eq. 8) or ℓ2 (Eq. 9).
    pub norm: Norm,
    /// The estimator of the alignment terms.
    pub estimator: Estimator,
    /// Whether `theorem_3_2` is a certified upper bound on the chain's Lipschitz constant
    /// (certified estimator and every pair chains).
    pub certified: bool,
    /// Whether the head is in the chain (see [`BoundOptions::include_head`]).
    pub head_included: bool,
    /// Number of layers in the bounded chain.
    pub layers_in_chain: usize,
    /// Theorem 3.2: `product_theorem_3_1 × alignment_product`.
    pub theorem_3_2: f64,
    /// Π over the chain of the Theorem 3.1 bounds.
    pub product_theorem_3_1: f64,
    /// Π over the chain of the true operator norms (the product-of-norms bound).
    pub product_true_norms: f64,
    /// `product_true_norms × alignment_product`: the alignment correction applied to the true
    /// norms (a bound too, tighter than both products when the estimator is certified).
    pub aligned_true_norms: f64,
    /// Π of the alignment factors used: `Ã_∞*` over S_opt for ℓ∞ (Eq. 8), `A_2*` over every
    /// consecutive pair for ℓ2 (Eq. 9).
    pub alignment_product: f64,
    /// The pairs `(l, l+1)` whose factors enter `alignment_product`: S_opt for ℓ∞, every
    /// applicable consecutive pair for ℓ2 (the field keeps its name for old result files).
    pub s_opt: Vec<(usize, usize)>,
    /// Every consecutive pair's alignment term.
    pub alignment: Vec<Alignment>,
    /// The head's Theorem 3.1 bound (None when the network is one layer and it is in the
    /// chain).
    pub head_theorem_3_1: Option<f64>,
    /// The head's true operator norm: with the head excluded, Corollary 3.3's head factor
    /// (None when the network is one layer and it is in the chain).
    pub head_true_norm: Option<f64>,
}

/// Everything [`analyze`] computes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkReport {
    /// How k was chosen.
    pub k_choice: KChoice,
    /// One report per layer, in order.
    pub layers: Vec<LayerReport>,
    /// The ℓ2 (spectral) bound, Theorem 3.2 (b).
    pub l2: NetworkBound,
    /// The ℓ∞ (neuron) bound, Theorem 3.2 (a).
    pub linf: NetworkBound,
}

/// S_opt (paper Definition A.4, SPEC §2): given `factors[l]`, the alignment factor of the pair
/// `(l, l+1)` in a chain of `factors.len() + 1` layers, choose non-overlapping adjacent pairs
/// (each layer in at most one pair) minimising the product of the chosen factors, a layer left
/// unpaired contributing 1. A pair is taken only when that strictly lowers the product (ties
/// leave layers unpaired); NaN factors are never taken. Returns the product and the pairs.
/// A dynamic programme over the chain, O(λ).
pub fn s_opt(factors: &[f64]) -> (f64, Vec<(usize, usize)>) {
    let m = factors.len() + 1;
    // best[i]: the least product over the first i layers; took[i]: whether layer i−1 closes a
    // pair (i−2, i−1) in it.
    let mut best = vec![1.0f64; m + 1];
    let mut took = vec![false; m + 1];
    for i in 2..=m {
        let paired = best[i - 2] * factors[i - 2];
        best[i] = best[i - 1];
        if paired < best[i] {
            best[i] = paired;
            took[i] = true;
        }
    }
    let mut pairs = Vec::new();
    let mut i = m;
    while i >= 2 {
        if took[i] {
            pairs.push((i - 2, i - 1));
            i -= 2;
        } else {
            i -= 1;
        }
    }
    pairs.reverse();
    (best[m], pairs)
}

fn validate(layers: &[Layer], opts: &BoundOptions) -> Result<Vec<bool>> {
    if layers.is_empty() {
        return Err(BoundsError::Empty);
    }
    for l in layers {
        let (r, c) = (l.matrix.nrows(), l.matrix.ncols());
        if r == 0 || c == 0 {
            return Err(BoundsError::Shape {
                layer: l.name.clone(),
                problem: format!("empty {r}x{c} matrix"),
            });
        }
        check_finite(&l.matrix, "the weight").map_err(|e| BoundsError::NonFinite {
            layer: l.name.clone(),
            detail: e.to_string(),
        })?;
    }
    let mut chains = Vec::new();
    for w in layers.windows(2) {
        let ok = w[1].matrix.ncols() == w[0].matrix.nrows();
        if !ok && opts.strict_shapes {
            return Err(BoundsError::Shape {
                layer: w[1].name.clone(),
                problem: format!(
                    "has {} inputs but the layer before it (`{}`) has {} outputs \
                     (set strict_shapes = false for matricised conv layers)",
                    w[1].matrix.ncols(),
                    w[0].name,
                    w[0].matrix.nrows()
                ),
            });
        }
        chains.push(ok);
    }
    if let Some(p) = &opts.patterns
        && p.len() >= layers.len()
    {
        return Err(invalid(
            "patterns",
            format!(
                "{} pattern sets for {} layers; there is one per hidden layer (at most {})",
                p.len(),
                layers.len(),
                layers.len() - 1
            ),
        ));
    }
    Ok(chains)
}

/// Everything for a chain of layers (SPEC §2): per-layer norms, ranks, compressibility and
/// Theorem 3.1 bounds (Eq. 4, 5) at `opts.k`; for each norm the alignment terms of every
/// consecutive pair (Eq. 6, 7) by `opts.estimator`, and Theorem 3.2 — ℓ∞ (Eq. 8) with the
/// alignment factors of S_opt, ℓ2 (Eq. 9) with those of every consecutive pair — beside
/// the product of Theorem 3.1 bounds and the product of true norms.
///
/// The network is `W_L φ(W_{L−1} … φ(W_1 x))`, ReLU φ, the last layer the linear head.
///
/// # Errors
/// [`BoundsError::Empty`]; [`BoundsError::Shape`] / [`BoundsError::NonFinite`] naming the
/// layer; [`BoundsError::Invalid`] for bad options or patterns; [`BoundsError::TooLarge`]
/// for Exact above its limit; [`BoundsError::Linalg`].
pub fn analyze(layers: &[Layer], opts: &BoundOptions) -> Result<NetworkReport> {
    let chains = validate(layers, opts)?;
    let n = layers.len();
    let mut reports = Vec::with_capacity(n);
    for (index, layer) in layers.iter().enumerate() {
        let w = &layer.matrix;
        let named = |e: BoundsError| match e {
            BoundsError::Invalid { field, problem } => BoundsError::Invalid {
                field: format!("{field} (layer `{}`)", layer.name),
                problem,
            },
            other => other,
        };
        let nu_stats = NuStats::new(w).map_err(named)?;
        let linf = nu_stats.bound(opts.k, None).map_err(named)?;
        let sigma = svd::singular_values(w)?;
        let l2 = l2_from_sigma(&sigma, w.nrows(), opts.k).map_err(named)?;
        reports.push(LayerReport {
            index,
            name: layer.name.clone(),
            shape: [w.nrows(), w.ncols()],
            is_head: index + 1 == n,
            norm_inf: norms::inf_norm(w),
            norm_2: sigma[0],
            norm_fro: norms::frobenius(w),
            stable_rank: norms::stable_rank(&sigma),
            effective_rank: norms::effective_rank(&sigma),
            nu: compressibility(&nu_stats.nu, linf.k)?,
            sigma: compressibility(&sigma, l2.k)?,
            theorem_3_1_linf: linf,
            theorem_3_1_l2: l2,
        });
    }
    let chain_len = if opts.include_head { n } else { n - 1 };
    let linf = network_bound(layers, &reports, &chains, chain_len, Norm::Linf, opts)?;
    let l2 = network_bound(layers, &reports, &chains, chain_len, Norm::L2, opts)?;
    Ok(NetworkReport {
        k_choice: opts.k,
        layers: reports,
        l2,
        linf,
    })
}

/// Theorem 3.2 for `norm` over the first `chain_len` layers, beside the product of
/// Theorem 3.1 bounds and of true norms.
fn network_bound(
    layers: &[Layer],
    reports: &[LayerReport],
    chains: &[bool],
    chain_len: usize,
    norm: Norm,
    opts: &BoundOptions,
) -> Result<NetworkBound> {
    let alignments = pair_alignments(layers, reports, chains, chain_len, norm, opts)?;
    let (alignment_product, pairs) = alignment_product(&alignments, norm);
    let product_theorem_3_1: f64 = reports[..chain_len]
        .iter()
        .map(|r| pick(r, norm).0)
        .product();
    let product_true_norms: f64 = reports[..chain_len]
        .iter()
        .map(|r| pick(r, norm).1)
        .product();
    let head = (reports.len() >= 2 || chain_len < reports.len())
        .then(|| pick(&reports[reports.len() - 1], norm));
    Ok(NetworkBound {
        norm,
        estimator: opts.estimator,
        certified: opts.estimator.is_certified() && chains.iter().all(|c| *c),
        head_included: chain_len == reports.len(),
        layers_in_chain: chain_len,
        theorem_3_2: product_theorem_3_1 * alignment_product,
        product_theorem_3_1,
        product_true_norms,
        aligned_true_norms: product_true_norms * alignment_product,
        alignment_product,
        s_opt: pairs,
        alignment: alignments,
        head_theorem_3_1: head.map(|h| h.0),
        head_true_norm: head.map(|h| h.1),
    })
}

/// A layer's Theorem 3.1 bound, true norm and k in `norm`.
fn pick(r: &LayerReport, norm: Norm) -> (f64, f64, usize) {
    match norm {
        Norm::Linf => (
            r.theorem_3_1_linf.bound,
            r.theorem_3_1_linf.true_norm,
            r.theorem_3_1_linf.k,
        ),
        Norm::L2 => (
            r.theorem_3_1_l2.bound,
            r.theorem_3_1_l2.true_norm,
            r.theorem_3_1_l2.k,
        ),
    }
}

/// The alignment term of every consecutive pair among the first `chain_len` layers (not
/// applicable where a pair does not chain), each at the k of its layers' Theorem 3.1 bounds.
fn pair_alignments(
    layers: &[Layer],
    reports: &[LayerReport],
    chains: &[bool],
    chain_len: usize,
    norm: Norm,
    opts: &BoundOptions,
) -> Result<Vec<Alignment>> {
    let mut alignments = Vec::new();
    for l in 0..chain_len.saturating_sub(1) {
        let names = (layers[l].name.clone(), layers[l + 1].name.clone());
        if !chains[l] {
            alignments.push(Alignment::not_applicable(
                (l, l + 1),
                names,
                norm,
                opts.estimator,
            ));
            continue;
        }
        let patterns: &[Vec<bool>] = opts
            .patterns
            .as_ref()
            .and_then(|p| p.get(l))
            .map_or(&[], |v| v.as_slice());
        let pair = PairSpec {
            lower: &layers[l],
            upper: &layers[l + 1],
            k_lower: pick(&reports[l], norm).2,
            k_upper: pick(&reports[l + 1], norm).2,
        };
        let spec = EstimatorSpec {
            estimator: opts.estimator,
            patterns,
            search: opts.local_search,
            seed: opts.seed.wrapping_add(l as u64),
        };
        let mut a = alignment(&pair, norm, &spec)?;
        a.pair = (l, l + 1);
        alignments.push(a);
    }
    Ok(alignments)
}

/// The product of alignment factors Theorem 3.2 uses for `norm`, and the pairs it uses.
fn alignment_product(alignments: &[Alignment], norm: Norm) -> (f64, Vec<(usize, usize)>) {
    let factors: Vec<f64> = alignments.iter().map(|a| a.a_star).collect();
    match norm {
        // Eq. (8): Ã_∞* over the pairs of S_opt only.
        Norm::Linf => s_opt(&factors),
        // Eq. (9): A_2* over every consecutive pair (each layer's √Σ splits between its two
        // neighbours, so no pairing is needed); a pair that does not chain counts 1.
        Norm::L2 => (
            factors.iter().product::<f64>(),
            alignments
                .iter()
                .filter(|a| a.applicable)
                .map(|a| a.pair)
                .collect(),
        ),
    }
}
