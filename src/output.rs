//! Writing results to files: each file atomically (a temporary file, then a rename), and the
//! output directory checked before any work starts. Knows nothing of what it writes.

/// Write `contents` to `path` atomically: a temporary file in the same directory, then a rename,
/// so a reader (or an interrupted run) never sees a half-written file.
pub fn write_atomic(path: &std::path::Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{name}.{}.pending", std::process::id()));
    let result = std::fs::write(&tmp, contents).and_then(|_| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Make sure `dir` exists (creating it) and is writable, before any work is done; the error
/// names the directory and the reason.
pub fn prepare_out_dir(dir: &std::path::Path) -> Result<(), String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create output directory {}: {e}", dir.display()))?;
    let probe = dir.join(format!(".concbench-probe-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .and_then(|_| std::fs::remove_file(&probe))
        .map_err(|e| {
            format!(
                "output directory {} is not writable (creating a file in it failed: {e})",
                dir.display()
            )
        })
}
