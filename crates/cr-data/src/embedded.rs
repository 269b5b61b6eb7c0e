//! The real data subsets compiled into the binary with `include_bytes!` (`data/` at the
//! repository root; see its README for provenance and licences), so a binary carried to
//! another machine needs no data files.
//!
//! Each file records two SHA-256 hashes, the same as `data/*/SHA256SUMS`: of the `.gz` bytes
//! (checked every time a set is loaded, before parsing) and of the decompressed IDX content
//! (checked by [`Embedded::verify`], which `cargo xtask data` runs).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::bytes::gunzip;
use crate::dataset::{Dataset, Splits};
use crate::error::{DataError, Result};
use crate::idx::{PixelScale, parse_images, parse_labels, to_dataset};

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedFile {
    /// File name (`train-images-idx3-ubyte.gz`).
    pub name: &'static str,
    /// Its bytes.
    pub bytes: &'static [u8],
    /// Recorded SHA-256 of the `.gz` bytes.
    pub sha256: &'static str,
    /// Recorded SHA-256 of the decompressed content.
    pub content_sha256: &'static str,
}

/// One embedded data set.
#[derive(Debug, Clone, Copy)]
pub struct Embedded {
    /// Name (`mnist`, `fashion-mnist`, `uci-digits`).
    pub name: &'static str,
    /// Folder under `data/`.
    pub folder: &'static str,
    /// Train images, train labels, test images, test labels.
    pub files: [EmbeddedFile; 4],
    /// Image height and width.
    pub size: (usize, usize),
    /// How bytes become pixels.
    pub scale: PixelScale,
    /// Licence and attribution, in a few words.
    pub licence: &'static str,
}

macro_rules! file {
    ($dir:literal, $name:literal, $sha:literal, $content:literal) => {
        EmbeddedFile {
            name: concat!($name, ".gz"),
            bytes: include_bytes!(concat!("../../../data/", $dir, "/", $name, ".gz")),
            sha256: $sha,
            content_sha256: $content,
        }
    };
}

/// Every embedded data set.
pub const EMBEDDED: [Embedded; 3] = [
    Embedded {
        name: "mnist",
        folder: "mnist",
        size: (28, 28),
        scale: PixelScale::Byte,
        licence: "CC BY-SA 3.0 (Y. LeCun, C. Cortes, C.J.C. Burges)",
        files: [
            file!(
                "mnist",
                "train-images-idx3-ubyte",
                "0cdd743c289096147b5277866aef80fa6c89b3ded8e8e3aa32d664428c08352d",
                "5044cfd200506345b056065b1ec48ceefc4aea7afb29339028412f2681a2ee6f"
            ),
            file!(
                "mnist",
                "train-labels-idx1-ubyte",
                "f082dad899972fd33e8abd2582ae96e5b72944dc4be42da37e186ce2303eb8a4",
                "4d96d3a98710f493d73689c75a33df66be4208c3221af55114e1816fa47bd9da"
            ),
            file!(
                "mnist",
                "t10k-images-idx3-ubyte",
                "c356e63d7cab82574e108bfb2591e6f305985cbe120ab4dadba4860d45ca9ec6",
                "0a2a978ac97c9ffe5524643f23f15c688c7c4b82e1ce271f4060492e4a74cae4"
            ),
            file!(
                "mnist",
                "t10k-labels-idx1-ubyte",
                "813e644cd3acd02cb1e549d04038b0412c0e0765ff070daffc3b3ed0537973ed",
                "601a3cc86da79e5dcf5265d52b4dd14eb2e0ee0c69c9792c036ed8b98dcb05fa"
            ),
        ],
    },
    Embedded {
        name: "fashion-mnist",
        folder: "fashion-mnist",
        size: (28, 28),
        scale: PixelScale::Byte,
        licence: "MIT, Copyright (c) 2017 Zalando SE",
        files: [
            file!(
                "fashion-mnist",
                "train-images-idx3-ubyte",
                "6dc7243946d1cc498f2961f3359df63dcb59da62ddc726325781f27e6d67afca",
                "e5dd104c55281d8fb846ce4bf57039ef9b091e57ce7a00dd46cdb516579e0789"
            ),
            file!(
                "fashion-mnist",
                "train-labels-idx1-ubyte",
                "f307032bbb1e22c57419248af26b3873d908fd49622e4a7ec917932bbf09f0cc",
                "b92b07d35422774af3190415044737e912c1fdcc215269948f61c3828d7204e0"
            ),
            file!(
                "fashion-mnist",
                "t10k-images-idx3-ubyte",
                "7c7730ccc4f5c3140bdb51fb91089d645a11c32760bfaeaaebc9d8511889ff2b",
                "1019dbad2e502d4ade0de041778f1f87d7e5a70f2711c66df31807ce54530b4f"
            ),
            file!(
                "fashion-mnist",
                "t10k-labels-idx1-ubyte",
                "0de8dcc33578bd75a52cfda255318bb8a1bff69e112708e3f9763b4514ef76f2",
                "1494af875df37d5350bc5e571d89763c0bfe4a503e3276c67202b6ca21f3fbdd"
            ),
        ],
    },
    Embedded {
        name: "uci-digits",
        folder: "uci-digits-8x8",
        size: (8, 8),
        scale: PixelScale::UciLevels,
        licence: "CC BY 4.0 (E. Alpaydin, C. Kaynak; UCI ML Repository)",
        files: [
            file!(
                "uci-digits-8x8",
                "train-images-idx3-ubyte",
                "bbbaf4a3dd6a5b21b5825ae9c5404bdf688e3ffc0c56ee857973912b71269406",
                "eaf17707f0d845100c830bc915a68a85ab9818144380bec6fa076cdb9dc6a056"
            ),
            file!(
                "uci-digits-8x8",
                "train-labels-idx1-ubyte",
                "fe9579cefddcfa437d2f53b5a0fd07865836c3761362b7c6200f6e810f5830bf",
                "997d8237ea59870b42f811eaad3e13914b38ab6a9a5e9ad6affdff0f34e7cfdc"
            ),
            file!(
                "uci-digits-8x8",
                "t10k-images-idx3-ubyte",
                "a39a10c1cc996528088e51b2912a72413b38d3fa58ad2d0a9db36340844d7239",
                "07793d9a7050109fa7c6f4377563288ee4ca1a55c4d485a6eaaa89f430176e0b"
            ),
            file!(
                "uci-digits-8x8",
                "t10k-labels-idx1-ubyte",
                "17b63b5db84614a057d281bcc0f7f850d7f6245f7e980946b8e0ffbe1042f6d2",
                "6ff66f7ef309c514bc431118f706c8249a50930d6256e9191340a2d710351535"
            ),
        ],
    },
];

/// Hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The outcome of checking one embedded file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheck {
    /// `folder/name`.
    pub name: String,
    /// SHA-256 of the `.gz` bytes.
    pub sha256: String,
    /// Whether it equals the recorded one.
    pub sha256_ok: bool,
    /// SHA-256 of the decompressed content (`None` when it does not decompress).
    pub content_sha256: Option<String>,
    /// Whether it equals the recorded one.
    pub content_ok: bool,
}

impl EmbeddedFile {
    fn path(&self, folder: &str) -> PathBuf {
        Path::new("<embedded>").join(folder).join(self.name)
    }

    /// Checks the `.gz` bytes against the recorded hash.
    pub fn verify(&self, dataset: &str) -> Result<()> {
        let got = sha256_hex(self.bytes);
        if got != self.sha256 {
            return Err(DataError::Checksum {
                name: format!("{dataset}/{}", self.name),
                expected: self.sha256.into(),
                got,
            });
        }
        Ok(())
    }

    /// Hashes both the `.gz` bytes and the decompressed content.
    pub fn check(&self, folder: &str) -> FileCheck {
        let sha256 = sha256_hex(self.bytes);
        let content_sha256 = gunzip(self.bytes, &self.path(folder))
            .ok()
            .map(|c| sha256_hex(&c));
        FileCheck {
            name: format!("{folder}/{}", self.name),
            sha256_ok: sha256 == self.sha256,
            sha256,
            content_ok: content_sha256.as_deref() == Some(self.content_sha256),
            content_sha256,
        }
    }
}

/// Finds an embedded data set by name.
pub fn embedded(name: &str) -> Option<&'static Embedded> {
    EMBEDDED.iter().find(|e| e.name == name)
}

impl Embedded {
    /// Checks every file's `.gz` and content hashes.
    pub fn verify(&self) -> Vec<FileCheck> {
        self.files.iter().map(|f| f.check(self.folder)).collect()
    }

    /// Verifies the `.gz` hashes and parses both splits.
    pub fn load(&self) -> Result<Splits> {
        for f in &self.files {
            f.verify(self.name)?;
        }
        let split = |img: &EmbeddedFile, lab: &EmbeddedFile, split: &str| -> Result<Dataset> {
            let (ip, lp) = (img.path(self.folder), lab.path(self.folder));
            let images = parse_images(&gunzip(img.bytes, &ip)?, &ip)?;
            let labels = parse_labels(&gunzip(lab.bytes, &lp)?, &lp)?;
            to_dataset(
                images, labels, &ip, &lp, self.name, split, self.size, self.scale,
            )
        };
        Ok(Splits {
            train: split(&self.files[0], &self.files[1], "train")?,
            test: split(&self.files[2], &self.files[3], "test")?,
        })
    }
}
