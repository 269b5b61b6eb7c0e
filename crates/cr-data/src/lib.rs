//! # cr-data
//!
//! Labelled images for cr — read from the official file formats, compiled in, or generated —
//! and the deterministic operations training and evaluation need on them.
//!
//! * Readers: MNIST / Fashion-MNIST IDX, plain or `.gz` ([`idx`]); CIFAR-10 and CIFAR-100
//!   binary batches ([`cifar`]); SVHN cropped digits in MATLAB 5.0 `.mat` files ([`svhn`],
//!   over the minimal, bounds-checked [`mat`] reader: numeric arrays, uncompressed or zlib
//!   `miCOMPRESSED`, little- or big-endian; not MATLAB 7.3/HDF5). Every reader checks
//!   magic numbers, lengths against headers, image/label counts, label ranges and image
//!   sizes, and never allocates from a header size without checking it against the bytes
//!   that are there: bad input is a [`DataError`] naming the file and the problem, never a
//!   panic.
//! * The embedded default ([`embedded`]): real MNIST, Fashion-MNIST (8,000/2,000, balanced)
//!   and UCI 8×8 digits (1,442/355) subsets, compiled into the binary and checked against
//!   their SHA-256 on load; `cargo xtask reproduce` uses them when no data is named.
//! * [`Dataset`]: f32 pixels in [0, 1] (NCHW), labels `u16`; seeded shuffles and stratified
//!   train/validation splits, deterministic subsets, class counts, minibatches as burn
//!   tensors with epoch orders that are a function of `(seed, epoch)` ([`Dataset::batches`]),
//!   and seeded host-side augmentation ([`augment`]: random crop with zero padding 4,
//!   horizontal flip).
//! * Synthetic sets ([`synthetic`]): Gaussian mixtures and a teacher network, seeded.
//! * Names as the command line gives them ([`DataSource`], [`load`]): `mnist`,
//!   `cifar10:DIR`, `synthetic-gmm:classes=3`, …, and a `--data-dir` root.
//! * Writers of the official formats beside the readers ([`write`]), and seeded stand-ins
//!   of every official data set laid out as `--data-dir` expects ([`write::synthesize`],
//!   behind `cargo xtask data --synthesize DIR`).
//! * Verification summaries for `cargo xtask data` ([`check`]).
//!
//! It never touches the network (nothing is downloaded, ever), and knows nothing of models,
//! training or attacks.
//!
//! ```
//! # #[allow(deprecated)] fn main() -> Result<(), cr_data::DataError> {
//! use cr_data::{BatchOptions, augment::Augment};
//!
//! let splits = cr_data::load("uci-digits", None)?; // embedded, no files needed
//! assert_eq!((splits.train.len(), splits.test.len()), (1442, 355));
//! assert_eq!(splits.train.shape, [1, 8, 8]);
//!
//! let (train, val) = splits.train.split(0.1, 7)?; // stratified, seeded
//! assert_eq!(train.len() + val.len(), 1442);
//!
//! let device = burn::prelude::Device::flex();
//! let opts = BatchOptions::new(128, 7).with_augment(Augment::NONE);
//! for (x, y) in train.batches(&opts, 0, &device)? {
//!     assert_eq!(x.dims()[1..], [1, 8, 8]);
//!     assert_eq!(x.dims()[0], y.dims()[0]);
//! }
//! # Ok(()) }
//! ```

pub mod augment;
pub mod bytes;
pub mod check;
pub mod cifar;
pub mod dataset;
pub mod embedded;
pub mod error;
pub mod idx;
pub mod mat;
pub mod source;
pub mod svhn;
pub mod synthetic;
pub mod write;

pub use dataset::{
    BatchOptions, Batches, Dataset, Splits, epoch_order, mix, stratified_split, sub_seed,
};
pub use error::{DataError, Result};
pub use source::{DataSource, Kind, load};
