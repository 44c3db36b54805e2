DROP TABLE customers;
DROP TABLE api_keys;
