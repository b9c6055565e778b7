//! Durations for `older-than`, `deleted-within` and `max-duration`: one or more
//! `<number><unit>` with units `s min h d w`, as in `90d`, `1w2d`, `36h`, `45min`. A unit is
//! required, and a bare `m` is refused: minutes or months? (SPEC §1)

use chrono::TimeDelta;

const UNITS: &str = "s, min, h, d, w";

/// Parse a duration; the error says what is wrong, for the input's message.
pub fn parse_duration(text: &str) -> Result<TimeDelta, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("is empty".into());
    }
    if text.starts_with('-') {
        return Err("is negative: a duration counts back from now and cannot be below zero".into());
    }
    let mut total: i64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(digits);
        let letters = after
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(letters);
        if unit.is_empty() {
            return match after.chars().next() {
                Some(c) => Err(format!(
                    "'{c}' is not a unit: write <number><unit> with units {UNITS} (e.g. 90d, 1w2d, 36h)"
                )),
                None => Err(format!(
                    "'{number}' has no unit: write e.g. {number}d (units {UNITS})"
                )),
            };
        }
        let seconds: i64 = match unit {
            "s" => 1,
            "min" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 604_800,
            "m" => {
                return Err(format!(
                    "'{number}m' is ambiguous (minutes or months?): write '{number}min' for minutes, or days such as '30d'"
                ))
            }
            other => {
                return Err(format!(
                    "'{other}' is not a unit: write <number><unit> with units {UNITS} (e.g. 90d, 1w2d, 36h)"
                ))
            }
        };
        if number.is_empty() {
            return Err(format!("unit '{unit}' has no number before it"));
        }
        let n: i64 = number.parse().map_err(|_| "number too large".to_string())?;
        total = n
            .checked_mul(seconds)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| "duration too large".to_string())?;
        rest = after;
    }
    TimeDelta::try_seconds(total).ok_or_else(|| "duration too large".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_add_their_parts() {
        assert_eq!(parse_duration("90d"), Ok(TimeDelta::days(90)));
        assert_eq!(parse_duration("1w2d"), Ok(TimeDelta::days(9)));
        assert_eq!(parse_duration("36h"), Ok(TimeDelta::hours(36)));
        assert_eq!(parse_duration("1h30min15s"), Ok(TimeDelta::seconds(5415)));
        assert_eq!(parse_duration("45min"), Ok(TimeDelta::minutes(45)));
        assert_eq!(parse_duration("0s"), Ok(TimeDelta::zero()));
    }

    #[test]
    fn bad_durations_say_why() {
        assert!(parse_duration("90").unwrap_err().contains("no unit"));
        assert!(parse_duration("d").unwrap_err().contains("no number"));
        assert!(parse_duration("3y").unwrap_err().contains("not a unit"));
        assert!(parse_duration("1 d").unwrap_err().contains("not a unit"));
        assert!(parse_duration("6m")
            .unwrap_err()
            .contains("'6min' for minutes"));
        assert!(parse_duration("-1d").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
        assert!(parse_duration("9999999999999w").is_err());
    }
}
