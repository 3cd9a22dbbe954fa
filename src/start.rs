//! Starting workers (threads and processes), and the one line concbench says when the system
//! refuses one: which limit, how many workers were asked for and how many had started.
//!
//! Every place that starts workers (the strategies, the timeline, the switch-cost ping-pong, the
//! ceilings, the references, the lab) goes through [`spawn_scoped`] or maps a failed process
//! start with [`StartError::new`], so a `ulimit -u`, a cgroup `pids.max` or `ulimit -n` shows up
//! the same way everywhere, and never as a panic.

use std::io;
use std::thread::{Builder, Scope, ScopedJoinHandle};

use crate::sys;

/// A worker the system refused to start.
#[derive(Debug, thiserror::Error)]
#[error(
    "could not start a {kind} for worker {index} ({count} asked for, {index} started): {}{source}; the {index} started were released",
    .limit.as_ref().map(|l| format!("{l} refused it: ")).unwrap_or_default()
)]
pub struct StartError {
    /// `thread` or `process`.
    pub(crate) kind: &'static str,
    /// The worker that could not start (0-based): as many had started before it.
    pub(crate) index: usize,
    /// Workers asked for.
    pub(crate) count: usize,
    /// What the system said.
    pub(crate) source: io::Error,
    /// The limit that most likely refused it, in words with its value.
    pub(crate) limit: Option<String>,
}

impl StartError {
    /// Worker `index` of `count` (a `thread` or a `process`) could not start with `source`.
    pub(crate) fn new(
        kind: &'static str,
        index: usize,
        count: usize,
        source: io::Error,
    ) -> StartError {
        let limit = sys::limit_behind(&source);
        StartError {
            kind,
            index,
            count,
            source,
            limit,
        }
    }
}

/// `builder.spawn_scoped(scope, f)` for worker `index` of `count`, with a refusal as a
/// [`StartError`] instead of the panic of `Scope::spawn`.
pub(crate) fn spawn_scoped<'scope, 'env, F, T>(
    scope: &'scope Scope<'scope, 'env>,
    builder: Builder,
    index: usize,
    count: usize,
    f: F,
) -> Result<ScopedJoinHandle<'scope, T>, StartError>
where
    F: FnOnce() -> T + Send + 'scope,
    T: Send + 'scope,
{
    builder
        .spawn_scoped(scope, f)
        .map_err(|e| StartError::new("thread", index, count, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_the_limit_and_the_counts() {
        let e = StartError::new("thread", 36, 256, io::Error::from_raw_os_error(11));
        let text = e.to_string();
        assert!(text.contains("(256 asked for, 36 started)"), "{text}");
        // Which limit depends on who runs the test (root is not held to ulimit -u).
        assert!(
            text.contains("limit") && text.contains("refused it"),
            "{text}"
        );
        assert!(text.contains("the 36 started were released"), "{text}");
        let e = StartError::new("process", 3, 8, io::Error::from_raw_os_error(24));
        assert!(e.to_string().contains("ulimit -n"), "{e}");
    }
}
