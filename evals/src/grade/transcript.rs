//! What the agent did and said: the tool trajectory, the replies, the budgets.

use serde_json::Value;

use crate::{
    fixture::Loaded,
    scenario::{Matcher, Scenario, Shopper},
    transcript::Transcript,
};

use super::*;

pub(super) fn trajectory(
    scenario: &Scenario,
    transcript: &Transcript,
    loaded: &Loaded,
) -> Vec<Failure> {
    let expect = &scenario.expect.tools;
    let calls = transcript.calls();
    let proposed: Vec<&str> = calls
        .iter()
        .filter(|c| !c.executed)
        .map(|c| c.name)
        .collect();
    let executed: Vec<&str> = calls
        .iter()
        .filter(|c| c.executed)
        .map(|c| c.name)
        .collect();
    let mut failures = Vec::new();
    if expect.none && !calls.is_empty() {
        failures.push(fail(
            "tools.none",
            format!("expected no tool calls, got {}", proposed.join(", ")),
        ));
    }
    for name in &expect.must_call {
        if !proposed.contains(&name.as_str()) && !executed.contains(&name.as_str()) {
            failures.push(fail("tools.must_call", format!("{name} was never called")));
        }
    }
    for name in &expect.must_not_call {
        if proposed.contains(&name.as_str()) || executed.contains(&name.as_str()) {
            failures.push(fail("tools.must_not_call", format!("{name} was called")));
        }
    }
    for name in &expect.must_not_execute {
        if executed.contains(&name.as_str()) {
            failures.push(fail("tools.must_not_execute", format!("{name} ran")));
        }
    }
    let mut remaining = proposed.iter();
    for name in &expect.order {
        if !remaining.any(|called| called == name) {
            failures.push(fail(
                "tools.order",
                format!(
                    "expected {} in that order; the calls were {}",
                    expect.order.join(" -> "),
                    proposed.join(" -> ")
                ),
            ));
            break;
        }
    }
    for wanted in &expect.calls {
        let candidates: Vec<_> = calls.iter().filter(|c| c.name == wanted.tool).collect();
        let mut closest: Option<String> = None;
        let matched = candidates.iter().any(|call| {
            let mismatch = wanted.args.iter().find_map(|(path, matcher)| {
                let value = lookup(call.arguments, path);
                match matches(matcher, value, loaded) {
                    Ok(()) => None,
                    Err(why) => Some(format!("{path}: {why}")),
                }
            });
            match mismatch {
                None => true,
                Some(why) => {
                    closest.get_or_insert(why);
                    false
                }
            }
        });
        if !matched {
            let detail = match (candidates.is_empty(), closest) {
                (true, _) => format!("{} was never called", wanted.tool),
                (false, Some(why)) => format!("no {} call matched ({why})", wanted.tool),
                (false, None) => format!("no {} call matched", wanted.tool),
            };
            failures.push(fail("tools.calls", detail));
        }
    }
    failures
}

/// `items.0.quantity` inside a JSON value.
pub(super) fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(value, |current, part| match current {
            Value::Object(map) => map.get(part),
            Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
}

pub(super) fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Compares one argument with its matcher; the error says what was there instead.
pub fn matches(matcher: &Matcher, value: Option<&Value>, loaded: &Loaded) -> Result<(), String> {
    let shown = || value.map_or_else(|| "absent".to_owned(), Value::to_string);
    let present = value.filter(|v| !v.is_null());
    match matcher {
        Matcher::Absent { absent } => {
            if present.is_none() == *absent {
                Ok(())
            } else {
                Err(format!(
                    "expected it {}, got {}",
                    if *absent { "absent" } else { "present" },
                    shown()
                ))
            }
        }
        Matcher::Exact(expected) => match present {
            Some(v) if v == expected => Ok(()),
            Some(v) if as_number(v).is_some() && as_number(v) == as_number(expected) => Ok(()),
            Some(Value::String(s))
                if expected.as_str().is_some_and(|e| e.eq_ignore_ascii_case(s)) =>
            {
                Ok(())
            }
            _ => Err(format!("expected {expected}, got {}", shown())),
        },
        Matcher::OneOf { one_of } => {
            if one_of
                .iter()
                .any(|option| matches(&Matcher::Exact(option.clone()), value, loaded).is_ok())
            {
                Ok(())
            } else {
                Err(format!(
                    "expected one of {}, got {}",
                    Value::Array(one_of.clone()),
                    shown()
                ))
            }
        }
        Matcher::Regex { regex } => {
            let text = match present {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => return Err(format!("expected a match for /{regex}/, got absent")),
            };
            match regex::Regex::new(regex) {
                Ok(re) if re.is_match(&text) => Ok(()),
                Ok(_) => Err(format!("expected a match for /{regex}/, got {text:?}")),
                Err(err) => Err(format!("bad regex {regex:?}: {err}")),
            }
        }
        Matcher::Approx { approx, tolerance } => match present.and_then(as_number) {
            Some(n) if (n - approx).abs() <= *tolerance + f64::EPSILON * approx.abs().max(1.0) => {
                Ok(())
            }
            _ => Err(format!("expected {approx} ± {tolerance}, got {}", shown())),
        },
        Matcher::Key { key } => match (loaded.ids.get(key), present.and_then(Value::as_str)) {
            (Some(id), Some(v)) if v == id => Ok(()),
            (None, _) => Err(format!("no fixture entry has the key {key:?}")),
            _ => Err(format!(
                "expected the id of {key}, got {}",
                present
                    .and_then(Value::as_str)
                    .and_then(|v| loaded.key_of(v))
                    .map_or_else(shown, |k| format!("the id of {k}"))
            )),
        },
    }
}

pub(super) fn contains(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

pub(super) fn replies(scenario: &Scenario, transcript: &Transcript) -> Vec<Failure> {
    let expect = &scenario.expect.reply;
    let mut failures = Vec::new();
    let last = transcript.final_reply();
    for phrase in &expect.contains {
        if !contains(last, phrase) {
            failures.push(fail(
                "reply.contains",
                format!("the last reply lacks {phrase:?}: {}", clip(last)),
            ));
        }
    }
    if !expect.any_of.is_empty() && !expect.any_of.iter().any(|p| contains(last, p)) {
        failures.push(fail(
            "reply.any_of",
            format!(
                "the last reply has none of {:?}: {}",
                expect.any_of,
                clip(last)
            ),
        ));
    }
    for phrase in &expect.not_contains {
        if let Some((i, reply)) = transcript
            .replies()
            .enumerate()
            .find(|(_, r)| contains(r, phrase))
        {
            failures.push(fail(
                "reply.not_contains",
                format!("reply {} contains {phrase:?}: {}", i + 1, clip(reply)),
            ));
        }
    }
    if let Shopper::Turns(turns) = &scenario.shopper {
        // A turn that only changes the shop leaves no record of its own.
        let acts = turns
            .iter()
            .filter(|t| t.say.is_some() || t.decide.is_some());
        for (i, (turn, record)) in acts.zip(&transcript.turns).enumerate() {
            for phrase in &turn.reply_contains {
                if !contains(&record.reply, phrase) {
                    failures.push(fail(
                        "turn.reply_contains",
                        format!(
                            "turn {}'s reply lacks {phrase:?}: {}",
                            i + 1,
                            clip(&record.reply)
                        ),
                    ));
                }
            }
        }
    }
    failures
}

pub(super) fn clip(text: &str) -> String {
    let mut clipped: String = text.chars().take(160).collect();
    if clipped.len() < text.len() {
        clipped.push('…');
    }
    format!("{clipped:?}")
}

pub(super) fn budget(scenario: &Scenario, transcript: &Transcript) -> Vec<Failure> {
    let budget = &scenario.expect.budget;
    let (steps, input, output) = transcript.usage();
    let mut failures = Vec::new();
    if let Some(max) = budget.steps
        && steps > max
    {
        failures.push(fail("budget.steps", format!("{steps} steps, budget {max}")));
    }
    if let Some(max) = budget.tokens
        && input + output > max
    {
        failures.push(fail(
            "budget.tokens",
            format!("{} tokens, budget {max}", input + output),
        ));
    }
    if let Some(max) = budget.seconds {
        let seconds = transcript.duration_ms as f64 / 1000.0;
        if seconds > max {
            failures.push(fail(
                "budget.seconds",
                format!("{seconds:.1} s, budget {max} s"),
            ));
        }
    }
    failures
}
