//! The lab as one call, [`run_lab`]: a [`LabRequest`] (the `--claim` list as typed, quick,
//! `--out`) is checked, the selected claims run in the course's order with the machine watched,
//! and the report's files are written; [`claim_list`] is `lab --list`. The claims themselves,
//! their models and the verdict rule live in the modules beside this one.

use std::path::PathBuf;

use super::{
    async_claims, claims, distributed_claims, web_claims, Claim, ClaimResult, Expect, Kind, Lab,
    LabError, LabOptions, LabReport, VERDICT_RULE,
};
use crate::machine::{Machine, Watch};

/// Every claim, in the course's order: [`claims`], then [`async_claims`], then
/// [`distributed_claims`], then [`web_claims`].
pub(crate) fn all_claims() -> impl Iterator<Item = &'static Claim> {
    claims::ALL
        .iter()
        .chain(async_claims::ALL.iter())
        .chain(distributed_claims::ALL.iter())
        .chain(web_claims::ALL.iter())
}

/// Ids of every claim, in order.
pub fn claim_ids() -> Vec<&'static str> {
    all_claims().map(|c| c.id).collect()
}

/// `concbench lab --list`: one line per claim, `ID  statement`, the ids padded to one width, in
/// the course's order; a check (which cannot fail by how it is built) ends in ` (check)`.
pub fn claim_list() -> String {
    let width = all_claims().map(|c| c.id.len()).max().unwrap_or(0);
    let mut s = String::new();
    for c in all_claims() {
        let check = match c.kind {
            Kind::Check => " (check)",
            Kind::Claim => "",
        };
        s.push_str(&format!("{:<width$}  {}{check}\n", c.id, c.statement));
    }
    s
}

/// Parse a `--claim` list; `None` means every claim. Unknown ids are an error naming them.
pub(crate) fn select(list: Option<&str>) -> Result<Vec<&'static Claim>, String> {
    let Some(list) = list else {
        return Ok(all_claims().collect());
    };
    let mut out: Vec<&'static Claim> = Vec::new();
    for id in list.split(',').map(str::trim) {
        if id.is_empty() {
            return Err(format!("--claim '{list}' has an empty item"));
        }
        let c = all_claims()
            .find(|c| c.id == id)
            .ok_or_else(|| format!("unknown claim '{id}' (known: {})", claim_ids().join(", ")))?;
        if !out.iter().any(|o| o.id == c.id) {
            out.push(c);
        }
    }
    out.sort_by_key(|c| all_claims().position(|a| a.id == c.id));
    Ok(out)
}

/// The expectation of each claim whose experiment pins workers to one core (as its own code
/// states it): on a platform that cannot pin threads these are not-testable, with the reason.
/// The claims whose experiment needs threads pinned to one core, with the form of their
/// prediction at its nominal value (the margin and the model's inputs are measured by the
/// experiment itself, which a machine that cannot pin does not run).
fn one_core_expectation(id: &str) -> Option<Expect> {
    Some(match id {
        "context-switch" => Expect::AtLeast(1.0),
        "one-core-concurrency"
        | "cpu-bound-on-one-core"
        | "thread-pool-vs-thread-per-task"
        | "oversubscribed-spinning"
        | "io-cpu-crossover"
        | "oversubscription"
        | "web-server-concurrency"
        | "c10k-memory" => Expect::Between([1.0, 1.0]),
        // nice 0 against nice 5: the scheduler's weights 1024 / 335.
        "time-slicing" => Expect::Between([1024.0 / 335.0, 1024.0 / 335.0]),
        _ => return None,
    })
}

/// What `concbench lab` is asked, as given; [`run_lab`] checks it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabRequest {
    /// Comma list of claim ids (`--claim`); `None`: every claim, in the course's order
    /// ([`claim_ids`]). Duplicates count once, and the claims run in the course's order.
    pub claims: Option<String>,
    /// Smaller experiments (7 repetitions instead of 11; under a minute on 2 cores): the
    /// intervals keep their coverage but grow wider, so more verdicts come out inconclusive.
    pub quick: bool,
    /// Write the report's files here (`--out`; [`crate::report::Render::files`]), as one set
    /// after the last claim: checked ([`crate::output::prepare_out_dir`]) after the claim list
    /// and before any claim is measured, so a report that could not be saved is refused at once.
    pub out: Option<PathBuf>,
}

/// What a lab tells its caller while it works.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LabEvent {
    /// A claim's experiment starts: for a progress display.
    Claim {
        /// Claims finished before this one.
        done: usize,
        /// Claims selected.
        total: usize,
        /// The claim's id.
        id: &'static str,
    },
    /// A line for stderr, whole (`concbench: warning: ...`): other programs took a share of the
    /// CPUs while the lab measured.
    Note(String),
}

/// Run what `request` asks, as `concbench lab` does: check the claim list and the output
/// directory (either bad is [`LabError::Request`], before any work), then run the selected
/// claims in the course's order, with the machine watched for other programs' load
/// (`crate::machine::Watch`; a busy machine is a [`LabEvent::Note`]), and write the report's
/// files into `out` ([`LabError::Write`] when that fails). The report renders in every
/// [`crate::report::Format`] through [`crate::report::Render`].
pub fn run_lab(
    request: &LabRequest,
    on_event: &mut dyn FnMut(LabEvent),
) -> Result<LabReport, LabError> {
    let selected = select(request.claims.as_deref()).map_err(LabError::Request)?;
    if let Some(dir) = &request.out {
        crate::output::prepare_out_dir(dir).map_err(LabError::Request)?;
    }
    let options = LabOptions {
        quick: request.quick,
    };
    let mut watch = Watch::start();
    let mut report = run_claims(&selected, &options, &mut |done, claim| {
        on_event(LabEvent::Claim {
            done,
            total: selected.len(),
            id: claim.id,
        })
    })?;
    watch.finish(&mut report.machine);
    if let Some(line) = report.machine.busy_warning("the lab") {
        on_event(LabEvent::Note(line));
    }
    if let Some(dir) = &request.out {
        crate::report::Render::write(&report, dir).map_err(LabError::Write)?;
    }
    Ok(report)
}

/// Run `selected` claims in order, calling `progress(index, claim)` before each.
fn run_claims(
    selected: &[&'static Claim],
    options: &LabOptions,
    progress: &mut dyn FnMut(usize, &'static Claim),
) -> Result<LabReport, LabError> {
    let lab = Lab::new(*options);
    let machine = Machine::describe(lab.context());
    let mut results = Vec::with_capacity(selected.len());
    for (i, claim) in selected.iter().enumerate() {
        progress(i, claim);
        let r = match one_core_expectation(claim.id) {
            Some(expect) if !crate::topology::placement_enforced() => {
                Ok(ClaimResult::not_testable(
                    claim,
                    expect,
                    crate::sys::no_pinning_reason("this claim"),
                ))
            }
            _ => (claim.run)(claim, &lab),
        }
        .map_err(|message| LabError::Claim {
            id: claim.id.into(),
            message,
        })?;
        if r.kind == Kind::Claim && r.measured.is_some() && r.negation.is_none() {
            return Err(LabError::Claim {
                id: claim.id.into(),
                message: "a defect of the lab: the claim was judged without declaring the figure its negation predicts (ClaimResult::judge), so the no-effect rule was not applied to it".into(),
            });
        }
        results.push(r);
    }
    Ok(LabReport {
        machine,
        rule: VERDICT_RULE.into(),
        quick: options.quick,
        inputs: lab.inputs(),
        claims: results,
    })
}
