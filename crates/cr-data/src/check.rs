//! Verification and summaries of data sets, for `cargo xtask data`: the embedded sets'
//! checksums, or a directory of official files (parsed in full, with each file's SHA-256
//! compared with the published hashes cr knows).

use std::path::Path;

use serde::Serialize;

use crate::bytes::read;
use crate::dataset::{Dataset, Splits};
use crate::embedded::{EMBEDDED, Embedded, sha256_hex};
use crate::error::Result;
use crate::source::{DataSource, Kind};

/// SHA-256 of decompressed files cr recognises: the official MNIST and Fashion-MNIST files
/// (as pinned in `data/*/README.md`) and the embedded subsets.
pub const KNOWN_FILES: [(&str, &str); 8] = [
    (
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "official MNIST train-images-idx3-ubyte",
    ),
    (
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "official MNIST train-labels-idx1-ubyte",
    ),
    (
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "official MNIST t10k-images-idx3-ubyte",
    ),
    (
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        "official MNIST t10k-labels-idx1-ubyte",
    ),
    (
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "official Fashion-MNIST train-images-idx3-ubyte",
    ),
    (
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "official Fashion-MNIST train-labels-idx1-ubyte",
    ),
    (
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "official Fashion-MNIST t10k-images-idx3-ubyte",
    ),
    (
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        "official Fashion-MNIST t10k-labels-idx1-ubyte",
    ),
];

/// What a file's hash says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    /// Matches the recorded or a published hash.
    Ok,
    /// Differs from the recorded hash.
    Failed,
    /// No reference hash is known (the file parsed, but cr cannot say it is the official one).
    Unknown,
}

/// One file's check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileSummary {
    /// The file.
    pub file: String,
    /// SHA-256 of its (decompressed) content.
    pub content_sha256: Option<String>,
    /// SHA-256 of the `.gz` bytes (embedded files).
    pub gz_sha256: Option<String>,
    /// The outcome.
    pub status: FileStatus,
    /// What the hash was matched against, or why it failed.
    pub note: String,
}

/// One split's contents.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitSummary {
    /// `train` or `test`.
    pub split: String,
    /// Samples.
    pub n: usize,
    /// Samples per class.
    pub class_counts: Vec<usize>,
    /// Mean pixel value (a quick sanity figure: MNIST's is about 0.13).
    pub pixel_mean: f64,
}

impl SplitSummary {
    fn of(split: &str, d: &Dataset) -> Self {
        let mean = if d.images.is_empty() {
            0.0
        } else {
            d.images.iter().map(|v| *v as f64).sum::<f64>() / d.images.len() as f64
        };
        Self {
            split: split.into(),
            n: d.len(),
            class_counts: d.class_counts(),
            pixel_mean: mean,
        }
    }
}

/// The verification of one data set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Data set name.
    pub name: String,
    /// Where it came from (`embedded`, a directory).
    pub source: String,
    /// Licence, for the embedded sets.
    pub licence: Option<String>,
    /// Image shape `[C, H, W]`.
    pub shape: [usize; 3],
    /// Classes.
    pub num_classes: usize,
    /// Train and test contents (empty when loading failed).
    pub splits: Vec<SplitSummary>,
    /// Per-file checks.
    pub files: Vec<FileSummary>,
    /// Whether everything checked out.
    pub ok: bool,
    /// The error, when loading failed.
    pub error: Option<String>,
}

fn known(hash: &str) -> Option<String> {
    if let Some((_, what)) = KNOWN_FILES.iter().find(|(h, _)| *h == hash) {
        return Some((*what).to_string());
    }
    EMBEDDED.iter().find_map(|e| {
        e.files.iter().find(|f| f.content_sha256 == hash).map(|f| {
            format!(
                "same content as cr's embedded {} subset's {}",
                e.name,
                f.name.trim_end_matches(".gz")
            )
        })
    })
}

/// Verifies one embedded set: both hashes of every file, then a full parse.
pub fn check_embedded_set(e: &Embedded) -> Summary {
    let files: Vec<FileSummary> = e
        .verify()
        .into_iter()
        .map(|c| {
            let ok = c.sha256_ok && c.content_ok;
            FileSummary {
                note: match (c.sha256_ok, c.content_ok) {
                    (true, true) => format!(
                        ".gz and decompressed SHA-256 match data/{}/SHA256SUMS",
                        e.folder
                    ),
                    (false, _) => {
                        format!("the .gz SHA-256 differs from data/{}/SHA256SUMS", e.folder)
                    }
                    (true, false) => format!(
                        "the decompressed SHA-256 differs from data/{}/SHA256SUMS",
                        e.folder
                    ),
                },
                file: c.name,
                content_sha256: c.content_sha256,
                gz_sha256: Some(c.sha256),
                status: if ok {
                    FileStatus::Ok
                } else {
                    FileStatus::Failed
                },
            }
        })
        .collect();
    let mut s = summarise(
        e.name,
        "embedded".into(),
        (10, [1, e.size.0, e.size.1]),
        e.load(),
    );
    s.licence = Some(e.licence.into());
    s.ok = s.ok && files.iter().all(|f| f.status == FileStatus::Ok);
    s.files = files;
    s
}

/// Verifies every embedded set.
pub fn check_embedded() -> Vec<Summary> {
    EMBEDDED.iter().map(check_embedded_set).collect()
}

fn summarise(
    name: &str,
    source: String,
    (num_classes, shape): (usize, [usize; 3]),
    loaded: Result<Splits>,
) -> Summary {
    let mut s = Summary {
        name: name.to_string(),
        source,
        licence: None,
        shape,
        num_classes,
        splits: Vec::new(),
        files: Vec::new(),
        ok: false,
        error: None,
    };
    match loaded {
        Ok(sp) => {
            s.splits = vec![
                SplitSummary::of("train", &sp.train),
                SplitSummary::of("test", &sp.test),
            ];
            s.ok = true;
        }
        Err(e) => s.error = Some(e.to_string()),
    }
    s
}

/// Parses a data source in full and hashes the files it read (for a directory).
pub fn check_source(src: &DataSource) -> Summary {
    let kind = src.kind();
    if let DataSource::Embedded(k) = src
        && let Some(e) = EMBEDDED.iter().find(|e| e.name == k.name())
    {
        return check_embedded_set(e);
    }
    let source = match src {
        DataSource::Dir { dir, .. } => dir.display().to_string(),
        other => other.to_string(),
    };
    let mut s = summarise(kind.name(), source, src.describe(), src.load());
    if s.ok
        && let DataSource::Dir { kind, dir } = src
    {
        match kind.files(dir) {
            Ok(files) => {
                s.files = files
                    .iter()
                    .map(|f| match read(f) {
                        Ok(bytes) => {
                            let h = sha256_hex(&bytes);
                            let k = known(&h);
                            FileSummary {
                                file: f.display().to_string(),
                                status: if k.is_some() {
                                    FileStatus::Ok
                                } else {
                                    FileStatus::Unknown
                                },
                                note: k
                                    .unwrap_or_else(|| "no published SHA-256 known to cr".into()),
                                content_sha256: Some(h),
                                gz_sha256: None,
                            }
                        }
                        Err(e) => FileSummary {
                            file: f.display().to_string(),
                            content_sha256: None,
                            gz_sha256: None,
                            status: FileStatus::Failed,
                            note: e.to_string(),
                        },
                    })
                    .collect();
                s.ok = s.files.iter().all(|f| f.status != FileStatus::Failed);
            }
            Err(e) => {
                s.ok = false;
                s.error = Some(e.to_string());
            }
        }
    }
    s
}

/// The data sets found under a `--data-dir` root (one per folder; the coarse CIFAR-100 and
/// SVHN-extra variants are not repeated), each resolved as [`DataSource::resolve`] would.
pub fn sources_under(root: &Path) -> Result<Vec<DataSource>> {
    crate::bytes::need_dir(root, "official data sets")?;
    Ok(Kind::ALL
        .iter()
        .filter(|k| !k.is_synthetic() && !matches!(k, Kind::Cifar100Coarse | Kind::SvhnExtra))
        .filter_map(|k| {
            k.subdirs()
                .iter()
                .map(|s| root.join(s))
                .find(|d| d.is_dir())
                .map(|dir| DataSource::Dir { kind: *k, dir })
        })
        .collect())
}
