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
#[derive(Debug, Clone)]
pub enum Pattern {
    Glob(glob::Pattern),
    Regex(Regex),
}

/// Why a pattern did not compile, ready to be named with its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError(pub String);

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Pattern {
    pub fn new(source: &str, syntax: Syntax) -> Result<Pattern, PatternError> {
        match syntax {
            Syntax::Glob => glob::Pattern::new(source)
                .map(Pattern::Glob)
                .map_err(|e| PatternError(format!("invalid glob: {}", e.msg))),
            Syntax::Regex => regex::RegexBuilder::new(&format!("^(?:{source})$"))
                .size_limit(1 << 20)
                .build()
                .map(Pattern::Regex)
                .map_err(|e| PatternError(format!("invalid regex: {}", one_line(&e.to_string())))),
        }
    }

    pub fn is_match(&self, candidate: &str) -> bool {
        match self {
            // Default options: case-sensitive, and `*` also matches `/`.
            Pattern::Glob(p) => p.matches(candidate),
            Pattern::Regex(r) => r.is_match(candidate),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Pattern::Glob(p) => p.as_str(),
            // Strip the anchors added in `new`.
            Pattern::Regex(r) => {
                let s = r.as_str();
                s.get(4..s.len().saturating_sub(2)).unwrap_or(s)
            }
        }
    }
}

/// Whether a value holds pattern syntax at all; one that does not is an exact name.
pub fn has_pattern_syntax(value: &str, syntax: Syntax) -> bool {
    match syntax {
        Syntax::Glob => value.contains(['*', '?', '[']),
        Syntax::Regex => regex::escape(value) != value,
    }
}

/// A list of patterns; matches when any of them matches.
#[derive(Debug, Clone, Default)]
pub struct PatternSet {
    patterns: Vec<Pattern>,
}

impl PatternSet {
    pub fn new(patterns: Vec<Pattern>) -> PatternSet {
        PatternSet { patterns }
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The first pattern that matches `candidate`, if any.
    pub fn first_match(&self, candidate: &str) -> Option<&Pattern> {
        self.patterns.iter().find(|p| p.is_match(candidate))
    }

    pub fn is_match(&self, candidate: &str) -> bool {
        self.first_match(candidate).is_some()
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
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
        assert!(!re(r"pr-\d+").is_match("x-pr-12"));
        assert!(re("a|b").is_match("b"));
        assert!(!re("a|b").is_match("ab"));
        assert_eq!(re(r"pr-\d+").as_str(), r"pr-\d+");
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
