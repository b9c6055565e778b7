//! Fuzz input parsing: any bytes, split into inputs, must give a config or an input error —
//! never a panic. Run: `cargo +nightly fuzz run --fuzz-dir tests/fuzz inputs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use package_janitor::config::{Config, Environment};
use package_janitor::duration::parse_duration;
use package_janitor::pattern::{split_list, Pattern, PatternSet, Syntax};

const INPUTS: &[&str] = &[
    "TAGS", "EXCLUDE-TAGS", "PACKAGES", "OLDER-THAN", "VERSION-IDS", "KEEP-LATEST",
    "MIN-VERSIONS", "MAX-CHANGES", "USE-REGEX", "TAG-MATCH", "UNTAGGED", "PACKAGE-TYPE", "OWNER",
    "DRY-RUN", "TOKEN", "MODE", "TARGET", "DELETED-WITHIN", "REGISTRY-URL",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let fields: Vec<&str> = text.split('\u{1}').collect();

    // Each piece parser on its own.
    let first = fields.first().copied().unwrap_or("");
    let _ = parse_duration(first);
    let items = split_list(first);
    for syntax in [Syntax::Glob, Syntax::Regex] {
        let patterns: Vec<Pattern> = items.iter().filter_map(|i| Pattern::new(i, syntax).ok()).collect();
        let set = PatternSet::new(patterns);
        for item in &items {
            let _ = set.first_match(item);
        }
    }

    // The whole configuration.
    let vars = INPUTS
        .iter()
        .zip(fields.iter())
        .map(|(name, value)| (format!("INPUT_{name}"), value.to_string()));
    let _ = Config::from_env(&Environment::from_vars(vars));
});
