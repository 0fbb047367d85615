//! Checking out, paying, and an order's status, cancellation or receipt; coupons for a product and claiming one.

use serde_json::{Map, Value, json};
use tokshop_tools::coupons::Coupon;

use super::pick::Picked;
use super::{Planner, Step, call, pages};
use crate::intent::PayMethod;
use crate::reply;
use crate::slots::{self, ItemRequest, Reference};
use crate::text::Lang;

impl<'c, 'a> Planner<'c, 'a> {
    /// Check out the cart (with a claimed coupon the shopper names), or, for "buy it" right after looking at a
    /// product, buy that product.
    pub(super) fn checkout(&self, text: &str, from_buy: bool) -> Step {
        if let Some(obs) = self.conv.turn_result("checkout") {
            return self.reply(obs);
        }
        if from_buy {
            // "Buy it" refers to what was shown last (a product, or a list to pick from), unless the cart was
            // looked at since.
            let focus = self.conv.focus_product().map(|(o, _)| o.index);
            let list = self.conv.product_list().map(|(l, _)| l.index);
            let shown = focus.max(list);
            let cart = self.conv.cart().map(|(o, _)| o.index);
            if shown.is_some_and(|f| cart.is_none_or(|c| f > c)) {
                let request = ItemRequest {
                    reference: Some(Reference::This),
                    quantity: None,
                    text: text.to_owned(),
                };
                return self.add(&request, true);
            }
        }
        let mut args = Map::new();
        let claimed = self.conv.claimed_coupons();
        if let Some((id, _)) = claimed
            .iter()
            .rev()
            .find(|(_, code)| slots::mentions(text, code))
        {
            args.insert("claimed_coupon_id".into(), json!(id));
        } else if ["coupon", "code", "voucher", "优惠券", "券"]
            .iter()
            .any(|w| text.contains(w))
        {
            if !self.conv.turn_called("my_coupons") {
                return call("my_coupons", json!({}));
            }
            return Step::Reply(
                self.lang
                    .pick(
                        "I couldn't find that coupon among the ones you've claimed. Say \"my coupons\" to see them, \
                         or \"check out\" to order without one.",
                        "在你已领取的优惠券里没有找到这张。说“我的优惠券”查看，或直接说“结账”不用券下单。",
                    )
                    .to_owned(),
            );
        }
        call("checkout", Value::Object(args))
    }

    /// Pay an order: the one named, else the latest unpaid one known, else the newest unpaid one listed.
    pub(super) fn pay(&self, method: &PayMethod, named: Option<&str>) -> Step {
        if let Some(obs) = self.conv.turn_result("pay_order") {
            return self.reply(obs);
        }
        let mut missing = Vec::new();
        let order_id = named.map(str::to_owned).or_else(|| {
            self.conv
                .turn_unpaid_order()
                .or_else(|| {
                    self.conv
                        .latest_order()
                        .filter(|o| o.status.as_deref().is_none_or(|s| s == "pending_payment"))
                })
                .map(|o| o.id)
        });
        if order_id.is_none() {
            if let Some(obs) = self.conv.turn_result("list_orders") {
                return match obs.error() {
                    Some(_) => self.reply(obs),
                    None => Step::Reply(reply::no_unpaid_order(self.lang)),
                };
            }
            missing.push((
                "list_orders",
                json!({ "status": "pending_payment", "limit": 1 }),
            ));
        }
        let method_id = match method {
            PayMethod::Wallet | PayMethod::Unspecified => Some("wallet".to_owned()),
            PayMethod::Card { last4 } => match self.conv.cards() {
                Some(cards) => {
                    let card = match last4 {
                        Some(last4) => cards
                            .iter()
                            .find(|c| c.last4.as_deref().unwrap_or("") == last4),
                        None => cards.first(),
                    };
                    match card {
                        Some(card) => Some(card.id.clone()),
                        None => return Step::Reply(reply::no_card(self.lang)),
                    }
                }
                None if self.conv.turn_called("list_payment_methods") => {
                    return Step::Reply(reply::no_card(self.lang));
                }
                None => {
                    missing.push(("list_payment_methods", json!({})));
                    None
                }
            },
        };
        match (order_id, method_id) {
            (Some(order_id), Some(method_id)) if missing.is_empty() => call(
                "pay_order",
                json!({ "order_id": order_id, "payment_method_id": method_id }),
            ),
            _ => Step::Call(missing),
        }
    }

    /// An order's status: the one named, else the latest known, else the newest listed.
    pub(super) fn order_status(&self, named: Option<&str>) -> Step {
        if let Some(obs) = self.conv.turn_result("get_order") {
            return self.reply(obs);
        }
        if let Some(obs) = self.conv.turn_result("list_orders") {
            return self.reply(obs);
        }
        let id = named
            .map(str::to_owned)
            .or_else(|| self.conv.latest_order().map(|o| o.id));
        match id {
            Some(id) => call("get_order", json!({ "order_id": id })),
            None => call("list_orders", json!({ "limit": 1 })),
        }
    }

    /// Cancel an order or confirm its receipt: the one named, else the latest known, else the newest listed.
    pub(super) fn order_action(&self, tool: &'static str, named: Option<&str>) -> Step {
        if let Some(obs) = self.conv.turn_result(tool) {
            return self.reply(obs);
        }
        let id = named
            .map(str::to_owned)
            .or_else(|| self.conv.latest_order().map(|o| o.id));
        if let Some(id) = id {
            return call(tool, json!({ "order_id": id }));
        }
        match self.conv.turn_result("list_orders") {
            Some(obs) if obs.error().is_some() => self.reply(obs),
            Some(_) => Step::Reply(reply::no_orders(self.lang)),
            None => call("list_orders", json!({ "limit": 1 })),
        }
    }

    /// Coupons for the product a request refers to.
    pub(super) fn product_coupons(&self, request: &ItemRequest) -> Step {
        if let Some(obs) = self.conv.turn_result("list_coupons") {
            return self.reply(obs);
        }
        match self.pick_product(request) {
            Picked::One(p) => call("list_coupons", json!({ "product_id": p.id() })),
            Picked::Many(candidates) => Step::Reply(reply::ask_product(&candidates, self.lang)),
            Picked::Fetch(cards) => pages(&cards, &request.text),
            Picked::NoList => Step::Reply(
                self.lang
                    .pick(
                        "Coupons for which product? Search for it first, or say \"my coupons\" to see the ones \
                         you've claimed.",
                        "要查哪个商品的优惠券？先搜索商品，或者说“我的优惠券”查看已领取的券。",
                    )
                    .to_owned(),
            ),
            Picked::Fail(text) => Step::Reply(text),
        }
    }

    /// Claim a listed coupon, by code or position.
    pub(super) fn claim_coupon(&self, request: &ItemRequest) -> Step {
        if let Some(obs) = self.conv.turn_result("claim_coupon") {
            return self.reply(obs);
        }
        let Some(coupons) = self.conv.coupon_list() else {
            return Step::Reply(reply::no_coupon_list(self.lang));
        };
        let by_code = coupons
            .iter()
            .find(|c| slots::mentions(&request.text, &c.code));
        let chosen = by_code.or(match (request.reference, coupons) {
            (Some(Reference::Ordinal(n)), _) => coupons.get(n.wrapping_sub(1)),
            (Some(Reference::Last), _) => coupons.last(),
            (_, [only]) => Some(only),
            _ => None,
        });
        match chosen {
            Some(coupon) => call("claim_coupon", json!({ "coupon_id": coupon.id })),
            None => {
                let listed = self
                    .conv
                    .turn()
                    .next_back()
                    .filter(|o| o.tool == "list_coupons");
                match listed {
                    Some(obs) => self.reply(obs),
                    None => Step::Reply(self.coupon_question(coupons)),
                }
            }
        }
    }

    fn coupon_question(&self, coupons: &[Coupon]) -> String {
        let codes: Vec<&str> = coupons.iter().map(|c| c.code.as_str()).collect();
        match self.lang {
            Lang::En => format!("Which coupon would you like: {}?", codes.join(", ")),
            Lang::Zh => format!("你想领取哪一张：{}？", codes.join("、")),
        }
    }
}
