//! Summary statistics: means with standard deviations and t-intervals over seeds, quantiles,
//! and rank (Spearman, Kendall) and linear (Pearson) correlations. Non-finite values are left
//! out everywhere (one rule for every function here).

/// Mean and (sample) standard deviation; the deviation is `None` for fewer than two values.
pub fn mean_std(v: &[f64]) -> (f64, Option<f64>) {
    let v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return (f64::NAN, None);
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    if v.len() < 2 {
        return (m, None);
    }
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64;
    (m, Some(var.sqrt()))
}

/// The pairs `(x_i, y_i)` where both are finite.
fn finite_pairs(x: &[f64], y: &[f64]) -> Vec<(f64, f64)> {
    x.iter()
        .zip(y)
        .map(|(a, b)| (*a, *b))
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .collect()
}

/// Pearson's correlation of the finite pairs (NaN when fewer than 3 or a series is constant).
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let pairs = finite_pairs(x, y);
    if pairs.len() < 3 {
        return f64::NAN;
    }
    let n = pairs.len() as f64;
    let (mx, my) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in &pairs {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    if sxx == 0.0 || syy == 0.0 {
        return f64::NAN;
    }
    sxy / (sxx * syy).sqrt()
}

/// Average ranks (ties share the mean of their ranks), 1-based.
pub fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|a, b| v[*a].total_cmp(&v[*b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for k in i..=j {
            r[idx[k]] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman's rank correlation of the finite pairs.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    let pairs = finite_pairs(x, y);
    let (a, b): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
    pearson(&ranks(&a), &ranks(&b))
}

/// Kendall's τ_b of the finite pairs (ties in either series handled as in τ_b); NaN when
/// fewer than 2 pairs or a series is constant.
pub fn kendall(x: &[f64], y: &[f64]) -> f64 {
    let pairs = finite_pairs(x, y);
    let n = pairs.len();
    if n < 2 {
        return f64::NAN;
    }
    let (mut concordant, mut discordant, mut tie_x, mut tie_y) = (0i64, 0i64, 0i64, 0i64);
    for i in 0..n {
        for j in i + 1..n {
            let dx = pairs[i].0 - pairs[j].0;
            let dy = pairs[i].1 - pairs[j].1;
            match (dx == 0.0, dy == 0.0) {
                (true, true) => {}
                (true, false) => tie_x += 1,
                (false, true) => tie_y += 1,
                (false, false) => {
                    if (dx > 0.0) == (dy > 0.0) {
                        concordant += 1
                    } else {
                        discordant += 1
                    }
                }
            }
        }
    }
    let nx = (concordant + discordant + tie_y) as f64;
    let ny = (concordant + discordant + tie_x) as f64;
    if nx == 0.0 || ny == 0.0 {
        return f64::NAN;
    }
    (concordant - discordant) as f64 / (nx * ny).sqrt()
}

/// The `q`-quantile (0 ≤ q ≤ 1) of the finite values, by linear interpolation between order
/// statistics (numpy's default); NaN when there is none.
pub fn quantile(v: &[f64], q: f64) -> f64 {
    let mut v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom (two-sided 95%), from a
/// table for df ≤ 30 and the normal value beyond.
pub fn t975(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        d if d <= 30 => T[d - 1],
        _ => 1.960,
    }
}

/// The 80% quantile of Student's t with `df` degrees of freedom (for 80% power), from a
/// table for df ≤ 30 and the normal value beyond.
pub fn t80(df: usize) -> f64 {
    const T: [f64; 30] = [
        1.376, 1.061, 0.978, 0.941, 0.920, 0.906, 0.896, 0.889, 0.883, 0.879, 0.876, 0.873, 0.870,
        0.868, 0.866, 0.865, 0.863, 0.862, 0.861, 0.860, 0.859, 0.858, 0.858, 0.857, 0.856, 0.856,
        0.855, 0.855, 0.854, 0.854,
    ];
    match df {
        0 => f64::NAN,
        d if d <= 30 => T[d - 1],
        _ => 0.842,
    }
}

/// Holm's step-down adjustment of the p-values `p` (same order back; each at most 1 and
/// never below the adjusted value of a smaller raw p).
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut idx: Vec<usize> = (0..m).collect();
    idx.sort_by(|a, b| p[*a].total_cmp(&p[*b]));
    let mut out = vec![f64::NAN; m];
    let mut running = 0.0f64;
    for (rank, i) in idx.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[*i]).min(1.0));
        out[*i] = running;
    }
    out
}

/// The ordinary least-squares slope of `y` on the positions `0, 1, …` (NaN for fewer than
/// two values).
pub fn slope_on_steps(y: &[f64]) -> f64 {
    let n = y.len();
    if n < 2 {
        return f64::NAN;
    }
    let xm = (n - 1) as f64 / 2.0;
    let ym = y.iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, v) in y.iter().enumerate() {
        let dx = i as f64 - xm;
        sxy += dx * (v - ym);
        sxx += dx * dx;
    }
    sxy / sxx
}

/// Mean and the half-width of its two-sided 95% t-interval over the finite values (`None`
/// for fewer than two).
pub fn mean_ci95(v: &[f64]) -> (f64, Option<f64>) {
    let n = v.iter().filter(|x| x.is_finite()).count();
    let (m, sd) = mean_std(v);
    (m, sd.map(|s| t975(n - 1) * s / (n as f64).sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlations_match_numpy_and_scipy() {
        // Deviations (−2, −1, 0, 1, 2) and (−1, −2, 1, 0, 2): Σ = 8, both sums of squares 10.
        let (a, b) = ([1., 2., 3., 4., 5.], [2., 1., 4., 3., 5.]);
        assert!((pearson(&a, &b) - 0.8).abs() < 1e-15);
        assert!((spearman(&a, &b) - 0.8).abs() < 1e-15);
        // numpy.corrcoef([1,2,3,4], [1,4,9,16]) = 25/√645; Spearman 1 (monotone).
        let (x, y) = ([1., 2., 3., 4.], [1., 4., 9., 16.]);
        assert!((pearson(&x, &y) - 0.9843740386976972).abs() < 1e-15);
        assert!((spearman(&x, &y) - 1.0).abs() < 1e-15);
        // Ties: scipy.stats.spearmanr([1,2,2,3], [1,3,2,4]) = 3/√10 = 0.9486832980505138.
        assert_eq!(ranks(&[1., 2., 2., 3.]), vec![1.0, 2.5, 2.5, 4.0]);
        let s = spearman(&[1., 2., 2., 3.], &[1., 3., 2., 4.]);
        assert!((s - 0.9486832980505138).abs() < 1e-15);
        // Anti-correlation; a constant series, too few pairs and non-finite values.
        assert!((pearson(&[1., 2., 3.], &[3., 2., 1.]) + 1.0).abs() < 1e-15);
        assert!(pearson(&[1., 1., 1.], &[1., 2., 3.]).is_nan());
        assert!(pearson(&[1.], &[1.]).is_nan());
        assert!(spearman(&[1., 2.], &[1.]).is_nan());
        assert!(spearman(&[1., f64::NAN, 3.], &[1., 2., 3.]).is_nan());
        // A non-finite pair is left out, not propagated.
        let p = pearson(&[1., 2., f64::NAN, 3., 4.], &[2., 1., 9., 4., 3.]);
        assert!((p - pearson(&[1., 2., 3., 4.], &[2., 1., 4., 3.])).abs() < 1e-15);
    }

    #[test]
    fn kendall_by_hand() {
        // 5 pairs, x = 1..5, y = (1, 3, 2, 5, 4): 8 concordant, 2 discordant → τ = 0.6.
        assert!((kendall(&[1., 2., 3., 4., 5.], &[1., 3., 2., 5., 4.]) - 0.6).abs() < 1e-12);
        assert_eq!(kendall(&[1., 2., 3.], &[3., 2., 1.]), -1.0);
        // One tie in y: pairs (1,2) tie, (1,3) and (2,3) concordant: τ_b = 2 / √(3·2).
        let t = kendall(&[1., 2., 3.], &[1., 1., 2.]);
        assert!((t - 2.0 / 6f64.sqrt()).abs() < 1e-12, "{t}");
        assert!(kendall(&[1., 2.], &[5., 5.]).is_nan());
        assert!(kendall(&[1.0, f64::NAN, 3.0], &[1.0, 2.0, 0.0]) == -1.0);
    }

    #[test]
    fn quantiles_and_intervals_by_hand() {
        assert_eq!(quantile(&[3., 1., 2., 4.], 0.5), 2.5);
        assert_eq!(quantile(&[3., 1., 2., 4.], 0.0), 1.0);
        assert_eq!(quantile(&[3., 1., 2., 4.], 1.0), 4.0);
        assert!((quantile(&[0., 10.], 0.25) - 2.5).abs() < 1e-12);
        assert!(quantile(&[f64::NAN], 0.5).is_nan());
        // n = 3, sd = 1: half-width = 4.303 / √3.
        let (m, h) = mean_ci95(&[1., 2., 3.]);
        assert_eq!(m, 2.0);
        assert!((h.unwrap() - 4.303 / 3f64.sqrt()).abs() < 1e-12);
        assert_eq!(mean_ci95(&[1.0]).1, None);
    }

    #[test]
    fn holm_and_slopes_by_hand() {
        // p = (0.01, 0.04, 0.03, 0.005), m = 4: sorted 0.005·4, 0.01·3, 0.03·2, 0.04·1.
        let a = holm(&[0.01, 0.04, 0.03, 0.005]);
        let want = [0.03, 0.06, 0.06, 0.02];
        for (x, w) in a.iter().zip(want) {
            assert!((x - w).abs() < 1e-12, "{a:?}");
        }
        assert_eq!(holm(&[0.9, 0.8]), vec![1.0, 1.0]);
        assert!((slope_on_steps(&[1.0, 3.0, 5.0]) - 2.0).abs() < 1e-12);
        // y = (0, 1, 0, 1): Σdx·dy = (−1.5)(−.5)+(−.5)(.5)+(.5)(−.5)+(1.5)(.5) = 1; Σdx² = 5.
        assert!((slope_on_steps(&[0.0, 1.0, 0.0, 1.0]) - 0.2).abs() < 1e-12);
        assert!(slope_on_steps(&[1.0]).is_nan());
        assert_eq!((t80(2), t80(100)), (1.061, 0.842));
    }

    #[test]
    fn hand_values() {
        assert_eq!(mean_std(&[1.0, 3.0]), (2.0, Some(2f64.sqrt())));
        assert_eq!(mean_std(&[4.0]), (4.0, None));
        assert!((pearson(&[1., 2., 3.], &[2., 4., 6.]) - 1.0).abs() < 1e-12);
        assert!((pearson(&[1., 2., 3.], &[3., 2., 1.]) + 1.0).abs() < 1e-12);
        // x = 1..5, y = (1, 3, 2, 5, 4): Pearson = 0.8.
        assert!((pearson(&[1., 2., 3., 4., 5.], &[1., 3., 2., 5., 4.]) - 0.8).abs() < 1e-12);
        // Monotone but non-linear: Spearman 1, Pearson < 1.
        let x = [1., 2., 3., 4.];
        let y = [1., 10., 100., 1000.];
        assert!((spearman(&x, &y) - 1.0).abs() < 1e-12);
        assert!(pearson(&x, &y) < 0.99);
        assert_eq!(ranks(&[10., 20., 20., 5.]), vec![2.0, 3.5, 3.5, 1.0]);
        assert!(pearson(&[1., 1., 1.], &[1., 2., 3.]).is_nan());
    }
}
