//! Shared by the CLI tests (a folder, so cargo does not build it as a test of its own): whether
//! this platform can pin threads to cores, for the tests whose meaning depends on the pin
//! (`--placement one-core`, `single-core-threaded` rows, the CPUs a part reported), and the
//! check that a command succeeded. Each test file uses some of these, so the others are unused
//! there.
#![allow(dead_code)]

/// `true` where threads can be pinned (Linux, Windows). Elsewhere (macOS) it prints why `test`
/// is skipped and returns `false`, and the test returns early instead of failing:
/// `if !cli_support::pinning_or_skip("name") { return; }`.
pub fn pinning_or_skip(test: &str) -> bool {
    // macOS is the one platform concbench runs on that cannot pin a thread to a CPU.
    if !cfg!(target_os = "macos") {
        return true;
    }
    eprintln!("skipped {test}: macOS cannot pin a thread to a CPU");
    false
}

/// Assert that a command exited with status 0, showing its stderr when it did not.
pub fn assert_ran(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "exit status {:?}; stderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}
