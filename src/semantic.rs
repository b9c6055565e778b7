//! Semantic versions (SPEC §2), pure: a version's semantic version, `semver-range` membership
//! with pre-releases placed by their precedence, and the release lines `keep-per` groups by.
//!
//! Ranges are written in Cargo's requirement syntax and parsed by the `semver` crate. The
//! crate's own matching leaves a pre-release outside every range whose comparators name no
//! pre-release of the same `major.minor.patch` (`1.5.0-rc.1` is outside `<2.0.0` there).
//! SPEC §2 places pre-releases by precedence instead: `1.5.0-rc.1` lies inside `<2.0.0` and
//! outside `>=1.5.0`. So each comparator becomes an interval of versions, compared by
//! precedence (build metadata ignored):
//!
//! - `=1.2.3` is exactly that version; `=1.2` is `>=1.2.0, <1.3.0-0`; `=1` is `>=1.0.0, <2.0.0-0`.
//! - `>1.2.3` and `>=1.2.3`, `<1.2.3` and `<=1.2.3` compare with the version as written; a
//!   partial one covers its whole line: `>1.2` is `>=1.3.0-0`, `<=1.2` is `<1.3.0-0`,
//!   `>=1.2` is `>=1.2.0`, `<1.2` is `<1.2.0`.
//! - `~1.2.3` is `>=1.2.3, <1.3.0-0`; `^1.2.3` is `>=1.2.3, <2.0.0-0` (`^0.2.3`: `<0.3.0-0`;
//!   `^0.0.3`: `<0.0.4-0`); `1.*` is `>=1.0.0, <2.0.0-0`; a bare `1.2.3` is `^1.2.3`.
//!
//! An upper bound the syntax derives (`~`, `^`, `*`, a partial version) excludes the next
//! line's pre-releases (`-0` is the lowest pre-release), so `~1.2` never takes `1.3.0-rc.1`;
//! an upper bound written out (`<2.0.0`) is taken as written, by precedence.

use crate::model::{PackageType, PackageVersion};
use semver::{BuildMetadata, Comparator, Op, Prerelease, Version, VersionReq};
use std::fmt;

/// A version's semantic version: its name (npm, maven, rubygems, nuget) or the highest
/// semantic version among its tags (container, docker); a leading `v` is allowed; anything
/// else has none. Build metadata is dropped.
pub fn semantic_version(version: &PackageVersion, package_type: PackageType) -> Option<Version> {
    version
        .labels(package_type)
        .into_iter()
        .filter_map(parse)
        .max()
}

/// `1.2.3`, `v1.2.3-rc.1`, `1.2.3+build`; not `1.2`, `latest`, `sha-abc`.
pub fn parse(label: &str) -> Option<Version> {
    let text = label.strip_prefix('v').unwrap_or(label);
    let mut version = Version::parse(text).ok()?;
    version.build = BuildMetadata::EMPTY;
    Some(version)
}

/// A `semver-range`: every comparator must hold.
#[derive(Debug, Clone)]
pub struct Range {
    source: String,
    intervals: Vec<Interval>,
}

/// A bound on one side of an interval: the version, and whether it is included.
type Bound = Option<(Version, bool)>;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Interval {
    lower: Bound,
    upper: Bound,
}

impl Range {
    /// Parse Cargo's requirement syntax (`<2.0.0`, `>=1.0.0, <1.4.0`, `~1.2`, `^0.3`).
    pub fn parse(text: &str) -> Result<Range, String> {
        let req = VersionReq::parse(text.trim()).map_err(|e| e.to_string())?;
        Ok(Range {
            source: text.trim().to_string(),
            intervals: req.comparators.iter().map(interval).collect(),
        })
    }

    /// Whether `version` lies in the range, by precedence (build metadata ignored).
    pub fn contains(&self, version: &Version) -> bool {
        let mut version = version.clone();
        version.build = BuildMetadata::EMPTY;
        self.intervals.iter().all(|i| {
            let above = match &i.lower {
                None => true,
                Some((bound, inclusive)) => version > *bound || (*inclusive && version == *bound),
            };
            let below = match &i.upper {
                None => true,
                Some((bound, inclusive)) => version < *bound || (*inclusive && version == *bound),
            };
            above && below
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }
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
    fn pre_releases_lie_in_a_range_by_their_precedence() {
        assert!(inside("<2.0.0", "1.5.0-rc.1"));
        assert!(!inside(">=1.5.0", "1.5.0-rc.1"));
        assert!(inside(">=1.5.0-rc.1", "1.5.0-rc.2"));
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
    fn bad_ranges_say_why() {
        assert!(Range::parse("<2.0.0").is_ok());
        assert!(Range::parse("two").is_err());
        assert!(Range::parse(">=1.x.0").is_err());
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

    proptest::proptest! {
        /// Against the crate: the same answer for every release; for a pre-release, whatever
        /// the crate lets in is in too (the crate only ever leaves pre-releases out).
        #[test]
        fn membership_agrees_with_the_crate_but_for_pre_release_precedence(
            comparators in proptest::collection::vec(comparator(), 1..3),
            version in any_version(),
        ) {
            let text = comparators.join(", ");
            let Ok(req) = VersionReq::parse(&text) else { return Ok(()) };
            let range = Range::parse(&text).unwrap();
            if version.pre.is_empty() {
                proptest::prop_assert_eq!(range.contains(&version), req.matches(&version), "{} {}", text, version);
            } else if req.matches(&version) {
                proptest::prop_assert!(range.contains(&version), "{} {}", text, version);
            }
        }
    }
}
