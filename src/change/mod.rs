//! The changes a plan makes, one room per kind (issue 28): what every change shares here —
//! the `Change` the executor runs and its `Kind`, where it goes (`Destination`), what came of
//! it (`Outcome`), what a run of changes did (`Executed`) — and each kind's own requests in
//! its file: [`version`] (a version's or a package's DELETE or restore), [`parts`] (the
//! deleted parts a restored image brings back with it), [`untag`] (a tag taken off with a
//! placeholder, and a placeholder's tag put back). The executor (`execute`) imports them and
//! keeps only the loop; nothing here imports it. Reading manifests before the plan stays in
//! `containers`.

pub mod parts;
pub mod untag;
pub mod version;

use crate::github::{OwnerRoute, Stopped};
use crate::model::{Mode, PackageType, PackageVersion, Target};
use crate::plan::{Entry, SkipReason};
use std::collections::BTreeMap;

/// What happened to one planned change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done; with the id GitHub reported afterwards when the plan could not know it (a
    /// restored package).
    Changed(Option<u64>),
    /// The change failed; the error.
    Failed(String),
    /// Left alone, for the plan's own reasons (one vocabulary with the planner's skips):
    /// GitHub refused it (`Refused`, a request was sent), or it was not started — the primary
    /// budget would not cover it (`RateLimitBudget`), `max-duration` (`TimeBudget`), a
    /// cancellation, or an index it goes with did not go (`ImageStays`, `MayBePartOf`), a
    /// placeholder's tag could not go back (`PlaceholderTag…`).
    Skipped(SkipReason),
    /// `untag`: these tags were removed and the version stays; `failed` when a later tag's
    /// removal failed (the tags removed before it are still gone).
    Untagged {
        removed: Vec<String>,
        failed: Option<String>,
    },
    /// A restore put an untag placeholder's tag back on its image (`TAG@DIGEST`).
    Retagged(String),
    /// Restored, but the image did not come back whole (a failure all the same: SPEC §4).
    Incomplete(String),
}

impl Outcome {
    /// A change not started (time, cancel, budget, an index kept): nothing was sent for it.
    pub fn not_started(&self) -> bool {
        matches!(self, Outcome::Skipped(reason) if !matches!(reason, SkipReason::Refused { .. }))
    }

    /// A change that stops the run's later changes too: out of budget, time or cancelled.
    pub fn stops_the_run(&self) -> bool {
        matches!(
            self,
            Outcome::Skipped(
                SkipReason::RateLimitBudget { .. } | SkipReason::TimeBudget | SkipReason::Cancelled
            )
        )
    }

    /// A failure the exit status counts: failed, restored but not whole, or an untag that
    /// failed part way.
    pub fn failed(&self) -> bool {
        matches!(
            self,
            Outcome::Failed(_)
                | Outcome::Incomplete(_)
                | Outcome::Untagged {
                    failed: Some(_),
                    ..
                }
        )
    }

    /// Why a change that did not happen did not, for the parts that stay with it.
    pub fn why_not(&self) -> String {
        match self {
            Outcome::Failed(_) => "its deletion failed".into(),
            Outcome::Skipped(SkipReason::Refused { message }) => {
                format!("refused by GitHub: {message}")
            }
            Outcome::Skipped(SkipReason::RateLimitBudget { .. }) => "rate-limit budget".into(),
            Outcome::Skipped(SkipReason::TimeBudget) => "time budget".into(),
            Outcome::Skipped(SkipReason::Cancelled) => "cancelled".into(),
            Outcome::Skipped(reason) => reason.to_string(),
            _ => "not deleted".into(),
        }
    }
}

/// Outcomes keyed by (package name, version id).
pub type Outcomes = BTreeMap<(String, u64), Outcome>;

/// Where the changes go.
pub struct Destination<'a> {
    pub route: &'a OwnerRoute,
    pub package_type: PackageType,
    pub mode: Mode,
    pub target: Target,
}

/// What one change does. A change may take several requests; it is one unit: a cancellation,
/// `max-duration` or the budget stop the run between changes, never inside one (SPEC §4, §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// DELETE or restore (as the mode says) one version or package. A restored container
    /// image brings its deleted parts back in the same change.
    Version,
    /// `untag`: take this tag off the version (push a placeholder, find it, delete it).
    Untag(String),
    /// Restore of an untag placeholder: put its tag back on its image instead.
    Retag(crate::plan::Placeholder),
}

/// One planned change, and the changes that must have succeeded before it may run.
#[derive(Debug, Clone)]
pub struct Change<'p> {
    pub package: &'p str,
    pub version: &'p PackageVersion,
    pub kind: Kind,
    /// Ids (same package) of image indexes whose DELETE must succeed first.
    pub after: Vec<u64>,
    /// Of those, the version whose manifest could not be read (it may list this one).
    pub unreadable: Option<u64>,
}

impl Change<'_> {
    /// REST requests it costs against the primary budget: a restored package also reads
    /// its id; an untag finds its placeholder (a page) and deletes it; a retag is all
    /// registry.
    pub fn cost(&self) -> u64 {
        match &self.kind {
            Kind::Version if self.version.id == 0 => 2,
            Kind::Version => 1,
            Kind::Untag(_) => 2,
            Kind::Retag(_) => 0,
        }
    }
}

/// What a run of the executor did: the outcomes, and the parts that restored images brought
/// back (they join the plan as "part of `<image>`").
#[derive(Default)]
pub struct Executed {
    pub outcomes: Outcomes,
    pub parts: Vec<(String, Entry)>,
}

/// A request that was never sent, as the change's outcome: the rate limit asked for a wait
/// longer than the run may take, the run was cancelled or `max-duration` passed while it
/// waited for its turn.
pub fn stopped_outcome(error: &anyhow::Error) -> Option<Outcome> {
    error.downcast_ref::<Stopped>().map(Outcome::from)
}

impl From<&Stopped> for Outcome {
    fn from(stopped: &Stopped) -> Outcome {
        match stopped {
            Stopped::RateLimited { resets_at, .. } | Stopped::BudgetSpent { resets_at } => {
                Outcome::Skipped(SkipReason::RateLimitBudget {
                    resets_at: resets_at.clone(),
                })
            }
            Stopped::Cancelled => Outcome::Skipped(SkipReason::Cancelled),
            Stopped::OutOfTime => Outcome::Skipped(SkipReason::TimeBudget),
        }
    }
}
