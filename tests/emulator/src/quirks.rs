//! Ways GitHub or a registry may answer that the client must survive, each a switch.
//!
//! The emulator and the client are written by the same people, so where they could share an
//! assumption no source backs, the emulator can answer either way and the tests run the binary
//! under each answer. The defaults are what the facts file and the OpenAPI description say.

use serde::{Deserialize, Serialize};

/// How the emulator answers where GitHub's behaviour varies or is undocumented.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Quirks {
    /// The `Content-Type` of manifest answers (HEAD and GET): `None` is the media type recorded
    /// at push, as ghcr.io answers; `Some("")` sends none; `Some(x)` sends `x` (a registry or
    /// proxy may answer `application/json`: facts file, "ghcr.io").
    pub manifest_content_type: Option<String>,
    /// The manifest bodies leave out their optional `mediaType` field (OCI makes it optional).
    pub manifest_without_media_type: bool,
    /// `/users/{username}/…/versions` ignores `state` and lists active versions: the OpenAPI
    /// description documents `state` only for `/user` and `/orgs` (facts file, "Rate limits").
    pub users_route_ignores_state: bool,
    /// The status an installation token (GITHUB_TOKEN) gets when it lists an owner's packages:
    /// 400 `Invalid argument.` as users report it (facts file, "Tokens"); 403 is the other
    /// answer a client must read the same way.
    pub installation_list_status: u16,
    /// The path of the registry's token realm, announced in the `WWW-Authenticate: Bearer`
    /// challenge: `/token` on ghcr.io; elsewhere on GitHub Enterprise Server (SPEC §4). A
    /// whole URL (`http://…`) is announced as it is: a realm on another origin.
    pub token_realm: String,
    /// The base put in `Link` headers instead of the emulator's own URL (a link to another
    /// host, which the client must refuse rather than send its token there).
    pub link_base: Option<String>,
    /// Accept every connection and never answer (a hung server or proxy).
    pub never_answer: bool,
    /// Version listings' `last` link names one page fewer than there are, so a client that
    /// trusts it comes back with an incomplete listing.
    pub stale_last_link: bool,
    /// Answer this many manifest requests with 429 and `retry-after: 2` before serving them
    /// (a registry's own rate limit, which GitHub does not publish for ghcr.io).
    pub registry_429s: u32,
    /// Refuse every manifest push (403 DENIED), as a registry does a token without push.
    pub push_denied: bool,
    /// `GET …/versions/{id}` of a deleted version answers 404 instead of the version with its
    /// `deleted_at`: the OpenAPI description does not say which GitHub does.
    pub deleted_version_404: bool,
    /// What a restore of a version that is active answers (a retried restore whose first
    /// answer was lost): undocumented; 404 (not among the deleted versions) by default, 400
    /// or 422 as likely.
    pub restore_active_status: u16,
    /// The registry's 429s name their wait only in the error text, in Go duration syntax, as
    /// ghcr.io does (`toomanyrequests: retry-after: 333.939671ms, allowed: 44000/minute`),
    /// with no `Retry-After` header; then only a `GET` is answered 429 (a `HEAD`'s answer has
    /// no body to carry the text).
    pub registry_429_wait_in_text: bool,
}

impl Default for Quirks {
    fn default() -> Quirks {
        Quirks {
            manifest_content_type: None,
            manifest_without_media_type: false,
            users_route_ignores_state: false,
            installation_list_status: 400,
            token_realm: "/token".into(),
            link_base: None,
            never_answer: false,
            stale_last_link: false,
            registry_429s: 0,
            push_denied: false,
            deleted_version_404: false,
            restore_active_status: 404,
            registry_429_wait_in_text: false,
        }
    }
}
