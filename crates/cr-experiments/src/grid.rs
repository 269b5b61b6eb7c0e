//! The experiment grid: one TOML file per experiment and scale (`configs/<scale>/<id>.toml`),
//! expanded into runs.
//!
//! A file holds the experiment's identity (id, paper figure, title, the paper's claim), a base
//! run config (`[run]`, see [`crate::config::RunConfig`]) and one or more sweeps. A sweep is one
//! curve of a figure: a dotted key (`regularize.group_lasso.alpha`) and the values it takes,
//! plus optional overrides (`set`) that hold along the whole curve. Each value × seed is a run;
//! the string `"none"` as a value removes the key (e.g. `model.arch.layer_rank = "none"` for a
//! full-rank baseline).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::RunConfig;
use crate::error::{ExpError, invalid};

/// One sweep: a curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    /// Curve name (`neuron`, `spectral`, `alpha`, `c`, …), unique within the experiment.
    pub name: String,
    /// Dotted key of the swept value.
    pub key: String,
    /// Values, in plotting order.
    pub values: Vec<toml::Value>,
    /// Axis label for figures (defaults to the key).
    #[serde(default)]
    pub label: Option<String>,
    /// Dotted-key overrides applied to every run of this sweep.
    #[serde(default)]
    pub set: toml::Table,
    /// Where the report reads the strength of a `"none"` point (a quantity path, e.g. the
    /// full rank of a rank sweep's baseline), see [`cr_report::claims::SweepInfo`].
    #[serde(default)]
    pub none_strength: Option<String>,
    /// Log axis for the strength in figures (default: when the values span decades).
    #[serde(default)]
    pub log_x: Option<bool>,
}

/// An experiment file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// Identifier (`motivating`, `fcn-standard`, …), equal to the file stem.
    pub id: String,
    /// The paper figure it reproduces (`Fig 4`).
    pub figure: String,
    /// One-line title.
    pub title: String,
    /// The paper's claim this experiment tests, in one or two sentences.
    pub claim: String,
    /// Seeds per point (error bars when > 1).
    #[serde(default = "d_seeds")]
    pub seeds: usize,
    /// The base run config.
    pub run: toml::Table,
    /// The curves.
    pub sweep: Vec<Sweep>,
    /// Free-form notes for the report (budgets chosen and why, deviations from the paper).
    #[serde(default)]
    pub notes: Option<String>,
    /// The claims the report judges (see [`cr_report::claims::Claim`]).
    #[serde(default)]
    pub claims: Vec<cr_report::claims::Claim>,
    /// Extra report panels drawn from measures that are not curves.
    #[serde(default)]
    pub panels: Vec<cr_report::claims::PanelKind>,
}

fn d_seeds() -> usize {
    1
}

/// Most seeds per point an experiment (or `--seeds`) may ask for: the runs are expanded
/// eagerly, so a typo like `seeds = 1000000000` would otherwise hang building the list.
pub const MAX_SEEDS: usize = 1000;

/// One point of the grid, fully resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// Experiment id.
    pub experiment: String,
    /// Sweep (curve) name.
    pub sweep: String,
    /// The swept key.
    pub key: String,
    /// The value at this point.
    pub value: toml::Value,
    /// Position of the value in the sweep.
    pub index: usize,
    /// Seed index (0-based; the run's seeds are base + this).
    pub seed: usize,
    /// The resolved config.
    pub config: RunConfig,
    /// Folder name: `<sweep>-<index>-<value>-s<seed>`.
    pub id: String,
    /// Hash of the resolved config (16 hex digits): a finished result is reused only when
    /// its config hash matches.
    pub hash: String,
}

/// FNV-1a, 64 bit: a stable fingerprint of a config's text.
pub fn fingerprint(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.as_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Sets `value` at the dotted `key` (`a.b.c`, `a.b[2].c`) of `table`, creating tables as
/// needed; the string `"none"` removes the key.
pub fn set_dotted(table: &mut toml::Table, key: &str, value: toml::Value) -> Result<(), ExpError> {
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(invalid(key, "is not a valid dotted key"));
    }
    let remove = matches!(&value, toml::Value::String(s) if s == "none");
    let mut cur = table;
    for (i, part) in parts.iter().enumerate() {
        let (name, index) = parse_index(part).ok_or_else(|| invalid(key, "bad index"))?;
        let last = i + 1 == parts.len();
        if last && index.is_none() {
            if remove {
                cur.remove(name);
            } else {
                cur.insert(name.to_string(), value);
            }
            return Ok(());
        }
        let entry = cur
            .entry(name.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let next = match index {
            None => entry,
            Some(ix) => {
                let arr = entry
                    .as_array_mut()
                    .ok_or_else(|| invalid(key, format!("`{name}` is not a list")))?;
                let len = arr.len();
                let item = arr
                    .get_mut(ix)
                    .ok_or_else(|| invalid(key, format!("`{name}` has {len} items, no [{ix}]")))?;
                if last {
                    if remove {
                        return Err(invalid(key, "cannot remove a list item"));
                    }
                    *item = value;
                    return Ok(());
                }
                item
            }
        };
        cur = next
            .as_table_mut()
            .ok_or_else(|| invalid(key, format!("`{name}` is not a table")))?;
    }
    Ok(())
}

fn parse_index(part: &str) -> Option<(&str, Option<usize>)> {
    match part.find('[') {
        None => Some((part, None)),
        Some(open) => {
            let close = part.strip_suffix(']')?;
            let ix = close[open + 1..].parse().ok()?;
            Some((&part[..open], Some(ix)))
        }
    }
}

/// A filesystem-safe rendering of a sweep value.
pub fn value_label(v: &toml::Value) -> String {
    let s = match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Float(f) => format!("{f}"),
        other => other.to_string(),
    };
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl Experiment {
    /// Reads an experiment file.
    pub fn from_file(path: &Path) -> Result<Self, ExpError> {
        let text = std::fs::read_to_string(path).map_err(|source| ExpError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let exp: Experiment = toml::from_str(&text).map_err(|e| ExpError::Config {
            path: path.to_path_buf(),
            problem: e.to_string(),
        })?;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if exp.id != stem {
            return Err(ExpError::Config {
                path: path.to_path_buf(),
                problem: format!("id `{}` differs from the file name `{stem}`", exp.id),
            });
        }
        if exp.seeds == 0 {
            return Err(ExpError::Config {
                path: path.to_path_buf(),
                problem: "field `seeds`: must be >= 1".into(),
            });
        }
        exp.info(None).validate().map_err(|e| ExpError::Config {
            path: path.to_path_buf(),
            problem: e.to_string(),
        })?;
        // Expanding validates every run's config.
        exp.runs().map_err(|e| ExpError::Config {
            path: path.to_path_buf(),
            problem: e.to_string(),
        })?;
        Ok(exp)
    }

    /// The report's view of this experiment, with `settings` in words.
    pub fn info(&self, settings: Option<String>) -> cr_report::claims::ExperimentInfo {
        cr_report::claims::ExperimentInfo {
            id: self.id.clone(),
            figure: self.figure.clone(),
            title: self.title.clone(),
            claim: self.claim.clone(),
            notes: self.notes.clone(),
            sweep: self
                .sweep
                .iter()
                .map(|s| cr_report::claims::SweepInfo {
                    name: s.name.clone(),
                    key: s.key.clone(),
                    label: s.label.clone(),
                    none_strength: s.none_strength.clone(),
                    log_x: s.log_x,
                })
                .collect(),
            claims: self.claims.clone(),
            panels: self.panels.clone(),
            settings,
            num_classes: self
                .run
                .get("model")
                .and_then(|m| m.get("num_classes"))
                .and_then(toml::Value::as_integer)
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| *n > 0),
        }
    }

    /// Every run of the experiment, in sweep, value, seed order.
    pub fn runs(&self) -> Result<Vec<RunSpec>, ExpError> {
        self.runs_with_seeds(self.seeds)
    }

    /// Every run with `seeds` seeds per point.
    pub fn runs_with_seeds(&self, seeds: usize) -> Result<Vec<RunSpec>, ExpError> {
        if seeds > MAX_SEEDS {
            return Err(invalid(
                "seeds",
                format!("{seeds} is more than {MAX_SEEDS} seeds per point"),
            ));
        }
        let mut out = Vec::new();
        let mut names = std::collections::BTreeSet::new();
        for sweep in &self.sweep {
            if !names.insert(sweep.name.clone()) {
                return Err(invalid(
                    "sweep.name",
                    format!("`{}` appears twice", sweep.name),
                ));
            }
            for (index, value) in sweep.values.iter().enumerate() {
                for seed in 0..seeds {
                    let mut table = self.run.clone();
                    for (k, v) in &sweep.set {
                        set_dotted(&mut table, k, v.clone())?;
                    }
                    set_dotted(&mut table, &sweep.key, value.clone())?;
                    let base_seed = table
                        .get("train")
                        .and_then(|t| t.get("seed"))
                        .and_then(|s| s.as_integer())
                        .unwrap_or(0);
                    let base_init = table
                        .get("init_seed")
                        .and_then(|s| s.as_integer())
                        .unwrap_or(0);
                    let plus = |base: i64, key: &str| {
                        base.checked_add(seed as i64)
                            .ok_or_else(|| invalid(key, format!("{base} + seed {seed} overflows")))
                    };
                    set_dotted(
                        &mut table,
                        "train.seed",
                        toml::Value::Integer(plus(base_seed, "train.seed")?),
                    )?;
                    set_dotted(
                        &mut table,
                        "init_seed",
                        toml::Value::Integer(plus(base_init, "init_seed")?),
                    )?;
                    let ctx =
                        |e: String| invalid(&format!("sweep `{}` value {}", sweep.name, value), e);
                    let config: RunConfig = toml::Value::Table(table)
                        .try_into()
                        .map_err(|e: toml::de::Error| ctx(e.to_string()))?;
                    config.validate().map_err(|e| ctx(e.to_string()))?;
                    let hash = fingerprint(&config.to_toml());
                    let id = format!(
                        "{}-{:02}-{}-s{}",
                        sweep.name,
                        index,
                        value_label(value),
                        seed
                    );
                    out.push(RunSpec {
                        experiment: self.id.clone(),
                        sweep: sweep.name.clone(),
                        key: sweep.key.clone(),
                        value: value.clone(),
                        index,
                        seed,
                        config,
                        id,
                        hash,
                    });
                }
            }
        }
        Ok(out)
    }
}

/// The experiments of one scale.
#[derive(Debug, Clone)]
pub struct Grid {
    /// The scale (`smoke`, `cpu`, `paper`, `rehearsal`).
    pub scale: String,
    /// Experiments in file-name order.
    pub experiments: Vec<Experiment>,
}

/// The scales shipped in `configs/`.
pub const SCALES: [&str; 4] = ["smoke", "cpu", "paper", "rehearsal"];

impl Grid {
    /// Loads `configs_dir/<scale>/*.toml`.
    pub fn load(configs_dir: &Path, scale: &str) -> Result<Self, ExpError> {
        let dir = configs_dir.join(scale);
        let rd = std::fs::read_dir(&dir).map_err(|source| ExpError::Io {
            path: dir.clone(),
            source,
        })?;
        let mut files: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(ExpError::Config {
                path: dir,
                problem: "no experiment files (*.toml)".into(),
            });
        }
        let experiments = files
            .iter()
            .map(|f| Experiment::from_file(f))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Grid {
            scale: scale.to_string(),
            experiments,
        })
    }

    /// Keeps only the experiments named in `only` (error on an unknown name).
    pub fn select(mut self, only: &[String]) -> Result<Self, ExpError> {
        if only.is_empty() {
            return Ok(self);
        }
        for name in only {
            if !self.experiments.iter().any(|e| &e.id == name) {
                return Err(invalid(
                    "--only",
                    format!(
                        "unknown experiment `{name}` (known: {})",
                        self.experiments
                            .iter()
                            .map(|e| e.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        self.experiments.retain(|e| only.contains(&e.id));
        Ok(self)
    }

    /// Every run of every experiment (`seeds` overrides each experiment's seed count).
    pub fn runs(&self, seeds: Option<usize>) -> Result<Vec<RunSpec>, ExpError> {
        let mut out = Vec::new();
        for e in &self.experiments {
            out.extend(e.runs_with_seeds(seeds.unwrap_or(e.seeds))?);
        }
        Ok(out)
    }
}

/// The runs of shard `i` of `n`: a deterministic partition of the grid (round robin over the
/// runs in grid order, so every shard gets a mix of cheap and expensive runs).
pub fn shard(runs: Vec<RunSpec>, i: usize, n: usize) -> Vec<RunSpec> {
    runs.into_iter()
        .enumerate()
        .filter(|(k, _)| k % n.max(1) == i)
        .map(|(_, r)| r)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_keys_create_replace_index_and_remove() {
        let mut t: toml::Table =
            toml::from_str("a = { b = 1 }\nl = [{ x = 1 }, { x = 2 }]").unwrap();
        set_dotted(&mut t, "a.b", toml::Value::Integer(5)).unwrap();
        set_dotted(&mut t, "a.c.d", toml::Value::Boolean(true)).unwrap();
        set_dotted(&mut t, "l[1].x", toml::Value::Integer(9)).unwrap();
        assert_eq!(t["a"]["b"].as_integer(), Some(5));
        assert_eq!(t["a"]["c"]["d"].as_bool(), Some(true));
        assert_eq!(t["l"][1]["x"].as_integer(), Some(9));
        set_dotted(&mut t, "a.b", toml::Value::String("none".into())).unwrap();
        assert!(t["a"].get("b").is_none());
        assert!(set_dotted(&mut t, "l[7].x", toml::Value::Integer(1)).is_err());
        assert!(set_dotted(&mut t, "a..b", toml::Value::Integer(1)).is_err());
    }

    #[test]
    fn shards_partition_the_runs() {
        let mk = |i: usize| {
            RunSpec {
            experiment: "e".into(),
            sweep: "s".into(),
            key: "k".into(),
            value: toml::Value::Integer(i as i64),
            index: i,
            seed: 0,
            config: toml::from_str(
                "[data]\nname='mnist'\n[model]\ninput=[1,2,2]\nnum_classes=2\n[model.arch]\nkind='fcn'\nwidth=2\ndepth=1\n",
            )
            .unwrap(),
            id: format!("r{i}"),
            hash: String::new(),
        }
        };
        let runs: Vec<RunSpec> = (0..10).map(mk).collect();
        let mut seen: Vec<String> = (0..3)
            .flat_map(|i| shard(runs.clone(), i, 3))
            .map(|r| r.id)
            .collect();
        seen.sort();
        let mut all: Vec<String> = runs.iter().map(|r| r.id.clone()).collect();
        all.sort();
        assert_eq!(seen, all);
        assert_eq!(shard(runs.clone(), 1, 3).len(), 3);
    }

    /// Regressions (fuzz/ `config`, found reading the expansion): an absurd `seeds` expanded
    /// eagerly (a hang), and a seed near `i64::MAX` overflowed when adding the seed index.
    #[test]
    fn absurd_seeds_are_errors() {
        let exp = |extra: &str, seeds: usize| -> Experiment {
            toml::from_str(&format!(
                "id='e'\nfigure='f'\ntitle='t'\nclaim='c'\nseeds={seeds}\n[run]\n{extra}\n\
                 [run.data]\nname='mnist'\n[run.model]\ninput=[1,2,2]\nnum_classes=2\n\
                 [run.model.arch]\nkind='fcn'\nwidth=2\ndepth=1\n\
                 [[sweep]]\nname='w'\nkey='model.arch.width'\nvalues=[2, 3]\n"
            ))
            .unwrap()
        };
        assert_eq!(exp("", 2).runs().unwrap().len(), 4);
        let e = exp("", 1_000_000_000_000).runs().unwrap_err().to_string();
        assert!(e.contains("seeds") && e.contains("1000000000000"), "{e}");
        let e = exp(&format!("init_seed={}", i64::MAX), 2)
            .runs()
            .unwrap_err()
            .to_string();
        assert!(e.contains("init_seed") && e.contains("overflows"), "{e}");
    }
}
