//! The shop's final state, read through the services: orders, carts, wallets, coupons, addresses.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use tokshop_platform::auth::authorized;
use tokshop_proto::{
    cart as cartpb, catalog as cpb, identity as ipb,
    order::{self as opb, OrderStatus},
    payment as ppb,
};
use tokshop_tools::Clients;

use crate::{
    fixture::{LineFixture, Loaded, parse_money},
    scenario::{OrderExpect, Scenario},
};

use super::social::social_state;
use super::*;

const SETTLE: Duration = Duration::from_secs(3);

/// The final state, read through the services as the shopper. Checks are repeated until they hold or the shop
/// has had [`SETTLE`] to finish what its events set in motion; the last reading's failures are reported.
pub async fn grade_state(
    scenario: &Scenario,
    clients: &Clients,
    loaded: &Loaded,
    token: &str,
) -> Vec<Failure> {
    let started = Instant::now();
    loop {
        let failures = match state(scenario, clients, loaded, token).await {
            Ok(failures) => failures,
            Err(err) => vec![fail(
                "state",
                format!("could not read the final state: {err:#}"),
            )],
        };
        if failures.is_empty() || started.elapsed() >= SETTLE {
            return failures;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(super) async fn state(
    scenario: &Scenario,
    clients: &Clients,
    loaded: &Loaded,
    token: &str,
) -> anyhow::Result<Vec<Failure>> {
    let expect = &scenario.expect.state;
    let mut clients = clients.clone();
    let token = Some(token);
    let currency = loaded.currency.as_str();
    let mut failures = Vec::new();

    if let Some(orders_expect) = &expect.orders {
        let orders = clients
            .orders
            .list_orders(authorized(
                opb::ListOrdersRequest {
                    status: 0,
                    as_seller: false,
                    limit: 100,
                    cursor: String::new(),
                },
                token,
            ))
            .await?
            .into_inner()
            .orders;
        if let Some(count) = orders_expect.count
            && orders.len() != count
        {
            failures.push(fail(
                "state.orders",
                format!("expected {count} orders, found {}", orders.len()),
            ));
        }
        // Return requests, read only when an expectation asks about them.
        let mut requested: BTreeMap<String, i64> = BTreeMap::new();
        if orders_expect
            .each
            .iter()
            .any(|o| o.return_requested.is_some())
        {
            for order in &orders {
                let returns = clients
                    .orders
                    .list_returns(authorized(
                        opb::ListReturnsRequest {
                            order_id: order.id.clone(),
                            as_seller: false,
                        },
                        token,
                    ))
                    .await?
                    .into_inner()
                    .returns;
                let units = returns
                    .iter()
                    .flat_map(|r| &r.lines)
                    .map(|l| l.quantity)
                    .sum();
                requested.insert(order.id.clone(), units);
            }
        }
        let mut free: Vec<&opb::Order> = orders.iter().collect();
        for wanted in &orders_expect.each {
            let mut why = String::from("no order");
            let found = free.iter().position(|order| {
                match order_matches(wanted, order, loaded, &requested) {
                    Ok(()) => true,
                    Err(reason) => {
                        why = reason;
                        false
                    }
                }
            });
            match found {
                Some(i) => {
                    free.remove(i);
                }
                None => failures.push(fail(
                    "state.orders",
                    format!("no order matches {}: {why}", describe(wanted)),
                )),
            }
        }
    }

    if let Some(lines) = &expect.cart {
        let cart = clients
            .cart
            .get_cart(authorized(cartpb::GetCartRequest {}, token))
            .await?
            .into_inner();
        let found: BTreeMap<String, i64> = cart
            .lines
            .iter()
            .map(|l| (show_id(&l.variant_id, loaded), l.quantity))
            .collect();
        let wanted: BTreeMap<String, i64> = lines
            .iter()
            .map(|l| (l.variant.clone(), l.quantity))
            .collect();
        if found != wanted {
            failures.push(fail(
                "state.cart",
                format!("expected the cart {wanted:?}, found {found:?}"),
            ));
        }
    }

    if let Some(balance) = &expect.wallet {
        let wallet = clients
            .payments
            .get_wallet(authorized(ppb::GetWalletRequest {}, token))
            .await?
            .into_inner();
        let found = wallet
            .balances
            .iter()
            .find(|m| m.currency == currency)
            .map_or(0, |m| m.amount_minor);
        let wanted = parse_money(balance, currency)?;
        if found != wanted {
            failures.push(fail(
                "state.wallet",
                format!(
                    "expected a balance of {}, found {}",
                    tokshop_platform::money::format(wanted, currency),
                    tokshop_platform::money::format(found, currency)
                ),
            ));
        }
    }

    if !expect.stock.is_empty() {
        let ids = expect
            .stock
            .keys()
            .map(|key| loaded.id(key).map(str::to_owned))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let variants = clients
            .catalog
            .get_variants(cpb::GetVariantsRequest { ids })
            .await?
            .into_inner()
            .by_id();
        for (key, wanted) in &expect.stock {
            let found = variants
                .get(loaded.id(key)?)
                .and_then(|d| d.variant.as_ref())
                .map(|v| v.stock);
            if found != Some(*wanted) {
                failures.push(fail(
                    "state.stock",
                    format!("expected {key} to have {wanted} in stock, found {found:?}"),
                ));
            }
        }
    }

    if let Some(keys) = &expect.coupons_claimed {
        let claimed = clients
            .coupons
            .list_claimed_coupons(authorized(
                opb::ListClaimedCouponsRequest {
                    available_only: false,
                },
                token,
            ))
            .await?
            .into_inner()
            .coupons;
        let mut found: Vec<String> = claimed
            .iter()
            .filter_map(|c| c.coupon.as_ref())
            .map(|c| show_id(&c.id, loaded))
            .collect();
        let mut wanted = keys.clone();
        found.sort();
        wanted.sort();
        if found != wanted {
            failures.push(fail(
                "state.coupons_claimed",
                format!("expected {wanted:?} claimed, found {found:?}"),
            ));
        }
    }

    if let Some(count) = expect.addresses {
        let found = clients
            .identity
            .list_addresses(authorized(ipb::ListAddressesRequest {}, token))
            .await?
            .into_inner()
            .addresses
            .len();
        if found != count {
            failures.push(fail(
                "state.addresses",
                format!("expected {count} addresses, found {found}"),
            ));
        }
    }
    failures.extend(social_state(scenario, &mut clients, loaded, token).await?);
    Ok(failures)
}

/// A fixture key for an id when there is one, else the id itself.
pub(super) fn show_id(id: &str, loaded: &Loaded) -> String {
    loaded
        .key_of(id)
        .map_or_else(|| id.to_owned(), str::to_owned)
}

pub(super) fn describe(wanted: &OrderExpect) -> String {
    let mut parts = Vec::new();
    if let Some(key) = &wanted.key {
        parts.push(format!("key {key}"));
    }
    if let Some(status) = &wanted.status {
        parts.push(format!("status {status}"));
    }
    if let Some(total) = &wanted.total {
        parts.push(format!("total {total}"));
    }
    if let Some(items) = &wanted.items {
        let lines: Vec<String> = items
            .iter()
            .map(|l| format!("{}x{}", l.quantity, l.variant))
            .collect();
        parts.push(format!("items {}", lines.join("+")));
    }
    if let Some(city) = &wanted.city {
        parts.push(format!("city {city}"));
    }
    if let Some(coupon) = &wanted.coupon {
        parts.push(format!("coupon {coupon}"));
    }
    if let Some(returned) = wanted.returned {
        parts.push(format!("{returned} returned"));
    }
    if let Some(units) = wanted.return_requested {
        parts.push(format!("{units} asked back"));
    }
    format!("[{}]", parts.join(", "))
}

pub(super) fn order_matches(
    wanted: &OrderExpect,
    order: &opb::Order,
    loaded: &Loaded,
    requested: &BTreeMap<String, i64>,
) -> Result<(), String> {
    let name = show_id(&order.id, loaded);
    if let Some(key) = &wanted.key
        && loaded.ids.get(key) != Some(&order.id)
    {
        return Err(format!("{name} is not {key}"));
    }
    if let Some(status) = &wanted.status {
        let found = OrderStatus::try_from(order.status)
            .ok()
            .and_then(OrderStatus::label)
            .unwrap_or("unknown");
        if found != status {
            return Err(format!("{name} is {found}"));
        }
    }
    if let Some(total) = &wanted.total {
        let money = order.total.clone().unwrap_or_default();
        let wanted_minor = parse_money(total, &money.currency).map_err(|e| e.to_string())?;
        if money.amount_minor != wanted_minor {
            return Err(format!(
                "{name} totals {}",
                tokshop_platform::money::format(money.amount_minor, &money.currency)
            ));
        }
    }
    if let Some(items) = &wanted.items {
        let mut found: Vec<LineFixture> = order
            .lines
            .iter()
            .map(|l| LineFixture {
                variant: show_id(&l.variant_id, loaded),
                quantity: l.quantity,
            })
            .collect();
        let mut wanted_lines = items.clone();
        found.sort_by(|a, b| a.variant.cmp(&b.variant));
        wanted_lines.sort_by(|a, b| a.variant.cmp(&b.variant));
        if found != wanted_lines {
            let shown: Vec<String> = found
                .iter()
                .map(|l| format!("{}x{}", l.quantity, l.variant))
                .collect();
            return Err(format!("{name} holds {}", shown.join("+")));
        }
    }
    if let Some(city) = &wanted.city {
        let found = order.address.as_ref().map_or("", |a| a.city.as_str());
        if !found.eq_ignore_ascii_case(city) {
            return Err(format!("{name} ships to {found:?}"));
        }
    }
    if let Some(coupon) = &wanted.coupon
        && !order.coupon_code.eq_ignore_ascii_case(coupon)
    {
        return Err(format!("{name} used coupon {:?}", order.coupon_code));
    }
    if let Some(returned) = wanted.returned {
        let found: i64 = order.lines.iter().map(|l| l.returned_quantity).sum();
        if found != returned {
            return Err(format!("{name} has {found} units returned"));
        }
    }
    if let Some(units) = wanted.return_requested {
        let found = requested.get(&order.id).copied().unwrap_or(0);
        if found != units {
            return Err(format!("{name} has {found} units asked back"));
        }
    }
    Ok(())
}
