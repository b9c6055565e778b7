//! The seed of an emulated GitHub: accounts, tokens, packages and their versions.
//!
//! A scenario is plain data, read from YAML or JSON (`Scenario::from_yaml`) or built in code by
//! tests. Times are RFC 3339; `updated_at` defaults to `created_at`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub accounts: Vec<Account>,
    #[serde(default)]
    pub tokens: Vec<TokenSpec>,
    #[serde(default)]
    pub packages: Vec<PackageSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountKind {
    User,
    Organization,
    /// An app's bot account (`"type": "Bot"`): it owns no packages.
    Bot,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub login: String,
    pub id: u64,
    #[serde(rename = "type")]
    pub kind: AccountKind,
    /// Organization members who may read its private packages.
    #[serde(default)]
    pub members: Vec<String>,
    /// Organization admins: may also delete and restore.
    #[serde(default)]
    pub admins: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenKind {
    /// A classic personal access token: a login and OAuth scopes.
    Classic,
    /// A GITHUB_TOKEN: an installation token bound to one repository.
    Installation,
    /// A fine-grained PAT, which the Packages API does not support.
    FineGrained,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSpec {
    pub token: String,
    pub kind: TokenKind,
    /// The user a classic or fine-grained PAT belongs to.
    #[serde(default)]
    pub login: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// `owner/name` of the repository an installation token was issued for.
    #[serde(default)]
    pub repository: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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

    pub fn parse(s: &str) -> Option<PackageType> {
        PackageType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    Public,
    #[default]
    Private,
    Internal,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageSpec {
    pub owner: String,
    pub package_type: PackageType,
    /// May contain `/` (`repo/app`).
    pub name: String,
    pub id: u64,
    #[serde(default)]
    pub visibility: Visibility,
    /// The repository the package is linked to (`owner/name`); it has admin access.
    #[serde(default)]
    pub repository: Option<String>,
    /// Further repositories granted the Admin role (Manage Actions access).
    #[serde(default)]
    pub admin_repositories: Vec<String>,
    #[serde(default)]
    pub deleted_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub versions: Vec<VersionSpec>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionSpec {
    pub id: u64,
    /// The digest (`sha256:…`) for containers, the version string otherwise.
    pub name: String,
    #[serde(default)]
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub deleted_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub downloads: u64,
    /// The manifest the registry serves for this digest (containers); a plain image manifest
    /// when absent.
    #[serde(default)]
    pub manifest: Option<serde_json::Value>,
    /// The registry fails to serve this manifest (500), for fail-closed tests.
    #[serde(default)]
    pub unreadable: bool,
}

/// OCI media types the registry serves.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// A plain single-platform image manifest.
pub fn image_manifest() -> serde_json::Value {
    serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(0), "size": 2},
        "layers": [],
    })
}

impl VersionSpec {
    /// The manifest the registry serves for this version: its own, else a plain image
    /// manifest annotated with its made-up digest, so that no two versions serve the same
    /// bytes (a manifest pushed back under a tag then names its own version, as on a real
    /// registry, where the digest is the bytes' hash).
    pub fn served_manifest(&self) -> serde_json::Value {
        self.manifest.clone().unwrap_or_else(|| {
            let mut manifest = image_manifest();
            manifest["annotations"] = serde_json::json!({"org.example.emulated": self.name});
            manifest
        })
    }

    /// Named by the true digest of the bytes the registry serves for it, as on a real registry
    /// (made-up digests cannot be checked, so no manifest cache would keep them): the manifest
    /// is fixed first, then its SHA-256 becomes the name.
    pub fn with_true_digest(mut self) -> Self {
        use sha2::Digest as _;
        let manifest = self.served_manifest();
        self.name = format!(
            "sha256:{:x}",
            sha2::Sha256::digest(manifest.to_string().as_bytes())
        );
        self.manifest = Some(manifest);
        self
    }

    /// The media type of this version's manifest.
    pub fn media_type(&self) -> String {
        self.manifest
            .as_ref()
            .and_then(|m| m.get("mediaType"))
            .and_then(|m| m.as_str())
            .unwrap_or(OCI_MANIFEST)
            .to_string()
    }
}

impl Scenario {
    pub fn from_yaml(text: &str) -> anyhow::Result<Scenario> {
        Ok(serde_yaml::from_str(text)?)
    }

    pub fn account(mut self, login: &str, id: u64, kind: AccountKind) -> Self {
        self.accounts.push(Account {
            login: login.into(),
            id,
            kind,
            members: Vec::new(),
            admins: Vec::new(),
        });
        self
    }

    /// An organization with these admins.
    pub fn org(mut self, login: &str, id: u64, admins: &[&str]) -> Self {
        self.accounts.push(Account {
            login: login.into(),
            id,
            kind: AccountKind::Organization,
            members: Vec::new(),
            admins: admins.iter().map(|s| s.to_string()).collect(),
        });
        self
    }

    pub fn user(self, login: &str, id: u64) -> Self {
        self.account(login, id, AccountKind::User)
    }

    /// A classic PAT for `login` with these scopes.
    pub fn classic_pat(mut self, token: &str, login: &str, scopes: &[&str]) -> Self {
        self.tokens.push(TokenSpec {
            token: token.into(),
            kind: TokenKind::Classic,
            login: Some(login.into()),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            repository: None,
        });
        self
    }

    /// A GITHUB_TOKEN issued for a workflow run in `repository`.
    pub fn github_token(mut self, token: &str, repository: &str) -> Self {
        self.tokens.push(TokenSpec {
            token: token.into(),
            kind: TokenKind::Installation,
            login: None,
            scopes: Vec::new(),
            repository: Some(repository.into()),
        });
        self
    }

    pub fn fine_grained_pat(mut self, token: &str, login: &str) -> Self {
        self.tokens.push(TokenSpec {
            token: token.into(),
            kind: TokenKind::FineGrained,
            login: Some(login.into()),
            scopes: Vec::new(),
            repository: None,
        });
        self
    }

    pub fn package(mut self, package: PackageSpec) -> Self {
        self.packages.push(package);
        self
    }
}

impl PackageSpec {
    pub fn new(owner: &str, package_type: PackageType, name: &str, id: u64) -> PackageSpec {
        PackageSpec {
            owner: owner.into(),
            package_type,
            name: name.into(),
            id,
            visibility: Visibility::Private,
            repository: None,
            admin_repositories: Vec::new(),
            deleted_at: None,
            versions: Vec::new(),
        }
    }

    pub fn repository(mut self, repository: &str) -> Self {
        self.repository = Some(repository.into());
        self
    }

    pub fn public(mut self) -> Self {
        self.visibility = Visibility::Public;
        self
    }

    pub fn version(mut self, version: VersionSpec) -> Self {
        self.versions.push(version);
        self
    }

    /// An image index tagged `tags` over existing versions `children` (platform images, other
    /// indexes): a nested index, or two tags sharing children.
    pub fn index_over(
        mut self,
        id: u64,
        tags: &[&str],
        children: &[u64],
        at: DateTime<Utc>,
    ) -> Self {
        let entries: Vec<serde_json::Value> = children
            .iter()
            .filter_map(|c| self.versions.iter().find(|v| v.id == *c))
            .map(|v| {
                serde_json::json!({
                    "mediaType": v.media_type(),
                    "digest": v.name,
                    "size": 1000,
                    "platform": {"architecture": "amd64", "os": "linux"},
                })
            })
            .collect();
        let mut index = VersionSpec::image(id, tags, at);
        index.manifest = Some(serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": entries,
        }));
        self.versions.push(index);
        self
    }

    /// A multi-arch image as buildx pushes it: untagged platform manifests (ids `first + 1`
    /// on), a buildx attestation manifest per platform when `attestations`, and the index
    /// tagged `tags` (id `first`).
    pub fn multi_arch(
        mut self,
        first: u64,
        tags: &[&str],
        platforms: &[&str],
        attestations: bool,
        at: DateTime<Utc>,
    ) -> Self {
        let mut entries = Vec::new();
        let mut next = first + 1;
        for platform in platforms {
            let (os, arch) = platform.split_once('/').unwrap_or(("linux", platform));
            let image = VersionSpec::image(next, &[], at);
            entries.push(serde_json::json!({
                "mediaType": OCI_MANIFEST,
                "digest": image.name,
                "size": 1000,
                "platform": {"architecture": arch, "os": os},
            }));
            self.versions.push(image.clone());
            next += 1;
            if attestations {
                let attestation = VersionSpec::image(next, &[], at);
                entries.push(serde_json::json!({
                    "mediaType": OCI_MANIFEST,
                    "digest": attestation.name,
                    "size": 500,
                    "platform": {"architecture": "unknown", "os": "unknown"},
                    "annotations": {
                        "vnd.docker.reference.type": "attestation-manifest",
                        "vnd.docker.reference.digest": image.name,
                    },
                }));
                self.versions.push(attestation);
                next += 1;
            }
        }
        let mut index = VersionSpec::image(first, tags, at + chrono::Duration::seconds(1));
        index.manifest = Some(serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": entries,
        }));
        self.versions.push(index);
        self
    }

    /// A cosign signature of version `subject`: a version tagged `sha256-<hex>.sig`.
    pub fn signature(mut self, id: u64, subject: u64, at: DateTime<Utc>) -> Self {
        let tag = format!("{}.sig", digest(subject).replace(':', "-"));
        self.versions
            .push(VersionSpec::image(id, &[tag.as_str()], at));
        self
    }
}

impl VersionSpec {
    /// A version created at `created_at`, untagged, never downloaded.
    pub fn new(id: u64, name: &str, created_at: DateTime<Utc>) -> VersionSpec {
        VersionSpec {
            id,
            name: name.into(),
            tags: Vec::new(),
            created_at,
            updated_at: None,
            deleted_at: None,
            downloads: 0,
            manifest: None,
            unreadable: false,
        }
    }

    /// A container version named by a digest derived from its id.
    pub fn image(id: u64, tags: &[&str], created_at: DateTime<Utc>) -> VersionSpec {
        VersionSpec {
            tags: tags.iter().map(|s| s.to_string()).collect(),
            ..VersionSpec::new(id, &digest(id), created_at)
        }
    }

    pub fn deleted(mut self, at: DateTime<Utc>) -> Self {
        self.deleted_at = Some(at);
        self
    }

    pub fn downloads(mut self, n: u64) -> Self {
        self.downloads = n;
        self
    }
}

/// A stable, fake `sha256:` digest for an id.
pub fn digest(id: u64) -> String {
    let mut x = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let mut hex = String::with_capacity(64);
    for _ in 0..4 {
        x ^= x >> 31;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        hex.push_str(&format!("{x:016x}"));
    }
    format!("sha256:{hex}")
}
