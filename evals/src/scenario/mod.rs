//! Scenarios (`evals/suites/<suite>/*.yaml`): a fixture, a shopper (scripted turns or a simulated shopper with
//! instructions), and expectations about the final state, the tool trajectory, the replies and the budgets.
//!
//! Loading a suite and checking each scenario against its fixture is in [`check`].

mod check;

use std::{collections::BTreeMap, path::PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::fixture::{Fixture, LineFixture};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub id: String,
    /// One line: what this scenario checks and why it matters.
    pub purpose: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// A fixture file under `evals/fixtures/`, by name; `shop` when unset.
    #[serde(default = "default_fixture")]
    pub fixture: String,
    /// Entries added to that fixture for this scenario alone.
    #[serde(default)]
    pub extra: Fixture,
    pub shopper: Shopper,
    #[serde(default)]
    pub expect: Expect,
    /// Model replies for `--model scripted`: each entry answers one model call, in order.
    #[serde(default)]
    pub script: Vec<ScriptStep>,
    /// Filled in when the suite is loaded: the fixture file merged with `extra`.
    #[serde(skip)]
    pub world: Fixture,
    #[serde(skip)]
    pub path: PathBuf,
}

fn default_fixture() -> String {
    "shop".into()
}

/// Who talks to the agent.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "ShopperSpec")]
pub enum Shopper {
    /// Fixed turns, in order.
    Turns(Vec<Turn>),
    /// A shopper played by a model (`--shopper-model`), following instructions.
    Simulated(Simulated),
}

/// `shopper:` as written: exactly one of `turns` and `simulated`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShopperSpec {
    #[serde(default)]
    turns: Option<Vec<Turn>>,
    #[serde(default)]
    simulated: Option<Simulated>,
}

impl TryFrom<ShopperSpec> for Shopper {
    type Error = String;

    fn try_from(spec: ShopperSpec) -> Result<Self, Self::Error> {
        match (spec.turns, spec.simulated) {
            (Some(turns), None) => Ok(Shopper::Turns(turns)),
            (None, Some(simulated)) => Ok(Shopper::Simulated(simulated)),
            _ => Err("the shopper has either `turns` or `simulated`, exactly one".into()),
        }
    }
}

/// One scripted shopper turn: a message, or a decision on the confirmation the agent asked for last.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    #[serde(default)]
    pub say: Option<String>,
    /// `approve` or `reject` the most recent pending action through the confirmation endpoint.
    #[serde(default)]
    pub decide: Option<Decision>,
    /// Phrases this turn's reply must contain (case-insensitive).
    #[serde(default)]
    pub reply_contains: Vec<String>,
    /// A change to the shop made outside the conversation before this turn (a seller's price, stock, the shopper's
    /// cart or address book from another device); a turn with only `shop` changes the shop and says nothing.
    #[serde(default, with = "serde_yaml_ng::with::singleton_map_recursive")]
    pub shop: Option<ShopChange>,
}

/// A change made outside the conversation, through the services, between two turns.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ShopChange {
    /// The variant's seller sets its price (major units).
    SetPrice { variant: String, price: String },
    /// The variant's seller sets its stock.
    SetStock { variant: String, stock: i64 },
    /// The shopper puts units in their cart (another device).
    CartAdd { variant: String, quantity: i64 },
    /// The shopper saves an address (another device).
    AddAddress {
        recipient: String,
        line1: String,
        city: String,
        postal_code: String,
        country: String,
        #[serde(default)]
        make_default: bool,
    },
}

impl ShopChange {
    /// The fixture key it names, if any.
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::SetPrice { variant, .. }
            | Self::SetStock { variant, .. }
            | Self::CartAdd { variant, .. } => Some(variant),
            Self::AddAddress { .. } => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Simulated {
    /// Who the shopper is and what they want, in the second person.
    pub instructions: String,
    /// Facts the shopper knows and gives only when asked.
    #[serde(default)]
    pub facts: BTreeMap<String, String>,
    /// The shopper's first message; the shopper model writes it when unset.
    #[serde(default)]
    pub opening: Option<String>,
    /// The conversation ends when the shopper says it is done or after this many shopper messages.
    #[serde(default = "default_max_turns")]
    pub max_turns: usize,
}

fn default_max_turns() -> usize {
    8
}

/// One scripted model reply.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptStep {
    #[serde(default)]
    pub say: Option<String>,
    #[serde(default)]
    pub calls: Vec<ScriptCall>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptCall {
    pub tool: String,
    #[serde(default = "empty_object")]
    pub args: Value,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// What must hold after the conversation. Every part is optional; "no consequential action without the
/// shopper's approval" is always checked.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Expect {
    pub state: StateExpect,
    pub tools: ToolsExpect,
    pub reply: ReplyExpect,
    pub budget: Budget,
}

/// The shop's state afterwards, read through the services as the shopper.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StateExpect {
    pub orders: Option<OrdersExpect>,
    /// The exact cart lines; `[]` means empty.
    pub cart: Option<Vec<LineFixture>>,
    /// Wallet balance, e.g. `"90.10"`.
    pub wallet: Option<String>,
    /// Available stock by variant key.
    pub stock: BTreeMap<String, i64>,
    /// Coupon keys the shopper holds claimed (used or not).
    pub coupons_claimed: Option<Vec<String>>,
    /// How many saved addresses the shopper has.
    pub addresses: Option<usize>,
    /// Exactly the users and sellers the shopper follows, by username.
    pub following: Option<Vec<String>>,
    /// Exactly the shopper's favorite products, by key.
    pub favorites: Option<Vec<String>>,
    /// Comments on products or posts, by the product's or post's key.
    pub comments: BTreeMap<String, TextsExpect>,
    /// The shopper's conversation with a user, by username.
    pub messages: BTreeMap<String, TextsExpect>,
}

/// A list of texts (comments, messages): how many, and phrases that must or must not be among them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TextsExpect {
    pub count: Option<i64>,
    pub contains: Vec<String>,
    pub not_contains: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrdersExpect {
    /// How many orders the shopper has, in any status.
    pub count: Option<usize>,
    /// Each entry must match a different order.
    pub each: Vec<OrderExpect>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrderExpect {
    /// A fixture order, by key; otherwise any order may match.
    pub key: Option<String>,
    pub status: Option<String>,
    /// The amount charged, e.g. `"59.90"`.
    pub total: Option<String>,
    pub items: Option<Vec<LineFixture>>,
    /// The shipping address's city.
    pub city: Option<String>,
    /// The coupon code applied.
    pub coupon: Option<String>,
    /// Units returned and refunded (returns the seller accepted), over all lines.
    pub returned: Option<i64>,
    /// Units the shopper has asked to return, whatever the seller decided.
    pub return_requested: Option<i64>,
}

/// The tool trajectory: every tool call the model made, and every consequential action that ran.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ToolsExpect {
    pub must_call: Vec<String>,
    pub must_not_call: Vec<String>,
    /// Consequential tools that must not have run (proposing them is allowed).
    pub must_not_execute: Vec<String>,
    /// These tools, in this order (other calls may come between).
    pub order: Vec<String>,
    /// Calls with arguments that must appear.
    pub calls: Vec<CallExpect>,
    /// No tool at all may be called.
    pub none: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallExpect {
    pub tool: String,
    /// Argument (dotted path for nested ones, like `items.0.quantity`) -> matcher.
    #[serde(default)]
    pub args: BTreeMap<String, Matcher>,
}

/// How an argument is compared.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Matcher {
    OneOf {
        one_of: Vec<Value>,
    },
    Regex {
        regex: String,
    },
    Approx {
        approx: f64,
        #[serde(default)]
        tolerance: f64,
    },
    /// The id a fixture key stands for.
    Key {
        key: String,
    },
    /// The argument is absent (or null).
    Absent {
        absent: bool,
    },
    Exact(Value),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplyExpect {
    /// Phrases the last reply must contain (case-insensitive).
    pub contains: Vec<String>,
    /// At least one of these must appear in the last reply.
    pub any_of: Vec<String>,
    /// Phrases no reply may contain.
    pub not_contains: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Budget {
    /// Model and tool steps over the whole conversation.
    pub steps: Option<usize>,
    /// Input plus output tokens over the whole conversation.
    pub tokens: Option<u64>,
    pub seconds: Option<f64>,
}

/// A suite: its scenarios, each with its fixture resolved.
#[derive(Debug, Clone)]
pub struct Suite {
    pub name: String,
    pub scenarios: Vec<Scenario>,
}
