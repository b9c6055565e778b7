//! `rules` and `rules-file` (SPEC §1, §2 "Rule lists"): YAML text to a validated
//! [`RuleList`], every problem an input error before the first request.
//!
//! Three passes over the text, each doing what it is best at: a size check; an event scan
//! (`saphyr-parser`) that refuses anchors and aliases — so a few lines cannot expand into
//! millions — and notes where every key stands, for messages; then `serde_yaml` reads the
//! document, each rule is checked key by key (unknown keys with the closest known one as a
//! hint) and its values are typed by the same parsers as the inputs.

use super::{
    bad, choice_value, count_value, patterns_value, range_value, InputError, BOOL, KEEP_PER,
    TAG_MATCH,
};
use crate::duration::parse_duration;
use crate::model::PackageType;
use crate::pattern::{PatternSet, Syntax};
use crate::plan::{Action, Conditions, Rule, RuleList, TagMatch};
use serde::Deserialize;
use serde_yaml::{Mapping, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The most rules a list may hold.
pub const MAX_RULES: usize = 100;
/// The most bytes of YAML a list may take.
pub const MAX_BYTES: usize = 64 * 1024;

/// The keys of a rule's conditions, and the keys only one kind of rule takes.
const CONDITIONS: &[&str] = &[
    "packages",
    "tags",
    "exclude-tags",
    "use-regex",
    "untagged",
    "older-than",
    "newer-than",
    "semver-range",
    "tag-match",
];
const KEEP_ONLY: &[&str] = &["newest", "per"];
const DELETE_ONLY: &[&str] = &["untag"];
const RULE_KEYS: &[&str] = &["name", "keep", "delete"];

/// What the list is checked against: the step's package type, and its `use-regex` as the
/// default syntax of every rule's patterns.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// `rules` or `rules-file`: the input errors name.
    pub input: &'static str,
    pub package_type: PackageType,
    pub syntax: Syntax,
}

/// Parse and check a rule list.
pub fn parse(text: &str, context: Context) -> Result<RuleList, InputError> {
    let input = context.input;
    if text.len() > MAX_BYTES {
        return Err(bad(
            input,
            "",
            format!(
                "holds {} bytes of YAML; a rule list may take at most {} KiB",
                text.len(),
                MAX_BYTES / 1024
            ),
        ));
    }
    let places = scan(text).map_err(|problem| bad(input, "", problem))?;
    let document: Value = serde_yaml::from_str(text)
        .map_err(|e| bad(input, "", format!("is not valid YAML: {e}")))?;
    let items = match document {
        Value::Sequence(items) => items,
        Value::Null => return Err(bad(input, "", "holds no rule: write a YAML list of rules")),
        other => {
            return Err(bad(
                input,
                "",
                format!(
                    "must be a YAML list of rules (each starting `- name: …`), not {}",
                    described(&other)
                ),
            ))
        }
    };
    if items.len() > MAX_RULES {
        return Err(bad(
            input,
            "",
            format!(
                "holds {} rules; a list may hold at most {MAX_RULES}",
                items.len()
            ),
        ));
    }
    let mut names = BTreeSet::new();
    let mut rules = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let at = Place {
            places: &places,
            index,
            name: None,
            context,
        };
        let rule = rule(item, at)?;
        if !names.insert(rule.name.clone()) {
            return Err(at.named(&rule.name).error(
                Some("name"),
                &rule.name,
                "repeats the name of an earlier rule; names must be unique",
            ));
        }
        rules.push(rule);
    }
    Ok(RuleList { rules })
}

/// Where a value stands: which rule (by name, else number) and, from the scan, its line and
/// column.
#[derive(Clone, Copy)]
struct Place<'a> {
    places: &'a BTreeMap<Vec<String>, (usize, usize)>,
    index: usize,
    name: Option<&'a str>,
    context: Context,
}

impl<'a> Place<'a> {
    fn named(self, name: &'a str) -> Place<'a> {
        Place {
            name: Some(name),
            ..self
        }
    }

    /// An error at `key` (a rule's own key, or a condition's under `keep`/`delete`), echoing
    /// only the offending value.
    fn error(&self, key: Option<&str>, value: &str, problem: impl AsRef<str>) -> InputError {
        let rule = match self.name {
            Some(name) => format!("rule '{name}'"),
            None => format!("rule {}", self.index + 1),
        };
        let mut path = vec![self.index.to_string()];
        let mut keys = Vec::new();
        for part in ["keep", "delete"] {
            if let Some(key) = key.and_then(|k| k.strip_prefix(&format!("{part}."))) {
                path.push(part.to_string());
                path.push(key.to_string());
                keys.push(key);
            }
        }
        if keys.is_empty() {
            path.extend(key.map(str::to_string));
        }
        // The key's place, else its rule's.
        let place = self
            .places
            .get(&path)
            .or_else(|| self.places.get(&path[..1]))
            .map(|(line, column)| format!(" (line {line}, column {column})"))
            .unwrap_or_default();
        let key = match keys.first().copied().or(key) {
            Some(k) => format!(", key `{k}`"),
            None => String::new(),
        };
        bad(
            self.context.input,
            value,
            format!("{rule}{place}{key}: {}", problem.as_ref()),
        )
    }
}

/// The event scan: anchors and aliases refused; every key's and list item's place noted by
/// its path (`["2", "keep", "tags"]`), line and column counted from 1. A document the scanner
/// cannot read is left to `serde_yaml`, whose message is the one shown.
fn scan(text: &str) -> Result<BTreeMap<Vec<String>, (usize, usize)>, String> {
    use saphyr_parser::{Event, Parser};
    enum Frame {
        Sequence(usize),
        /// A mapping, and the key whose value comes next (none: a key comes next).
        Mapping(Option<String>),
    }
    let mut places = BTreeMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut path: Vec<String> = Vec::new();
    for event in Parser::new_from_str(text) {
        let Ok((event, span)) = event else {
            break;
        };
        let at = (span.start.line(), span.start.col() + 1);
        let anchored = match &event {
            Event::Alias(_) => true,
            Event::Scalar(_, _, anchor, _)
            | Event::SequenceStart(anchor, _)
            | Event::MappingStart(anchor, _) => *anchor != 0,
            _ => false,
        };
        if anchored {
            return Err(format!(
                "uses a YAML anchor or alias (`&name`/`*name`) at line {}, column {}: they are \
                 refused, so a few lines cannot expand into millions; write each rule out",
                at.0, at.1
            ));
        }
        // A node starts: a key of a mapping, or an item of a sequence.
        let starts = matches!(
            event,
            Event::Scalar(..) | Event::SequenceStart(..) | Event::MappingStart(..)
        );
        if starts {
            match stack.last_mut() {
                Some(Frame::Mapping(key @ None)) => {
                    if let Event::Scalar(text, ..) = &event {
                        places.insert([path.clone(), vec![text.to_string()]].concat(), at);
                        *key = Some(text.to_string());
                    }
                    continue;
                }
                Some(Frame::Mapping(Some(key))) => path.push(std::mem::take(key)),
                Some(Frame::Sequence(index)) => {
                    path.push(index.to_string());
                    places.insert(path.clone(), at);
                    *index += 1;
                }
                None => {}
            }
        }
        match event {
            Event::SequenceStart(..) => stack.push(Frame::Sequence(0)),
            Event::MappingStart(..) => stack.push(Frame::Mapping(None)),
            Event::SequenceEnd | Event::MappingEnd => {
                stack.pop();
            }
            _ => {}
        }
        // A value ended: the path goes back to its container.
        let ended = matches!(
            event,
            Event::Scalar(..) | Event::SequenceEnd | Event::MappingEnd
        );
        if ended && !stack.is_empty() {
            path.pop();
            if let Some(Frame::Mapping(key)) = stack.last_mut() {
                *key = None;
            }
        }
    }
    Ok(places)
}

fn described(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// One rule: a mapping with an optional `name` and exactly one of `keep` and `delete`.
fn rule(item: &Value, at: Place) -> Result<Rule, InputError> {
    let Value::Mapping(map) = item else {
        return Err(at.error(
            None,
            "",
            format!(
                "must be a mapping (`- name: …` with `keep:` or `delete:`), not {}",
                described(item)
            ),
        ));
    };
    let keys = keys(map, at, None)?;
    for key in &keys {
        if !RULE_KEYS.contains(&key.as_str()) {
            let hint = if CONDITIONS.contains(&key.as_str())
                || KEEP_ONLY.contains(&key.as_str())
                || DELETE_ONLY.contains(&key.as_str())
            {
                format!("conditions go under `keep:` or `delete:` (`keep: {{{key}: …}}`)")
            } else {
                hint(key, RULE_KEYS)
            };
            return Err(at.error(Some(key), "", format!("is not a key of a rule; {hint}")));
        }
    }
    let name = match map.get("name") {
        None => format!("rule {}", at.index + 1),
        Some(value) => {
            let name = text(value)
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
                .ok_or_else(|| at.error(Some("name"), "", "must be a non-empty string"))?;
            if name.chars().count() > 100 {
                return Err(at.error(Some("name"), &name, "is longer than 100 characters"));
            }
            name
        }
    };
    // A name written is known: every later message uses it.
    let at = match map.contains_key("name") {
        true => at.named(&name),
        false => at,
    };
    let (kind, conditions) =
        match (map.get("keep"), map.get("delete")) {
            (Some(_), Some(_)) => return Err(at.error(
                Some("delete"),
                "",
                "a rule has exactly one of `keep` and `delete`, not both: split it into two rules",
            )),
            (None, None) => {
                return Err(at.error(
                    None,
                    "",
                    "has neither `keep` nor `delete`: say what the rule does with what it matches",
                ))
            }
            (Some(keep), None) => ("keep", keep),
            (None, Some(delete)) => ("delete", delete),
        };
    let conditions = match conditions {
        Value::Mapping(map) => map.clone(),
        // `keep:` with nothing under it keeps every version, as `keep: {}` does.
        Value::Null => Mapping::new(),
        other => {
            return Err(at.error(
                Some(kind),
                "",
                format!(
                    "must be a mapping of conditions (`{kind}: {{tags: \"pr-*\"}}`), not {}",
                    described(other)
                ),
            ))
        }
    };
    let raw = raw_conditions(&conditions, kind, at)?;
    let when = typed_conditions(&raw, kind, at)?;
    let action = action(&raw, kind, at)?;
    Ok(Rule { name, when, action })
}

/// A mapping's keys as strings, each known to be one.
fn keys(map: &Mapping, at: Place, under: Option<&str>) -> Result<Vec<String>, InputError> {
    map.keys()
        .map(|key| {
            text(key).ok_or_else(|| {
                at.error(
                    under,
                    "",
                    format!("has a key that is {}, not a name", described(key)),
                )
            })
        })
        .collect()
}

/// A scalar as the inputs would see it: strings as they are, numbers and booleans written out.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The closest known key, if one is close: `older_than` → `older-than`.
fn hint(key: &str, known: &[&str]) -> String {
    let normal = key.trim().to_lowercase().replace(['_', ' '], "-");
    let closest = known
        .iter()
        .map(|k| (strsim::levenshtein(&normal, k), *k))
        .min()
        .filter(|(distance, k)| *distance <= 2.max(k.len() / 3));
    match closest {
        Some((_, k)) => format!("did you mean `{k}`?"),
        None => format!(
            "the keys are {}",
            known
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A condition's value as written: one string (split like an input's list) or a YAML list.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Written {
    One(Scalar),
    List(Vec<Scalar>),
}

/// A scalar of any YAML type, read as the inputs read text.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Number(serde_yaml::Number),
    Flag(bool),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Text(s) => s.clone(),
            Scalar::Number(n) => n.to_string(),
            Scalar::Flag(b) => b.to_string(),
        }
    }
}

impl Written {
    /// The value as an input's text: a list's items joined by newlines.
    fn text(&self) -> String {
        match self {
            Written::One(scalar) => scalar.text(),
            Written::List(items) => items
                .iter()
                .map(Scalar::text)
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

/// One condition's key and its value as written.
type Raw = BTreeMap<String, String>;

/// The conditions' keys checked (unknown ones with a hint, a key of the other kind of rule
/// said so) and each value read as text by serde.
fn raw_conditions(map: &Mapping, kind: &str, at: Place) -> Result<Raw, InputError> {
    let (own, other, other_kind) = match kind {
        "keep" => (KEEP_ONLY, DELETE_ONLY, "delete"),
        _ => (DELETE_ONLY, KEEP_ONLY, "keep"),
    };
    let known: Vec<&str> = CONDITIONS.iter().chain(own).copied().collect();
    let mut raw = Raw::new();
    for (key, value) in keys(map, at, Some(kind))?.into_iter().zip(map.values()) {
        let path = format!("{kind}.{key}");
        if other.contains(&key.as_str()) {
            return Err(at.error(
                Some(&path),
                "",
                format!("belongs in a {other_kind} rule, not a {kind} rule"),
            ));
        }
        if !known.contains(&key.as_str()) {
            let hint = match key.as_str() {
                "name" => format!("`name` goes beside `{kind}:`, not under it"),
                _ => hint(&key, &known),
            };
            return Err(at.error(
                Some(&path),
                "",
                format!("is not a condition of a {kind} rule; {hint}"),
            ));
        }
        let written: Written = serde_yaml::from_value(value.clone()).map_err(|_| {
            at.error(
                Some(&path),
                "",
                format!(
                    "must be a string, a number, a boolean or a list of them, not {}",
                    described(value)
                ),
            )
        })?;
        raw.insert(key, written.text());
    }
    Ok(raw)
}

/// The conditions typed, by the parsers the inputs use.
fn typed_conditions(raw: &Raw, kind: &str, at: Place) -> Result<Conditions, InputError> {
    let get = |key: &str| raw.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
    let path = |key: &str| format!("{kind}.{key}");
    let flag = |key: &str| -> Result<bool, InputError> {
        get(key)
            .map(|v| choice_value(v, BOOL).map_err(|e| at.error(Some(&path(key)), v, e)))
            .transpose()
            .map(|b| b.unwrap_or(false))
    };
    let syntax = match raw.contains_key("use-regex") {
        true if flag("use-regex")? => Syntax::Regex,
        true => Syntax::Glob,
        false => at.context.syntax,
    };
    let patterns = |key: &str| -> Result<PatternSet, InputError> {
        patterns_value(get(key).unwrap_or(""), syntax)
            .map_err(|(item, e)| at.error(Some(&path(key)), &item, e))
    };
    let duration = |key: &str| {
        get(key)
            .map(|v| parse_duration(v).map_err(|e| at.error(Some(&path(key)), v, e)))
            .transpose()
    };
    let keep = kind == "keep";
    let conditions = Conditions {
        packages: patterns("packages")?,
        tags: patterns("tags")?,
        exclude_tags: patterns("exclude-tags")?,
        // Keep rules match generously, delete rules strictly: both the safe direction.
        tag_match: match get("tag-match") {
            Some(v) => {
                choice_value(v, TAG_MATCH).map_err(|e| at.error(Some(&path("tag-match")), v, e))?
            }
            None if keep => TagMatch::Any,
            None => TagMatch::All,
        },
        untagged: flag("untagged")?,
        older_than: duration("older-than")?,
        newer_than: duration("newer-than")?,
        semver_range: get("semver-range")
            .map(|v| range_value(v).map_err(|e| at.error(Some(&path("semver-range")), v, e)))
            .transpose()?,
    };
    if conditions.untagged && !at.context.package_type.has_tags() {
        return Err(at.error(
            Some(&path("untagged")),
            "true",
            format!(
                "conflicts with package-type '{}': only container and docker versions have tags",
                at.context.package_type
            ),
        ));
    }
    let selects = !conditions.tags.is_empty()
        || conditions.untagged
        || conditions.older_than.is_some()
        || conditions.semver_range.is_some();
    if !keep && !selects {
        return Err(at.error(
            Some("delete"),
            "",
            "selects nothing: a delete rule needs at least one of `tags`, `untagged`, \
             `older-than` or `semver-range` (never \"everything\")",
        ));
    }
    Ok(conditions)
}

/// What the rule does: `newest`/`per` for a keep rule, `untag` for a delete rule.
fn action(raw: &Raw, kind: &str, at: Place) -> Result<Action, InputError> {
    let get = |key: &str| raw.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
    if kind == "keep" {
        let newest = get("newest")
            .map(|v| count_value(v).map_err(|e| at.error(Some("keep.newest"), v, e)))
            .transpose()?;
        let per = get("per")
            .map(|v| choice_value(v, KEEP_PER).map_err(|e| at.error(Some("keep.per"), v, e)))
            .transpose()?;
        if per.is_some() && newest.is_none() {
            return Err(at.error(
                Some("keep.per"),
                get("per").unwrap_or(""),
                "needs `newest`: it says how many of each line to keep",
            ));
        }
        return Ok(Action::Keep { newest, per });
    }
    let untag = get("untag")
        .map(|v| choice_value(v, BOOL).map_err(|e| at.error(Some("delete.untag"), v, e)))
        .transpose()?
        .unwrap_or(false);
    if untag {
        let problem = if at.context.package_type != PackageType::Container {
            Some("works on container images only (the registry moves their tags)")
        } else if get("tag-match").is_some_and(|m| m.eq_ignore_ascii_case("any")) {
            Some(
                "conflicts with `tag-match: any`, under which a partly matching version is deleted",
            )
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(at.error(Some("delete.untag"), "true", problem));
        }
    }
    Ok(Action::Delete { untag })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> Context {
        Context {
            input: "rules",
            package_type: PackageType::Container,
            syntax: Syntax::Glob,
        }
    }

    fn list(yaml: &str) -> RuleList {
        parse(yaml, context()).unwrap()
    }

    /// The message of a list refused, checked to hold every `part`.
    fn refused(yaml: &str, parts: &[&str]) {
        let e = parse(yaml, context()).unwrap_err();
        assert_eq!(e.input, "rules");
        let message = e.to_string();
        for part in parts {
            assert!(message.contains(part), "{message:?} lacks {part:?}");
        }
    }

    #[test]
    fn a_whole_policy_is_typed() {
        let rules = list(
            "- name: releases\n  keep: {tags: \"v*, latest\"}\n- name: recent main\n  keep:\n    \
             tags: [main-*]\n    newest: 10\n- name: stale previews\n  delete: {tags: pr-*, \
             older-than: 14d, untag: true}\n- delete: {untagged: true, older-than: 7d}\n",
        );
        let names: Vec<&str> = rules.rules.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["releases", "recent main", "stale previews", "rule 4"]
        );
        let r = &rules.rules;
        assert_eq!(r[0].when.tags.patterns().len(), 2);
        assert_eq!(
            r[0].when.tag_match,
            TagMatch::Any,
            "keep matches generously"
        );
        assert_eq!(
            r[1].action,
            Action::Keep {
                newest: Some(10),
                per: None
            }
        );
        assert_eq!(
            r[2].when.tag_match,
            TagMatch::All,
            "delete matches strictly"
        );
        assert_eq!(r[2].action, Action::Delete { untag: true });
        assert_eq!(r[2].when.older_than, Some(chrono::TimeDelta::days(14)));
        assert!(r[3].when.untagged);
        assert!(rules.untags());
        // `keep:` with nothing under it keeps everything; YAML booleans and strings alike.
        let r = list("- keep:\n- delete: {untagged: \"TRUE\", newer-than: 1d, tags: x}\n").rules;
        assert!(r[0].when.tags.is_empty());
        assert!(r[1].when.untagged);
        // A rule's own `use-regex`, else the step's.
        let r = list("- delete: {tags: 'pr-\\d+', use-regex: true}\n").rules;
        assert!(r[0].when.tags.is_match("pr-12"));
        let regex = Context {
            syntax: Syntax::Regex,
            ..context()
        };
        assert!(
            parse("- delete: {tags: 'pr-\\d+'}", regex).unwrap().rules[0]
                .when
                .tags
                .is_match("pr-7")
        );
    }

    #[test]
    fn every_bad_list_names_the_rule_the_key_and_the_place() {
        refused(
            "- keep: {tags: x",
            &["is not valid YAML", "line 2 column 1"],
        );
        refused(
            "name: x",
            &["must be a YAML list of rules", "not a mapping"],
        );
        refused("", &["holds no rule"]);
        refused("# nothing\n", &["holds no rule"]);
        refused("- [a]", &["rule 1 (line 1, column 3)", "must be a mapping"]);
        refused(
            "- keep: {}\n- name: b\n  delete: {tags: x, older_than: 14d}",
            &[
                "rule 'b' (line 3, column 21), key `older_than`",
                "did you mean `older-than`?",
            ],
        );
        refused(
            "- delete: {tags: x, newest: 3}",
            &["rule 1", "key `newest`", "belongs in a keep rule"],
        );
        refused(
            "- keep: {per: major, newest: 2, untag: true}",
            &["key `untag`", "belongs in a delete rule"],
        );
        refused("- keep: {per: major}", &["key `per`", "needs `newest`"]);
        refused(
            "- keep: {}\n  delete: {tags: x}",
            &["rule 1", "exactly one of `keep` and `delete`"],
        );
        refused("- name: a", &["rule 'a'", "neither `keep` nor `delete`"]);
        refused(
            "- tags: x",
            &["key `tags`", "conditions go under `keep:` or `delete:`"],
        );
        refused("- kept: {}", &["key `kept`", "did you mean `keep`?"]);
        refused("- keep: {name: a}", &["key `name`", "goes beside `keep:`"]);
        refused(
            "- name: a\n  keep: {}\n- name: a\n  keep: {}",
            &["rule 'a' (line 3, column 3), key `name`", "unique"],
        );
        refused(
            "- delete: {packages: web, exclude-tags: v*}",
            &["rule 1", "key `delete`", "selects nothing"],
        );
        refused("- delete: {newer-than: 1d}", &["selects nothing"]);
        refused(
            "- delete: {older-than: 14days}",
            &[
                "key `older-than`",
                "'days' is not a unit",
                "(value: '14days')",
            ],
        );
        refused("- delete: {older-than: 14m}", &["key `older-than`", "14m"]);
        refused(
            "- delete: {tags: 'pr-['}",
            &["key `tags`", "(value: 'pr-[')"],
        );
        refused(
            "- delete: {semver-range: 1.2.3}",
            &["key `semver-range`", "=1.2.3"],
        );
        refused("- keep: {newest: -1}", &["key `newest`", "whole number"]);
        refused("- keep: {newest: ten}", &["key `newest`", "(value: 'ten')"]);
        refused("- keep: {newest: 2, per: patch}", &["key `per`", "`major`"]);
        refused(
            "- delete: {tags: x, untag: yes}",
            &["key `untag`", "`true`"],
        );
        refused(
            "- delete: {tags: x, tag-match: any, untag: true}",
            &["key `untag`", "tag-match: any"],
        );
        refused("- keep: {tag-match: some}", &["key `tag-match`", "`all`"]);
        refused(
            "- delete: {tags: [a, {b: c}]}",
            &["key `tags`", "not a list"],
        );
        refused(
            "- delete: {tags: x}\n  name: [a]",
            &["key `name`", "non-empty string"],
        );
        // Anchors and aliases, wherever they stand.
        refused(
            "- name: a\n  keep: &k {tags: v*}\n- name: b\n  keep: *k",
            &["anchor or alias", "line 2, column 9"],
        );
        refused("- delete: {tags: &t x}\n", &["anchor or alias", "line 1"]);
        // Sizes.
        let many: String = (0..=MAX_RULES)
            .map(|i| format!("- name: r{i}\n  keep: {{}}\n"))
            .collect();
        refused(&many, &["holds 101 rules", "at most 100"]);
        let big = format!("- keep: {{tags: '{}'}}", "x".repeat(MAX_BYTES));
        refused(&big, &["bytes of YAML", "64 KiB"]);
        // Other package types.
        let npm = Context {
            package_type: PackageType::Npm,
            ..context()
        };
        let e = parse("- delete: {untagged: true}", npm)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("only container and docker versions have tags"),
            "{e}"
        );
        let e = parse("- delete: {tags: x, untag: true}", npm)
            .unwrap_err()
            .to_string();
        assert!(e.contains("container images only"), "{e}");
    }

    #[test]
    fn a_message_echoes_only_the_offending_value() {
        let secret = "- name: a\n  keep: {tags: 'do-not-echo'}\n- delete: {older-than: 3x}\n";
        let message = parse(secret, context()).unwrap_err().to_string();
        assert!(!message.contains("do-not-echo"), "{message}");
        assert!(message.contains("rule 2 (line 3, column 12)"), "{message}");
    }
}
