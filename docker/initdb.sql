-- Run once by the postgres image on an empty volume: patron's own database beside `test`
-- (the tests' database, which POSTGRES_DB creates).
CREATE DATABASE patron;
