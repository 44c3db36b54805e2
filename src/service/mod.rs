//! Business rules. No HTTP types here: handlers call these and map the errors once.

pub mod accounts;
pub mod audit;
pub mod customers;
pub mod email_change;
pub mod keys;
pub mod login;
pub mod login_guard;
pub mod orders;
pub mod passwords;
pub mod rate_limit;
pub mod sessions;
pub mod stores;
pub mod tokens;

pub use accounts::{AccountError, AccountService};
pub use customers::{CustomerError, CustomerService};
pub use keys::{KeyError, KeyKind, KeyService};
pub use login::{LoginError, LoginService};
pub use orders::{OrderError, OrderService};
pub use sessions::{SessionError, SessionService};
pub use stores::{StoreError, StoreService};
