//! Checkout: from the cart or explicit items to a `pending_payment` order. The order row is written first (as
//! `reserving`, invisible to everyone), then the catalog reserves the stock all-or-nothing under the order's
//! id, then one transaction prices the order from the reservation, uses the coupon and makes it visible. A
//! crash between the steps leaves a `reserving` row that a retry resumes or the sweeper fails (its stock, if
//! any was taken, is released by the `order.checkout_failed` event), so nothing reserved is ever lost.

use std::collections::{BTreeMap, HashSet};

use sqlx::AnyConnection;
use tokshop_platform::{
    ServiceError, ServiceResult, check_len,
    config::OrderSettings,
    db::{Backend, Db},
    error::is_unique_violation,
    ids::new_id,
    limits::{MAX_ID, check_id},
    sha256_hex,
    time::now_ms,
};
use tokshop_proto::{identity, order as pb};

use crate::{
    clients::Clients,
    coupons::{self, CATEGORY},
    orders::{self, FAILED, OrderRecord, PENDING_PAYMENT, RESERVING, Tx},
    payments::check_request_id,
    pricing::{self, PricedLine, ShippingRule},
};

pub use tokshop_platform::limits::orders::{MAX_LINES, MAX_QUANTITY};

pub fn check_quantity(param: String, quantity: i64) -> ServiceResult<()> {
    if (1..=MAX_QUANTITY).contains(&quantity) {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            param,
            format!("quantity must be 1 to {MAX_QUANTITY}"),
        ))
    }
}

pub struct Checkout<'a> {
    pub db: &'a Db,
    pub clients: &'a Clients,
    pub settings: &'a OrderSettings,
}

/// `orders.expected_total` when the checkout binds no total.
const NO_EXPECTED_TOTAL: i64 = -1;

/// A checkout checked and priced, before anything is written.
struct Prepared {
    from_cart: bool,
    seller_id: String,
    currency: String,
    lines: Vec<PricedLine>,
    address: identity::Address,
    claimed_coupon_id: String,
    coupon: Option<coupons::CouponRow>,
    totals: pricing::Totals,
}

impl Prepared {
    fn quote(self) -> pb::CheckoutQuote {
        let cur = self.currency.as_str();
        let a = self.address;
        pb::CheckoutQuote {
            seller_id: self.seller_id.clone(),
            lines: self
                .lines
                .iter()
                .map(|l| pb::OrderLine {
                    variant_id: l.variant_id.clone(),
                    product_id: l.product_id.clone(),
                    title: l.title.clone(),
                    sku: l.sku.clone(),
                    quantity: l.quantity,
                    unit_price: orders::money(l.unit_price, cur),
                    line_total: orders::money(l.total(), cur),
                    discount: orders::money(l.discount, cur),
                    returned_quantity: 0,
                })
                .collect(),
            subtotal: orders::money(self.totals.subtotal, cur),
            discount: orders::money(self.totals.discount, cur),
            shipping_fee: orders::money(self.totals.shipping_fee, cur),
            total: orders::money(self.totals.total, cur),
            address: Some(pb::ShippingAddress {
                recipient: a.recipient,
                phone: a.phone,
                line1: a.line1,
                line2: a.line2,
                city: a.city,
                region: a.region,
                postal_code: a.postal_code,
                country: a.country,
                address_id: a.id,
            }),
            claimed_coupon_id: self.claimed_coupon_id,
            coupon_code: self.coupon.map(|c| c.code).unwrap_or_default(),
            from_cart: self.from_cart,
        }
    }
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
        let mut canonical = asked.lines.clone();
        canonical.sort();
        let fingerprint = sha256_hex(&[
            format!("{canonical:?}").as_bytes(),
            b"\0",
            address_id.as_bytes(),
            b"\0",
            claimed_coupon_id.as_bytes(),
        ]);
        {
            let mut conn = self.db.pool().acquire().await?;
            if let Some(existing) =
                orders::load_by_request(&mut conn, buyer_id, &request_id).await?
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
        let now = now_ms();
        let mut tx = self.db.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO orders (id, buyer_id, seller_id, status, request_id, fingerprint, currency, address_id, \
             ship_recipient, ship_phone, ship_line1, ship_line2, ship_city, ship_region, ship_postal_code, \
             ship_country, claimed_coupon_id, coupon_code, expected_total, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20)",
        )
        .bind(&id)
        .bind(buyer_id)
        .bind(&seller_id)
        .bind(RESERVING)
        .bind(&request_id)
        .bind(&fingerprint)
        .bind(&currency)
        .bind(&address.id)
        .bind(&address.recipient)
        .bind(&address.phone)
        .bind(&address.line1)
        .bind(&address.line2)
        .bind(&address.city)
        .bind(&address.region)
        .bind(&address.postal_code)
        .bind(&address.country)
        .bind(&claimed_coupon_id)
        .bind(&coupon_code)
        .bind(expected_total)
        .bind(now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(err) if is_unique_violation(&err) => {
                // The same request is being checked out concurrently; answer as its retry.
                drop(tx);
                let mut conn = self.db.pool().acquire().await?;
                let existing = orders::load_by_request(&mut conn, buyer_id, &request_id)
                    .await?
                    .ok_or(ServiceError::not_found("order"))?;
                drop(conn);
                return self.resume(existing, &fingerprint).await;
            }
            Err(err) => return Err(err.into()),
        }
        insert_lines(&mut tx, &id, &priced).await?;
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
    ) -> ServiceResult<pb::CheckoutQuote> {
        let asked = self.asked(bearer, &req).await?;
        let prepared = self
            .prepare(
                buyer_id,
                bearer,
                &asked,
                req.address_id.trim(),
                req.claimed_coupon_id.trim(),
            )
            .await?;
        Ok(prepared.quote())
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
        let param = |i: usize, field: &str| {
            if asked.from_cart {
                format!("cart.lines[{i}].{field}")
            } else {
                format!("items[{i}].{field}")
            }
        };
        let mut lines = Vec::with_capacity(asked.lines.len());
        for (i, (variant_id, quantity)) in asked.lines.iter().enumerate() {
            let detail = details.get(variant_id).ok_or_else(|| {
                ServiceError::invalid(param(i, "variant_id"), format!("no variant {variant_id}"))
            })?;
            let variant = detail.variant.clone().unwrap_or_default();
            if !detail.buyable {
                return Err(ServiceError::conflict_on(
                    "variant_unavailable",
                    param(i, "variant_id"),
                    format!("{} is not for sale", detail.product_title),
                ));
            }
            if variant.stock < *quantity {
                return Err(ServiceError::conflict_on(
                    "out_of_stock",
                    param(i, "quantity"),
                    format!(
                        "only {} of {} ({}) in stock; {quantity} asked",
                        variant.stock, detail.product_title, variant.sku
                    ),
                ));
            }
            let price = variant.price.unwrap_or_default();
            lines.push((
                detail.seller_id.clone(),
                price.currency.clone(),
                PricedLine {
                    variant_id: variant_id.clone(),
                    product_id: detail.product_id.clone(),
                    category_id: detail.category_id.clone(),
                    title: detail.product_title.clone(),
                    sku: variant.sku.clone(),
                    quantity: *quantity,
                    unit_price: price.amount_minor,
                    discount: 0,
                },
            ));
        }
        // What the buyer named the lines by, for errors about the lines as a whole.
        let lines_param = if asked.from_cart {
            "cart_variant_ids"
        } else {
            "items"
        };
        let sellers: HashSet<&str> = lines.iter().map(|(s, _, _)| s.as_str()).collect();
        if sellers.len() > 1 {
            return Err(ServiceError::invalid(
                lines_param,
                format!(
                    "these items come from {} shops; an order holds one shop's items, so check out each shop's \
                     lines separately",
                    sellers.len()
                ),
            ));
        }
        let (seller_id, currency) = match lines.first() {
            Some((s, c, _)) => (s.clone(), c.clone()),
            None => return Err(ServiceError::invalid("items", "nothing to check out")),
        };
        // An order's amounts are sums in one currency: lines priced in another cannot join it.
        if let Some((_, other, line)) = lines.iter().find(|(_, c, _)| *c != currency) {
            return Err(ServiceError::invalid(
                lines_param,
                format!(
                    "{} is priced in {other}, the other items in {currency}; an order holds one currency, so check \
                     them out separately",
                    line.title
                ),
            ));
        }
        if seller_id == buyer_id {
            return Err(ServiceError::invalid(
                "items",
                "you cannot buy your own products",
            ));
        }
        let mut priced: Vec<PricedLine> = lines.into_iter().map(|(_, _, l)| l).collect();
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
            Some(coupons::usable(&mut conn, buyer_id, claimed_coupon_id).await?)
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
            if req.items.len() > MAX_LINES {
                return Err(ServiceError::invalid(
                    "items",
                    format!("at most {MAX_LINES} items"),
                ));
            }
            let mut seen = HashSet::new();
            let mut lines = Vec::with_capacity(req.items.len());
            for (i, item) in req.items.iter().enumerate() {
                check_quantity(format!("items[{i}].quantity"), item.quantity)?;
                let variant_id = item.variant_id.trim().to_owned();
                check_id(&format!("items[{i}].variant_id"), &variant_id)?;
                if !seen.insert(variant_id.clone()) {
                    return Err(ServiceError::invalid(
                        format!("items[{i}].variant_id"),
                        "each variant may appear once; give its total quantity",
                    ));
                }
                lines.push((variant_id, item.quantity));
            }
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
    /// shop allows: reserving stock and never paying would otherwise take it from everyone else.
    async fn within_unpaid_caps(
        &self,
        conn: &mut AnyConnection,
        buyer_id: &str,
        this_order: &str,
        lines: &[PricedLine],
    ) -> ServiceResult<()> {
        let (open,): (i64,) = sqlx::query_as(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM orders WHERE buyer_id = $1 AND status = $2 AND id <> $3",
        )
        .bind(buyer_id)
        .bind(PENDING_PAYMENT)
        .bind(this_order)
        .fetch_one(&mut *conn)
        .await?;
        if open >= self.settings.max_unpaid_orders {
            return Err(ServiceError::conflict_on(
                "too_many_unpaid_orders",
                "items",
                format!(
                    "you have {open} unpaid orders; pay or cancel one before placing another (at most {})",
                    self.settings.max_unpaid_orders
                ),
            ));
        }
        for line in lines {
            let (held,): (i64,) = sqlx::query_as(
                "SELECT CAST(COALESCE(SUM(l.quantity), 0) AS BIGINT) FROM order_lines l JOIN orders o \
                 ON o.id = l.order_id WHERE o.buyer_id = $1 AND o.status = $2 AND o.id <> $3 AND l.variant_id = $4",
            )
            .bind(buyer_id)
            .bind(PENDING_PAYMENT)
            .bind(this_order)
            .bind(&line.variant_id)
            .fetch_one(&mut *conn)
            .await?;
            if held + line.quantity > self.settings.max_unpaid_units_per_variant {
                return Err(ServiceError::conflict_on(
                    "too_many_unpaid_units",
                    "items",
                    format!(
                        "you already hold {held} unpaid units of {}; at most {} may wait for payment",
                        line.sku, self.settings.max_unpaid_units_per_variant
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Prices `lines` with the coupon (if any) that must belong to the order's seller and currency.
    async fn price(
        &self,
        lines: &mut [PricedLine],
        coupon: Option<&coupons::CouponRow>,
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
        if existing.order.fingerprint != fingerprint {
            return Err(ServiceError::conflict_on(
                "idempotency_conflict",
                "request_id",
                "this request id was already used for a different checkout",
            ));
        }
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
            orders::load(&mut conn, id)
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
                sqlx::query("DELETE FROM orders WHERE id = $1 AND status = $2")
                    .bind(id)
                    .bind(RESERVING)
                    .execute(self.db.pool())
                    .await?;
                return Err(err);
            }
            Err(err) => return Err(err),
        };
        let mut priced: Vec<PricedLine> = record
            .lines
            .iter()
            .map(|l| {
                let reserved = reservation
                    .lines
                    .iter()
                    .find(|r| r.variant_id == l.variant_id);
                PricedLine {
                    variant_id: l.variant_id.clone(),
                    product_id: l.product_id.clone(),
                    category_id: l.category_id.clone(),
                    title: reserved.map_or_else(|| l.title.clone(), |r| r.title.clone()),
                    sku: reserved.map_or_else(|| l.sku.clone(), |r| r.sku.clone()),
                    quantity: l.quantity,
                    unit_price: reserved
                        .and_then(|r| r.unit_price.as_ref())
                        .map_or(l.unit_price, |p| p.amount_minor),
                    discount: 0,
                }
            })
            .collect();
        let order = &record.order;
        let coupon = if order.claimed_coupon_id.is_empty() {
            None
        } else {
            let mut conn = self.db.pool().acquire().await?;
            match coupons::usable(&mut conn, &order.buyer_id, &order.claimed_coupon_id).await {
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
        let (expected_total,): (i64,) =
            sqlx::query_as("SELECT expected_total FROM orders WHERE id = $1")
                .bind(id)
                .fetch_one(self.db.pool())
                .await?;
        if expected_total != NO_EXPECTED_TOTAL && expected_total != totals.total {
            let changed = ServiceError::conflict_on(
                "total_changed",
                "expected_total",
                format!(
                    "the order would now cost {}, not the {} that was approved",
                    tokshop_platform::money::format(totals.total, &order.currency),
                    tokshop_platform::money::format(expected_total, &order.currency)
                ),
            );
            return self.fail(id, changed).await;
        }
        let now = now_ms();
        let mut tx = self.db.begin_write().await?;
        if self.db.backend() == Backend::Postgres {
            // One buyer's checkouts open one at a time, so the caps below count every other open order.
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                .bind(&order.buyer_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Err(err) = self
            .within_unpaid_caps(&mut tx, &order.buyer_id, id, &priced)
            .await
        {
            drop(tx);
            return self.fail(id, err).await;
        }
        // The conditional move out of `reserving` also locks the row: of concurrent retries finishing the same
        // checkout, one opens it and the others find it open and answer with it.
        let opened = sqlx::query(
            "UPDATE orders SET status = $2, subtotal = $3, discount = $4, shipping_fee = $5, total = $6, \
             expires_at_ms = $7, updated_at_ms = $8 WHERE id = $1 AND status = $9",
        )
        .bind(id)
        .bind(PENDING_PAYMENT)
        .bind(totals.subtotal)
        .bind(totals.discount)
        .bind(totals.shipping_fee)
        .bind(totals.total)
        .bind(now + self.settings.unpaid_ttl_secs.saturating_mul(1000))
        .bind(now)
        .bind(RESERVING)
        .execute(&mut *tx)
        .await?;
        if opened.rows_affected() != 1 {
            let current = orders::load(&mut tx, id)
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
            && !coupons::use_for_order(&mut tx, &order.buyer_id, &order.claimed_coupon_id, id)
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
        sqlx::query("DELETE FROM order_lines WHERE order_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        insert_lines(&mut tx, id, &priced).await?;
        orders::record_event(&mut tx, "created", id, "").await?;
        let record = orders::load(&mut tx, id)
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
        if orders::transition(&mut tx, id, &[RESERVING], FAILED).await? {
            orders::record_event(&mut tx, "checkout_failed", id, &err.code()).await?;
            tx.commit().await?;
            return Err(err);
        }
        match orders::load(&mut tx, id).await? {
            Some(record) if record.order.status != FAILED => Ok(record),
            _ => Err(err),
        }
    }
}

async fn insert_lines(tx: &mut Tx, order_id: &str, lines: &[PricedLine]) -> ServiceResult<()> {
    for line in lines {
        sqlx::query(
            "INSERT INTO order_lines (order_id, variant_id, product_id, category_id, title, sku, quantity, \
             unit_price, discount) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(order_id)
        .bind(&line.variant_id)
        .bind(&line.product_id)
        .bind(&line.category_id)
        .bind(&line.title)
        .bind(&line.sku)
        .bind(line.quantity)
        .bind(line.unit_price)
        .bind(line.discount)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
