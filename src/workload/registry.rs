//! Workload descriptors: everything the rest of concbench knows about a workload, in one value.
//!
//! A [`WorkloadDescriptor`] names a workload, says what it does in one line, lists the parameters
//! it takes (with their flags, defaults, help and valid values), its default size, how much
//! memory a size needs, which ceiling of the machine bounds it, and how to build it. `concbench
//! list`, the `run` flags and their checks, the plan's default size and memory check, and the
//! ceiling figures beside a run all read the descriptors; nothing else matches on a workload's
//! name.
//!
//! How to add a workload, built in or your own, is in the [`crate::workload`] module's docs.

use super::{Workload, WorkloadError, WorkloadSpec, BUILT_IN};

/// Which ceiling of the machine bounds a workload: decides the figures shown beside its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ceiling {
    /// Bound by arithmetic: rows show GFLOP/s as a share of the FMA peak of the cores used.
    ComputeBound,
    /// Bound by memory: rows show the speedup beside the copy bandwidth scaling.
    MemoryBound,
    /// Neither (e.g. waiting): rows show only the cores used.
    None,
}

/// What values a parameter takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamKind {
    /// A finite number from `min` to `max` inclusive; the bounds are written as users see them
    /// in messages (`"0.0"`, `"60000"`) and must parse as `f64`.
    Number {
        /// Smallest value.
        min: &'static str,
        /// Largest value.
        max: &'static str,
    },
    /// One of these words.
    Choice(&'static [&'static str]),
    /// A flag without a value (`--cpu-parallel`): `true` when given, `false` otherwise.
    Switch,
}

/// One named parameter of a workload (a key of `WorkloadSpec::params`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamDescriptor {
    /// Key in `WorkloadSpec::params` (`wait_ms`).
    pub name: &'static str,
    /// Command-line flag without the dashes (`wait-ms`).
    pub flag: &'static str,
    /// The values it takes.
    pub kind: ParamKind,
    /// The value used when it is absent, as text.
    pub(crate) default: &'static str,
    /// One line of help for the flag (after the workload's name and a colon).
    pub help: &'static str,
}

/// `--yield-every K`: a yield point every K units of a part's work (keys for `mergesort`, rows of
/// C for `matmul`), shared by the CPU-bound workloads. A `single-thread-async` task gives its
/// thread to the other tasks there; threads and processes pass the points by (the kernel
/// preempts them anyway), so every strategy does the same work. 0 (the default): no yield
/// points, each part runs whole.
pub(crate) const YIELD_EVERY: ParamDescriptor = ParamDescriptor {
    name: "yield_every",
    flag: "yield-every",
    kind: ParamKind::Number {
        min: "0",
        max: "1000000000",
    },
    default: "0",
    help: "a yield point every K units of a part's work (keys, rows); single-thread-async tasks let the others run there; 0 (default): never",
};

/// `--wait-ms`, shared by the workloads that wait (io: the length of one task; web: what each
/// request waits), each with its own default and its own help.
pub(crate) const fn wait_ms(default: &'static str, help: &'static str) -> ParamDescriptor {
    ParamDescriptor {
        name: "wait_ms",
        flag: "wait-ms",
        kind: ParamKind::Number {
            min: "0",
            max: "60000",
        },
        default,
        help,
    }
}

/// Why a parameter value was refused by [`ParamDescriptor::check`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub(crate) enum ParamProblem {
    /// A number outside its range, or not a number at all.
    OutOfRange,
    /// A word that is not one of the choices.
    NotAChoice,
}

impl ParamDescriptor {
    /// The allowed values as a short phrase: `0 to 60000`, `blocked, naive`.
    pub(crate) fn allowed(&self) -> String {
        match self.kind {
            ParamKind::Number { min, max } => format!("{min} to {max}"),
            ParamKind::Choice(words) => words.join(", "),
            ParamKind::Switch => "true, false".into(),
        }
    }

    /// Check a value against [`ParamDescriptor::kind`].
    pub(crate) fn check(&self, value: &str) -> Result<(), ParamProblem> {
        match self.kind {
            ParamKind::Number { .. } => match value.trim().parse::<f64>() {
                Ok(v) if self.in_range(v) => Ok(()),
                _ => Err(ParamProblem::OutOfRange),
            },
            ParamKind::Choice(words) if words.contains(&value) => Ok(()),
            ParamKind::Choice(_) => Err(ParamProblem::NotAChoice),
            ParamKind::Switch if value == "true" || value == "false" => Ok(()),
            ParamKind::Switch => Err(ParamProblem::NotAChoice),
        }
    }

    /// Whether a number lies in a [`ParamKind::Number`] range (finite and within the bounds);
    /// `false` for a choice.
    pub(crate) fn in_range(&self, v: f64) -> bool {
        match self.kind {
            ParamKind::Number { min, max } => {
                let bound = |b: &str| b.parse::<f64>().expect("descriptor bounds parse as f64");
                v.is_finite() && (bound(min)..=bound(max)).contains(&v)
            }
            ParamKind::Choice(_) | ParamKind::Switch => false,
        }
    }

    /// The error for a refused value: names the flag, its allowed values and the value.
    pub(crate) fn bad_value(&self, value: &str) -> WorkloadError {
        WorkloadError::BadParam {
            name: format!("--{} ({})", self.flag, self.allowed()),
            value: value.to_string(),
        }
    }
}

/// Everything concbench knows about one workload. See the module docs for how to add one.
#[derive(Debug, Clone, Copy)]
pub struct WorkloadDescriptor {
    /// The name users type (`--workload`) and specs carry.
    pub name: &'static str,
    /// One line for `concbench list`.
    pub description: &'static str,
    /// What `--size` counts (`keys`, `matrix order n`, `tasks`).
    pub size_unit: &'static str,
    /// The named parameters it reads, in the order of its flags.
    pub params: &'static [ParamDescriptor],
    /// Size when `--size` is not given: a whole `--cores 1,2,4,8` sweep of every strategy
    /// stays under a minute on two cores.
    pub default_size: usize,
    /// Bytes of memory a run of this size needs (shared region plus a copy for checks).
    pub memory_needed: fn(usize) -> u128,
    /// Which ceiling of the machine bounds it.
    pub ceiling: Ceiling,
    /// Make the workload from a spec. Calling this field does not check the parameters: build
    /// through [`build_with`] (or [`crate::workload::build`] for the built-in workloads), which
    /// checks them against `params` first, or start the function with
    /// [`WorkloadDescriptor::check_params`]. A service has no parts to build: its `build` says
    /// so ([`WorkloadError::Service`]).
    pub build: fn(&WorkloadSpec) -> Result<Box<dyn Workload>, WorkloadError>,
    /// A service (`web`): requests arriving over sockets, not the parts of one job. The runner
    /// measures it with the server architectures of `crate::service` instead of building it.
    pub service: bool,
}

impl WorkloadDescriptor {
    /// The parameter with this key, if the workload takes it.
    pub(crate) fn param(&self, name: &str) -> Option<&'static ParamDescriptor> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Check a spec's parameters: one the workload does not read is
    /// [`WorkloadError::UnusedParam`] (so a mistyped run does not silently measure something
    /// else), or [`WorkloadError::KeySpelledAsFlag`] when it is a parameter's flag spelling; a
    /// value it cannot use is [`WorkloadError::BadParam`] naming the value.
    pub fn check_params(&self, spec: &WorkloadSpec) -> Result<(), WorkloadError> {
        if let Some(extra) = spec.params.keys().find(|k| self.param(k).is_none()) {
            // A flag's spelling given as a key (`wait-ms`): name the key it stands for.
            if let Some(p) = self.params.iter().find(|p| p.flag == extra.as_str()) {
                return Err(WorkloadError::KeySpelledAsFlag {
                    given: extra.clone(),
                    key: p.name.to_string(),
                });
            }
            let flags: Vec<String> = self
                .params
                .iter()
                .map(|p| format!("--{}", p.flag))
                .collect();
            return Err(WorkloadError::UnusedParam {
                flag: extra.replace('_', "-"),
                workload: self.name.to_string(),
                takes: if flags.is_empty() {
                    "it takes only --size and --seed".into()
                } else {
                    format!("it takes {}", flags.join(" and "))
                },
            });
        }
        for p in self.params {
            if let Some(value) = spec.params.get(p.name) {
                p.check(value).map_err(|_| p.bad_value(value))?;
            }
        }
        Ok(())
    }

    /// Check the spec's parameters, then build the workload.
    pub(crate) fn build(&self, spec: &WorkloadSpec) -> Result<Box<dyn Workload>, WorkloadError> {
        self.check_params(spec)?;
        (self.build)(spec)
    }
}

/// The built-in workload of this name.
pub fn find(name: &str) -> Option<&'static WorkloadDescriptor> {
    BUILT_IN.iter().copied().find(|d| d.name == name)
}

/// The names of the built-in workloads, in registry order.
pub(crate) fn names() -> Vec<&'static str> {
    BUILT_IN.iter().map(|d| d.name).collect()
}

/// Every parameter of the built-in workloads once (the first descriptor that defines a name
/// wins), each with the names of the workloads that take it: the `concbench run` flags.
pub fn all_params() -> Vec<(&'static ParamDescriptor, Vec<&'static str>)> {
    let mut out: Vec<(&'static ParamDescriptor, Vec<&'static str>)> = Vec::new();
    for d in BUILT_IN {
        for p in d.params {
            match out.iter_mut().find(|(q, _)| q.name == p.name) {
                Some((_, users)) => users.push(d.name),
                None => out.push((p, vec![d.name])),
            }
        }
    }
    out
}

/// Build from a spec with the user's own descriptors first, then the built-in ones; the
/// parameters are checked either way. What a worker process's factory calls.
pub fn build_with(
    own: &[&WorkloadDescriptor],
    spec: &WorkloadSpec,
) -> Result<Box<dyn Workload>, WorkloadError> {
    match own.iter().find(|d| d.name == spec.name) {
        Some(d) => d.build(spec),
        None => super::build(spec),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_spelled_as_its_flag_is_named_with_its_key() {
        let io = find("io").unwrap();
        let spec = WorkloadSpec::new("io", 4, 1).with("wait-ms", 1);
        let e = io.check_params(&spec).unwrap_err();
        assert!(matches!(e, WorkloadError::KeySpelledAsFlag { .. }), "{e}");
        assert!(e.to_string().contains("'wait_ms'"), "{e}");
        let other = WorkloadSpec::new("io", 4, 1).with("kernel", "naive");
        assert!(matches!(
            io.check_params(&other).unwrap_err(),
            WorkloadError::UnusedParam { .. }
        ));
    }

    #[test]
    fn names_are_distinct_and_bounds_parse() {
        let names = names();
        for (i, n) in names.iter().enumerate() {
            assert!(!names[i + 1..].contains(n), "{n} twice");
        }
        for (p, _) in all_params() {
            if let ParamKind::Number { min, max } = p.kind {
                assert!(min.parse::<f64>().is_ok() && max.parse::<f64>().is_ok());
            }
            assert!(p.check(p.default).is_ok(), "{}: default refused", p.name);
            assert_eq!(p.flag, p.name.replace('_', "-"));
        }
    }

    #[test]
    fn every_built_in_builds_at_a_small_size() {
        for d in BUILT_IN.iter().filter(|d| !d.service) {
            let spec = WorkloadSpec::new(d.name, 3, 1);
            assert!(d.build(&spec).is_ok(), "{}", d.name);
            assert!((d.memory_needed)(d.default_size) > 0);
        }
    }

    #[test]
    fn parameters_are_checked() {
        let io = find("io").unwrap();
        let e = io
            .build(&WorkloadSpec::new("io", 2, 1).with("wait_ms", -1))
            .err()
            .unwrap();
        assert_eq!(e.to_string(), "bad value '-1' for --wait-ms (0 to 60000)");
        let e = find("matmul")
            .unwrap()
            .build(&WorkloadSpec::new("matmul", 2, 1).with("kernel", "turbo"))
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "bad value 'turbo' for --kernel (blocked, naive)"
        );
        let e = find("mergesort")
            .unwrap()
            .build(&WorkloadSpec::new("mergesort", 2, 1).with("kernel", "naive"))
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "--kernel does not apply to mergesort (it takes --yield-every)"
        );
        let e = io
            .build(&WorkloadSpec::new("io", 2, 1).with("yield_every", 5))
            .err()
            .unwrap();
        assert!(
            e.to_string()
                .starts_with("--yield-every does not apply to io"),
            "{e}"
        );
    }
}
