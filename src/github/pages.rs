//! Pagination: `Link` headers followed exactly as given (GitHub's links use numeric-id paths),
//! the pages after the first fetched a few at a time once the `last` link tells their count,
//! and whether the listing came back whole.

use super::GitHub;
use anyhow::{anyhow, bail, Context, Result};
use futures_util::StreamExt;
use http::HeaderMap;

/// Page size for every listing: GitHub's maximum.
pub(super) const PER_PAGE: usize = 100;
/// GitHub answers 400 to a package listing past `page * per_page = 10000`.
pub(super) const LISTING_LIMIT: usize = 10_000;

impl GitHub {
    /// Up to `max_pages` pages from `first` on, each handed to `take` in order as it arrives;
    /// returns whether pages were left unread. Once the first answer's `Link: rel="last"`
    /// tells the count, the other pages are fetched concurrently from that link (its `page`
    /// parameter varied); otherwise `rel="next"` is followed exactly as given.
    pub(super) async fn pages<T: serde::de::DeserializeOwned>(
        &self,
        first: String,
        max_pages: usize,
        take: &mut dyn FnMut(Vec<T>),
    ) -> Result<bool> {
        let (page, links) = self.page::<T>(&first).await?;
        take(page);
        if let Some((last, count)) = links
            .last
            .as_deref()
            .and_then(|l| Some((l, page_number(l)?)))
        {
            let wanted = count.min(max_pages);
            let urls: Vec<String> = (2..=wanted)
                .map(|n| with_page(last, n).map(|url| self.relative(&url)))
                .collect::<Option<Result<_>>>()
                .context("the `last` link has no page number")??;
            let concurrency = crate::limits::LIST_PAGES_IN_FLIGHT;
            let mut rest = futures_util::stream::iter(urls)
                .map(|url| async move { self.page::<T>(&url).await })
                .buffered(concurrency);
            let mut next = links.next;
            while let Some(page) = rest.next().await {
                let (page, links) = page?;
                take(page);
                next = links.next;
            }
            return Ok(count > max_pages || (wanted == count && next.is_some()));
        }
        let mut next = links.next;
        let mut taken = 1;
        while let Some(url) = next.take() {
            if taken == max_pages {
                return Ok(true);
            }
            let (page, links) = self.page::<T>(&self.relative(&url)?).await?;
            take(page);
            taken += 1;
            next = links.next;
        }
        Ok(false)
    }

    pub(super) async fn page<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<(Vec<T>, Links)> {
        let answer = self.send(http::Method::GET, url).await?;
        if !answer.status.is_success() {
            return Err(anyhow!(answer.error()));
        }
        Ok((answer.json("a listing")?, links(&answer.headers)))
    }

    /// A pagination link as a path and query on the API host. The token is only ever sent to
    /// the API host, so a link elsewhere is an error rather than a request.
    pub(super) fn relative(&self, link: &str) -> Result<String> {
        let uri: http::Uri = link
            .parse()
            .with_context(|| format!("pagination link '{link}' is not a URL"))?;
        if uri.authority() != self.base.authority() && uri.authority().is_some() {
            bail!("pagination link '{link}' points away from the API host; not following it");
        }
        Ok(uri
            .path_and_query()
            .map(|pq| pq.as_str().to_string())
            .unwrap_or_else(|| "/".into()))
    }
}

/// The `next` and `last` targets of a `Link` header.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Links {
    pub next: Option<String>,
    pub last: Option<String>,
}

pub fn links(headers: &HeaderMap) -> Links {
    let mut links = Links::default();
    for part in headers
        .get_all(http::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let Some((target, params)) = part.split_once(';') else {
            continue;
        };
        let target = target.trim();
        let Some(url) = target.strip_prefix('<').and_then(|t| t.strip_suffix('>')) else {
            continue;
        };
        for param in params.split(';').map(|p| p.trim().replace(' ', "")) {
            match param.as_str() {
                "rel=\"next\"" => links.next = Some(url.to_string()),
                "rel=\"last\"" => links.last = Some(url.to_string()),
                _ => {}
            }
        }
    }
    links
}

/// The `page` query parameter of a URL.
fn page_number(url: &str) -> Option<usize> {
    let (_, query) = url.split_once('?')?;
    query
        .split('&')
        .find_map(|p| p.strip_prefix("page="))
        .and_then(|n| n.parse().ok())
}

/// The URL with its `page` query parameter set to `page`.
fn with_page(url: &str, page: usize) -> Option<String> {
    let (path, query) = url.split_once('?')?;
    let mut found = false;
    let query: Vec<String> = query
        .split('&')
        .map(|p| {
            if p.starts_with("page=") {
                found = true;
                format!("page={page}")
            } else {
                p.to_string()
            }
        })
        .collect();
    found.then(|| format!("{path}?{}", query.join("&")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_link_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::LINK,
            r#"<https://api.github.com/organizations/1/packages/container/web/versions?page=3&per_page=100>; rel="last", <https://api.github.com/organizations/1/packages/container/web/versions?page=2&per_page=100>; rel="next""#
                .parse()
                .unwrap(),
        );
        let found = links(&headers);
        assert_eq!(
            found.next.as_deref(),
            Some("https://api.github.com/organizations/1/packages/container/web/versions?page=2&per_page=100")
        );
        let last = found.last.unwrap();
        assert_eq!(page_number(&last), Some(3));
        assert_eq!(
            with_page(&last, 7).as_deref(),
            Some("https://api.github.com/organizations/1/packages/container/web/versions?page=7&per_page=100")
        );
        assert_eq!(links(&HeaderMap::new()), Links::default());
    }
}
