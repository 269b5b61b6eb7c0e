//! Claims as data: what an experiment file says the paper claims, and what the report needs
//! to know about the experiment (its sweeps and extra panels).
//!
//! A claim names a quantity read from every run's `result.json` (a [`crate::quantity`]
//! path), what it is judged against (the swept strength, or another quantity that still moves
//! across the sweep), the direction the paper claims, the smallest change that counts as an
//! effect with its reason, and optionally the regime of the sweep it is about:
//!
//! ```toml
//! [[claims]]
//! id = "robust-falls"
//! text = "Robust accuracy falls as alpha grows"
//! sweep = "alpha"
//! quantity = "eval.robust_accuracy"
//! against = "strength"
//! direction = "decreasing"
//! min_effect = 0.02
//! reason = "2 accuracy points: about one binomial standard error at 1,000 test samples"
//! ```

use serde::{Deserialize, Serialize};

use crate::error::ReportError;
use crate::quantity::Path;

/// The direction a claim states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// The quantity rises with `against`.
    Increasing,
    /// The quantity falls with `against`.
    Decreasing,
    /// The quantity does not change by more than `min_effect` across the sweep.
    Flat,
    /// `quantity − baseline` is positive (difference claims).
    Higher,
    /// `quantity − baseline` is negative (difference claims).
    Lower,
}

impl Direction {
    /// Whether this is a difference direction (needs `baseline`).
    pub fn is_difference(self) -> bool {
        matches!(self, Direction::Higher | Direction::Lower)
    }
}

/// The scale a quantity is judged on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scale {
    /// Differences in the quantity's units; `min_effect` in those units.
    #[default]
    Linear,
    /// Differences of the logarithm (ratios); `min_effect` a relative change (0.1 = 10%).
    /// For rank-, norm- and ratio-valued quantities, whose meaningful changes are relative.
    Log,
}

/// A range of the swept strength a claim is about (inclusive ends), with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regime {
    /// Smallest strength judged.
    #[serde(default)]
    pub from: Option<f64>,
    /// Largest strength judged.
    #[serde(default)]
    pub to: Option<f64>,
    /// Why the claim is about this regime only.
    pub reason: String,
}

/// One claim of the paper, as data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// Short id, unique within the experiment.
    pub id: String,
    /// The claim in words (the paper's, shortened).
    pub text: String,
    /// The sweep (curve) it is judged on; every sweep of the experiment when absent.
    #[serde(default)]
    pub sweep: Option<String>,
    /// The quantity, a path into `result.json` (`eval.robust_accuracy`).
    pub quantity: String,
    /// Its name in tables and figures (defaults to the path).
    #[serde(default)]
    pub label: Option<String>,
    /// `strength` (the swept value; `"none"` reads `none_strength`) or a quantity path.
    #[serde(default = "strength")]
    pub against: String,
    /// The name of `against` in tables and figures.
    #[serde(default)]
    pub against_label: Option<String>,
    /// For difference claims: the quantity subtracted from `quantity` in the same run.
    #[serde(default)]
    pub baseline: Option<String>,
    /// The claimed direction.
    pub direction: Direction,
    /// The smallest change (in the quantity's units) that counts as an effect.
    pub min_effect: f64,
    /// Why that threshold.
    pub reason: String,
    /// Restricts the judged points to part of the sweep (the whole curve is still shown).
    #[serde(default)]
    pub regime: Option<Regime>,
    /// The scale the quantity is judged on (`linear` by default).
    #[serde(default)]
    pub scale: Scale,
    /// Why that scale (required for `log`).
    #[serde(default)]
    pub scale_reason: Option<String>,
    /// For a claim about a size: the paper's correlation between `against` and the quantity
    /// (the claim is then judged on Pearson's r, with Spearman's beside it).
    #[serde(default)]
    pub target: Option<f64>,
    /// Whether the claim is in the family adjusted for multiplicity (Holm); `false` for
    /// secondary rows (cross-checks of a primary claim).
    #[serde(default = "yes")]
    pub primary: bool,
}

fn yes() -> bool {
    true
}

fn strength() -> String {
    "strength".into()
}

impl Claim {
    /// Whether the claim is judged on `sweep`: every sweep when it names none.
    pub fn applies_to(&self, sweep: &SweepInfo) -> bool {
        self.sweep.as_ref().is_none_or(|n| *n == sweep.name)
    }
}

/// A curve of the experiment, as the report needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepInfo {
    /// Name.
    pub name: String,
    /// Swept key.
    pub key: String,
    /// Axis label.
    #[serde(default)]
    pub label: Option<String>,
    /// Where to read the strength of a `"none"` point (e.g. a rank sweep's full-rank
    /// baseline: `eval.compressibility.layers.0.numerical_rank`). Without it `"none"` points
    /// have no strength and are left out of strength-based claims.
    #[serde(default)]
    pub none_strength: Option<String>,
    /// Draw the strength axis logarithmically (0 is drawn at the left edge).
    #[serde(default)]
    pub log_x: Option<bool>,
}

/// Extra panels drawn from measures that are not curves over the sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PanelKind {
    /// Normalised singular values of the first hidden layer, one line per sweep value.
    Spectrum,
    /// Test accuracy under rank truncation of the first hidden layer.
    RankTruncation,
    /// PCA decision regions and the perturbation of one sample (Figure 2).
    Boundary,
    /// SA and RA under pruning, one line per model and method.
    Pruning,
}

/// What the report knows about an experiment: the non-run parts of its grid file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentInfo {
    /// Id.
    pub id: String,
    /// Paper figure.
    pub figure: String,
    /// Title.
    pub title: String,
    /// The paper's claim in words.
    pub claim: String,
    /// Notes (budgets and why).
    #[serde(default)]
    pub notes: Option<String>,
    /// The curves.
    pub sweep: Vec<SweepInfo>,
    /// The claims judged.
    #[serde(default)]
    pub claims: Vec<Claim>,
    /// Extra panels.
    #[serde(default)]
    pub panels: Vec<PanelKind>,
    /// Settings in words (data, model, attacks), filled by the caller.
    #[serde(default)]
    pub settings: Option<String>,
    /// Classes of the task (`run.model.num_classes`), for the exclusion rule's chance level;
    /// 10 when absent.
    #[serde(default)]
    pub num_classes: Option<usize>,
}

impl ExperimentInfo {
    /// Reads the report's view of a grid file (the `[run]` table and other fields are
    /// ignored here; the experiment crate validates them).
    pub fn from_toml_file(path: &std::path::Path) -> Result<Self, ReportError> {
        let text = std::fs::read_to_string(path).map_err(crate::error::io(path))?;
        let mut info: Self = toml::from_str(&text).map_err(|e| ReportError::File {
            path: path.to_path_buf(),
            problem: e.to_string(),
        })?;
        let table: toml::Table = toml::from_str(&text).map_err(|e| ReportError::File {
            path: path.to_path_buf(),
            problem: e.to_string(),
        })?;
        info.num_classes = num_classes(&table);
        info.validate()?;
        Ok(info)
    }
}

/// `run.model.num_classes` of a grid file's table, if it is a positive integer.
pub fn num_classes(grid: &toml::Table) -> Option<usize> {
    grid.get("run")
        .and_then(|r| r.get("model"))
        .and_then(|m| m.get("num_classes"))
        .and_then(toml::Value::as_integer)
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n > 0)
}

impl ExperimentInfo {
    /// Checks every claim: unique ids, known sweeps, parseable paths, directions that fit.
    pub fn validate(&self) -> Result<(), ReportError> {
        validate_claims(&self.id, &self.claims, &self.sweep)
    }
}

/// Checks `claims` against the experiment's sweeps.
pub fn validate_claims(
    experiment: &str,
    claims: &[Claim],
    sweeps: &[SweepInfo],
) -> Result<(), ReportError> {
    for (i, c) in claims.iter().enumerate() {
        check_names(c, &claims[..i], sweeps)
            .and_then(|()| check_rule(c))
            .map_err(|(field, problem)| ReportError::Invalid {
                experiment: experiment.to_string(),
                field: format!("claims[{i}].{field}"),
                problem,
            })?;
    }
    for (i, s) in sweeps.iter().enumerate() {
        if let Some(p) = &s.none_strength {
            Path::parse(p).map_err(|problem| ReportError::Invalid {
                experiment: experiment.to_string(),
                field: format!("sweep[{i}].none_strength"),
                problem,
            })?;
        }
    }
    Ok(())
}

/// A problem with one field of a claim: (field, what is wrong).
type FieldProblem = (&'static str, String);

/// What a claim names exists: a unique id (among the `earlier` claims), its sweep, and the
/// quantity paths it reads (a baseline exactly for `higher`/`lower`).
fn check_names(c: &Claim, earlier: &[Claim], sweeps: &[SweepInfo]) -> Result<(), FieldProblem> {
    if c.id.is_empty() || earlier.iter().any(|o| o.id == c.id) {
        return Err(("id", format!("`{}` is empty or not unique", c.id)));
    }
    if let Some(s) = &c.sweep
        && !sweeps.iter().any(|w| &w.name == s)
    {
        let names: Vec<&str> = sweeps.iter().map(|w| w.name.as_str()).collect();
        return Err((
            "sweep",
            format!("no sweep `{s}` (sweeps: {})", names.join(", ")),
        ));
    }
    Path::parse(&c.quantity).map_err(|p| ("quantity", p))?;
    if c.against != "strength" {
        Path::parse(&c.against).map_err(|p| ("against", p))?;
    }
    match (&c.baseline, c.direction.is_difference()) {
        (Some(b), true) => Path::parse(b).map(|_| ()).map_err(|p| ("baseline", p)),
        (None, true) => Err((
            "baseline",
            "`higher`/`lower` compare two quantities: give `baseline`".into(),
        )),
        (Some(_), false) => Err((
            "direction",
            "a claim with `baseline` takes `higher` or `lower`".into(),
        )),
        (None, false) => Ok(()),
    }
}

/// How the claim is judged is fixed and explained: the threshold with its reason, the scale
/// with its reason, a target correlation against a measured quantity, the regime.
fn check_rule(c: &Claim) -> Result<(), FieldProblem> {
    if !(c.min_effect.is_finite() && c.min_effect >= 0.0) {
        return Err((
            "min_effect",
            format!("{} is not a finite number ≥ 0", c.min_effect),
        ));
    }
    if c.reason.trim().is_empty() {
        return Err(("reason", "state why the threshold is what it is".into()));
    }
    if c.scale == Scale::Log
        && c.scale_reason
            .as_deref()
            .is_none_or(|r| r.trim().is_empty())
    {
        return Err((
            "scale_reason",
            "state why the quantity is judged on a log scale".into(),
        ));
    }
    if let Some(t) = c.target {
        if !(-1.0..=1.0).contains(&t) {
            return Err(("target", format!("{t} is not a correlation in [−1, 1]")));
        }
        if c.against == "strength" {
            return Err((
                "target",
                "a size claim correlates two measured quantities: give `against`".into(),
            ));
        }
    }
    if let Some(r) = &c.regime {
        if r.reason.trim().is_empty() {
            return Err(("regime.reason", "state why the regime".into()));
        }
        if let (Some(a), Some(b)) = (r.from, r.to)
            && a > b
        {
            return Err(("regime", format!("from {a} > to {b}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweeps() -> Vec<SweepInfo> {
        vec![SweepInfo {
            name: "alpha".into(),
            key: "a".into(),
            label: None,
            none_strength: None,
            log_x: None,
        }]
    }

    fn claim(extra: &str) -> Result<Vec<Claim>, toml::de::Error> {
        #[derive(Deserialize)]
        struct F {
            claims: Vec<Claim>,
        }
        let text = format!(
            "[[claims]]\nid = \"c\"\ntext = \"t\"\nquantity = \"eval.robust_accuracy\"\n\
             min_effect = 0.01\nreason = \"r\"\n{extra}"
        );
        toml::from_str::<F>(&text).map(|f| f.claims)
    }

    #[test]
    fn a_well_formed_claim_passes() {
        let c = claim("direction = \"decreasing\"\nsweep = \"alpha\"").unwrap();
        validate_claims("e", &c, &sweeps()).unwrap();
        assert_eq!(c[0].against, "strength");
    }

    #[test]
    fn malformed_claims_name_the_field() {
        let cases = [
            (
                "direction = \"decreasing\"\nsweep = \"beta\"",
                "claims[0].sweep",
            ),
            ("direction = \"higher\"", "claims[0].baseline"),
            (
                "direction = \"increasing\"\nbaseline = \"eval.clean_accuracy\"",
                "claims[0].direction",
            ),
            (
                "direction = \"flat\"\nagainst = \"eval..x\"",
                "claims[0].against",
            ),
            (
                "direction = \"flat\"\nregime = { from = 2.0, to = 1.0, reason = \"x\" }",
                "claims[0].regime",
            ),
            (
                "direction = \"flat\"\nscale = \"log\"",
                "claims[0].scale_reason",
            ),
            (
                "direction = \"increasing\"\nagainst = \"eval.x\"\ntarget = 1.5",
                "claims[0].target",
            ),
            (
                "direction = \"increasing\"\ntarget = 0.9",
                "claims[0].target",
            ),
        ];
        for (extra, field) in cases {
            let c = claim(extra).unwrap();
            let e = validate_claims("e", &c, &sweeps()).unwrap_err().to_string();
            assert!(e.contains(field), "{extra}: {e}");
        }
        // Unknown direction and unknown keys are parse errors.
        assert!(claim("direction = \"up\"").is_err());
        assert!(claim("direction = \"flat\"\nthreshold = 1").is_err());
    }
}
