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

use crate::images::digest_of;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::de::{DeserializeSeed, MapAccess, Visitor};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What the file says it is, so that a foreign file is never taken for a cache.
const FORMAT: &str = "package-janitor manifest cache";
const VERSION: u32 = 1;

/// Read a cache file as it streams in: `{"format", "version", "manifests": {digest: base64}}`.
/// Each entry is decoded and checked against its digest on its own, handed to `entry` when
/// it matches, never held twice (issue 26). Returns how many entries the file held, or `None`
/// when it is not a cache of this format (what `entry` was given must then be dropped).
fn read_file(reader: impl std::io::Read, entry: &mut dyn FnMut(String, Vec<u8>)) -> Option<usize> {
    struct Top<'f>(&'f mut dyn FnMut(String, Vec<u8>));
    struct Entries<'f>(&'f mut dyn FnMut(String, Vec<u8>));
    impl<'de> DeserializeSeed<'de> for Top<'_> {
        type Value = (bool, usize);
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(bool, usize), D::Error> {
            d.deserialize_map(self)
        }
    }
    impl<'de> Visitor<'de> for Top<'_> {
        type Value = (bool, usize);
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a manifest cache")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(bool, usize), A::Error> {
            let (mut format, mut version, mut total) = (false, false, 0);
            while let Some(key) = map.next_key::<String>()? {
                match key.as_str() {
                    "format" => format = map.next_value::<String>()? == FORMAT,
                    "version" => version = map.next_value::<u32>()? == VERSION,
                    "manifests" => total = map.next_value_seed(Entries(&mut *self.0))?,
                    _ => {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
            }
            Ok((format && version, total))
        }
    }
    impl<'de> DeserializeSeed<'de> for Entries<'_> {
        type Value = usize;
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
            d.deserialize_map(self)
        }
    }
    impl<'de> Visitor<'de> for Entries<'_> {
        type Value = usize;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a map of digests to base64 manifests")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
            let mut total = 0;
            while let Some((digest, encoded)) = map.next_entry::<String, String>()? {
                total += 1;
                if let Some(bytes) = checked(&digest, &encoded) {
                    (self.0)(digest, bytes);
                }
            }
            Ok(total)
        }
    }
    let mut json = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
    match Top(entry).deserialize(&mut json) {
        Ok((true, total)) => Some(total),
        _ => None,
    }
}

/// The bytes an entry encodes, when they are what its digest says.
fn checked(digest: &str, encoded: &str) -> Option<Vec<u8>> {
    let bytes = BASE64.decode(encoded.as_bytes()).ok()?;
    (digest_of(&bytes) == digest).then_some(bytes)
}

/// The cache as loaded, and what this run added.
#[derive(Debug)]
pub struct ManifestCache {
    path: PathBuf,
    state: Mutex<State>,
    /// Entries read from the file.
    pub loaded: usize,
}

/// Where each entry's bytes are while the run goes on: none is held in memory longer than it
/// must be (issue 26: a cache of 25,000 indexes is 16 MB).
#[derive(Debug, Default)]
struct State {
    /// Loaded entries not asked for yet, and bytes the journal could not take.
    held: HashMap<String, Vec<u8>>,
    /// Loaded entries handed out: read again from the file when it is written.
    served: HashSet<String>,
    /// Downloaded in this run: appended to the journal beside the file, one line each.
    journaled: HashSet<String>,
    journal: Option<std::io::BufWriter<std::fs::File>>,
}

/// What loading said: nothing, or one line for the log (a warning).
pub type Said = Option<String>;

impl ManifestCache {
    /// Load the cache at `path`; a missing file is an empty cache (the first run).
    pub fn load(path: &Path) -> (ManifestCache, Said) {
        let mut cache = ManifestCache {
            path: path.to_path_buf(),
            state: Mutex::new(State::default()),
            loaded: 0,
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
        let mut held = HashMap::new();
        let Some(total) = read_file(file, &mut |digest, bytes| {
            held.insert(digest, bytes);
        }) else {
            return (cache, Some(set_aside(path)));
        };
        let dropped = total - held.len();
        cache.loaded = held.len();
        cache.state = Mutex::new(State {
            held,
            ..State::default()
        });
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
    /// Handed out once: the run keeps what it parsed, and the file keeps the bytes.
    pub fn get(&self, digest: &str) -> Option<Vec<u8>> {
        let mut state = self.state.lock().ok()?;
        let bytes = state.held.remove(digest)?;
        state.served.insert(digest.to_string());
        Some(bytes)
    }

    /// Keep bytes a `GET` downloaded, when they are what the digest says: in the journal, or
    /// in memory when the journal cannot be written.
    pub fn put(&self, digest: &str, bytes: &[u8]) {
        if digest_of(bytes) != digest {
            return;
        }
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if state.journaled.contains(digest) || state.held.contains_key(digest) {
            return;
        }
        if state.journal.is_none() {
            state.journal = self.open_journal().ok();
        }
        let line = format!("{digest} {}\n", BASE64.encode(bytes));
        let written = state
            .journal
            .as_mut()
            .is_some_and(|journal| std::io::Write::write_all(journal, line.as_bytes()).is_ok());
        if written {
            state.journaled.insert(digest.to_string());
        } else {
            state.held.insert(digest.to_string(), bytes.to_vec());
        }
    }

    fn journal_path(&self) -> PathBuf {
        self.path
            .with_extension(format!("journal-{}", std::process::id()))
    }

    fn open_journal(&self) -> std::io::Result<std::io::BufWriter<std::fs::File>> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        Ok(std::io::BufWriter::new(std::fs::File::create(
            self.journal_path(),
        )?))
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

    /// The file, an entry at a time (never built whole in memory): the entries held, those
    /// served (read again from the old file, checked again), those in the journal (checked
    /// again). A digest is `sha256:<hex>` (an entry is kept only when it is the bytes' hash)
    /// and base64 needs no JSON escape.
    fn write(&self, path: &Path, listed: &BTreeSet<&str>) -> std::io::Result<usize> {
        use std::io::{BufRead as _, Write as _};
        let mut state = self
            .state
            .lock()
            .map_err(|_| std::io::Error::other("the manifest cache's lock was poisoned"))?;
        if let Some(journal) = state.journal.as_mut() {
            journal.flush()?;
        }
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        write!(
            out,
            "{{\"format\":\"{FORMAT}\",\"version\":{VERSION},\"manifests\":{{"
        )?;
        let mut written: HashSet<String> = HashSet::new();
        let mut failed: Option<std::io::Error> = None;
        let mut emit = |digest: &str, encoded: &str| {
            if failed.is_some() || !listed.contains(digest) || !written.insert(digest.into()) {
                return;
            }
            let comma = if written.len() > 1 { "," } else { "" };
            if let Err(e) = write!(out, "{comma}\"{digest}\":\"{encoded}\"") {
                failed = Some(e);
            }
        };
        for (digest, bytes) in &state.held {
            emit(digest, &BASE64.encode(bytes));
        }
        if !state.served.is_empty() {
            if let Ok(old) = std::fs::File::open(&self.path) {
                read_file(old, &mut |digest, bytes| {
                    if state.served.contains(&digest) {
                        emit(&digest, &BASE64.encode(&bytes));
                    }
                });
            }
        }
        if state.journal.is_some() {
            let journal = std::fs::File::open(self.journal_path())?;
            for line in std::io::BufReader::new(journal).lines() {
                let line = line?;
                if let Some((digest, encoded)) = line.split_once(' ') {
                    if checked(digest, encoded).is_some() {
                        emit(digest, encoded);
                    }
                }
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        let count = written.len();
        out.write_all(b"}}")?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        state.journal = None;
        state.journaled.clear();
        let _ = std::fs::remove_file(self.journal_path());
        Ok(count)
    }
}

impl Drop for ManifestCache {
    /// The journal is this run's scratch: it never outlives the run.
    fn drop(&mut self) {
        let journaled = self
            .state
            .get_mut()
            .map(|state| state.journal.take().is_some())
            .unwrap_or(false);
        if journaled {
            let _ = std::fs::remove_file(self.journal_path());
        }
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
        // What a run downloads waits in a journal beside the file, not in memory.
        let journal = cache.journal_path();
        assert!(std::fs::read_to_string(&journal).is_ok());
        assert!(cache.state.lock().unwrap().held.is_empty());
        assert_eq!(cache.save(&[digest.as_str()].into()).unwrap(), 1);
        assert!(
            !journal.exists(),
            "the journal is gone once the file is written"
        );
        let (again, said) = ManifestCache::load(&path);
        assert_eq!((again.loaded, said), (1, None));
        assert_eq!(again.get(&digest).as_deref(), Some(&good[..]));
        // Handed out once; written again from the old file, checked again.
        assert!(again.get(&digest).is_none());
        let other = br#"{"manifests":[{}]}"#;
        again.put(&digest_of(other), other);
        let both = [digest.as_str(), digest_of(other).as_str()].map(str::to_string);
        let listed: BTreeSet<&str> = both.iter().map(String::as_str).collect();
        assert_eq!(again.save(&listed).unwrap(), 2);
        let (third, _) = ManifestCache::load(&path);
        assert_eq!(third.loaded, 2);
        // Only the digests still listed are kept.
        assert_eq!(third.save(&BTreeSet::new()).unwrap(), 0);
        drop((cache, again, third));
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(
            left.len(),
            1,
            "no journal or temporary file is left: {left:?}"
        );

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
