//! One run, start to end: config → owner and route → listings → plan → execution → report.
//!
//! Any error returned from [`run`] happened before the first change, so it maps to exit 2
//! ("stopped before changing anything"); failures of single changes are outcomes, not errors.

use crate::change::{Destination, Outcome, Outcomes};
use crate::config::{Config, Environment};
use crate::containers;
use crate::execute::execute;
use crate::github::GitHub;
use crate::images::Manifests;
use crate::model::{Mode, PackageListing, PackageVersion, Target};
use crate::plan::{plan, plan_whole_packages, Plan};
use crate::preflight::{explain_listing_error, preflight, Preflight};
use crate::registry::Registry;
use crate::report::{self, Outputs, RunContext};
use crate::workflow::Log;
use anyhow::{bail, Result};
use chrono::Utc;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The exit status, as the README documents it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every planned change succeeded or was skipped with a reason (dry run too).
    Success = 0,
    /// At least one change failed.
    Failed = 1,
    /// Stopped before changing anything: bad input or a preflight error.
    Stopped = 2,
}

/// One run, as named phases: preflight → list and plan → protect images → hold → apply →
/// report. Every error returned here comes before the first change.
pub async fn run(env: &Environment, log: &mut Log) -> Result<Exit> {
    let config = Config::from_env(env)?;
    // The token is a credential, never printed or written (SPEC §6); the runner masks it
    // already (a secret, or GITHUB_TOKEN), and an `::add-mask::` line would print it here.
    crate::workflow::secret(config.token.expose());
    crate::workflow::set_debug(config.records.debug);
    crate::signals::listen();
    check_records(&config)?;
    let github = GitHub::new(
        &config.endpoints.api_url,
        config.token.expose(),
        config.limits.clone(),
    )?;
    let pre = preflight(&github, &config, log).await?;
    let now = Utc::now();
    let (listings, mut plan, prefetched) = list_and_plan(&github, &config, &pre, now, log).await?;
    notice_unmatched_rules(&config, &plan, log);
    let images = pre.registry.as_ref().map(|registry| containers::Images {
        registry,
        owner: &config.owner,
    });
    let failed_closed = protect_images(
        images.as_ref(),
        &config,
        &mut plan,
        &listings,
        prefetched,
        log,
    )
    .await;
    // After the plan, in dry runs and after a cancel too.
    save_manifest_cache(pre.registry.as_ref(), &config, &listings, log);
    if crate::signals::cancelled() {
        // SPEC §6: a cancel before the plan is whole — listed, and its images protected by the
        // manifests read (a read the cancel kept back would fail the package closed) —
        // changes nothing and stops with exit 2.
        bail!("the run was cancelled (SIGINT or SIGTERM) before its plan was complete");
    }
    let held = hold(&config, images.is_some(), &plan, &listings);
    let context = run_context(&config, &pre, held);
    let applied = match (&context.held, config.dry_run) {
        (None, false) => {
            // The plan first: a long run shows what it is about to do (SPEC §6).
            if plan.change_count() > 0 && !crate::signals::cancelled() {
                log.info("The plan, before any change:");
                tables(&context, &plan, &Outcomes::new(), now, log);
            }
            apply(
                &github,
                &config,
                &pre,
                images.as_ref(),
                &mut plan,
                &listings,
                log,
            )
            .await
        }
        _ => Outcomes::new(),
    };
    let requests = requests_said(
        github.request_count(),
        pre.registry.as_ref().map(Registry::requests),
    );
    let outputs_written = report(&config, &context, &plan, &applied, now, &requests, log);
    Ok(exit_status(&Ending {
        held: context.held.is_some(),
        outputs_written,
        failed_closed,
        broken_images: report::unrepaired(&plan, &applied).len(),
        any_failed: applied.values().any(Outcome::failed),
        cancelled: crate::signals::cancelled(),
    }))
}

/// What the report needs to know of the run.
fn run_context(config: &Config, pre: &Preflight, held: Option<String>) -> RunContext {
    RunContext {
        owner: config.owner.clone(),
        owner_kind: pre.owner_kind,
        package_type: config.policy.package_type,
        mode: config.policy.mode,
        target: config.target,
        dry_run: config.dry_run,
        held,
        server_url: config.endpoints.server_url.clone(),
        action: config.endpoints.action.clone(),
    }
}

/// Before any request: a record that cannot be written stops the run while nothing changed.
fn check_records(config: &Config) -> Result<()> {
    if let Some(path) = &config.records.output_file {
        report::check_writable(path, "$GITHUB_OUTPUT")?;
    }
    if let Some(path) = &config.records.summary_file {
        report::check_writable(path, "$GITHUB_STEP_SUMMARY")?;
    }
    Ok(())
}

/// One package's versions; in a container delete run, with the manifests of its tagged
/// versions read while the listing still comes in (issue 26: no pause between the phases),
/// from the first page that shows a version the plan may change on (no reads for a package
/// with nothing to do).
async fn list_package(
    github: &GitHub,
    config: &Config,
    pre: &Preflight,
    name: &str,
    now: chrono::DateTime<Utc>,
) -> Result<(Vec<Arc<PackageVersion>>, Manifests)> {
    let (route, package_type, mode) = (&pre.route, config.policy.package_type, config.policy.mode);
    let Some(registry) = pre.registry.as_ref().filter(|_| mode == Mode::Delete) else {
        let versions = github
            .list_versions(route, package_type, name, mode)
            .await?;
        return Ok((versions, Manifests::new()));
    };
    let images = containers::Images {
        registry,
        owner: &config.owner,
    };
    let (digests, arriving) = tokio::sync::mpsc::unbounded_channel::<String>();
    let listing = async move {
        let mut waiting: Vec<String> = Vec::new();
        let mut open = false;
        let mut seen = |page: &[Arc<PackageVersion>]| {
            open = open
                || page
                    .iter()
                    .any(|v| crate::plan::may_change(name, v, &config.policy, now));
            let tagged = page
                .iter()
                .filter(|v| !v.tags.is_empty() && v.name.starts_with("sha256:"))
                .map(|v| v.name.clone());
            waiting.extend(tagged);
            if open {
                for digest in waiting.drain(..) {
                    let _ = digests.send(digest);
                }
            }
        };
        let listed = github
            .list_versions_seen(route, package_type, name, mode, &mut seen)
            .await;
        // The channel closes here: the reads finish what was sent, and end.
        drop(digests);
        listed
    };
    let (listed, manifests) = tokio::join!(listing, containers::prefetch(&images, name, arriving));
    Ok((listed?, manifests))
}

/// What was listed, the plan, and the manifests read while listing (by package).
type Listed = (Vec<PackageListing>, Plan, BTreeMap<String, Manifests>);

/// List every package's versions (or read the packages themselves) and plan, purely.
async fn list_and_plan(
    github: &GitHub,
    config: &Config,
    pre: &Preflight,
    now: chrono::DateTime<Utc>,
    log: &mut Log,
) -> Result<Listed> {
    let mut listings = Vec::new();
    let mut prefetched = BTreeMap::new();
    if config.target == Target::Packages {
        let mut packages = Vec::new();
        for name in &pre.names {
            packages.push(match config.policy.mode {
                Mode::Delete => github
                    .package(&pre.route, config.policy.package_type, name)
                    .await
                    .map_err(|e| explain_listing_error(e, config, pre, name))?,
                // A deleted package cannot be read; it is known by name until restored.
                Mode::Restore | Mode::Repair => (deleted_package(name.clone(), now), 0),
            });
        }
        return Ok((listings, plan_whole_packages(packages), prefetched));
    }
    for name in &pre.names {
        let (versions, manifests) = list_package(github, config, pre, name, now)
            .await
            .map_err(|e| explain_listing_error(e, config, pre, name))?;
        prefetched.insert(name.clone(), manifests);
        log.debug(&format!("{name}: {} versions listed", versions.len()));
        let listing = PackageListing {
            name: name.clone(),
            versions,
        };
        if config.policy.mode != Mode::Repair {
            // A repair's `tags` select active images, not these deleted versions.
            warn_unmatched(&listing, config, log);
            warn_outside_window(&listing, config, now, log);
        }
        listings.push(listing);
    }
    let Some(registry) = &pre.registry else {
        let plan = plan(&listings, &config.policy, now);
        return Ok((listings, plan, prefetched));
    };
    // A container restore reads the active versions too: the images a deleted placeholder's
    // tag goes back to, and the selected images that lack deleted parts.
    let listed_active = match config.policy.mode {
        Mode::Delete => None,
        Mode::Restore | Mode::Repair => Some(list_active(github, config, pre, &listings).await?),
    };
    let active = listed_active.as_deref().unwrap_or(&listings);
    let mut plan = match config.policy.mode {
        // A repair plans only the parts of the images it examines.
        Mode::Repair => Plan {
            packages: active
                .iter()
                .map(|l| crate::plan::PackagePlan::empty(&l.name, l.versions.len()))
                .collect(),
            missing_ids: Vec::new(),
            broken: Vec::new(),
            examined: 0,
        },
        _ => plan_with_placeholders(&listings, active, &prefetched, &config.policy, now, log),
    };
    if let Some(active) = &listed_active {
        let images = containers::Images {
            registry,
            owner: &config.owner,
        };
        containers::complete(&images, &mut plan, &listings, active, &config.policy, now).await;
    }
    Ok((listings, plan, prefetched))
}

/// The active versions of each package listed (one more listing per package).
async fn list_active(
    github: &GitHub,
    config: &Config,
    pre: &Preflight,
    listings: &[PackageListing],
) -> Result<Vec<PackageListing>> {
    let mut active = Vec::new();
    for listing in listings {
        let versions = github
            .list_versions(
                &pre.route,
                config.policy.package_type,
                &listing.name,
                Mode::Delete,
            )
            .await
            .map_err(|e| explain_listing_error(e, config, pre, &listing.name))?;
        active.push(PackageListing {
            name: listing.name.clone(),
            versions,
        });
    }
    Ok(active)
}

/// The plan, with untag placeholders (SPEC §4) recognised from the listing and taken out of
/// the planner's view — they are no versions anyone chose, so `keep-latest` and
/// `min-versions` do not count them. A delete run deletes the active ones (left by a run
/// killed mid-change); a restore run puts a selected deleted one's tag back on its image
/// instead of restoring it, or skips it when that image is not active.
fn plan_with_placeholders(
    listings: &[PackageListing],
    active_listing: &[PackageListing],
    prefetched: &BTreeMap<String, Manifests>,
    policy: &crate::plan::Policy,
    now: chrono::DateTime<Utc>,
    log: &mut Log,
) -> Plan {
    let active: Vec<std::collections::BTreeSet<&str>> = active_listing
        .iter()
        .map(|l| l.versions.iter().map(|v| v.name.as_str()).collect())
        .collect();
    let found: Vec<_> = listings
        .iter()
        .zip(&active)
        .map(|(listing, active)| {
            let mut digests = active.clone();
            digests.extend(listing.versions.iter().map(|v| v.name.as_str()));
            let digests: Vec<&str> = digests.into_iter().collect();
            // The manifests read while listing, when they were (a delete run with changes).
            let read = prefetched.get(&listing.name).filter(|m| !m.is_empty());
            crate::images::find_placeholders(&listing.versions, &digests, read)
        })
        .collect();
    let restore = policy.mode.restores();
    // Copied without its placeholders only when a delete run found some (rare): a listing
    // of 100,000 versions is not held twice for nothing (issue 26).
    let mut plan = if restore || found.iter().all(BTreeMap::is_empty) {
        plan(listings, policy, now)
    } else {
        let seen: Vec<PackageListing> = listings
            .iter()
            .zip(&found)
            .map(|(listing, placeholders)| PackageListing {
                name: listing.name.clone(),
                versions: listing
                    .versions
                    .iter()
                    .filter(|v| !placeholders.contains_key(&v.id))
                    .cloned()
                    .collect(),
            })
            .collect();
        plan(&seen, policy, now)
    };
    for (((package, listing), placeholders), active) in plan
        .packages
        .iter_mut()
        .zip(listings)
        .zip(found)
        .zip(&active)
    {
        if restore {
            let holders: std::collections::BTreeMap<&str, &str> = active_listing
                .iter()
                .find(|l| l.name == package.package)
                .into_iter()
                .flat_map(|l| &l.versions)
                .flat_map(|v| v.tags.iter().map(move |t| (t.as_str(), v.name.as_str())))
                .collect();
            retag_only_where_the_tag_can_hold(package, listing, &placeholders, active, &holders);
        } else {
            delete_leftover_placeholders(package, listing, &placeholders, log);
        }
        package.placeholders = placeholders;
    }
    plan
}

/// A delete run deletes the placeholders an interrupted untag left (SPEC §4).
fn delete_leftover_placeholders(
    package: &mut crate::plan::PackagePlan,
    listing: &PackageListing,
    placeholders: &BTreeMap<u64, crate::plan::Placeholder>,
    log: &mut Log,
) {
    for version in listing
        .versions
        .iter()
        .filter(|v| placeholders.contains_key(&v.id))
    {
        log.info(&format!(
            "{}: version {} ({}) is a placeholder left by an interrupted untag; it is deleted",
            listing.name,
            version.id,
            version.tags.join(", ")
        ));
        package.listed += 1;
        package.entries.push(crate::plan::Entry::new(
            version.clone(),
            crate::plan::Decision::Change,
            Some("leftover untag placeholder".into()),
        ));
    }
    package
        .entries
        .sort_by(|a, b| PackageVersion::newer_first(&a.version, &b.version));
}

/// A restore puts a deleted placeholder's tag back on its image only where the tag can still
/// hold (SPEC §4): the image is active, no other active version holds the tag now (a new
/// build pushed under it since), the tag is not on the image already, and of several
/// placeholders for one tag only the newest is considered. The others are skipped, saying why,
/// and nothing is pushed for them.
fn retag_only_where_the_tag_can_hold(
    package: &mut crate::plan::PackagePlan,
    listing: &PackageListing,
    placeholders: &std::collections::BTreeMap<u64, crate::plan::Placeholder>,
    active: &std::collections::BTreeSet<&str>,
    holders: &std::collections::BTreeMap<&str, &str>,
) {
    use crate::plan::{Decision, SkipReason};
    // The newest deleted placeholder of each tag, selected or not.
    let mut deleted: Vec<&PackageVersion> = listing
        .versions
        .iter()
        .map(|v| &**v)
        .filter(|v| placeholders.contains_key(&v.id))
        .collect();
    deleted.sort_by(|a, b| PackageVersion::newer_first(a, b));
    let mut newest: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    for version in deleted {
        if let Some(placeholder) = placeholders.get(&version.id) {
            newest.entry(placeholder.tag.as_str()).or_insert(version.id);
        }
    }
    // Tags this restore brings back with versions it restores: such a version holds the tag
    // once restored, and a tag is never taken from the version that holds it.
    let restoring: std::collections::BTreeMap<String, String> = package
        .entries
        .iter()
        .filter(|e| e.decision == Decision::Change && !placeholders.contains_key(&e.version.id))
        .flat_map(|e| {
            e.version
                .tags
                .iter()
                .map(|t| (t.clone(), e.version.name.clone()))
        })
        .collect();
    for entry in package.entries.iter_mut() {
        let Some(placeholder) = placeholders.get(&entry.version.id) else {
            continue;
        };
        if entry.decision != Decision::Change {
            continue;
        }
        let tag = placeholder.tag.clone();
        let restored_holder = restoring
            .get(&placeholder.tag)
            .filter(|holder| **holder != placeholder.image);
        let why = match holders.get(placeholder.tag.as_str()) {
            _ if restored_holder.is_some() => Some(SkipReason::PlaceholderTagMoved {
                tag,
                holder: restored_holder.cloned().unwrap_or_default(),
            }),
            _ if newest.get(placeholder.tag.as_str()) != Some(&entry.version.id) => {
                Some(SkipReason::PlaceholderSuperseded { tag })
            }
            _ if !active.contains(placeholder.image.as_str()) => {
                Some(SkipReason::PlaceholderImageGone {
                    tag,
                    image: placeholder.image.clone(),
                })
            }
            Some(holder) if *holder == placeholder.image => {
                Some(SkipReason::PlaceholderTagInPlace { tag })
            }
            Some(holder) => Some(SkipReason::PlaceholderTagMoved {
                tag,
                holder: holder.to_string(),
            }),
            None => None,
        };
        if let Some(why) = why {
            entry.decision = Decision::Skip(why);
        }
    }
}

/// Container safety in delete mode: what stays keeps what it needs, a deleted index takes its
/// parts. Returns whether it had to fail closed.
async fn protect_images(
    images: Option<&containers::Images<'_>>,
    config: &Config,
    plan: &mut Plan,
    listings: &[PackageListing],
    prefetched: BTreeMap<String, Manifests>,
    log: &mut Log,
) -> bool {
    match (images, config.policy.mode) {
        (Some(images), Mode::Delete) => {
            containers::protect(images, plan, listings, prefetched, log).await
        }
        _ => false,
    }
}

/// Why the plan is not executed, if it is larger than `max-changes` — in restore mode with the
/// parts restored images may bring back (SPEC §4), which count before anything changes.
fn hold(
    config: &Config,
    containers: bool,
    plan: &Plan,
    listings: &[PackageListing],
) -> Option<String> {
    let max = config.policy.max_changes?;
    let changes = plan.change_count();
    if plan.exceeds(&config.policy) {
        return Some(format!(
            "the plan has {changes} changes, more than max-changes {max}"
        ));
    }
    let possible_parts: usize = if containers && config.policy.mode.restores() {
        plan.packages
            .iter()
            .map(|package| {
                listings
                    .iter()
                    .find(|l| l.name == package.package)
                    .map_or(0, |l| crate::images::possible_parts(package, &l.versions))
            })
            .sum()
    } else {
        0
    };
    if changes + possible_parts > max {
        Some(format!(
            "the plan has {changes} restores, and restoring their images may bring back up to \
             {possible_parts} deleted parts (platform images, attestations, signatures: known \
             only once an image is restored), more than max-changes {max}"
        ))
    } else {
        None
    }
}

/// Execute the plan; the parts that restored images brought back join it.
async fn apply(
    github: &GitHub,
    config: &Config,
    pre: &Preflight,
    images: Option<&containers::Images<'_>>,
    plan: &mut Plan,
    listings: &[PackageListing],
    log: &mut Log,
) -> Outcomes {
    let to = Destination {
        route: &pre.route,
        package_type: config.policy.package_type,
        mode: config.policy.mode,
        target: config.target,
    };
    let executed = execute(github, &to, images, plan, listings, log).await;
    for (name, entry) in executed.parts {
        if let Some(package) = plan.packages.iter_mut().find(|p| p.package == name) {
            package.entries.push(entry);
        }
    }
    for package in plan.packages.iter_mut() {
        package
            .entries
            .sort_by(|a, b| PackageVersion::newer_first(&a.version, &b.version));
    }
    executed.outcomes
}

/// One group per package with its plan table: the fates planned, or what happened.
fn tables(
    context: &RunContext,
    plan: &Plan,
    outcomes: &Outcomes,
    now: chrono::DateTime<Utc>,
    log: &mut Log,
) {
    for package in &plan.packages {
        log.group(&report::group_title(context, package));
        report::plan_table(context, package, outcomes, now, &mut |line| log.info(line));
        log.info("");
        log.end_group();
    }
}

/// The log's tables and totals, the step summary, then `$GITHUB_OUTPUT` (last, so that on a
/// command line the JSON is stdout's final line). Returns whether both records were written.
fn report(
    config: &Config,
    context: &RunContext,
    plan: &Plan,
    outcomes: &Outcomes,
    now: chrono::DateTime<Utc>,
    requests: &str,
    log: &mut Log,
) -> bool {
    tables(context, plan, outcomes, now, log);
    say_images(context, plan, outcomes, log);
    say_missing_ids(context, plan, log);
    let outputs = Outputs::new(context, plan, outcomes);
    say_totals(context, &outputs, requests, log);
    let summary_written = write_summary(config, context, plan, outcomes, &outputs);
    if let Err(error) = &summary_written {
        log.error("Writing the step summary failed", &format!("{error:#}"));
    }
    log.finish();
    let outputs_written = match &config.records.output_file {
        Some(path) => outputs.write_to(path),
        None => {
            // Piped into `head`, stdout may be closed by now: the outputs go to stderr then,
            // never lost silently.
            crate::workflow::out_or_stderr(&outputs.to_json().to_string());
            Ok(())
        }
    };
    if let Err(error) = &outputs_written {
        log.error("Writing the outputs failed", &format!("{error:#}"));
        log.finish();
    }
    summary_written.is_ok() && outputs_written.is_ok()
}

/// A repair's images: repaired, broken, or beyond repair; or how many it examined.
fn say_images(context: &RunContext, plan: &Plan, outcomes: &Outcomes, log: &mut Log) {
    if context.mode == Mode::Repair && plan.broken.is_empty() {
        log.info(&report::examined_words(plan));
    }
    for image in &plan.broken {
        let (name, parts) = (report::image_words(image), report::missing_words(image));
        let what = format!("{}: {name} lacks {parts}", image.package);
        if report::repaired(image, outcomes) {
            log.info(&format!(
                "Repaired: {}: {name}, whose {parts} were restored",
                image.package
            ));
        } else if image.missing.iter().any(|p| p.version.is_none()) {
            log.error(
                "Image beyond repair",
                &format!(
                    "{what}: a part is neither active nor deleted (gone for good: deleted more \
                     than 30 days ago, or never pushed here), so no restore can bring it back; \
                     push the image again"
                ),
            );
        } else {
            log.error(
                "Image broken",
                &format!(
                    "{what}: {}",
                    if context.dry_run {
                        "a repair without dry-run restores them"
                    } else {
                        "not every part could be restored; run the repair again"
                    }
                ),
            );
        }
    }
}

/// `version-ids` that name no version of a listed package.
fn say_missing_ids(context: &RunContext, plan: &Plan, log: &mut Log) {
    for id in &plan.missing_ids {
        log.warning(
            "Version id not found",
            &match context.mode {
                Mode::Delete => format!(
                    "version-ids: {id} is no active version of a listed package: deleted \
                     already, or another package's"
                ),
                _ => format!(
                    "version-ids: {id} is no deleted version of a listed package: active \
                     already (nothing to restore), or another package's"
                ),
            },
        );
    }
}

/// The outputs cut to their limit, the totals line, and why the run held or stopped.
fn say_totals(context: &RunContext, outputs: &Outputs, requests: &str, log: &mut Log) {
    for (name, left_out) in outputs.cut_lists() {
        log.warning(
            "Output cut",
            &format!(
                "{name} would pass GitHub's 1 MiB limit for an output: cut at a whole entry, \
                 {left_out} left out (`result` and the summary count them all)"
            ),
        );
    }
    log.info(&format!(
        "{} ({requests})",
        report::totals(context, outputs)
    ));
    if let Some(reason) = &context.held {
        log.error("Plan too large", &format!("{reason}; nothing was changed"));
    }
    if crate::signals::cancelled() {
        log.error(
            "Cancelled",
            "the run was cancelled (SIGINT or SIGTERM): the change in flight finished, and the \
             rest are skipped with reason \"cancelled\"; run again to finish",
        );
    }
}

/// The step summary: to its file in Actions; on a command line to stderr, without the tables
/// the log has already (SPEC §6, issue 21).
fn write_summary(
    config: &Config,
    context: &RunContext,
    plan: &Plan,
    outcomes: &Outcomes,
    outputs: &Outputs,
) -> Result<()> {
    let on_command_line = config.records.summary_file.is_none() && !config.records.in_actions;
    let summary = report::summary(context, plan, outcomes, outputs, !on_command_line);
    match &config.records.summary_file {
        Some(path) => report::append_summary(path, &summary),
        None if !config.records.in_actions => {
            // On a command line the summary goes to stderr, the outputs to stdout.
            let summary = crate::workflow::redact(&summary);
            let _ = std::io::Write::write_all(&mut std::io::stderr(), summary.as_bytes());
            Ok(())
        }
        None => Ok(()),
    }
}

/// How a run that got as far as a plan ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ending {
    /// The plan was larger than `max-changes`: nothing was sent.
    pub held: bool,
    pub outputs_written: bool,
    /// Container safety could not read a manifest and kept every untagged version.
    pub failed_closed: bool,
    pub any_failed: bool,
    /// `mode: repair`: examined images that stay broken.
    pub broken_images: usize,
    pub cancelled: bool,
}

/// The exit status (SPEC §1): 2 when nothing was changed because the plan was held; 1 when a
/// change failed (a restored image that stayed incomplete among them), container safety
/// failed closed, an image a repair examined stays broken, the run was cancelled or its
/// record could not be written; else 0.
pub fn exit_status(ending: &Ending) -> Exit {
    if ending.held {
        // Nothing was sent: the outputs show the plan (an unwritable record was said).
        return Exit::Stopped;
    }
    let failed = !ending.outputs_written
        || ending.failed_closed
        || ending.broken_images > 0
        || ending.any_failed
        || ending.cancelled;
    if failed {
        Exit::Failed
    } else {
        Exit::Success
    }
}

/// A `tags` pattern that matches no version of a package is a warning naming it, with a hint
/// when it looks like a list written in another syntax.
fn warn_unmatched(listing: &PackageListing, config: &Config, log: &mut Log) {
    for pattern in crate::plan::unmatched_patterns(listing, &config.policy) {
        let hint = crate::pattern::list_syntax_hint(pattern.as_str(), config.syntax)
            .map(|hint| format!(" ({hint})"))
            .unwrap_or_default();
        log.warning(
            "No version matched",
            &format!(
                "{}: tags: '{}' matched none of its {} {}versions{hint}",
                listing.name,
                pattern.as_str(),
                listing.versions.len(),
                if config.policy.mode.restores() {
                    "deleted "
                } else {
                    ""
                }
            ),
        );
    }
}

/// `deleted-within` that leaves out every deleted version of a package: say how many lie
/// just outside and the window that would take them in (issue 27, item 5).
fn warn_outside_window(
    listing: &PackageListing,
    config: &Config,
    now: chrono::DateTime<Utc>,
    log: &mut Log,
) {
    let Some(outside) = crate::plan::outside_window(listing, &config.policy, now) else {
        return;
    };
    let expired = match outside.expired {
        0 => String::new(),
        n => format!(
            "{}{n} deleted more than 30 days ago cannot be restored",
            if outside.restorable > 0 { "; " } else { "" }
        ),
    };
    let restorable = match outside.restorable {
        0 => String::new(),
        n => format!(
            "{n} deleted version{} lie{} just outside: 'deleted-within: {}d' would include {}",
            if n == 1 { "" } else { "s" },
            if n == 1 { "s" } else { "" },
            outside.window_days,
            if n == 1 { "it" } else { "them" },
        ),
    };
    log.warning(
        "No deletion within the window",
        &format!(
            "{}: no version was deleted within 'deleted-within'; {restorable}{expired}",
            listing.name
        ),
    );
}

/// A rule that matched nothing in any package gets a notice: a typo in a pattern is the usual
/// cause (SPEC §2, "Rule lists").
fn notice_unmatched_rules(config: &Config, plan: &Plan, log: &mut Log) {
    let Some(rules) = &config.policy.rules else {
        return;
    };
    for rule in crate::plan::unmatched_rules(rules, &plan.packages) {
        log.notice(
            "Rule matched nothing",
            &format!(
                "rule '{rule}' matched no version of {} (a typo in a pattern is the usual cause)",
                match plan.packages.len() {
                    1 => format!("package {}", plan.packages[0].package),
                    n => format!("the {n} packages"),
                }
            ),
        );
    }
}

/// Write the manifest cache (a delete run: its listings are every active version, and the
/// cache keeps only what they list); a restore or a repair reads it and leaves it as it was.
fn save_manifest_cache(
    registry: Option<&Registry>,
    config: &Config,
    listings: &[PackageListing],
    log: &mut Log,
) {
    let (Some(cache), Some(path)) = (registry.and_then(Registry::cache), &config.manifest_cache)
    else {
        return;
    };
    if config.policy.mode != Mode::Delete {
        return;
    }
    let listed: std::collections::BTreeSet<&str> = listings
        .iter()
        .flat_map(|l| l.versions.iter().map(|v| v.name.as_str()))
        .collect();
    match cache.save(&listed) {
        Ok(kept) => log.info(&format!(
            "Manifest cache {}: {kept} manifests written",
            path.display()
        )),
        Err(e) => log.warning(
            "Manifest cache",
            &format!(
                "manifest-cache {} could not be written: {e}",
                path.display()
            ),
        ),
    }
}

/// `3 API requests` or `3 API requests, 33 registry requests`.
fn requests_said(api: usize, registry: Option<usize>) -> String {
    match registry {
        Some(registry) => format!("{api} API requests, {registry} registry requests"),
        None => format!("{api} API requests"),
    }
}

/// The stand-in entry for a deleted package to restore: its name; id 0 until GitHub can show it.
fn deleted_package(name: String, now: chrono::DateTime<Utc>) -> PackageVersion {
    PackageVersion {
        id: 0,
        name,
        tags: Vec::new(),
        created_at: now,
        updated_at: now,
        deleted_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> Ending {
        Ending {
            outputs_written: true,
            ..Ending::default()
        }
    }

    #[test]
    fn exit_status_follows_the_spec() {
        assert_eq!(exit_status(&ok()), Exit::Success);
        let held = Ending {
            held: true,
            outputs_written: false,
            ..ok()
        };
        assert_eq!(exit_status(&held), Exit::Stopped);
        for ending in [
            Ending {
                any_failed: true,
                ..ok()
            },
            Ending {
                failed_closed: true,
                ..ok()
            },
            Ending {
                cancelled: true,
                ..ok()
            },
            Ending {
                broken_images: 1,
                ..ok()
            },
            Ending {
                outputs_written: false,
                ..ok()
            },
        ] {
            assert_eq!(exit_status(&ending), Exit::Failed, "{ending:?}");
        }
    }
}
