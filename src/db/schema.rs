// One schema for both backends; migrations/sqlite and migrations/postgres keep it in step.

diesel::table! {
    stores (id) {
        id -> Text,
        name -> Text,
        support_email -> Nullable<Text>,
        currency -> Nullable<Text>,
        country -> Nullable<Text>,
        link_origins -> Nullable<Text>,
        mail_from -> Nullable<Text>,
        mail_subject -> Nullable<Text>,
        order_reference_prefix -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        kind -> Text,
        key_prefix -> Text,
        key_hash -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        store_id -> Text,
    }
}

diesel::table! {
    customers (id) {
        id -> Text,
        email -> Text,
        email_normalized -> Text,
        firstname -> Nullable<Text>,
        lastname -> Nullable<Text>,
        phone -> Nullable<Text>,
        external_id -> Nullable<Text>,
        meta -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        password_hash -> Nullable<Text>,
        email_verified_at -> Nullable<Timestamp>,
        email_folded -> Nullable<Text>,
        firstname_folded -> Nullable<Text>,
        lastname_folded -> Nullable<Text>,
        store_id -> Text,
    }
}

diesel::table! {
    login_tokens (token_hash) {
        token_hash -> Text,
        customer_id -> Text,
        purpose -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        new_email -> Nullable<Text>,
        store_id -> Text,
    }
}

diesel::table! {
    login_throttle (key) {
        key -> Text,
        attempts -> Integer,
        failures -> Integer,
        window_start -> Nullable<Timestamp>,
        lockouts -> Integer,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        customer_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        store_id -> Text,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        algorithm -> Text,
        private_key -> Text,
        public_key -> Text,
        created_at -> Timestamp,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        recipient -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        store_id -> Text,
        sender -> Nullable<Text>,
    }
}

diesel::table! {
    rate_limits (bucket, window_start) {
        bucket -> Text,
        window_start -> Timestamp,
        hits -> Integer,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        at -> Timestamp,
        event -> Text,
        customer_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        request_id -> Nullable<Text>,
        store_id -> Text,
    }
}

diesel::table! {
    orders (id) {
        id -> Text,
        customer_id -> Nullable<Text>,
        customer_reference -> Text,
        currency -> Text,
        status -> Text,
        status_payment -> Text,
        status_fulfillment -> Text,
        subtotal -> BigInt,
        shipping_price -> BigInt,
        tax -> BigInt,
        total -> BigInt,
        line_items -> Text,
        shipping -> Nullable<Text>,
        billing -> Nullable<Text>,
        customer_snapshot -> Nullable<Text>,
        merchant_references -> Nullable<Text>,
        meta -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        store_id -> Text,
    }
}

diesel::joinable!(api_keys -> stores (store_id));
diesel::joinable!(customers -> stores (store_id));
diesel::joinable!(login_tokens -> customers (customer_id));
diesel::joinable!(sessions -> customers (customer_id));
diesel::joinable!(orders -> customers (customer_id));

diesel::allow_tables_to_appear_in_same_query!(
    stores,
    api_keys,
    customers,
    login_tokens,
    login_throttle,
    sessions,
    signing_keys,
    outbox,
    rate_limits,
    audit_events,
    orders,
);
