//! Writing results: every write to stdout checked, each result set swapped into its directory at
//! once, and the output directory checked before any work starts. Knows nothing of what it
//! writes.
//!
//! A result set (the files of one `--out DIR`) is written into a staging directory beside DIR,
//! with a manifest naming its files, and then swapped with DIR in one step (`RENAME_EXCHANGE`;
//! where the file system lacks it, two renames with DIR briefly absent). So DIR always holds one
//! complete run: a full disk or an interruption leaves the previous set whole. Files in DIR that
//! no concbench set wrote (a `verdicts.txt` the shell is still writing, say) are carried over;
//! files the previous set wrote and this one does not are not.

use std::io;
use std::path::{Path, PathBuf};

use crate::sys;

/// The manifest of a result set: one file name a line.
pub(crate) const MANIFEST: &str = ".concbench-set";

/// Write `contents` to `path` atomically: a temporary file in the same directory, then a rename,
/// so a reader (or an interrupted run) never sees a half-written file.
pub(crate) fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{name}.{}.pending", std::process::id()));
    let result = std::fs::write(&tmp, contents).and_then(|_| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Check, before any work is done, that a result set can later be written to `dir`: it is a
/// directory or does not exist yet, and the nearest existing directory on its path accepts a new
/// file. Nothing is created (a rejected command leaves no directory); the error names the
/// directory and the reason.
pub fn prepare_out_dir(dir: &Path) -> Result<(), String> {
    if dir.exists() && !dir.is_dir() {
        return Err(format!(
            "output directory {} exists and is not a directory",
            dir.display()
        ));
    }
    let mut probe_in = absolute(dir);
    while !probe_in.exists() {
        match probe_in.parent() {
            Some(p) => probe_in = p.to_path_buf(),
            None => break,
        }
    }
    if !probe_in.is_dir() {
        return Err(format!(
            "cannot create output directory {}: {} is not a directory",
            dir.display(),
            probe_in.display()
        ));
    }
    let probe = probe_in.join(format!(".concbench-probe-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .and_then(|_| std::fs::remove_file(&probe))
        .map_err(|e| {
            if probe_in == absolute(dir) {
                format!(
                    "output directory {} is not writable (creating a file in it failed: {e})",
                    dir.display()
                )
            } else {
                format!(
                    "cannot create output directory {}: {} is not writable ({e})",
                    dir.display(),
                    probe_in.display()
                )
            }
        })
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

/// Write `files` (name, contents) into `dir` as one result set (see [`ResultSet::commit`]: staged
/// beside it and swapped in at once, so `dir` then holds these files and no other set's).
/// Returns the paths written.
pub(crate) fn write_set(dir: &Path, files: Vec<(String, String)>) -> io::Result<Vec<PathBuf>> {
    let mut set = ResultSet::new();
    for (name, contents) in files {
        set.add(dir, &name, contents);
    }
    set.commit()
}

/// The files of one or more result sets, written together by [`ResultSet::commit`].
#[derive(Debug, Default)]
pub(crate) struct ResultSet {
    files: Vec<(PathBuf, String, Vec<u8>)>,
}

impl ResultSet {
    /// An empty set.
    pub(crate) fn new() -> ResultSet {
        ResultSet::default()
    }

    /// Add file `name` with `contents` to the set of directory `dir` (a later file of the same
    /// name replaces an earlier one).
    pub(crate) fn add(&mut self, dir: &Path, name: &str, contents: impl Into<Vec<u8>>) {
        self.files.retain(|(d, n, _)| !(d == dir && n == name));
        self.files
            .push((dir.to_path_buf(), name.to_string(), contents.into()));
    }

    /// Write every directory's set: staged beside it, then swapped in at once. Returns the paths
    /// written. On an error, each directory not yet swapped still holds its previous set.
    pub(crate) fn commit(self) -> io::Result<Vec<PathBuf>> {
        let mut dirs: Vec<PathBuf> = Vec::new();
        for (d, _, _) in &self.files {
            if !dirs.contains(d) {
                dirs.push(d.clone());
            }
        }
        let mut written = Vec::new();
        for dir in dirs {
            let files: Vec<(&str, &[u8])> = self
                .files
                .iter()
                .filter(|(d, _, _)| *d == dir)
                .map(|(_, n, c)| (n.as_str(), c.as_slice()))
                .collect();
            commit_dir(&dir, &files)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
            written.extend(files.iter().map(|(n, _)| dir.join(n)));
        }
        Ok(written)
    }
}

/// Stage `files` beside `dir` and swap them in.
fn commit_dir(dir: &Path, files: &[(&str, &[u8])]) -> io::Result<()> {
    let dir = absolute(dir);
    let parent = dir.parent().unwrap_or(Path::new("/")).to_path_buf();
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    std::fs::create_dir_all(&parent)?;
    remove_stale_staging(&parent, &name);
    let staging = parent.join(format!(".{name}.concbench-{}.tmp", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir(&staging)?;
    let staged = stage(&dir, &staging, files);
    if let Err(e) = staged {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    if !dir.exists() {
        let renamed = std::fs::rename(&staging, &dir);
        if renamed.is_err() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        return renamed;
    }
    if sys::exchange_paths(&staging, &dir).is_err() {
        // No atomic exchange here: move the old set aside, then the new one in. DIR is absent
        // for a moment, but never mixed.
        let old = parent.join(format!(".{name}.concbench-{}.old", std::process::id()));
        std::fs::rename(&dir, &old)?;
        if let Err(e) = std::fs::rename(&staging, &dir) {
            let _ = std::fs::rename(&old, &dir);
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
        let _ = std::fs::remove_dir_all(&old);
        return Ok(());
    }
    // `staging` now holds the previous set.
    let _ = std::fs::remove_dir_all(&staging);
    Ok(())
}

/// Fill `staging`: the new files, the manifest, and (as hard links, so writers keep writing to
/// them) the files of `dir` that no concbench set wrote.
fn stage(dir: &Path, staging: &Path, files: &[(&str, &[u8])]) -> io::Result<()> {
    for (name, contents) in files {
        std::fs::write(staging.join(name), contents)?;
    }
    let mut manifest: String = files.iter().map(|(n, _)| format!("{n}\n")).collect();
    manifest.insert_str(0, "# files of the last concbench result set written here\n");
    std::fs::write(staging.join(MANIFEST), manifest)?;
    if !dir.is_dir() {
        return Ok(());
    }
    let previous: Vec<String> = std::fs::read_to_string(dir.join(MANIFEST))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        let ours = name_str == MANIFEST
            || previous.iter().any(|p| *p == name_str)
            || files.iter().any(|(n, _)| *n == name_str);
        if ours {
            continue;
        }
        let target = staging.join(&name);
        if entry.file_type()?.is_dir() {
            // A directory cannot be hard-linked: move it (it is not part of any set).
            std::fs::rename(entry.path(), target)?;
        } else {
            std::fs::hard_link(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Remove staging directories left beside `name` by an interrupted run.
fn remove_stale_staging(parent: &Path, name: &str) {
    let prefix = format!(".{name}.concbench-");
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let n = entry.file_name().to_string_lossy().into_owned();
        if n.starts_with(&prefix) && (n.ends_with(".tmp") || n.ends_with(".old")) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_new_set_replaces_the_previous_one_whole() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        let mut first = ResultSet::new();
        first.add(&dir, "a.txt", "1");
        first.add(&dir, "b.txt", "1");
        first.commit().unwrap();
        std::fs::write(dir.join("notes.txt"), "mine").unwrap();
        let mut second = ResultSet::new();
        second.add(&dir, "a.txt", "2");
        second.commit().unwrap();
        // b.txt was the previous set's: gone. notes.txt was never a set's: kept.
        assert_eq!(names(&dir), [MANIFEST, "a.txt", "notes.txt"]);
        assert_eq!(std::fs::read_to_string(dir.join("a.txt")).unwrap(), "2");
        assert_eq!(names(root.path()), ["out"], "no staging directory left");
    }

    #[test]
    fn a_failed_set_leaves_the_previous_one_whole() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        let mut first = ResultSet::new();
        first.add(&dir, "a.txt", "1");
        first.commit().unwrap();
        let mut bad = ResultSet::new();
        bad.add(&dir, "a.txt", "2");
        bad.add(&dir, "no/such/dir.txt", "2");
        assert!(bad.commit().is_err());
        assert_eq!(std::fs::read_to_string(dir.join("a.txt")).unwrap(), "1");
        assert_eq!(names(root.path()), ["out"]);
    }

    #[test]
    fn checking_a_directory_creates_nothing() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b/c");
        prepare_out_dir(&dir).unwrap();
        assert!(!root.path().join("a").exists());
        let file = root.path().join("f");
        std::fs::write(&file, "").unwrap();
        assert!(prepare_out_dir(&file)
            .unwrap_err()
            .contains("not a directory"));
        assert!(prepare_out_dir(&file.join("sub"))
            .unwrap_err()
            .contains("not a directory"));
    }
}
