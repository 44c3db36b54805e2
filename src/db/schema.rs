// One schema for both backends; migrations/sqlite and migrations/postgres keep it in step.

diesel::table! {
    api_keys (id) {
        id -> Text,
        kind -> Text,
        key_prefix -> Text,
        key_hash -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
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
    }
}

diesel::allow_tables_to_appear_in_same_query!(api_keys, customers);
