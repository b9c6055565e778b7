//! Semantic versions (SPEC §2), pure: a version's semantic version, `semver-range` membership
//! as npm and Cargo users read it, and the release lines `keep-per` groups by.
//!
//! A range is written in Cargo's requirement syntax (comparators separated by commas: parsed
//! by the `semver` crate) or in npm's (separated by spaces, `||` between alternatives, hyphen
//! ranges, `x` wildcards: parsed by the `nodejs-semver` crate). A bare version (`1.2.3`) is
//! refused: Cargo reads it as `^1.2.3`, npm as `=1.2.3`.
//!
//! **A pre-release stands with its release**: `X.Y.Z-pre` lies in a range when `X.Y.Z` does,
//! so `2.0.0-rc.1` is outside `<2.0.0`, `1.5.0-rc.1` inside `>=1.5.0, <1.6.0`, and the Docker
//! variant `1.2.3-alpine` goes with `1.2.3`. Only when the range itself names a pre-release of
//! that same `X.Y.Z` (`<1.5.0-rc.3`) are its versions placed by precedence. For Cargo's syntax
//! each comparator is an interval of versions compared by precedence (build metadata ignored):
//!
//! - `=1.2.3` is exactly that version; `=1.2` is `>=1.2.0, <1.3.0-0`; `=1` is `>=1.0.0, <2.0.0-0`.
//! - `>1.2.3` and `>=1.2.3`, `<1.2.3` and `<=1.2.3` compare with the version as written; a
//!   partial one covers its whole line: `>1.2` is `>=1.3.0-0`, `<=1.2` is `<1.3.0-0`,
//!   `>=1.2` is `>=1.2.0`, `<1.2` is `<1.2.0`.
//! - `~1.2.3` is `>=1.2.3, <1.3.0-0`; `^1.2.3` is `>=1.2.3, <2.0.0-0` (`^0.2.3`: `<0.3.0-0`;
//!   `^0.0.3`: `<0.0.4-0`); `1.*` is `>=1.0.0, <2.0.0-0`.

use crate::model::{PackageType, PackageVersion};
use semver::{BuildMetadata, Comparator, Op, Prerelease, Version, VersionReq};
use std::fmt;

/// A version's semantic version: its name (npm, maven, rubygems, nuget) or the highest
/// semantic version among its tags (container, docker); a leading `v` is allowed; anything
/// else has none. Build metadata is dropped.
pub fn semantic_version(version: &PackageVersion, package_type: PackageType) -> Option<Version> {
    version.labels(package_type).filter_map(parse).max()
}

/// `1.2.3`, `v1.2.3-rc.1`, `1.2.3+build`; not `1.2`, `latest`, `sha-abc`.
pub fn parse(label: &str) -> Option<Version> {
    let text = label.strip_prefix('v').unwrap_or(label);
    let mut version = Version::parse(text).ok()?;
    version.build = BuildMetadata::EMPTY;
    Some(version)
}

/// A `semver-range`.
#[derive(Debug, Clone)]
pub struct Range {
    source: String,
    syntax: Syntax,
    /// The `major.minor.patch` of every pre-release the range names: versions of these are
    /// placed by precedence, all others by their release.
    named: std::collections::BTreeSet<(u64, u64, u64)>,
    /// Versions named exactly (`=1.2.3`): their pre-releases are versions of their own, placed
    /// by precedence — `=2.0.0` is 2.0.0, never its release candidates.
    exact: std::collections::BTreeSet<(u64, u64, u64)>,
}

/// The range as its syntax defines it.
#[derive(Debug, Clone)]
enum Syntax {
    /// Cargo's: every comparator, as an interval, must hold.
    Cargo(Vec<Interval>),
    /// npm's: alternatives (`||`), each a set of comparators (or a hyphen range) that must
    /// all hold, each read alone by the `nodejs-semver` crate (which reads an impossible set
    /// such as `<1 >2` as the union of its parts, where npm matches nothing).
    Npm(Vec<Vec<nodejs_semver::Range>>),
}

/// A bound on one side of an interval: the version, and whether it is included.
type Bound = Option<(Version, bool)>;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Interval {
    lower: Bound,
    upper: Bound,
}

impl Range {
    /// Parse Cargo's syntax (`>=1.0.0, <1.4.0`: a comma makes it Cargo's) or npm's
    /// (`>=1.0.0 <1.4.0`, `1.x || 2.x`, `1.2.3 - 1.4.0`); the forms both share (`<2.0.0`,
    /// `~1.2`, `^0.3`) mean the same in each. A bare version is refused with a hint.
    pub fn parse(text: &str) -> Result<Range, String> {
        let text = text.trim();
        if let Some(bare) = bare_version(text) {
            return Err(bare_hint(bare, ""));
        }
        if text.contains("||") {
            let sides: Vec<&str> = text.split("||").map(str::trim).collect();
            for (i, side) in sides.iter().enumerate() {
                if side.is_empty() {
                    // npm reads an empty side as "any version": in a deletion tool, all of them
                    // (a templated `${{ a }} || ${{ b }}` with `b` empty).
                    let which = match i {
                        0 => "before the first `||`".to_string(),
                        i if i + 1 == sides.len() => "after the last `||`".to_string(),
                        i => format!("between `||` number {i} and {}", i + 1),
                    };
                    return Err(format!(
                        "has an empty alternative ({which}), which npm reads as any version at \
                         all: remove the `||` or give the missing range"
                    ));
                }
            }
            if let Some(bare) = sides.iter().find_map(|side| bare_version(side)) {
                return Err(bare_hint(bare, " inside an alternative"));
            }
        }
        let cargo = || {
            VersionReq::parse(text)
                .map(|req| Syntax::Cargo(req.comparators.iter().map(interval).collect()))
                .map_err(|e| e.to_string())
        };
        let syntax = if text.contains(',') {
            cargo()?
        } else {
            match npm(text) {
                Some(alternatives) => Syntax::Npm(alternatives),
                None => cargo().map_err(|e| format!("neither npm's nor Cargo's syntax ({e})"))?,
            }
        };
        Ok(Range {
            source: text.to_string(),
            syntax,
            named: named_pre_releases(text),
            exact: exact_versions(text),
        })
    }

    /// Whether `version` lies in the range: a pre-release with its release, unless the range
    /// names a pre-release of the same `major.minor.patch` (build metadata ignored).
    pub fn contains(&self, version: &Version) -> bool {
        let mut version = version.clone();
        version.build = BuildMetadata::EMPTY;
        let release = (version.major, version.minor, version.patch);
        if !self.named.contains(&release) && !self.exact.contains(&release) {
            version.pre = Prerelease::EMPTY;
        }
        match &self.syntax {
            Syntax::Cargo(intervals) => intervals.iter().all(|i| i.holds(&version)),
            Syntax::Npm(alternatives) => nodejs_semver::Version::parse(version.to_string())
                .is_ok_and(|v| {
                    alternatives
                        .iter()
                        .any(|set| set.iter().all(|c| c.satisfies_with_prerelease(&v, true)))
                }),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl Interval {
    /// Whether `version` lies in it, by precedence.
    fn holds(&self, version: &Version) -> bool {
        let above = match &self.lower {
            None => true,
            Some((bound, inclusive)) => version > bound || (*inclusive && version == bound),
        };
        let below = match &self.upper {
            None => true,
            Some((bound, inclusive)) => version < bound || (*inclusive && version == bound),
        };
        above && below
    }
}

/// npm's syntax: `||` between alternatives; in each, a hyphen range (`1.2.3 - 1.4.0`) or
/// comparators separated by spaces (an operator may stand apart from its version: `>= 1.2`).
/// `None` when the crate cannot read a part, or the whole.
fn npm(text: &str) -> Option<Vec<Vec<nodejs_semver::Range>>> {
    nodejs_semver::Range::parse(text).ok()?;
    text.split("||")
        .map(|alternative| {
            let alternative = alternative.trim();
            if alternative.contains(" - ") || alternative.is_empty() {
                return Some(vec![nodejs_semver::Range::parse(alternative).ok()?]);
            }
            let mut comparators = Vec::new();
            let mut pending = String::new();
            for token in alternative.split_whitespace() {
                pending.push_str(token);
                if token
                    .chars()
                    .all(|c| matches!(c, '<' | '>' | '=' | '~' | '^'))
                {
                    continue;
                }
                comparators.push(nodejs_semver::Range::parse(&pending).ok()?);
                pending.clear();
            }
            (pending.is_empty()).then_some(comparators)
        })
        .collect()
}

/// The version a range consists of alone, without an operator (`1.2.3`, `v1.2`), if it does.
fn bare_version(text: &str) -> Option<&str> {
    let version = text.strip_prefix('v').unwrap_or(text);
    let core = version.split(['-', '+']).next().unwrap_or(version);
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = parts
        .iter()
        .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    (numeric && parts.len() >= 2).then_some(text)
}

/// The refusal of a bare version (`1.2.3`), which Cargo and npm read differently; a partial
/// one (`1.2`) said for what it means.
fn bare_hint(bare: &str, place: &str) -> String {
    let partial = bare
        .trim_start_matches('v')
        .split(['-', '+'])
        .next()
        .unwrap_or(bare);
    let meaning = match partial.split('.').count() {
        3 => format!("`={bare}` for exactly that version"),
        _ => format!("`={bare}` for every `{partial}.x`"),
    };
    format!(
        "is a bare version{place}, which Cargo reads as `^{bare}` and npm as `={bare}`: write \
         {meaning}, or `^{bare}` for it and the compatible versions after it"
    )
}

/// `major.minor.patch` of each version a range names exactly (`=1.2.3`, all three numbers).
fn exact_versions(text: &str) -> std::collections::BTreeSet<(u64, u64, u64)> {
    text.split(|c: char| c.is_whitespace() || c == ',' || c == '|')
        .filter_map(|token| token.strip_prefix('='))
        .map(|token| token.trim_start_matches('v'))
        .filter_map(|token| Version::parse(token).ok())
        .filter(|v| v.pre.is_empty())
        .map(|v| (v.major, v.minor, v.patch))
        .collect()
}

/// `major.minor.patch` of each pre-release a range names (`1.5.0-rc.3`).
fn named_pre_releases(text: &str) -> std::collections::BTreeSet<(u64, u64, u64)> {
    text.split(|c: char| c.is_whitespace() || c == ',' || c == '|')
        .map(|token| token.trim_start_matches(['<', '>', '=', '~', '^', 'v']))
        .filter_map(|token| Version::parse(token).ok())
        .filter(|v| !v.pre.is_empty())
        .map(|v| (v.major, v.minor, v.patch))
        .collect()
}

fn version(major: u64, minor: u64, patch: u64, pre: Prerelease) -> Version {
    Version {
        major,
        minor,
        patch,
        pre,
        build: BuildMetadata::EMPTY,
    }
}

/// The lowest version of a line: `1.3.0-0`, below every pre-release of `1.3.0`.
fn line_start(major: u64, minor: u64, patch: u64) -> Version {
    let lowest = Prerelease::new("0").unwrap_or(Prerelease::EMPTY);
    version(major, minor, patch, lowest)
}

/// One comparator as an interval of versions (see the module doc).
fn interval(c: &Comparator) -> Interval {
    let (major, minor, patch) = (c.major, c.minor, c.patch);
    let written = version(major, minor.unwrap_or(0), patch.unwrap_or(0), c.pre.clone());
    let floor = version(
        major,
        minor.unwrap_or(0),
        patch.unwrap_or(0),
        Prerelease::EMPTY,
    );
    // The start of the line after the one a partial version names.
    let next_line = match (minor, patch) {
        (None, _) => line_start(major.saturating_add(1), 0, 0),
        (Some(m), None) => line_start(major, m.saturating_add(1), 0),
        (Some(m), Some(p)) => line_start(major, m, p.saturating_add(1)),
    };
    let at_least = |v: Version| Some((v, true));
    let below = |v: Version| Some((v, false));
    match c.op {
        Op::Exact if patch.is_some() => Interval {
            lower: at_least(written.clone()),
            upper: Some((written, true)),
        },
        Op::Greater if patch.is_some() => Interval {
            lower: Some((written, false)),
            upper: None,
        },
        Op::Greater => Interval {
            lower: at_least(next_line),
            upper: None,
        },
        Op::GreaterEq => Interval {
            lower: at_least(written),
            upper: None,
        },
        Op::Less => Interval {
            lower: None,
            upper: below(written),
        },
        Op::LessEq if patch.is_some() => Interval {
            lower: None,
            upper: Some((written, true)),
        },
        Op::LessEq => Interval {
            lower: None,
            upper: below(next_line),
        },
        Op::Tilde => Interval {
            lower: at_least(written),
            upper: below(match minor {
                None => line_start(major.saturating_add(1), 0, 0),
                Some(m) => line_start(major, m.saturating_add(1), 0),
            }),
        },
        Op::Caret => Interval {
            lower: at_least(written),
            upper: below(match (major, minor, patch) {
                (0, Some(0), Some(p)) => line_start(0, 0, p.saturating_add(1)),
                (0, Some(m), _) => line_start(0, m.saturating_add(1), 0),
                (m, _, _) => line_start(m.saturating_add(1), 0, 0),
            }),
        },
        // `=1.2`, `1.*`, `1.2.*`, and any operator a later crate adds: the line named.
        _ => Interval {
            lower: at_least(floor),
            upper: below(next_line),
        },
    }
}

/// `keep-per`: the release line `keep-latest` keeps its N highest of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeepPer {
    Major,
    Minor,
}

impl KeepPer {
    /// The line a version belongs to: `1` (major) or `1.4` (minor).
    pub fn line(self, version: &Version) -> String {
        match self {
            KeepPer::Major => version.major.to_string(),
            KeepPer::Minor => format!("{}.{}", version.major, version.minor),
        }
    }
}

impl fmt::Display for KeepPer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeepPer::Major => "major",
            KeepPer::Minor => "minor",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        parse(text).unwrap()
    }

    fn inside(range: &str, version: &str) -> bool {
        Range::parse(range).unwrap().contains(&v(version))
    }

    #[test]
    fn a_pre_release_stands_with_its_release() {
        // Issue 20: the next release's candidate is not swept with the old line.
        assert!(!inside("<2.0.0", "2.0.0-rc.1"));
        assert!(!inside("<1.2", "1.2.0-rc.1"));
        assert!(inside("<2.0.0", "1.5.0-rc.1"));
        assert!(inside(">=1.5.0, <1.6.0", "1.5.0-rc.1"));
        assert!(inside(">=1.5.0 <1.6.0", "1.5.0-rc.1"));
        // A Docker variant goes with its release.
        assert!(!inside("<1.2.3", "1.2.3-alpine"));
        assert!(inside("<=1.2.3", "1.2.3-alpine"));
        // A range that names a pre-release places that version's by precedence.
        assert!(inside("<1.5.0-rc.3", "1.5.0-rc.1"));
        assert!(!inside("<1.5.0-rc.3", "1.5.0-rc.4"));
        assert!(inside(">=1.5.0-rc.1", "1.5.0-rc.2"));
        assert!(inside("<1.5.0-rc.3", "1.4.0-beta"));
        assert!(inside(">=1.0.0, <1.4.0", "1.3.9"));
        assert!(!inside(">=1.0.0, <1.4.0", "1.4.0"));
        assert!(inside("~1.2", "1.2.7"));
        assert!(!inside("~1.2", "1.3.0-rc.1"));
        assert!(inside("^0.3", "0.3.9"));
        assert!(!inside("^0.3", "0.4.0"));
        assert!(inside("1.*", "1.9.0-beta"));
        assert!(!inside("1.*", "2.0.0-alpha"));
        assert!(inside("=1.2", "1.2.5"));
        assert!(inside(">1.2", "1.3.0-rc.1"));
        assert!(!inside(">1.2", "1.2.9"));
        assert!(inside("<=1.2", "1.2.9"));
        assert!(!inside("<=1.2", "1.3.0-rc.1"));
        // Build metadata is ignored.
        assert!(inside("=1.2.3", "1.2.3+linux"));
    }

    #[test]
    fn npm_syntax_works_as_npm_documents_it() {
        assert!(inside("1.x || 2.x", "2.4.0"));
        assert!(!inside("1.x || 2.x", "3.0.0"));
        assert!(inside("1.2.3 - 1.4.0", "1.4.0"));
        assert!(!inside("1.2.3 - 1.4.0", "1.4.1"));
        assert!(inside("1.2.3 - 1.4.0", "1.3.0-rc.1"));
        assert!(inside(">=1.0.0 <1.5.0", "1.4.9"));
        assert!(!inside(">=1.0.0 <1.5.0", "1.5.0-rc.1"));
        assert!(inside("=1.2.3", "1.2.3"));
        assert!(inside("v1.2.x", "1.2.9"));
        assert!(inside(">= 1.2.0 < 1.3.0", "1.2.4"));
        // Every comparator of a set holds, as npm means it: an impossible set matches nothing.
        assert!(!inside("<1 >2", "3.0.0"));
        assert!(!inside("<1 >2", "0.5.0"));
        assert!(inside("<1 >2 || 5.x", "5.1.0"));
    }

    #[test]
    fn semantic_versions_come_from_names_or_the_highest_tag() {
        assert_eq!(parse("v1.2.3"), Some(v("1.2.3")));
        assert_eq!(parse("1.2"), None);
        assert_eq!(parse("latest"), None);
        assert_eq!(parse("sha-abc"), None);
        let image = PackageVersion {
            id: 1,
            name: "sha256:x".into(),
            tags: vec!["latest".into(), "v1.2.0".into(), "1.10.0-rc.1".into()],
            created_at: chrono::DateTime::UNIX_EPOCH,
            updated_at: chrono::DateTime::UNIX_EPOCH,
            deleted_at: None,
        };
        assert_eq!(
            semantic_version(&image, PackageType::Container),
            Some(v("1.10.0-rc.1"))
        );
        assert_eq!(semantic_version(&image, PackageType::Npm), None);
    }

    #[test]
    fn bad_ranges_say_why_and_a_bare_version_is_refused_with_a_hint() {
        assert!(Range::parse("<2.0.0").is_ok());
        assert!(Range::parse("two").is_err());
        assert!(Range::parse(">=1.x.0,").is_err());
        for bare in ["1.2.3", "v1.2.3", "1.2", "1.2.3-rc.1"] {
            let error = Range::parse(bare).unwrap_err();
            assert!(error.contains(&format!("`={bare}`")), "{error}");
            assert!(error.contains(&format!("`^{bare}`")), "{error}");
        }
        assert!(Range::parse("=1.2.3").is_ok());
        assert!(Range::parse("^1.2.3").is_ok());
    }

    /// A random comparator in Cargo's syntax.
    fn comparator() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let op = prop::sample::select(vec!["", "=", ">", ">=", "<", "<=", "~", "^"]);
        let part = 0u64..4;
        let pre = prop::sample::select(vec!["", "-alpha", "-rc.1", "-0"]);
        (
            op,
            part.clone(),
            proptest::option::of(part.clone()),
            proptest::option::of(part),
            pre,
        )
            .prop_map(|(op, major, minor, patch, pre)| match (minor, patch) {
                (Some(minor), Some(patch)) => format!("{op}{major}.{minor}.{patch}{pre}"),
                (Some(minor), None) => format!("{op}{major}.{minor}"),
                _ => format!("{op}{major}"),
            })
    }

    fn any_version() -> impl proptest::strategy::Strategy<Value = Version> {
        use proptest::prelude::*;
        let pre = prop::sample::select(vec!["", "-alpha", "-rc.1", "-0", "-rc.2"]);
        (0u64..5, 0u64..5, 0u64..5, pre).prop_map(|(a, b, c, pre)| v(&format!("{a}.{b}.{c}{pre}")))
    }

    /// A random comparator without a pre-release, and with an operator.
    fn release_comparator() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let op = prop::sample::select(vec!["=", ">", ">=", "<", "<=", "~", "^"]);
        let part = 0u64..4;
        (
            op,
            part.clone(),
            proptest::option::of(part.clone()),
            proptest::option::of(part),
        )
            .prop_map(|(op, major, minor, patch)| match (minor, patch) {
                (Some(minor), Some(patch)) => format!("{op}{major}.{minor}.{patch}"),
                (Some(minor), None) => format!("{op}{major}.{minor}"),
                _ => format!("{op}{major}"),
            })
    }

    fn release_of(version: &Version) -> Version {
        let mut release = version.clone();
        release.pre = Prerelease::EMPTY;
        release
    }

    proptest::proptest! {
        /// Cargo's syntax, no pre-release named: a version is in exactly when its release is,
        /// as the `semver` crate decides it.
        #[test]
        fn cargo_membership_is_the_releases_under_the_crate(
            comparators in proptest::collection::vec(release_comparator(), 1..3),
            version in any_version(),
        ) {
            let text = comparators.join(", ");
            let Ok(req) = VersionReq::parse(&text) else { return Ok(()) };
            let range = Range::parse(&text).unwrap();
            // An exact version is exact (SPEC §2): its pre-releases are versions of their own,
            // decided by precedence.
            let exact = exact_versions(&text).contains(&(version.major, version.minor, version.patch));
            let expected = if exact && !version.pre.is_empty() {
                req.matches(&version)
            } else {
                req.matches(&release_of(&version))
            };
            proptest::prop_assert_eq!(range.contains(&version), expected, "{} {}", text, version);
        }

        /// npm's syntax, no pre-release named: as the `nodejs-semver` crate decides each
        /// comparator for the release, combined as npm documents (every comparator of an
        /// alternative, any alternative).
        #[test]
        fn npm_membership_is_the_releases_under_the_crate(
            comparators in proptest::collection::vec(release_comparator(), 1..3),
            alternative in proptest::option::of(release_comparator()),
            version in any_version(),
        ) {
            let mut text = comparators.join(" ");
            let mut sets = vec![comparators.clone()];
            if let Some(other) = alternative {
                text = format!("{text} || {other}");
                sets.push(vec![other]);
            }
            // An exact version is exact (SPEC §2): its pre-releases are decided by precedence.
            let exact = exact_versions(&text).contains(&(version.major, version.minor, version.patch));
            let expected = if exact && !version.pre.is_empty() {
                let full = nodejs_semver::Version::parse(version.to_string()).unwrap();
                sets.iter().any(|set| {
                    set.iter().all(|c| {
                        nodejs_semver::Range::parse(c).unwrap().satisfies_with_prerelease(&full, true)
                    })
                })
            } else {
                let release = nodejs_semver::Version::parse(release_of(&version).to_string()).unwrap();
                sets.iter().any(|set| {
                    set.iter().all(|c| nodejs_semver::Range::parse(c).unwrap().satisfies(&release))
                })
            };
            let range = Range::parse(&text).unwrap();
            proptest::prop_assert_eq!(range.contains(&version), expected, "{} {}", text, version);
        }

        /// A Cargo range and its npm spelling select the same versions (an impossible one,
        /// `<1 >2`, none in both).
        #[test]
        fn a_cargo_range_and_its_npm_spelling_agree(
            comparators in proptest::collection::vec(release_comparator(), 1..3),
            version in any_version(),
        ) {
            let (Ok(cargo), Ok(npm)) = (
                Range::parse(&format!("{}, >=0.0.0", comparators.join(", "))),
                Range::parse(&comparators.join(" ")),
            ) else { return Ok(()) };
            proptest::prop_assert_eq!(cargo.contains(&version), npm.contains(&version), "{:?} {}", comparators, version);
        }

        /// Cargo's syntax with pre-releases: what the crate lets in is in (the crate is
        /// stricter about pre-releases), for versions whose release tuple the range names.
        #[test]
        fn named_pre_releases_go_by_precedence(
            comparators in proptest::collection::vec(comparator(), 1..3),
            version in any_version(),
        ) {
            let text = comparators.join(", ");
            let Ok(req) = VersionReq::parse(&text) else { return Ok(()) };
            let Ok(range) = Range::parse(&text) else { return Ok(()) };
            let named = named_pre_releases(&text).contains(&(version.major, version.minor, version.patch));
            if named && req.matches(&version) {
                proptest::prop_assert!(range.contains(&version), "{} {}", text, version);
            }
        }
    }

    #[test]
    fn an_exact_version_is_exact_and_an_empty_alternative_is_refused() {
        let exact = Range::parse("=2.0.0").unwrap();
        assert!(exact.contains(&Version::parse("2.0.0").unwrap()));
        assert!(!exact.contains(&Version::parse("2.0.0-rc.1").unwrap()));
        let either = Range::parse("=2.0.0 || ^1.2").unwrap();
        assert!(!either.contains(&Version::parse("2.0.0-rc.1").unwrap()));
        assert!(
            either.contains(&Version::parse("1.3.0-rc.1").unwrap()),
            "with its release"
        );
        // A partial `=1.2` is the range 1.2.x, pre-releases standing with their releases.
        let partial = Range::parse("=1.2").unwrap();
        assert!(partial.contains(&Version::parse("1.2.7-rc.1").unwrap()));
        assert!(Range::parse("1.2")
            .unwrap_err()
            .contains("`=1.2` for every `1.2.x`"));
        for (text, said) in [
            ("1.2.3 ||", "after the last `||`"),
            ("|| 1.2.3", "before the first `||`"),
            ("<1.0.0 || || >2.0.0", "between `||` number 1 and 2"),
            ("=1.2.3 || 2.0.0", "bare version inside an alternative"),
        ] {
            let e = Range::parse(text).unwrap_err();
            assert!(e.contains(said), "{text}: {e}");
        }
    }
}
