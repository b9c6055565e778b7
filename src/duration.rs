//! Durations for `older-than` (and later `deleted-within`): one or more `<number><unit>`
//! with units `s m h d w`, as in `90d`, `1w2d`, `36h`. A unit is required.

use chrono::TimeDelta;

/// Parse a duration; the error says what is wrong, for the input's message.
pub fn parse_duration(text: &str) -> Result<TimeDelta, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("is empty".into());
    }
    let mut total: i64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit: i64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => {
                return Err(format!(
                    "'{c}' is not a unit: write <number><unit> with units s, m, h, d, w (e.g. 90d, 1w2d, 36h)"
                ))
            }
        };
        if number.is_empty() {
            return Err(format!("unit '{c}' has no number before it"));
        }
        let n: i64 = number.parse().map_err(|_| "number too large".to_string())?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| "duration too large".to_string())?;
        number.clear();
    }
    if !number.is_empty() {
        return Err(format!(
            "'{number}' has no unit: write e.g. {number}d (units s, m, h, d, w)"
        ));
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
        assert_eq!(parse_duration("1h30m15s"), Ok(TimeDelta::seconds(5415)));
        assert_eq!(parse_duration("0s"), Ok(TimeDelta::zero()));
    }

    #[test]
    fn bad_durations_say_why() {
        assert!(parse_duration("90").unwrap_err().contains("no unit"));
        assert!(parse_duration("d").unwrap_err().contains("no number"));
        assert!(parse_duration("3y").unwrap_err().contains("not a unit"));
        assert!(parse_duration("1 d").unwrap_err().contains("not a unit"));
        assert!(parse_duration("-1d").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
        assert!(parse_duration("9999999999999w").is_err());
    }
}
