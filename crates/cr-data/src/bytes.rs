//! Reading files (plain or gzip) with a hard cap on the decompressed size.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{DataError, Result, format};

/// Largest decompressed file cr reads (4 GiB): a gzip bomb is an error, not an OOM.
pub const MAX_BYTES: u64 = 1 << 32;

/// Decompresses gzip `bytes` (named `path` in errors), up to [`MAX_BYTES`].
pub fn gunzip(bytes: &[u8], path: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(MAX_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| format(path, format!("corrupt gzip data: {e}")))?;
    if out.len() as u64 > MAX_BYTES {
        return Err(format(path, "decompresses to more than 4 GiB"));
    }
    Ok(out)
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
        return Err(format(path, "file larger than 4 GiB"));
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

/// The first of `names` (each tried as is and with `.gz`) that exists in `dir`.
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
        what: format!("{what} (looked for {} and .gz)", names.join(", ")),
    })
}
