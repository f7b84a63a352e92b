//! Atomic file writes: write a temporary sibling, then rename over the target.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use super::IoError;

/// Temporary files of this process not yet renamed into place: removed by
/// [`remove_pending_temp_files`] when the process is told to stop.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The marker between a target's name and the writer's identity in the name
/// of a temporary sibling: `.<name>.tmp-<host>-<pid>-<call>[.<extension>]`
/// (the target's extension kept, for writers that choose the format by it).
const TEMP_MARKER: &str = ".tmp-";

/// This machine's name (the temporary names of processes on other machines
/// sharing a folder are never judged by our process table).
fn host_name() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().replace(['-', '/', '.'], "_"))
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "host".into())
    })
}

/// A temporary sibling of a target file, registered so that a stopped run
/// removes it ([`remove_pending_temp_files`]); removed on drop unless it was
/// [`persist`](TempPath::persist)ed over the target.
#[derive(Debug)]
pub struct TempPath {
    path: PathBuf,
    target: PathBuf,
}

impl TempPath {
    /// A hidden name beside `target`, unique to this process and call
    /// (threads writing the same target never share one), ending in the
    /// target's extension. Temporary
    /// siblings of `target` left by dead processes of this machine are
    /// removed first.
    pub fn beside(target: &Path) -> Self {
        static CALLS: AtomicU64 = AtomicU64::new(0);
        remove_stale_siblings(target);
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let call = CALLS.fetch_add(1, Ordering::Relaxed);
        let extension = target.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
        let path = target.with_file_name(format!(
            ".{name}{TEMP_MARKER}{}-{}-{call}{extension}",
            host_name(),
            std::process::id()
        ));
        lock_pending().push(path.clone());
        TempPath { path, target: target.to_path_buf() }
    }

    /// Where to write.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rename the written file over the target.
    pub fn persist(self) -> Result<(), IoError> {
        std::fs::rename(&self.path, &self.target).map_err(|e| IoError::write(&self.target, e))
        // drop unregisters (the temporary name no longer exists)
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        lock_pending().retain(|p| p != &self.path);
    }
}

fn lock_pending() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    PENDING.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Remove every temporary file this process is writing (call it from a
/// SIGINT/SIGTERM handler before exiting); returns how many were removed.
pub fn remove_pending_temp_files() -> usize {
    let pending = std::mem::take(&mut *lock_pending());
    pending.iter().filter(|p| std::fs::remove_file(p).is_ok()).count()
}

/// Remove temporary siblings of `target` left by processes of this machine
/// that no longer run (killed with SIGKILL, or by a power cut). Only where
/// the process table can be read (`/proc`); elsewhere they stay.
fn remove_stale_siblings(target: &Path) {
    let Some(name) = target.file_name().map(|n| n.to_string_lossy().into_owned()) else { return };
    let dir = match target.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(d) => d.to_path_buf(),
        None => PathBuf::from("."),
    };
    if !Path::new("/proc/self").exists() {
        return;
    }
    let prefix = format!(".{name}{TEMP_MARKER}{}-", host_name());
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file.strip_prefix(&prefix) else { continue };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
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
    write_temp(path, fill)?.persist()
}

/// Fill a new temporary sibling of `path` through `fill` and flush it to
/// disk. On error (or when dropped) nothing is left behind.
fn write_temp<F>(path: &Path, fill: F) -> Result<TempPath, IoError>
where
    F: FnOnce(&mut BufWriter<File>) -> Result<(), IoError>,
{
    let tmp = TempPath::beside(path);
    let file = File::create(tmp.path()).map_err(|e| IoError::write(path, e))?;
    let mut writer = BufWriter::new(file);
    fill(&mut writer)?;
    let file = writer.into_inner().map_err(|e| IoError::write(path, e.into_error()))?;
    file.sync_all().map_err(|e| IoError::write(path, e))?;
    Ok(tmp)
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
    match std::fs::hard_link(tmp.path(), path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(IoError::write(path, e)),
    }
    // dropping `tmp` removes the temporary name
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

    #[test]
    fn stopped_runs_leave_no_temporaries_and_dead_writers_leftovers_are_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("big.npy");
        // a temporary dropped unpersisted (an error) is removed; removal by a
        // signal is tested end to end in the CLI's tests (the registry is
        // process-wide, so not here among parallel tests)
        let tmp = TempPath::beside(&target);
        std::fs::write(tmp.path(), b"partial").unwrap();
        let name = tmp.path().to_path_buf();
        drop(tmp);
        assert!(!name.exists());
        // leftovers of a dead process (no such pid) go; a live one's stay
        let dead = dir.path().join(format!(".big.npy{TEMP_MARKER}{}-{}-0", host_name(), u32::MAX - 7));
        let live = dir.path().join(format!(".big.npy{TEMP_MARKER}{}-1-0", host_name()));
        let other_host = dir.path().join(format!(".big.npy{TEMP_MARKER}elsewhere-{}-0", u32::MAX - 7));
        for p in [&dead, &live, &other_host] {
            std::fs::write(p, b"x").unwrap();
        }
        write_atomic(&target, |w| w.write_all(b"done").map_err(|e| IoError::write(&target, e))).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"done");
        if Path::new("/proc/self").exists() {
            assert!(!dead.exists(), "a dead writer's temporary is removed");
        }
        assert!(live.exists() && other_host.exists(), "live writers and other machines' files are left alone");
    }
}
