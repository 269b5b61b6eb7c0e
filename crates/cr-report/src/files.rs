//! Writing the report's files: the directory first, then each file atomically.

use std::path::Path;

use crate::error::{ReportError, io};

/// Writes `path` atomically (`cr_io::write_atomic`: temporary name, fsync, rename), creating
/// its directory first.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(io(d))?;
    }
    cr_io::write_atomic(path, bytes).map_err(io(path))
}
