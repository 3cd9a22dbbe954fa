//! The workload parameters of `concbench run` as flags, made from the workload descriptors.
//!
//! Every parameter of a built-in workload ([`concbench::workload::all_params`]) becomes one
//! `--flag`: a number is parsed as `f64` by clap (so `--wait-ms abc` is a clap error), a word is
//! taken as given. The values go to [`concbench::sweep::RunRequest::params`], where the plan checks them
//! against the descriptors.

use clap::{Arg, ArgMatches, Args, Command, FromArgMatches};

use concbench::workload::{all_params, ParamDescriptor, ParamKind};

/// The workload parameters given on the command line: `(key, value)` in flag order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkloadParams(pub Vec<(String, String)>);

impl FromArgMatches for WorkloadParams {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(WorkloadParams(values(matches, all_params())))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for WorkloadParams {
    fn augment_args(cmd: Command) -> Command {
        augment(cmd, all_params())
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

/// The handler's parameters of `concbench server`: the web workload's, less those of its load
/// generator (`--connections`, `--rate`), which a server alone has none of.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HandlerParams(pub Vec<(String, String)>);

fn handler_params() -> Vec<(&'static ParamDescriptor, Vec<&'static str>)> {
    concbench::workload::find("web")
        .expect("web is a built-in workload")
        .params
        .iter()
        .filter(|p| !matches!(p.name, "connections" | "rate"))
        .map(|p| (p, vec!["web"]))
        .collect()
}

impl FromArgMatches for HandlerParams {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(HandlerParams(values(matches, handler_params())))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for HandlerParams {
    fn augment_args(cmd: Command) -> Command {
        augment(cmd, handler_params())
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

/// The values given for `params`, as `(key, value)` in flag order.
fn values(
    matches: &ArgMatches,
    params: Vec<(&'static ParamDescriptor, Vec<&'static str>)>,
) -> Vec<(String, String)> {
    {
        let mut out = Vec::new();
        for (p, _) in params {
            let value = match p.kind {
                // The number as typed (clap checked that it parses); the request keeps it in
                // its short form.
                ParamKind::Number { .. } => matches
                    .get_raw(p.name)
                    .and_then(|mut raw| raw.next())
                    .map(|v| v.to_string_lossy().into_owned()),
                ParamKind::Choice(_) => matches.get_one::<String>(p.name).cloned(),
                ParamKind::Switch => matches.get_flag(p.name).then(|| "true".to_string()),
            };
            if let Some(v) = value {
                out.push((p.name.to_string(), v));
            }
        }
        out
    }
}

/// One flag per parameter of `params`, its help naming the workloads that take it.
fn augment(
    mut cmd: Command,
    params: Vec<(&'static ParamDescriptor, Vec<&'static str>)>,
) -> Command {
    {
        for (p, users) in params {
            let arg = Arg::new(p.name)
                .long(p.flag)
                .value_name(value_name(p.name))
                .help(help(p, &users));
            cmd = cmd.arg(match p.kind {
                ParamKind::Number { .. } => arg
                    .value_parser(clap::value_parser!(f64))
                    .allow_negative_numbers(true),
                ParamKind::Choice(_) => arg,
                ParamKind::Switch => arg.num_args(0).action(clap::ArgAction::SetTrue),
            });
        }
        cmd
    }
}

/// A flag's help: `USERS: HELP`, or each workload's own help where they differ (`--wait-ms` is
/// a task's length for io and a request's wait for web).
fn help(p: &ParamDescriptor, users: &[&'static str]) -> String {
    let own = |w: &str| {
        concbench::workload::find(w)
            .and_then(|d| d.params.iter().find(|q| q.name == p.name))
            .map_or(p.help, |q| q.help)
    };
    if users.iter().all(|w| own(w) == p.help) {
        format!("{}: {}", users.join(", "), p.help)
    } else {
        let parts: Vec<String> = users.iter().map(|w| format!("{w}: {}", own(w))).collect();
        parts.join("; ")
    }
}

/// `WAIT_MS` for `wait_ms`, as clap's derive would name it. clap takes only `&'static str` names
/// without its `string` feature: the few bytes per flag live as long as the process anyway.
fn value_name(name: &str) -> &'static str {
    Box::leak(name.to_uppercase().into_boxed_str())
}
