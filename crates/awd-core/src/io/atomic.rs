//! Atomic file writes: write a temporary sibling, then rename over the target.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::IoError;

/// A hidden temporary name beside `path`, unique to this process and call
/// (threads writing the same target never share one).
fn temp_sibling(path: &Path) -> PathBuf {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.tmp-{}-{call}", std::process::id()))
}

/// Write a file through `fill`, atomically: readers see the old file or the
/// complete new one, never a partial file. On error nothing is left behind.
/// Missing parent folders are created.
///
/// A path that is not a regular file is never replaced: a device or a pipe
/// (`/dev/null`, `/dev/stdout`, a FIFO) is written in place, a symbolic link
/// is followed (its target is replaced atomically, the link stays), and a
/// folder is an error.
pub fn write_atomic<F>(path: &Path, fill: F) -> Result<(), IoError>
where
    F: FnOnce(&mut BufWriter<File>) -> Result<(), IoError>,
{
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => return Err(IoError::format(path, "is a folder; give a file name")),
        Ok(m) if !m.is_file() => {
            let file = std::fs::OpenOptions::new().write(true).open(path).map_err(|e| IoError::write(path, e))?;
            let mut writer = BufWriter::new(file);
            fill(&mut writer)?;
            return writer.flush().map_err(|e| IoError::write(path, e));
        }
        Ok(_) if path.is_symlink() => {
            let target = std::fs::canonicalize(path).map_err(|e| IoError::write(path, e))?;
            return write_atomic(&target, fill);
        }
        _ => {}
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| IoError::write(path, e))?;
    }
    let tmp = write_temp(path, fill)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        IoError::write(path, e)
    })
}

/// Fill a new temporary sibling of `path` through `fill` and flush it to
/// disk; its name. On error nothing is left behind.
fn write_temp<F>(path: &Path, fill: F) -> Result<PathBuf, IoError>
where
    F: FnOnce(&mut BufWriter<File>) -> Result<(), IoError>,
{
    let tmp = temp_sibling(path);
    let result = (|| {
        let file = File::create(&tmp).map_err(|e| IoError::write(path, e))?;
        let mut writer = BufWriter::new(file);
        fill(&mut writer)?;
        let file = writer.into_inner().map_err(|e| IoError::write(path, e.into_error()))?;
        file.sync_all().map_err(|e| IoError::write(path, e))
    })();
    match result {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Write `value` as pretty JSON into `path` only if no file is there, as one
/// atomic step (a hard link of a complete temporary file, which fails when
/// the name exists): of processes racing to create the same file, exactly
/// one succeeds. Returns whether this call created it.
pub fn create_json_atomic<T: serde::Serialize>(path: &Path, value: &T) -> Result<bool, IoError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| IoError::write(path, e))?;
    }
    let tmp = write_temp(path, |w| json_into(w, path, value))?;
    let linked = match std::fs::hard_link(&tmp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(IoError::write(path, e)),
    };
    let _ = std::fs::remove_file(&tmp);
    linked
}

/// Pretty JSON of `value` and a final newline into `w` (for `path`).
fn json_into<T: serde::Serialize>(w: &mut BufWriter<File>, path: &Path, value: &T) -> Result<(), IoError> {
    serde_json::to_writer_pretty(&mut *w, value)
        .map_err(|e| IoError::format(path, format!("cannot serialize JSON: {e}")))?;
    w.write_all(b"\n").map_err(|e| IoError::write(path, e))
}

/// Serialize `value` as pretty JSON into `path`, atomically.
pub fn write_json_atomic<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), IoError> {
    write_atomic(path, |w| json_into(w, path, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_text(path: &Path, text: &str) -> Result<(), IoError> {
        write_atomic(path, |w| w.write_all(text.as_bytes()).map_err(|e| IoError::write(path, e)))
    }

    #[test]
    fn replaces_files_follows_links_and_never_replaces_pipes_or_folders() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.txt");
        write_text(&file, "one").unwrap();
        write_text(&file, "two").unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "two");
        // a link stays a link; its target gets the content
        #[cfg(unix)]
        {
            let link = dir.path().join("link.txt");
            std::os::unix::fs::symlink(&file, &link).unwrap();
            write_text(&link, "three").unwrap();
            assert!(link.is_symlink());
            assert_eq!(std::fs::read_to_string(&file).unwrap(), "three");
        }
        // a folder is an error, and stays a folder
        let e = write_text(dir.path(), "x").unwrap_err().to_string();
        assert!(e.contains("is a folder"), "{e}");
        // a FIFO (like /dev/null or /dev/stdout: not a regular file) is written in place
        #[cfg(target_os = "linux")]
        {
            let fifo = dir.path().join("pipe");
            if std::process::Command::new("mkfifo").arg(&fifo).status().is_ok_and(|s| s.success()) {
                let reader = {
                    let fifo = fifo.clone();
                    std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
                };
                write_text(&fifo, "through the pipe").unwrap();
                assert_eq!(reader.join().unwrap(), "through the pipe");
                use std::os::unix::fs::FileTypeExt;
                assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
            }
        }
        // nothing else was left in the folder
        let names: Vec<String> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
        assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
    }

    #[test]
    fn of_writers_racing_to_create_one_file_exactly_one_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("claim.json");
        let wins: Vec<bool> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let path = &path;
                    s.spawn(move || create_json_atomic(path, &vec![i; 1000]).unwrap())
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(wins.iter().filter(|w| **w).count(), 1, "{wins:?}");
        // the file is one writer's complete value, and no temporary is left
        let v: Vec<i32> = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v.len(), 1000);
        assert!(v.iter().all(|x| *x == v[0]));
        let names: Vec<String> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
        assert_eq!(names, vec!["claim.json".to_string()]);
        // an existing file is left alone
        assert!(!create_json_atomic(&path, &"other").unwrap());
    }
}
