//! Writing export files: to a sibling temp file, fsync, then rename, so a crash never leaves
//! a half-written file under the name the user chose.

use crate::{ApiError, ApiResult, ErrorCode};
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> ApiResult<()> {
    let io = |e: std::io::Error| {
        ApiError::new(
            ErrorCode::FileUnreadable,
            format!("{}: {e}", path.display()),
        )
    };
    let name = path
        .file_name()
        .ok_or_else(|| ApiError::new(ErrorCode::FileUnreadable, "no file name"))?;
    let tmp = path.with_file_name(format!(".{}.partial", name.to_string_lossy()));
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(())
}
