//! Checkout: from the cart or explicit items to a `pending_payment` order. The order row is written first (as
//! `reserving`, invisible to everyone), then the catalog reserves the stock all-or-nothing under the order's
//! id, then one transaction prices the order from the reservation, uses the coupon and makes it visible. A
//! crash between the steps leaves a `reserving` row that a retry resumes or the sweeper fails (its stock, if
//! any was taken, is released by the `order.checkout_failed` event), so nothing reserved is ever lost.

use std::collections::BTreeMap;

use sqlx::AnyConnection;
use tokshop_platform::{
    ServiceError, ServiceResult, check_len,
    config::OrderSettings,
    db::Db,
    ids::new_id,
    limits::{MAX_ID, check_id, orders::MAX_LINES},
    time::now_ms,
};
use tokshop_proto::{identity, order as pb};

use super::{
    rules::{self, ABANDON, FAILED, NO_EXPECTED_TOTAL, RESERVING},
    store::{self, NewOrder, OrderRecord},
};
use crate::{
    clients::Clients,
    coupon::{self, rules::CATEGORY, store::CouponRow},
    payment::rules::check_request_id,
    pricing::{self, PricedLine, ShippingRule},
};

pub struct Checkout<'a> {
    pub db: &'a Db,
    pub clients: &'a Clients,
    pub settings: &'a OrderSettings,
}

/// A checkout checked and priced, before anything is written.
pub struct Prepared {
    pub from_cart: bool,
    pub seller_id: String,
    pub currency: String,
    pub lines: Vec<PricedLine>,
    pub address: identity::Address,
    pub claimed_coupon_id: String,
    pub coupon: Option<CouponRow>,
    pub totals: pricing::Totals,
}

/// What the buyer asked for, before anything is priced.
struct Asked {
    lines: Vec<(String, i64)>,
    from_cart: bool,
}

impl Checkout<'_> {
    /// Runs a checkout for `buyer_id`, whose own access token is `bearer` (to read their cart and addresses).
    pub async fn run(
        &self,
        buyer_id: &str,
        bearer: &str,
        req: pb::CheckoutRequest,
    ) -> ServiceResult<OrderRecord> {
        let request_id = check_request_id(&req.request_id)?.to_owned();
        let address_id = req.address_id.trim().to_owned();
        check_len("address_id", &address_id, 0, MAX_ID)?;
        let claimed_coupon_id = req.claimed_coupon_id.trim().to_owned();
        check_len("claimed_coupon_id", &claimed_coupon_id, 0, MAX_ID)?;
        let asked = self.asked(bearer, &req).await?;
        let fingerprint =
            rules::checkout_fingerprint(&asked.lines, &address_id, &claimed_coupon_id);
        {
            let mut conn = self.db.pool().acquire().await?;
            if let Some(existing) = store::load_by_request(&mut conn, buyer_id, &request_id).await?
            {
                drop(conn);
                return self.resume(existing, &fingerprint).await;
            }
        }
        let Prepared {
            seller_id,
            currency,
            lines: priced,
            address,
            coupon,
            ..
        } = self
            .prepare(buyer_id, bearer, &asked, &address_id, &claimed_coupon_id)
            .await?;
        let coupon_code = coupon.map(|c| c.code).unwrap_or_default();
        let expected_total = match &req.expected_total {
            Some(expected) if expected.currency != currency => {
                return Err(ServiceError::conflict_on(
                    "total_changed",
                    "expected_total",
                    format!(
                        "this order would be in {currency}, not {}",
                        expected.currency
                    ),
                ));
            }
            Some(expected) => expected.amount_minor,
            None => NO_EXPECTED_TOTAL,
        };
        let id = new_id("ord");
        let mut tx = self.db.begin_write().await?;
        let new_order = NewOrder {
            id: &id,
            buyer_id,
            seller_id: &seller_id,
            request_id: &request_id,
            fingerprint: &fingerprint,
            currency: &currency,
            address: &address,
            claimed_coupon_id: &claimed_coupon_id,
            coupon_code: &coupon_code,
            expected_total,
            created_at_ms: now_ms(),
        };
        if !store::insert_reserving(&mut tx, &new_order).await? {
            // The same request is being checked out concurrently; answer as its retry.
            drop(tx);
            let mut conn = self.db.pool().acquire().await?;
            let existing = store::load_by_request(&mut conn, buyer_id, &request_id)
                .await?
                .ok_or(ServiceError::not_found("order"))?;
            drop(conn);
            return self.resume(existing, &fingerprint).await;
        }
        store::write_lines(&mut tx, &id, &priced).await?;
        tx.commit().await?;
        let record = self.finalize(&id).await?;
        if asked.from_cart {
            let bought: Vec<String> = record.lines.iter().map(|l| l.variant_id.clone()).collect();
            self.clients.remove_from_cart(bearer, &bought).await;
        }
        Ok(record)
    }

    /// What checking out `req` would create now, for the buyer to approve; nothing is reserved or written.
    pub async fn quote(
        &self,
        buyer_id: &str,
        bearer: &str,
        req: pb::CheckoutRequest,
    ) -> ServiceResult<Prepared> {
        let asked = self.asked(bearer, &req).await?;
        self.prepare(
            buyer_id,
            bearer,
            &asked,
            req.address_id.trim(),
            req.claimed_coupon_id.trim(),
        )
        .await
    }

    /// Checks and prices what was asked on the catalog's current stock and prices, writing nothing.
    async fn prepare(
        &self,
        buyer_id: &str,
        bearer: &str,
        asked: &Asked,
        address_id: &str,
        claimed_coupon_id: &str,
    ) -> ServiceResult<Prepared> {
        let ids: Vec<String> = asked.lines.iter().map(|(v, _)| v.clone()).collect();
        let details = self.clients.variants(ids).await?;
        let (seller_id, currency, mut priced) =
            rules::lines_to_buy(&asked.lines, asked.from_cart, &details, buyer_id)?;
        {
            let mut conn = self.db.pool().acquire().await?;
            self.within_unpaid_caps(&mut conn, buyer_id, "", &priced)
                .await?;
        }
        let address = self.clients.address(bearer, address_id).await?;
        let coupon = if claimed_coupon_id.is_empty() {
            None
        } else {
            let mut conn = self.db.pool().acquire().await?;
            Some(coupon::usable(&mut conn, buyer_id, claimed_coupon_id).await?)
        };
        // Priced on the catalog's current prices, so a coupon that cannot apply fails before stock is taken.
        let totals = self
            .price(&mut priced, coupon.as_ref(), &seller_id, &currency)
            .await?;
        Ok(Prepared {
            from_cart: asked.from_cart,
            seller_id,
            currency,
            lines: priced,
            address,
            claimed_coupon_id: claimed_coupon_id.to_owned(),
            coupon,
            totals,
        })
    }

    async fn asked(&self, bearer: &str, req: &pb::CheckoutRequest) -> ServiceResult<Asked> {
        if req.cart_variant_ids.len() > MAX_LINES {
            return Err(ServiceError::invalid(
                "cart_variant_ids",
                format!("at most {MAX_LINES} cart_variant_ids"),
            ));
        }
        for (i, id) in req.cart_variant_ids.iter().enumerate() {
            check_id(&format!("cart_variant_ids[{i}]"), id.trim())?;
        }
        if !req.items.is_empty() {
            let items: Vec<(String, i64)> = req
                .items
                .iter()
                .map(|item| (item.variant_id.clone(), item.quantity))
                .collect();
            let lines = rules::explicit_items(&items)?;
            if req.cart_variant_ids.is_empty() {
                return Ok(Asked {
                    lines,
                    from_cart: false,
                });
            }
            return self
                .exact_cart_lines(bearer, lines, &req.cart_variant_ids)
                .await;
        }
        let cart = self.clients.cart(bearer).await?;
        let in_cart: BTreeMap<String, i64> = cart
            .lines
            .iter()
            .map(|l| (l.variant_id.clone(), l.quantity))
            .collect();
        let lines: Vec<(String, i64)> = if req.cart_variant_ids.is_empty() {
            cart.lines
                .iter()
                .map(|l| (l.variant_id.clone(), l.quantity))
                .collect()
        } else {
            let mut chosen = Vec::new();
            for (i, id) in req.cart_variant_ids.iter().enumerate() {
                let id = id.trim();
                let quantity = in_cart.get(id).ok_or_else(|| {
                    ServiceError::invalid(
                        format!("cart_variant_ids[{i}]"),
                        format!("{id} is not in your cart"),
                    )
                })?;
                if !chosen.iter().any(|(v, _): &(String, i64)| v == id) {
                    chosen.push((id.to_owned(), *quantity));
                }
            }
            chosen
        };
        if lines.is_empty() {
            return Err(ServiceError::invalid(
                "items",
                "your cart is empty; add items or give them explicitly",
            ));
        }
        Ok(Asked {
            lines,
            from_cart: true,
        })
    }

    /// Items that must be exactly these lines of the cart, quantities included (an approved cart checkout): a cart
    /// that changed since is refused, so what is ordered is what was approved.
    async fn exact_cart_lines(
        &self,
        bearer: &str,
        lines: Vec<(String, i64)>,
        cart_variant_ids: &[String],
    ) -> ServiceResult<Asked> {
        let mut named: Vec<&str> = cart_variant_ids.iter().map(|id| id.trim()).collect();
        named.sort_unstable();
        named.dedup();
        let mut given: Vec<&str> = lines.iter().map(|(id, _)| id.as_str()).collect();
        given.sort_unstable();
        if named != given {
            return Err(ServiceError::invalid(
                "cart_variant_ids",
                "with items, cart_variant_ids names exactly the items' variants",
            ));
        }
        let cart = self.clients.cart(bearer).await?;
        for (variant_id, quantity) in &lines {
            let in_cart = cart
                .lines
                .iter()
                .find(|l| &l.variant_id == variant_id)
                .map(|l| l.quantity);
            if in_cart != Some(*quantity) {
                return Err(ServiceError::conflict_on(
                    "cart_changed",
                    "items",
                    format!(
                        "the cart holds {} of {variant_id}, not the {quantity} asked for; nothing was ordered",
                        in_cart.unwrap_or(0)
                    ),
                ));
            }
        }
        Ok(Asked {
            lines,
            from_cart: true,
        })
    }

    /// Refuses a checkout that would give the buyer more unpaid orders, or more unpaid units of a variant, than the
    /// shop allows; `this_order` (when opening it) is not counted.
    async fn within_unpaid_caps(
        &self,
        conn: &mut AnyConnection,
        buyer_id: &str,
        this_order: &str,
        lines: &[PricedLine],
    ) -> ServiceResult<()> {
        let open = store::unpaid_orders(conn, buyer_id, this_order).await?;
        rules::within_unpaid_orders(open, self.settings.max_unpaid_orders)?;
        for line in lines {
            let held = store::unpaid_units(conn, buyer_id, this_order, &line.variant_id).await?;
            rules::within_unpaid_units(held, line, self.settings.max_unpaid_units_per_variant)?;
        }
        Ok(())
    }

    /// Prices `lines` with the coupon (if any) that must belong to the order's seller and currency.
    async fn price(
        &self,
        lines: &mut [PricedLine],
        coupon: Option<&CouponRow>,
        seller_id: &str,
        currency: &str,
    ) -> ServiceResult<pricing::Totals> {
        let shipping = ShippingRule {
            fee: self.settings.shipping_fee_minor,
            free_from: self.settings.free_shipping_from_minor,
        };
        let Some(coupon) = coupon else {
            return pricing::price(lines, None, shipping);
        };
        if coupon.seller_id != seller_id || coupon.currency != currency {
            return Err(ServiceError::conflict_on(
                "coupon_not_applicable",
                "claimed_coupon_id",
                "this coupon is for another shop or currency",
            ));
        }
        let parents = if coupon.scope == CATEGORY {
            self.clients.category_parents().await?
        } else {
            Default::default()
        };
        let covers = |line: &PricedLine| coupon.covers(line, &parents);
        pricing::price(
            lines,
            Some(pricing::CouponRule {
                discount: coupon.discount(),
                min_spend: coupon.min_spend,
                covers: &covers,
            }),
            shipping,
        )
    }

    /// The answer to a repeated request: the order it made, finishing it if it was interrupted.
    async fn resume(&self, existing: OrderRecord, fingerprint: &str) -> ServiceResult<OrderRecord> {
        rules::same_checkout(&existing.order, fingerprint)?;
        match existing.order.status.as_str() {
            RESERVING => self.finalize(&existing.order.id).await,
            FAILED => Err(ServiceError::conflict_on(
                "checkout_failed",
                "request_id",
                "this checkout failed; start a new one with a new request id",
            )),
            _ => Ok(existing),
        }
    }

    /// Reserves the stock of a `reserving` order and, in one transaction, prices it from the reservation,
    /// uses its coupon and makes it `pending_payment`.
    async fn finalize(&self, id: &str) -> ServiceResult<OrderRecord> {
        let record = {
            let mut conn = self.db.pool().acquire().await?;
            store::load(&mut conn, id)
                .await?
                .ok_or(ServiceError::not_found("order"))?
        };
        let wanted: Vec<(String, i64)> = record
            .lines
            .iter()
            .map(|l| (l.variant_id.clone(), l.quantity))
            .collect();
        let reservation = match self.clients.reserve(id, &wanted).await {
            Ok(reservation) => reservation,
            Err(err @ ServiceError::Conflict { .. }) => {
                // Nothing was reserved (reservations are all-or-nothing): the checkout simply did not happen.
                store::delete_reserving(self.db, id).await?;
                return Err(err);
            }
            Err(err) => return Err(err),
        };
        let mut priced = rules::reserved_lines(&record.lines, &reservation.lines);
        let order = &record.order;
        let coupon = if order.claimed_coupon_id.is_empty() {
            None
        } else {
            let mut conn = self.db.pool().acquire().await?;
            match coupon::usable(&mut conn, &order.buyer_id, &order.claimed_coupon_id).await {
                Ok(c) => Some(c),
                Err(err) => return self.fail(id, err).await,
            }
        };
        let totals = match self
            .price(
                &mut priced,
                coupon.as_ref(),
                &order.seller_id,
                &order.currency,
            )
            .await
        {
            Ok(t) => t,
            Err(err) => return self.fail(id, err).await,
        };
        let expected_total = store::expected_total(self.db, id).await?;
        if let Err(changed) =
            rules::check_expected_total(expected_total, totals.total, &order.currency)
        {
            return self.fail(id, changed).await;
        }
        let now = now_ms();
        let mut tx = self.db.begin_write().await?;
        // One buyer's checkouts open one at a time, so the caps below count every other open order.
        store::serialize_buyer(&mut tx, self.db.backend(), &order.buyer_id).await?;
        if let Err(err) = self
            .within_unpaid_caps(&mut tx, &order.buyer_id, id, &priced)
            .await
        {
            drop(tx);
            return self.fail(id, err).await;
        }
        // The conditional move out of `reserving` also locks the row: of concurrent retries finishing the same
        // checkout, one opens it and the others find it open and answer with it.
        let expires_at = now + self.settings.unpaid_ttl_secs.saturating_mul(1000);
        if !store::open_checkout(&mut tx, id, &totals, expires_at, now).await? {
            let current = store::load(&mut tx, id)
                .await?
                .ok_or(ServiceError::not_found("order"))?;
            if current.order.status != FAILED {
                return Ok(current);
            }
            // The sweeper gave up on this checkout while the catalog was slow; its release event is recorded.
            return Err(ServiceError::conflict_on(
                "checkout_failed",
                "request_id",
                "this checkout took too long and was abandoned; start a new one with a new request id",
            ));
        }
        if coupon.is_some()
            && !coupon::store::use_for_order(
                &mut tx,
                &order.buyer_id,
                &order.claimed_coupon_id,
                id,
                now_ms(),
            )
            .await?
        {
            drop(tx);
            let used = ServiceError::conflict_on(
                "coupon_used",
                "claimed_coupon_id",
                "this coupon has already been used",
            );
            return self.fail(id, used).await;
        }
        store::write_lines(&mut tx, id, &priced).await?;
        store::record_event(&mut tx, "created", id, "").await?;
        let record = store::load(&mut tx, id)
            .await?
            .ok_or(ServiceError::not_found("order"))?;
        tx.commit().await?;
        Ok(record)
    }

    /// Abandons a reserved checkout with `err`: the order becomes `failed` and its stock is released by the
    /// `order.checkout_failed` event. If a concurrent retry of the same checkout opened the order first, that
    /// order is the answer instead.
    async fn fail(&self, id: &str, err: ServiceError) -> ServiceResult<OrderRecord> {
        let mut tx = self.db.begin_write().await?;
        if store::transition(&mut tx, id, ABANDON.from, ABANDON.to).await? {
            store::record_event(&mut tx, "checkout_failed", id, &err.code()).await?;
            tx.commit().await?;
            return Err(err);
        }
        match store::load(&mut tx, id).await? {
            Some(record) if record.order.status != FAILED => Ok(record),
            _ => Err(err),
        }
    }
}
