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
}

pub use tokshop::{
    cart::v1 as cart, catalog::v1 as catalog, identity::v1 as identity, order::v1 as order,
    payment::v1 as payment,
};

/// Encoded `FileDescriptorSet` of every tokshop proto, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("tokshop_descriptor");
