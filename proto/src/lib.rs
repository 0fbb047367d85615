//! Generated gRPC messages, clients and servers for every tokshop service, plus the descriptor set that server
//! reflection serves. Modules nest as the proto packages do (so cross-package references resolve) and are
//! re-exported flat: `tokshop_proto::catalog` is `tokshop.catalog.v1`.

#[allow(
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
pub mod tokshop {
    pub mod identity {
        pub mod v1 {
            tonic::include_proto!("tokshop.identity.v1");
        }
    }
    pub mod catalog {
        pub mod v1 {
            tonic::include_proto!("tokshop.catalog.v1");
        }
    }
    pub mod cart {
        pub mod v1 {
            tonic::include_proto!("tokshop.cart.v1");
        }
    }
    pub mod order {
        pub mod v1 {
            tonic::include_proto!("tokshop.order.v1");
        }
    }
    pub mod payment {
        pub mod v1 {
            tonic::include_proto!("tokshop.payment.v1");
        }
    }
    pub mod social {
        pub mod v1 {
            tonic::include_proto!("tokshop.social.v1");
        }
    }
}

pub use tokshop::{
    cart::v1 as cart, catalog::v1 as catalog, identity::v1 as identity, order::v1 as order,
    payment::v1 as payment, social::v1 as social,
};

/// Encoded `FileDescriptorSet` of every tokshop proto, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("tokshop_descriptor");

impl order::OrderStatus {
    /// The status as REST, the tools and the order store name it (`pending_payment`, ...); `None` for
    /// `Unspecified`.
    pub fn label(self) -> Option<&'static str> {
        match self {
            Self::Unspecified => None,
            Self::PendingPayment => Some("pending_payment"),
            Self::Paid => Some("paid"),
            Self::Shipped => Some("shipped"),
            Self::Delivered => Some("delivered"),
            Self::Completed => Some("completed"),
            Self::Cancelled => Some("cancelled"),
        }
    }

    /// The status a label names, in any letter case; `None` for anything else.
    pub fn from_label(label: &str) -> Option<Self> {
        let label = label.to_ascii_lowercase();
        [
            Self::PendingPayment,
            Self::Paid,
            Self::Shipped,
            Self::Delivered,
            Self::Completed,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|s| s.label() == Some(label.as_str()))
    }
}

impl order::CouponScope {
    /// `shop`, `product` or `category`; `None` for `Unspecified`.
    pub fn label(self) -> Option<&'static str> {
        match self {
            Self::Unspecified => None,
            Self::Shop => Some("shop"),
            Self::Product => Some("product"),
            Self::Category => Some("category"),
        }
    }

    /// The scope a label names, in any letter case; `None` for anything else.
    pub fn from_label(label: &str) -> Option<Self> {
        let label = label.to_ascii_lowercase();
        [Self::Shop, Self::Product, Self::Category]
            .into_iter()
            .find(|s| s.label() == Some(label.as_str()))
    }
}

impl catalog::GetVariantsResponse {
    /// The variants found, by variant id (a detail without its variant is left out).
    pub fn by_id(self) -> std::collections::HashMap<String, catalog::VariantDetail> {
        self.variants
            .into_iter()
            .filter_map(|d| d.variant.as_ref().map(|v| v.id.clone()).map(|id| (id, d)))
            .collect()
    }
}
