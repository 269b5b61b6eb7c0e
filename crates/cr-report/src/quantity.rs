//! Quantity paths: where a number lives in a run's `result.json`.
//!
//! A path is dot-separated: a name selects an object's field, a number an array's item, and
//! `name[field=value]` the first item of the array `name` whose `field` equals `value` (as a
//! string or a number). Examples: `eval.robust_accuracy`,
//! `eval.compressibility.layers.0.stable_rank`,
//! `eval.measures.pruning.curves[method=layerwise].high_ratio.robust_accuracy`.
//! A path that does not resolve to a finite number reads as missing (the run is left out of
//! that claim, and the report counts it).

use serde_json::Value;

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Index(usize),
    Select {
        field: String,
        key: String,
        value: String,
    },
}

/// A parsed quantity path.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    steps: Vec<Step>,
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl Path {
    /// Parses `text`; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut steps = Vec::new();
        for part in text.split('.') {
            if let Some(open) = part.find('[') {
                let (name, rest) = part.split_at(open);
                let inner = rest
                    .strip_prefix('[')
                    .and_then(|r| r.strip_suffix(']'))
                    .ok_or_else(|| format!("`{text}`: `{part}` has an unclosed selector"))?;
                let (key, value) = inner
                    .split_once('=')
                    .ok_or_else(|| format!("`{text}`: selector `[{inner}]` needs `field=value`"))?;
                if !is_name(name) || !is_name(key) || value.is_empty() {
                    return Err(format!("`{text}`: bad selector `{part}`"));
                }
                steps.push(Step::Select {
                    field: name.into(),
                    key: key.into(),
                    value: value.into(),
                });
            } else if let Ok(i) = part.parse::<usize>() {
                steps.push(Step::Index(i));
            } else if is_name(part) {
                steps.push(Step::Field(part.into()));
            } else {
                return Err(format!("`{text}`: `{part}` is not a field name"));
            }
        }
        Ok(Self { steps })
    }

    /// The value at this path in `v`, if any.
    pub fn get<'a>(&self, v: &'a Value) -> Option<&'a Value> {
        let mut cur = v;
        for s in &self.steps {
            cur = match s {
                Step::Field(f) => cur.get(f)?,
                Step::Index(i) => cur.get(*i)?,
                Step::Select { field, key, value } => {
                    cur.get(field)?
                        .as_array()?
                        .iter()
                        .find(|item| match item.get(key) {
                            Some(Value::String(s)) => s == value,
                            Some(Value::Number(n)) => value.parse::<f64>().ok() == n.as_f64(),
                            _ => false,
                        })?
                }
            };
        }
        Some(cur)
    }

    /// The finite number at this path in `v`, if any.
    pub fn number(&self, v: &Value) -> Option<f64> {
        self.get(v)?.as_f64().filter(|x| x.is_finite())
    }
}

/// Reads the finite number at `path` (which must parse) in `v`.
pub fn number(v: &Value, path: &str) -> Option<f64> {
    Path::parse(path).ok()?.number(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_resolve_fields_indices_and_selectors() {
        let v = json!({
            "eval": {
                "robust_accuracy": 0.5,
                "ra_over_sa": null,
                "layers": [{"rank": 3}, {"rank": 7}],
                "curves": [
                    {"method": "global", "ra": 0.1},
                    {"method": "layerwise", "ra": 0.2},
                    {"method": 4, "ra": 0.3}
                ]
            }
        });
        assert_eq!(number(&v, "eval.robust_accuracy"), Some(0.5));
        assert_eq!(number(&v, "eval.ra_over_sa"), None);
        assert_eq!(number(&v, "eval.layers.1.rank"), Some(7.0));
        assert_eq!(number(&v, "eval.layers.2.rank"), None);
        assert_eq!(number(&v, "eval.curves[method=layerwise].ra"), Some(0.2));
        assert_eq!(number(&v, "eval.curves[method=4].ra"), Some(0.3));
        assert_eq!(number(&v, "eval.curves[method=none].ra"), None);
        assert_eq!(number(&v, "eval.missing"), None);
    }

    #[test]
    fn bad_paths_are_errors() {
        for p in ["", "a..b", "a.b[", "a.b[c]", "a.[c=d]", "a b", "a.b[c=]"] {
            assert!(Path::parse(p).is_err(), "{p}");
        }
    }
}
