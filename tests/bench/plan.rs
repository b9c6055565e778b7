#![allow(unsafe_code, clippy::unwrap_used)] // A counting allocator; fixed, valid patterns.
//! `cargo bench --bench plan`: plan one package of 100,000 versions (up to 5 tags each)
//! against 50 patterns, then against a 20-rule list (`rules`), printing the time and the
//! memory the planner used for each.
//!
//! Then container safety on a multi-arch package of 10,500 and of 105,000 versions, printing
//! how its time grows.
//!
//! Target: under 100 ms and under 64 MiB on one core of the CI machine, for either; container
//! safety growing about tenfold for ten times the versions.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use package_janitor::config::rules;
use package_janitor::images::{Child, ManifestRead, Manifests};
use package_janitor::model::{Mode, PackageListing, PackageType, PackageVersion};
use package_janitor::pattern::{Pattern, PatternSet, Syntax};
use package_janitor::plan::{plan, Policy, RuleList, TagMatch};
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Counts live and peak heap bytes.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const VERSIONS: u64 = 100_000;

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// A deterministic xorshift, so every run plans the same data.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn listing(now: DateTime<Utc>) -> PackageListing {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let versions = (0..VERSIONS)
        .map(|i| {
            let tags = (0..rng.next() % 6)
                .map(|k| match (rng.next() + k) % 6 {
                    0 => format!("pr-{}", rng.next() % 5000),
                    1 => format!(
                        "v{}.{}.{}",
                        rng.next() % 5,
                        rng.next() % 20,
                        rng.next() % 10
                    ),
                    2 => format!("v1.{}.0-rc.{}", rng.next() % 20, rng.next() % 5),
                    3 => format!("sha-{:07x}", rng.next() % 0xfff_ffff),
                    4 => format!("feature-{}-build", rng.next() % 300),
                    _ => "latest".to_string(),
                })
                .collect();
            let created = now - TimeDelta::minutes((VERSIONS - i) as i64 * 7);
            PackageVersion {
                id: 600_000_000 + i,
                name: format!("sha256:{:064x}", i.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
                tags,
                created_at: created,
                updated_at: created,
                deleted_at: None,
            }
        })
        .map(std::sync::Arc::new)
        .collect();
    PackageListing {
        name: "web".into(),
        versions,
    }
}

fn patterns() -> Vec<Pattern> {
    let mut sources: Vec<String> = (0..40).map(|n| format!("pr-{n}*")).collect();
    sources.extend(
        [
            "v*.*.*-rc.*",
            "sha-???????",
            "feature-*-build",
            "[vV]0.*",
            "pr-4?9?",
            "v1.1[0-9].*",
            "feature-1??-*",
            "*-tmp",
            "dev-*",
            "nightly-[0-9]*",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    sources
        .iter()
        .map(|s| Pattern::new(s, Syntax::Glob).unwrap())
        .collect()
}

fn main() {
    let now = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let listing = listing(now);
    let tags: usize = listing.versions.iter().map(|v| v.tags.len()).sum();
    let policy = Policy {
        package_type: PackageType::Container,
        tags: PatternSet::new(patterns()),
        exclude_tags: PatternSet::new(vec![
            Pattern::new("latest", Syntax::Glob).unwrap(),
            Pattern::new("v*.*.0", Syntax::Glob).unwrap(),
        ]),
        tag_match: TagMatch::All,
        untagged: true,
        version_ids: BTreeSet::new(),
        keep_latest: 10,
        min_versions: 1,
        older_than: Some(TimeDelta::days(30)),
        deleted_within: None,
        mode: Mode::Delete,
        max_changes: None,
        semver_range: None,
        keep_per: None,
        untag: false,
        rules: None,
    };
    let input = LIVE.load(Ordering::Relaxed);
    let (best, used, planned) = measure(&listing, &policy, now);
    println!("plan: {VERSIONS} versions, {tags} tags, 50 patterns -> {planned} planned");
    println!(
        "plan: best of 5: {best:.1} ms; planner's peak heap: {:.1} MiB; input data: {:.1} MiB",
        mib(used),
        mib(input)
    );

    // Container safety at two sizes: linear work grows about 10x with 10x the versions,
    // quadratic work about 100x (issue 26: nothing quadratic).
    let safety = Policy {
        tags: PatternSet::new(vec![Pattern::new("pr-*", Syntax::Glob).unwrap()]),
        exclude_tags: PatternSet::new(Vec::new()),
        // The parts come by the cascade, not by `untagged`.
        untagged: false,
        keep_latest: 0,
        older_than: None,
        ..policy.clone()
    };
    let (small, _) = protect_ms(2_500, &safety, now);
    let (large, changes) = protect_ms(25_000, &safety, now);
    println!(
        "container safety: 10,500 versions {small:.1} ms; 105,000 versions {large:.1} ms ({changes} changes); growth {:.1}x for 10x the versions (linear ~10x, quadratic ~100x)",
        large / small
    );

    let rules = Policy {
        rules: Some(rule_list()),
        ..policy
    };
    let (best, used, planned) = measure(&listing, &rules, now);
    println!("rules: {VERSIONS} versions, {tags} tags, 20 rules -> {planned} planned");
    println!(
        "rules: best of 5: {best:.1} ms; planner's peak heap: {:.1} MiB",
        mib(used)
    );
}

/// A container package of `images` multi-arch images (an index tagged `vN` or, two in five,
/// `pr-N`, over two platform images and an attestation) and `images / 5` orphans, with the
/// manifests its indexes list.
fn images_world(images: u64, now: DateTime<Utc>) -> (PackageListing, Manifests) {
    let digest = |id: u64| format!("sha256:{:064x}", id.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let version = |id: u64, tags: Vec<String>, minutes: u64| {
        let at = now - TimeDelta::minutes(minutes as i64);
        PackageVersion {
            id,
            name: digest(id),
            tags,
            created_at: at,
            updated_at: at,
            deleted_at: None,
        }
    };
    let mut versions = Vec::new();
    let mut manifests = Manifests::new();
    for k in 0..images {
        let first = 1_000_000 + 4 * k;
        let tag = if k % 5 < 2 {
            format!("pr-{k}")
        } else {
            format!("v{k}")
        };
        versions.push(version(first, vec![tag], images - k));
        let children = (1..4)
            .map(|c| {
                versions.push(version(first + c, Vec::new(), images - k));
                Child {
                    digest: digest(first + c),
                    is_index: false,
                    platform: Some("linux/amd64".into()),
                }
            })
            .collect();
        manifests.insert(digest(first), ManifestRead::Index(children));
    }
    for j in 0..images / 5 {
        versions.push(version(2_000_000 + j, Vec::new(), j));
        manifests.insert(digest(2_000_000 + j), ManifestRead::Image);
    }
    (
        PackageListing {
            name: "web".into(),
            versions: versions.into_iter().map(std::sync::Arc::new).collect(),
        },
        manifests,
    )
}

/// Container safety (protect, fail closed, cascade, order) on a plan of `tags: pr-*`, whose
/// parts the cascade adds: the best of 3 in ms, and the changes after it.
fn protect_ms(images: u64, policy: &Policy, now: DateTime<Utc>) -> (f64, usize) {
    let (listing, manifests) = images_world(images, now);
    let mut best = f64::MAX;
    let mut changes = 0;
    for _ in 0..3 {
        let mut planned = plan(std::slice::from_ref(&listing), policy, now);
        let start = Instant::now();
        package_janitor::images::protect(&mut planned.packages[0], &listing.versions, &manifests);
        best = best.min(start.elapsed().as_secs_f64() * 1000.0);
        changes = planned.change_count();
    }
    (best, changes)
}

/// Best time of 5 in ms, the planner's peak heap in bytes, and the changes planned.
fn measure(listing: &PackageListing, policy: &Policy, now: DateTime<Utc>) -> (f64, usize, usize) {
    let mut best = f64::MAX;
    let mut used = 0;
    let mut planned = 0;
    for _ in 0..5 {
        PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
        let before = LIVE.load(Ordering::Relaxed);
        let start = Instant::now();
        let result = plan(std::slice::from_ref(listing), policy, now);
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        used = PEAK.load(Ordering::Relaxed) - before;
        planned = result.change_count();
        best = best.min(ms);
        drop(result);
    }
    (best, used, planned)
}

/// A realistic 20-rule policy: releases, release lines and recent builds kept; previews,
/// features, candidates and orphans deleted by age.
fn rule_list() -> RuleList {
    let mut yaml = String::from(
        "- name: releases\n  keep: {tags: \"v*.*.*, latest\", tag-match: any}\n\
         - name: newest minor lines\n  keep: {semver-range: \">=1.0.0\", newest: 3, per: minor}\n\
         - name: recent builds\n  keep: {tags: \"sha-*\", newest: 50}\n\
         - name: last week\n  keep: {newer-than: 7d}\n",
    );
    for n in 0..10 {
        yaml.push_str(&format!(
            "- name: previews {n}\n  delete: {{tags: \"pr-{n}*\", older-than: {}d, untag: true}}\n",
            14 + n
        ));
    }
    yaml.push_str(
        "- name: candidates\n  delete: {tags: \"v*.*.*-rc.*\", older-than: 30d}\n\
         - name: features\n  delete: {tags: \"feature-*-build\", older-than: 21d}\n\
         - name: old shas\n  delete: {tags: \"sha-???????\", older-than: 60d}\n\
         - name: old zero lines\n  delete: {semver-range: \"<1.0.0\"}\n\
         - name: stale anything\n  delete: {tags: \"*\", older-than: 300d}\n\
         - name: orphans\n  delete: {untagged: true, older-than: 7d}\n",
    );
    let context = rules::Context {
        input: "rules",
        package_type: PackageType::Container,
        syntax: Syntax::Glob,
    };
    rules::parse(&yaml, context).unwrap()
}
