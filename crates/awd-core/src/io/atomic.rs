//! Atomic file writes: write a temporary sibling, then rename over the target.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::IoError;

fn temp_sibling(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Write a file through `fill`, atomically: readers see the old file or the
/// complete new one, never a partial file. On error nothing is left behind.
/// Missing parent folders are created.
pub fn write_atomic<F>(path: &Path, fill: F) -> Result<(), IoError>
where
    F: FnOnce(&mut BufWriter<File>) -> Result<(), IoError>,
{
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| IoError::write(path, e))?;
    }
    let tmp = temp_sibling(path);
    let result = (|| {
        let file = File::create(&tmp).map_err(|e| IoError::write(path, e))?;
        let mut writer = BufWriter::new(file);
        fill(&mut writer)?;
        let file = writer.into_inner().map_err(|e| IoError::write(path, e.into_error()))?;
        file.sync_all().map_err(|e| IoError::write(path, e))?;
        std::fs::rename(&tmp, path).map_err(|e| IoError::write(path, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Serialize `value` as pretty JSON into `path`, atomically.
pub fn write_json_atomic<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), IoError> {
    write_atomic(path, |w| {
        serde_json::to_writer_pretty(&mut *w, value)
            .map_err(|e| IoError::format(path, format!("cannot serialize JSON: {e}")))?;
        w.write_all(b"\n").map_err(|e| IoError::write(path, e))
    })
}
