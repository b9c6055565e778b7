//! Command-line mode (SPEC §6): the same binary, with flags that mirror the action's inputs
//! one to one (`--packages app --tags 'pr-*' --dry-run`). The inputs, their defaults and their
//! help text come from the embedded action.yml, so the two cannot drift apart.

use anyhow::{anyhow, bail, Context, Result};
use serde_yaml::Value;

const ACTION_YML: &str = include_str!("../action.yml");

/// One input of action.yml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub name: String,
    pub description: String,
    pub default: Option<String>,
    pub required: bool,
}

/// What action.yml declares, in its order.
#[derive(Debug, Clone)]
pub struct Action {
    pub inputs: Vec<Input>,
    /// (name, description)
    pub outputs: Vec<(String, String)>,
}

/// The embedded action.yml.
pub fn action() -> Result<Action> {
    let yaml: Value = serde_yaml::from_str(ACTION_YML).context("the embedded action.yml")?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let inputs = yaml["inputs"]
        .as_mapping()
        .ok_or_else(|| anyhow!("action.yml has no inputs"))?
        .iter()
        .map(|(name, spec)| Input {
            name: name.as_str().unwrap_or_default().to_string(),
            description: text(spec.get("description")).unwrap_or_default(),
            default: text(spec.get("default")),
            required: spec
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
        .collect();
    let outputs = yaml["outputs"]
        .as_mapping()
        .ok_or_else(|| anyhow!("action.yml has no outputs"))?
        .iter()
        .map(|(name, spec)| {
            (
                name.as_str().unwrap_or_default().to_string(),
                text(spec.get("description")).unwrap_or_default(),
            )
        })
        .collect();
    Ok(Action { inputs, outputs })
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    Version,
    /// Run with these inputs, as `INPUT_*` variables.
    Run(Vec<(String, String)>),
}

/// Inputs that take a list: given more than once, the flags add up.
const LIST_INPUTS: &[&str] = &["packages", "tags", "exclude-tags", "version-ids"];

/// Parse `--input value`, `--input=value`, and bare `--flag` for boolean inputs (true). A
/// list input given more than once adds up (`--tags a --tags b`); any other, twice, is an
/// error rather than a silent choice of one.
pub fn parse(args: &[String]) -> Result<Command> {
    let inputs = action()?.inputs;
    let mut vars: Vec<(String, String)> = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            _ => {}
        }
        let Some(flag) = arg.strip_prefix("--") else {
            bail!("unexpected argument '{arg}': inputs are given as --name value (see --help)");
        };
        let (name, inline) = match flag.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (flag, None),
        };
        if name == "token" {
            // A command line is visible to every process on the machine and kept in histories.
            bail!("the token is never passed on a command line: set GITHUB_TOKEN instead");
        }
        let input = inputs
            .iter()
            .find(|i| i.name == name)
            .ok_or_else(|| anyhow!("unknown flag '--{name}' (see --help for the inputs)"))?;
        let boolean = matches!(input.default.as_deref(), Some("true" | "false"));
        let value = match inline {
            Some(value) => value,
            None if boolean => {
                // A bare boolean flag means true; `--dry-run false` also works.
                match args.clone().next().map(String::as_str) {
                    Some(v @ ("true" | "false")) => {
                        args.next();
                        v.to_string()
                    }
                    _ => "true".to_string(),
                }
            }
            None => args
                .next()
                .cloned()
                .ok_or_else(|| anyhow!("flag '--{name}' needs a value"))?,
        };
        let key = format!("INPUT_{}", name.to_uppercase());
        match vars.iter_mut().find(|(k, _)| *k == key) {
            Some((_, earlier)) if LIST_INPUTS.contains(&name) => {
                earlier.push('\n');
                earlier.push_str(&value);
            }
            Some(_) => bail!("flag '--{name}' is given twice; it takes one value"),
            None => vars.push((key, value)),
        }
    }
    Ok(Command::Run(vars))
}

/// `--help`, from action.yml.
pub fn help() -> Result<String> {
    let Action { inputs, outputs } = action()?;
    let mut text = format!(
        "package-janitor {}\nDelete or restore GitHub Packages versions selected by glob or regex over their tags.\n\n\
         Usage: package-janitor --packages NAME [--tags PATTERN] [options]\n\
         The token comes from GITHUB_TOKEN, never from the command line. Outside Actions the\n\
         outputs are printed as JSON on stdout and the summary on stderr.\n\n\
         Options (the action's inputs):\n",
        env!("CARGO_PKG_VERSION")
    );
    for input in inputs.iter().filter(|i| i.name != "token") {
        let default = match input.default.as_deref() {
            Some(d) if d.contains("${{") => format!(" [in Actions: {d}]"),
            Some("") | None if input.required => " (required)".to_string(),
            Some("") | None => String::new(),
            Some(d) => format!(" [default: {d}]"),
        };
        text.push_str(&format!(
            "  --{}{default}\n      {}\n",
            input.name, input.description
        ));
    }
    text.push_str("  -h, --help\n      Print this help\n  -V, --version\n      Print the version\n\nOutputs:\n");
    for (name, description) in &outputs {
        text.push_str(&format!("  {name}: {description}\n"));
    }
    text.push_str(
        "\nEnvironment:\n\
         \x20 GITHUB_TOKEN        the token: a classic PAT (read:packages, delete:packages to delete,\n\
         \x20                     write:packages to restore; repo too for maven and docker)\n\
         \x20 GITHUB_API_URL      the REST API (default https://api.github.com; GitHub Enterprise\n\
         \x20                     Server: https://HOST/api/v3)\n\
         \x20 GITHUB_SERVER_URL   for links in the summary (default https://github.com)\n\
         \x20 RUNNER_DEBUG=1      every request and answer in the log\n\
         \x20 PACKAGE_JANITOR_POINTS_PER_MINUTE, PACKAGE_JANITOR_CONCURRENCY,\n\
         \x20 PACKAGE_JANITOR_TIMEOUT  GitHub Enterprise Server limits (see the README)\n",
    );
    text.push_str("\nExit status: 0 done (or dry run), 1 a change failed, container safety failed closed or the run was cancelled, 2 stopped before any change.\n");
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_become_inputs() {
        let command = parse(&args(&[
            "--packages",
            "app",
            "--tags=pr-*",
            "--dry-run",
            "--untagged",
            "false",
        ]))
        .unwrap();
        assert_eq!(
            command,
            Command::Run(vec![
                ("INPUT_PACKAGES".into(), "app".into()),
                ("INPUT_TAGS".into(), "pr-*".into()),
                ("INPUT_DRY-RUN".into(), "true".into()),
                ("INPUT_UNTAGGED".into(), "false".into()),
            ])
        );
        assert_eq!(parse(&args(&["--version"])).unwrap(), Command::Version);
        // List flags add up; others may not be given twice.
        assert_eq!(
            parse(&args(&["--tags", "a", "--tags=b", "--packages", "x"])).unwrap(),
            Command::Run(vec![
                ("INPUT_TAGS".into(), "a\nb".into()),
                ("INPUT_PACKAGES".into(), "x".into()),
            ])
        );
        assert!(parse(&args(&["--mode", "delete", "--mode", "restore"]))
            .unwrap_err()
            .to_string()
            .contains("given twice"));
    }

    #[test]
    fn unknown_flags_and_missing_values_are_errors() {
        assert!(parse(&args(&["--tagz", "x"]))
            .unwrap_err()
            .to_string()
            .contains("'--tagz'"));
        assert!(parse(&args(&["--tags"]))
            .unwrap_err()
            .to_string()
            .contains("needs a value"));
        assert!(parse(&args(&["app"]))
            .unwrap_err()
            .to_string()
            .contains("'app'"));
        assert!(parse(&args(&["--token", "x"]))
            .unwrap_err()
            .to_string()
            .contains("GITHUB_TOKEN"));
    }
}
