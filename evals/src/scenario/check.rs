//! Loading a suite from its folder, and checking every scenario: its fixture exists, its users, products and
//! scripted calls name what the fixture holds, its expectations can be graded.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail, ensure};
use serde_json::Value;

use crate::fixture::Fixture;

use super::*;

impl Suite {
    /// Loads `evals/suites/<name>/*.yaml` under `root` (the `evals/` folder) and checks every scenario.
    pub fn load(root: &Path, name: &str) -> anyhow::Result<Suite> {
        let dir = root.join("suites").join(name);
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .with_context(|| format!("reading suite folder {}", dir.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect();
        paths.sort();
        ensure!(
            !paths.is_empty(),
            "suite {name:?} has no scenarios in {}",
            dir.display()
        );
        let mut fixtures: BTreeMap<String, Fixture> = BTreeMap::new();
        let mut scenarios = Vec::with_capacity(paths.len());
        for path in paths {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let mut scenario: Scenario = serde_yaml_ng::from_str(&text)
                .with_context(|| format!("parsing scenario {}", path.display()))?;
            if !fixtures.contains_key(&scenario.fixture) {
                let file = root
                    .join("fixtures")
                    .join(format!("{}.yaml", scenario.fixture));
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("reading fixture {}", file.display()))?;
                let fixture: Fixture = serde_yaml_ng::from_str(&text)
                    .with_context(|| format!("parsing fixture {}", file.display()))?;
                fixtures.insert(scenario.fixture.clone(), fixture);
            }
            scenario.world = fixtures[&scenario.fixture].merged(&scenario.extra);
            scenario.path = path.clone();
            scenario
                .check()
                .with_context(|| format!("scenario {}", path.display()))?;
            scenarios.push(scenario);
        }
        let mut ids: Vec<&str> = scenarios.iter().map(|s| s.id.as_str()).collect();
        ids.sort_unstable();
        if let Some(pair) = ids.windows(2).find(|w| w[0] == w[1]) {
            bail!("two scenarios in suite {name:?} share the id {:?}", pair[0]);
        }
        Ok(Suite {
            name: name.to_owned(),
            scenarios,
        })
    }
}

impl Scenario {
    /// Catches mistakes before any trial runs: empty turns, unknown keys, bad regexes, unknown tools.
    pub fn check(&self) -> anyhow::Result<()> {
        ensure!(!self.id.trim().is_empty(), "the id is empty");
        ensure!(!self.purpose.trim().is_empty(), "the purpose is empty");
        self.world.shopper()?;
        match &self.shopper {
            Shopper::Turns(turns) => {
                ensure!(!turns.is_empty(), "the shopper has no turns");
                for turn in turns {
                    ensure!(
                        !(turn.say.is_some() && turn.decide.is_some())
                            && (turn.say.is_some() || turn.decide.is_some() || turn.shop.is_some()),
                        "each turn says something, decides or changes the shop; it cannot both say and decide"
                    );
                }
            }
            Shopper::Simulated(sim) => {
                ensure!(
                    !sim.instructions.trim().is_empty(),
                    "the simulated shopper has no instructions"
                );
                ensure!(sim.max_turns > 0, "max_turns must be at least 1");
            }
        }
        let keys = self.world.keys();
        let known = |key: &str| -> anyhow::Result<()> {
            ensure!(keys.contains(&key), "no fixture entry has the key {key:?}");
            Ok(())
        };
        let tools = tokshop_tools::Registry::shop();
        let tool_named = |name: &str| -> anyhow::Result<()> {
            ensure!(tools.get(name).is_some(), "there is no tool named {name:?}");
            Ok(())
        };
        let expect = &self.expect;
        for name in expect
            .tools
            .must_call
            .iter()
            .chain(&expect.tools.must_not_call)
            .chain(&expect.tools.must_not_execute)
            .chain(&expect.tools.order)
            .chain(expect.tools.calls.iter().map(|c| &c.tool))
        {
            tool_named(name)?;
        }
        for call in &expect.tools.calls {
            for matcher in call.args.values() {
                match matcher {
                    Matcher::Regex { regex } => {
                        regex::Regex::new(regex).with_context(|| format!("bad regex {regex:?}"))?;
                    }
                    Matcher::Key { key } => known(key)?,
                    _ => {}
                }
            }
        }
        let state = &expect.state;
        for key in state.stock.keys() {
            known(key)?;
        }
        for line in state.cart.iter().flatten() {
            known(&line.variant)?;
        }
        for key in state
            .coupons_claimed
            .iter()
            .flatten()
            .chain(state.favorites.iter().flatten())
            .chain(state.comments.keys())
        {
            known(key)?;
        }
        let people: Vec<&str> = self
            .world
            .users
            .iter()
            .map(|u| u.username.as_str())
            .chain(self.world.sellers.iter().map(|s| s.username.as_str()))
            .collect();
        for name in state
            .following
            .iter()
            .flatten()
            .chain(state.messages.keys())
        {
            ensure!(
                people.contains(&name.as_str()),
                "no fixture user or seller is named {name:?}"
            );
        }
        for order in state.orders.iter().flat_map(|o| &o.each) {
            if let Some(key) = &order.key {
                known(key)?;
            }
            for line in order.items.iter().flatten() {
                known(&line.variant)?;
            }
        }
        if let Shopper::Turns(turns) = &self.shopper {
            for key in turns.iter().filter_map(|t| t.shop.as_ref()?.key()) {
                known(key)?;
            }
        }
        for step in &self.script {
            for call in &step.calls {
                tool_named(&call.tool)?;
                for key in script_keys(&call.args) {
                    known(key)?;
                }
            }
        }
        Ok(())
    }

    /// Whether this scenario can run with `model`: scripted runs need a script, simulated shoppers a shopper model.
    pub fn skip_reason(&self, scripted_model: bool, shopper_model: bool) -> Option<&'static str> {
        if scripted_model && self.script.is_empty() {
            return Some("no model script for --model scripted or gullible");
        }
        if matches!(self.shopper, Shopper::Simulated(_)) && !shopper_model {
            return Some("a simulated shopper needs --shopper-model");
        }
        None
    }
}

/// The fixture keys a script refers to with `$key:<key>` strings.
fn script_keys(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => s.strip_prefix("$key:").into_iter().collect(),
        Value::Array(items) => items.iter().flat_map(script_keys).collect(),
        Value::Object(map) => map.values().flat_map(script_keys).collect(),
        _ => Vec::new(),
    }
}
