//! The one way to reach rows that belong to a store.
//!
//! Every query on a store-owned table starts from a [`Scope`]: `scope.customers()` is
//! `customers WHERE store_id = <the store>`, and every lookup, update, delete, count and page
//! adds its own conditions to that. The query functions of the store-owned tables take a
//! `Scope`, not a bare connection and an id, so a query cannot be written for the whole table
//! by forgetting a filter: an id of another store finds nothing and answers 404.
//!
//! Inserts take the store from the same scope (`scope.id()`), so a row cannot be written into
//! another store than the one it is read back from.

use diesel::dsl;
use diesel::prelude::*;

use super::schema::{api_keys, customers, login_tokens, orders, sessions};
use crate::domain::StoreId;

/// A table, seen from one store.
pub type InStore<'a, Table, Column> = dsl::Filter<Table, dsl::Eq<Column, &'a str>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope<'a>(&'a str);

impl Scope<'static> {
    /// The default store (see `StoreId::DEFAULT`).
    pub const DEFAULT: Scope<'static> = Scope(StoreId::DEFAULT);
}

impl<'a> Scope<'a> {
    pub fn new(store: &'a StoreId) -> Self {
        Scope(store.as_str())
    }

    /// A store id read back from a row this service wrote (or a statement's placeholder).
    pub fn from_column(store: &'a str) -> Self {
        Scope(store)
    }

    /// The store's id, for the rows an insert writes.
    pub fn id(self) -> &'a str {
        self.0
    }

    pub fn customers(self) -> InStore<'a, customers::table, customers::store_id> {
        customers::table.filter(customers::store_id.eq(self.0))
    }

    pub fn orders(self) -> InStore<'a, orders::table, orders::store_id> {
        orders::table.filter(orders::store_id.eq(self.0))
    }

    pub fn sessions(self) -> InStore<'a, sessions::table, sessions::store_id> {
        sessions::table.filter(sessions::store_id.eq(self.0))
    }

    pub fn tokens(self) -> InStore<'a, login_tokens::table, login_tokens::store_id> {
        login_tokens::table.filter(login_tokens::store_id.eq(self.0))
    }

    pub fn api_keys(self) -> InStore<'a, api_keys::table, api_keys::store_id> {
        api_keys::table.filter(api_keys::store_id.eq(self.0))
    }

    /// A counter key (rate limit, login throttle) of this store: the same address counts
    /// separately in each store.
    pub fn counter_key(self, key: &str) -> String {
        format!("{}:{key}", self.0)
    }
}
