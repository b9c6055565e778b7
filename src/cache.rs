//! The manifest cache (`manifest-cache`, SPEC §5): manifest bytes kept between runs (with
//! actions/cache), so a repeat run downloads no manifest it has seen.
//!
//! Manifests are content-addressed, so an entry keyed by its digest never goes stale; and a
//! cache is outside data, like any answer from the network, so it can change no decision:
//! every entry is checked against its digest when loaded (a bad one is dropped, said once, and
//! read again from the registry), and a file that is not a cache is set aside with a message
//! while the run goes on without it. Only bytes are kept — what a `GET` downloaded (image
//! indexes, and manifests whose type the registry did not name) — never a `HEAD`'s word, which
//! no digest can vouch for. The file is written atomically (a temporary file renamed) and
//! keeps only the digests still listed.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::Deserialize;
use sha2::Digest as _;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What the file says it is, so that a foreign file is never taken for a cache.
const FORMAT: &str = "package-janitor manifest cache";
const VERSION: u32 = 1;

/// The file as read: `manifests` maps each digest to the manifest's bytes, base64. Entries
/// are decoded and checked one by one as the file streams in, never held twice (issue 26).
#[derive(Deserialize)]
struct File {
    format: String,
    version: u32,
    manifests: Checked,
}

/// The entries that match their digest, and how many the file held.
#[derive(Default)]
struct Checked {
    entries: BTreeMap<String, Vec<u8>>,
    total: usize,
}

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Checked;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of digests to base64 manifests")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Checked, A::Error> {
                let mut checked = Checked::default();
                while let Some((digest, encoded)) = map.next_entry::<String, String>()? {
                    checked.total += 1;
                    let Ok(bytes) = BASE64.decode(encoded.as_bytes()) else {
                        continue;
                    };
                    if digest_of(&bytes) == digest {
                        checked.entries.insert(digest, bytes);
                    }
                }
                Ok(checked)
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// The cache as loaded, and what this run added.
#[derive(Debug, Default)]
pub struct ManifestCache {
    path: PathBuf,
    entries: Mutex<BTreeMap<String, Vec<u8>>>,
    /// Entries read from the file.
    pub loaded: usize,
}

/// What loading said: nothing, or one line for the log (a warning).
pub type Said = Option<String>;

impl ManifestCache {
    /// Load the cache at `path`; a missing file is an empty cache (the first run).
    pub fn load(path: &Path) -> (ManifestCache, Said) {
        let mut cache = ManifestCache {
            path: path.to_path_buf(),
            ..ManifestCache::default()
        };
        let file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (cache, None),
            Err(e) => {
                return (
                    cache,
                    Some(format!(
                        "manifest-cache {} cannot be read ({e}); the run goes on without it",
                        path.display()
                    )),
                )
            }
        };
        let reader = std::io::BufReader::new(file);
        let file = match serde_json::from_reader::<_, File>(reader) {
            Ok(file) if file.format == FORMAT && file.version == VERSION => file,
            _ => return (cache, Some(set_aside(path))),
        };
        let (total, entries) = (file.manifests.total, file.manifests.entries);
        let dropped = total - entries.len();
        cache.loaded = entries.len();
        cache.entries = Mutex::new(entries);
        let said = (dropped > 0).then(|| {
            format!(
                "manifest-cache {}: {dropped} of {total} entries did not match their digest and \
                 were dropped; those manifests are read again",
                path.display()
            )
        });
        (cache, said)
    }

    /// A manifest's bytes, if the cache holds them (checked against the digest when loaded).
    pub fn get(&self, digest: &str) -> Option<Vec<u8>> {
        self.entries.lock().ok()?.get(digest).cloned()
    }

    /// Keep bytes a `GET` downloaded, when they are what the digest says.
    pub fn put(&self, digest: &str, bytes: &[u8]) {
        if digest_of(bytes) != digest {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(digest.to_string(), bytes.to_vec());
        }
    }

    /// Write the cache atomically (a temporary file beside it, renamed), keeping only the
    /// digests in `listed`. Returns how many entries it holds.
    pub fn save(&self, listed: &BTreeSet<&str>) -> std::io::Result<usize> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let temporary = self
            .path
            .with_extension(format!("tmp-{}", std::process::id()));
        let written = self.write(&temporary, listed).and_then(|count| {
            std::fs::rename(&temporary, &self.path)?;
            Ok(count)
        });
        if written.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        written
    }

    /// The file, an entry at a time (never built whole in memory): a digest is `sha256:<hex>`
    /// (an entry is kept only when it is the bytes' hash) and base64 needs no JSON escape.
    fn write(&self, path: &Path, listed: &BTreeSet<&str>) -> std::io::Result<usize> {
        use std::io::Write as _;
        let entries = self
            .entries
            .lock()
            .map_err(|_| std::io::Error::other("the manifest cache's lock was poisoned"))?;
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        write!(
            out,
            "{{\"format\":\"{FORMAT}\",\"version\":{VERSION},\"manifests\":{{"
        )?;
        let mut count = 0;
        for (digest, bytes) in entries.iter().filter(|(d, _)| listed.contains(d.as_str())) {
            if count > 0 {
                out.write_all(b",")?;
            }
            write!(out, "\"{digest}\":\"{}\"", BASE64.encode(bytes))?;
            count += 1;
        }
        out.write_all(b"}}")?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok(count)
    }
}

/// A file that is not a cache is renamed aside (never overwritten: it may be the user's) and
/// the run goes on without a cache.
fn set_aside(path: &Path) -> String {
    let aside = path.with_extension("not-a-cache");
    match std::fs::rename(path, &aside) {
        Ok(()) => format!(
            "manifest-cache {} is not a package-janitor manifest cache; it was set aside as {} \
             and the run goes on without a cache",
            path.display(),
            aside.display()
        ),
        Err(e) => format!(
            "manifest-cache {} is not a package-janitor manifest cache and could not be set \
             aside ({e}); the run goes on without a cache",
            path.display()
        ),
    }
}

/// `sha256:<hex>` of `bytes`.
fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{:x}", sha2::Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_checked_against_their_digest_and_foreign_files_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.json");
        let (cache, said) = ManifestCache::load(&path);
        assert!(said.is_none() && cache.loaded == 0);
        let good = br#"{"manifests":[]}"#;
        let digest = digest_of(good);
        cache.put(&digest, good);
        cache.put("sha256:0000", b"not these bytes");
        assert_eq!(cache.save(&[digest.as_str()].into()).unwrap(), 1);
        let (again, said) = ManifestCache::load(&path);
        assert_eq!((again.loaded, said), (1, None));
        assert_eq!(again.get(&digest).as_deref(), Some(&good[..]));
        // Only the digests still listed are kept.
        assert_eq!(again.save(&BTreeSet::new()).unwrap(), 0);

        // A tampered entry is dropped, said once.
        let tampered = format!(
            r#"{{"format":"{FORMAT}","version":1,"manifests":{{"{digest}":"{}"}}}}"#,
            BASE64.encode(b"{}")
        );
        std::fs::write(&path, tampered).unwrap();
        let (cache, said) = ManifestCache::load(&path);
        assert_eq!(cache.loaded, 0);
        assert!(said.unwrap().contains("1 of 1 entries did not match"));

        // A file that is not a cache is set aside, not overwritten.
        std::fs::write(&path, "my notes").unwrap();
        let (cache, said) = ManifestCache::load(&path);
        assert_eq!(cache.loaded, 0);
        assert!(said.unwrap().contains("set aside"));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("cache.not-a-cache")).unwrap(),
            "my notes"
        );
    }
}
