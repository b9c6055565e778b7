//! Scale (issue 26, SPEC §5): manifest reads start while the listing still arrives, each
//! manifest is asked for once, and a package with nothing to change costs no registry read.
//! The figures at 105,000 versions come from `cargo bench --bench scale`.

use crate::util::*;
use gh_emulator::scenario::{PackageSpec, PackageType, VersionSpec};
use gh_emulator::{Emulator, Faults};

/// 350 images over four listing pages: three in four tagged `pr-N`, the rest `vN`; with
/// `hold`, pages after the first wait until a manifest has been read.
fn world(hold: bool) -> Emulator {
    let mut package =
        PackageSpec::new("acme", PackageType::Container, "web", 7001).repository("acme/web");
    for i in 0..350u64 {
        let tag = if i % 4 == 0 {
            format!("v{i}")
        } else {
            format!("pr-{i}")
        };
        package = package.version(VersionSpec::image(id(i), &[tag.as_str()], at(i as i64)));
    }
    let emulator = Emulator::start(base().package(package)).unwrap();
    emulator.set_faults(Faults {
        hold_pages_until_manifest_read: hold,
        ..Faults::default()
    });
    emulator
}

fn is_page(r: &gh_emulator::LoggedRequest) -> bool {
    !r.registry && r.path.ends_with("/versions")
}

fn is_manifest(r: &gh_emulator::LoggedRequest) -> bool {
    r.registry && r.path.contains("/manifests/")
}

#[test]
fn manifest_reads_start_while_the_listing_still_arrives() {
    let emulator = world(true);
    let run = janitor(&emulator, &acme(&[("tags", "pr-*"), ("dry-run", "true")]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.ids("planned-ids").len(), 262);
    let log = emulator.requests();
    let pages: Vec<usize> = (0..log.len()).filter(|i| is_page(&log[*i])).collect();
    let first_read = log.iter().position(is_manifest).unwrap();
    assert_eq!(pages.len(), 4);
    // The emulator holds pages 2 to 4 until a manifest has been read: only a client that
    // reads while it lists gets them at once.
    assert!(
        first_read < *pages.last().unwrap(),
        "the first manifest read came after the whole listing: {:?}",
        log_lines(&log)
    );
    // Each manifest asked for once, however the reads were split.
    let mut heads: Vec<&str> = log
        .iter()
        .filter(|r| is_manifest(r) && r.method == "HEAD")
        .map(|r| r.path.as_str())
        .collect();
    let all = heads.len();
    heads.sort();
    heads.dedup();
    assert_eq!(heads.len(), all, "a manifest was read twice");
    assert_eq!(all, 350, "every tagged image is looked at once");
}

#[test]
fn a_package_with_nothing_to_change_costs_no_registry_read() {
    let emulator = world(false);
    let run = janitor(
        &emulator,
        &acme(&[("tags", "nightly-*"), ("dry-run", "true")]),
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.output("planned-count"), "0");
    let log = emulator.requests();
    assert_eq!(log.iter().filter(|r| is_manifest(r)).count(), 0);
    assert_eq!(log.iter().filter(|r| is_page(r)).count(), 4);
}
