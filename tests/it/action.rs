//! action.yml agrees with the binary: the inputs it reads and the outputs it writes.

use crate::util::*;
use gh_emulator::Emulator;
use std::collections::BTreeSet;

fn action() -> serde_yaml::Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/action.yml")).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

fn keys(value: &serde_yaml::Value) -> BTreeSet<String> {
    value
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn action_yml_declares_exactly_the_inputs_the_binary_reads() {
    let declared = keys(&action()["inputs"]);
    let read: BTreeSet<String> = package_janitor::config::INPUTS
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(declared, read);
}

#[test]
fn action_yml_declares_exactly_the_outputs_a_run_writes() {
    let emulator = Emulator::start(base().package(images("web", &[&["pr-1"], &["v1"]]))).unwrap();
    let run = janitor(&emulator, &acme(&[("tags", "pr-*")]));
    assert_eq!(run.code, 0);
    let written: BTreeSet<String> = run.outputs.keys().cloned().collect();
    let action = action();
    assert_eq!(keys(&action["outputs"]), written);
    // Docker actions' outputs have only a description.
    for (_, output) in action["outputs"].as_mapping().unwrap() {
        assert_eq!(keys(output), BTreeSet::from(["description".to_string()]));
    }
    assert_eq!(action["runs"]["using"], "docker");
}

#[test]
fn the_binarys_defaults_are_action_ymls_defaults() {
    use package_janitor::config::{Config, Environment};
    let inputs = package_janitor::cli::action().unwrap().inputs;
    let required = [
        ("INPUT_TOKEN", "t"),
        ("INPUT_OWNER", "acme"),
        ("INPUT_PACKAGES", "web"),
        ("INPUT_TAGS", "x"),
    ];
    let bare: Vec<(String, String)> = required
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut explicit = bare.clone();
    for input in &inputs {
        if let Some(default) = input.default.as_deref().filter(|d| !d.contains("${{")) {
            let key = format!("INPUT_{}", input.name.to_uppercase());
            if !explicit.iter().any(|(k, _)| *k == key) {
                explicit.push((key, default.to_string()));
            }
        }
    }
    let a = Config::from_env(&Environment::from_vars(bare)).unwrap();
    let b = Config::from_env(&Environment::from_vars(explicit)).unwrap();
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
}

/// The rows of the README table under `heading`: first cell's backticked names, second cell.
fn readme_table(heading: &str) -> Vec<(Vec<String>, String)> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme.split(heading).nth(1).unwrap();
    section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|row| {
            let cells: Vec<&str> = row
                .trim()
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            let names = cells[0]
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect();
            (names, cells.get(1).copied().unwrap_or_default().to_string())
        })
        .collect()
}

#[test]
fn the_readme_documents_exactly_action_ymls_inputs_with_their_defaults() {
    let action = package_janitor::cli::action().unwrap();
    let rows = readme_table("\n## Inputs\n");
    let documented: BTreeSet<String> = rows.iter().flat_map(|(n, _)| n.clone()).collect();
    let declared: BTreeSet<String> = action.inputs.iter().map(|i| i.name.clone()).collect();
    assert_eq!(documented, declared);
    for input in &action.inputs {
        let (_, default) = rows.iter().find(|(n, _)| n.contains(&input.name)).unwrap();
        match input.default.as_deref() {
            Some(d) if !d.is_empty() => {
                assert!(
                    default.contains(&format!("`{d}`")),
                    "README default of {} is {default:?}, action.yml says {d:?}",
                    input.name
                )
            }
            _ => assert!(
                !default.contains('`'),
                "README gives {} a default {default:?}",
                input.name
            ),
        }
    }
}

#[test]
fn the_readme_documents_exactly_action_ymls_outputs() {
    let action = package_janitor::cli::action().unwrap();
    let documented: BTreeSet<String> = readme_table("\n## Outputs\n")
        .into_iter()
        .flat_map(|(n, _)| n)
        .collect();
    let declared: BTreeSet<String> = action.outputs.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(documented, declared);
}
