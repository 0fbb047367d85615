//! JSON shapes that more than one route module answers with or reads: money, accounts, products, social cards
//! and the social paging query. A route module owns the shapes only it uses; anything shared lives here, so no
//! route module reaches into another.

mod account;
mod catalog;
mod money;
mod social;

pub use account::{Session, User};
pub use catalog::{OptionValue, Product, ProductPage};
pub use money::{Money, money};
pub use social::{Media, PageQuery, ProductCard, UserCard};
