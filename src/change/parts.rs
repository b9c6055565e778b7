//! A restore's parts (SPEC §4): the rest of a restored image's change — its manifest read,
//! and the deleted versions it lists and the referrers of its digest brought back with it,
//! one by one, as one change.

use super::{Change, Destination, Executed, Outcome};
use crate::containers::Images;
use crate::github::GitHub;
use crate::images::{Child, ManifestRead};
use crate::model::{Mode, PackageListing, PackageVersion};
use crate::plan::restorable;
use crate::plan::{Decision, Entry, Plan};
use std::collections::BTreeSet;

/// The rest of a restore's change (SPEC §4): the restored version's manifest read (and its
/// nested indexes'), and the deleted versions it lists (platform images, attestations,
/// nested indexes) and the deleted referrers of each digest restored, one by one, finished
/// whatever a cancellation or `max-duration` says. Like the cascade it mirrors, a version with
/// a tag of its own is never brought back as a part. The parts join the plan as "part of
/// `<image>`"; the image's outcome is a failure naming it when a manifest could not be read
/// or a part could not be restored (`None` when it came back whole).
#[allow(clippy::too_many_arguments)]
pub async fn restore_parts(
    github: &GitHub,
    to: &Destination<'_>,
    images: &Images<'_>,
    plan: &Plan,
    deleted: &[PackageListing],
    change: &Change<'_>,
    done: &mut Executed,
) -> Option<Outcome> {
    let _finishing = crate::signals::Shield::up();
    let package = change.package;
    let listing = deleted.iter().find(|l| l.name == package)?;
    let image = match change.version.tags.first() {
        Some(tag) => format!("{} ({tag})", change.version.name),
        None => change.version.name.clone(),
    };
    let session = match images.registry.session(images.owner, package).await {
        Ok(session) => session,
        Err(error) => {
            let why = format!("no registry token: {error:#}");
            return Some(incomplete(&image, &why, true));
        }
    };
    let mut parts = PartsRestore::new(plan, listing, change, done);
    // (version restored, whether its manifest may list children)
    let mut queue: Vec<(PackageVersion, bool)> = vec![(change.version.clone(), true)];
    while let Some((restored, may_be_index)) = queue.pop() {
        let children = match may_be_index {
            true => parts.children(images, &session, &restored).await,
            false => Vec::new(),
        };
        for part in parts.next_parts(&restored, &children) {
            let nested = children.iter().any(|c| c.digest == part.name && c.is_index);
            if parts.restore(github, to, &part, done).await {
                queue.push((part, nested));
            }
        }
    }
    parts.verdict(&image)
}

/// A restore's parts (SPEC §4): what the plan says of each, what was brought back, and what
/// keeps the image from being whole.
struct PartsRestore<'a> {
    package: &'a str,
    listing: &'a PackageListing,
    /// The image's tag (or digest), for the parts' "part of" note.
    label: String,
    /// The plan's own changes: a planned restore not run yet comes back now, with its image.
    planned: BTreeSet<u64>,
    /// Versions the plan skipped (past 30 days, kept by `keep-latest`): not asked for here
    /// either, but the image lacks them all the same.
    skipped: BTreeSet<u64>,
    /// Digests already restored or on their way, never asked twice.
    in_plan: BTreeSet<String>,
    problems: Vec<String>,
    /// Parts GitHub refused or failed to restore.
    failed: Vec<u64>,
    /// Parts past GitHub's 30 days.
    gone: Vec<u64>,
}

impl<'a> PartsRestore<'a> {
    fn new(
        plan: &'a Plan,
        listing: &'a PackageListing,
        change: &'a Change<'_>,
        done: &Executed,
    ) -> PartsRestore<'a> {
        let package = change.package;
        let entries: Vec<&Entry> = plan
            .packages
            .iter()
            .filter(|p| p.package == package)
            .flat_map(|p| p.entries.iter())
            .collect();
        let (planned, skipped): (Vec<&Entry>, Vec<&Entry>) = entries
            .into_iter()
            .partition(|e| e.decision == Decision::Change);
        let mut in_plan: BTreeSet<String> = done
            .parts
            .iter()
            .filter(|(p, _)| p == package)
            .map(|(_, e)| e.version.name.clone())
            .collect();
        in_plan.insert(change.version.name.clone());
        PartsRestore {
            package,
            listing,
            label: change
                .version
                .tags
                .first()
                .unwrap_or(&change.version.name)
                .clone(),
            planned: planned.iter().map(|e| e.version.id).collect(),
            skipped: skipped.iter().map(|e| e.version.id).collect(),
            in_plan,
            problems: Vec::new(),
            failed: Vec::new(),
            gone: Vec::new(),
        }
    }

    /// What the restored version's manifest lists (nothing when it is an image).
    async fn children(
        &mut self,
        images: &Images<'_>,
        session: &crate::registry::Session,
        restored: &PackageVersion,
    ) -> Vec<Child> {
        match images.registry.manifest(session, &restored.name).await {
            ManifestRead::Index(children) => children,
            ManifestRead::Image => Vec::new(),
            ManifestRead::Unreadable(error) => {
                let problem = format!("manifest {} unreadable ({error})", restored.name);
                self.problems.push(problem);
                Vec::new()
            }
        }
    }

    /// The deleted parts of `restored` not yet restored or on their way; the ones the plan
    /// skipped are counted against the image here and not returned.
    fn next_parts(&mut self, restored: &PackageVersion, children: &[Child]) -> Vec<PackageVersion> {
        let digests: Vec<String> = children.iter().map(|c| c.digest.clone()).collect();
        let names: BTreeSet<&str> = self.in_plan.iter().map(String::as_str).collect();
        let parts: Vec<PackageVersion> =
            crate::images::parts_of(restored, &digests, &self.listing.versions, &names)
                .into_iter()
                .cloned()
                .collect();
        let mut next = Vec::new();
        for part in parts {
            self.in_plan.insert(part.name.clone());
            if !self.skipped.contains(&part.id) {
                next.push(part);
            } else if restorable(&part, chrono::Utc::now()) {
                self.failed.push(part.id);
            } else {
                self.gone.push(part.id);
            }
        }
        next
    }

    /// Bring one part back (unless its own change did already): whether it is back, so that
    /// its own parts are looked for. Its outcome is recorded, and it joins the plan as "part
    /// of `<image>`" when the plan did not have it.
    async fn restore(
        &mut self,
        github: &GitHub,
        to: &Destination<'_>,
        part: &PackageVersion,
        done: &mut Executed,
    ) -> bool {
        let key = (self.package.to_string(), part.id);
        match done.outcomes.get(&key) {
            // Its own change ran before this one.
            Some(Outcome::Changed(_)) => return true,
            Some(_) => {
                self.failed.push(part.id);
                return false;
            }
            None => {}
        }
        let restorable = restorable(part, chrono::Utc::now());
        let outcome = if restorable {
            self.request(github, to, part).await
        } else {
            // GitHub would refuse it: no request is spent on it (as a repair does).
            self.gone.push(part.id);
            Outcome::Failed(
                "deleted more than 30 days ago: GitHub restores a version only within 30 days \
                 of its deletion"
                    .into(),
            )
        };
        let back = !matches!(outcome, Outcome::Failed(_));
        if !back && restorable {
            self.failed.push(part.id);
        }
        done.outcomes.insert(key, outcome);
        if !self.planned.contains(&part.id) {
            let note = Some(format!("part of {}", self.label));
            let entry = Entry::new(part.clone(), Decision::Change, note);
            done.parts.push((self.package.to_string(), entry));
        }
        back
    }

    /// The restore request of one part. The budget's estimate of an image's parts is a guess
    /// (a deleted index cannot be read): should its parts outrun it, the last request is
    /// kept, and the primary limit never met (SPEC §5); the image is said incomplete.
    async fn request(
        &self,
        github: &GitHub,
        to: &Destination<'_>,
        part: &PackageVersion,
    ) -> Outcome {
        if let Some(budget) = github.budget().filter(|b| b.remaining <= 1) {
            return Outcome::Failed(format!(
                "not restored: the primary rate-limit budget is spent until {}",
                budget.resets_at()
            ));
        }
        match github
            .change_version(
                to.route,
                to.package_type,
                self.package,
                part.id,
                Mode::Restore,
            )
            .await
        {
            Ok(Ok(())) => Outcome::Changed(None),
            Ok(Err(e)) => Outcome::Failed(e.to_string()),
            Err(e) => Outcome::Failed(format!("{e:#}")),
        }
    }

    /// `None` when the image came back whole; else its failure, naming what it lacks and
    /// whether running the restore again can complete it (an unreadable manifest or a failed
    /// restore may go better next time; 30 days never do).
    fn verdict(mut self, image: &str) -> Option<Outcome> {
        let again = !self.problems.is_empty() || !self.failed.is_empty();
        let ids = |ids: &[u64]| {
            let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
            let s = if ids.len() == 1 { "" } else { "s" };
            format!("part{s} {}", ids.join(", "))
        };
        if !self.failed.is_empty() {
            let failed = format!("{} not restored (their rows say why)", ids(&self.failed));
            self.problems.push(failed);
        }
        if !self.gone.is_empty() {
            let gone = format!(
                "{} deleted more than 30 days ago, gone for good",
                ids(&self.gone)
            );
            self.problems.push(gone);
        }
        (!self.problems.is_empty()).then(|| incomplete(image, &self.problems.join("; "), again))
    }
}

/// A restored image that did not come back whole: a failure that names it (SPEC §4), and
/// says whether running the restore again can complete it.
fn incomplete(image: &str, why: &str, again: bool) -> Outcome {
    let next = if again {
        "run the same restore again to complete it"
    } else {
        "no restore can complete it"
    };
    Outcome::Incomplete(format!(
        "{image} was restored, but not whole: {why}; {next}"
    ))
}
