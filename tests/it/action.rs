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
    let run = janitor(
        &emulator,
        &[
            ("token", PAT),
            ("owner", "acme"),
            ("packages", "web"),
            ("tags", "pr-*"),
        ],
    );
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
