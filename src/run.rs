//! One run, start to end: config → owner and route → listings → plan → execution → report.
//!
//! Any error returned from [`run`] happened before the first change, so it maps to exit 2
//! ("stopped before changing anything"); failures of single changes are outcomes, not errors.

use crate::config::{Config, Environment};
use crate::execute::{execute, Outcome, Outcomes};
use crate::github::{ApiError, GitHub, OwnerRoute};
use crate::model::{OwnerKind, PackageListing};
use crate::plan::plan;
use crate::report::{self, Outputs, RunContext};
use crate::workflow::Log;
use anyhow::{anyhow, Result};
use chrono::Utc;

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

pub async fn run(env: &Environment, log: &mut Log) -> Result<Exit> {
    let config = Config::from_env(env)?;
    log.debug = config.debug;
    let github = GitHub::new(&config.api_url, config.token.expose())?;

    let owner_kind = github.owner_kind(&config.owner).await?;
    let route = resolve_route(&github, &config.owner, owner_kind).await?;
    log.info(&format!(
        "Owner {} ({owner_kind}), {} packages via {}/packages",
        config.owner, config.package_type, route.prefix
    ));

    let mut listings = Vec::new();
    for name in &config.packages {
        let versions = github
            .list_versions(&route, config.package_type, name)
            .await
            .map_err(|e| explain_listing_error(e, &config, name))?;
        log.debug(&format!("{name}: {} versions listed", versions.len()));
        listings.push(PackageListing {
            name: name.clone(),
            versions,
        });
    }

    let now = Utc::now();
    let plan = plan(&listings, &config.policy, now);
    let held = plan.exceeds(&config.policy).then(|| {
        format!(
            "the plan has {} changes, more than max-changes {}",
            plan.change_count(),
            config.policy.max_changes.unwrap_or_default()
        )
    });
    let context = RunContext {
        owner: config.owner.clone(),
        owner_kind,
        package_type: config.package_type,
        dry_run: config.dry_run,
        held: held.clone(),
    };

    let outcomes = if config.dry_run || held.is_some() {
        Outcomes::new()
    } else {
        execute(&github, &route, config.package_type, &plan, log).await
    };

    for package in &plan.packages {
        log.group(&format!(
            "{} {}: {} of {} versions planned{}",
            config.package_type,
            package.package,
            package.changes().count(),
            package.listed,
            if config.dry_run { " (dry run)" } else { "" }
        ));
        log.info(&report::plan_table(&context, package, &outcomes, now));
        log.end_group();
    }
    for id in &plan.missing_ids {
        log.warning(
            "Version id not found",
            &format!("version-ids: {id} is not a version of any listed package"),
        );
    }

    let outputs = Outputs::new(&context, &plan, &outcomes);
    let summary = report::summary(&context, &plan, &outcomes, &outputs);
    let written = match &config.output_file {
        Some(path) => outputs.write_to(path),
        None => {
            println!("{}", outputs.to_json());
            Ok(())
        }
    }
    .and_then(|()| match &config.summary_file {
        Some(path) => report::append_summary(path, &summary),
        None => Ok(()),
    });
    log.info(&format!(
        "{}: {} planned, {} deleted, {} skipped, {} failed ({} requests)",
        match (&context.held, config.dry_run) {
            (Some(_), _) => "Held",
            (None, true) => "Dry run",
            (None, false) => "Done",
        },
        outputs.planned_ids.len(),
        outputs.deleted_ids.len(),
        outputs.skipped_count,
        outputs.failed_count,
        github.request_count()
    ));
    log.finish();
    if let Some(reason) = held {
        // Nothing was sent: the outputs show the plan, and the run stops with exit 2.
        log.error("Plan too large", &format!("{reason}; nothing was changed"));
        return Ok(Exit::Stopped);
    }
    let failed = outcomes.values().any(|o| matches!(o, Outcome::Failed(_)));
    if let Err(error) = written {
        // Changes may have been made already, so this is a failure, not a stop.
        log.error("Writing the outputs failed", &format!("{error:#}"));
        return Ok(Exit::Failed);
    }
    Ok(if failed { Exit::Failed } else { Exit::Success })
}

/// SPEC §3: organizations on `/orgs/{org}`; a user on `/user` when the token is that user's,
/// else on `/users/{user}`. A GITHUB_TOKEN cannot read `/user` (403), which is expected.
async fn resolve_route(github: &GitHub, owner: &str, kind: OwnerKind) -> Result<OwnerRoute> {
    Ok(match kind {
        OwnerKind::Organization => OwnerRoute::org(owner),
        OwnerKind::User => match github.token_login().await? {
            Some(login) if login.eq_ignore_ascii_case(owner) => OwnerRoute::authenticated_user(),
            _ => OwnerRoute::user(owner),
        },
    })
}

/// A listing that fails names the package, and a 404 lists its usual causes.
fn explain_listing_error(error: anyhow::Error, config: &Config, name: &str) -> anyhow::Error {
    match error.downcast_ref::<ApiError>() {
        Some(api) if api.status == 404 => anyhow!(
            "package '{name}' ({}) of '{}' was not found (HTTP 404: {}). GitHub answers 404 both \
             for a missing package and for one the token may not see. Likely causes: the \
             workflow's repository has not been granted access to the package (package settings \
             → Manage Actions access, role Admin); the owner is wrong; the name misses a \
             `repo/` prefix; or a GITHUB_TOKEN is used where a classic PAT with read:packages \
             is needed.",
            config.package_type,
            config.owner,
            api.message
        ),
        Some(api) if api.status == 403 && api.message.contains("personal access token") => anyhow!(
            "package '{name}': GitHub refused the token ({api}). Fine-grained personal access \
             tokens and GitHub App tokens are not supported by the GitHub Packages API: use the \
             workflow's GITHUB_TOKEN or a classic personal access token."
        ),
        _ => error.context(format!("listing the versions of package '{name}'")),
    }
}
