//! Reading files (plain or gzip) with a hard cap on the decompressed size, and finding the
//! files of a format in a directory.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{DataError, Result, length};

/// Largest (decompressed) file cr reads, 4 GiB: a gzip bomb is an error, not an OOM. The
/// largest official file cr reads, SVHN's `extra_32x32.mat`, is about 1.3 GB.
pub const MAX_BYTES: u64 = 1 << 32;

fn inflate(reader: impl Read, path: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    reader
        .take(MAX_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| DataError::Compressed {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    if out.len() as u64 > MAX_BYTES {
        return Err(length(path, "decompresses to more than 4 GiB"));
    }
    Ok(out)
}

/// Decompresses gzip `bytes` (named `path` in errors), up to [`MAX_BYTES`]; the gzip CRC-32
/// and length trailer are checked by the decoder.
pub fn gunzip(bytes: &[u8], path: &Path) -> Result<Vec<u8>> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Err(DataError::Compressed {
            path: path.to_path_buf(),
            message: "not a gzip file (no 1f 8b signature)".into(),
        });
    }
    inflate(flate2::read::GzDecoder::new(bytes), path)
}

/// Decompresses a zlib stream (MATLAB's `miCOMPRESSED`), up to [`MAX_BYTES`].
pub fn unzlib(bytes: &[u8], path: &Path) -> Result<Vec<u8>> {
    inflate(flate2::read::ZlibDecoder::new(bytes), path)
}

/// Reads a file, decompressing it when its name ends in `.gz`.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => DataError::Missing {
            path: path.to_path_buf(),
            what: "data file".into(),
        },
        _ => DataError::Io {
            path: path.to_path_buf(),
            source,
        },
    })?;
    if meta.len() > MAX_BYTES {
        return Err(length(path, "file larger than 4 GiB"));
    }
    let raw = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if path.extension().is_some_and(|e| e == "gz") {
        gunzip(&raw, path)
    } else {
        Ok(raw)
    }
}

/// The first of `names` that exists in `dir`, each tried as is, then with `.gz` (so a plain
/// file wins over its compressed twin).
pub fn find(dir: &Path, names: &[&str], what: &str) -> Result<PathBuf> {
    for name in names {
        for candidate in [dir.join(name), dir.join(format!("{name}.gz"))] {
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(DataError::Missing {
        path: dir.join(names.first().copied().unwrap_or("")),
        what: format!("{what}; looked for {} (plain or .gz)", names.join(", ")),
    })
}

/// Checks that `dir` is a directory.
pub fn need_dir(dir: &Path, what: &str) -> Result<()> {
    if dir.is_dir() {
        Ok(())
    } else {
        Err(DataError::Missing {
            path: dir.to_path_buf(),
            what: format!("directory of {what}"),
        })
    }
}
