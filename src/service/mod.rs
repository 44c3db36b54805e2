//! Business rules. No HTTP types here: handlers call these and map the errors once.

pub mod customers;
pub mod keys;

pub use customers::{CustomerError, CustomerService};
pub use keys::{KeyError, KeyKind, KeyService};
