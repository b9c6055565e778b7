//! Domain types shared by every stage: package types, owners, package versions.
//!
//! These are plain data. The GitHub client fills them from JSON, the planner reads them, the
//! report renders them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// The package ecosystems GitHub Packages hosts (the `package_type` path segment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageType {
    Container,
    Npm,
    Maven,
    Rubygems,
    Nuget,
    Docker,
}

impl PackageType {
    pub const ALL: [PackageType; 6] = [
        PackageType::Container,
        PackageType::Npm,
        PackageType::Maven,
        PackageType::Rubygems,
        PackageType::Nuget,
        PackageType::Docker,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PackageType::Container => "container",
            PackageType::Npm => "npm",
            PackageType::Maven => "maven",
            PackageType::Rubygems => "rubygems",
            PackageType::Nuget => "nuget",
            PackageType::Docker => "docker",
        }
    }

    pub fn parse(value: &str) -> Option<PackageType> {
        let value = value.trim();
        PackageType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(value))
    }

    /// Container images (ghcr.io and the legacy docker registry) carry tags; every other type
    /// is selected by its version name.
    pub fn has_tags(self) -> bool {
        matches!(self, PackageType::Container | PackageType::Docker)
    }
}

impl fmt::Display for PackageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What `GET /users/{owner}` says the owner is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum OwnerKind {
    User,
    Organization,
}

impl fmt::Display for OwnerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OwnerKind::User => "User",
            OwnerKind::Organization => "Organization",
        })
    }
}

/// One version of a package, as the planner and the report need it.
///
/// For containers `name` is the manifest digest and `tags` its tags (empty when untagged);
/// for other types `name` is the version string and `tags` is empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageVersion {
    pub id: u64,
    pub name: String,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
}

impl PackageVersion {
    /// The strings `tags` and `exclude-tags` patterns are matched against: a container's tags,
    /// or the version name for every other package type.
    pub fn labels(&self, package_type: PackageType) -> impl Iterator<Item = &str> + Clone {
        let (tags, name): (&[String], Option<&str>) = match package_type.has_tags() {
            true => (&self.tags, None),
            false => (&[], Some(&self.name)),
        };
        tags.iter().map(String::as_str).chain(name)
    }

    /// Newer first: by `created_at`, ties broken by id (the higher id is newer).
    pub fn newer_first(a: &PackageVersion, b: &PackageVersion) -> std::cmp::Ordering {
        b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id))
    }
}

/// The versions of one package as listed from GitHub. Each version is shared, not copied,
/// by the plan's entries that name it: a listing of 100,000 versions is held once (issue 26).
#[derive(Debug, Clone)]
pub struct PackageListing {
    /// The package name as the user wrote it (exact names) or as GitHub lists it.
    pub name: String,
    pub versions: Vec<Arc<PackageVersion>>,
}

/// `mode`: what the run does to the selected versions or packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Delete,
    Restore,
    /// Container only: restore the deleted parts of broken images (SPEC §4).
    Repair,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Delete => "delete",
            Mode::Restore => "restore",
            Mode::Repair => "repair",
        }
    }

    /// Whether its changes are restores (of deleted versions), not deletions.
    pub fn restores(self) -> bool {
        self != Mode::Delete
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `target`: act on versions, or on whole packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Versions,
    Packages,
}
