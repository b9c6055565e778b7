//! Patterns over names and tags: globs or regular expressions, always matching the whole string.
//!
//! Also the list syntax every list input shares: values separated by commas and/or newlines,
//! blanks ignored. A comma inside brackets or braces (`[a,b]`, `\d{1,3}`) or escaped with a
//! backslash belongs to the pattern, so regexes with counted repetition survive the split.

use regex::Regex;
use std::fmt;

/// Split a list input into its trimmed, non-empty items.
pub fn split_list(value: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut depth: usize = 0;
    let mut escaped = false;
    for c in value.chars() {
        if escaped {
            current.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                current.push(c);
            }
            '[' | '{' | '(' => {
                depth += 1;
                current.push(c);
            }
            ']' | '}' | ')' => {
                depth = depth.saturating_sub(1);
                current.push(c);
            }
            ',' if depth == 0 => items.push(std::mem::take(&mut current)),
            '\n' | '\r' => {
                // A newline always ends an item: an unbalanced bracket cannot swallow the list.
                depth = 0;
                items.push(std::mem::take(&mut current));
            }
            _ => current.push(c),
        }
    }
    items.push(current);
    items
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Which syntax the pattern inputs use (`use-regex`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Glob,
    Regex,
}

/// One compiled pattern that matches whole strings, case-sensitively.
///
/// Globs are checked by the `glob` crate (so its syntax errors are the ones users see) and
/// then translated to a regex, so that a [`PatternSet`] can match all its patterns in one
/// pass: 100,000 versions against 50 patterns must plan in milliseconds.
#[derive(Debug, Clone)]
pub struct Pattern {
    source: String,
    regex: Regex,
}

/// Why a pattern did not compile, ready to be named with its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError(pub String);

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Compiled regexes are capped so no input can make compilation costly.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

impl Pattern {
    pub fn new(source: &str, syntax: Syntax) -> Result<Pattern, PatternError> {
        let body = match syntax {
            Syntax::Glob => {
                glob::Pattern::new(source)
                    .map_err(|e| PatternError(format!("invalid glob: {}", e.msg)))?;
                glob_to_regex(source)
            }
            Syntax::Regex => source.to_string(),
        };
        let regex = regex::RegexBuilder::new(&anchored(&body))
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| match e {
                regex::Error::CompiledTooBig(_) => PatternError(format!(
                    "is too long: a pattern of {} characters compiles past the {} KiB a \
                     pattern may take; split it, or use a shorter one",
                    source.chars().count(),
                    REGEX_SIZE_LIMIT / 1024
                )),
                e => PatternError(format!("invalid regex: {}", one_line(&e.to_string()))),
            })?;
        Ok(Pattern {
            source: source.to_string(),
            regex,
        })
    }

    pub fn is_match(&self, candidate: &str) -> bool {
        self.regex.is_match(candidate)
    }

    /// The pattern as the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

/// Whole-string match: `^(?:…)$` with `.` matching newlines too.
fn anchored(body: &str) -> String {
    format!("(?s)^(?:{body})$")
}

/// Translate a glob the `glob` crate accepted into an equivalent regex body, following the
/// crate's default options: case-sensitive, `*` and `?` also match `/`, `**/` also matches
/// nothing, no backslash escapes,
/// `[!…]` negates, a `]` right after `[` or `[!` is literal, `-` between two characters is a
/// range and literal at either end.
fn glob_to_regex(glob: &str) -> String {
    let chars: Vec<char> = glob.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => {
                let run_start = i;
                while i < chars.len() && chars[i] == '*' {
                    i += 1;
                }
                // `**` (the glob crate accepts it only as a whole component) swallows the `/`
                // after it and matches any run of components ending in `/`, or none:
                // `a/**/b` matches `a/b`. With nothing after it, it matches everything.
                if i - run_start == 2 && chars.get(i) == Some(&'/') {
                    i += 1;
                }
                if i - run_start >= 2 && i < chars.len() {
                    out.push_str("(?:.*/)?");
                } else {
                    out.push_str(".*");
                }
                continue;
            }
            '?' => out.push('.'),
            '[' => {
                if let Some((class, next)) = glob_class(&chars, i) {
                    out.push_str(&class);
                    i = next;
                    continue;
                }
                out.push_str(&regex::escape("["));
            }
            c => out.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
        }
        i += 1;
    }
    out
}

/// The bracket expression starting at `chars[start] == '['`, as a regex class and the index
/// after its closing `]`; `None` when it does not close (then `[` is literal).
fn glob_class(chars: &[char], start: usize) -> Option<(String, usize)> {
    let mut i = start + 1;
    let negated = chars.get(i) == Some(&'!');
    if negated {
        i += 1;
    }
    let first = i;
    let mut items: Vec<(char, char)> = Vec::new();
    loop {
        let c = *chars.get(i)?;
        if c == ']' && i > first {
            i += 1;
            break;
        }
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|&e| e != ']') {
            items.push((c, chars[i + 2]));
            i += 3;
        } else {
            items.push((c, c));
            i += 1;
        }
    }
    let ranges: Vec<String> = items
        .into_iter()
        .filter(|(lo, hi)| lo <= hi)
        .map(|(lo, hi)| {
            if lo == hi {
                format!("\\x{{{:x}}}", lo as u32)
            } else {
                format!("\\x{{{:x}}}-\\x{{{:x}}}", lo as u32, hi as u32)
            }
        })
        .collect();
    let class = match (ranges.is_empty(), negated) {
        // An empty class matches nothing; its negation matches any one character.
        (true, false) => "[^\\s\\S]".to_string(),
        (true, true) => ".".to_string(),
        (false, false) => format!("[{}]", ranges.concat()),
        (false, true) => format!("[^{}]", ranges.concat()),
    };
    Some((class, i))
}

/// Whether a value holds pattern syntax at all; one that does not is an exact name.
/// Characters that make a value a regular expression.
const REGEX_META: [char; 14] = [
    '\\', '.', '+', '*', '?', '(', ')', '|', '[', ']', '{', '}', '^', '$',
];

pub fn has_pattern_syntax(value: &str, syntax: Syntax) -> bool {
    match syntax {
        Syntax::Glob => value.contains(['*', '?', '[']),
        // Only real metacharacters: `-`, `#`, `&` and `~` are escaped by `regex::escape`,
        // yet `my-app` is a name, not a pattern.
        Syntax::Regex => value.contains(REGEX_META),
    }
}

/// A list of patterns; matches when any of them matches, in one pass over the candidate.
#[derive(Debug, Clone, Default)]
pub struct PatternSet {
    patterns: Vec<Pattern>,
    set: Option<regex::RegexSet>,
}

impl PatternSet {
    pub fn new(patterns: Vec<Pattern>) -> PatternSet {
        // Each pattern compiled on its own, so the set compiles too; if its combined size
        // passes the limit, matching falls back to one pattern at a time.
        let set = regex::RegexSetBuilder::new(patterns.iter().map(|p| p.regex.as_str()))
            .size_limit(REGEX_SIZE_LIMIT * 16)
            .build()
            .ok();
        PatternSet { patterns, set }
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The patterns, in the order given.
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// The first pattern that matches `candidate`, if any.
    pub fn first_match(&self, candidate: &str) -> Option<&Pattern> {
        match &self.set {
            Some(set) => set
                .matches(candidate)
                .iter()
                .next()
                .and_then(|i| self.patterns.get(i)),
            None => self.patterns.iter().find(|p| p.is_match(candidate)),
        }
    }

    pub fn is_match(&self, candidate: &str) -> bool {
        match &self.set {
            Some(set) => set.is_match(candidate),
            None => self.patterns.iter().any(|p| p.is_match(candidate)),
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// When a list item looks like a list in another syntax — braces, semicolons or spaces
/// between patterns, a YAML/JSON flow list — how to write the list instead. None of these
/// characters can be in a container tag or a package version, so such an item never matches.
pub fn list_syntax_hint(item: &str, syntax: Syntax) -> Option<String> {
    let how = "write one pattern per line, or separate them with commas (`pr-101, pr-102`)";
    let trimmed = item.trim();
    let what =
        if trimmed.starts_with('[') && trimmed.ends_with(']') && trimmed.contains(['"', '\'']) {
            "a YAML/JSON flow list is not a list here"
        } else if syntax == Syntax::Glob && trimmed.contains('{') && trimmed.contains('}') {
            "braces `{a,b}` are not glob syntax here"
        } else if trimmed.contains(';') {
            "semicolons do not separate patterns"
        } else if trimmed.contains(char::is_whitespace) {
            "spaces do not separate patterns"
        } else {
            return None;
        };
    Some(format!("{what}: {how}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(s: &str) -> Pattern {
        Pattern::new(s, Syntax::Glob).unwrap()
    }
    fn re(s: &str) -> Pattern {
        Pattern::new(s, Syntax::Regex).unwrap()
    }

    #[test]
    fn lists_split_on_commas_and_newlines_outside_brackets() {
        assert_eq!(split_list("a, b\nc,,\n\n d "), ["a", "b", "c", "d"]);
        assert_eq!(split_list(r"pr-\d{1,3}, v[0-9]"), [r"pr-\d{1,3}", "v[0-9]"]);
        assert_eq!(split_list("[a,b]x,y"), ["[a,b]x", "y"]);
        assert_eq!(split_list(r"a\,b,c"), [r"a\,b", "c"]);
        assert_eq!(split_list("[a\nb"), ["[a", "b"]);
        assert!(split_list(" , \n ").is_empty());
    }

    #[test]
    fn globs_match_whole_strings_case_sensitively() {
        assert!(glob("pr-*").is_match("pr-12"));
        assert!(!glob("pr-*").is_match("my-pr-12"));
        assert!(!glob("pr-*").is_match("PR-12"));
        assert!(glob("v?.[0-9]").is_match("v1.2"));
        assert!(glob("[!a]x").is_match("bx"));
        assert!(!glob("[!a]x").is_match("ax"));
        assert!(glob("repo/*").is_match("repo/app"));
        assert!(glob("*").is_match("a/b"));
    }

    #[test]
    fn regexes_match_whole_strings() {
        assert!(re(r"pr-\d+").is_match("pr-12"));
        assert!(!re(r"pr-\d+").is_match("pr-12-fix"));
        assert!(glob("[]a]").is_match("]"));
        assert!(glob("[!]]").is_match("a"));
        assert!(glob("[a-]").is_match("-"));
        assert!(!re(r"pr-\d+").is_match("x-pr-12"));
        assert!(re("a|b").is_match("b"));
        assert!(!re("a|b").is_match("ab"));
        assert_eq!(re(r"pr-\d+").as_str(), r"pr-\d+");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        /// The glob → regex translation agrees with the `glob` crate on every pattern it accepts.
        #[test]
        fn globs_translate_exactly(pattern in "[ab/*?\\[\\]!-]{0,8}", candidate in "[ab/!\\]-]{0,6}") {
            if let Ok(expected) = glob::Pattern::new(&pattern) {
                let ours = Pattern::new(&pattern, Syntax::Glob).unwrap();
                proptest::prop_assert_eq!(ours.is_match(&candidate), expected.matches(&candidate), "{}", ours.regex.as_str());
            }
        }
    }

    #[test]
    fn pattern_sets_report_the_first_matching_pattern() {
        let set = PatternSet::new(vec![glob("v*"), glob("keep"), re("k.*")]);
        assert_eq!(set.first_match("keep").map(Pattern::as_str), Some("keep"));
        assert_eq!(set.first_match("kx").map(Pattern::as_str), Some("k.*"));
        assert!(set.first_match("x").is_none());
        assert!(!PatternSet::default().is_match("x"));
    }

    #[test]
    fn other_list_syntaxes_get_a_hint() {
        for item in [
            "pr-{101,102}",
            "pr-101;pr-102",
            "pr-101 pr-102",
            r#"["pr-101","pr-102"]"#,
        ] {
            assert!(
                list_syntax_hint(item, Syntax::Glob)
                    .is_some_and(|h| h.contains("one pattern per line")),
                "{item}"
            );
        }
        assert_eq!(list_syntax_hint("pr-*", Syntax::Glob), None);
        // Braces are a regex's counted repetition.
        assert_eq!(list_syntax_hint(r"pr-\d{3}", Syntax::Regex), None);
    }

    #[test]
    fn invalid_patterns_are_errors() {
        assert!(Pattern::new("pr-[", Syntax::Glob).is_err());
        assert!(Pattern::new("pr-(", Syntax::Regex).is_err());
    }

    #[test]
    fn exact_names_have_no_pattern_syntax() {
        assert!(!has_pattern_syntax("repo/app-1.2", Syntax::Glob));
        assert!(has_pattern_syntax("app-*", Syntax::Glob));
        assert!(!has_pattern_syntax("app_x", Syntax::Regex));
        assert!(has_pattern_syntax("app.x", Syntax::Regex));
    }
}
