//! The real data subsets compiled into the binary (`data/` at the repository root; see its
//! README for provenance and licences). Their `.gz` bytes are checked against the SHA-256
//! recorded here before they are parsed.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::bytes::gunzip;
use crate::dataset::{Dataset, Splits};
use crate::error::{DataError, Result};
use crate::idx::{parse_images, parse_labels};

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedFile {
    /// File name (`train-images-idx3-ubyte.gz`).
    pub name: &'static str,
    /// Its bytes.
    pub bytes: &'static [u8],
    /// Recorded SHA-256 of the bytes.
    pub sha256: &'static str,
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
    /// Licence, in a few words.
    pub licence: &'static str,
}

macro_rules! file {
    ($dir:literal, $name:literal, $sha:literal) => {
        EmbeddedFile {
            name: $name,
            bytes: include_bytes!(concat!("../../../data/", $dir, "/", $name)),
            sha256: $sha,
        }
    };
}

/// Every embedded data set.
pub const EMBEDDED: [Embedded; 3] = [
    Embedded {
        name: "mnist",
        folder: "mnist",
        licence: "CC BY-SA 3.0 (LeCun, Cortes, Burges)",
        files: [
            file!(
                "mnist",
                "train-images-idx3-ubyte.gz",
                "0cdd743c289096147b5277866aef80fa6c89b3ded8e8e3aa32d664428c08352d"
            ),
            file!(
                "mnist",
                "train-labels-idx1-ubyte.gz",
                "f082dad899972fd33e8abd2582ae96e5b72944dc4be42da37e186ce2303eb8a4"
            ),
            file!(
                "mnist",
                "t10k-images-idx3-ubyte.gz",
                "c356e63d7cab82574e108bfb2591e6f305985cbe120ab4dadba4860d45ca9ec6"
            ),
            file!(
                "mnist",
                "t10k-labels-idx1-ubyte.gz",
                "813e644cd3acd02cb1e549d04038b0412c0e0765ff070daffc3b3ed0537973ed"
            ),
        ],
    },
    Embedded {
        name: "fashion-mnist",
        folder: "fashion-mnist",
        licence: "MIT, (c) 2017 Zalando SE",
        files: [
            file!(
                "fashion-mnist",
                "train-images-idx3-ubyte.gz",
                "6dc7243946d1cc498f2961f3359df63dcb59da62ddc726325781f27e6d67afca"
            ),
            file!(
                "fashion-mnist",
                "train-labels-idx1-ubyte.gz",
                "f307032bbb1e22c57419248af26b3873d908fd49622e4a7ec917932bbf09f0cc"
            ),
            file!(
                "fashion-mnist",
                "t10k-images-idx3-ubyte.gz",
                "7c7730ccc4f5c3140bdb51fb91089d645a11c32760bfaeaaebc9d8511889ff2b"
            ),
            file!(
                "fashion-mnist",
                "t10k-labels-idx1-ubyte.gz",
                "0de8dcc33578bd75a52cfda255318bb8a1bff69e112708e3f9763b4514ef76f2"
            ),
        ],
    },
    Embedded {
        name: "uci-digits",
        folder: "uci-digits-8x8",
        licence: "CC BY 4.0 (Alpaydin, Kaynak; UCI)",
        files: [
            file!(
                "uci-digits-8x8",
                "train-images-idx3-ubyte.gz",
                "bbbaf4a3dd6a5b21b5825ae9c5404bdf688e3ffc0c56ee857973912b71269406"
            ),
            file!(
                "uci-digits-8x8",
                "train-labels-idx1-ubyte.gz",
                "fe9579cefddcfa437d2f53b5a0fd07865836c3761362b7c6200f6e810f5830bf"
            ),
            file!(
                "uci-digits-8x8",
                "t10k-images-idx3-ubyte.gz",
                "a39a10c1cc996528088e51b2912a72413b38d3fa58ad2d0a9db36340844d7239"
            ),
            file!(
                "uci-digits-8x8",
                "t10k-labels-idx1-ubyte.gz",
                "17b63b5db84614a057d281bcc0f7f850d7f6245f7e980946b8e0ffbe1042f6d2"
            ),
        ],
    },
];

/// Hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

impl EmbeddedFile {
    /// Checks the recorded hash.
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
}

/// Finds an embedded data set by name.
pub fn embedded(name: &str) -> Option<&'static Embedded> {
    EMBEDDED.iter().find(|e| e.name == name)
}

impl Embedded {
    /// Verifies and parses both splits.
    pub fn load(&self) -> Result<Splits> {
        for f in &self.files {
            f.verify(self.name)?;
        }
        let split = |img: &EmbeddedFile, lab: &EmbeddedFile, split: &str| -> Result<Dataset> {
            let ip = Path::new("<embedded>").join(self.folder).join(img.name);
            let lp = Path::new("<embedded>").join(self.folder).join(lab.name);
            let images = parse_images(&gunzip(img.bytes, &ip)?, &ip)?;
            let labels = parse_labels(&gunzip(lab.bytes, &lp)?, &lp)?;
            crate::source::from_idx(images, labels, &ip, &lp, format!("{}/{split}", self.name))
        };
        Ok(Splits {
            train: split(&self.files[0], &self.files[1], "train")?,
            test: split(&self.files[2], &self.files[3], "test")?,
        })
    }
}
