//! Data sets by name, as the command line gives them ([`DataSource`]).
//!
//! | spec | data |
//! | --- | --- |
//! | `mnist`, `fashion-mnist`, `uci-digits` | the embedded subsets ([`crate::embedded`]) |
//! | `mnist:DIR`, `fashion-mnist:DIR`, `uci-digits:DIR` | IDX files in `DIR` ([`crate::idx`]) |
//! | `cifar10:DIR` | CIFAR-10 binary batches in `DIR` or `DIR/cifar-10-batches-bin` |
//! | `cifar100:DIR`, `cifar100-coarse:DIR` | CIFAR-100 binary, fine (100) or coarse (20) labels |
//! | `svhn:DIR`, `svhn-extra:DIR` | SVHN `.mat` files; `-extra` adds `extra_32x32.mat` to train |
//! | `synthetic-gmm[:k=v,…]` | [`GaussianMixture`] (defaults: 10 classes, d = 32, 2000/500) |
//! | `synthetic-teacher[:k=v,…]` | [`Teacher`] (defaults: 10 classes, d = 32, hidden 64, 2000/500) |
//!
//! A `--data-dir ROOT` ([`DataSource::resolve`]) points names given without a directory at
//! the conventional sub-folder of `ROOT` ([`Kind::subdirs`]: `ROOT/mnist`,
//! `ROOT/cifar-10-batches-bin`, …). Nothing is ever downloaded.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::cifar::{Cifar100Labels, cifar10_files, cifar100_files, load_cifar10, load_cifar100};
use crate::dataset::Splits;
use crate::embedded::embedded;
use crate::error::{DataError, Result, invalid};
use crate::idx::{self, PixelScale};
use crate::svhn;
use crate::synthetic::{GaussianMixture, Teacher};

/// The data sets cr knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// MNIST digits, 1×28×28, 10 classes.
    Mnist,
    /// Fashion-MNIST, 1×28×28, 10 classes.
    FashionMnist,
    /// UCI optical digits, 1×8×8, 10 classes.
    UciDigits,
    /// CIFAR-10, 3×32×32, 10 classes.
    Cifar10,
    /// CIFAR-100 with the 100 fine labels.
    Cifar100,
    /// CIFAR-100 with the 20 coarse labels.
    Cifar100Coarse,
    /// SVHN cropped digits, 3×32×32, 10 classes.
    Svhn,
    /// SVHN with `extra_32x32.mat` added to the training split.
    SvhnExtra,
    /// A seeded Gaussian mixture.
    SyntheticGmm,
    /// A seeded teacher-network task.
    SyntheticTeacher,
}

/// Every name [`DataSource`] accepts, in [`Kind::ALL`] order.
pub const NAMES: [&str; 10] = [
    "mnist",
    "fashion-mnist",
    "uci-digits",
    "cifar10",
    "cifar100",
    "cifar100-coarse",
    "svhn",
    "svhn-extra",
    "synthetic-gmm",
    "synthetic-teacher",
];

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 10] = [
        Kind::Mnist,
        Kind::FashionMnist,
        Kind::UciDigits,
        Kind::Cifar10,
        Kind::Cifar100,
        Kind::Cifar100Coarse,
        Kind::Svhn,
        Kind::SvhnExtra,
        Kind::SyntheticGmm,
        Kind::SyntheticTeacher,
    ];

    /// Its name.
    pub fn name(self) -> &'static str {
        let i = Kind::ALL.iter().position(|k| *k == self).unwrap_or(0);
        NAMES[i]
    }

    /// The kind called `name`; an unknown name is an error listing the known ones.
    pub fn from_name(name: &str) -> Result<Kind> {
        NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Kind::ALL[i])
            .ok_or_else(|| DataError::UnknownName {
                name: name.to_string(),
                known: NAMES.join(", "),
            })
    }

    /// Whether a subset ships inside the binary.
    pub fn is_embedded(self) -> bool {
        matches!(self, Kind::Mnist | Kind::FashionMnist | Kind::UciDigits)
    }

    /// Whether it is generated rather than read.
    pub fn is_synthetic(self) -> bool {
        matches!(self, Kind::SyntheticGmm | Kind::SyntheticTeacher)
    }

    /// Number of classes and image shape `[C, H, W]` (synthetic sets: their defaults).
    pub fn describe(self) -> (usize, [usize; 3]) {
        match self {
            Kind::Mnist | Kind::FashionMnist => (10, [1, 28, 28]),
            Kind::UciDigits => (10, [1, 8, 8]),
            Kind::Cifar10 | Kind::Svhn | Kind::SvhnExtra => (10, [3, 32, 32]),
            Kind::Cifar100 => (100, [3, 32, 32]),
            Kind::Cifar100Coarse => (20, [3, 32, 32]),
            Kind::SyntheticGmm => {
                let g = GaussianMixture::default();
                (g.classes, g.shape)
            }
            Kind::SyntheticTeacher => {
                let t = Teacher::default();
                (t.classes, t.shape)
            }
        }
    }

    /// The per-channel (mean, std) the authors' code (`mbarsbey/advcomp`, `utils/data.py`)
    /// normalises this data set by: MNIST 0.1307/0.3081; CIFAR-10 (0.491, 0.482, 0.447)/
    /// (0.247, 0.243, 0.262); CIFAR-100 (0.5071, 0.4867, 0.4408)/(0.2675, 0.2565, 0.2761);
    /// SVHN (0.4377, 0.4438, 0.4728)/(0.1980, 0.2010, 0.1970). Fashion-MNIST (not in advcomp):
    /// its usual 0.2860/0.3530. `None` for sets without published statistics (UCI digits,
    /// synthetic data), whose statistics are computed from the training split instead.
    pub fn normalization(self) -> Option<(&'static [f64], &'static [f64])> {
        match self {
            Kind::Mnist => Some((&[0.1307] as &[f64], &[0.3081] as &[f64])),
            Kind::FashionMnist => Some((&[0.2860] as &[f64], &[0.3530] as &[f64])),
            Kind::Cifar10 => Some((
                &[0.491, 0.482, 0.447] as &[f64],
                &[0.247, 0.243, 0.262] as &[f64],
            )),
            Kind::Cifar100 | Kind::Cifar100Coarse => Some((
                &[0.5071, 0.4867, 0.4408] as &[f64],
                &[0.2675, 0.2565, 0.2761] as &[f64],
            )),
            Kind::Svhn | Kind::SvhnExtra => Some((
                &[0.4377, 0.4438, 0.4728] as &[f64],
                &[0.1980, 0.2010, 0.1970] as &[f64],
            )),
            Kind::UciDigits | Kind::SyntheticGmm | Kind::SyntheticTeacher => None,
        }
    }

    /// The folders, relative to a `--data-dir` root, where its official files are looked
    /// for, in order (the first is the conventional one; the others are common layouts such
    /// as torchvision's `MNIST/raw`).
    pub fn subdirs(self) -> &'static [&'static str] {
        match self {
            Kind::Mnist => &["mnist", "MNIST/raw", "MNIST"],
            Kind::FashionMnist => &[
                "fashion-mnist",
                "FashionMNIST/raw",
                "FashionMNIST",
                "fashion_mnist",
            ],
            Kind::UciDigits => &["uci-digits-8x8", "uci-digits"],
            Kind::Cifar10 => &["cifar-10-batches-bin", "cifar10", "cifar-10"],
            Kind::Cifar100 | Kind::Cifar100Coarse => &["cifar-100-binary", "cifar100", "cifar-100"],
            Kind::Svhn | Kind::SvhnExtra => &["svhn", "SVHN"],
            Kind::SyntheticGmm | Kind::SyntheticTeacher => &[],
        }
    }

    /// Reads the official files of this kind from `dir`.
    pub fn load_dir(self, dir: &Path) -> Result<Splits> {
        match self {
            Kind::Mnist => idx::load_dir(dir, "mnist", (28, 28), PixelScale::Byte),
            Kind::FashionMnist => idx::load_dir(dir, "fashion-mnist", (28, 28), PixelScale::Byte),
            Kind::UciDigits => idx::load_dir(dir, "uci-digits", (8, 8), PixelScale::UciLevels),
            Kind::Cifar10 => load_cifar10(dir),
            Kind::Cifar100 => load_cifar100(dir, Cifar100Labels::Fine),
            Kind::Cifar100Coarse => load_cifar100(dir, Cifar100Labels::Coarse),
            Kind::Svhn => svhn::load_svhn(dir, false),
            Kind::SvhnExtra => svhn::load_svhn(dir, true),
            Kind::SyntheticGmm | Kind::SyntheticTeacher => Err(invalid(
                "data",
                format!("{} is generated, not read from a directory", self.name()),
            )),
        }
    }

    /// The files [`Kind::load_dir`] reads from `dir`, in reading order.
    pub fn files(self, dir: &Path) -> Result<Vec<PathBuf>> {
        match self {
            Kind::Mnist | Kind::FashionMnist | Kind::UciDigits => {
                crate::bytes::need_dir(dir, &format!("{} IDX files", self.name()))?;
                let (a, b) = idx::files(dir, "train")?;
                let (c, d) = idx::files(dir, "t10k")?;
                Ok(vec![a, b, c, d])
            }
            Kind::Cifar10 => {
                let (mut train, test) = cifar10_files(dir)?;
                train.push(test);
                Ok(train)
            }
            Kind::Cifar100 | Kind::Cifar100Coarse => {
                let (a, b) = cifar100_files(dir)?;
                Ok(vec![a, b])
            }
            Kind::Svhn => svhn::files(dir, false),
            Kind::SvhnExtra => svhn::files(dir, true),
            Kind::SyntheticGmm | Kind::SyntheticTeacher => Ok(Vec::new()),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a data set comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum DataSource {
    /// The embedded subset of `mnist`, `fashion-mnist` or `uci-digits`.
    Embedded(Kind),
    /// Official files in a directory.
    Dir {
        /// Which data set.
        kind: Kind,
        /// The directory.
        dir: PathBuf,
    },
    /// A generated Gaussian mixture.
    Gmm(GaussianMixture),
    /// A generated teacher-network task.
    Teacher(Teacher),
}

impl DataSource {
    /// Parses `NAME`, `NAME:DIR` or `synthetic-…:k=v,…` (no `--data-dir`).
    pub fn parse(spec: &str) -> Result<Self> {
        Self::resolve(spec, None)
    }

    /// Parses `spec`; a name given without a directory is looked for under `data_dir`
    /// ([`Kind::subdirs`]) when that is given; found under none of them it is an error naming
    /// the folders looked at — also for the embedded sets, which are used only when no
    /// `data_dir` is given (a run pointed at official data never silently trains on the
    /// embedded subset).
    pub fn resolve(spec: &str, data_dir: Option<&Path>) -> Result<Self> {
        let (name, rest) = match spec.split_once(':') {
            Some((n, r)) => (n.trim(), Some(r)),
            None => (spec.trim(), None),
        };
        let kind = Kind::from_name(name)?;
        match kind {
            Kind::SyntheticGmm => {
                return Ok(DataSource::Gmm(GaussianMixture::from_params(
                    rest.unwrap_or(""),
                )?));
            }
            Kind::SyntheticTeacher => {
                return Ok(DataSource::Teacher(Teacher::from_params(
                    rest.unwrap_or(""),
                )?));
            }
            _ => {}
        }
        if let Some(dir) = rest {
            if dir.is_empty() {
                return Err(invalid(
                    "data",
                    format!("`{spec}`: no directory after `{name}:`"),
                ));
            }
            return Ok(DataSource::Dir {
                kind,
                dir: PathBuf::from(dir),
            });
        }
        if let Some(root) = data_dir {
            let candidates: Vec<PathBuf> = kind.subdirs().iter().map(|s| root.join(s)).collect();
            if let Some(dir) = candidates.iter().find(|d| d.is_dir()) {
                return Ok(DataSource::Dir {
                    kind,
                    dir: dir.clone(),
                });
            }
            let looked = candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            // Never a silent substitution: with a data root given, the embedded subset is not
            // used in place of the official files.
            let hint = if kind.is_embedded() {
                format!(
                    " (for the embedded subset, run without --data-dir or write `{name}` with no root)"
                )
            } else {
                String::new()
            };
            return Err(DataError::Missing {
                path: root.to_path_buf(),
                what: format!("{name} files; looked in {looked}{hint}"),
            });
        }
        if kind.is_embedded() {
            return Ok(DataSource::Embedded(kind));
        }
        Err(invalid(
            "data",
            format!(
                "`{name}` is not embedded: give its directory as `{name}:DIR`, or --data-dir ROOT with ROOT/{}",
                kind.subdirs().first().copied().unwrap_or("")
            ),
        ))
    }

    /// Which data set.
    pub fn kind(&self) -> Kind {
        match self {
            DataSource::Embedded(k) | DataSource::Dir { kind: k, .. } => *k,
            DataSource::Gmm(_) => Kind::SyntheticGmm,
            DataSource::Teacher(_) => Kind::SyntheticTeacher,
        }
    }

    /// Number of classes and image shape `[C, H, W]`, without loading.
    pub fn describe(&self) -> (usize, [usize; 3]) {
        match self {
            DataSource::Gmm(g) => (g.classes, g.shape),
            DataSource::Teacher(t) => (t.classes, t.shape),
            other => other.kind().describe(),
        }
    }

    /// Loads both splits.
    pub fn load(&self) -> Result<Splits> {
        match self {
            DataSource::Embedded(k) => embedded(k.name())
                .ok_or_else(|| invalid("data", format!("{k} is not embedded")))?
                .load(),
            DataSource::Dir { kind, dir } => kind.load_dir(dir),
            DataSource::Gmm(g) => g.generate(),
            DataSource::Teacher(t) => t.generate(),
        }
    }
}

impl fmt::Display for DataSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataSource::Embedded(k) => write!(f, "{k} (embedded)"),
            DataSource::Dir { kind, dir } => write!(f, "{kind}:{}", dir.display()),
            DataSource::Gmm(g) => write!(
                f,
                "synthetic-gmm:classes={},shape={}x{}x{},train={},test={},separation={},noise={},unit={},seed={}",
                g.classes,
                g.shape[0],
                g.shape[1],
                g.shape[2],
                g.train,
                g.test,
                g.separation,
                g.noise,
                g.unit_box,
                g.seed
            ),
            DataSource::Teacher(t) => write!(
                f,
                "synthetic-teacher:classes={},shape={}x{}x{},hidden={},train={},test={},seed={}",
                t.classes, t.shape[0], t.shape[1], t.shape[2], t.hidden, t.train, t.test, t.seed
            ),
        }
    }
}

impl FromStr for DataSource {
    type Err = DataError;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// Number of classes and image shape of a data set spec, without loading it.
pub fn describe(spec: &str) -> Result<(usize, [usize; 3])> {
    let name = spec.split_once(':').map_or(spec, |(n, _)| n);
    let kind = Kind::from_name(name.trim())?;
    if kind.is_synthetic() {
        return Ok(DataSource::parse(spec)?.describe());
    }
    Ok(kind.describe())
}

/// Loads a data set from a spec (`NAME`, `NAME:DIR`, `synthetic-…:k=v,…`); `data_dir` is the
/// optional `--data-dir` root for names given without a directory (see
/// [`DataSource::resolve`]).
pub fn load(spec: &str, data_dir: Option<&Path>) -> Result<Splits> {
    let src = DataSource::resolve(spec, data_dir)?;
    tracing::debug!("loading {src}");
    src.load()
}
