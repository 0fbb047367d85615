//! What the orders service asks of the catalog: holding and giving back stock, and counting sales. Only the shop's
//! own services may call these.

use tokshop_platform::{
    ServiceResult,
    auth::{Principal, Role},
    check_len,
};
use tokshop_proto::catalog as pb;

use super::{CatalogApi, views::reservation_message};
use crate::reservations;

fn reservation_id(value: &str) -> ServiceResult<&str> {
    let id = value.trim();
    check_len("reservation_id", id, 1, 64)?;
    Ok(id)
}

impl CatalogApi {
    pub(super) async fn reserve(
        &self,
        caller: Principal,
        req: pb::ReserveStockRequest,
    ) -> ServiceResult<pb::Reservation> {
        caller.require(Role::Service)?;
        let id = reservation_id(&req.reservation_id)?;
        let asked: Vec<(String, i64)> = req
            .lines
            .into_iter()
            .map(|l| (l.variant_id, l.quantity))
            .collect();
        let lines = reservations::merge_lines(&asked)?;
        let record = reservations::reserve(self.store.db(), id, &lines).await?;
        self.forget_reserved(&record).await;
        Ok(reservation_message(record))
    }

    pub(super) async fn release(
        &self,
        caller: Principal,
        req: pb::ReleaseReservationRequest,
    ) -> ServiceResult<pb::Reservation> {
        caller.require(Role::Service)?;
        let id = reservation_id(&req.reservation_id)?;
        let record = reservations::release(self.store.db(), id).await?;
        self.forget_reserved(&record).await;
        Ok(reservation_message(record))
    }

    pub(super) async fn count_sales(
        &self,
        caller: Principal,
        req: pb::RecordSalesRequest,
    ) -> ServiceResult<pb::RecordSalesResponse> {
        caller.require(Role::Service)?;
        let event_id = req.event_id.trim();
        check_len("event_id", event_id, 1, 64)?;
        let lines: Vec<(String, i64)> = req
            .lines
            .into_iter()
            .map(|l| (l.product_id, l.quantity))
            .collect();
        let applied = reservations::record_sales(self.store.db(), event_id, &lines).await?;
        let products: Vec<String> = lines.into_iter().map(|(product, _)| product).collect();
        self.store.forget_products_now(&products).await;
        Ok(pb::RecordSalesResponse { applied })
    }

    /// Drops the products whose stock a reservation took or gave back from the cache.
    async fn forget_reserved(&self, record: &reservations::ReservationRecord) {
        let mut products: Vec<String> = record.lines.iter().map(|l| l.product_id.clone()).collect();
        products.sort_unstable();
        products.dedup();
        self.store.forget_products_now(&products).await;
    }
}
