//! Generated gRPC messages, clients and servers for every tokshop service, plus the descriptor set that server
//! reflection serves.

/// `tokshop.identity.v1`
pub mod identity {
    tonic::include_proto!("tokshop.identity.v1");
}

/// `tokshop.catalog.v1`
pub mod catalog {
    tonic::include_proto!("tokshop.catalog.v1");
}

/// Encoded `FileDescriptorSet` of every tokshop proto, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("tokshop_descriptor");
