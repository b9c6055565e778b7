//! Where one owner's packages live (SPEC §3), and package names in REST paths.

use crate::model::PackageType;

/// Where one owner's packages live: `/orgs/{org}`, `/user` or `/users/{user}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerRoute {
    pub prefix: String,
}

impl OwnerRoute {
    pub fn org(org: &str) -> OwnerRoute {
        OwnerRoute {
            prefix: format!("/orgs/{org}"),
        }
    }
    pub fn authenticated_user() -> OwnerRoute {
        OwnerRoute {
            prefix: "/user".into(),
        }
    }
    pub fn user(user: &str) -> OwnerRoute {
        OwnerRoute {
            prefix: format!("/users/{user}"),
        }
    }

    /// `{prefix}/packages/{type}/{name}` with the name percent-encoded (`repo/app` →
    /// `repo%2Fapp`).
    pub fn package(&self, package_type: PackageType, name: &str) -> String {
        format!(
            "{}/packages/{}/{}",
            self.prefix,
            package_type,
            percent_encode(name)
        )
    }
}

/// Everything but RFC 3986's unreserved characters is percent-encoded in a path segment.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A path segment, percent-encoded (`repo/app` → `repo%2Fapp`).
pub fn percent_encode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_slashes_are_percent_encoded() {
        assert_eq!(percent_encode("repo/app"), "repo%2Fapp");
        assert_eq!(
            OwnerRoute::org("acme").package(PackageType::Npm, "@acme/x"),
            "/orgs/acme/packages/npm/%40acme%2Fx"
        );
    }
}
