//! GitHub's JSON as it comes: only the fields the OpenAPI description requires are required.

use crate::model::PackageVersion;
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// A package version as GitHub sends it; only the required fields are required.
#[derive(Deserialize)]
pub(super) struct VersionJson {
    id: u64,
    pub(super) name: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[serde(default)]
    deleted_at: Option<DateTime<Utc>>,
    #[serde(default)]
    metadata: Option<MetadataJson>,
}

#[derive(Deserialize)]
struct MetadataJson {
    #[serde(default)]
    container: Option<TagsJson>,
    #[serde(default)]
    docker: Option<DockerTagsJson>,
}

#[derive(Deserialize)]
struct TagsJson {
    #[serde(default)]
    tags: Vec<String>,
}

/// The OpenAPI description names the legacy docker field `tag`, yet requires `tags`.
#[derive(Deserialize)]
struct DockerTagsJson {
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    tag: Vec<String>,
}

impl VersionJson {
    pub(super) fn into_version(self) -> PackageVersion {
        let tags = match self.metadata {
            Some(MetadataJson {
                container: Some(c), ..
            }) => c.tags,
            Some(MetadataJson {
                docker: Some(d), ..
            }) => {
                if d.tags.is_empty() {
                    d.tag
                } else {
                    d.tags
                }
            }
            _ => Vec::new(),
        };
        PackageVersion {
            id: self.id,
            name: self.name,
            tags,
            created_at: self.created_at,
            updated_at: self.updated_at,
            deleted_at: self.deleted_at,
        }
    }
}
