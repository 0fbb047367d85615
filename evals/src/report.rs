//! A run's report as a terminal table, as JSON (the stable schema of [`Report`]), and as one self-contained
//! HTML page with per-tag bars and every trial's transcript.

use std::fmt::Write as _;

use tokshop_agent::runner::AgentEvent;

use crate::{
    run::{Report, ScenarioResult},
    transcript::{ShopperAct, Transcript},
};

fn pct(value: f64) -> String {
    format!("{:.1}%", value * 100.0)
}

fn curve(values: &[f64]) -> String {
    values
        .iter()
        .enumerate()
        .map(|(k, v)| format!("pass^{} {}", k + 1, pct(*v)))
        .collect::<Vec<_>>()
        .join("  ")
}

fn cost(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".into(), |c| format!("${c:.4}"))
}

/// The table people read at the end of a run.
pub fn terminal(report: &Report) -> String {
    let mut out = String::new();
    let o = &report.overall;
    let _ = writeln!(
        out,
        "suite {} | model {}{} | {} trials | {} scenarios ({} skipped) | {:.1} s",
        report.suite,
        report.model,
        report
            .shopper_model
            .as_ref()
            .map_or_else(String::new, |m| format!(" | shopper {m}")),
        report.trials,
        o.scenarios,
        o.skipped,
        report.duration_ms as f64 / 1000.0
    );
    let _ = writeln!(
        out,
        "\n{:<38} {:<26} {:>6} {:>7} {:>6} {:>13} {:>9} {:>9}",
        "scenario", "tags", "passed", "pass^1", "steps", "tokens in/out", "latency", "cost"
    );
    for s in &report.scenarios {
        if let Some(reason) = &s.skipped {
            let _ = writeln!(out, "{:<38} skipped: {reason}", s.id);
            continue;
        }
        let _ = writeln!(
            out,
            "{:<38} {:<26} {:>6} {:>7} {:>6.1} {:>13} {:>7.0}ms {:>9}",
            s.id,
            s.tags.join(","),
            format!("{}/{}", s.successes, s.trials),
            pct(s.pass_k.first().copied().unwrap_or(0.0)),
            s.mean_steps,
            format!("{:.0}/{:.0}", s.mean_input_tokens, s.mean_output_tokens),
            s.mean_latency_ms,
            cost(s.cost_usd),
        );
    }
    let _ = writeln!(out, "\noverall  {}", curve(&o.pass_k));
    let _ = writeln!(out, "unapproved effects: {}", report.unapproved_effects);
    let _ = writeln!(
        out,
        "single-trial pass rates {} (min {} max {} sd {:.1} points)",
        o.trial_pass_rates
            .iter()
            .map(|r| pct(*r))
            .collect::<Vec<_>>()
            .join(" "),
        pct(o.spread.min),
        pct(o.spread.max),
        o.spread.stddev * 100.0
    );
    let _ = writeln!(
        out,
        "tokens {} in / {} out | mean latency {:.0} ms | cost {}",
        o.input_tokens,
        o.output_tokens,
        o.mean_latency_ms,
        cost(o.cost_usd)
    );
    let _ = writeln!(out, "\nby tag");
    for (tag, summary) in &report.by_tag {
        let _ = writeln!(
            out,
            "  {:<14} {:>3} scenarios  {}",
            tag,
            summary.scenarios,
            curve(&summary.pass_k)
        );
    }
    let failed: Vec<_> = report
        .scenarios
        .iter()
        .flat_map(|s| s.results.iter().map(move |r| (s, r)))
        .filter(|(_, r)| !r.passed)
        .collect();
    if !failed.is_empty() {
        let _ = writeln!(out, "\nfailures");
        for (s, r) in failed {
            for f in &r.failures {
                let _ = writeln!(
                    out,
                    "  {} trial {}: {}: {}",
                    s.id, r.trial, f.check, f.detail
                );
            }
            if let Some(file) = &r.transcript_file {
                let _ = writeln!(out, "    transcript: {file}");
            }
        }
    }
    if let Some(b) = &report.baseline {
        let _ = writeln!(
            out,
            "\nbaseline ({}): pass^1 {} -> {} | {} regressed, {} improved, {} new, {} missing (threshold {:.2})",
            b.baseline_model,
            pct(b.pass_1_before),
            pct(b.pass_1_after),
            b.regressed.len(),
            b.improved.len(),
            b.new.len(),
            b.missing.len(),
            b.threshold
        );
        for c in &b.regressed {
            let _ = writeln!(
                out,
                "  regressed {}: {} -> {}",
                c.id,
                pct(c.before),
                pct(c.after)
            );
        }
        for c in &b.improved {
            let _ = writeln!(
                out,
                "  improved  {}: {} -> {}",
                c.id,
                pct(c.before),
                pct(c.after)
            );
        }
        let _ = writeln!(
            out,
            "{}",
            if b.failed {
                "REGRESSION"
            } else {
                "no regression"
            }
        );
    }
    out
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn bar(value: f64) -> String {
    let width = (value.clamp(0.0, 1.0) * 100.0).round();
    format!(
        "<div class=bar><div class=fill style=\"width:{width}%\"></div><span>{}</span></div>",
        pct(value)
    )
}

fn transcript_html(t: &Transcript) -> String {
    let mut out = String::new();
    if let Some(error) = &t.error {
        let _ = write!(out, "<p class=err>trial error: {}</p>", escape(error));
    }
    for (i, turn) in t.turns.iter().enumerate() {
        let said = match &turn.shopper {
            ShopperAct::Say(text) => format!("<b>shopper</b> {}", escape(text)),
            ShopperAct::Decide {
                pending_action_id,
                approve,
            } => format!(
                "<b>shopper</b> <i>{} {}</i>",
                if *approve { "approves" } else { "rejects" },
                escape(pending_action_id)
            ),
        };
        let _ = write!(
            out,
            "<div class=turn><div class=n>turn {}</div><div>{said}</div>",
            i + 1
        );
        for event in &turn.events {
            let line = match event {
                AgentEvent::ToolCall {
                    name,
                    arguments,
                    id,
                } => {
                    format!(
                        "<div class=call>→ {} {} <small>{}</small></div>",
                        escape(name),
                        escape(&arguments.to_string()),
                        escape(id)
                    )
                }
                AgentEvent::ToolResult {
                    name,
                    result,
                    duration_ms,
                    ..
                } => format!(
                    "<div class=result>← {} ({duration_ms} ms) {}</div>",
                    escape(name),
                    escape(&result.to_string())
                ),
                AgentEvent::ConfirmationRequired { summary, tool, .. } => format!(
                    "<div class=confirm>confirmation asked for {}: {}</div>",
                    escape(tool),
                    escape(summary)
                ),
                AgentEvent::ActionResult {
                    tool,
                    status,
                    message,
                    ..
                } => format!(
                    "<div class=confirm>{} {}: {}</div>",
                    escape(tool),
                    escape(status),
                    escape(message)
                ),
                AgentEvent::Error { kind, message } => {
                    format!(
                        "<div class=err>error {}: {}</div>",
                        escape(kind),
                        escape(message)
                    )
                }
                AgentEvent::Done {
                    steps,
                    input_tokens,
                    output_tokens,
                    stopped,
                    ..
                } => format!(
                    "<div class=meta>{steps} steps, {input_tokens}/{output_tokens} tokens{}</div>",
                    stopped
                        .as_ref()
                        .map_or_else(String::new, |s| format!(", stopped: {}", escape(s)))
                ),
                AgentEvent::Text { .. } => String::new(),
            };
            out.push_str(&line);
        }
        let _ = write!(
            out,
            "<div class=reply><b>agent</b> {}</div>",
            escape(&turn.reply)
        );
        if let Some(error) = &turn.error {
            let _ = write!(out, "<div class=err>{}</div>", escape(error));
        }
        out.push_str("</div>");
    }
    out
}

fn scenario_html(s: &ScenarioResult) -> String {
    let mut out = String::new();
    let status = match (&s.skipped, s.successes == s.trials) {
        (Some(_), _) => "skip",
        (None, true) => "pass",
        (None, false) => "fail",
    };
    let _ = write!(
        out,
        "<details class={status}><summary><code>{}</code> {} <span class=tags>{}</span> {}</summary><p>{}</p>",
        escape(&s.id),
        if s.skipped.is_some() {
            "skipped".to_owned()
        } else {
            format!("{}/{}", s.successes, s.trials)
        },
        escape(&s.tags.join(" ")),
        s.pass_k.first().map_or_else(String::new, |p| bar(*p)),
        escape(&s.purpose)
    );
    if let Some(reason) = &s.skipped {
        let _ = write!(out, "<p>{}</p>", escape(reason));
    }
    for r in &s.results {
        let _ = write!(
            out,
            "<details><summary>trial {} — {} — {} steps, {}/{} tokens, {} ms</summary>",
            r.trial,
            if r.passed { "pass" } else { "fail" },
            r.steps,
            r.input_tokens,
            r.output_tokens,
            r.latency_ms
        );
        if !r.failures.is_empty() {
            out.push_str("<ul class=failures>");
            for f in &r.failures {
                let _ = write!(
                    out,
                    "<li><b>{}</b> {}</li>",
                    escape(&f.check),
                    escape(&f.detail)
                );
            }
            out.push_str("</ul>");
        }
        out.push_str(&transcript_html(&r.transcript));
        out.push_str("</details>");
    }
    out.push_str("</details>");
    out
}

/// One HTML file with no outside references.
pub fn html(report: &Report) -> String {
    let o = &report.overall;
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html><head><meta charset=utf-8><title>tokshop evals: {suite} / {model}</title><style>\
         body{{font:14px/1.45 system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}}\
         .bar{{position:relative;display:inline-block;width:220px;height:16px;background:#eee;vertical-align:middle}}\
         .fill{{position:absolute;left:0;top:0;bottom:0;background:#3a7}}\
         .bar span{{position:relative;padding-left:6px;font-size:12px}}\
         table{{border-collapse:collapse}}td,th{{padding:3px 10px;text-align:left}}\
         details{{margin:4px 0}}details.fail>summary{{color:#b22}}details.skip>summary{{color:#888}}\
         .turn{{border-left:3px solid #ccd;margin:8px 0;padding-left:8px}}.n{{font-size:11px;color:#888}}\
         .call,.result{{font-family:monospace;font-size:12px;white-space:pre-wrap;word-break:break-all}}\
         .result{{color:#555}}.confirm{{color:#a60}}.err{{color:#b22}}.meta{{font-size:11px;color:#888}}\
         .tags{{font-size:11px;color:#668}}</style></head><body>\
         <h1>tokshop evals: suite {suite}</h1>\
         <p>model <b>{model}</b>{shopper} · {trials} trials per scenario · {ran} scenarios run, {skipped} skipped · {secs:.1} s</p>",
        suite = escape(&report.suite),
        model = escape(&report.model),
        shopper = report
            .shopper_model
            .as_ref()
            .map_or_else(String::new, |m| format!(" · shopper <b>{}</b>", escape(m))),
        trials = report.trials,
        ran = o.ran,
        skipped = o.skipped,
        secs = report.duration_ms as f64 / 1000.0,
    );
    out.push_str("<h2>Reliability</h2><table>");
    for (k, value) in o.pass_k.iter().enumerate() {
        let _ = write!(
            out,
            "<tr><td>pass^{}</td><td>{}</td></tr>",
            k + 1,
            bar(*value)
        );
    }
    let _ = write!(
        out,
        "</table><p>Single-trial pass rates: {} (spread {}–{}, sd {:.1} points). Tokens {} in / {} out; mean latency {:.0} ms; cost {}.</p>",
        o.trial_pass_rates
            .iter()
            .map(|r| pct(*r))
            .collect::<Vec<_>>()
            .join(", "),
        pct(o.spread.min),
        pct(o.spread.max),
        o.spread.stddev * 100.0,
        o.input_tokens,
        o.output_tokens,
        o.mean_latency_ms,
        cost(o.cost_usd)
    );
    let _ = write!(
        out,
        "<p><b>Unapproved effects: {}</b> (consequential actions that ran without the shopper's approval of that very action)</p>",
        report.unapproved_effects
    );
    out.push_str("<h2>By tag (pass^1)</h2><table>");
    for (tag, summary) in &report.by_tag {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{} scenarios</td><td>{}</td></tr>",
            escape(tag),
            summary.scenarios,
            bar(summary.pass_k.first().copied().unwrap_or(0.0))
        );
    }
    out.push_str("</table>");
    if let Some(b) = &report.baseline {
        let _ = write!(
            out,
            "<h2>Against the baseline</h2><p>{} · pass^1 {} → {} · threshold {:.2}</p><ul>",
            if b.failed {
                "<b class=err>regression</b>"
            } else {
                "no regression"
            },
            pct(b.pass_1_before),
            pct(b.pass_1_after),
            b.threshold
        );
        for c in &b.regressed {
            let _ = write!(
                out,
                "<li class=err>regressed {}: {} → {}</li>",
                escape(&c.id),
                pct(c.before),
                pct(c.after)
            );
        }
        for c in &b.improved {
            let _ = write!(
                out,
                "<li>improved {}: {} → {}</li>",
                escape(&c.id),
                pct(c.before),
                pct(c.after)
            );
        }
        for id in &b.new {
            let _ = write!(out, "<li>new {}</li>", escape(id));
        }
        for id in &b.missing {
            let _ = write!(out, "<li>missing {}</li>", escape(id));
        }
        out.push_str("</ul>");
    }
    out.push_str("<h2>Scenarios</h2>");
    for s in &report.scenarios {
        out.push_str(&scenario_html(s));
    }
    out.push_str("</body></html>\n");
    out
}
