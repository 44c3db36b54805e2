//! Types that validate on construction, so code past the HTTP edge cannot hold a bad value.

pub mod customer;
pub mod email;
pub mod fold;
pub mod ids;
pub mod link;
pub mod money;
pub mod order;
pub mod paging;
pub mod password;
pub mod random;
pub mod store;
pub mod token;
pub mod validation;

pub use email::Email;
pub use ids::{CustomerId, LineItemId, OrderId, StoreId};
pub use validation::{FieldErrors, ValidationError};
