//! Bad input stops the run before the first request, naming the input and the value.

use crate::util::*;
use gh_emulator::Emulator;

fn stopped_before_any_request(extra: &[(&str, &str)], input: &str, value: &str) {
    let emulator = Emulator::start(base().package(images("web", &[&["pr-1"], &["v1"]]))).unwrap();
    let mut inputs = vec![
        ("token", PAT),
        ("owner", "acme"),
        ("packages", "web"),
        ("tags", "pr-*"),
    ];
    for (name, v) in extra {
        inputs.retain(|(n, _)| n != name);
        inputs.push((name, v));
    }
    let run = janitor(&emulator, &inputs);
    assert_eq!(run.code, 2, "{}", run.stdout);
    let error = run
        .stdout
        .lines()
        .find(|l| l.starts_with("::error"))
        .unwrap_or_else(|| panic!("no error line in {}", run.stdout));
    assert!(error.contains(&format!("input '{input}'")), "{error}");
    assert!(error.contains(value), "{error}");
    assert!(
        emulator.requests().is_empty(),
        "requests were sent: {:?}",
        emulator.requests()
    );
    assert!(run.outputs.is_empty());
}

#[test]
fn an_invalid_glob_is_named() {
    stopped_before_any_request(&[("tags", "pr-[")], "tags", "'pr-['");
}

#[test]
fn an_invalid_regex_is_named() {
    stopped_before_any_request(
        &[("tags", "pr-(\\d+"), ("use-regex", "true")],
        "tags",
        "pr-(\\d+",
    );
}

#[test]
fn an_invalid_exclude_pattern_is_named() {
    stopped_before_any_request(&[("exclude-tags", "v1, [!")], "exclude-tags", "'[!'");
}

#[test]
fn an_unknown_package_type_is_named() {
    stopped_before_any_request(&[("package-type", "pypi")], "package-type", "'pypi'");
}

#[test]
fn empty_packages_is_refused() {
    stopped_before_any_request(&[("packages", " , ")], "packages", "required");
}

#[test]
fn no_selector_is_refused_never_everything() {
    stopped_before_any_request(&[("tags", "")], "tags", "no selector");
}

#[test]
fn a_bad_boolean_is_named() {
    stopped_before_any_request(&[("dry-run", "yes")], "dry-run", "'yes'");
}

#[test]
fn a_bad_version_id_is_named() {
    stopped_before_any_request(&[("version-ids", "123,12x")], "version-ids", "'12x'");
}

#[test]
fn untagged_on_npm_conflicts() {
    stopped_before_any_request(
        &[("package-type", "npm"), ("untagged", "true")],
        "untagged",
        "npm",
    );
}

#[test]
fn a_bad_tag_match_is_named() {
    stopped_before_any_request(&[("tag-match", "most")], "tag-match", "'most'");
}

#[test]
fn an_invalid_package_pattern_is_named() {
    stopped_before_any_request(&[("packages", "app-[")], "packages", "'app-['");
}

#[test]
fn an_unknown_mode_is_named() {
    stopped_before_any_request(&[("mode", "purge")], "mode", "'purge'");
}

#[test]
fn deleted_within_conflicts_with_delete_mode() {
    stopped_before_any_request(
        &[("deleted-within", "7d")],
        "deleted-within",
        "mode 'delete'",
    );
}

#[test]
fn a_duration_without_a_unit_is_named() {
    stopped_before_any_request(&[("older-than", "90")], "older-than", "'90'");
}

#[test]
fn a_bad_max_changes_is_named() {
    stopped_before_any_request(&[("max-changes", "-5")], "max-changes", "'-5'");
}

#[test]
fn version_selectors_conflict_with_whole_packages() {
    stopped_before_any_request(&[("target", "packages")], "tags", "target: packages");
}

/// Issue 21, item 1: an input given empty where action.yml's default is not.
#[test]
fn an_input_given_empty_with_a_default_is_refused_never_defaulted() {
    for input in [
        "dry-run",
        "mode",
        "package-type",
        "keep-latest",
        "tag-match",
    ] {
        stopped_before_any_request(&[(input, "")], input, "is given empty, and its default is");
    }
    stopped_before_any_request(&[("dry-run", "  ")], "dry-run", "`false`");
}

/// Issue 21, item 3: a token that is not printable ASCII never goes out.
#[test]
fn a_token_with_a_non_ascii_character_is_refused_and_not_echoed() {
    stopped_before_any_request(
        &[("token", "ghp_✓secretsecret")],
        "token",
        "not printable ASCII",
    );
    let emulator = Emulator::start(base()).unwrap();
    let run = janitor(
        &emulator,
        &acme(&[("token", "ghp_✓secretsecret"), ("tags", "*")]),
    );
    assert!(!run.everything().contains("secretsecret"));
}

/// Issue 21, items 3 and 4: URLs are checked before any request and shown as written, never
/// with their credentials.
#[test]
fn urls_are_https_with_a_host_and_no_credentials_checked_first() {
    stopped_before_any_request(
        &[("registry-url", "https://")],
        "registry-url",
        "'https://'",
    );
    stopped_before_any_request(&[("registry-url", "ftp://x")], "registry-url", "https URL");
    stopped_before_any_request(
        &[("registry-url", "http://ghcr.example.invalid")],
        "registry-url",
        "plain http",
    );
    stopped_before_any_request(
        &[("registry-url", "https://user:hunter2@ghcr.io")],
        "registry-url",
        "carries credentials",
    );
    let emulator = Emulator::start(base()).unwrap();
    let run = janitor(
        &emulator,
        &acme(&[
            ("registry-url", "https://user:hunter2@ghcr.io"),
            ("tags", "*"),
        ]),
    );
    assert!(!run.everything().contains("hunter2"), "{}", run.stdout);
    // The API too: plain http only on this machine.
    let run = janitor_with(
        &emulator,
        &acme(&[("tags", "*")]),
        &[("GITHUB_API_URL", "http://api.example.invalid")],
    );
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout.contains("input 'GITHUB_API_URL'") && run.stdout.contains("plain http"),
        "{}",
        run.stdout
    );
    assert!(emulator.requests().is_empty());
}

/// Issue 21, items 4 and 11: a huge owner is cut in the echo and never sent; a negative
/// duration says so.
#[test]
fn a_huge_owner_is_cut_in_the_echo_and_a_negative_duration_is_named() {
    let owner = "a".repeat(10_000);
    stopped_before_any_request(
        &[("owner", owner.as_str())],
        "owner",
        "(10000 characters in all)",
    );
    stopped_before_any_request(&[("older-than", "-1d")], "older-than", "is negative");
}

/// Issue 21, item 11: a huge glob says which input and that it is too long.
#[test]
fn a_huge_glob_is_named_as_too_long() {
    let glob = "[ab]*".repeat(24_000);
    stopped_before_any_request(&[("tags", glob.as_str())], "tags", "is too long");
}
