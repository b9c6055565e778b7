//! Inputs in two stages: the raw environment (the one place that reads it), then a validated,
//! typed [`Config`] built before the first request.
//!
//! Every check that can fail on a user's input happens in [`Config::from_env`], and every error
//! names the input and the offending value, so bad input stops the run (exit 2) before anything
//! talks to GitHub.

use crate::duration::parse_duration;
use crate::limits::Limits;
use crate::model::{Mode, PackageType, Target};
use crate::pattern::{has_pattern_syntax, split_list, Pattern, PatternSet, Syntax};
use crate::plan::{Policy, TagMatch};
use crate::semantic::{KeepPer, Range};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

pub mod rules;

/// The process environment as plain data, so tests can feed a map instead.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: BTreeMap<String, String>,
    /// Variables whose value is not UTF-8: never dropped as if absent (a dropped `dry-run`
    /// deletes for real), but named in an input error (SPEC §1).
    not_utf8: Vec<String>,
}

impl Environment {
    /// The one function that reads the process environment.
    pub fn from_process() -> Environment {
        Environment::from_os_vars(std::env::vars_os())
    }

    /// Variables as the process has them, any bytes: those whose value is not UTF-8 are kept
    /// by name, to be refused.
    pub fn from_os_vars(
        vars: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
    ) -> Environment {
        let mut env = Environment::default();
        for (key, value) in vars {
            let key = key.to_string_lossy().into_owned();
            match value.into_string() {
                Ok(value) => {
                    env.vars.insert(key, value);
                }
                Err(_) => env.not_utf8.push(key),
            }
        }
        env
    }

    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Environment {
        Environment {
            vars: vars.into_iter().collect(),
            not_utf8: Vec::new(),
        }
    }

    /// Set variables (command-line flags as `INPUT_*`), replacing what the environment had.
    pub fn set(&mut self, vars: impl IntoIterator<Item = (String, String)>) {
        self.vars.extend(vars);
    }

    /// A non-empty environment variable.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// An input given with an empty (or blank) value, as opposed to left out.
    fn given_empty(&self, name: &str) -> bool {
        let key = format!("INPUT_{}", name.to_uppercase().replace(' ', "_"));
        self.vars.get(&key).is_some_and(|v| v.trim().is_empty())
    }

    /// An action input as the runner passes it: `INPUT_` + the name upper-cased, spaces turned
    /// into `_`, hyphens kept (`dry-run` → `INPUT_DRY-RUN`). Missing and empty are the same.
    pub fn input(&self, name: &str) -> &str {
        let key = format!("INPUT_{}", name.to_uppercase().replace(' ', "_"));
        self.vars.get(&key).map(|v| v.trim()).unwrap_or("")
    }
}

/// A bad input: which input, which value, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub input: &'static str,
    pub value: String,
    pub problem: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // On a command line an input is a flag (`--owner`), and the token `GITHUB_TOKEN`.
        let named = match (crate::workflow::in_actions(), self.input) {
            (_, "environment") => "the environment".to_string(),
            (false, "token") => "GITHUB_TOKEN".to_string(),
            (false, input) if INPUTS.contains(&input) => format!("--{input}"),
            (_, input) => format!("input '{input}'"),
        };
        if self.value.is_empty() {
            return write!(f, "{named}: {}", self.problem);
        }
        // A value may be huge (a pasted file): echo its start and say how long it was.
        let count = self.value.chars().count();
        let value: String = self.value.chars().take(ECHOED).collect();
        let cut = if count > ECHOED {
            format!("… ({count} characters in all)")
        } else {
            String::new()
        };
        write!(f, "{named}: {} (value: '{value}'{cut})", self.problem)
    }
}

impl std::error::Error for InputError {}

/// The most characters of a bad value an error echoes.
const ECHOED: usize = 200;

fn bad(input: &'static str, value: &str, problem: impl Into<String>) -> InputError {
    InputError {
        input,
        value: value.to_string(),
        problem: problem.into(),
    }
}

/// The token, kept out of `Debug` output and logs.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// Everything a run needs, validated. The package type and the mode live in `policy` only.
#[derive(Debug, Clone)]
pub struct Config {
    pub token: Token,
    pub owner: String,
    pub target: Target,
    /// Exact names, or patterns expanded through the owner's package list.
    pub packages: Vec<PackageName>,
    /// Globs, or regexes with `use-regex`.
    pub syntax: Syntax,
    pub policy: Policy,
    pub dry_run: bool,
    pub endpoints: Endpoints,
    pub records: Records,
    /// GitHub's limits, overridable for GitHub Enterprise Server and for tests.
    pub limits: Limits,
    /// `manifest-cache`: where manifests are kept between runs (inside the workspace).
    pub manifest_cache: Option<PathBuf>,
}

/// Where the run talks to.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// The REST API base, `GITHUB_API_URL` or `https://api.github.com`.
    pub api_url: String,
    /// `GITHUB_SERVER_URL` or `https://github.com`, for links.
    pub server_url: String,
    /// The OCI registry for container manifests.
    pub registry_url: String,
    /// The registry was derived from the API URL, not given as `registry-url`.
    pub registry_derived: bool,
    /// This action as a workflow names it: `GITHUB_ACTION_REPOSITORY@GITHUB_ACTION_REF`, or
    /// the published name when the runner does not say.
    pub action: String,
}

/// Where the run's record goes, and how its log is written.
#[derive(Debug, Clone)]
pub struct Records {
    /// `$GITHUB_OUTPUT`; outside Actions the outputs go to stdout as JSON.
    pub output_file: Option<PathBuf>,
    /// `$GITHUB_STEP_SUMMARY`.
    pub summary_file: Option<PathBuf>,
    /// `RUNNER_DEBUG=1`.
    pub debug: bool,
    /// `GITHUB_ACTIONS=true`: running as an action, not on a command line.
    pub in_actions: bool,
}

/// One entry of `packages`.
#[derive(Debug, Clone)]
pub enum PackageName {
    /// A name without pattern syntax: used as is, no package listing needed.
    Exact(String),
    /// A glob or regex matched against the owner's package list.
    Pattern(Pattern),
}

/// Every input this build of the action understands, as declared in action.yml.
pub const INPUTS: &[&str] = &[
    "token",
    "owner",
    "package-type",
    "packages",
    "mode",
    "target",
    "tags",
    "exclude-tags",
    "tag-match",
    "use-regex",
    "untagged",
    "untag",
    "version-ids",
    "older-than",
    "deleted-within",
    "semver-range",
    "keep-latest",
    "keep-per",
    "min-versions",
    "max-changes",
    "max-duration",
    "mutations-per-minute",
    "dry-run",
    "registry-url",
    "rules",
    "rules-file",
    "manifest-cache",
];

impl Config {
    /// Every input read, checked and typed, before the first request: each part by its own
    /// constructor, then every conflict between inputs in `check`.
    pub fn from_env(env: &Environment) -> Result<Config, InputError> {
        readable_environment(env)?;
        no_empty_inputs(env)?;
        let token = token(env)?;
        let owner = owner(env)?;
        let package_type = package_type(env)?;
        let syntax = if parse_bool(env, "use-regex", false)? {
            Syntax::Regex
        } else {
            Syntax::Glob
        };
        let packages = packages(env, syntax)?;
        let mode = parse_choice(
            env,
            "mode",
            &[
                ("delete", Mode::Delete),
                ("restore", Mode::Restore),
                ("repair", Mode::Repair),
            ],
        )?;
        let target = parse_choice(
            env,
            "target",
            &[
                ("versions", Target::Versions),
                ("packages", Target::Packages),
            ],
        )?;
        let mut policy = selection(env, package_type, mode, syntax)?;
        policy.rules = rule_list(env, package_type, syntax)?;
        check_rule_packages(env, policy.rules.as_ref(), &packages)?;
        check(env, &policy, target, &packages)?;
        Ok(Config {
            token,
            owner,
            target,
            packages,
            syntax,
            policy,
            dry_run: parse_bool(env, "dry-run", false)?,
            endpoints: Endpoints::from_env(env)?,
            records: Records::from_env(env),
            limits: Limits {
                mutations_per_minute: parse_pace(env)?,
                max_duration: parse_max_duration(env)?,
                ..limits(env)?
            },
            manifest_cache: manifest_cache(env)?,
        })
    }
}

/// SPEC §1: every variable the run reads holds UTF-8 (a value that does not is named, never
/// taken as absent), and every `INPUT_*` variable names an input of this action — `with:
/// dry_run:` becomes `INPUT_DRY_RUN`, which names none, and a misspelt `dry-run` must not
/// delete for real.
fn readable_environment(env: &Environment) -> Result<(), InputError> {
    let read = |name: &str| {
        ["INPUT_", "GITHUB_", "RUNNER_", "PACKAGE_JANITOR_"]
            .iter()
            .any(|prefix| name.starts_with(prefix))
    };
    if let Some(name) = env.not_utf8.iter().find(|n| read(n)) {
        let input = INPUTS
            .iter()
            .find(|i| format!("INPUT_{}", i.to_uppercase()) == *name)
            .copied()
            .unwrap_or("environment");
        return Err(bad(
            input,
            "",
            format!(
                "{name} holds bytes that are not UTF-8 text; it is not read as if it were \
                 absent (a dropped `dry-run` would delete for real): give it as text"
            ),
        ));
    }
    for key in env.vars.keys() {
        let Some(name) = key.strip_prefix("INPUT_") else {
            continue;
        };
        let input = name.to_lowercase();
        if INPUTS.contains(&input.as_str()) {
            continue;
        }
        let hyphens = input.replace(['_', ' '], "-");
        let hint = match INPUTS.iter().find(|i| **i == hyphens) {
            Some(known) => format!("did you mean `{known}` (`with: {known}:`)?"),
            None => match INPUTS
                .iter()
                .map(|i| (strsim::levenshtein(&hyphens, i), *i))
                .min()
                .filter(|(distance, _)| *distance <= 3)
            {
                Some((_, known)) => format!("did you mean `{known}`?"),
                None => "see the action's inputs in its README".to_string(),
            },
        };
        return Err(bad(
            "environment",
            "",
            format!(
                "{key} names no input of this action, so its value would be ignored; {hint} \
                 (input names keep their hyphens: `dry-run`, not `dry_run`)"
            ),
        ));
    }
    Ok(())
}

/// `token`, else `GITHUB_TOKEN` (a command line): present, and fit for a header.
/// SPEC §1: an input given empty where action.yml's default is not. The runner fills the
/// default for an input a step leaves out, so an empty value is an expression that evaluated
/// to nothing (`dry-run: ${{ inputs.dry }}` with the input unset), and guessing could delete
/// for real.
fn no_empty_inputs(env: &Environment) -> Result<(), InputError> {
    let Ok(action) = crate::cli::action() else {
        return Ok(());
    };
    for input in &action.inputs {
        let Some(default) = input.default.as_deref().filter(|d| !d.is_empty()) else {
            continue;
        };
        if env.given_empty(&input.name) {
            let name = INPUTS
                .iter()
                .find(|n| **n == input.name)
                .copied()
                .unwrap_or("an input");
            return Err(bad(
                name,
                "",
                format!(
                    "is given empty, and its default is `{default}`: an input left out gets its \
                     default, so an empty one is an expression that evaluated to nothing (an \
                     unset workflow_dispatch input?); give a value, or leave the input out"
                ),
            ));
        }
    }
    Ok(())
}

fn token(env: &Environment) -> Result<Token, InputError> {
    let token = match env.input("token") {
        "" => env.var("GITHUB_TOKEN").unwrap_or(""),
        token => token,
    };
    if token.is_empty() {
        return Err(bad(
            "token",
            "",
            "is empty; pass `token: ${{ github.token }}` or a classic personal access token",
        ));
    }
    // A header builder panics on a value no header may carry; refuse it here, naming the input
    // but never echoing the token (facts file, "HTTP on the wire").
    if !token.chars().all(|c| c.is_ascii_graphic()) {
        return Err(bad(
            "token",
            "",
            "holds a character that is not printable ASCII (a space, a line break, a control \
             character or a non-ASCII letter such as ✓), which no token has and no HTTP header \
             may carry as given; check how the secret was pasted",
        ));
    }
    Ok(Token(token.to_string()))
}

/// `owner`, else `GITHUB_REPOSITORY_OWNER`: a login.
fn owner(env: &Environment) -> Result<String, InputError> {
    let owner = match env.input("owner") {
        "" => env.var("GITHUB_REPOSITORY_OWNER").unwrap_or(""),
        owner => owner,
    };
    if owner.is_empty() {
        return Err(bad(
            "owner",
            "",
            "is not given, and neither is GITHUB_REPOSITORY_OWNER (its default in Actions)",
        ));
    }
    // GitHub logins are at most 39 characters.
    if owner.chars().count() > 39
        || !owner
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(bad(
            "owner",
            owner,
            "is not a GitHub user or organization login",
        ));
    }
    Ok(owner.to_string())
}

fn package_type(env: &Environment) -> Result<PackageType, InputError> {
    match env.input("package-type") {
        "" => Ok(PackageType::Container),
        value => PackageType::parse(value).ok_or_else(|| {
            bad(
                "package-type",
                value,
                "must be one of container, npm, maven, rubygems, nuget, docker",
            )
        }),
    }
}

/// `packages`: exact names, or patterns when they hold pattern syntax; at least one.
fn packages(env: &Environment, syntax: Syntax) -> Result<Vec<PackageName>, InputError> {
    let packages = split_list(env.input("packages"))
        .into_iter()
        .map(|name| {
            if has_pattern_syntax(&name, syntax) {
                Pattern::new(&name, syntax)
                    .map(PackageName::Pattern)
                    .map_err(|e| bad("packages", &name, e.to_string()))
            } else {
                Ok(PackageName::Exact(name))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    if packages.is_empty() {
        return Err(bad(
            "packages",
            "",
            "is required: name at least one package",
        ));
    }
    Ok(packages)
}

/// The selection inputs as the planner's [`Policy`].
fn selection(
    env: &Environment,
    package_type: PackageType,
    mode: Mode,
    syntax: Syntax,
) -> Result<Policy, InputError> {
    let duration = |input: &'static str| match env.input(input) {
        "" => Ok(None),
        value => parse_duration(value)
            .map(Some)
            .map_err(|e| bad(input, value, e)),
    };
    Ok(Policy {
        package_type,
        mode,
        tags: parse_patterns(env, "tags", syntax)?,
        exclude_tags: parse_patterns(env, "exclude-tags", syntax)?,
        tag_match: parse_choice(env, "tag-match", TAG_MATCH)?,
        untagged: parse_bool(env, "untagged", false)?,
        untag: parse_bool(env, "untag", false)?,
        version_ids: parse_ids(env, "version-ids")?,
        keep_latest: parse_count(env, "keep-latest", 0)?,
        min_versions: parse_count(env, "min-versions", 1)?,
        max_changes: match env.input("max-changes") {
            "" => None,
            _ => Some(parse_count(env, "max-changes", 0)?),
        },
        older_than: duration("older-than")?,
        deleted_within: duration("deleted-within")?,
        semver_range: match env.input("semver-range") {
            "" => None,
            value => Some(range_value(value).map_err(|e| bad("semver-range", value, e))?),
        },
        keep_per: match env.input("keep-per") {
            "" => None,
            _ => Some(parse_choice(env, "keep-per", KEEP_PER)?),
        },
        rules: None,
    })
}

/// Every conflict between inputs (SPEC §2), each naming the input and its value.
fn check(
    env: &Environment,
    policy: &Policy,
    target: Target,
    packages: &[PackageName],
) -> Result<(), InputError> {
    let conflict =
        |input: &'static str, problem: String| Err(bad(input, env.input(input), problem));
    if policy.untagged && !policy.package_type.has_tags() {
        return conflict(
            "untagged",
            format!(
                "conflicts with package-type '{}': only container and docker versions have tags",
                policy.package_type
            ),
        );
    }
    check_untag(env, policy, target)?;
    check_repair(env, policy, target)?;
    check_rules(env, policy, target)?;
    if policy.keep_per.is_some() && policy.keep_latest == 0 {
        return conflict(
            "keep-per",
            "needs `keep-latest`: it says how many of each line to keep".into(),
        );
    }
    if policy.deleted_within.is_some() && policy.mode == Mode::Delete {
        return conflict(
            "deleted-within",
            "conflicts with mode 'delete': it selects deleted versions for `mode: restore`".into(),
        );
    }
    if target == Target::Packages {
        check_whole_packages(env, policy, packages)
    } else if policy.mode != Mode::Repair
        && policy.rules.is_none()
        && policy.tags.is_empty()
        && !policy.untagged
        && policy.version_ids.is_empty()
        && policy.older_than.is_none()
        && policy.deleted_within.is_none()
        && policy.semver_range.is_none()
    {
        Err(bad(
            "tags",
            "",
            "no selector given: set at least one of `tags`, `untagged: true`, `version-ids`, \
             `older-than`, `semver-range`, `deleted-within` (restore), `rules` or `target: \
             packages` (use `tags: '*'` to select every tagged version explicitly)",
        ))
    } else {
        Ok(())
    }
}

/// `target: packages`: whole packages are chosen by `packages` alone; version selectors make
/// no sense, and a restore needs exact names.
fn check_whole_packages(
    env: &Environment,
    policy: &Policy,
    packages: &[PackageName],
) -> Result<(), InputError> {
    let version_inputs = [
        ("tags", !policy.tags.is_empty()),
        ("exclude-tags", !policy.exclude_tags.is_empty()),
        ("untagged", policy.untagged),
        ("version-ids", !policy.version_ids.is_empty()),
        ("older-than", policy.older_than.is_some()),
        ("deleted-within", policy.deleted_within.is_some()),
        ("keep-latest", policy.keep_latest > 0),
        ("semver-range", policy.semver_range.is_some()),
        ("keep-per", policy.keep_per.is_some()),
    ];
    if let Some((input, _)) = version_inputs.iter().find(|(_, set)| *set) {
        return Err(bad(
            input,
            env.input(input),
            "conflicts with `target: packages`, which deletes or restores whole packages",
        ));
    }
    let pattern = packages.iter().find_map(|p| match p {
        PackageName::Pattern(p) => Some(p.as_str()),
        PackageName::Exact(_) => None,
    });
    if let (Mode::Restore, Some(pattern)) = (policy.mode, pattern) {
        return Err(bad(
            "packages",
            pattern,
            "is a pattern; GitHub cannot list deleted packages, so restoring whole packages \
             needs exact names",
        ));
    }
    Ok(())
}

/// `rules` or `rules-file`, read and checked (SPEC §2, "Rule lists"); never both.
fn rule_list(
    env: &Environment,
    package_type: PackageType,
    syntax: Syntax,
) -> Result<Option<crate::plan::RuleList>, InputError> {
    let (input, text) = match (env.input("rules"), env.input("rules-file")) {
        ("", "") => return Ok(None),
        (_, "") => ("rules", env.input("rules").to_string()),
        ("", path) => ("rules-file", read_rules_file(env, path)?),
        (_, path) => {
            return Err(bad(
                "rules-file",
                path,
                "conflicts with `rules`: give the rule list once, inline or in a file",
            ))
        }
    };
    let context = rules::Context {
        input,
        package_type,
        syntax,
    };
    rules::parse(&text, context).map(Some)
}

/// A rule's `packages` that names, without pattern syntax, none of the step's packages can
/// match nothing: a typo, refused before any request. (Against the step's patterns only the
/// listing can tell: a rule that matched nothing gets a notice then.)
fn check_rule_packages(
    env: &Environment,
    rules: Option<&crate::plan::RuleList>,
    packages: &[PackageName],
) -> Result<(), InputError> {
    let exact: Vec<&str> = packages
        .iter()
        .filter_map(|p| match p {
            PackageName::Exact(name) => Some(name.as_str()),
            PackageName::Pattern(_) => None,
        })
        .collect();
    if exact.len() < packages.len() {
        return Ok(());
    }
    let input = match env.input("rules") {
        "" => "rules-file",
        _ => "rules",
    };
    for rule in rules.iter().flat_map(|list| &list.rules) {
        let names = rule.when.packages.patterns();
        if !names.is_empty() && !exact.iter().any(|name| rule.when.applies_to(name)) {
            let written: Vec<&str> = names.iter().map(|p| p.as_str()).collect();
            return Err(bad(
                input,
                &written.join(", "),
                format!(
                    "rule '{}', key `packages`: names none of the step's packages ({}), so the \
                     rule would match nothing",
                    rule.name,
                    exact.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// `rules-file`: a readable regular file inside the workspace (`GITHUB_WORKSPACE`, else the
/// current directory) — not absolute, not leading out of it by `..` or a symbolic link — of at
/// most [`rules::MAX_BYTES`].
fn read_rules_file(env: &Environment, path: &str) -> Result<String, InputError> {
    let input = "rules-file";
    let file = inside_workspace(env, input, path)?;
    let meta = std::fs::metadata(&file).map_err(|e| {
        bad(
            input,
            path,
            format!("cannot be found in the workspace: {e}"),
        )
    })?;
    if !meta.is_file() {
        return Err(bad(input, path, "is not a regular file"));
    }
    if meta.len() > rules::MAX_BYTES as u64 {
        return Err(bad(
            input,
            path,
            format!(
                "holds {} bytes; a rule list may take at most {} KiB",
                meta.len(),
                rules::MAX_BYTES / 1024
            ),
        ));
    }
    let bytes = std::fs::read(&file).map_err(|e| bad(input, path, e.to_string()))?;
    String::from_utf8(bytes).map_err(|_| bad(input, path, "is not UTF-8 text"))
}

/// A path given relative to the workspace (`GITHUB_WORKSPACE`, else the current directory),
/// checked to stay inside it: not absolute, no `..` out of it, no symbolic link out of it
/// (what exists of it is resolved). The file itself need not exist (a cache on its first
/// run). Returns it joined to the workspace.
fn inside_workspace(
    env: &Environment,
    input: &'static str,
    path: &str,
) -> Result<PathBuf, InputError> {
    if Path::new(path).is_absolute() {
        return Err(bad(
            input,
            path,
            "is an absolute path; give a path relative to the workspace (`.github/janitor.yml`)",
        ));
    }
    let workspace = match env.var("GITHUB_WORKSPACE") {
        Some(dir) => PathBuf::from(dir),
        None => std::env::current_dir().map_err(|e| {
            bad(
                input,
                path,
                format!("the current directory is unknown: {e}"),
            )
        })?,
    };
    let root = workspace.canonicalize().map_err(|e| {
        bad(
            input,
            path,
            format!("the workspace {} cannot be read: {e}", workspace.display()),
        )
    })?;
    let out = || {
        bad(
            input,
            path,
            format!(
                "leads out of the workspace {} (by `..` or a symbolic link); it must stay \
                 inside it",
                root.display()
            ),
        )
    };
    let mut joined = root.clone();
    for part in Path::new(path).components() {
        match part {
            std::path::Component::Normal(name) => joined.push(name),
            std::path::Component::ParentDir if joined != root => {
                joined.pop();
            }
            std::path::Component::CurDir => {}
            _ => return Err(out()),
        }
    }
    // What exists of it, resolved: a link leading out is refused.
    let existing = joined
        .ancestors()
        .find(|a| a.exists())
        .and_then(|a| a.canonicalize().ok());
    match existing {
        Some(real) if real.starts_with(&root) => Ok(joined),
        _ => Err(out()),
    }
}

/// `manifest-cache`: a path inside the workspace, a regular file when it exists.
fn manifest_cache(env: &Environment) -> Result<Option<PathBuf>, InputError> {
    let input = "manifest-cache";
    match env.input(input) {
        "" => Ok(None),
        path => {
            let file = inside_workspace(env, input, path)?;
            if file.exists() && !file.is_file() {
                return Err(bad(input, path, "is not a regular file"));
            }
            Ok(Some(file))
        }
    }
}

/// A rule list replaces the selection inputs, and works on versions in delete mode (SPEC §2).
/// The runner passes every input's default, so an input conflicts only with a value other
/// than its default.
fn check_rules(env: &Environment, policy: &Policy, target: Target) -> Result<(), InputError> {
    if policy.rules.is_none() {
        return Ok(());
    }
    let which = match env.input("rules") {
        "" => "rules-file",
        _ => "rules",
    };
    let selection = [
        ("tags", !policy.tags.is_empty()),
        ("exclude-tags", !policy.exclude_tags.is_empty()),
        ("tag-match", policy.tag_match == TagMatch::Any),
        ("untag", policy.untag),
        ("untagged", policy.untagged),
        ("version-ids", !policy.version_ids.is_empty()),
        ("older-than", policy.older_than.is_some()),
        ("deleted-within", policy.deleted_within.is_some()),
        ("semver-range", policy.semver_range.is_some()),
        ("keep-latest", policy.keep_latest > 0),
        ("keep-per", policy.keep_per.is_some()),
    ];
    if let Some((input, _)) = selection.iter().find(|(_, set)| *set) {
        return Err(bad(
            input,
            env.input(input),
            format!(
                "conflicts with `{which}`, which replaces the selection inputs: write it as a \
                 condition of a rule instead"
            ),
        ));
    }
    let (input, problem) = match (policy.mode, target) {
        (_, Target::Packages) => (
            "target",
            "conflicts with `{which}`: a rule list selects versions, not whole packages",
        ),
        (Mode::Restore | Mode::Repair, _) => (
            "mode",
            "conflicts with `{which}`: a rule list plans deletions; undo one with `mode: \
             restore` and the `deleted-ids` it wrote as `version-ids`",
        ),
        (Mode::Delete, Target::Versions) => return Ok(()),
    };
    Err(bad(
        input,
        env.input(input),
        problem.replace("{which}", which),
    ))
}

/// `mode: repair` restores the parts of container images; what it conflicts with (SPEC §2).
/// Its selectors only narrow which images are examined, so none is needed.
fn check_repair(env: &Environment, policy: &Policy, target: Target) -> Result<(), InputError> {
    if policy.mode != Mode::Repair {
        return Ok(());
    }
    if policy.package_type != PackageType::Container {
        return Err(bad(
            "mode",
            env.input("mode"),
            "works on container images only (other package types have no parts to bring back)",
        ));
    }
    let conflicts = [
        ("target", target == Target::Packages),
        ("untag", policy.untag),
        ("untagged", policy.untagged),
        ("keep-latest", policy.keep_latest > 0),
        ("deleted-within", policy.deleted_within.is_some()),
    ];
    match conflicts.iter().find(|(_, set)| *set) {
        Some((input, _)) => Err(bad(
            input,
            env.input(input),
            "conflicts with `mode: repair`, which only brings back the deleted parts of the \
             images it examines",
        )),
        None => Ok(()),
    }
}

/// `untag` works on container tags, under `tag-match: all`, in delete mode (SPEC §2).
fn check_untag(env: &Environment, policy: &Policy, target: Target) -> Result<(), InputError> {
    if !policy.untag {
        return Ok(());
    }
    let conflicts = [
        (
            policy.tag_match == TagMatch::Any,
            "conflicts with `tag-match: any`, under which a partly matching version is deleted",
        ),
        (
            policy.package_type != PackageType::Container,
            "works on container images only (the registry moves their tags)",
        ),
        (
            policy.mode.restores(),
            "conflicts with `mode: restore` and `repair`: a restore with the same `tags` puts \
             removed tags back",
        ),
        (
            target == Target::Packages,
            "conflicts with `target: packages`, which deletes or restores whole packages",
        ),
    ];
    match conflicts.iter().find(|(conflict, _)| *conflict) {
        Some((_, problem)) => Err(bad("untag", env.input("untag"), *problem)),
        None => Ok(()),
    }
}

impl Endpoints {
    fn from_env(env: &Environment) -> Result<Endpoints, InputError> {
        let api_url = env
            .var("GITHUB_API_URL")
            .unwrap_or("https://api.github.com")
            .trim_end_matches('/')
            .to_string();
        check_url("GITHUB_API_URL", &api_url, true)?;
        let given = env.input("registry-url");
        if !given.is_empty() {
            check_url("registry-url", given, false)?;
        }
        let (registry_url, registry_derived) = crate::registry::registry_url(Some(given), &api_url);
        Ok(Endpoints {
            server_url: env
                .var("GITHUB_SERVER_URL")
                .unwrap_or("https://github.com")
                .trim_end_matches('/')
                .to_string(),
            action: match (
                env.var("GITHUB_ACTION_REPOSITORY"),
                env.var("GITHUB_ACTION_REF"),
            ) {
                (Some(repository), Some(reference)) => format!("{repository}@{reference}"),
                _ => "owner/package-janitor@v1".to_string(),
            },
            api_url,
            registry_url,
            registry_derived,
        })
    }
}

/// SPEC §1: an API or registry URL is `https` — plain `http` only on a loopback address, where
/// the token never crosses a network — with a host and no credentials; checked before any
/// request. A registry may be given as a bare host (`ghcr.io`). Credentials in a URL are never
/// echoed.
fn check_url(input: &'static str, value: &str, scheme_required: bool) -> Result<(), InputError> {
    let bare = !value.contains("://") && !scheme_required;
    let full = if bare {
        format!("https://{value}")
    } else {
        value.to_string()
    };
    let shown = without_credentials(&full);
    let shown = match bare {
        true => shown.trim_start_matches("https://").to_string(),
        false => shown,
    };
    let Ok(uri) = full.parse::<http::Uri>() else {
        return Err(bad(input, &shown, "is not a URL"));
    };
    // A port the URL names must be one (1–65535): never read as another (SPEC §1). The
    // authority is read as written, since the parser drops a port it cannot hold.
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let port = match host_port.rfind(']') {
        Some(end) => host_port[end..].strip_prefix("]:"),
        None => host_port.rsplit_once(':').map(|(_, port)| port),
    };
    if let Some(port) = port {
        if !port.parse::<u16>().is_ok_and(|p| p > 0) {
            return Err(bad(
                input,
                &shown,
                format!("has port {port}, outside 1–65535"),
            ));
        }
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(bad(
            input,
            &shown,
            "carries credentials: give the URL without them (the token is the credential)",
        ));
    }
    let Some(host) = uri.host().filter(|h| !h.is_empty()) else {
        return Err(bad(input, &shown, "has no host"));
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if loopback => Ok(()),
        Some("http") => Err(bad(
            input,
            &shown,
            "uses plain http on a host that is not this machine: the token would cross the \
             network unencrypted; use https",
        )),
        _ => Err(bad(input, &shown, "must be an https URL")),
    }
}

/// A URL with any `user:password@` taken out, for messages.
fn without_credentials(value: &str) -> String {
    match value.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://***@{host}{}", &rest[authority_end..]),
                None => value.to_string(),
            }
        }
        None => value.to_string(),
    }
}

impl Records {
    fn from_env(env: &Environment) -> Records {
        Records {
            output_file: env.var("GITHUB_OUTPUT").map(PathBuf::from),
            summary_file: env.var("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            debug: env.var("RUNNER_DEBUG") == Some("1"),
            in_actions: env.var("GITHUB_ACTIONS") == Some("true"),
        }
    }
}

/// `PACKAGE_JANITOR_POINTS_PER_MINUTE` (GitHub's 900 points a minute per endpoint),
/// `PACKAGE_JANITOR_CONCURRENCY` (requests in flight, at most 100), `PACKAGE_JANITOR_TIMEOUT`
/// (per request, a duration) and `PACKAGE_JANITOR_TIME_SCALE` (tests and benchmarks: real
/// time runs this many times faster).
fn limits(env: &Environment) -> Result<Limits, InputError> {
    let mut limits = Limits::default();
    let number = |name: &'static str| -> Result<Option<f64>, InputError> {
        env.var(name)
            .map(|v| {
                v.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite() && *n > 0.0)
                    .ok_or_else(|| bad(name, v, "must be a positive number"))
            })
            .transpose()
    };
    if let Some(points) = number("PACKAGE_JANITOR_POINTS_PER_MINUTE")? {
        limits.points_per_minute = points.clamp(5.0, 1e9) as u32;
    }
    if let Some(concurrency) = number("PACKAGE_JANITOR_CONCURRENCY")? {
        limits.concurrency = (concurrency as usize).clamp(1, crate::limits::MAX_CONCURRENT);
    }
    if let Some(scale) = number("PACKAGE_JANITOR_TIME_SCALE")? {
        limits.time_scale = scale.min(1e6);
    }
    if let Some(value) = env.var("PACKAGE_JANITOR_TIMEOUT") {
        let timeout =
            parse_duration(value).map_err(|e| bad("PACKAGE_JANITOR_TIMEOUT", value, e))?;
        limits.timeout = timeout
            .to_std()
            .ok()
            .filter(|t| !t.is_zero())
            .ok_or_else(|| bad("PACKAGE_JANITOR_TIMEOUT", value, "must be longer than 0s"))?;
    }
    Ok(limits)
}

/// `max-duration`: a duration longer than zero, or empty for no limit.
fn parse_max_duration(env: &Environment) -> Result<Option<std::time::Duration>, InputError> {
    let input = "max-duration";
    match env.input(input) {
        "" => Ok(None),
        value => {
            let duration = parse_duration(value).map_err(|e| bad(input, value, e))?;
            duration
                .to_std()
                .ok()
                .filter(|d| !d.is_zero())
                .map(Some)
                .ok_or_else(|| bad(input, value, "must be longer than 0s"))
        }
    }
}

/// `mutations-per-minute`: 1 to 180 (GitHub's 900 points a minute at 5 a mutation).
fn parse_pace(env: &Environment) -> Result<u32, InputError> {
    let input = "mutations-per-minute";
    let pace = parse_count(env, input, crate::limits::MUTATIONS_PER_MINUTE as usize)?;
    let max = crate::limits::MAX_MUTATIONS_PER_MINUTE as usize;
    if !(1..=max).contains(&pace) {
        return Err(bad(
            input,
            env.input(input),
            format!("must be from 1 to {max} (GitHub's secondary limit allows {max} a minute)"),
        ));
    }
    Ok(pace as u32)
}

fn parse_bool(env: &Environment, input: &'static str, default: bool) -> Result<bool, InputError> {
    match env.input(input) {
        "" => Ok(default),
        _ => parse_choice(env, input, BOOL),
    }
}

/// One of a few words, any case; the first is the default when the input is empty.
fn parse_choice<T: Copy>(
    env: &Environment,
    input: &'static str,
    choices: &[(&str, T)],
) -> Result<T, InputError> {
    let value = env.input(input);
    if value.is_empty() {
        if let Some((_, default)) = choices.first() {
            return Ok(*default);
        }
    }
    choice_value(value, choices).map_err(|e| bad(input, value, e))
}

fn parse_count(
    env: &Environment,
    input: &'static str,
    default: usize,
) -> Result<usize, InputError> {
    match env.input(input) {
        "" => Ok(default),
        value => count_value(value).map_err(|e| bad(input, value, e)),
    }
}

fn parse_ids(env: &Environment, input: &'static str) -> Result<BTreeSet<u64>, InputError> {
    split_list(env.input(input))
        .into_iter()
        .map(|item| {
            item.parse::<u64>()
                .map_err(|_| bad(input, &item, "must be a list of numeric version ids"))
        })
        .collect()
}

fn parse_patterns(
    env: &Environment,
    input: &'static str,
    syntax: Syntax,
) -> Result<PatternSet, InputError> {
    patterns_value(env.input(input), syntax).map_err(|(item, e)| bad(input, &item, e))
}

// The value parsers the inputs and a rule list's conditions share: each says what is wrong in
// words, and the caller names where the value came from.

const TAG_MATCH: &[(&str, TagMatch)] = &[("all", TagMatch::All), ("any", TagMatch::Any)];
const KEEP_PER: &[(&str, KeepPer)] = &[("major", KeepPer::Major), ("minor", KeepPer::Minor)];
const BOOL: &[(&str, bool)] = &[("true", true), ("false", false)];

/// One of a few words, any case.
fn choice_value<T: Copy>(value: &str, choices: &[(&str, T)]) -> Result<T, String> {
    choices
        .iter()
        .find(|(word, _)| word.eq_ignore_ascii_case(value.trim()))
        .map(|(_, choice)| *choice)
        .ok_or_else(|| {
            let words: Vec<String> = choices.iter().map(|(w, _)| format!("`{w}`")).collect();
            format!("must be one of {}", words.join(", "))
        })
}

fn count_value(value: &str) -> Result<usize, String> {
    value
        .trim()
        .parse::<usize>()
        .map_err(|_| "must be a non-negative whole number".to_string())
}

/// A list of patterns; an error names the item at fault.
fn patterns_value(value: &str, syntax: Syntax) -> Result<PatternSet, (String, String)> {
    split_list(value)
        .into_iter()
        .map(|item| Pattern::new(&item, syntax).map_err(|e| (item, e.to_string())))
        .collect::<Result<Vec<_>, _>>()
        .map(PatternSet::new)
}

fn range_value(value: &str) -> Result<Range, String> {
    Range::parse(value).map_err(|e| {
        format!(
            "is not a range in Cargo's or npm's syntax (e.g. `<2.0.0`, `>=1.0.0, <1.4.0`, \
             `>=1.0.0 <1.4.0`, `1.x || 2.x`, `~1.2`): {e}"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Environment {
        Environment::from_vars(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("INPUT_TOKEN", "t0ken"),
            ("INPUT_OWNER", "acme"),
            ("INPUT_PACKAGES", "web"),
            ("INPUT_TAGS", "pr-*"),
        ]
    }

    fn error(extra: &[(&'static str, &'static str)]) -> InputError {
        let mut pairs = base();
        pairs.extend_from_slice(extra);
        Config::from_env(&env(&pairs)).unwrap_err()
    }

    #[test]
    fn inputs_keep_hyphens_in_their_variable_names() {
        let mut pairs = base();
        pairs.push(("INPUT_DRY-RUN", "TRUE"));
        pairs.push(("INPUT_PACKAGE-TYPE", "npm"));
        let config = Config::from_env(&env(&pairs)).unwrap();
        assert!(config.dry_run);
        assert_eq!(config.policy.package_type, PackageType::Npm);
        assert_eq!(config.policy.min_versions, 1);
        assert_eq!(format!("{:?}", config.token), "Token(***)");
    }

    #[test]
    fn errors_name_the_input_and_the_value() {
        let e = error(&[("INPUT_TAGS", "pr-[")]);
        assert_eq!(e.input, "tags");
        assert!(e.to_string().contains("'pr-['"), "{e}");
        assert_eq!(
            error(&[("INPUT_PACKAGE-TYPE", "pypi")]).input,
            "package-type"
        );
        assert_eq!(error(&[("INPUT_DRY-RUN", "yes")]).input, "dry-run");
        assert_eq!(error(&[("INPUT_PACKAGES", " ,\n")]).input, "packages");
        assert_eq!(error(&[("INPUT_PACKAGES", "app-[")]).input, "packages");
        assert_eq!(error(&[("INPUT_MODE", "purge")]).input, "mode");
        assert_eq!(
            error(&[("INPUT_DELETED-WITHIN", "7d")]).input,
            "deleted-within"
        );

        assert_eq!(error(&[("INPUT_TAGS", "")]).input, "tags");
        assert_eq!(error(&[("INPUT_VERSION-IDS", "12,abc")]).value, "abc");
        assert_eq!(error(&[("INPUT_KEEP-LATEST", "-1")]).input, "keep-latest");
        assert_eq!(error(&[("INPUT_TAG-MATCH", "some")]).input, "tag-match");
        assert_eq!(
            error(&[("INPUT_USE-REGEX", "true"), ("INPUT_TAGS", "pr-(")]).input,
            "tags"
        );
        assert_eq!(
            error(&[("INPUT_PACKAGE-TYPE", "npm"), ("INPUT_UNTAGGED", "true")]).input,
            "untagged"
        );
        assert_eq!(error(&[("INPUT_TOKEN", "")]).input, "token");
        assert_eq!(error(&[("INPUT_OLDER-THAN", "90")]).input, "older-than");
        assert_eq!(error(&[("INPUT_MAX-CHANGES", "ten")]).input, "max-changes");
        assert_eq!(
            error(&[("INPUT_MUTATIONS-PER-MINUTE", "181")]).input,
            "mutations-per-minute"
        );
        assert_eq!(error(&[("INPUT_MUTATIONS-PER-MINUTE", "0")]).value, "0");
        assert_eq!(error(&[("INPUT_MAX-DURATION", "5")]).input, "max-duration");
        assert_eq!(
            error(&[("INPUT_SEMVER-RANGE", "two")]).input,
            "semver-range"
        );
        assert_eq!(
            error(&[("INPUT_KEEP-PER", "patch"), ("INPUT_KEEP-LATEST", "2")]).input,
            "keep-per"
        );
        let e = error(&[("INPUT_KEEP-PER", "minor")]);
        assert_eq!((e.input, e.value.as_str()), ("keep-per", "minor"));
        // A huge value is echoed cut, with its length.
        let huge: &'static str = format!("pr-[{}", "x".repeat(130_000)).leak();
        let message = error(&[("INPUT_TAGS", huge)]).to_string();
        assert!(message.len() < 1000, "{}", message.len());
        assert!(
            message.contains("… (130004 characters in all)"),
            "{message}"
        );
        assert_eq!(error(&[("INPUT_MAX-DURATION", "0s")]).input, "max-duration");
        // A port past 65535 is no port (issue 27, item 6), never another one.
        let e = error(&[("INPUT_REGISTRY-URL", "https://ghcr.example:70000")]);
        assert_eq!(e.input, "registry-url");
        assert!(e.to_string().contains("port 70000, outside 1–65535"), "{e}");
    }

    #[test]
    fn a_rule_list_replaces_the_selection_inputs() {
        let rules = ("INPUT_RULES", "- delete: {tags: pr-*}");
        let ok = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = vec![
                ("INPUT_TOKEN", "t0ken"),
                ("INPUT_OWNER", "acme"),
                ("INPUT_PACKAGES", "web"),
                rules,
            ];
            pairs.extend_from_slice(extra);
            Config::from_env(&env(&pairs))
        };
        // The defaults the runner passes for every input are no conflict.
        let config = ok(&[
            ("INPUT_TAG-MATCH", "all"),
            ("INPUT_UNTAG", "false"),
            ("INPUT_UNTAGGED", "false"),
            ("INPUT_KEEP-LATEST", "0"),
            ("INPUT_MODE", "delete"),
            ("INPUT_TARGET", "versions"),
        ])
        .unwrap();
        assert_eq!(config.policy.rules.unwrap().rules.len(), 1);
        for (input, value) in [
            ("INPUT_TAGS", "pr-*"),
            ("INPUT_EXCLUDE-TAGS", "v*"),
            ("INPUT_TAG-MATCH", "any"),
            ("INPUT_UNTAG", "true"),
            ("INPUT_UNTAGGED", "true"),
            ("INPUT_VERSION-IDS", "12"),
            ("INPUT_OLDER-THAN", "3d"),
            ("INPUT_SEMVER-RANGE", "<2.0.0"),
            ("INPUT_KEEP-LATEST", "3"),
            ("INPUT_MODE", "restore"),
            ("INPUT_MODE", "repair"),
            ("INPUT_TARGET", "packages"),
            ("INPUT_RULES-FILE", "janitor.yml"),
        ] {
            let e = ok(&[(input, value)]).unwrap_err();
            let name = input.trim_start_matches("INPUT_").to_lowercase();
            assert_eq!(e.input, name, "{e}");
            assert!(e.to_string().contains("`rules`"), "{e}");
        }
        let e = ok(&[("INPUT_KEEP-PER", "major"), ("INPUT_KEEP-LATEST", "0")]).unwrap_err();
        assert_eq!(e.input, "keep-per", "{e}");
        // A rule narrowed to a package the step does not name.
        let e = ok(&[("INPUT_RULES", "- delete: {packages: wbe, tags: x}")]).unwrap_err();
        assert!(
            e.to_string()
                .contains("names none of the step's packages (web)"),
            "{e}"
        );
        assert!(ok(&[("INPUT_RULES", "- delete: {packages: WEB, tags: x}")]).is_ok());
        let patterns = Config::from_env(&env(&[
            ("INPUT_TOKEN", "t0ken"),
            ("INPUT_OWNER", "acme"),
            ("INPUT_PACKAGES", "app-*"),
            ("INPUT_RULES", "- delete: {packages: wbe, tags: x}"),
        ]));
        assert!(patterns.is_ok(), "only the listing can tell");
    }

    #[test]
    fn a_rules_file_lives_inside_the_workspace() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("evil.yml"), "- keep: {}").unwrap();
        let workspace = tempfile::tempdir().unwrap();
        let root = workspace.path();
        std::fs::create_dir_all(root.join(".github/sub")).unwrap();
        std::fs::write(root.join(".github/janitor.yml"), "- delete: {tags: pr-*}\n").unwrap();
        std::os::unix::fs::symlink(outside.path().join("evil.yml"), root.join("link.yml")).unwrap();
        std::os::unix::fs::symlink(root.join(".github/janitor.yml"), root.join("inside.yml"))
            .unwrap();
        std::fs::write(root.join("big.yml"), "#".repeat(70_000)).unwrap();
        let workspace_var: &'static str = root.to_str().unwrap().to_string().leak();
        let with = |file: &'static str| {
            Config::from_env(&env(&[
                ("INPUT_TOKEN", "t0ken"),
                ("INPUT_OWNER", "acme"),
                ("INPUT_PACKAGES", "web"),
                ("INPUT_RULES-FILE", file),
                ("GITHUB_WORKSPACE", workspace_var),
            ]))
        };
        let rules = |file| with(file).unwrap().policy.rules.unwrap().rules.len();
        assert_eq!(rules(".github/janitor.yml"), 1);
        assert_eq!(rules(".github/sub/../janitor.yml"), 1);
        assert_eq!(rules("inside.yml"), 1, "a link that stays inside is fine");
        let abs: &'static str = outside
            .path()
            .join("evil.yml")
            .to_str()
            .unwrap()
            .to_string()
            .leak();
        for (file, words) in [
            (abs, "absolute path"),
            ("../evil.yml", "leads out of the workspace"),
            ("link.yml", "leads out of the workspace"),
            ("missing.yml", "cannot be found"),
            (".github", "not a regular file"),
            ("big.yml", "at most 64 KiB"),
        ] {
            let e = with(file).unwrap_err();
            assert_eq!(e.input, "rules-file", "{e}");
            assert!(e.to_string().contains(words), "{file}: {e}");
        }
        // A file's contents are named as the file, and echoed only in part.
        std::fs::write(root.join("bad.yml"), "- keep: {newest: many}\n").unwrap();
        let e = with("bad.yml").unwrap_err();
        assert_eq!(e.input, "rules-file");
        assert!(e.to_string().contains("(value: 'many')"), "{e}");
    }

    #[test]
    fn an_unreadable_or_unknown_input_variable_is_named_never_dropped() {
        use std::os::unix::ffi::OsStringExt as _;
        let os =
            |k: &str, v: Vec<u8>| (std::ffi::OsString::from(k), std::ffi::OsString::from_vec(v));
        let mut vars: Vec<(std::ffi::OsString, std::ffi::OsString)> = base()
            .into_iter()
            .map(|(k, v)| os(k, v.as_bytes().to_vec()))
            .collect();
        vars.push(os("INPUT_DRY-RUN", vec![b't', 0xff, b'e']));
        let e = Config::from_env(&Environment::from_os_vars(vars.clone())).unwrap_err();
        assert_eq!(e.input, "dry-run");
        assert!(e.to_string().contains("not UTF-8"), "{e}");
        // A variable the run does not read may hold anything.
        vars.pop();
        vars.push(os("LANG", vec![0xff]));
        assert!(Config::from_env(&Environment::from_os_vars(vars)).is_ok());

        let e = error(&[("INPUT_DRY_RUN", "true")]);
        assert_eq!(e.input, "environment");
        let message = e.to_string();
        assert!(
            message.contains("INPUT_DRY_RUN names no input"),
            "{message}"
        );
        assert!(message.contains("did you mean `dry-run`"), "{message}");
        let e = error(&[("INPUT_OLDER-THEN", "3d")]);
        assert!(e.to_string().contains("did you mean `older-than`?"), "{e}");
    }
}
