//! Before any listing (SPEC §3): the owner and what it is, the token's scopes, the route
//! to the owner's packages, the container registry (with the manifest cache), and the
//! package names the step names or its patterns match — with every error explained by what
//! the token is and what GitHub usually means by it.

use crate::config::{Config, PackageName};
use crate::github::{ApiError, GitHub, OwnerRoute};
use crate::model::{Mode, OwnerKind, PackageType, Target};
use crate::pattern::Pattern;
use crate::registry::Registry;
use crate::workflow::Log;
use anyhow::{anyhow, Result};

/// What the preflight learns: who owns the packages, what the token is, where the packages
/// live, the registry (container runs) and the package names.
pub struct Preflight {
    pub owner_kind: OwnerKind,
    /// The token reports OAuth scopes: a classic PAT.
    pub classic: bool,
    pub route: OwnerRoute,
    pub registry: Option<Registry>,
    pub names: Vec<String>,
}

/// Owner, token scopes, route (SPEC §3), registry, package names: all before any listing.
pub async fn preflight(github: &GitHub, config: &Config, log: &mut Log) -> Result<Preflight> {
    let owner = github.owner(&config.owner).await?;
    check_scopes(owner.scopes.as_deref(), config)?;
    let route = resolve_route(github, &config.owner, owner.kind).await?;
    log.info(&format!(
        "Owner {} ({}), {} packages via {}/packages, mode {}",
        config.owner, owner.kind, config.policy.package_type, route.prefix, config.policy.mode
    ));
    // A registry that cannot be used stops the run once, clearly.
    let registry = container_registry(config)
        .await?
        .map(|registry| with_manifest_cache(registry, config, log));
    let classic = owner.scopes.is_some();
    let names = resolve_packages(github, &route, config, classic, log).await?;
    Ok(Preflight {
        owner_kind: owner.kind,
        classic,
        route,
        registry,
        names,
    })
}

/// `manifest-cache`: the registry reads through the cache loaded from the workspace (a bad
/// entry or a file that is not a cache is said once, and changes no decision).
fn with_manifest_cache(registry: Registry, config: &Config, log: &mut Log) -> Registry {
    let Some(path) = &config.manifest_cache else {
        return registry;
    };
    let (cache, said) = crate::cache::ManifestCache::load(path);
    if let Some(said) = said {
        log.warning("Manifest cache", &said);
    }
    log.info(&format!(
        "Manifest cache {}: {} manifests",
        path.display(),
        cache.loaded
    ));
    registry.with_cache(std::sync::Arc::new(cache))
}

/// The registry for container runs, checked to answer as one before anything is planned.
async fn container_registry(config: &Config) -> Result<Option<Registry>> {
    if config.policy.package_type != PackageType::Container || config.target != Target::Versions {
        return Ok(None);
    }
    let registry = Registry::new(
        &config.endpoints.registry_url,
        &config.endpoints.api_url,
        config.token.expose(),
        config.limits.clone(),
        config.records.in_actions,
    )?;
    if let Err(error) = registry.check().await {
        let origin = if config.endpoints.registry_derived {
            "derived from GITHUB_API_URL; pass the registry as `registry-url` (on a command \
             line --registry-url), e.g. the API's own URL when it serves `/v2/`"
        } else {
            "given as `registry-url`"
        };
        return Err(error.context(format!(
            "container images need the registry's manifests, and the registry {} ({origin}) \
             cannot be used",
            config.endpoints.registry_url
        )));
    }
    Ok(Some(registry))
}

/// SPEC §3: a classic PAT reports its scopes; check them before any change, naming what is
/// missing. Tokens that report none (GITHUB_TOKEN) are judged by GitHub's answers instead.
fn check_scopes(scopes: Option<&[String]>, config: &Config) -> Result<()> {
    let Some(scopes) = scopes else {
        return Ok(());
    };
    let mut needed = vec!["read:packages"];
    needed.push(match config.policy.mode {
        Mode::Delete => "delete:packages",
        Mode::Restore | Mode::Repair => "write:packages",
    });
    // `untag` pushes placeholders to the registry (SPEC §3).
    if config.policy.untags() {
        needed.push("write:packages");
    }
    // Only the repository-scoped registries need `repo`; container, npm, NuGet and RubyGems
    // have granular permissions (SPEC §3, facts file "Tokens").
    if matches!(
        config.policy.package_type,
        PackageType::Maven | PackageType::Docker
    ) {
        needed.push("repo");
    }
    // GitHub grants read:packages with write:packages.
    let has = |scope: &str| {
        scopes.iter().any(|s| s == scope)
            || (scope == "read:packages" && scopes.iter().any(|s| s == "write:packages"))
    };
    let missing: Vec<&str> = needed.into_iter().filter(|s| !has(s)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(anyhow!(
        "the token is missing the scope(s) {} needed to {} {} package versions (it has: {}). \
         Edit the classic personal access token's scopes, or use the workflow's GITHUB_TOKEN.",
        missing.join(", "),
        config.policy.mode,
        config.policy.package_type,
        if scopes.is_empty() {
            "none".to_string()
        } else {
            scopes.join(", ")
        }
    ))
}

/// Exact names as given; patterns matched against the owner's package list (one listing,
/// which a GITHUB_TOKEN cannot read). The result has no duplicates, in input order.
async fn resolve_packages(
    github: &GitHub,
    route: &OwnerRoute,
    config: &Config,
    classic: bool,
    log: &mut Log,
) -> Result<Vec<String>> {
    let patterns: Vec<&Pattern> = config
        .packages
        .iter()
        .filter_map(|p| match p {
            PackageName::Pattern(p) => Some(p),
            PackageName::Exact(_) => None,
        })
        .collect();
    let listed = match patterns.first() {
        None => Vec::new(),
        Some(first) => {
            let (names, truncated) = github
                .list_packages(route, config.policy.package_type)
                .await
                .map_err(|e| explain_package_list_error(e, first.as_str(), classic))?;
            if truncated {
                log.warning(
                    "Package list truncated",
                    "GitHub lists at most 10,000 packages; patterns were matched against the first 10,000",
                );
            }
            names
        }
    };
    let mut names: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            names.push(name.to_string());
        }
    };
    for entry in &config.packages {
        match entry {
            PackageName::Exact(name) => add(name),
            PackageName::Pattern(pattern) => {
                let mut matched: Vec<&String> =
                    listed.iter().filter(|n| pattern.is_match(n)).collect();
                matched.sort();
                if matched.is_empty() {
                    log.warning(
                        "No package matched",
                        &format!(
                            "packages: '{}' matched none of the owner's {} {} packages",
                            pattern.as_str(),
                            listed.len(),
                            config.policy.package_type
                        ),
                    );
                }
                for name in matched {
                    add(name);
                }
            }
        }
    }
    Ok(names)
}

/// A package listing refused: a token that is not a classic PAT (GITHUB_TOKEN) cannot list
/// packages, and GitHub says so with 400 `Invalid argument.` (facts file) or a 403, so the
/// message follows from what the token is, not from one status code.
fn explain_package_list_error(error: anyhow::Error, pattern: &str, classic: bool) -> anyhow::Error {
    let needs_pat = format!(
        "packages: '{pattern}' is a pattern, and matching it needs the owner's package list; \
         listing packages needs a classic personal access token with read:packages, for \
         organizations and users alike"
    );
    match error.downcast_ref::<ApiError>() {
        Some(api) if !classic && matches!(api.status, 400 | 401 | 403 | 404) => anyhow!(
            "{needs_pat}. This token is not one (a GITHUB_TOKEN cannot list packages; GitHub \
             answered {api}): pass a classic PAT as `token`, or name the packages exactly."
        ),
        Some(api) if api.status == 403 || api.status == 404 => anyhow!(
            "{needs_pat}, and GitHub refused this one ({api}): check its scopes and its access \
             to the owner, or name the packages exactly."
        ),
        _ => error.context("listing the owner's packages"),
    }
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

/// A listing that fails names the package, and a 404 lists its usual causes. A 403 to a token
/// that is not a classic PAT is explained by what the token is, not by GitHub's words.
pub fn explain_listing_error(
    error: anyhow::Error,
    config: &Config,
    pre: &Preflight,
    name: &str,
) -> anyhow::Error {
    match error.downcast_ref::<ApiError>() {
        Some(api) if api.status == 404 => anyhow!(
            "package '{name}' ({}) of '{}' was not found (HTTP 404: {}). GitHub answers 404 both \
             for a missing package and for one the token may not see. Likely causes: the \
             workflow's repository has not been granted access to the package (package settings \
             → Manage Actions access, role Admin); the owner is wrong; the name misses a \
             `repo/` prefix; or a GITHUB_TOKEN is used where a classic PAT with read:packages \
             is needed.",
            config.policy.package_type,
            config.owner,
            api.message
        ),
        Some(api) if api.status == 403 && !pre.classic => anyhow!(
            "package '{name}': GitHub refused the token ({api}). Fine-grained personal access \
             tokens and GitHub App tokens are not supported by the GitHub Packages API: use the \
             workflow's GITHUB_TOKEN (with `permissions: packages: write`) or a classic \
             personal access token."
        ),
        _ => error.context(format!("listing the versions of package '{name}'")),
    }
}
