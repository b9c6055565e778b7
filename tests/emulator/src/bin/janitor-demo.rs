//! `janitor-demo`: the action doing its real job against the emulator, no GitHub account needed.
//!
//! Serves the demo scenario, then runs the real `package-janitor` binary (built next to this
//! one) as the Actions runner would: a dry run, the real cleanup, the `$GITHUB_OUTPUT` file and
//! what changed in the emulated GitHub, a retention policy as one rule list (dry run), the
//! undo (a restore of the deleted ids), `untag`
//! taking tags off images that stay, what `keep-latest` really keeps, and a repair of an image
//! another tool broke.

use anyhow::{bail, Context, Result};
use gh_emulator::{Emulator, PackageType, Scenario};
use std::path::PathBuf;
use std::process::Command;

const DEMO: &str = include_str!("../../scenarios/demo.yaml");

fn main() -> Result<()> {
    let scenario = match std::env::args().nth(1) {
        Some(path) => std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?,
        None => DEMO.to_string(),
    };
    let mut scenario = Scenario::from_yaml(&scenario)?;
    // The current release as buildx pushes it: a multi-arch index tagged v2.0.0 over untagged
    // platform images and attestations, which the untagged cleanup must leave alone.
    if let Some(web) = scenario.packages.iter_mut().find(|p| p.name == "web") {
        let released = chrono::Utc::now() - chrono::Duration::days(3);
        *web = web.clone().multi_arch(
            612_000_100,
            &["v2.0.0"],
            &["linux/amd64", "linux/arm64"],
            true,
            released,
        );
    }
    let emulator = Emulator::start(scenario)?;
    let janitor = janitor_binary()?;
    let before = emulator
        .active_ids("acme", PackageType::Container, "web")
        .len();
    println!(
        "Emulated GitHub at {}: organization acme, container package web with {before} versions: \
         releases, per-PR images, untagged leftovers, and the multi-arch v2.0.0 image whose \
         platform and attestation manifests are untagged versions too.\n",
        emulator.url()
    );

    let cleanup = [
        ("token", "ghp_demoAliceClassicPat"),
        ("owner", "acme"),
        ("packages", "web"),
        ("tags", "pr-*"),
        ("untagged", "true"),
        ("exclude-tags", "pr-110"),
    ];
    banner(
        "1. Dry run: tags 'pr-*' and untagged versions, but never pr-110 (exclude-tags). Watch \
         'partial tag match' (pr-113 is also v1.3.0-rc.1, pr-129 also latest: a version goes \
         only when all its tags match) and 'used by v2.0.0' (the untagged parts of the \
         multi-arch image stay with it)",
    );
    run(&janitor, &emulator, &cleanup, true)?;
    // The same package under a retention policy: one list in which keep wins.
    let policy = [
        ("token", "ghp_demoAliceClassicPat"),
        ("owner", "acme"),
        ("packages", "web"),
        (
            "rules",
            "- name: releases\n  keep: {tags: \"v*, latest\"}\n\
             - name: recent previews\n  keep: {tags: \"pr-*\", newest: 3}\n\
             - name: old previews\n  delete: {tags: \"pr-*\", older-than: 14d, untag: true}\n\
             - name: orphans\n  delete: {untagged: true, older-than: 7d}\n",
        ),
    ];
    banner(
        "2. Dry run of a retention policy (rules) on the same package: releases kept, the three \
         newest previews kept, older previews deleted (or just untagged where a release tag \
         stays), old untagged leftovers deleted; every fate names its rule",
    );
    run(&janitor, &emulator, &policy, true)?;
    banner("3. The same cleanup as 1, for real");
    let outputs = run(&janitor, &emulator, &cleanup, false)?;

    banner("4. $GITHUB_OUTPUT (result shortened)");
    for line in outputs.lines() {
        if line.chars().count() > 160 {
            println!("{}…", line.chars().take(160).collect::<String>());
        } else {
            println!("{line}");
        }
    }
    let after = emulator
        .active_ids("acme", PackageType::Container, "web")
        .len();
    let requests = emulator.requests();
    let deletes = requests.iter().filter(|r| r.method == "DELETE").count();
    banner("5. The emulated GitHub afterwards");
    println!(
        "web: {before} versions before, {after} after; {} requests served ({deletes} DELETE).",
        requests.len()
    );

    // The undo: the deleted ids fed back to a restore.
    let deleted = output(&outputs, "deleted-ids");
    let undo = [
        ("token", "ghp_demoAliceClassicPat"),
        ("owner", "acme"),
        ("packages", "web"),
        ("mode", "restore"),
        ("version-ids", deleted.as_str()),
    ];
    banner("6. Undo: mode restore with version-ids = the deleted-ids above");
    let restored = run(&janitor, &emulator, &undo, false)?;
    let back = emulator
        .active_ids("acme", PackageType::Container, "web")
        .len();
    println!(
        "restored-count {}; web has {back} versions again ({before} before the cleanup).",
        output(&restored, "restored-count")
    );

    // untag: a partly matching version keeps its image and loses just the matching tags.
    let untag = [
        ("token", "ghp_demoAliceClassicPat"),
        ("owner", "acme"),
        ("packages", "web"),
        ("tags", "pr-*"),
        ("untag", "true"),
    ];
    banner(
        "7. The cleanup again with untag: true: the pr- images go again, and the versions skipped \
         above for a partial tag match (pr-113 on v1.3.0-rc.1, pr-129 on latest) lose just their \
         pr- tag and keep their image",
    );
    let untagged = run(&janitor, &emulator, &untag, false)?;
    println!("removed-tags: {}", output(&untagged, "removed-tags"));

    // keep-latest counts *selected* versions: the two newest release candidates stay.
    let candidates = [
        ("token", "ghp_demoAliceClassicPat"),
        ("owner", "acme"),
        ("package-type", "npm"),
        ("packages", "ui"),
        ("tags", "*-rc.*"),
        ("keep-latest", "1"),
    ];
    banner(
        "8. Dry run on npm: release candidates ('*-rc.*' matches the version name), keeping the \
         newest one (keep-latest counts the selected versions)",
    );
    run(&janitor, &emulator, &candidates, true)?;

    // Another tool treats untagged versions as garbage and breaks v2.0.0.
    {
        let mut state = emulator.state();
        if let Some(web) = state.packages.iter_mut().find(|p| p.name == "web") {
            for version in web
                .versions
                .iter_mut()
                .filter(|v| v.id > 612_000_100 && v.id <= 612_000_104 && v.deleted_at.is_none())
            {
                version.deleted_at = Some(chrono::Utc::now());
            }
        }
    }
    let repair = [
        ("token", "ghp_demoAliceClassicPat"),
        ("owner", "acme"),
        ("packages", "web"),
        ("mode", "repair"),
    ];
    banner(
        "9. Another cleanup tool deleted v2.0.0's untagged platform images: every pull of v2.0.0 \
         now fails with \"manifest unknown\". A repair dry run is the health check: it names the \
         broken image and what it lacks, and exits 1",
    );
    run(&janitor, &emulator, &repair, true)?;
    banner("10. The repair for real: the deleted parts come back, and v2.0.0 pulls again");
    let repaired = run(&janitor, &emulator, &repair, false)?;
    println!("restored-ids: {}", output(&repaired, "restored-ids"));
    Ok(())
}

/// One output's value from a `$GITHUB_OUTPUT` file (`name<<DELIM` … `DELIM`).
fn output(file: &str, name: &str) -> String {
    let mut lines = file.lines();
    while let Some(line) = lines.next() {
        if line.starts_with(&format!("{name}<<")) {
            return lines.next().unwrap_or_default().to_string();
        }
    }
    String::new()
}

fn banner(title: &str) {
    println!("\n==== {title} ====\n");
}

/// `package-janitor` from the same target directory as this binary.
fn janitor_binary() -> Result<PathBuf> {
    let me = std::env::current_exe()?;
    let dir = me.parent().context("no directory for the demo binary")?;
    let path = dir.join(format!("package-janitor{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
        bail!(
            "{} not found: build it first with `cargo build --workspace`",
            path.display()
        );
    }
    Ok(path)
}

/// Run the binary as the Actions runner would and return the `$GITHUB_OUTPUT` file.
fn run(
    janitor: &PathBuf,
    emulator: &Emulator,
    inputs: &[(&str, &str)],
    dry_run: bool,
) -> Result<String> {
    let dir = std::env::temp_dir().join(format!("janitor-demo-{}-{dry_run}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let output = dir.join("output");
    std::fs::write(&output, "")?;
    let mut command = Command::new(janitor);
    command
        .env_clear()
        .env("GITHUB_API_URL", emulator.url())
        .env("GITHUB_ACTIONS", "true")
        .env("PACKAGE_JANITOR_TIME_SCALE", "20")
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", dir.join("summary"))
        .env("INPUT_DRY-RUN", dry_run.to_string());
    for (name, value) in inputs {
        command.env(format!("INPUT_{}", name.to_uppercase()), value);
    }
    let status = command.status()?;
    println!("(exit status {})", status.code().unwrap_or(-1));
    let text = std::fs::read_to_string(&output)?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(text)
}
