//! # cr-data
//!
//! Labelled images for cr, from the official file formats or generated:
//!
//! * Readers ([`idx`], [`cifar`], [`svhn`] over [`mat`]): MNIST / Fashion-MNIST IDX (plain or
//!   `.gz`), CIFAR-10 and CIFAR-100 binary batches, SVHN cropped digits (MATLAB 5.0 `.mat`).
//!   Every reader checks lengths against headers, label ranges and image sizes, and never
//!   allocates from an untrusted header without checking it against the bytes that are there:
//!   bad input is a [`DataError`] naming the file and the problem.
//! * The embedded default ([`embedded`]): real MNIST, Fashion-MNIST and UCI-digits subsets,
//!   compiled into the binary and checksummed; `cargo xtask reproduce` uses them.
//! * [`Dataset`]: f32 pixels in [0, 1] (NCHW), seeded shuffles and stratified splits,
//!   class-balanced subsets, minibatches as burn tensors, seeded augmentation
//!   ([`augment`]: random crop with zero padding 4, horizontal flip).
//! * Synthetic sets ([`synthetic`]): Gaussian mixtures and a teacher network, seeded.
//! * Names ([`source::load`]): `mnist`, `cifar10:DIR`, …; see [`source::NAMES`].
//!
//! It never touches the network, and knows nothing of models or training.
//!
//! ```
//! let splits = cr_data::load("mnist", None).unwrap();
//! assert_eq!((splits.train.len(), splits.test.len()), (8000, 2000));
//! assert_eq!(splits.train.shape, [1, 28, 28]);
//! assert_eq!(splits.test.class_counts(), vec![200; 10]);
//! ```

pub mod augment;
pub mod bytes;
pub mod cifar;
pub mod dataset;
pub mod embedded;
pub mod error;
pub mod idx;
pub mod mat;
pub mod source;
pub mod svhn;
pub mod synthetic;

pub use dataset::{Dataset, Splits};
pub use error::{DataError, Result};
pub use source::load;
